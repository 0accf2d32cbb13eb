//go:build wasip1

// Command sockabi calls every function of the socket extension with the
// signatures of docs/abi.md (WasmEdge 0.12+ forms, preview 1 sock_accept)
// and prints what it finds in its memory, one line per call, for
// TestSocketABI to compare.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 sock_open
func sockOpen(af, socktype, fd uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_bind
func sockBind(fd, addr, port uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_connect
func sockConnect(fd, addr, port uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_listen
func sockListen(fd, backlog uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd, flags, newFD uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_recv_from
func sockRecvFrom(fd, iovs, iovsLen, addr, flags, port, n, roflags uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_send_to
func sockSendTo(fd, iovs, iovsLen, addr, port, flags, n uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_getsockopt
func sockGetsockopt(fd, level, name, value, size uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_setsockopt
func sockSetsockopt(fd, level, name, value, size uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_getlocaladdr
func sockGetlocaladdr(fd, addr, port uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_getpeeraddr
func sockGetpeeraddr(fd, addr, port uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_getaddrinfo
func sockGetaddrinfo(node, nodeLen, service, serviceLen, hints, res, maxLen, resLen uint32) uint32

func ptr[T any](p *T) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

func bptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// wasiAddress is the 8-byte address descriptor.
type wasiAddress struct{ buf, bufLen uint32 }

func addressOf(b []byte) *wasiAddress { return &wasiAddress{bptr(b), uint32(len(b))} }

type iovec struct{ buf, bufLen uint32 }

type addrinfo struct {
	flags        uint16
	family       uint8
	socktype     uint8
	protocol     uint32
	addrlen      uint32
	addr         uint32
	canonname    uint32
	canonnamelen uint32
	next         uint32
}

type sockaddr struct {
	family  uint32
	dataLen uint32
	data    uint32
}

func main() {
	out := func(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }

	var fd uint32
	out("open %d fd=%d", sockOpen(2, 2, ptr(&fd)), fd)
	out("open-unix %d", sockOpen(3, 2, ptr(&fd)))

	v4 := []byte{127, 0, 0, 1}
	out("bind %d", sockBind(fd, ptr(addressOf(v4)), 8080))
	v6 := make([]byte, 128)
	binary.LittleEndian.PutUint16(v6, 2)
	v6[17] = 1 // ::1
	out("connect %d", sockConnect(fd, ptr(addressOf(v6)), 443))
	out("connect-bad-port %d", sockConnect(fd, ptr(addressOf(v4)), 70000))
	out("connect-bad-len %d", sockConnect(fd, ptr(addressOf(v4[:3])), 1))
	out("connect-fault %d", sockConnect(fd, 0xfffffff0, 1))
	out("listen %d", sockListen(fd, 7))
	var nfd uint32
	out("accept %d fd=%d", sockAccept(fd, 4, ptr(&nfd)), nfd)

	data := make([]byte, 16)
	iov := iovec{bptr(data), uint32(len(data))}
	from := make([]byte, 128)
	var port, n uint32
	var roflags uint16
	e := sockRecvFrom(fd, ptr(&iov), 1, ptr(addressOf(from)), 0, ptr(&port), ptr(&n), ptr(&roflags))
	out("recv_from %d n=%d data=%q addr=%s port=%d roflags=%d", e, n, data[:n], hex.EncodeToString(from[:20]), port, roflags)

	msg := []byte("query")
	siov := iovec{bptr(msg), uint32(len(msg))}
	e = sockSendTo(fd, ptr(&siov), 1, ptr(addressOf(v4)), 53, 0, ptr(&n))
	out("send_to %d n=%d", e, n)

	val := make([]byte, 8)
	size := uint32(len(val))
	e = sockGetsockopt(fd, 0, 6, bptr(val), ptr(&size))
	out("getsockopt %d size=%d val=%s", e, size, hex.EncodeToString(val))
	name := []byte("example.com")
	out("setsockopt %d", sockSetsockopt(fd, 0x74696d65, 1, bptr(name), uint32(len(name))))

	local := make([]byte, 128)
	e = sockGetlocaladdr(fd, ptr(addressOf(local)), ptr(&port))
	out("getlocaladdr %d addr=%s port=%d", e, hex.EncodeToString(local[:8]), port)
	out("getpeeraddr %d", sockGetpeeraddr(fd, ptr(addressOf(local)), ptr(&port)))

	// Three preallocated results in the layout of the Rust crate.
	var infos [3]addrinfo
	var addrs [3]sockaddr
	var datas [3][26]byte
	for i := range infos {
		addrs[i] = sockaddr{dataLen: 14, data: ptr(&datas[i])}
		infos[i].addr = ptr(&addrs[i])
		infos[i].canonnamelen = 30
		if i > 0 {
			infos[i-1].next = ptr(&infos[i])
		}
	}
	hints := addrinfo{socktype: 2}
	node, service := []byte("localhost\x00"), []byte("80\x00")
	res := ptr(&infos[0])
	var count uint32
	e = sockGetaddrinfo(bptr(node), uint32(len(node)), bptr(service), uint32(len(service)), ptr(&hints), ptr(&res), 3, ptr(&count))
	out("getaddrinfo %d count=%d", e, count)
	for i := range count {
		ai := &infos[i]
		out("  ai family=%d socktype=%d protocol=%d canonnamelen=%d sa_family=%d data=%s",
			ai.family, ai.socktype, ai.protocol, ai.canonnamelen, addrs[i].family, hex.EncodeToString(datas[i][:18]))
	}
}
