// Command sha256 hashes MIB mebibytes (default 256) of data generated in
// memory and prints the hex digest: a compute-bound guest with almost no
// host calls. Block i of 1 MiB is filled with byte((i*31 + j*7) & 0xff) at
// offset j, so a test can recompute the digest natively.
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
)

func main() {
	mib := 256
	if len(os.Args) > 1 {
		n, err := strconv.Atoi(os.Args[1])
		if err != nil || n < 0 {
			fmt.Fprintln(os.Stderr, "usage: sha256 [MIB]")
			os.Exit(64)
		}
		mib = n
	}
	h := sha256.New()
	block := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		for j := range block {
			block[j] = byte((i*31 + j*7) & 0xff)
		}
		h.Write(block)
	}
	fmt.Printf("%x\n", h.Sum(nil))
}
