// Command read64m reads the file named by its argument in 4 KiB reads (one
// fd_read each) and prints the total byte count.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: read64m FILE")
		os.Exit(64)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "read64m:", err)
		os.Exit(1)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var total int64
	for {
		n, err := f.Read(buf)
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "read64m:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("read %d bytes\n", total)
}
