# timelake — see README.md. `make demo` runs the main job on the embedded
# default lake; `make test` runs every test.
GO      ?= go
BIN     := bin
GUESTS  := testdata/build
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: all build testdata test test-unit test-gostd bench demo vet clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/run ./cmd/compact ./cmd/query

# Build every test guest into testdata/build (tests build their own on demand).
testdata:
	$(GO) run ./internal/guest/buildguests $(GUESTS)

vet:
	$(GO) vet ./...

test-unit: build
	$(GO) test -count=1 -timeout 30m ./...

test: vet test-unit test-gostd

-include scripts/gostd.mk

bench: build
	$(GO) run ./bench

demo: build
	./scripts/demo.sh

clean:
	rm -rf $(BIN) $(GUESTS)
