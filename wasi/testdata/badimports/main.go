//go:build wasip1

// Command badimports imports functions the timelake host module does not
// provide, for the CheckImports test. It is compiled, never run.
package main

import "os"

//go:wasmimport env foo
func foo() uint32

//go:wasmimport wasi_snapshot_preview1 nonexistent
func nonexistent(x uint32) uint32

// fd_close exists, but takes one i32: this import's signature does not match.
//
//go:wasmimport wasi_snapshot_preview1 fd_close
func fdCloseWide(fd uint64) uint32

func main() {
	if len(os.Args) > 100 { // keep the imports without calling them
		foo()
		nonexistent(1)
		fdCloseWide(1)
	}
}
