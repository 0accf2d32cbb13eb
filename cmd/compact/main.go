// Command compact turns the lake's segment logs into partitioned Parquet
// event tables. It is not built yet: it prints its usage and exits 2.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "usage: compact [--lake URL] [--once | --watch INTERVAL] [--dry-run]\n\ncompact is not available in this version of timelake.")
	os.Exit(2)
}
