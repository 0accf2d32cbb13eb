// Command exit exits with the code given as its only argument, after
// printing it, so the runtime's handling of proc_exit can be checked.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: exit CODE")
		os.Exit(64)
	}
	code, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "exit: bad code:", err)
		os.Exit(64)
	}
	fmt.Printf("exiting with %d\n", code)
	os.Exit(code)
}
