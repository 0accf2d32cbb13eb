// Command panic writes to a nil map: a Go runtime panic, which the Go
// runtime turns into a message on stderr and exit code 2 (not a trap).
package main

import "fmt"

var m map[string]int

func main() {
	fmt.Println("about to panic")
	m["boom"] = 1
	fmt.Println("unreachable")
}
