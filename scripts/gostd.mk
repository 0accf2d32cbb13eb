# Go standard library tests under timelake's runtime: the test binaries are
# built for GOOS=wasip1 and run by bin/run through scripts/go_wasip1_exec.
# Included by the top-level Makefile.

GOSTD_PKGS ?= os io/fs path/filepath time

.PHONY: test-gostd
test-gostd: build
	GOOS=wasip1 GOARCH=wasm $(GO) test -count=1 -timeout 30m -exec $(CURDIR)/scripts/go_wasip1_exec $(GOSTD_PKGS)
