// Command alloc allocates MIB mebibytes (default 64) and touches every page,
// so --max-memory can be seen to stop a guest that grows past it.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	mib := 64
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "usage: alloc [MIB]")
			os.Exit(64)
		}
		mib = n
	}
	buf := make([]byte, mib<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = byte(i)
	}
	fmt.Printf("allocated %d MiB\n", mib)
}
