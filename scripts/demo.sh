#!/usr/bin/env bash
# make demo: run a few guests on the embedded default lake and show what
# timelake makes of them.
set -euo pipefail
cd "$(dirname "$0")/.."
guests=testdata/build

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say bin/run $guests/go/hello.wasm
bin/run $guests/go/hello.wasm

say bin/run --env GREETING=hi $guests/go/args.wasm one two
bin/run --env GREETING=hi $guests/go/args.wasm one two

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say bin/run --dir "$work:/work" $guests/c/files_c.wasm /work
bin/run --dir "$work:/work" $guests/c/files_c.wasm /work
