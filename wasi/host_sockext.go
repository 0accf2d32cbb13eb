package wasi

import (
	"context"
	"net/netip"

	"github.com/tetratelabs/wazero/api"
)

// The WasmEdge socket extension of wasi_snapshot_preview1. docs/abi.md pins
// every signature and memory layout; the comments here name the parameters.
// Each function calls the System's Sockets methods, or returns ENOSYS when
// the System does not implement Sockets.

// Memory layouts of the extension.
const (
	// wasiAddressSize is a wasi_address: buf u32 @0, buf_len u32 @4.
	wasiAddressSize = 8
	// sockaddrFormMin is the smallest buffer of the sockaddr form holding
	// an IPv6 address: family u16 @0, address octets @2.
	sockaddrFormMin = 18
	// addrInfoSize is an addrinfo: flags u16 @0, family u8 @2, socktype u8
	// @3, protocol u32 @4, addrlen u32 @8, addr u32 @12, canonname u32 @16,
	// canonnamelen u32 @20, next u32 @24.
	addrInfoSize = 28
	// sockaddrSize is the sockaddr addrinfo points to: family u8 @0 (written
	// as a u32), sa_data_len u32 @4, sa_data u32 @8.
	sockaddrSize = 12
	// saDataCrateLen is the sa_data_len the Rust crate announces for the
	// 26-byte buffers it allocates.
	saDataCrateLen = 14
	saDataCrateCap = 26
	// maxAddrInfo bounds the results of one sock_getaddrinfo call.
	maxAddrInfo = 64
)

// readAddress decodes the wasi_address at ptr and the port into an address.
// Raw 4- and 16-byte buffers are IPv4 and IPv6; longer buffers are the
// sockaddr form (family u16 LE @0, address @2).
func readAddress(mem api.Memory, ptr uint32, port uint64) (netip.AddrPort, Errno) {
	hdr, ok := region(mem, ptr, wasiAddressSize)
	if !ok {
		return netip.AddrPort{}, EFAULT
	}
	buf, ok := region(mem, le.Uint32(hdr), le.Uint32(hdr[4:]))
	if !ok {
		return netip.AddrPort{}, EFAULT
	}
	if port > 0xffff {
		return netip.AddrPort{}, EINVAL
	}
	var ip netip.Addr
	switch {
	case len(buf) == 4:
		ip = netip.AddrFrom4([4]byte(buf))
	case len(buf) == 16:
		ip = netip.AddrFrom16([16]byte(buf))
	case len(buf) >= 2:
		switch AddressFamily(le.Uint16(buf)) {
		case AFInet:
			if len(buf) < 6 {
				return netip.AddrPort{}, EINVAL
			}
			ip = netip.AddrFrom4([4]byte(buf[2:6]))
		case AFInet6:
			if len(buf) < sockaddrFormMin {
				return netip.AddrPort{}, EINVAL
			}
			ip = netip.AddrFrom16([16]byte(buf[2:18]))
		case AFUnix:
			return netip.AddrPort{}, EAFNOSUPPORT
		default:
			return netip.AddrPort{}, EINVAL
		}
	default:
		return netip.AddrPort{}, EINVAL
	}
	return netip.AddrPortFrom(ip, uint16(port)), ESUCCESS
}

// addressBuffer returns the buffer a wasi_address at ptr points to.
func addressBuffer(mem api.Memory, ptr uint32) ([]byte, bool) {
	hdr, ok := region(mem, ptr, wasiAddressSize)
	if !ok {
		return nil, false
	}
	return region(mem, le.Uint32(hdr), le.Uint32(hdr[4:]))
}

// putSockaddrForm writes addr in the sockaddr form into buf, zeroing the
// rest; false if buf is too small.
func putSockaddrForm(buf []byte, addr netip.Addr) bool {
	n := 4
	if addr.Is6() {
		n = 16
	}
	if len(buf) < 2+n {
		return false
	}
	clear(buf)
	le.PutUint16(buf, uint16(FamilyOf(addr)))
	if addr.Is4() {
		a := addr.As4()
		copy(buf[2:], a[:])
	} else {
		a := addr.As16()
		copy(buf[2:], a[:])
	}
	return true
}

// putRawForm writes addr as raw octets (the v1 getlocaladdr form) into buf,
// zeroing the rest, and returns the address type 4 or 6; 0 if buf is
// shorter than 16 bytes.
func putRawForm(buf []byte, addr netip.Addr) uint32 {
	if len(buf) < 16 {
		return 0
	}
	clear(buf)
	if addr.Is4() {
		a := addr.As4()
		copy(buf, a[:])
		return 4
	}
	a := addr.As16()
	copy(buf, a[:])
	return 6
}

// sockets returns the System's socket extension, or nil.
func (b *binding) sockets() Sockets { return b.sock }

// sockOpen is sock_open: create a socket.
//
// Parameters: af (i32) is the address family (1 inet, 2 inet6); socktype
// (i32) is the socket type (1 dgram, 2 stream, 0 any = stream);
// result.fd (i32) receives the new socket (u32).
// Result: errno.
var sockOpen = &function{
	id:     FuncSockOpen,
	params: []param{{"af", i32}, {"socktype", i32}, {"result.fd", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		out, ok := region(b.memory(mod), uint32(stack[2]), 4)
		if !ok {
			return EFAULT
		}
		af, st := uint32(stack[0]), uint32(stack[1])
		if af > 0xff || st > 0xff {
			return EINVAL
		}
		fd, errno := sk.SockOpen(ctx, AddressFamily(af), SocketType(st), ProtoIP)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, fd)
		return ESUCCESS
	},
}

// sockBind is sock_bind: bind a socket to a local address.
//
// Parameters: fd (i32); addr (i32) points to a wasi_address; port (i32).
// Result: errno.
var sockBind = &function{
	id:     FuncSockBind,
	params: []param{{"fd", i32}, {"addr", i32}, {"port", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		addr, errno := readAddress(b.memory(mod), uint32(stack[1]), uint64(uint32(stack[2])))
		if errno != ESUCCESS {
			return errno
		}
		return sk.SockBind(ctx, uint32(stack[0]), addr)
	},
}

// sockConnect is sock_connect: connect a socket to a remote address.
//
// Parameters: fd (i32); addr (i32) points to a wasi_address; port (i32).
// Result: errno.
var sockConnect = &function{
	id:     FuncSockConnect,
	params: []param{{"fd", i32}, {"addr", i32}, {"port", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		addr, errno := readAddress(b.memory(mod), uint32(stack[1]), uint64(uint32(stack[2])))
		if errno != ESUCCESS {
			return errno
		}
		return sk.SockConnect(ctx, uint32(stack[0]), addr)
	},
}

// sockListen is sock_listen: listen for connections on a socket.
//
// Parameters: fd (i32); backlog (i32).
// Result: errno.
var sockListen = &function{
	id:     FuncSockListen,
	params: []param{{"fd", i32}, {"backlog", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		return sk.SockListen(ctx, uint32(stack[0]), int32(uint32(stack[1])))
	},
}

// sockAcceptV1 is the sock_accept of WasmEdge 0.11 and the Rust crate,
// without the fdflags of WASI preview 1; it is sock_accept with flags 0.
//
// Parameters: fd (i32) is the listening socket; result.fd (i32) receives the
// new socket (u32).
// Result: errno.
var sockAcceptV1 = &function{
	id:     FuncSockAccept,
	params: []param{{"fd", i32}, {"result.fd", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		out, ok := region(b.memory(mod), uint32(stack[1]), 4)
		if !ok {
			return EFAULT
		}
		fd, errno := b.sys.SockAccept(ctx, uint32(stack[0]), 0)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, fd)
		return ESUCCESS
	},
}

// sockRecvFrom is sock_recv_from: receive a message and its source address.
//
// Parameters: fd (i32); ri_data (i32) and ri_data_len (i32) are the iovecs
// to store data in; addr (i32) points to a wasi_address whose buffer
// receives the source in the sockaddr form; ri_flags (i32) are the riflags;
// result.port (i32) receives the source port (u32); result.ro_datalen (i32)
// receives the number of bytes stored (u32); result.ro_flags (i32) receives
// the roflags (u16).
// Result: errno.
var sockRecvFrom = &function{
	id: FuncSockRecvFrom,
	params: []param{{"fd", i32}, {"ri_data", i32}, {"ri_data_len", i32}, {"addr", i32}, {"ri_flags", i32},
		{"result.port", i32}, {"result.ro_datalen", i32}, {"result.ro_flags", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		mem := b.memory(mod)
		abuf, ok := addressBuffer(mem, uint32(stack[3]))
		if !ok {
			return EFAULT
		}
		portOut, ok := region(mem, uint32(stack[5]), 4)
		if !ok {
			return EFAULT
		}
		lenOut, ok := region(mem, uint32(stack[6]), 4)
		if !ok {
			return EFAULT
		}
		flagsOut, ok := region(mem, uint32(stack[7]), 2)
		if !ok {
			return EFAULT
		}
		if len(abuf) < 6 {
			return EINVAL
		}
		iovs, ok := readIOVecs(mem, b.iovs, uint32(stack[1]), uint32(stack[2]))
		b.iovs = iovs
		if !ok {
			return EFAULT
		}
		n, roflags, from, errno := sk.SockRecvFrom(ctx, uint32(stack[0]), iovs, RIFlags(stack[4]))
		clear(iovs)
		if errno != ESUCCESS {
			return errno
		}
		if from.IsValid() {
			if !putSockaddrForm(abuf, from.Addr()) {
				return EINVAL
			}
		} else {
			clear(abuf) // a connected stream socket reports no source
		}
		le.PutUint32(portOut, uint32(from.Port()))
		le.PutUint32(lenOut, n)
		le.PutUint16(flagsOut, uint16(roflags))
		return ESUCCESS
	},
}

// sockSendTo is sock_send_to: send a message to an address.
//
// Parameters: fd (i32); si_data (i32) and si_data_len (i32) are the
// ciovecs to send; addr (i32) points to a wasi_address; port (i32);
// si_flags (i32) are the siflags; result.so_datalen (i32) receives the
// number of bytes sent (u32).
// Result: errno.
var sockSendTo = &function{
	id: FuncSockSendTo,
	params: []param{{"fd", i32}, {"si_data", i32}, {"si_data_len", i32}, {"addr", i32}, {"port", i32},
		{"si_flags", i32}, {"result.so_datalen", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		mem := b.memory(mod)
		out, ok := region(mem, uint32(stack[6]), 4)
		if !ok {
			return EFAULT
		}
		addr, errno := readAddress(mem, uint32(stack[3]), uint64(uint32(stack[4])))
		if errno != ESUCCESS {
			return errno
		}
		iovs, ok := readIOVecs(mem, b.iovs, uint32(stack[1]), uint32(stack[2]))
		b.iovs = iovs
		if !ok {
			return EFAULT
		}
		n, errno := sk.SockSendTo(ctx, uint32(stack[0]), iovs, SIFlags(stack[5]), addr)
		clear(iovs)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, n)
		return ESUCCESS
	},
}

// sockGetsockopt is sock_getsockopt: read a socket option.
//
// Parameters: fd (i32); level (i32); name (i32); flag (i32) points to the
// value buffer; flag_size (i32) points to a u32 holding the buffer size,
// replaced by the number of bytes written.
// Result: errno.
var sockGetsockopt = &function{
	id:     FuncSockGetOpt,
	params: []param{{"fd", i32}, {"level", i32}, {"name", i32}, {"flag", i32}, {"flag_size", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		mem := b.memory(mod)
		sizeIO, ok := region(mem, uint32(stack[4]), 4)
		if !ok {
			return EFAULT
		}
		value, ok := region(mem, uint32(stack[3]), le.Uint32(sizeIO))
		if !ok {
			return EFAULT
		}
		n, errno := sk.SockGetOpt(ctx, uint32(stack[0]), SockOptLevel(stack[1]), SockOpt(stack[2]), value)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(sizeIO, uint32(min(n, len(value))))
		return ESUCCESS
	},
}

// sockSetsockopt is sock_setsockopt: set a socket option.
//
// Parameters: fd (i32); level (i32); name (i32); flag (i32) points to the
// value; flag_size (i32) is its length in bytes.
// Result: errno.
var sockSetsockopt = &function{
	id:     FuncSockSetOpt,
	params: []param{{"fd", i32}, {"level", i32}, {"name", i32}, {"flag", i32}, {"flag_size", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		value, ok := region(b.memory(mod), uint32(stack[3]), uint32(stack[4]))
		if !ok {
			return EFAULT
		}
		return sk.SockSetOpt(ctx, uint32(stack[0]), SockOptLevel(stack[1]), SockOpt(stack[2]), value)
	},
}

// sockAddrFunc builds sock_getlocaladdr or sock_getpeeraddr in the
// 3-parameter form: fd (i32); addr (i32) points to a wasi_address whose
// buffer receives the address in the sockaddr form; result.port (i32)
// receives the port (u32). Result: errno.
func sockAddrFunc(id Func, peer bool) *function {
	return &function{
		id:     id,
		params: []param{{"fd", i32}, {"addr", i32}, {"result.port", i32}},
		call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
			sk := b.sockets()
			if sk == nil {
				return ENOSYS
			}
			mem := b.memory(mod)
			buf, ok := addressBuffer(mem, uint32(stack[1]))
			if !ok {
				return EFAULT
			}
			portOut, ok := region(mem, uint32(stack[2]), 4)
			if !ok {
				return EFAULT
			}
			addr, errno := sockAddress(ctx, sk, uint32(stack[0]), peer)
			if errno != ESUCCESS {
				return errno
			}
			if !putSockaddrForm(buf, addr.Addr()) {
				return EINVAL
			}
			le.PutUint32(portOut, uint32(addr.Port()))
			return ESUCCESS
		},
	}
}

// sockAddrFuncV1 builds the 4-parameter form of the Rust crate: fd (i32);
// addr (i32) points to a wasi_address of at least 16 bytes receiving the raw
// octets; result.addr_type (i32) receives 4 or 6 (u32); result.port (i32)
// receives the port (u32). Result: errno.
func sockAddrFuncV1(id Func, peer bool) *function {
	return &function{
		id:     id,
		params: []param{{"fd", i32}, {"addr", i32}, {"result.addr_type", i32}, {"result.port", i32}},
		call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
			sk := b.sockets()
			if sk == nil {
				return ENOSYS
			}
			mem := b.memory(mod)
			buf, ok := addressBuffer(mem, uint32(stack[1]))
			if !ok {
				return EFAULT
			}
			typeOut, ok := region(mem, uint32(stack[2]), 4)
			if !ok {
				return EFAULT
			}
			portOut, ok := region(mem, uint32(stack[3]), 4)
			if !ok {
				return EFAULT
			}
			if len(buf) < 16 {
				return EINVAL
			}
			addr, errno := sockAddress(ctx, sk, uint32(stack[0]), peer)
			if errno != ESUCCESS {
				return errno
			}
			le.PutUint32(typeOut, putRawForm(buf, addr.Addr()))
			le.PutUint32(portOut, uint32(addr.Port()))
			return ESUCCESS
		},
	}
}

func sockAddress(ctx context.Context, sk Sockets, fd FD, peer bool) (netip.AddrPort, Errno) {
	if peer {
		return sk.SockPeerAddr(ctx, fd)
	}
	return sk.SockLocalAddr(ctx, fd)
}

var (
	sockGetlocaladdr   = sockAddrFunc(FuncSockGetLocalAddr, false)
	sockGetpeeraddr    = sockAddrFunc(FuncSockGetPeerAddr, true)
	sockGetlocaladdrV1 = sockAddrFuncV1(FuncSockGetLocalAddr, false)
	sockGetpeeraddrV1  = sockAddrFuncV1(FuncSockGetPeerAddr, true)
)

// sockGetaddrinfo is sock_getaddrinfo: resolve a host name and service.
//
// Parameters: node (i32) and node_len (i32) are the host name; service (i32)
// and service_len (i32) the service (a trailing NUL of either is ignored);
// hints (i32) points to an addrinfo; result.res (i32) points to a u32
// holding the address of the first of the guest's preallocated, linked
// addrinfo entries; max_len (i32) is how many may be filled;
// result.res_len (i32) receives how many were (u32).
// Result: errno.
var sockGetaddrinfo = &function{
	id: FuncSockGetAddrInfo,
	params: []param{{"node", i32}, {"node_len", i32}, {"service", i32}, {"service_len", i32},
		{"hints", i32}, {"result.res", i32}, {"max_len", i32}, {"result.res_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sk := b.sockets()
		if sk == nil {
			return ENOSYS
		}
		mem := b.memory(mod)
		node, ok := readString(mem, uint32(stack[0]), uint32(stack[1]))
		if !ok {
			return EFAULT
		}
		service, ok := readString(mem, uint32(stack[2]), uint32(stack[3]))
		if !ok {
			return EFAULT
		}
		rawHints, ok := region(mem, uint32(stack[4]), addrInfoSize)
		if !ok {
			return EFAULT
		}
		resPtr, ok := region(mem, uint32(stack[5]), 4)
		if !ok {
			return EFAULT
		}
		countOut, ok := region(mem, uint32(stack[7]), 4)
		if !ok {
			return EFAULT
		}
		node, service = trimNUL(node), trimNUL(service)
		maxLen := uint32(stack[6])
		if maxLen == 0 || node == "" && service == "" {
			return EINVAL
		}
		hints := AddrInfo{
			Flags:    AIFlags(le.Uint16(rawHints)),
			Family:   AddressFamily(rawHints[2]),
			SockType: SocketType(rawHints[3]),
			Protocol: Protocol(rawHints[4]),
		}
		if cap(b.addrinfo) == 0 {
			b.addrinfo = make([]AddrInfo, maxAddrInfo)
		}
		results := b.addrinfo[:min(maxLen, maxAddrInfo)]
		n, errno := sk.SockAddrInfo(ctx, node, service, hints, results)
		if errno != ESUCCESS {
			return errno
		}
		results = results[:min(n, len(results))]
		// Validate the guest's list before writing anything.
		count := 0
		for p := le.Uint32(resPtr); count < len(results); count++ {
			ai, ok := region(mem, p, addrInfoSize)
			if !ok {
				return EFAULT
			}
			sa, ok := region(mem, le.Uint32(ai[12:]), sockaddrSize)
			if !ok {
				return EFAULT
			}
			data, ok := saData(mem, sa)
			if !ok {
				return EFAULT
			}
			if len(data) < 2+len(results[count].Addr.Addr().AsSlice()) {
				return EINVAL
			}
			if p = le.Uint32(ai[24:]); p == 0 {
				count++
				break
			}
		}
		p := le.Uint32(resPtr)
		for i := range count {
			ai, _ := region(mem, p, addrInfoSize)
			sa, _ := region(mem, le.Uint32(ai[12:]), sockaddrSize)
			data, _ := saData(mem, sa)
			r := &results[i]
			le.PutUint16(ai, 0)
			ai[2], ai[3] = byte(r.Family), byte(r.SockType)
			le.PutUint32(ai[4:], uint32(r.Protocol))
			le.PutUint32(ai[20:], 0) // no canonical names
			le.PutUint32(sa, uint32(FamilyOf(r.Addr.Addr())))
			putSaData(data, r.Addr)
			p = le.Uint32(ai[24:])
		}
		le.PutUint32(countOut, uint32(count))
		return ESUCCESS
	},
}

// saData returns the sa_data buffer of the sockaddr sa.
func saData(mem api.Memory, sa []byte) ([]byte, bool) {
	n := le.Uint32(sa[4:])
	if n == saDataCrateLen {
		n = saDataCrateCap
	}
	return region(mem, le.Uint32(sa[8:]), n)
}

// putSaData writes port (big endian) and address octets into sa_data, which
// the caller checked is large enough.
func putSaData(data []byte, addr netip.AddrPort) {
	ip := addr.Addr()
	clear(data)
	data[0], data[1] = byte(addr.Port()>>8), byte(addr.Port())
	if ip.Is4() {
		a := ip.As4()
		copy(data[2:], a[:])
	} else {
		a := ip.As16()
		copy(data[2:], a[:])
	}
}

func trimNUL(s string) string {
	if n := len(s); n > 0 && s[n-1] == 0 {
		return s[:n-1]
	}
	return s
}
