package wasi

import (
	"context"
	"net/netip"
)

// The types of the WasmEdge socket extension of wasi_snapshot_preview1, as
// pinned in docs/abi.md. Values are part of the ABI.

// AddressFamily is a socket address family.
type AddressFamily uint8

const (
	AFUnspec AddressFamily = 0
	AFInet   AddressFamily = 1
	AFInet6  AddressFamily = 2
	AFUnix   AddressFamily = 3 // not supported: EAFNOSUPPORT
)

func (af AddressFamily) String() string {
	switch af {
	case AFUnspec:
		return "unspec"
	case AFInet:
		return "inet"
	case AFInet6:
		return "inet6"
	case AFUnix:
		return "unix"
	}
	return "af?"
}

// SocketType is the type of a socket.
type SocketType uint8

const (
	SockAny    SocketType = 0 // sock_open treats it as SockStream
	SockDgram  SocketType = 1
	SockStream SocketType = 2
)

func (t SocketType) String() string {
	switch t {
	case SockAny:
		return "any"
	case SockDgram:
		return "dgram"
	case SockStream:
		return "stream"
	}
	return "socktype?"
}

// Protocol is an IP protocol of an addrinfo.
type Protocol uint8

const (
	ProtoIP  Protocol = 0
	ProtoTCP Protocol = 1
	ProtoUDP Protocol = 2
)

func (p Protocol) String() string {
	switch p {
	case ProtoIP:
		return "ip"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return "proto?"
}

// AIFlags are the flags of sock_getaddrinfo hints.
type AIFlags uint16

const (
	AIPassive AIFlags = 1 << iota
	AICanonName
	AINumericHost
	AINumericServ
	AIV4Mapped
	AIAll
	AIAddrConfig
)

// SockOptLevel is the level of a socket option.
type SockOptLevel uint32

const (
	SolSocket SockOptLevel = 0
	SolTCP    SockOptLevel = 6  // IPPROTO_TCP
	SolIPv6   SockOptLevel = 41 // IPPROTO_IPV6
	// SolTimelake is the level of timelake's own options ("time" in ASCII,
	// the level Timecraft uses for the same purpose).
	SolTimelake SockOptLevel = 0x74696d65
)

// SockOpt names a socket option within its level.
type SockOpt uint32

// Options of SolSocket (WasmEdge numbering).
const (
	SoReuseAddr SockOpt = iota
	SoType
	SoError
	SoDontRoute
	SoBroadcast
	SoSndBuf
	SoRcvBuf
	SoKeepAlive
	SoOOBInline
	SoLinger
	SoRcvLowat
	SoRcvTimeo
	SoSndTimeo
	SoAcceptConn
	SoBindToDevice
)

// Options of SolTCP and SolIPv6 (Linux numbering).
const (
	TCPNoDelay   SockOpt = 1
	TCPKeepIdle  SockOpt = 4
	TCPKeepIntvl SockOpt = 5
	TCPKeepCnt   SockOpt = 6
	IPv6V6Only   SockOpt = 26
)

// Options of SolTimelake.
const (
	// HTLSServerName (set only) asks the host to run TLS on a connected TCP
	// socket, verifying the peer for the server name given as the value.
	HTLSServerName SockOpt = 1
)

// AddrInfo is one sock_getaddrinfo result, or the hints of a query (where
// Addr is unused).
type AddrInfo struct {
	Flags    AIFlags // hints only
	Family   AddressFamily
	SockType SocketType
	Protocol Protocol
	Addr     netip.AddrPort
}

// Sockets is the WasmEdge socket extension of wasi_snapshot_preview1. A
// System that also implements Sockets gets the sock_* extension functions;
// otherwise those imports return ENOSYS. sock_accept, sock_recv, sock_send
// and sock_shutdown are WASI preview 1 functions and live in System.
//
// Addresses are netip.AddrPort values without zones: the binding decodes
// 4-byte addresses as IPv4 and 16-byte ones as IPv6 (possibly IPv4-mapped,
// which implementations unmap where it matters, such as policy checks). As
// with System, byte slices alias guest memory for the duration of the call
// only.
type Sockets interface {
	// SockOpen creates a socket and returns its fd. proto is ProtoIP for
	// sock_open (the protocol follows from the type).
	SockOpen(ctx context.Context, af AddressFamily, st SocketType, proto Protocol) (FD, Errno)
	// SockBind binds a socket to a local address.
	SockBind(ctx context.Context, fd FD, addr netip.AddrPort) Errno
	// SockConnect connects a socket to a remote address.
	SockConnect(ctx context.Context, fd FD, addr netip.AddrPort) Errno
	// SockListen makes a bound stream socket accept connections.
	SockListen(ctx context.Context, fd FD, backlog int32) Errno
	// SockRecvFrom receives a message and the address it came from.
	SockRecvFrom(ctx context.Context, fd FD, iovs [][]byte, flags RIFlags) (Size, ROFlags, netip.AddrPort, Errno)
	// SockSendTo sends a message to addr.
	SockSendTo(ctx context.Context, fd FD, iovs [][]byte, flags SIFlags, addr netip.AddrPort) (Size, Errno)
	// SockGetOpt copies the value of an option into value and returns the
	// number of bytes written (4 for integer options).
	SockGetOpt(ctx context.Context, fd FD, level SockOptLevel, name SockOpt, value []byte) (int, Errno)
	// SockSetOpt sets an option to value (4 bytes little endian for
	// integer options, a server name for HTLSServerName).
	SockSetOpt(ctx context.Context, fd FD, level SockOptLevel, name SockOpt, value []byte) Errno
	// SockLocalAddr returns the local address of a socket.
	SockLocalAddr(ctx context.Context, fd FD) (netip.AddrPort, Errno)
	// SockPeerAddr returns the remote address of a connected socket.
	SockPeerAddr(ctx context.Context, fd FD) (netip.AddrPort, Errno)
	// SockAddrInfo resolves node and service (NULs already stripped) and
	// fills results, returning how many it filled.
	SockAddrInfo(ctx context.Context, node, service string, hints AddrInfo, results []AddrInfo) (int, Errno)
}

// FamilyOf returns the address family of an address: AFInet for IPv4,
// AFInet6 for IPv6, AFUnspec for the zero Addr.
func FamilyOf(a netip.Addr) AddressFamily {
	switch {
	case a.Is4():
		return AFInet
	case a.Is6():
		return AFInet6
	}
	return AFUnspec
}
