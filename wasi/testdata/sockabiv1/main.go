//go:build wasip1

// Command sockabiv1 calls the WasmEdge 0.11 forms of sock_accept and
// sock_getlocaladdr/sock_getpeeraddr that the Rust crate wasmedge_wasi_socket
// imports.
package main

import (
	"encoding/hex"
	"fmt"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd, newFD uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_getlocaladdr
func sockGetlocaladdr(fd, addr, addrType, port uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_getpeeraddr
func sockGetpeeraddr(fd, addr, addrType, port uint32) uint32

func ptr[T any](p *T) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

type wasiAddress struct{ buf, bufLen uint32 }

func main() {
	var nfd uint32
	fmt.Printf("accept %d fd=%d\n", sockAccept(5, ptr(&nfd)), nfd)
	buf := make([]byte, 16)
	addr := wasiAddress{uint32(uintptr(unsafe.Pointer(&buf[0]))), 16}
	var typ, port uint32
	e := sockGetlocaladdr(5, ptr(&addr), ptr(&typ), ptr(&port))
	fmt.Printf("getlocaladdr %d addr=%s type=%d port=%d\n", e, hex.EncodeToString(buf), typ, port)
	fmt.Printf("getpeeraddr %d\n", sockGetpeeraddr(5, ptr(&addr), ptr(&typ), ptr(&port)))
}
