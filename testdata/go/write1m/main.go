// Command write1m makes COUNT (default 1,000,000) unbuffered 17-byte writes
// to stdout: one fd_write per line, the benchmark of per-call overhead.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	count := 1_000_000
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "usage: write1m [COUNT]")
			os.Exit(64)
		}
		count = n
	}
	line := []byte("0123456789abcdef\n")
	for i := 0; i < count; i++ {
		if _, err := os.Stdout.Write(line); err != nil {
			fmt.Fprintln(os.Stderr, "write1m:", err)
			os.Exit(1)
		}
	}
}
