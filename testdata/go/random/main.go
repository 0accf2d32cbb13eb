// Command random reads 32 bytes from the runtime's random source and checks
// they are not all zero and that a second read differs. It prints the length
// only, so its output is deterministic.
package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
)

func main() {
	a := make([]byte, 32)
	b := make([]byte, 32)
	if _, err := rand.Read(a); err != nil {
		fmt.Println("random: read:", err)
		os.Exit(1)
	}
	if _, err := rand.Read(b); err != nil {
		fmt.Println("random: read:", err)
		os.Exit(1)
	}
	if bytes.Equal(a, make([]byte, 32)) {
		fmt.Println("random: all zero")
		os.Exit(1)
	}
	if bytes.Equal(a, b) {
		fmt.Println("random: two reads returned the same bytes")
		os.Exit(1)
	}
	fmt.Printf("random: %d bytes\n", len(a))
}
