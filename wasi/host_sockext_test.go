package wasi

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// fakeSockets adds the socket extension to fakeSystem, logging every call
// with its decoded arguments and answering with fixed values.
type fakeSockets struct {
	*fakeSystem
	calls []string
}

func (s *fakeSockets) log(format string, args ...any) {
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

func (s *fakeSockets) SockOpen(_ context.Context, af AddressFamily, st SocketType, proto Protocol) (FD, Errno) {
	s.log("open %v %v %v", af, st, proto)
	if af == AFUnix {
		return 0, EAFNOSUPPORT
	}
	return 5, ESUCCESS
}
func (s *fakeSockets) SockBind(_ context.Context, fd FD, addr netip.AddrPort) Errno {
	s.log("bind %d %v", fd, addr)
	return ESUCCESS
}
func (s *fakeSockets) SockConnect(_ context.Context, fd FD, addr netip.AddrPort) Errno {
	s.log("connect %d %v", fd, addr)
	return EACCES
}
func (s *fakeSockets) SockListen(_ context.Context, fd FD, backlog int32) Errno {
	s.log("listen %d %d", fd, backlog)
	return ESUCCESS
}
func (s *fakeSockets) SockRecvFrom(_ context.Context, fd FD, iovs [][]byte, flags RIFlags) (Size, ROFlags, netip.AddrPort, Errno) {
	s.log("recv_from %d %v %d", fd, iovLens(iovs), flags)
	return fillFrom(iovs, "datagram"), RecvDataTruncated, netip.MustParseAddrPort("[2001:db8::1]:5353"), ESUCCESS
}
func (s *fakeSockets) SockSendTo(_ context.Context, fd FD, iovs [][]byte, flags SIFlags, addr netip.AddrPort) (Size, Errno) {
	s.log("send_to %d %q %d %v", fd, iovStrings(iovs), flags, addr)
	return 5, ESUCCESS
}
func (s *fakeSockets) SockGetOpt(_ context.Context, fd FD, level SockOptLevel, name SockOpt, value []byte) (int, Errno) {
	s.log("getsockopt %d %d %d %d", fd, level, name, len(value))
	return copy(value, []byte{0, 0, 2, 0}), ESUCCESS
}
func (s *fakeSockets) SockSetOpt(_ context.Context, fd FD, level SockOptLevel, name SockOpt, value []byte) Errno {
	s.log("setsockopt %d %#x %d %q", fd, level, name, value)
	return ESUCCESS
}
func (s *fakeSockets) SockLocalAddr(_ context.Context, fd FD) (netip.AddrPort, Errno) {
	s.log("getlocaladdr %d", fd)
	return netip.MustParseAddrPort("10.1.2.3:4567"), ESUCCESS
}
func (s *fakeSockets) SockPeerAddr(_ context.Context, fd FD) (netip.AddrPort, Errno) {
	s.log("getpeeraddr %d", fd)
	return netip.AddrPort{}, ENOTCONN
}
func (s *fakeSockets) SockAddrInfo(_ context.Context, node, service string, hints AddrInfo, results []AddrInfo) (int, Errno) {
	s.log("getaddrinfo %q %q %+v %d", node, service, hints, len(results))
	return copy(results, []AddrInfo{
		{Family: AFInet, SockType: SockStream, Protocol: ProtoTCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")},
		{Family: AFInet6, SockType: SockStream, Protocol: ProtoTCP, Addr: netip.MustParseAddrPort("[::1]:80")},
	}), ESUCCESS
}

// runSockGuest runs a guest against sys, exporting the variants it imports.
func runSockGuest(t *testing.T, name string, sys System) {
	t.Helper()
	ctx := context.Background()
	rt := newRuntime(t)
	compiled, err := rt.CompileModule(ctx, guest(t, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckImports(compiled); err != nil {
		t.Fatalf("CheckImports: %v", err)
	}
	if _, err := Instantiate(ctx, rt, sys, WithGuest(compiled)); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mod.ExportedFunction("_start").Call(ctx); err != nil && exitCode(t, err) != 0 {
		t.Fatalf("guest exited with %d", exitCode(t, err))
	}
}

// TestSocketABI checks every memory layout of docs/abi.md: what the System
// receives, and what the guest finds in its memory.
func TestSocketABI(t *testing.T) {
	s := &fakeSockets{fakeSystem: newFakeSystem("sockabi")}
	runSockGuest(t, "sockabi", s)
	wantCalls := []string{
		"open inet6 stream ip",
		"open unix stream ip",
		"bind 5 127.0.0.1:8080",
		"connect 5 [::1]:443",
		"listen 5 7",
		"recv_from 5 [16] 0",
		`send_to 5 ["query"] 0 127.0.0.1:53`,
		"getsockopt 5 0 6 8",
		`setsockopt 5 0x74696d65 1 "example.com"`,
		"getlocaladdr 5",
		"getpeeraddr 5",
		`getaddrinfo "localhost" "80" {Flags:0 Family:unspec SockType:stream Protocol:ip Addr:invalid AddrPort} 3`,
	}
	if !slices.Equal(s.calls, wantCalls) {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(s.calls, "\n"), strings.Join(wantCalls, "\n"))
	}
	wantOut := strings.Join([]string{
		"open 0 fd=5",
		"open-unix 5", // EAFNOSUPPORT
		"bind 0",
		"connect 2", // EACCES from the System
		"connect-bad-port 28",
		"connect-bad-len 28",
		"connect-fault 21",
		"listen 0",
		"accept 0 fd=124",
		// family 2, then 2001:db8::1, port separate, truncated flag.
		`recv_from 0 n=8 data="datagram" addr=020020010db80000000000000000000000010000 port=5353 roflags=1`,
		"send_to 0 n=5",
		"getsockopt 0 size=4 val=0000020000000000",
		"setsockopt 0",
		"getlocaladdr 0 addr=01000a0102030000 port=4567",
		"getpeeraddr 53", // ENOTCONN
		"getaddrinfo 0 count=2",
		"  ai family=1 socktype=2 protocol=1 canonnamelen=0 sa_family=1 data=00507f000001000000000000000000000000",
		"  ai family=2 socktype=2 protocol=1 canonnamelen=0 sa_family=2 data=005000000000000000000000000000000001",
	}, "\n") + "\n"
	if got := s.stdout.String(); got != wantOut {
		t.Errorf("guest saw:\n%s\nwant:\n%s", got, wantOut)
	}
}

func TestSocketABIv1(t *testing.T) {
	s := &fakeSockets{fakeSystem: newFakeSystem("sockabiv1")}
	runSockGuest(t, "sockabiv1", s)
	want := "accept 0 fd=124\n" +
		"getlocaladdr 0 addr=0a010203000000000000000000000000 type=4 port=4567\n" +
		"getpeeraddr 53\n"
	if got := s.stdout.String(); got != want {
		t.Errorf("guest saw:\n%s\nwant:\n%s", got, want)
	}
}

// A System without Sockets gets ENOSYS from every extension function.
func TestSocketsENOSYS(t *testing.T) {
	s := newFakeSystem("sockabi")
	runSockGuest(t, "sockabi", s)
	if out := s.stdout.String(); !strings.HasPrefix(out, "open 52 fd=0\n") || !strings.Contains(out, "getaddrinfo 52 count=0") {
		t.Errorf("guest saw:\n%s", out)
	}
}

func TestVariantSignatures(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	compiled, err := rt.CompileModule(ctx, guest(t, "sockabiv1"))
	if err != nil {
		t.Fatal(err)
	}
	closer, err := Instantiate(ctx, rt, newFakeSystem(), WithGuest(compiled))
	if err != nil {
		t.Fatal(err)
	}
	defs := closer.(api.Module).ExportedFunctionDefinitions()
	for name, want := range map[string]string{
		"sock_accept":       "(fd i32, result.fd i32) -> (errno i32)",
		"sock_getlocaladdr": "(fd i32, addr i32, result.addr_type i32, result.port i32) -> (errno i32)",
		"sock_recv_from": "(fd i32, ri_data i32, ri_data_len i32, addr i32, ri_flags i32, result.port i32, " +
			"result.ro_datalen i32, result.ro_flags i32) -> (errno i32)",
	} {
		if got := signature(defs[name]); got != want {
			t.Errorf("%s%s, want %s", name, got, want)
		}
	}
}
