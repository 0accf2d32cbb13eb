// Command sleep sleeps MS milliseconds (default 1000) in steps of STEP
// milliseconds (default 10): sleep [MS [STEP]]. It prints "slept" at the
// end, so a test can tell a guest that finished from one that was stopped.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

func arg(i, def int) int {
	if len(os.Args) <= i {
		return def
	}
	n, err := strconv.Atoi(os.Args[i])
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: sleep [MS [STEP]]")
		os.Exit(64)
	}
	return n
}

func main() {
	total, step := arg(1, 1000), arg(2, 10)
	fmt.Println("sleeping")
	for slept := 0; slept < total; slept += step {
		time.Sleep(time.Duration(step) * time.Millisecond)
	}
	fmt.Printf("slept %d ms\n", total)
}
