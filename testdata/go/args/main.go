// Command args prints each argument it was given (program name excluded) and
// then its environment, sorted, so two runtimes can be compared line by line.
package main

import (
	"fmt"
	"os"
	"sort"
)

func main() {
	fmt.Printf("argc=%d\n", len(os.Args)-1)
	for i, a := range os.Args[1:] {
		fmt.Printf("arg[%d]=%q\n", i+1, a)
	}
	env := os.Environ()
	sort.Strings(env)
	fmt.Printf("envc=%d\n", len(env))
	for _, kv := range env {
		fmt.Printf("env %q\n", kv)
	}
}
