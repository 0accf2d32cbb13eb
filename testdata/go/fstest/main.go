// Command fstest runs testing/fstest.TestFS over os.DirFS of a mounted
// directory: fstest fstest DIR EXPECTED-FILE... It prints "ok" or the
// error TestFS reports (which names only guest paths) and exits 1 on error.
package main

import (
	"fmt"
	"os"
	"testing/fstest"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: fstest DIR [EXPECTED...]")
		os.Exit(64)
	}
	if err := fstest.TestFS(os.DirFS(os.Args[1]), os.Args[2:]...); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ok")
}
