// Command nosuch imports a host function no runtime provides (env.nosuch),
// so a runtime must refuse the module before it starts.
package main

import "fmt"

//go:wasmimport env nosuch
func nosuch() int32

func main() {
	fmt.Println("nosuch returned", nosuch())
}
