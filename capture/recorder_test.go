package capture

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timelake/timelake/wasi"
)

// fakeSystem is a deterministic System: every method returns values derived
// from its arguments, fills guest buffers with known bytes, and some fail.
type fakeSystem struct {
	closed int
}

const fakeFile = "the quick brown fox jumps over the lazy dog"

// fill copies src across iovs and returns how many bytes it copied.
func fill(iovs [][]byte, src []byte) wasi.Size {
	n := 0
	for _, iov := range iovs {
		n += copy(iov, src[n:])
	}
	return wasi.Size(n)
}

func total(iovs [][]byte) int {
	n := 0
	for _, iov := range iovs {
		n += len(iov)
	}
	return n
}

func (s *fakeSystem) ArgsSizesGet(context.Context) (wasi.Size, wasi.Size, wasi.Errno) {
	return 2, 12, wasi.ESUCCESS
}
func (s *fakeSystem) ArgsGet(context.Context) ([]string, wasi.Errno) {
	return []string{"app.wasm", "-v"}, wasi.ESUCCESS
}
func (s *fakeSystem) EnvironSizesGet(context.Context) (wasi.Size, wasi.Size, wasi.Errno) {
	return 1, 7, wasi.ESUCCESS
}
func (s *fakeSystem) EnvironGet(context.Context) ([]string, wasi.Errno) {
	return []string{"HOME=/"}, wasi.ESUCCESS
}
func (s *fakeSystem) ClockResGet(_ context.Context, id wasi.ClockID) (wasi.Timestamp, wasi.Errno) {
	if id > wasi.ClockThreadCPUTimeID {
		return 0, wasi.EINVAL
	}
	return 1000, wasi.ESUCCESS
}
func (s *fakeSystem) ClockTimeGet(_ context.Context, id wasi.ClockID, precision wasi.Timestamp) (wasi.Timestamp, wasi.Errno) {
	return 1_700_000_000_000_000_000 + uint64(id)*7 + precision, wasi.ESUCCESS
}
func (s *fakeSystem) FDAdvise(context.Context, wasi.FD, wasi.Filesize, wasi.Filesize, wasi.Advice) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) FDAllocate(context.Context, wasi.FD, wasi.Filesize, wasi.Filesize) wasi.Errno {
	return wasi.ENOSPC
}
func (s *fakeSystem) FDClose(_ context.Context, fd wasi.FD) wasi.Errno {
	if fd > 10 {
		return wasi.EBADF
	}
	return wasi.ESUCCESS
}
func (s *fakeSystem) FDDataSync(context.Context, wasi.FD) wasi.Errno { return wasi.ESUCCESS }
func (s *fakeSystem) FDStatGet(_ context.Context, fd wasi.FD) (wasi.FDStat, wasi.Errno) {
	return wasi.FDStat{Filetype: wasi.FiletypeRegularFile, Flags: wasi.FDFlagAppend, RightsBase: wasi.FileRights, RightsInheriting: wasi.Rights(fd)}, wasi.ESUCCESS
}
func (s *fakeSystem) FDStatSetFlags(context.Context, wasi.FD, wasi.FDFlags) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) FDStatSetRights(context.Context, wasi.FD, wasi.Rights, wasi.Rights) wasi.Errno {
	return wasi.ENOTCAPABLE
}
func (s *fakeSystem) FDFileStatGet(_ context.Context, fd wasi.FD) (wasi.FileStat, wasi.Errno) {
	st := sampleStat
	st.Ino = uint64(fd)
	return st, wasi.ESUCCESS
}
func (s *fakeSystem) FDFileStatSetSize(context.Context, wasi.FD, wasi.Filesize) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) FDFileStatSetTimes(context.Context, wasi.FD, wasi.Timestamp, wasi.Timestamp, wasi.FSTFlags) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) FDPread(_ context.Context, _ wasi.FD, iovs [][]byte, offset wasi.Filesize) (wasi.Size, wasi.Errno) {
	return fill(iovs, []byte(fakeFile[offset:])), wasi.ESUCCESS
}
func (s *fakeSystem) FDPrestatGet(context.Context, wasi.FD) (wasi.Prestat, wasi.Errno) {
	return wasi.Prestat{Type: wasi.PreopenDir, NameLen: 4}, wasi.ESUCCESS
}
func (s *fakeSystem) FDPrestatDirName(context.Context, wasi.FD) (string, wasi.Errno) {
	return "/tmp", wasi.ESUCCESS
}
func (s *fakeSystem) FDPwrite(_ context.Context, _ wasi.FD, iovs [][]byte, _ wasi.Filesize) (wasi.Size, wasi.Errno) {
	return wasi.Size(total(iovs)), wasi.ESUCCESS
}
func (s *fakeSystem) FDRead(_ context.Context, fd wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	if fd == 99 {
		return 0, wasi.EBADF
	}
	return fill(iovs, []byte(fakeFile)), wasi.ESUCCESS
}
func (s *fakeSystem) FDReadDir(_ context.Context, _ wasi.FD, entries []wasi.DirEntry, cookie wasi.DirCookie, _ int) (int, wasi.Errno) {
	names := []string{".", "..", "a.txt", "sub"}
	n := 0
	for i := int(cookie); i < len(names) && n < len(entries); i++ {
		entries[n] = wasi.DirEntry{Next: uint64(i + 1), Ino: uint64(100 + i), Type: wasi.FiletypeRegularFile, Name: []byte(names[i])}
		n++
	}
	return n, wasi.ESUCCESS
}
func (s *fakeSystem) FDRenumber(context.Context, wasi.FD, wasi.FD) wasi.Errno { return wasi.ESUCCESS }
func (s *fakeSystem) FDSeek(_ context.Context, _ wasi.FD, offset wasi.FileDelta, _ wasi.Whence) (wasi.Filesize, wasi.Errno) {
	return uint64(offset + 100), wasi.ESUCCESS
}
func (s *fakeSystem) FDSync(context.Context, wasi.FD) wasi.Errno { return wasi.ESUCCESS }
func (s *fakeSystem) FDTell(context.Context, wasi.FD) (wasi.Filesize, wasi.Errno) {
	return 42, wasi.ESUCCESS
}
func (s *fakeSystem) FDWrite(_ context.Context, _ wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	// A short write, so the recorded count differs from the data length.
	return wasi.Size(max(0, total(iovs)-1)), wasi.ESUCCESS
}
func (s *fakeSystem) PathCreateDirectory(context.Context, wasi.FD, string) wasi.Errno {
	return wasi.EEXIST
}
func (s *fakeSystem) PathFileStatGet(context.Context, wasi.FD, wasi.LookupFlags, string) (wasi.FileStat, wasi.Errno) {
	return sampleStat, wasi.ESUCCESS
}
func (s *fakeSystem) PathFileStatSetTimes(context.Context, wasi.FD, wasi.LookupFlags, string, wasi.Timestamp, wasi.Timestamp, wasi.FSTFlags) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) PathLink(context.Context, wasi.FD, wasi.LookupFlags, string, wasi.FD, string) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) PathOpen(_ context.Context, fd wasi.FD, _ wasi.LookupFlags, path string, _ wasi.OFlags, _, _ wasi.Rights, _ wasi.FDFlags) (wasi.FD, wasi.Errno) {
	if path == "missing" {
		return 0, wasi.ENOENT
	}
	return fd + 4, wasi.ESUCCESS
}
func (s *fakeSystem) PathReadLink(_ context.Context, _ wasi.FD, _ string, buf []byte) (wasi.Size, wasi.Errno) {
	return wasi.Size(copy(buf, "target/file")), wasi.ESUCCESS
}
func (s *fakeSystem) PathRemoveDirectory(context.Context, wasi.FD, string) wasi.Errno {
	return wasi.ENOTEMPTY
}
func (s *fakeSystem) PathRename(context.Context, wasi.FD, string, wasi.FD, string) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) PathSymlink(context.Context, string, wasi.FD, string) wasi.Errno {
	return wasi.ESUCCESS
}
func (s *fakeSystem) PathUnlinkFile(context.Context, wasi.FD, string) wasi.Errno { return wasi.ENOENT }
func (s *fakeSystem) PollOneOff(_ context.Context, subs []wasi.Subscription, events []wasi.Event) (int, wasi.Errno) {
	n := 0
	for _, sub := range subs {
		if sub.EventType == wasi.EventTypeFDWrite {
			continue // never ready
		}
		events[n] = wasi.Event{UserData: sub.UserData, EventType: sub.EventType, NBytes: uint64(sub.FD) * 3, Flags: wasi.EventRWFlags(sub.FD % 2)}
		n++
	}
	return n, wasi.ESUCCESS
}
func (s *fakeSystem) ProcExit(context.Context, wasi.ExitCode) wasi.Errno { return wasi.ESUCCESS }
func (s *fakeSystem) ProcRaise(context.Context, wasi.Signal) wasi.Errno  { return wasi.ENOSYS }
func (s *fakeSystem) SchedYield(context.Context) wasi.Errno              { return wasi.ESUCCESS }
func (s *fakeSystem) SockAccept(context.Context, wasi.FD, wasi.FDFlags) (wasi.FD, wasi.Errno) {
	return 9, wasi.ESUCCESS
}
func (s *fakeSystem) RandomGet(_ context.Context, buf []byte) wasi.Errno {
	for i := range buf {
		buf[i] = byte(i*37 + 11)
	}
	return wasi.ESUCCESS
}
func (s *fakeSystem) SockRecv(_ context.Context, _ wasi.FD, iovs [][]byte, _ wasi.RIFlags) (wasi.Size, wasi.ROFlags, wasi.Errno) {
	msg := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	n := fill(iovs, []byte(msg))
	var ro wasi.ROFlags
	if int(n) < len(msg) {
		ro = wasi.RecvDataTruncated
	}
	return n, ro, wasi.ESUCCESS
}
func (s *fakeSystem) SockSend(_ context.Context, _ wasi.FD, iovs [][]byte, _ wasi.SIFlags) (wasi.Size, wasi.Errno) {
	return wasi.Size(total(iovs)), wasi.ESUCCESS
}
func (s *fakeSystem) SockShutdown(context.Context, wasi.FD, wasi.SDFlags) wasi.Errno {
	return wasi.ENOTCONN
}
func (s *fakeSystem) SockOpen(_ context.Context, af wasi.AddressFamily, _ wasi.SocketType, _ wasi.Protocol) (wasi.FD, wasi.Errno) {
	return wasi.FD(10 + af), wasi.ESUCCESS
}
func (s *fakeSystem) SockBind(context.Context, wasi.FD, netip.AddrPort) wasi.Errno {
	return wasi.EACCES
}
func (s *fakeSystem) SockConnect(context.Context, wasi.FD, netip.AddrPort) wasi.Errno {
	return wasi.EINPROGRESS
}
func (s *fakeSystem) SockListen(context.Context, wasi.FD, int32) wasi.Errno { return wasi.ESUCCESS }
func (s *fakeSystem) SockRecvFrom(_ context.Context, _ wasi.FD, iovs [][]byte, _ wasi.RIFlags) (wasi.Size, wasi.ROFlags, netip.AddrPort, wasi.Errno) {
	return fill(iovs, []byte("datagram")), 0, netip.MustParseAddrPort("[2001:db8::1]:5353"), wasi.ESUCCESS
}
func (s *fakeSystem) SockSendTo(_ context.Context, _ wasi.FD, iovs [][]byte, _ wasi.SIFlags, _ netip.AddrPort) (wasi.Size, wasi.Errno) {
	return wasi.Size(total(iovs)), wasi.ESUCCESS
}
func (s *fakeSystem) SockGetOpt(_ context.Context, _ wasi.FD, _ wasi.SockOptLevel, name wasi.SockOpt, value []byte) (int, wasi.Errno) {
	return copy(value, []byte{byte(name), 1, 0, 0}), wasi.ESUCCESS
}
func (s *fakeSystem) SockSetOpt(context.Context, wasi.FD, wasi.SockOptLevel, wasi.SockOpt, []byte) wasi.Errno {
	return wasi.ENOPROTOOPT
}
func (s *fakeSystem) SockLocalAddr(context.Context, wasi.FD) (netip.AddrPort, wasi.Errno) {
	return netip.MustParseAddrPort("127.0.0.1:40000"), wasi.ESUCCESS
}
func (s *fakeSystem) SockPeerAddr(context.Context, wasi.FD) (netip.AddrPort, wasi.Errno) {
	return netip.AddrPort{}, wasi.ENOTCONN
}
func (s *fakeSystem) SockAddrInfo(_ context.Context, _, _ string, _ wasi.AddrInfo, results []wasi.AddrInfo) (int, wasi.Errno) {
	all := []wasi.AddrInfo{
		{Family: wasi.AFInet, SockType: wasi.SockStream, Protocol: wasi.ProtoTCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")},
		{Family: wasi.AFInet6, SockType: wasi.SockStream, Protocol: wasi.ProtoTCP, Addr: netip.MustParseAddrPort("[::1]:80")},
	}
	return copy(results, all), wasi.ESUCCESS
}
func (s *fakeSystem) Close(context.Context) error { s.closed++; return nil }

// collectSink keeps every submitted buffer.
type collectSink struct {
	mu   sync.Mutex
	bufs []submission
	ch   chan struct{} // if set, signalled after each submission
}

type submission struct {
	buf      []byte
	records  int
	firstSeq uint64
}

func (s *collectSink) Submit(buf []byte, records int, firstSeq uint64) []byte {
	s.mu.Lock()
	s.bufs = append(s.bufs, submission{buf, records, firstSeq})
	s.mu.Unlock()
	if s.ch != nil {
		s.ch <- struct{}{}
	}
	return nil
}

// decode decodes every submitted buffer, checking that each holds the
// records it claims and that sequence numbers run on from one buffer to the
// next.
func (s *collectSink) decode(t *testing.T) []Record {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var recs []Record
	for i, sub := range s.bufs {
		if sub.firstSeq != uint64(len(recs)) {
			t.Fatalf("buffer %d starts at seq %d, want %d", i, sub.firstSeq, len(recs))
		}
		got := decodeAll(t, sub.buf, sub.firstSeq)
		if len(got) != sub.records {
			t.Fatalf("buffer %d holds %d records, Submit said %d", i, len(got), sub.records)
		}
		recs = append(recs, got...)
	}
	return recs
}

// guestBufs returns fresh guest buffers of the given sizes.
func guestBufs(sizes ...int) [][]byte {
	iovs := make([][]byte, len(sizes))
	for i, n := range sizes {
		iovs[i] = make([]byte, n)
	}
	return iovs
}

// seen returns the first n bytes of iovs concatenated, as the guest sees
// them after a read, or nil.
func seen(iovs [][]byte, n wasi.Size) []byte {
	var b []byte
	for _, iov := range iovs {
		b = append(b, iov...)
	}
	if int(n) < len(b) {
		b = b[:n]
	}
	if len(b) == 0 {
		return nil
	}
	return b
}

func lens(iovs [][]byte) []uint32 {
	l := make([]uint32, len(iovs))
	for i, iov := range iovs {
		l[i] = uint32(len(iov))
	}
	return l
}

// guestCall makes one call on a System and describes, as a Call, what the
// guest passed and what it saw come back.
type guestCall struct {
	name string
	run  func(ctx context.Context, s wasi.System) (Call, wasi.Errno)
}

func guestCalls() []guestCall {
	return []guestCall{
		{"args_sizes_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a, b, e := s.ArgsSizesGet(ctx)
			return &ArgsSizesGet{Argc: a, BufSize: b}, e
		}},
		{"args_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a, e := s.ArgsGet(ctx)
			return &ArgsGet{Args: a}, e
		}},
		{"environ_sizes_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a, b, e := s.EnvironSizesGet(ctx)
			return &EnvironSizesGet{Count: a, BufSize: b}, e
		}},
		{"environ_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a, e := s.EnvironGet(ctx)
			return &EnvironGet{Environ: a}, e
		}},
		{"clock_res_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			r, e := s.ClockResGet(ctx, wasi.ClockMonotonic)
			return &ClockResGet{ID: wasi.ClockMonotonic, Resolution: r}, e
		}},
		{"clock_res_get bad id", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			r, e := s.ClockResGet(ctx, 7)
			return &ClockResGet{ID: 7, Resolution: r}, e
		}},
		{"clock_time_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			ts, e := s.ClockTimeGet(ctx, wasi.ClockRealtime, 1000)
			return &ClockTimeGet{ID: wasi.ClockRealtime, Precision: 1000, Time: ts}, e
		}},
		{"fd_advise", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			e := s.FDAdvise(ctx, 3, 10, 20, wasi.AdviceWillNeed)
			return &FDAdvise{FD: 3, Offset: 10, Length: 20, Advice: wasi.AdviceWillNeed}, e
		}},
		{"fd_allocate", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			e := s.FDAllocate(ctx, 3, 0, 1<<40)
			return &FDAllocate{FD: 3, Offset: 0, Length: 1 << 40}, e
		}},
		{"fd_close", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			e := s.FDClose(ctx, 5)
			return &FDClose{FD: 5}, e
		}},
		{"fd_close bad fd", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			e := s.FDClose(ctx, 50)
			return &FDClose{FD: 50}, e
		}},
		{"fd_datasync", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &FDDataSync{FD: 4}, s.FDDataSync(ctx, 4)
		}},
		{"fd_fdstat_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			st, e := s.FDStatGet(ctx, 1)
			return &FDStatGet{FD: 1, Stat: st}, e
		}},
		{"fd_fdstat_set_flags", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &FDStatSetFlags{FD: 1, Flags: wasi.FDFlagNonBlock}, s.FDStatSetFlags(ctx, 1, wasi.FDFlagNonBlock)
		}},
		{"fd_fdstat_set_rights", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &FDStatSetRights{FD: 3, Base: wasi.RightFDRead, Inheriting: 0}, s.FDStatSetRights(ctx, 3, wasi.RightFDRead, 0)
		}},
		{"fd_filestat_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			st, e := s.FDFileStatGet(ctx, 6)
			return &FDFileStatGet{FD: 6, Stat: st}, e
		}},
		{"fd_filestat_set_size", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &FDFileStatSetSize{FD: 6, Size: 99}, s.FDFileStatSetSize(ctx, 6, 99)
		}},
		{"fd_filestat_set_times", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &FDFileStatSetTimes{FD: 6, ATim: 5, MTim: 6, Flags: wasi.FSTFlagMtim},
				s.FDFileStatSetTimes(ctx, 6, 5, 6, wasi.FSTFlagMtim)
		}},
		{"fd_pread", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			iovs := guestBufs(4, 100)
			n, e := s.FDPread(ctx, 6, iovs, 4)
			return &FDPread{FD: 6, Offset: 4, IOVecLens: lens(iovs), Data: seen(iovs, n), N: n}, e
		}},
		{"fd_prestat_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			ps, e := s.FDPrestatGet(ctx, 3)
			return &FDPrestatGet{FD: 3, Prestat: ps}, e
		}},
		{"fd_prestat_dir_name", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			name, e := s.FDPrestatDirName(ctx, 3)
			return &FDPrestatDirName{FD: 3, Name: name}, e
		}},
		{"fd_pwrite", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			iovs := [][]byte{[]byte("abc"), nil, []byte("defg")}
			n, e := s.FDPwrite(ctx, 6, iovs, 1<<33)
			return &FDPwrite{FD: 6, Offset: 1 << 33, IOVecLens: []uint32{3, 0, 4}, Data: []byte("abcdefg"), N: n}, e
		}},
		{"fd_read", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			iovs := guestBufs(4096)
			n, e := s.FDRead(ctx, 0, iovs)
			return &FDRead{FD: 0, IOVecLens: lens(iovs), Data: seen(iovs, n), N: n}, e
		}},
		{"fd_read scattered", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			iovs := guestBufs(5, 0, 7, 1000)
			n, e := s.FDRead(ctx, 0, iovs)
			return &FDRead{FD: 0, IOVecLens: lens(iovs), Data: seen(iovs, n), N: n}, e
		}},
		{"fd_read error", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			iovs := guestBufs(16)
			n, e := s.FDRead(ctx, 99, iovs)
			return &FDRead{FD: 99, IOVecLens: lens(iovs), Data: seen(iovs, n), N: n}, e
		}},
		{"fd_readdir", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			entries := make([]wasi.DirEntry, 3)
			n, e := s.FDReadDir(ctx, 3, entries, 1, 512)
			return &FDReadDir{FD: 3, Cookie: 1, BufLen: 512, Capacity: 3, Entries: entries[:n]}, e
		}},
		{"fd_renumber", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &FDRenumber{From: 7, To: 4}, s.FDRenumber(ctx, 7, 4)
		}},
		{"fd_seek", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			pos, e := s.FDSeek(ctx, 6, -10, wasi.WhenceEnd)
			return &FDSeek{FD: 6, Offset: -10, Whence: wasi.WhenceEnd, NewOffset: pos}, e
		}},
		{"fd_sync", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &FDSync{FD: 6}, s.FDSync(ctx, 6)
		}},
		{"fd_tell", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			pos, e := s.FDTell(ctx, 6)
			return &FDTell{FD: 6, Offset: pos}, e
		}},
		{"fd_write", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			n, e := s.FDWrite(ctx, 1, [][]byte{[]byte("hello\n")})
			return &FDWrite{FD: 1, IOVecLens: []uint32{6}, Data: []byte("hello\n"), N: n}, e
		}},
		{"fd_write no iovecs", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			n, e := s.FDWrite(ctx, 1, nil)
			return &FDWrite{FD: 1, N: n}, e
		}},
		{"path_create_directory", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &PathCreateDirectory{FD: 3, Path: "d"}, s.PathCreateDirectory(ctx, 3, "d")
		}},
		{"path_filestat_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			st, e := s.PathFileStatGet(ctx, 3, wasi.LookupSymlinkFollow, "f")
			return &PathFileStatGet{FD: 3, Flags: wasi.LookupSymlinkFollow, Path: "f", Stat: st}, e
		}},
		{"path_filestat_set_times", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			e := s.PathFileStatSetTimes(ctx, 3, 0, "f", 1, 2, wasi.FSTFlagAtim)
			return &PathFileStatSetTimes{FD: 3, Path: "f", ATim: 1, MTim: 2, FSTFlags: wasi.FSTFlagAtim}, e
		}},
		{"path_link", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			e := s.PathLink(ctx, 3, wasi.LookupSymlinkFollow, "a", 4, "b")
			return &PathLink{OldFD: 3, OldFlags: wasi.LookupSymlinkFollow, OldPath: "a", NewFD: 4, NewPath: "b"}, e
		}},
		{"path_open", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			fd, e := s.PathOpen(ctx, 3, wasi.LookupSymlinkFollow, "out.txt", wasi.OFlagCreat, wasi.FileRights, 0, wasi.FDFlagAppend)
			return &PathOpen{FD: 3, DirFlags: wasi.LookupSymlinkFollow, Path: "out.txt", OFlags: wasi.OFlagCreat,
				RightsBase: wasi.FileRights, FDFlags: wasi.FDFlagAppend, NewFD: fd}, e
		}},
		{"path_open missing", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			fd, e := s.PathOpen(ctx, 3, 0, "missing", 0, wasi.RightFDRead, 0, 0)
			return &PathOpen{FD: 3, Path: "missing", RightsBase: wasi.RightFDRead, NewFD: fd}, e
		}},
		{"path_readlink truncated", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			buf := make([]byte, 6)
			n, e := s.PathReadLink(ctx, 3, "lnk", buf)
			return &PathReadLink{FD: 3, Path: "lnk", BufLen: 6, Data: buf[:n], N: n}, e
		}},
		{"path_remove_directory", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &PathRemoveDirectory{FD: 3, Path: "d"}, s.PathRemoveDirectory(ctx, 3, "d")
		}},
		{"path_rename", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &PathRename{FD: 3, OldPath: "a", NewFD: 3, NewPath: "b"}, s.PathRename(ctx, 3, "a", 3, "b")
		}},
		{"path_symlink", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &PathSymlink{OldPath: "t", FD: 3, NewPath: "l"}, s.PathSymlink(ctx, "t", 3, "l")
		}},
		{"path_unlink_file", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &PathUnlinkFile{FD: 3, Path: "gone"}, s.PathUnlinkFile(ctx, 3, "gone")
		}},
		{"poll_oneoff", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			subs := []wasi.Subscription{
				{UserData: 1, EventType: wasi.EventTypeClock, ClockID: wasi.ClockMonotonic, Timeout: 1e9},
				{UserData: 2, EventType: wasi.EventTypeFDRead, FD: 5},
				{UserData: 3, EventType: wasi.EventTypeFDWrite, FD: 1},
			}
			events := make([]wasi.Event, len(subs))
			n, e := s.PollOneOff(ctx, subs, events)
			return &PollOneOff{Subs: subs, Events: events[:n]}, e
		}},
		{"proc_exit", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &ProcExit{Code: 3}, s.ProcExit(ctx, 3)
		}},
		{"proc_raise", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &ProcRaise{Signal: 15}, s.ProcRaise(ctx, 15)
		}},
		{"sched_yield", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &SchedYield{}, s.SchedYield(ctx)
		}},
		{"random_get", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			buf := make([]byte, 24)
			e := s.RandomGet(ctx, buf)
			return &RandomGet{Data: buf}, e
		}},
		{"sock_accept", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			fd, e := s.SockAccept(ctx, 4, wasi.FDFlagNonBlock)
			return &SockAccept{FD: 4, Flags: wasi.FDFlagNonBlock, NewFD: fd}, e
		}},
		{"sock_recv truncated", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			iovs := guestBufs(8, 8)
			n, ro, e := s.SockRecv(ctx, 9, iovs, wasi.RecvPeek)
			return &SockRecv{FD: 9, Flags: wasi.RecvPeek, IOVecLens: lens(iovs), Data: seen(iovs, n), N: n, OutFlags: ro}, e
		}},
		{"sock_send", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			n, e := s.SockSend(ctx, 9, [][]byte{[]byte("HTTP/1.1 200 OK\r\n"), []byte("\r\n")}, 0)
			return &SockSend{FD: 9, IOVecLens: []uint32{17, 2}, Data: []byte("HTTP/1.1 200 OK\r\n\r\n"), N: n}, e
		}},
		{"sock_shutdown", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &SockShutdown{FD: 9, Flags: wasi.ShutdownWR}, s.SockShutdown(ctx, 9, wasi.ShutdownWR)
		}},
		{"sock_open", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			fd, e := s.(wasi.Sockets).SockOpen(ctx, wasi.AFInet6, wasi.SockDgram, wasi.ProtoUDP)
			return &SockOpen{Family: wasi.AFInet6, SockType: wasi.SockDgram, Protocol: wasi.ProtoUDP, NewFD: fd}, e
		}},
		{"sock_bind refused", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a := netip.MustParseAddrPort("0.0.0.0:80")
			return &SockBind{FD: 12, Addr: a}, s.(wasi.Sockets).SockBind(ctx, 12, a)
		}},
		{"sock_connect", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a := netip.MustParseAddrPort("[2001:db8::2]:443")
			return &SockConnect{FD: 12, Addr: a}, s.(wasi.Sockets).SockConnect(ctx, 12, a)
		}},
		{"sock_listen", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			return &SockListen{FD: 12, Backlog: 128}, s.(wasi.Sockets).SockListen(ctx, 12, 128)
		}},
		{"sock_recv_from", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			iovs := guestBufs(4, 64)
			n, ro, from, e := s.(wasi.Sockets).SockRecvFrom(ctx, 12, iovs, 0)
			return &SockRecvFrom{FD: 12, IOVecLens: lens(iovs), Data: seen(iovs, n), N: n, OutFlags: ro, Addr: from}, e
		}},
		{"sock_send_to", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a := netip.MustParseAddrPort("192.0.2.1:53")
			n, e := s.(wasi.Sockets).SockSendTo(ctx, 12, [][]byte{[]byte("query")}, 0, a)
			return &SockSendTo{FD: 12, Addr: a, IOVecLens: []uint32{5}, Data: []byte("query"), N: n}, e
		}},
		{"sock_getsockopt", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			v := make([]byte, 8)
			n, e := s.(wasi.Sockets).SockGetOpt(ctx, 12, wasi.SolSocket, wasi.SoSndBuf, v)
			return &SockGetOpt{FD: 12, Level: wasi.SolSocket, Name: wasi.SoSndBuf, BufLen: 8, Value: v[:n]}, e
		}},
		{"sock_setsockopt", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			v := []byte("example.com")
			return &SockSetOpt{FD: 12, Level: wasi.SolTimelake, Name: wasi.HTLSServerName, Value: v},
				s.(wasi.Sockets).SockSetOpt(ctx, 12, wasi.SolTimelake, wasi.HTLSServerName, v)
		}},
		{"sock_getlocaladdr", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a, e := s.(wasi.Sockets).SockLocalAddr(ctx, 12)
			return &SockGetLocalAddr{FD: 12, Addr: a}, e
		}},
		{"sock_getpeeraddr", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			a, e := s.(wasi.Sockets).SockPeerAddr(ctx, 12)
			return &SockGetPeerAddr{FD: 12, Addr: a}, e
		}},
		{"sock_getaddrinfo", func(ctx context.Context, s wasi.System) (Call, wasi.Errno) {
			res := make([]wasi.AddrInfo, 1)
			hints := wasi.AddrInfo{SockType: wasi.SockStream}
			n, e := s.(wasi.Sockets).SockAddrInfo(ctx, "localhost", "80", hints, res)
			return &SockGetAddrInfo{Node: "localhost", Service: "80", Hints: hints, Capacity: 1, Results: res[:n]}, e
		}},
	}
}

// stepClock is a deterministic Clock advancing by step on every reading.
func stepClock(step int64) func() int64 {
	var now int64
	return func() int64 { now += step; return now }
}

func TestRecorderRecordsWhatTheGuestSaw(t *testing.T) {
	ctx := context.Background()
	calls := guestCalls()

	covered := make(map[wasi.Func]bool)
	direct := make([]Call, len(calls))
	directErrno := make([]wasi.Errno, len(calls))
	for i, gc := range calls {
		direct[i], directErrno[i] = gc.run(ctx, &fakeSystem{})
		covered[direct[i].Func()] = true
	}
	for f := wasi.Func(0); f < wasi.FuncCount; f++ {
		if !covered[f] {
			t.Errorf("no guest call drives %v", f)
		}
	}

	sys := &fakeSystem{}
	sink := &collectSink{}
	var trace bytes.Buffer
	// A small buffer so records spread over many submissions.
	rec := NewRecorder(sys, sink, RecorderOptions{BufferSize: 64, FlushInterval: -1, Trace: &trace, Clock: stepClock(10)})
	for i, gc := range calls {
		saw, errno := gc.run(ctx, rec)
		if !reflect.DeepEqual(saw, direct[i]) || errno != directErrno[i] {
			t.Errorf("%s: through the recorder the guest saw %+v %v, directly %+v %v", gc.name, saw, errno, direct[i], directErrno[i])
		}
	}
	if got := rec.Records(); got != uint64(len(calls)) {
		t.Errorf("Records() = %d, want %d", got, len(calls))
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if sys.closed != 1 {
		t.Errorf("wrapped System closed %d times, want 1", sys.closed)
	}
	if len(sink.bufs) < 2 {
		t.Errorf("%d submissions, want several with a 64-byte buffer", len(sink.bufs))
	}

	recs := sink.decode(t)
	if len(recs) != len(calls) {
		t.Fatalf("decoded %d records, want %d", len(recs), len(calls))
	}
	lines := strings.Split(strings.TrimSuffix(trace.String(), "\n"), "\n")
	if len(lines) != len(calls) {
		t.Fatalf("trace has %d lines, want %d:\n%s", len(lines), len(calls), trace.String())
	}
	for i, r := range recs {
		gc := calls[i]
		if r.Seq != uint64(i) || r.Time != int64(20*i+10) || r.Duration != 10 {
			t.Errorf("%s: seq %d time %d duration %d, want %d %d 10", gc.name, r.Seq, r.Time, r.Duration, i, 20*i+10)
		}
		if r.Errno != directErrno[i] {
			t.Errorf("%s: recorded errno %v, guest saw %v", gc.name, r.Errno, directErrno[i])
		}
		if r.Func != direct[i].Func() || !reflect.DeepEqual(r.Call, direct[i]) {
			t.Errorf("%s: recorded\n %#v\nguest saw\n %#v", gc.name, r.Call, direct[i])
		}
		var line bytes.Buffer
		FormatCall(&line, &r)
		if got := lines[i] + "\n"; got != line.String() {
			t.Errorf("%s: trace line %q, want %q", gc.name, got, line.String())
		}
	}
}

func TestRecorderFlushConcurrently(t *testing.T) {
	ctx := context.Background()
	sink := &collectSink{}
	rec := NewRecorder(&fakeSystem{}, sink, RecorderOptions{BufferSize: 4096, FlushInterval: -1})

	const calls = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range calls {
			rec.FDWrite(ctx, 1, [][]byte{fmt.Appendf(nil, "message %d\n", i)})
		}
	}()
	flushes := 0
	for running := true; running; flushes++ {
		select {
		case <-done:
			running = false
		default:
		}
		rec.Flush()
		_ = rec.Records()
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}

	recs := sink.decode(t)
	if len(recs) != calls {
		t.Fatalf("decoded %d records, want %d", len(recs), calls)
	}
	for i, r := range recs {
		want := fmt.Sprintf("message %d\n", i)
		if w := r.Call.(*FDWrite); string(w.Data) != want || w.N != wasi.Size(len(want)-1) {
			t.Fatalf("record %d: %q n=%d, want %q n=%d", i, w.Data, w.N, want, len(want)-1)
		}
	}
	t.Logf("%d flushes, %d submissions", flushes, len(sink.bufs))
}

func TestRecorderTickerFlushes(t *testing.T) {
	ctx := context.Background()
	sink := &collectSink{ch: make(chan struct{}, 16)}
	rec := NewRecorder(&fakeSystem{}, sink, RecorderOptions{FlushInterval: time.Millisecond})
	rec.SchedYield(ctx)
	select {
	case <-sink.ch:
	case <-time.After(30 * time.Second):
		t.Fatal("the ticker never submitted the buffer")
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	recs := sink.decode(t)
	if len(recs) != 1 || recs[0].Func != wasi.FuncSchedYield {
		t.Fatalf("records = %+v, want one sched_yield", recs)
	}
}

func TestRecorderCloseFlushesAndIsIdempotent(t *testing.T) {
	ctx := context.Background()
	sink := &collectSink{}
	sys := &fakeSystem{}
	rec := NewRecorder(sys, sink, RecorderOptions{})
	rec.ProcExit(ctx, 7)
	if len(sink.bufs) != 0 {
		t.Fatalf("submitted before Close with a 1 MiB buffer")
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	recs := sink.decode(t)
	if len(recs) != 1 || recs[0].Call.(*ProcExit).Code != 7 {
		t.Fatalf("records = %+v, want proc_exit(7)", recs)
	}
	if len(sink.bufs) != 1 {
		t.Errorf("%d submissions, want 1 (empty flushes submit nothing)", len(sink.bufs))
	}
}
