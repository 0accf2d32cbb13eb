// Command cat copies stdin to stdout and reports the byte count on stderr.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	n, err := io.Copy(os.Stdout, os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cat:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "cat: %d bytes\n", n)
}
