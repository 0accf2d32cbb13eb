// Command clock checks the clocks a guest sees: the monotonic clock never
// goes back, the wall clock is plausible, and sleeping 3 x 100ms lasts at
// least 300ms. It prints only deterministic text; any failed check exits 1.
package main

import (
	"fmt"
	"os"
	"time"
)

var failed bool

func check(name string, ok bool, detail string) {
	if ok {
		fmt.Printf("%s: ok\n", name)
		return
	}
	failed = true
	fmt.Printf("%s: FAIL %s\n", name, detail)
}

func main() {
	prev := time.Now()
	backwards := 0
	for i := 0; i < 10000; i++ {
		now := time.Now()
		if now.Sub(prev) < 0 {
			backwards++
		}
		prev = now
	}
	check("monotonic never goes back", backwards == 0, fmt.Sprintf("%d steps back", backwards))

	year := time.Now().Year()
	check("wall clock after 2020", year > 2020, fmt.Sprintf("year %d", year))

	start := time.Now()
	for i := 0; i < 3; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	check("sleep 3x100ms lasts >= 300ms", elapsed >= 300*time.Millisecond, elapsed.String())

	t1 := time.Now()
	t2 := time.Now()
	check("two reads ordered", !t2.Before(t1), "")
	if failed {
		os.Exit(1)
	}
}
