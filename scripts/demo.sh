#!/usr/bin/env bash
# make demo: the whole pipeline on the embedded default lake (no flags):
# run three guests (each run is recorded and shipped to the lake), compact
# the segments into Parquet, then query the runs, one run's logs and the
# syscall statistics.
set -euo pipefail
cd "$(dirname "$0")/.."
guests=testdata/build/go
mkdir -p "$guests"
for g in hello args files; do
	GOOS=wasip1 GOARCH=wasm go build -o "$guests/$g.wasm" "./testdata/go/$g"
done

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# run prints the run ID as the first line on stderr.
runid() { head -n 1 "$1"; }
err=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$err" "$work"' EXIT

say bin/run $guests/hello.wasm
bin/run $guests/hello.wasm 2> >(tee "$err" >&2)
sleep 0.2 # let tee flush
hello=$(runid "$err")

say bin/run --env GREETING=hi $guests/args.wasm one two
bin/run --env GREETING=hi $guests/args.wasm one two

say bin/run --dir "$work:/work" $guests/files.wasm /work
bin/run --dir "$work:/work" $guests/files.wasm /work | tail -n 5

say bin/compact --once
bin/compact --once

say bin/query runs --since 1h
bin/query runs --since 1h --format table

say bin/query describe "$hello"
bin/query describe "$hello" --format table

say bin/query logs "$hello"
bin/query logs "$hello"

sql="SELECT func, sum(calls) AS calls, sum(errors) AS errors, max(p99_ns) AS p99_ns FROM syscall_stats GROUP BY func ORDER BY calls DESC LIMIT 8"
say bin/query sql "\"$sql\""
bin/query sql --format table "$sql"
