package capture

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/timelake/timelake/wasi"
)

func TestFormatCall(t *testing.T) {
	tests := []struct {
		rec  Record
		want string
	}{
		{Record{Call: &FDWrite{FD: 1, IOVecLens: []uint32{6}, Data: []byte("hello\n"), N: 6}},
			`fd_write(fd=1, "hello\n") = 6`},
		{Record{Call: &FDWrite{FD: 2, IOVecLens: []uint32{3, 40}, Data: []byte(strings.Repeat("x", 40) + "\"\\\x00\xff"), N: 43}},
			`fd_write(fd=2, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"…, iovs=[3, 40]) = 43`},
		{Record{Call: &FDRead{FD: 0, IOVecLens: []uint32{4096}, Data: []byte("a\"b\\c\td\r\x00\x7f"), N: 10}},
			`fd_read(fd=0, "a\"b\\c\td\r\x00\x7f", iovs=[4096]) = 10`},
		{Record{Errno: wasi.EBADF, Call: &FDClose{FD: 9}},
			`fd_close(fd=9) = EBADF`},
		{Record{Call: &FDClose{FD: 3}},
			`fd_close(fd=3) = 0`},
		{Record{Call: &PathOpen{FD: 3, DirFlags: wasi.LookupSymlinkFollow, Path: "a.txt", OFlags: wasi.OFlagCreat | wasi.OFlagTrunc | 0x100,
			RightsBase: wasi.RightFDRead | wasi.RightFDWrite, FDFlags: wasi.FDFlagAppend, NewFD: 4}},
			`path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="a.txt", oflags=CREAT|TRUNC|0x100, rights=0x42, inheriting=0x0, fdflags=APPEND) = 4`},
		{Record{Errno: wasi.ENOENT, Call: &PathOpen{FD: 3, Path: "missing"}},
			`path_open(fd=3, dirflags=0, path="missing", oflags=0, rights=0x0, inheriting=0x0, fdflags=0) = ENOENT`},
		{Record{Call: &ClockTimeGet{ID: wasi.ClockMonotonic, Precision: 1, Time: 123456789}},
			`clock_time_get(id=monotonic, precision=1) = 123456789`},
		{Record{Call: &ArgsGet{Args: []string{"app", "-n", "1"}}},
			`args_get() = ["app", "-n", "1"]`},
		{Record{Call: &ArgsSizesGet{Argc: 3, BufSize: 9}},
			`args_sizes_get() = {argc=3, size=9}`},
		{Record{Call: &FDStatGet{FD: 1, Stat: wasi.FDStat{Filetype: wasi.FiletypeCharacterDevice, Flags: wasi.FDFlagAppend, RightsBase: 0x40}}},
			`fd_fdstat_get(fd=1) = {filetype=character_device, flags=APPEND, rights=0x40, inheriting=0x0}`},
		{Record{Call: &FDSeek{FD: 5, Offset: -3, Whence: wasi.WhenceEnd, NewOffset: 97}},
			`fd_seek(fd=5, offset=-3, whence=end) = 97`},
		{Record{Call: &FDReadDir{FD: 3, BufLen: 128, Capacity: 5, Entries: []wasi.DirEntry{{Name: []byte(".")}, {Name: []byte("f")}}}},
			`fd_readdir(fd=3, cookie=0, buflen=128) = 2 [".", "f"]`},
		{Record{Call: &PollOneOff{
			Subs: []wasi.Subscription{
				{UserData: 1, EventType: wasi.EventTypeClock, ClockID: wasi.ClockMonotonic, Timeout: 1000},
				{UserData: 2, EventType: wasi.EventTypeFDRead, FD: 0},
			},
			Events: []wasi.Event{{UserData: 2, EventType: wasi.EventTypeFDRead, NBytes: 5, Flags: wasi.EventFDReadWriteHangup}},
		}}, `poll_oneoff(subs=[{userdata=1, clock=monotonic, timeout=1000, precision=0, flags=0}, {userdata=2, type=fd_read, fd=0}]) = 1 [{userdata=2, type=fd_read, nbytes=5, flags=HANGUP}]`},
		{Record{Call: &SockRecv{FD: 4, IOVecLens: []uint32{2}, Data: []byte("hi"), N: 2, OutFlags: wasi.RecvDataTruncated}},
			`sock_recv(fd=4, "hi", iovs=[2], flags=0) = 2 RECV_DATA_TRUNCATED`},
		{Record{Call: &SockConnect{FD: 5, Addr: netip.MustParseAddrPort("[::1]:8080")}, Errno: wasi.EACCES},
			`sock_connect(fd=5, addr=[::1]:8080) = EACCES`},
		{Record{Call: &SockRecvFrom{FD: 6, IOVecLens: []uint32{4}, Data: []byte("pong"), N: 4, Addr: netip.MustParseAddrPort("127.0.0.1:9000")}},
			`sock_recv_from(fd=6, "pong", iovs=[4], flags=0) = 4 from 127.0.0.1:9000`},
		{Record{Call: &SockSetOpt{FD: 5, Level: wasi.SolTimelake, Name: wasi.HTLSServerName, Value: []byte("example.com")}},
			`sock_setsockopt(fd=5, level=TIMELAKE, name=HTLS_SERVER_NAME, "example.com") = 0`},
		{Record{Call: &SockGetOpt{FD: 5, Level: wasi.SolSocket, Name: wasi.SoRcvBuf, BufLen: 4, Value: []byte{0, 0, 1, 0}}},
			`sock_getsockopt(fd=5, level=SOL_SOCKET, name=SO_RCVBUF, size=4) = 65536`},
		{Record{Call: &SockGetAddrInfo{Node: "localhost", Service: "80", Results: []wasi.AddrInfo{
			{Protocol: wasi.ProtoTCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")}}}},
			`sock_getaddrinfo(node="localhost", service="80") = [127.0.0.1:80/tcp]`},
		{Record{Call: &RandomGet{Data: []byte{1, 2}}},
			`random_get("\x01\x02", len=2) = 0`},
		{Record{Func: wasi.FuncSchedYield, Errno: wasi.ENOSYS},
			`sched_yield(?) = ENOSYS`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		FormatCall(&b, &tt.rec)
		if got := b.String(); got != tt.want+"\n" {
			t.Errorf("FormatCall\n got %s\nwant %s", got, tt.want)
		}
	}
}
