// Command hello prints a greeting: the smallest guest there is.
package main

import "fmt"

func main() {
	fmt.Println("hello, world")
}
