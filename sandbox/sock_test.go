package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/timelake/timelake/wasi"
)

// loopback is a policy allowing every loopback connection and listener.
var loopback = NetPolicy{
	Connect: []string{"127.0.0.0/8", "::1"},
	Listen:  []string{"127.0.0.1:0", "[::1]:0"},
}

func netSystem(t *testing.T, p NetPolicy) *System {
	t.Helper()
	return newSystem(t, Config{Net: p})
}

func ok(t *testing.T, what string, errno wasi.Errno) {
	t.Helper()
	if errno != wasi.ESUCCESS {
		t.Fatalf("%s: %s", what, errno.Name())
	}
}

func family(a netip.Addr) wasi.AddressFamily { return wasi.FamilyOf(a) }

// listenOn opens a guest listener on addr (port 0) and returns its fd and
// the address the kernel picked.
func listenOn(t *testing.T, s *System, ip netip.Addr) (wasi.FD, netip.AddrPort) {
	t.Helper()
	fd, errno := s.SockOpen(bg, family(ip), wasi.SockStream, wasi.ProtoIP)
	ok(t, "sock_open", errno)
	ok(t, "sock_bind", s.SockBind(bg, fd, netip.AddrPortFrom(ip, 0)))
	ok(t, "sock_listen", s.SockListen(bg, fd, 16))
	addr, errno := s.SockLocalAddr(bg, fd)
	ok(t, "sock_getlocaladdr", errno)
	if addr.Addr() != ip || addr.Port() == 0 {
		t.Fatalf("listener address %v", addr)
	}
	return fd, addr
}

func TestTCPEcho(t *testing.T) {
	for _, ip := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		t.Run(ip.String(), func(t *testing.T) {
			s := netSystem(t, loopback)
			lfd, laddr := listenOn(t, s, ip)
			cfd, errno := s.SockOpen(bg, family(ip), wasi.SockStream, wasi.ProtoTCP)
			ok(t, "sock_open", errno)
			ok(t, "sock_connect", s.SockConnect(bg, cfd, laddr))
			afd, errno := s.SockAccept(bg, lfd, 0)
			ok(t, "sock_accept", errno)

			st, errno := s.FDStatGet(bg, afd)
			ok(t, "fd_fdstat_get", errno)
			if st.Filetype != wasi.FiletypeSocketStream || st.Flags != 0 {
				t.Errorf("accepted fdstat %+v", st)
			}
			peer, errno := s.SockPeerAddr(bg, cfd)
			ok(t, "sock_getpeeraddr", errno)
			if peer != laddr {
				t.Errorf("peer %v, want %v", peer, laddr)
			}
			local, _ := s.SockLocalAddr(bg, cfd)
			if apeer, _ := s.SockPeerAddr(bg, afd); apeer != local {
				t.Errorf("accepted peer %v, client local %v", apeer, local)
			}

			// Client writes with fd_write in two iovecs, server reads with
			// sock_recv (WAITALL: all 13 bytes), echoes with sock_send, client
			// reads with fd_read.
			n, errno := s.FDWrite(bg, cfd, [][]byte{[]byte("hello, "), []byte("socket")})
			ok(t, "fd_write", errno)
			if n != 13 {
				t.Fatalf("fd_write wrote %d", n)
			}
			buf := make([]byte, 13)
			got, _, errno := s.SockRecv(bg, afd, [][]byte{buf[:4], buf[4:]}, wasi.RecvWaitAll)
			ok(t, "sock_recv", errno)
			if string(buf[:got]) != "hello, socket" {
				t.Fatalf("server got %q", buf[:got])
			}
			sent, errno := s.SockSend(bg, afd, [][]byte{buf}, 0)
			ok(t, "sock_send", errno)
			back := make([]byte, 64)
			rn, errno := s.FDRead(bg, cfd, [][]byte{back})
			ok(t, "fd_read", errno)
			if sent != 13 || string(back[:rn]) != "hello, socket" {
				t.Errorf("echo %q (sent %d)", back[:rn], sent)
			}

			// Shutdown of the client's write side is end of file on the server.
			ok(t, "sock_shutdown", s.SockShutdown(bg, cfd, wasi.ShutdownWR))
			eof, _, errno := s.SockRecv(bg, afd, [][]byte{buf}, 0)
			if errno != 0 || eof != 0 {
				t.Errorf("after shutdown: recv %d %s, want 0 ESUCCESS", eof, errno.Name())
			}
			for _, fd := range []wasi.FD{cfd, afd, lfd} {
				ok(t, "fd_close", s.FDClose(bg, fd))
			}
			wantErrno(t, "recv on closed fd", func() wasi.Errno { _, _, e := s.SockRecv(bg, cfd, [][]byte{buf}, 0); return e }(), wasi.EBADF)
		})
	}
}

func TestUDPSendToRecvFrom(t *testing.T) {
	for _, ip := range []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()} {
		t.Run(ip.String(), func(t *testing.T) {
			s := netSystem(t, loopback)
			server, errno := s.SockOpen(bg, family(ip), wasi.SockDgram, wasi.ProtoUDP)
			ok(t, "sock_open", errno)
			ok(t, "sock_bind", s.SockBind(bg, server, netip.AddrPortFrom(ip, 0)))
			saddr, _ := s.SockLocalAddr(bg, server)
			client, errno := s.SockOpen(bg, family(ip), wasi.SockDgram, wasi.ProtoIP)
			ok(t, "sock_open", errno)
			st, _ := s.FDStatGet(bg, client)
			if st.Filetype != wasi.FiletypeSocketDgram {
				t.Errorf("filetype %v", st.Filetype)
			}
			n, errno := s.SockSendTo(bg, client, [][]byte{[]byte("ping")}, 0, saddr)
			ok(t, "sock_send_to", errno)
			if n != 4 {
				t.Errorf("sent %d", n)
			}
			buf := make([]byte, 2) // too small: truncated
			n, ro, from, errno := s.SockRecvFrom(bg, server, [][]byte{buf}, 0)
			ok(t, "sock_recv_from", errno)
			local, _ := s.SockLocalAddr(bg, client) // the wildcard address, auto-bound
			caddr := netip.AddrPortFrom(ip, local.Port())
			if n != 2 || string(buf) != "pi" || ro != wasi.RecvDataTruncated || from != caddr {
				t.Errorf("recv_from = %d %q %v from %v, want 2 \"pi\" truncated from %v", n, buf, ro, from, caddr)
			}
			// And back, through the source address.
			_, errno = s.SockSendTo(bg, server, [][]byte{[]byte("pong")}, 0, from)
			ok(t, "sock_send_to", errno)
			big := make([]byte, 16)
			n, ro, from, errno = s.SockRecvFrom(bg, client, [][]byte{big}, 0)
			ok(t, "sock_recv_from", errno)
			if string(big[:n]) != "pong" || ro != 0 || from != saddr {
				t.Errorf("reply %q %v from %v", big[:n], ro, from)
			}
		})
	}
}

// pollEvents runs one poll_oneoff with the given subscriptions and returns the
// events.
func pollEvents(t *testing.T, s *System, subs ...wasi.Subscription) []wasi.Event {
	t.Helper()
	events := make([]wasi.Event, len(subs))
	n, errno := s.PollOneOff(bg, subs, events)
	ok(t, "poll_oneoff", errno)
	return events[:n]
}

func TestNonBlockingConnectAndPoll(t *testing.T) {
	s := netSystem(t, loopback)
	lfd, laddr := listenOn(t, s, netip.MustParseAddr("127.0.0.1"))
	ok(t, "set nonblock", s.FDStatSetFlags(bg, lfd, wasi.FDFlagNonBlock))
	_, errno := s.SockAccept(bg, lfd, 0)
	wantErrno(t, "accept with no client", errno, wasi.EAGAIN)

	cfd, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockStream, wasi.ProtoIP)
	ok(t, "set nonblock", s.FDStatSetFlags(bg, cfd, wasi.FDFlagNonBlock))
	errno = s.SockConnect(bg, cfd, laddr)
	if errno != wasi.EINPROGRESS && errno != wasi.ESUCCESS {
		t.Fatalf("nonblocking connect: %s", errno.Name())
	}
	ev := pollEvents(t, s, wasi.Subscription{UserData: 7, EventType: wasi.EventTypeFDWrite, FD: cfd})
	if len(ev) != 1 || ev[0].UserData != 7 || ev[0].Errno != 0 {
		t.Fatalf("poll for connect: %+v", ev)
	}
	v := make([]byte, 4)
	_, errno = s.SockGetOpt(bg, cfd, wasi.SolSocket, wasi.SoError, v)
	ok(t, "SO_ERROR", errno)
	if binary.LittleEndian.Uint32(v) != 0 {
		t.Fatalf("SO_ERROR %d", binary.LittleEndian.Uint32(v))
	}

	// The listener is now readable and accepts a non-blocking socket.
	ev = pollEvents(t, s, wasi.Subscription{UserData: 1, EventType: wasi.EventTypeFDRead, FD: lfd})
	if len(ev) != 1 || ev[0].UserData != 1 {
		t.Fatalf("poll listener: %+v", ev)
	}
	afd, errno := s.SockAccept(bg, lfd, wasi.FDFlagNonBlock)
	ok(t, "sock_accept", errno)
	st, _ := s.FDStatGet(bg, afd)
	if st.Flags != wasi.FDFlagNonBlock {
		t.Errorf("accepted flags %v", st.Flags)
	}

	// Nothing to read yet: EAGAIN, and a poll with a clock returns the clock.
	buf := make([]byte, 16)
	_, errno = s.FDRead(bg, afd, [][]byte{buf})
	wantErrno(t, "read with no data", errno, wasi.EAGAIN)
	ev = pollEvents(t, s,
		wasi.Subscription{UserData: 1, EventType: wasi.EventTypeFDRead, FD: afd},
		wasi.Subscription{UserData: 2, EventType: wasi.EventTypeClock, ClockID: wasi.ClockMonotonic, Timeout: 1e6})
	if len(ev) != 1 || ev[0].UserData != 2 {
		t.Fatalf("poll with nothing to read: %+v", ev)
	}
	_, errno = s.SockSend(bg, cfd, [][]byte{[]byte("ready")}, 0)
	ok(t, "sock_send", errno)
	ev = pollEvents(t, s, wasi.Subscription{UserData: 1, EventType: wasi.EventTypeFDRead, FD: afd})
	if len(ev) != 1 || ev[0].UserData != 1 || ev[0].NBytes != 5 {
		t.Fatalf("poll after send: %+v", ev)
	}
	n, _, errno := s.SockRecv(bg, afd, [][]byte{buf}, wasi.RecvPeek)
	ok(t, "peek", errno)
	m, errno := s.FDRead(bg, afd, [][]byte{buf[:2], buf[2:]})
	ok(t, "fd_read", errno)
	if n != 5 || m != 5 || string(buf[:5]) != "ready" {
		t.Errorf("peek %d, read %d %q", n, m, buf[:m])
	}
	// The peer closes: the reader sees end of file.
	ok(t, "close", s.FDClose(bg, cfd))
	n, errno = s.FDRead(bg, afd, [][]byte{buf})
	if errno != 0 || n != 0 {
		t.Errorf("read after peer close: %d %s", n, errno.Name())
	}
}

func TestConnectRefusedAndCancelled(t *testing.T) {
	s := netSystem(t, loopback)
	// A port nobody listens on: bind a listener, note its port, close it.
	lfd, laddr := listenOn(t, s, netip.MustParseAddr("127.0.0.1"))
	s.FDClose(bg, lfd)
	cfd, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockStream, wasi.ProtoIP)
	wantErrno(t, "connect to a closed port", s.SockConnect(bg, cfd, laddr), wasi.ECONNREFUSED)

	// A blocking accept with a cancelled context returns at once.
	lfd, _ = listenOn(t, s, netip.MustParseAddr("127.0.0.1"))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, errno := s.SockAccept(ctx, lfd, 0)
	wantErrno(t, "accept with a cancelled context", errno, wasi.EINTR)
	_, errno = s.SockAccept(bg, 1, 0)
	wantErrno(t, "accept on stdout", errno, wasi.ENOTSOCK)
	_, errno = s.SockAccept(bg, 99, 0)
	wantErrno(t, "accept on a free fd", errno, wasi.EBADF)
}

func TestSockOpts(t *testing.T) {
	s := netSystem(t, loopback)
	fd, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockStream, wasi.ProtoIP)
	i32 := func(v int32) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
	get := func(level wasi.SockOptLevel, name wasi.SockOpt) int32 {
		t.Helper()
		v := make([]byte, 8)
		n, errno := s.SockGetOpt(bg, fd, level, name, v)
		ok(t, "getsockopt", errno)
		if n != 4 {
			t.Fatalf("getsockopt wrote %d bytes", n)
		}
		return int32(binary.LittleEndian.Uint32(v))
	}
	tests := []struct {
		name  string
		level wasi.SockOptLevel
		opt   wasi.SockOpt
		set   int32
		want  func(int32) bool
	}{
		{"SO_REUSEADDR", wasi.SolSocket, wasi.SoReuseAddr, 1, func(v int32) bool { return v == 1 }},
		{"SO_RCVBUF", wasi.SolSocket, wasi.SoRcvBuf, 65536, func(v int32) bool { return v >= 65536 }}, // Linux doubles it
		{"SO_KEEPALIVE", wasi.SolSocket, wasi.SoKeepAlive, 1, func(v int32) bool { return v == 1 }},
		{"TCP_NODELAY", wasi.SolTCP, wasi.TCPNoDelay, 1, func(v int32) bool { return v == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok(t, "setsockopt", s.SockSetOpt(bg, fd, tt.level, tt.opt, i32(tt.set)))
			if v := get(tt.level, tt.opt); !tt.want(v) {
				t.Errorf("%s = %d after setting %d", tt.name, v, tt.set)
			}
		})
	}
	if v := get(wasi.SolSocket, wasi.SoType); v != int32(wasi.SockStream) {
		t.Errorf("SO_TYPE %d", v)
	}
	for _, c := range []struct {
		name  string
		level wasi.SockOptLevel
		opt   wasi.SockOpt
		value []byte
		want  wasi.Errno
	}{
		{"unknown level", 99, 1, i32(1), wasi.ENOPROTOOPT},
		{"SO_RCVTIMEO", wasi.SolSocket, wasi.SoRcvTimeo, make([]byte, 16), wasi.ENOPROTOOPT},
		{"SO_TYPE is read only", wasi.SolSocket, wasi.SoType, i32(1), wasi.ENOPROTOOPT},
		{"short value", wasi.SolSocket, wasi.SoReuseAddr, []byte{1}, wasi.EINVAL},
		{"hTLS on an unconnected socket", wasi.SolTimelake, wasi.HTLSServerName, []byte("x"), wasi.ENOTCONN},
	} {
		wantErrno(t, c.name, s.SockSetOpt(bg, fd, c.level, c.opt, c.value), c.want)
	}
}

func TestAddrInfo(t *testing.T) {
	results := make([]wasi.AddrInfo, 8)
	s := netSystem(t, NetPolicy{Connect: []string{"127.0.0.1:80"}})
	n, errno := s.SockAddrInfo(bg, "localhost", "80", wasi.AddrInfo{Family: wasi.AFInet, SockType: wasi.SockStream}, results)
	ok(t, "getaddrinfo localhost allowed", errno)
	want := wasi.AddrInfo{Family: wasi.AFInet, SockType: wasi.SockStream, Protocol: wasi.ProtoTCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")}
	if n != 1 || results[0] != want {
		t.Errorf("results %+v, want [%+v]", results[:n], want)
	}
	n, errno = s.SockAddrInfo(bg, "127.0.0.1", "http", wasi.AddrInfo{}, results)
	ok(t, "numeric host, named service", errno)
	if n != 2 || results[0].SockType != wasi.SockStream || results[1].Protocol != wasi.ProtoUDP || results[0].Addr.Port() != 80 {
		t.Errorf("results %+v", results[:n])
	}
	for _, c := range []struct {
		name          string
		node, service string
		hints         wasi.AddrInfo
		want          wasi.Errno
	}{
		{"name resolving to loopback on another port", "localhost", "81", wasi.AddrInfo{Family: wasi.AFInet}, wasi.EACCES},
		{"private address", "10.1.2.3", "80", wasi.AddrInfo{}, wasi.EACCES},
		{"empty query", "", "", wasi.AddrInfo{}, wasi.EINVAL},
		{"numeric host flag with a name", "localhost", "80", wasi.AddrInfo{Flags: wasi.AINumericHost}, wasi.EINVAL},
		{"unknown service", "127.0.0.1", "no-such-service", wasi.AddrInfo{}, wasi.EINVAL},
		{"unknown name", "no-such-host.invalid", "80", wasi.AddrInfo{}, wasi.ENOENT},
	} {
		_, errno := s.SockAddrInfo(bg, c.node, c.service, c.hints, results)
		wantErrno(t, c.name, errno, c.want)
	}
	// Without any rule, localhost is refused after resolution.
	_, errno = netSystem(t, NetPolicy{}).SockAddrInfo(bg, "localhost", "80", wasi.AddrInfo{}, results)
	wantErrno(t, "localhost without a rule", errno, wasi.EACCES)
}

func TestListenPreopen(t *testing.T) {
	s := newSystem(t, Config{Listen: []string{"127.0.0.1:0"}})
	const fd = 3
	st, errno := s.FDStatGet(bg, fd)
	ok(t, "fd_fdstat_get", errno)
	if st.Filetype != wasi.FiletypeSocketStream || st.Flags != wasi.FDFlagNonBlock || !st.RightsBase.Has(wasi.RightSockAccept) {
		t.Fatalf("preopened listener fdstat %+v", st)
	}
	addr, errno := s.SockLocalAddr(bg, fd)
	ok(t, "sock_getlocaladdr", errno)
	_, errno = s.SockAccept(bg, fd, 0)
	wantErrno(t, "accept before any client", errno, wasi.EAGAIN)

	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ev := pollEvents(t, s, wasi.Subscription{EventType: wasi.EventTypeFDRead, FD: fd})
	if len(ev) != 1 {
		t.Fatalf("poll: %+v", ev)
	}
	afd, errno := s.SockAccept(bg, fd, 0)
	ok(t, "sock_accept", errno)
	if _, err := conn.Write([]byte("from the host")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 13)
	n, _, errno := s.SockRecv(bg, afd, [][]byte{buf}, wasi.RecvWaitAll)
	ok(t, "sock_recv", errno)
	if string(buf[:n]) != "from the host" {
		t.Errorf("got %q", buf[:n])
	}
}

func TestPolicy(t *testing.T) {
	type check struct {
		addr string
		want bool
	}
	tests := []struct {
		name   string
		rules  []string
		checks []check
	}{
		{"no rule", nil, []check{{"93.184.216.34:80", false}, {"127.0.0.1:80", false}}},
		{"star is public only", []string{"*"}, []check{
			{"93.184.216.34:443", true}, {"[2606:4700::1111]:53", true},
			{"127.0.0.1:80", false}, {"[::1]:80", false}, {"10.1.2.3:80", false}, {"172.16.0.1:80", false},
			{"192.168.1.1:80", false}, {"[fd12::1]:80", false}, {"169.254.169.254:80", false},
			{"[fe80::1]:80", false}, {"100.100.100.200:80", false}, {"[fd00:ec2::254]:80", false},
			{"0.0.0.0:80", false}, {"[::ffff:127.0.0.1]:80", false}, {"[::ffff:93.184.216.34]:80", true},
		}},
		{"star with port", []string{"*:443"}, []check{{"93.184.216.34:443", true}, {"93.184.216.34:80", false}}},
		{"loopback address and port", []string{"127.0.0.1:8080"}, []check{
			{"127.0.0.1:8080", true}, {"127.0.0.1:8081", false}, {"127.0.0.2:8080", false}, {"[::ffff:127.0.0.1]:8080", true}}},
		{"private CIDR", []string{"10.0.0.0/8"}, []check{{"10.9.8.7:22", true}, {"11.0.0.1:22", false}}},
		{"private CIDR with port", []string{"[fd00::/8]:443", "192.168.0.0/16:80"}, []check{
			{"[fd12::1]:443", true}, {"[fd12::1]:80", false}, {"192.168.3.4:80", true}, {"192.168.3.4:443", false}}},
		{"everything CIDR stays public", []string{"0.0.0.0/0"}, []check{{"93.184.216.34:1", true}, {"127.0.0.1:1", false}}},
		{"link-local range does not cover metadata", []string{"169.254.0.0/16"}, []check{
			{"169.254.1.1:80", true}, {"169.254.169.254:80", false}}},
		{"metadata named exactly", []string{"169.254.169.254:80"}, []check{{"169.254.169.254:80", true}}},
		{"host name", []string{"localhost:9000"}, []check{{"127.0.0.1:9000", true}, {"127.0.0.1:9001", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePolicy(NetPolicy{Connect: tt.rules})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.checks {
				if got := p.allowConnect(netip.MustParseAddrPort(c.addr), false); got != c.want {
					t.Errorf("connect %s: allowed %v, want %v", c.addr, got, c.want)
				}
			}
		})
	}
	for _, bad := range []string{"example", "1.2.3.4:http", "[::1", ":80", "no-such-host.invalid:80"} {
		if _, err := parsePolicy(NetPolicy{Connect: []string{bad}}); err == nil {
			t.Errorf("rule %q accepted", bad)
		}
	}

	// Real sockets: refused operations fail at once with EACCES, and the
	// socket can still be used for an allowed one.
	s := netSystem(t, NetPolicy{Connect: []string{"*"}, Listen: []string{"127.0.0.1:0"}})
	lfd, laddr := listenOn(t, s, netip.MustParseAddr("127.0.0.1"))
	_ = lfd
	fd, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockStream, wasi.ProtoIP)
	for _, a := range []string{laddr.String(), "169.254.169.254:80", "10.0.0.1:80", "100.100.100.200:80"} {
		wantErrno(t, "connect "+a, s.SockConnect(bg, fd, netip.MustParseAddrPort(a)), wasi.EACCES)
	}
	wantErrno(t, "bind a port not allowed", s.SockBind(bg, fd, netip.MustParseAddrPort("0.0.0.0:0")), wasi.EACCES)
	u, _ := s.SockOpen(bg, wasi.AFInet6, wasi.SockDgram, wasi.ProtoIP)
	_, errno := s.SockSendTo(bg, u, [][]byte{[]byte("x")}, 0, netip.MustParseAddrPort("[::1]:53"))
	wantErrno(t, "send_to loopback", errno, wasi.EACCES)
	// Listening on a socket bound by the kernel (no bind) is checked too.
	ns := netSystem(t, NetPolicy{})
	l, _ := ns.SockOpen(bg, wasi.AFInet, wasi.SockStream, wasi.ProtoIP)
	wantErrno(t, "listen without a rule", ns.SockListen(bg, l, 1), wasi.EACCES)
}

// tlsServer starts a TLS echo-greeting server on loopback with a fresh CA
// and returns its address and the CA file.
func tlsServer(t *testing.T) (netip.AddrPort, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "timelake test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"tls.test"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line := make([]byte, 5)
				if _, err := io.ReadFull(c, line); err != nil {
					return
				}
				c.Write(append([]byte("tls says "), line...))
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String()), caFile
}

func TestHostTLS(t *testing.T) {
	addr, caFile := tlsServer(t)
	tests := []struct {
		name   string
		caFile string
		server string
		want   wasi.Errno
	}{
		{"trusted", caFile, "tls.test", wasi.ESUCCESS},
		{"wrong name", caFile, "other.test", wasi.ECONNABORTED},
		{"unknown CA", "", "tls.test", wasi.ECONNABORTED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSystem(t, Config{Net: NetPolicy{Connect: []string{addr.String()}}, CAFile: tt.caFile})
			fd, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockStream, wasi.ProtoIP)
			ok(t, "set nonblock", s.FDStatSetFlags(bg, fd, wasi.FDFlagNonBlock))
			if errno := s.SockConnect(bg, fd, addr); errno != wasi.EINPROGRESS && errno != 0 {
				t.Fatalf("connect: %s", errno.Name())
			}
			// hTLS right after a non-blocking connect: the host finishes it.
			errno := s.SockSetOpt(bg, fd, wasi.SolTimelake, wasi.HTLSServerName, []byte(tt.server+"\x00"))
			wantErrno(t, "hTLS", errno, tt.want)
			if errno != 0 {
				return
			}
			wantErrno(t, "hTLS twice", s.SockSetOpt(bg, fd, wasi.SolTimelake, wasi.HTLSServerName, []byte(tt.server)), wasi.EISCONN)
			ok(t, "blocking", s.FDStatSetFlags(bg, fd, 0))
			_, errno = s.FDWrite(bg, fd, [][]byte{[]byte("hello")})
			ok(t, "fd_write", errno)
			buf := make([]byte, 64)
			var got []byte
			for {
				n, errno := s.FDRead(bg, fd, [][]byte{buf})
				ok(t, "fd_read", errno)
				if n == 0 {
					break
				}
				got = append(got, buf[:n]...)
			}
			if string(got) != "tls says hello" {
				t.Errorf("clear text %q", got)
			}
			peer, errno := s.SockPeerAddr(bg, fd)
			ok(t, "peer", errno)
			if peer != addr {
				t.Errorf("peer %v, want %v", peer, addr)
			}
			ok(t, "close", s.FDClose(bg, fd))
		})
	}
}

// Socket reads and writes (fd_read/fd_write, sock_send/sock_recv,
// sock_send_to/sock_recv_from) allocate nothing in steady state.
func TestSocketIODoesNotAllocate(t *testing.T) {
	s := netSystem(t, loopback)
	lfd, laddr := listenOn(t, s, netip.MustParseAddr("127.0.0.1"))
	cfd, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockStream, wasi.ProtoIP)
	ok(t, "connect", s.SockConnect(bg, cfd, laddr))
	afd, errno := s.SockAccept(bg, lfd, 0)
	ok(t, "accept", errno)
	u1, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockDgram, wasi.ProtoIP)
	u2, _ := s.SockOpen(bg, wasi.AFInet, wasi.SockDgram, wasi.ProtoIP)
	ok(t, "bind", s.SockBind(bg, u2, netip.MustParseAddrPort("127.0.0.1:0")))
	uaddr, _ := s.SockLocalAddr(bg, u2)

	out := [][]byte{[]byte("0123456789abcdef")}
	in := [][]byte{make([]byte, 16)}
	allocs := testing.AllocsPerRun(200, func() {
		if _, errno := s.FDWrite(bg, cfd, out); errno != 0 {
			t.Fatal(errno)
		}
		if n, errno := s.FDRead(bg, afd, in); errno != 0 || n != 16 {
			t.Fatal(n, errno)
		}
		if _, errno := s.SockSend(bg, afd, out, 0); errno != 0 {
			t.Fatal(errno)
		}
		if _, _, errno := s.SockRecv(bg, cfd, in, wasi.RecvWaitAll); errno != 0 {
			t.Fatal(errno)
		}
		if _, errno := s.SockSendTo(bg, u1, out, 0, uaddr); errno != 0 {
			t.Fatal(errno)
		}
		if _, _, _, errno := s.SockRecvFrom(bg, u2, in, 0); errno != 0 {
			t.Fatal(errno)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per round of socket I/O, want 0", allocs)
	}
}
