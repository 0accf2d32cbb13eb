package schemas

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/wasi"
)

func netSummary(r Net) string {
	s := fmt.Sprintf("%d %s %s fd=%v conn=%v %s/%s %v>%v %s %d %s", r.Seq, r.Func, r.Op, deref(r.FD), deref(r.Conn),
		r.Protocol, r.Family, deref(r.LocalAddr), deref(r.PeerAddr), r.Direction, r.Size, r.Errno)
	if r.NewFD != nil {
		s += fmt.Sprintf(" new=%d", *r.NewFD)
	}
	return s
}

// TestBuilderNet replays the calls a Go guest makes for http.Get (as
// recorded from testdata/go/net_get) and a server accepting on a --listen
// socket, and checks the net and http rows, with a pass boundary (the fd
// table saved as JSON and restored) in the middle of the response.
func TestBuilderNet(t *testing.T) {
	server := netip.MustParseAddrPort("127.0.0.1:8080")
	req := "GET /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"
	fds := NewFDTable(nil)
	fds.AddListeners(3, []string{"0.0.0.0:9000"})
	recs := []*capture.Record{
		rec(0, 0, &capture.SockGetAddrInfo{Node: "localhost", Service: "8080", Results: []wasi.AddrInfo{{Family: wasi.AFInet, Addr: server}}}),
		rec(1, 0, &capture.SockOpen{Family: wasi.AFInet, SockType: wasi.SockStream, NewFD: 4}),
		rec(2, 0, &capture.FDStatGet{FD: 4, Stat: wasi.FDStat{Filetype: wasi.FiletypeSocketStream}}),
		rec(3, wasi.EINPROGRESS, &capture.SockConnect{FD: 4, Addr: server}),
		rec(4, 0, &capture.SockGetOpt{FD: 4, Level: wasi.SolSocket, Name: wasi.SoError, BufLen: 4, Value: []byte{0, 0, 0, 0}}),
		rec(5, 0, &capture.SockGetLocalAddr{FD: 4, Addr: netip.MustParseAddrPort("127.0.0.1:40000")}),
		rec(6, wasi.EAGAIN, &capture.FDRead{FD: 4, IOVecLens: []uint32{4096}}),
		rec(7, 0, &capture.FDWrite{FD: 4, IOVecLens: []uint32{uint32(len(req))}, Data: []byte(req), N: wasi.Size(len(req))}),
		rec(8, 0, &capture.FDRead{FD: 4, IOVecLens: []uint32{4096}, Data: []byte(resp[:20]), N: 20}),
		// pass boundary here
		rec(9, 0, &capture.FDRead{FD: 4, IOVecLens: []uint32{4096}, Data: []byte(resp[20:]), N: wasi.Size(len(resp) - 20)}),
		rec(10, 0, &capture.SockAccept{FD: 3, NewFD: 5}),
		rec(11, 0, &capture.SockGetPeerAddr{FD: 5, Addr: netip.MustParseAddrPort("10.1.1.1:5555")}),
		rec(12, 0, &capture.SockRecv{FD: 5, IOVecLens: []uint32{512}, Data: []byte("POST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"), N: 41}),
		rec(13, 0, &capture.SockSend{FD: 5, IOVecLens: []uint32{64}, Data: []byte("HTTP/1.1 204 No Content\r\n\r\n"), N: 27}),
		rec(14, 0, &capture.SockShutdown{FD: 5, Flags: wasi.ShutdownWR}),
		rec(15, 0, &capture.FDClose{FD: 4}),
		rec(16, 0, &capture.SockOpen{Family: wasi.AFInet6, SockType: wasi.SockDgram, NewFD: 4}),
		rec(17, 0, &capture.SockSendTo{FD: 4, Addr: netip.MustParseAddrPort("[::1]:53"), IOVecLens: []uint32{3}, Data: []byte("abc"), N: 3}),
		rec(18, wasi.EBADF, &capture.SockSend{FD: 9, IOVecLens: []uint32{1}, Data: []byte("z")}),
		rec(19, 0, &capture.FDWrite{FD: 1, IOVecLens: []uint32{2}, Data: []byte("ok"), N: 2}),
		rec(20, 0, &capture.SockSend{FD: 5, IOVecLens: []uint32{3}, Data: []byte("GET"), N: 3}), // never finished
	}
	b := Builder{RunID: "r", FDs: fds}
	var netRows []Net
	var httpRows []HTTP
	for i, r := range recs {
		if i == 9 {
			state, err := json.Marshal(b.FDs)
			if err != nil {
				t.Fatal(err)
			}
			// Building from a clone leaves the original untouched.
			clone := b.FDs.Clone()
			cb := Builder{RunID: "r", FDs: clone}
			cb.Add(recs[9])
			if len(cb.HTTP) != 1 || len(b.FDs[4].Sock.HTTP.Pending) != 1 || len(clone[4].Sock.HTTP.Pending) != 0 {
				t.Fatalf("clone: %d http rows, %d pending in the original", len(cb.HTTP), len(b.FDs[4].Sock.HTTP.Pending))
			}
			b = Builder{RunID: "r"}
			if err := json.Unmarshal(state, &b.FDs); err != nil {
				t.Fatal(err)
			}
		}
		b.Add(r)
		b.Link()
		netRows = append(netRows, b.Net...)
		httpRows = append(httpRows, b.HTTP...)
		b.Net, b.HTTP = nil, nil
	}
	b.Finish(20, 20_000)
	httpRows = append(httpRows, b.HTTP...)

	want := []string{
		"0 sock_getaddrinfo getaddrinfo fd=0 conn=0 / >  0 ESUCCESS",
		"1 sock_open open fd=4 conn=1 tcp/inet >  0 ESUCCESS new=4",
		"3 sock_connect connect fd=4 conn=1 tcp/inet >127.0.0.1:8080  0 EINPROGRESS",
		"4 sock_getsockopt getsockopt fd=4 conn=1 tcp/inet >127.0.0.1:8080  0 ESUCCESS",
		"5 sock_getlocaladdr getlocaladdr fd=4 conn=1 tcp/inet 127.0.0.1:40000>127.0.0.1:8080  0 ESUCCESS",
		"6 fd_read recv fd=4 conn=1 tcp/inet 127.0.0.1:40000>127.0.0.1:8080 in 0 EAGAIN",
		fmt.Sprintf("7 fd_write send fd=4 conn=1 tcp/inet 127.0.0.1:40000>127.0.0.1:8080 out %d ESUCCESS", len(req)),
		"8 fd_read recv fd=4 conn=1 tcp/inet 127.0.0.1:40000>127.0.0.1:8080 in 20 ESUCCESS",
		fmt.Sprintf("9 fd_read recv fd=4 conn=1 tcp/inet 127.0.0.1:40000>127.0.0.1:8080 in %d ESUCCESS", len(resp)-20),
		"10 sock_accept accept fd=3 conn=10 tcp/inet >  0 ESUCCESS new=5",
		"11 sock_getpeeraddr getpeeraddr fd=5 conn=10 tcp/inet >10.1.1.1:5555  0 ESUCCESS",
		"12 sock_recv recv fd=5 conn=10 tcp/inet >10.1.1.1:5555 in 41 ESUCCESS",
		"13 sock_send send fd=5 conn=10 tcp/inet >10.1.1.1:5555 out 27 ESUCCESS",
		"14 sock_shutdown shutdown fd=5 conn=10 tcp/inet >10.1.1.1:5555  0 ESUCCESS",
		"15 fd_close close fd=4 conn=1 tcp/inet 127.0.0.1:40000>127.0.0.1:8080  0 ESUCCESS",
		"16 sock_open open fd=4 conn=16 udp/inet6 >  0 ESUCCESS new=4",
		"17 sock_send_to send_to fd=4 conn=16 udp/inet6 >[::1]:53 out 3 ESUCCESS",
		"18 sock_send send fd=9 conn=0 / > out 0 EBADF",
		"20 sock_send send fd=5 conn=10 tcp/inet >10.1.1.1:5555 out 3 ESUCCESS",
	}
	var got []string
	for _, r := range netRows {
		got = append(got, netSummary(r))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("net rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if netRows[0].FD != nil || netRows[0].Conn != nil || !strings.Contains(netRows[0].Detail, "127.0.0.1:8080") {
		t.Errorf("getaddrinfo row: fd %v conn %v detail %q", netRows[0].FD, netRows[0].Conn, netRows[0].Detail)
	}
	if string(netRows[6].Data) != req || netRows[6].Detail != "" {
		t.Errorf("send data %q detail %q", netRows[6].Data, netRows[6].Detail)
	}

	var gotHTTP []string
	for _, h := range httpRows {
		gotHTTP = append(gotHTTP, fmt.Sprintf("%d conn=%d %s", h.Seq, h.Conn, summary(h)))
	}
	wantHTTPRows := []string{
		`9 conn=1 #0 client GET /x HTTP/1.1 host="127.0.0.1:8080" -> 200 OK req=0:"" resp=6:"hello\n"`,
		`13 conn=10 #0 server POST /p HTTP/1.1 host="" -> 204 No Content req=2:"hi" resp=0:""`,
	}
	if strings.Join(gotHTTP, "\n") != strings.Join(wantHTTPRows, "\n") {
		t.Errorf("http rows\n%s\nwant\n%s", strings.Join(gotHTTP, "\n"), strings.Join(wantHTTPRows, "\n"))
	}
	if h := httpRows[0]; deref(h.LocalAddr) != "127.0.0.1:40000" || deref(h.PeerAddr) != "127.0.0.1:8080" {
		t.Errorf("client exchange addresses %v > %v", deref(h.LocalAddr), deref(h.PeerAddr))
	}

	// The net rows rebuild the same exchanges.
	var again []string
	for _, h := range DeriveHTTP("r", netRows) {
		again = append(again, fmt.Sprintf("%d conn=%d %s", h.Seq, h.Conn, summary(h)))
	}
	if strings.Join(again, "\n") != strings.Join(wantHTTPRows, "\n") {
		t.Errorf("DeriveHTTP over net rows\n%s\nwant\n%s", strings.Join(again, "\n"), strings.Join(wantHTTPRows, "\n"))
	}
}

// TestSocketLearnt: a socket the records never opened (a --listen socket
// of a runner that did not record it) is learnt from fd_fdstat_get or from
// a successful sock_* call on it.
func TestSocketLearnt(t *testing.T) {
	b := Builder{RunID: "r", FDs: NewFDTable(nil)}
	b.Add(rec(0, 0, &capture.FDStatGet{FD: 3, Stat: wasi.FDStat{Filetype: wasi.FiletypeSocketStream}}))
	b.Add(rec(1, 0, &capture.SockAccept{FD: 3, NewFD: 4}))
	b.Add(rec(2, 0, &capture.SockAccept{FD: 7, NewFD: 5}))
	b.Add(rec(3, wasi.ENOTSOCK, &capture.SockAccept{FD: 1}))
	b.Link()
	var got []string
	for _, r := range b.Net {
		got = append(got, netSummary(r))
	}
	want := []string{
		"1 sock_accept accept fd=3 conn=1 tcp/ >  0 ESUCCESS new=4",
		"2 sock_accept accept fd=7 conn=2 tcp/ >  0 ESUCCESS new=5",
		"3 sock_accept accept fd=1 conn=0 / >  0 ENOTSOCK",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("net rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b.FDs[3].Sock == nil || b.FDs[3].Sock.Role != RoleListener || b.FDs[7].Sock.Conn != -8 {
		t.Errorf("listeners %+v %+v", b.FDs[3].Sock, b.FDs[7].Sock)
	}
	if ListenAddrs([]byte(`{"listen":["127.0.0.1:0"],"timeout":"0s"}`))[0] != "127.0.0.1:0" || ListenAddrs(nil) != nil {
		t.Error("ListenAddrs")
	}
}

// BenchmarkBuilderNet adds 4 KiB socket reads and writes of a non-HTTP
// TCP connection: per record the only allocation is the calls row's args
// string, as for files.
func BenchmarkBuilderNet(b *testing.B) {
	data := make([]byte, 4096)
	recs := []*capture.Record{
		rec(0, 0, &capture.FDRead{FD: 3, IOVecLens: []uint32{4096}, Data: data, N: 4096}),
		rec(1, 0, &capture.FDWrite{FD: 3, IOVecLens: []uint32{4096}, Data: data, N: 4096}),
	}
	bd := Builder{RunID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", FDs: NewFDTable(nil)}
	bd.Add(rec(0, 0, &capture.SockOpen{Family: wasi.AFInet, SockType: wasi.SockStream, NewFD: 3}))
	bd.Add(rec(0, 0, &capture.SockConnect{FD: 3, Addr: netip.MustParseAddrPort("127.0.0.1:5432")}))
	bd.Link()
	bd.Reset()
	b.SetBytes(4096)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bd.Add(recs[i%len(recs)])
		if len(bd.Calls) == 1024 {
			bd.Link()
			bd.Reset()
		}
	}
}
