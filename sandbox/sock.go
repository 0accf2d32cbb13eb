package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// Sockets (docs/abi.md) are host sockets in the guest's fd table. The host
// fd is always non-blocking; a guest socket without FDFlagNonBlock blocks by
// waiting in ppoll(2) together with the waker, so cancelling the run's
// context interrupts a blocked accept, connect, recv or send (EINTR) just as
// it interrupts poll_oneoff. The network policy (policy.go) is checked
// before any packet leaves: a refused operation is EACCES.

// socket is the state of a kindSocket entry.
type socket struct {
	family     wasi.AddressFamily
	stype      wasi.SocketType
	listening  bool
	connecting bool // a non-blocking connect is in progress
	used       bool // data was sent or received (hTLS must come first)
	tls        *tunnel
}

var _ wasi.Sockets = (*System)(nil)

// sockEntry returns the entry of fd if it is a socket.
func (s *System) sockEntry(fd wasi.FD) (*fdEntry, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return nil, wasi.EBADF
	}
	if e.kind != kindSocket {
		return nil, wasi.ENOTSOCK
	}
	return e, wasi.ESUCCESS
}

func (e *fdEntry) blocking() bool { return e.flags&wasi.FDFlagNonBlock == 0 }

// wait blocks until host fd is ready for events or ctx is cancelled (EINTR).
func (s *System) wait(ctx context.Context, fd int, events int16) wasi.Errno {
	s.watch(ctx)
	for {
		if ctx.Err() != nil {
			return wasi.EINTR
		}
		pfds := append(s.pollFDs[:0],
			unix.PollFd{Fd: int32(fd), Events: events},
			unix.PollFd{Fd: int32(s.wake.fd), Events: unix.POLLIN})
		s.pollFDs = pfds
		_, err := unix.Ppoll(pfds, nil, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return Errno(err)
		}
		if pfds[0].Revents != 0 {
			return wasi.ESUCCESS
		}
		if pfds[1].Revents != 0 && ctx.Err() == nil {
			s.wake.drain() // a late signal for a context no longer watched
		}
	}
}

func newSocketEntry(host int, af wasi.AddressFamily, st wasi.SocketType, flags wasi.FDFlags) *fdEntry {
	ft := wasi.FiletypeSocketStream
	if st == wasi.SockDgram {
		ft = wasi.FiletypeSocketDgram
	}
	return &fdEntry{
		kind: kindSocket, host: host, filetype: ft, base: wasi.SockRights, inherit: wasi.SockRights,
		flags: flags, pollable: true, sock: &socket{family: af, stype: st},
	}
}

// SockOpen implements wasi.Sockets.
func (s *System) SockOpen(ctx context.Context, af wasi.AddressFamily, st wasi.SocketType, proto wasi.Protocol) (wasi.FD, wasi.Errno) {
	var domain, typ int
	switch af {
	case wasi.AFInet:
		domain = unix.AF_INET
	case wasi.AFInet6:
		domain = unix.AF_INET6
	default:
		return 0, wasi.EAFNOSUPPORT
	}
	switch st {
	case wasi.SockAny, wasi.SockStream:
		st, typ = wasi.SockStream, unix.SOCK_STREAM
	case wasi.SockDgram:
		typ = unix.SOCK_DGRAM
	default:
		return 0, wasi.EINVAL
	}
	switch {
	case proto == wasi.ProtoIP:
	case proto == wasi.ProtoTCP && st == wasi.SockStream, proto == wasi.ProtoUDP && st == wasi.SockDgram:
	default:
		return 0, wasi.EPROTONOSUPPORT
	}
	if errno := s.room(); errno != 0 {
		return 0, errno
	}
	fd, err := unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, Errno(err)
	}
	return s.insert(newSocketEntry(fd, af, st, 0)), wasi.ESUCCESS
}

// sockaddr encodes addr for a socket of family af into the scratch raw
// sockaddr: an IPv4 address on an IPv6 socket becomes IPv4-mapped.
func (s *System) sockaddr(af wasi.AddressFamily, addr netip.AddrPort) (unsafe.Pointer, uint32, wasi.Errno) {
	ip := addr.Addr()
	if !ip.IsValid() {
		return nil, 0, wasi.EINVAL
	}
	port := addr.Port()
	switch af {
	case wasi.AFInet:
		ip = ip.Unmap()
		if !ip.Is4() {
			return nil, 0, wasi.EAFNOSUPPORT
		}
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.rsa))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
		return unsafe.Pointer(sa), unix.SizeofSockaddrInet4, wasi.ESUCCESS
	default:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&s.rsa))
		*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()}
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
		return unsafe.Pointer(sa), unix.SizeofSockaddrInet6, wasi.ESUCCESS
	}
}

// addrPort decodes the scratch raw sockaddr. IPv4-mapped addresses of IPv6
// sockets are reported as IPv4.
func (s *System) addrPort() netip.AddrPort {
	switch s.rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port)
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&s.rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}

// sockname reads the local (or peer) address of a host socket.
func (s *System) sockname(fd int, peer bool) (netip.AddrPort, wasi.Errno) {
	trap := uintptr(unix.SYS_GETSOCKNAME)
	if peer {
		trap = unix.SYS_GETPEERNAME
	}
	n := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&s.rsa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return netip.AddrPort{}, fromErrno(e)
	}
	return s.addrPort(), wasi.ESUCCESS
}

// SockBind implements wasi.Sockets. The policy's listen rules apply.
func (s *System) SockBind(ctx context.Context, fd wasi.FD, addr netip.AddrPort) wasi.Errno {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return errno
	}
	if !s.policy.allowListen(addr) {
		return wasi.EACCES
	}
	sa, n, errno := s.sockaddr(e.sock.family, addr)
	if errno != 0 {
		return errno
	}
	_, _, err := unix.Syscall(unix.SYS_BIND, uintptr(e.host), uintptr(sa), uintptr(n))
	return fromErrno(err)
}

// SockListen implements wasi.Sockets. The policy's listen rules apply to
// the socket's local address (port 0 if the kernel is to pick one).
func (s *System) SockListen(ctx context.Context, fd wasi.FD, backlog int32) wasi.Errno {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return errno
	}
	if e.sock.stype != wasi.SockStream {
		return wasi.ENOTSUP
	}
	local, errno := s.sockname(e.host, false)
	if errno != 0 {
		return errno
	}
	if !s.policy.allowListen(local) {
		return wasi.EACCES
	}
	if backlog <= 0 || backlog > 4096 {
		backlog = 4096
	}
	if err := unix.Listen(e.host, int(backlog)); err != nil {
		return Errno(err)
	}
	e.sock.listening = true
	return wasi.ESUCCESS
}

// SockConnect implements wasi.Sockets. A non-blocking stream socket returns
// EINPROGRESS; poll it for writing and read SO_ERROR.
func (s *System) SockConnect(ctx context.Context, fd wasi.FD, addr netip.AddrPort) wasi.Errno {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return errno
	}
	if !s.policy.allowConnect(addr, false) {
		return wasi.EACCES
	}
	sa, n, errno := s.sockaddr(e.sock.family, addr)
	if errno != 0 {
		return errno
	}
	_, _, err := unix.Syscall(unix.SYS_CONNECT, uintptr(e.host), uintptr(sa), uintptr(n))
	if err != unix.EINPROGRESS {
		return fromErrno(err)
	}
	if !e.blocking() {
		e.sock.connecting = true
		return wasi.EINPROGRESS
	}
	return s.finishConnect(ctx, e)
}

// finishConnect waits for a connect in progress and returns its outcome.
func (s *System) finishConnect(ctx context.Context, e *fdEntry) wasi.Errno {
	if errno := s.wait(ctx, e.host, unix.POLLOUT); errno != 0 {
		return errno
	}
	e.sock.connecting = false
	soerr, err := unix.GetsockoptInt(e.host, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return Errno(err)
	}
	return fromErrno(unix.Errno(soerr))
}

// SockAccept implements wasi.System.
func (s *System) SockAccept(ctx context.Context, fd wasi.FD, flags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return 0, errno
	}
	if errno := e.check(wasi.RightSockAccept); errno != 0 {
		return 0, errno
	}
	if flags&^wasi.FDFlagNonBlock != 0 {
		return 0, wasi.EINVAL
	}
	if !e.sock.listening {
		return 0, wasi.EINVAL
	}
	if errno := s.room(); errno != 0 {
		return 0, errno
	}
	for {
		nfd, _, err := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(e.host), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch {
		case err == unix.EINTR || err == unix.ECONNABORTED:
			continue
		case err == unix.EAGAIN && e.blocking():
			if errno := s.wait(ctx, e.host, unix.POLLIN); errno != 0 {
				return 0, errno
			}
			continue
		case err != 0:
			return 0, fromErrno(err)
		}
		ne := newSocketEntry(int(nfd), e.sock.family, wasi.SockStream, flags)
		ne.base &^= wasi.RightSockAccept
		return s.insert(ne), wasi.ESUCCESS
	}
}

// msgIO runs recvmsg or sendmsg (trap) with bufs and the given flags and
// name (nil for none), waiting while a blocking socket would block.
func (s *System) msgIO(ctx context.Context, e *fdEntry, trap uintptr, bufs [][]byte, flags int, name unsafe.Pointer, namelen uint32) (int, int, wasi.Errno) {
	e.sock.used = true
	events := int16(unix.POLLIN)
	if trap == unix.SYS_SENDMSG {
		events = unix.POLLOUT
		flags |= unix.MSG_NOSIGNAL
	}
	for {
		iov := s.iovecs(bufs)
		s.msg = unix.Msghdr{Name: (*byte)(name), Namelen: namelen}
		if len(iov) > 0 {
			s.msg.Iov = &iov[0]
			s.msg.SetIovlen(len(iov))
		}
		n, _, err := unix.Syscall(trap, uintptr(e.host), uintptr(unsafe.Pointer(&s.msg)), uintptr(flags))
		s.release(iov)
		rflags := int(s.msg.Flags)
		s.msg = unix.Msghdr{}
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && e.blocking():
			if errno := s.wait(ctx, e.host, events); errno != 0 {
				return 0, 0, errno
			}
			continue
		case err != 0:
			return 0, 0, fromErrno(err)
		}
		return int(n), rflags, wasi.ESUCCESS
	}
}

func recvFlags(flags wasi.RIFlags) (int, wasi.Errno) {
	if flags&^(wasi.RecvPeek|wasi.RecvWaitAll) != 0 {
		return 0, wasi.EINVAL
	}
	f := 0
	if flags&wasi.RecvPeek != 0 {
		f |= unix.MSG_PEEK
	}
	if flags&wasi.RecvWaitAll != 0 {
		f |= unix.MSG_WAITALL
	}
	return f, wasi.ESUCCESS
}

// recv receives into bufs. MSG_WAITALL on a blocking stream socket keeps
// receiving until bufs are full or the peer closes.
func (s *System) recv(ctx context.Context, e *fdEntry, bufs [][]byte, flags int) (int, int, wasi.Errno) {
	n, rflags, errno := s.msgIO(ctx, e, unix.SYS_RECVMSG, bufs, flags, nil, 0)
	if errno != 0 || flags&unix.MSG_WAITALL == 0 || !e.blocking() || e.sock.stype != wasi.SockStream {
		return n, rflags, errno
	}
	total, want := n, totalLen(bufs)
	for n > 0 && total < want {
		rest := s.skip(bufs, total)
		n, _, errno = s.msgIO(ctx, e, unix.SYS_RECVMSG, rest, flags, nil, 0)
		if errno != 0 {
			return total, rflags, wasi.ESUCCESS // report what arrived
		}
		total += n
	}
	return total, rflags, wasi.ESUCCESS
}

// skip returns bufs past their first n bytes, in the scratch slice.
func (s *System) skip(bufs [][]byte, n int) [][]byte {
	rest := s.bufs[:0]
	for _, b := range bufs {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		rest = append(rest, b[n:])
		n = 0
	}
	s.bufs = rest
	return rest
}

func roflags(rflags int) wasi.ROFlags {
	if rflags&unix.MSG_TRUNC != 0 {
		return wasi.RecvDataTruncated
	}
	return 0
}

// SockRecv implements wasi.System.
func (s *System) SockRecv(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.RIFlags) (wasi.Size, wasi.ROFlags, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return 0, 0, errno
	}
	if errno := e.check(wasi.RightFDRead); errno != 0 {
		return 0, 0, errno
	}
	f, errno := recvFlags(flags)
	if errno != 0 {
		return 0, 0, errno
	}
	n, rflags, errno := s.recv(ctx, e, iovs, f)
	return wasi.Size(n), roflags(rflags), errno
}

// SockSend implements wasi.System.
func (s *System) SockSend(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.SIFlags) (wasi.Size, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return 0, errno
	}
	if errno := e.check(wasi.RightFDWrite); errno != 0 {
		return 0, errno
	}
	if flags != 0 {
		return 0, wasi.EINVAL
	}
	n, _, errno := s.msgIO(ctx, e, unix.SYS_SENDMSG, iovs, 0, nil, 0)
	return wasi.Size(n), errno
}

// SockRecvFrom implements wasi.Sockets. The source of a connected stream
// socket's data is its peer.
func (s *System) SockRecvFrom(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.RIFlags) (wasi.Size, wasi.ROFlags, netip.AddrPort, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return 0, 0, netip.AddrPort{}, errno
	}
	if errno := e.check(wasi.RightFDRead); errno != 0 {
		return 0, 0, netip.AddrPort{}, errno
	}
	f, errno := recvFlags(flags)
	if errno != 0 {
		return 0, 0, netip.AddrPort{}, errno
	}
	if e.sock.stype == wasi.SockStream {
		n, rflags, errno := s.recv(ctx, e, iovs, f)
		if errno != 0 {
			return 0, 0, netip.AddrPort{}, errno
		}
		peer, _ := s.SockPeerAddr(ctx, fd)
		return wasi.Size(n), roflags(rflags), peer, wasi.ESUCCESS
	}
	s.rsa = unix.RawSockaddrAny{}
	n, rflags, errno := s.msgIO(ctx, e, unix.SYS_RECVMSG, iovs, f, unsafe.Pointer(&s.rsa), unix.SizeofSockaddrAny)
	if errno != 0 {
		return 0, 0, netip.AddrPort{}, errno
	}
	return wasi.Size(n), roflags(rflags), s.addrPort(), wasi.ESUCCESS
}

// SockSendTo implements wasi.Sockets. The policy's connect rules apply to
// the destination.
func (s *System) SockSendTo(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.SIFlags, addr netip.AddrPort) (wasi.Size, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return 0, errno
	}
	if errno := e.check(wasi.RightFDWrite); errno != 0 {
		return 0, errno
	}
	if flags != 0 {
		return 0, wasi.EINVAL
	}
	if e.sock.stype == wasi.SockStream {
		return s.SockSend(ctx, fd, iovs, flags) // the address is ignored, as by sendto(2)
	}
	if !s.policy.allowConnect(addr, false) {
		return 0, wasi.EACCES
	}
	sa, n, errno := s.sockaddr(e.sock.family, addr)
	if errno != 0 {
		return 0, errno
	}
	sent, _, errno := s.msgIO(ctx, e, unix.SYS_SENDMSG, iovs, 0, sa, n)
	return wasi.Size(sent), errno
}

// SockShutdown implements wasi.System.
func (s *System) SockShutdown(ctx context.Context, fd wasi.FD, flags wasi.SDFlags) wasi.Errno {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return errno
	}
	if errno := e.check(wasi.RightSockShutdown); errno != 0 {
		return errno
	}
	var how int
	switch flags {
	case wasi.ShutdownRD:
		how = unix.SHUT_RD
	case wasi.ShutdownWR:
		how = unix.SHUT_WR
	case wasi.ShutdownRD | wasi.ShutdownWR:
		how = unix.SHUT_RDWR
	default:
		return wasi.EINVAL
	}
	return Errno(unix.Shutdown(e.host, how))
}

// SockLocalAddr implements wasi.Sockets.
func (s *System) SockLocalAddr(ctx context.Context, fd wasi.FD) (netip.AddrPort, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return netip.AddrPort{}, errno
	}
	if t := e.sock.tls; t != nil {
		return t.local, wasi.ESUCCESS
	}
	return s.sockname(e.host, false)
}

// SockPeerAddr implements wasi.Sockets.
func (s *System) SockPeerAddr(ctx context.Context, fd wasi.FD) (netip.AddrPort, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return netip.AddrPort{}, errno
	}
	if t := e.sock.tls; t != nil {
		return t.peer, wasi.ESUCCESS
	}
	return s.sockname(e.host, true)
}

// sockRead and sockWrite serve fd_read and fd_write on sockets.
func (s *System) sockRead(ctx context.Context, e *fdEntry, iovs [][]byte) (wasi.Size, wasi.Errno) {
	n, _, errno := s.msgIO(ctx, e, unix.SYS_RECVMSG, iovs, 0, nil, 0)
	return wasi.Size(n), errno
}

func (s *System) sockWrite(ctx context.Context, e *fdEntry, iovs [][]byte) (wasi.Size, wasi.Errno) {
	n, _, errno := s.msgIO(ctx, e, unix.SYS_SENDMSG, iovs, 0, nil, 0)
	return wasi.Size(n), errno
}

// Integer options and their host equivalents.
var intOpts = map[[2]uint32][2]int{
	{uint32(wasi.SolSocket), uint32(wasi.SoReuseAddr)}:  {unix.SOL_SOCKET, unix.SO_REUSEADDR},
	{uint32(wasi.SolSocket), uint32(wasi.SoType)}:       {unix.SOL_SOCKET, unix.SO_TYPE},
	{uint32(wasi.SolSocket), uint32(wasi.SoError)}:      {unix.SOL_SOCKET, unix.SO_ERROR},
	{uint32(wasi.SolSocket), uint32(wasi.SoDontRoute)}:  {unix.SOL_SOCKET, unix.SO_DONTROUTE},
	{uint32(wasi.SolSocket), uint32(wasi.SoBroadcast)}:  {unix.SOL_SOCKET, unix.SO_BROADCAST},
	{uint32(wasi.SolSocket), uint32(wasi.SoSndBuf)}:     {unix.SOL_SOCKET, unix.SO_SNDBUF},
	{uint32(wasi.SolSocket), uint32(wasi.SoRcvBuf)}:     {unix.SOL_SOCKET, unix.SO_RCVBUF},
	{uint32(wasi.SolSocket), uint32(wasi.SoKeepAlive)}:  {unix.SOL_SOCKET, unix.SO_KEEPALIVE},
	{uint32(wasi.SolSocket), uint32(wasi.SoOOBInline)}:  {unix.SOL_SOCKET, unix.SO_OOBINLINE},
	{uint32(wasi.SolSocket), uint32(wasi.SoRcvLowat)}:   {unix.SOL_SOCKET, unix.SO_RCVLOWAT},
	{uint32(wasi.SolSocket), uint32(wasi.SoAcceptConn)}: {unix.SOL_SOCKET, unix.SO_ACCEPTCONN},
	{uint32(wasi.SolTCP), uint32(wasi.TCPNoDelay)}:      {unix.IPPROTO_TCP, unix.TCP_NODELAY},
	{uint32(wasi.SolTCP), uint32(wasi.TCPKeepIdle)}:     {unix.IPPROTO_TCP, unix.TCP_KEEPIDLE},
	{uint32(wasi.SolTCP), uint32(wasi.TCPKeepIntvl)}:    {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL},
	{uint32(wasi.SolTCP), uint32(wasi.TCPKeepCnt)}:      {unix.IPPROTO_TCP, unix.TCP_KEEPCNT},
	{uint32(wasi.SolIPv6), uint32(wasi.IPv6V6Only)}:     {unix.IPPROTO_IPV6, unix.IPV6_V6ONLY},
}

// getOnly are the options that can be read but not set.
func getOnly(level wasi.SockOptLevel, name wasi.SockOpt) bool {
	return level == wasi.SolSocket && (name == wasi.SoType || name == wasi.SoError || name == wasi.SoAcceptConn)
}

// SockGetOpt implements wasi.Sockets. SO_TYPE answers in WASI socket types
// and SO_ERROR in WASI errnos.
func (s *System) SockGetOpt(ctx context.Context, fd wasi.FD, level wasi.SockOptLevel, name wasi.SockOpt, value []byte) (int, wasi.Errno) {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return 0, errno
	}
	host, ok := intOpts[[2]uint32{uint32(level), uint32(name)}]
	if !ok {
		return 0, wasi.ENOPROTOOPT
	}
	if len(value) < 4 {
		return 0, wasi.EINVAL
	}
	var v int
	switch {
	case level == wasi.SolSocket && name == wasi.SoType:
		v = int(e.sock.stype)
	case level == wasi.SolSocket && name == wasi.SoError:
		soerr, err := unix.GetsockoptInt(e.host, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return 0, Errno(err)
		}
		if e.sock.connecting && (soerr != 0 || s.ready(e.host, unix.POLLOUT)) {
			e.sock.connecting = false // the guest's wait for a connect is over
		}
		v = int(fromErrno(unix.Errno(soerr)))
	default:
		var err error
		v, err = unix.GetsockoptInt(e.host, host[0], host[1])
		if err != nil {
			return 0, Errno(err)
		}
	}
	binary.LittleEndian.PutUint32(value, uint32(int32(v)))
	return 4, wasi.ESUCCESS
}

// SockSetOpt implements wasi.Sockets, including host TLS offload.
func (s *System) SockSetOpt(ctx context.Context, fd wasi.FD, level wasi.SockOptLevel, name wasi.SockOpt, value []byte) wasi.Errno {
	e, errno := s.sockEntry(fd)
	if errno != 0 {
		return errno
	}
	if level == wasi.SolTimelake && name == wasi.HTLSServerName {
		return s.startTLS(ctx, e, value)
	}
	host, ok := intOpts[[2]uint32{uint32(level), uint32(name)}]
	if !ok || getOnly(level, name) {
		return wasi.ENOPROTOOPT
	}
	if len(value) != 4 {
		return wasi.EINVAL
	}
	v := int(int32(binary.LittleEndian.Uint32(value)))
	return Errno(unix.SetsockoptInt(e.host, host[0], host[1], v))
}

// SockAddrInfo implements wasi.Sockets: the host resolves node and service.
// Results of a non-passive query that the policy would not let the guest
// connect to are dropped; if that drops them all, the answer is EACCES.
func (s *System) SockAddrInfo(ctx context.Context, node, service string, hints wasi.AddrInfo, results []wasi.AddrInfo) (int, wasi.Errno) {
	if node == "" && service == "" || len(results) == 0 {
		return 0, wasi.EINVAL
	}
	var network string
	switch hints.Family {
	case wasi.AFUnspec:
		network = "ip"
	case wasi.AFInet:
		network = "ip4"
	case wasi.AFInet6:
		network = "ip6"
	default:
		return 0, wasi.EAFNOSUPPORT
	}
	var types []wasi.SocketType
	switch hints.SockType {
	case wasi.SockAny:
		types = []wasi.SocketType{wasi.SockStream, wasi.SockDgram}
	case wasi.SockStream, wasi.SockDgram:
		types = []wasi.SocketType{hints.SockType}
	default:
		return 0, wasi.EINVAL
	}
	port, errno := lookupService(ctx, service, hints)
	if errno != 0 {
		return 0, errno
	}
	passive := hints.Flags&wasi.AIPassive != 0
	var ips []netip.Addr
	switch {
	case node == "" && passive:
		ips = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	case node == "":
		ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	default:
		if ip, err := netip.ParseAddr(node); err == nil {
			ips = []netip.Addr{ip.Unmap()}
		} else if hints.Flags&wasi.AINumericHost != 0 {
			return 0, wasi.EINVAL
		} else {
			found, err := net.DefaultResolver.LookupNetIP(ctx, "ip", node)
			var dnsErr *net.DNSError
			switch {
			case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
				return 0, wasi.ENOENT
			case err != nil:
				return 0, wasi.EIO
			}
			for _, ip := range found {
				ips = append(ips, ip.Unmap())
			}
		}
	}
	n, denied := 0, false
	for _, ip := range ips {
		if network == "ip4" && !ip.Is4() || network == "ip6" && !ip.Is6() {
			continue
		}
		addr := netip.AddrPortFrom(ip, port)
		if !passive && !s.policy.allowConnect(addr, service == "") {
			denied = true
			continue
		}
		for _, t := range types {
			if n == len(results) {
				return n, wasi.ESUCCESS
			}
			proto := wasi.ProtoTCP
			if t == wasi.SockDgram {
				proto = wasi.ProtoUDP
			}
			results[n] = wasi.AddrInfo{Family: wasi.FamilyOf(ip), SockType: t, Protocol: proto, Addr: addr}
			n++
		}
	}
	if n == 0 && denied {
		return 0, wasi.EACCES
	}
	if n == 0 {
		return 0, wasi.ENOENT
	}
	return n, wasi.ESUCCESS
}

func lookupService(ctx context.Context, service string, hints wasi.AddrInfo) (uint16, wasi.Errno) {
	if service == "" {
		return 0, wasi.ESUCCESS
	}
	if p, err := strconv.ParseUint(service, 10, 16); err == nil {
		return uint16(p), wasi.ESUCCESS
	}
	if hints.Flags&wasi.AINumericServ != 0 {
		return 0, wasi.EINVAL
	}
	network := "tcp"
	if hints.SockType == wasi.SockDgram {
		network = "udp"
	}
	p, err := net.DefaultResolver.LookupPort(ctx, network, service)
	if err != nil {
		return 0, wasi.EINVAL
	}
	return uint16(p), wasi.ESUCCESS
}

// preopenListener opens a listening TCP socket for Config.Listen.
func preopenListener(spec string) (*fdEntry, error) {
	tcp, err := net.ResolveTCPAddr("tcp", spec)
	if err != nil {
		return nil, err
	}
	ip, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		ip = netip.IPv6Unspecified() // ":PORT" listens on every address
	}
	ip = ip.Unmap()
	af, domain := wasi.AFInet6, unix.AF_INET6
	if ip.Is4() {
		af, domain = wasi.AFInet, unix.AF_INET
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	var sa unix.Sockaddr
	if ip.Is4() {
		sa = &unix.SockaddrInet4{Addr: ip.As4(), Port: tcp.Port}
	} else {
		sa = &unix.SockaddrInet6{Addr: ip.As16(), Port: tcp.Port}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("setsockopt: %w", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listen: %w", err)
	}
	e := newSocketEntry(fd, af, wasi.SockStream, wasi.FDFlagNonBlock)
	e.sock.listening = true
	return e, nil
}
