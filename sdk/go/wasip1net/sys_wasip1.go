//go:build wasip1

package wasip1net

// The host functions of the WasmEdge socket extension, exactly as
// docs/abi.md pins them, and thin Go wrappers that return syscall.Errno.

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"runtime"
	"syscall"
	"unsafe"
)

// Constants of docs/abi.md.
const (
	afUnspec = 0
	afInet4  = 1
	afInet6  = 2

	sockDgram  = 1
	sockStream = 2

	solSocket    = 0
	soReuseaddr  = 0
	soError      = 2
	soAcceptconn = 13

	ipprotoTCP = 6
	tcpNodelay = 1

	// timelakeLevel and htlsServerName ask the host to run TLS on a
	// connected socket (host TLS offload).
	timelakeLevel  = 0x74696d65
	htlsServerName = 1

	// sockaddrSize is the buffer of an address in sockaddr form: family
	// u16 LE @0, address octets @2.
	sockaddrSize = 128
)

// wasiAddress is the 8-byte descriptor of an address buffer.
type wasiAddress struct {
	buf    uint32
	bufLen uint32
}

// iovec is a WASI preview 1 iovec.
type iovec struct {
	buf    uint32
	bufLen uint32
}

//go:wasmimport wasi_snapshot_preview1 sock_open
//go:noescape
func sock_open(af, socktype int32, fd *int32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_bind
//go:noescape
func sock_bind(fd int32, addr unsafe.Pointer, port uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_connect
//go:noescape
func sock_connect(fd int32, addr unsafe.Pointer, port uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_listen
//go:noescape
func sock_listen(fd, backlog int32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_recv_from
//go:noescape
func sock_recv_from(fd int32, iovs unsafe.Pointer, iovsLen int32, addr unsafe.Pointer, flags int32, port *uint32, n *uint32, roflags *uint16) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_send_to
//go:noescape
func sock_send_to(fd int32, iovs unsafe.Pointer, iovsLen int32, addr unsafe.Pointer, port uint32, flags int32, n *uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_getsockopt
//go:noescape
func sock_getsockopt(fd, level, name int32, value unsafe.Pointer, valueLen *uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_setsockopt
//go:noescape
func sock_setsockopt(fd, level, name int32, value unsafe.Pointer, valueLen uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_getlocaladdr
//go:noescape
func sock_getlocaladdr(fd int32, addr unsafe.Pointer, port *uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_getpeeraddr
//go:noescape
func sock_getpeeraddr(fd int32, addr unsafe.Pointer, port *uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 sock_getaddrinfo
//go:noescape
func sock_getaddrinfo(node unsafe.Pointer, nodeLen uint32, service unsafe.Pointer, serviceLen uint32, hints unsafe.Pointer, res *uint32, maxLen uint32, resLen *uint32) syscall.Errno

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_get
//go:noescape
func fd_fdstat_get(fd int32, stat unsafe.Pointer) syscall.Errno

// errno turns a host result into an error (nil for success).
func errno(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// ptr is the wasm32 address of p.
func ptr[T any](p *T) uint32 { return uint32(uintptr(unsafe.Pointer(p))) }

func sockOpen(af, socktype int) (int, error) {
	var fd int32
	if err := errno(sock_open(int32(af), int32(socktype), &fd)); err != nil {
		return -1, err
	}
	return int(fd), nil
}

// rawAddr holds an address in the raw input form (4 or 16 octets).
type rawAddr struct {
	octets [16]byte
	desc   wasiAddress
}

func (r *rawAddr) set(ip netip.Addr) *wasiAddress {
	n := 16
	if ip.Is4() {
		a := ip.As4()
		copy(r.octets[:], a[:])
		n = 4
	} else {
		r.octets = ip.As16()
	}
	r.desc = wasiAddress{buf: ptr(&r.octets[0]), bufLen: uint32(n)}
	return &r.desc
}

func sockBind(fd int, ap netip.AddrPort) error {
	var r rawAddr
	err := errno(sock_bind(int32(fd), unsafe.Pointer(r.set(ap.Addr())), uint32(ap.Port())))
	runtime.KeepAlive(&r)
	return err
}

func sockConnect(fd int, ap netip.AddrPort) error {
	var r rawAddr
	err := errno(sock_connect(int32(fd), unsafe.Pointer(r.set(ap.Addr())), uint32(ap.Port())))
	runtime.KeepAlive(&r)
	return err
}

func sockListen(fd, backlog int) error {
	return errno(sock_listen(int32(fd), int32(backlog)))
}

func sockGetoptInt(fd, level, name int) (int, error) {
	var v int32
	size := uint32(4)
	if err := errno(sock_getsockopt(int32(fd), int32(level), int32(name), unsafe.Pointer(&v), &size)); err != nil {
		return 0, err
	}
	return int(v), nil
}

func sockSetoptInt(fd, level, name, value int) error {
	v := int32(value)
	return errno(sock_setsockopt(int32(fd), int32(level), int32(name), unsafe.Pointer(&v), 4))
}

func sockSetoptBytes(fd, level, name int, value []byte) error {
	if len(value) == 0 {
		return syscall.EINVAL
	}
	err := errno(sock_setsockopt(int32(fd), int32(level), int32(name), unsafe.Pointer(&value[0]), uint32(len(value))))
	runtime.KeepAlive(value)
	return err
}

// sockaddrBuf receives an address in sockaddr form.
type sockaddrBuf struct {
	raw  [sockaddrSize]byte
	desc wasiAddress
}

func (s *sockaddrBuf) out() *wasiAddress {
	s.desc = wasiAddress{buf: ptr(&s.raw[0]), bufLen: sockaddrSize}
	return &s.desc
}

func (s *sockaddrBuf) addrPort(port uint32) (netip.AddrPort, error) {
	switch binary.LittleEndian.Uint16(s.raw[0:2]) {
	case afInet4:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(s.raw[2:6])), uint16(port)), nil
	case afInet6:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(s.raw[2:18])), uint16(port)), nil
	}
	return netip.AddrPort{}, syscall.EAFNOSUPPORT
}

func sockLocalAddr(fd int) (netip.AddrPort, error) {
	var s sockaddrBuf
	var port uint32
	if err := errno(sock_getlocaladdr(int32(fd), unsafe.Pointer(s.out()), &port)); err != nil {
		return netip.AddrPort{}, err
	}
	return s.addrPort(port)
}

func sockPeerAddr(fd int) (netip.AddrPort, error) {
	var s sockaddrBuf
	var port uint32
	if err := errno(sock_getpeeraddr(int32(fd), unsafe.Pointer(s.out()), &port)); err != nil {
		return netip.AddrPort{}, err
	}
	return s.addrPort(port)
}

func sockRecvFrom(fd int, b []byte) (int, netip.AddrPort, error) {
	var s sockaddrBuf
	var iov iovec
	if len(b) > 0 {
		iov = iovec{buf: ptr(&b[0]), bufLen: uint32(len(b))}
	}
	var port, n uint32
	var roflags uint16
	err := errno(sock_recv_from(int32(fd), unsafe.Pointer(&iov), 1, unsafe.Pointer(s.out()), 0, &port, &n, &roflags))
	runtime.KeepAlive(b)
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	from, err := s.addrPort(port)
	return int(n), from, err
}

func sockSendTo(fd int, b []byte, to netip.AddrPort) (int, error) {
	var r rawAddr
	var iov iovec
	if len(b) > 0 {
		iov = iovec{buf: ptr(&b[0]), bufLen: uint32(len(b))}
	}
	var n uint32
	err := errno(sock_send_to(int32(fd), unsafe.Pointer(&iov), 1, unsafe.Pointer(r.set(to.Addr().Unmap())), uint32(to.Port()), 0, &n))
	runtime.KeepAlive(b)
	runtime.KeepAlive(&r)
	return int(n), err
}

// addrinfo is the 28-byte addrinfo of docs/abi.md.
type addrinfo struct {
	flags     uint16
	family    uint8
	socktype  uint8
	protocol  uint32
	addrlen   uint32
	addr      uint32 // *aiSockaddr
	canonname uint32
	canonLen  uint32
	next      uint32 // *addrinfo

	// The rest is the guest's storage the header points to; the host
	// reads and writes only the 28 bytes above and what they point to.
	sockaddr aiSockaddr
	data     [26]byte // port u16 BE @0, address octets @2
}

// aiSockaddr is the 12-byte sockaddr an addrinfo points to.
type aiSockaddr struct {
	family  uint32
	dataLen uint32
	data    uint32 // *[26]byte
}

// errNoSuchHost is the resolver's answer for an unknown name.
var errNoSuchHost = errors.New("no such host")

// getaddrinfo resolves name with the host's resolver.
func getaddrinfo(name string, af, socktype int) ([]netip.Addr, error) {
	var list [maxAddrs]addrinfo
	for i := range list {
		e := &list[i]
		e.sockaddr = aiSockaddr{dataLen: uint32(len(e.data)), data: ptr(&e.data[0])}
		e.addrlen = uint32(unsafe.Sizeof(aiSockaddr{}))
		e.addr = ptr(&e.sockaddr)
		if i+1 < len(list) {
			e.next = ptr(&list[i+1])
		}
	}
	hints := addrinfo{family: uint8(af), socktype: uint8(socktype)}
	node := []byte(name)
	if len(node) == 0 {
		return nil, syscall.EINVAL
	}
	first := ptr(&list[0])
	var n uint32
	e := sock_getaddrinfo(unsafe.Pointer(&node[0]), uint32(len(node)), nil, 0, unsafe.Pointer(&hints), &first, maxAddrs, &n)
	runtime.KeepAlive(node)
	runtime.KeepAlive(&list)
	switch e {
	case 0:
	case syscall.ENOENT:
		return nil, errNoSuchHost
	default:
		return nil, e
	}
	var ips []netip.Addr
	for i := 0; i < int(n) && i < len(list); i++ {
		var ip netip.Addr
		switch list[i].sockaddr.family {
		case afInet4:
			ip = netip.AddrFrom4([4]byte(list[i].data[2:6]))
		case afInet6:
			ip = netip.AddrFrom16([16]byte(list[i].data[2:18]))
		default:
			continue
		}
		if !containsAddr(ips, ip) {
			ips = append(ips, ip)
		}
	}
	if len(ips) == 0 {
		return nil, errNoSuchHost
	}
	return ips, nil
}

func containsAddr(ips []netip.Addr, ip netip.Addr) bool {
	for _, x := range ips {
		if x == ip {
			return true
		}
	}
	return false
}

// fdstat is WASI preview 1's fdstat (24 bytes).
type fdstat struct {
	filetype         uint8
	_                uint8
	flags            uint16
	_                uint32
	rightsBase       uint64
	rightsInheriting uint64
}

// fdFiletype reports the WASI filetype of fd.
func fdFiletype(fd int) (uint8, error) {
	var st fdstat
	if err := errno(fd_fdstat_get(int32(fd), unsafe.Pointer(&st))); err != nil {
		return 0, err
	}
	return st.filetype, nil
}
