package wasi

import (
	"bytes"
	"context"
	"fmt"
)

// fakeSystem is a deterministic System for testing the binding's memory
// encoding: it answers with fixed values and, between the guest's begin and
// end markers (fd_write on fd 99), logs every call with its decoded
// arguments. Outside the markers it serves the Go runtime's own calls
// (stdio, args, clocks) quietly and without allocating.
type fakeSystem struct {
	args, env      []string
	stdout, stderr bytes.Buffer
	recording      bool
	log            []string
	clock          Timestamp
	exitCodes      []ExitCode
	dirs           map[FD][]DirEntry
}

func newFakeSystem(args ...string) *fakeSystem {
	many := make([]DirEntry, 100)
	for i := range many {
		many[i] = DirEntry{Next: DirCookie(i + 1), Ino: Inode(1000 + i), Type: FiletypeRegularFile,
			Name: fmt.Appendf(nil, "f%03d", i)}
	}
	return &fakeSystem{
		args: args,
		env:  []string{"A=1", "PATH=/bin:/usr/bin", "EMPTY="},
		dirs: map[FD][]DirEntry{77: testDir, 78: many},
	}
}

// Fixed answers of the fake, also used by the tests to build expectations.
var (
	testFDStat = FDStat{Filetype: FiletypeRegularFile, Flags: FDFlagAppend | FDFlagNonBlock,
		RightsBase: 0x0102030405060708, RightsInheriting: 0x1112131415161718}
	testFileStat = FileStat{Dev: 0x1000000000000001, Ino: 0x2000000000000002, Filetype: FiletypeDirectory,
		NLink: 0x3000000000000003, Size: 0x4000000000000004, ATim: 0x5000000000000005,
		MTim: 0x6000000000000006, CTim: 0x7000000000000007}
	testDir = []DirEntry{
		{Next: 1, Ino: 100, Type: FiletypeRegularFile, Name: []byte("a")},
		{Next: 2, Ino: 101, Type: FiletypeDirectory, Name: []byte("bcd")},
		{Next: 3, Ino: 102, Type: FiletypeSymbolicLink, Name: []byte("efghij")},
	}
)

func (s *fakeSystem) logf(format string, args ...any) {
	if s.recording {
		s.log = append(s.log, fmt.Sprintf(format, args...))
	}
}

func iovLens(iovs [][]byte) []int {
	n := make([]int, len(iovs))
	for i, iov := range iovs {
		n[i] = len(iov)
	}
	return n
}

func iovStrings(iovs [][]byte) []string {
	s := make([]string, len(iovs))
	for i, iov := range iovs {
		s[i] = string(iov)
	}
	return s
}

// fillFrom copies src into iovs in order and returns the byte count.
func fillFrom(iovs [][]byte, src string) Size {
	n := 0
	for _, iov := range iovs {
		n += copy(iov, src[n:])
	}
	return Size(n)
}

func sizesOf(strs []string) (Size, Size, Errno) {
	size := 0
	for _, s := range strs {
		size += len(s) + 1
	}
	return Size(len(strs)), Size(size), ESUCCESS
}

func (s *fakeSystem) ArgsSizesGet(ctx context.Context) (Size, Size, Errno) {
	s.logf("args_sizes_get()")
	return sizesOf(s.args)
}

func (s *fakeSystem) ArgsGet(ctx context.Context) ([]string, Errno) {
	s.logf("args_get()")
	return s.args, ESUCCESS
}

func (s *fakeSystem) EnvironSizesGet(ctx context.Context) (Size, Size, Errno) {
	s.logf("environ_sizes_get()")
	return sizesOf(s.env)
}

func (s *fakeSystem) EnvironGet(ctx context.Context) ([]string, Errno) {
	s.logf("environ_get()")
	return s.env, ESUCCESS
}

func (s *fakeSystem) ClockResGet(ctx context.Context, id ClockID) (Timestamp, Errno) {
	s.logf("clock_res_get(id=%d)", id)
	return 1000 + Timestamp(id), ESUCCESS
}

func (s *fakeSystem) ClockTimeGet(ctx context.Context, id ClockID, precision Timestamp) (Timestamp, Errno) {
	if s.recording {
		s.logf("clock_time_get(id=%d precision=%#x)", id, precision)
		return 0x0102030405060708, ESUCCESS
	}
	s.clock += 1000
	return s.clock, ESUCCESS
}

func (s *fakeSystem) FDAdvise(ctx context.Context, fd FD, offset, length Filesize, advice Advice) Errno {
	s.logf("fd_advise(fd=%d offset=%d len=%d advice=%d)", fd, offset, length, advice)
	return ESUCCESS
}

func (s *fakeSystem) FDAllocate(ctx context.Context, fd FD, offset, length Filesize) Errno {
	s.logf("fd_allocate(fd=%d offset=%d len=%d)", fd, offset, length)
	return ESUCCESS
}

func (s *fakeSystem) FDClose(ctx context.Context, fd FD) Errno {
	s.logf("fd_close(fd=%d)", fd)
	if fd == 78 {
		return EBADF
	}
	return ESUCCESS
}

func (s *fakeSystem) FDDataSync(ctx context.Context, fd FD) Errno {
	s.logf("fd_datasync(fd=%d)", fd)
	return ESUCCESS
}

func (s *fakeSystem) FDStatGet(ctx context.Context, fd FD) (FDStat, Errno) {
	s.logf("fd_fdstat_get(fd=%d)", fd)
	switch fd {
	case 0, 1, 2:
		return FDStat{Filetype: FiletypeCharacterDevice, RightsBase: FileRights}, ESUCCESS
	case 77:
		return testFDStat, ESUCCESS
	}
	return FDStat{}, EBADF
}

func (s *fakeSystem) FDStatSetFlags(ctx context.Context, fd FD, flags FDFlags) Errno {
	s.logf("fd_fdstat_set_flags(fd=%d flags=%#x)", fd, flags)
	return ESUCCESS
}

func (s *fakeSystem) FDStatSetRights(ctx context.Context, fd FD, base, inheriting Rights) Errno {
	s.logf("fd_fdstat_set_rights(fd=%d base=%#x inheriting=%#x)", fd, base, inheriting)
	return ESUCCESS
}

func (s *fakeSystem) FDFileStatGet(ctx context.Context, fd FD) (FileStat, Errno) {
	s.logf("fd_filestat_get(fd=%d)", fd)
	return testFileStat, ESUCCESS
}

func (s *fakeSystem) FDFileStatSetSize(ctx context.Context, fd FD, size Filesize) Errno {
	s.logf("fd_filestat_set_size(fd=%d size=%d)", fd, size)
	return ESUCCESS
}

func (s *fakeSystem) FDFileStatSetTimes(ctx context.Context, fd FD, atim, mtim Timestamp, flags FSTFlags) Errno {
	s.logf("fd_filestat_set_times(fd=%d atim=%d mtim=%d flags=%#x)", fd, atim, mtim, flags)
	return ESUCCESS
}

func (s *fakeSystem) FDPread(ctx context.Context, fd FD, iovs [][]byte, offset Filesize) (Size, Errno) {
	if s.recording {
		s.logf("fd_pread(fd=%d iovs=%v offset=%#x)", fd, iovLens(iovs), offset)
	}
	return fillFrom(iovs, "PREAD!"), ESUCCESS
}

func (s *fakeSystem) FDPrestatGet(ctx context.Context, fd FD) (Prestat, Errno) {
	s.logf("fd_prestat_get(fd=%d)", fd)
	if fd == 77 {
		return Prestat{Type: PreopenDir, NameLen: 5}, ESUCCESS
	}
	return Prestat{}, EBADF
}

func (s *fakeSystem) FDPrestatDirName(ctx context.Context, fd FD) (string, Errno) {
	s.logf("fd_prestat_dir_name(fd=%d)", fd)
	return "/data", ESUCCESS
}

func (s *fakeSystem) FDPwrite(ctx context.Context, fd FD, iovs [][]byte, offset Filesize) (Size, Errno) {
	if s.recording {
		s.logf("fd_pwrite(fd=%d iovs=%q offset=%#x)", fd, iovStrings(iovs), offset)
	}
	n := 0
	for _, iov := range iovs {
		n += len(iov)
	}
	return Size(n), ESUCCESS
}

func (s *fakeSystem) FDRead(ctx context.Context, fd FD, iovs [][]byte) (Size, Errno) {
	if s.recording {
		s.logf("fd_read(fd=%d iovs=%v)", fd, iovLens(iovs))
	}
	if fd == 0 {
		return 0, ESUCCESS // EOF on stdin
	}
	return fillFrom(iovs, "abcdefghijklmnopqrstuvwxyz"), ESUCCESS
}

func (s *fakeSystem) FDReadDir(ctx context.Context, fd FD, entries []DirEntry, cookie DirCookie, bufLen int) (int, Errno) {
	s.logf("fd_readdir(fd=%d cookie=%d buflen=%d)", fd, cookie, bufLen)
	dir, ok := s.dirs[fd]
	if !ok {
		return 0, EBADF
	}
	n, size := 0, 0
	for i := int(cookie); i < len(dir) && n < len(entries) && size < bufLen; i++ {
		entries[n] = dir[i]
		size += dir[i].SizeInBuffer()
		n++
	}
	return n, ESUCCESS
}

func (s *fakeSystem) FDRenumber(ctx context.Context, from, to FD) Errno {
	s.logf("fd_renumber(from=%d to=%d)", from, to)
	return ESUCCESS
}

func (s *fakeSystem) FDSeek(ctx context.Context, fd FD, offset FileDelta, whence Whence) (Filesize, Errno) {
	s.logf("fd_seek(fd=%d offset=%d whence=%d)", fd, offset, whence)
	return 0x0a0b0c0d0e0f1011, ESUCCESS
}

func (s *fakeSystem) FDSync(ctx context.Context, fd FD) Errno {
	s.logf("fd_sync(fd=%d)", fd)
	return ESUCCESS
}

func (s *fakeSystem) FDTell(ctx context.Context, fd FD) (Filesize, Errno) {
	s.logf("fd_tell(fd=%d)", fd)
	return 0x99, ESUCCESS
}

func (s *fakeSystem) FDWrite(ctx context.Context, fd FD, iovs [][]byte) (Size, Errno) {
	var out *bytes.Buffer
	switch fd {
	case 99:
		s.recording = !s.recording
		return 0, ESUCCESS
	case 1:
		out = &s.stdout
	case 2:
		out = &s.stderr
	}
	if s.recording {
		s.logf("fd_write(fd=%d iovs=%q)", fd, iovStrings(iovs))
	}
	if fd != 77 && out == nil {
		return 0, EBADF
	}
	n := 0
	for _, iov := range iovs {
		if out != nil {
			out.Write(iov)
		}
		n += len(iov)
	}
	return Size(n), ESUCCESS
}

func (s *fakeSystem) PathCreateDirectory(ctx context.Context, fd FD, path string) Errno {
	s.logf("path_create_directory(fd=%d path=%q)", fd, path)
	return ESUCCESS
}

func (s *fakeSystem) PathFileStatGet(ctx context.Context, fd FD, flags LookupFlags, path string) (FileStat, Errno) {
	s.logf("path_filestat_get(fd=%d flags=%d path=%q)", fd, flags, path)
	return testFileStat, ESUCCESS
}

func (s *fakeSystem) PathFileStatSetTimes(ctx context.Context, fd FD, flags LookupFlags, path string, atim, mtim Timestamp, fstFlags FSTFlags) Errno {
	s.logf("path_filestat_set_times(fd=%d flags=%d path=%q atim=%d mtim=%d fst_flags=%#x)", fd, flags, path, atim, mtim, fstFlags)
	return ESUCCESS
}

func (s *fakeSystem) PathLink(ctx context.Context, oldFD FD, oldFlags LookupFlags, oldPath string, newFD FD, newPath string) Errno {
	s.logf("path_link(old_fd=%d old_flags=%d old_path=%q new_fd=%d new_path=%q)", oldFD, oldFlags, oldPath, newFD, newPath)
	return ESUCCESS
}

func (s *fakeSystem) PathOpen(ctx context.Context, fd FD, dirFlags LookupFlags, path string, oflags OFlags, base, inheriting Rights, fdFlags FDFlags) (FD, Errno) {
	s.logf("path_open(fd=%d dirflags=%d path=%q oflags=%#x base=%#x inheriting=%#x fdflags=%#x)",
		fd, dirFlags, path, oflags, base, inheriting, fdFlags)
	return 123, ESUCCESS
}

func (s *fakeSystem) PathReadLink(ctx context.Context, fd FD, path string, buf []byte) (Size, Errno) {
	s.logf("path_readlink(fd=%d path=%q buflen=%d)", fd, path, len(buf))
	return Size(copy(buf, "target")), ESUCCESS
}

func (s *fakeSystem) PathRemoveDirectory(ctx context.Context, fd FD, path string) Errno {
	s.logf("path_remove_directory(fd=%d path=%q)", fd, path)
	return ESUCCESS
}

func (s *fakeSystem) PathRename(ctx context.Context, fd FD, oldPath string, newFD FD, newPath string) Errno {
	s.logf("path_rename(fd=%d old_path=%q new_fd=%d new_path=%q)", fd, oldPath, newFD, newPath)
	return ESUCCESS
}

func (s *fakeSystem) PathSymlink(ctx context.Context, oldPath string, fd FD, newPath string) Errno {
	s.logf("path_symlink(old_path=%q fd=%d new_path=%q)", oldPath, fd, newPath)
	return ESUCCESS
}

func (s *fakeSystem) PathUnlinkFile(ctx context.Context, fd FD, path string) Errno {
	s.logf("path_unlink_file(fd=%d path=%q)", fd, path)
	return ESUCCESS
}

func (s *fakeSystem) PollOneOff(ctx context.Context, subs []Subscription, events []Event) (int, Errno) {
	if !s.recording {
		// Serve the runtime (and the benchmark): every subscription fires.
		for i := range subs {
			events[i] = Event{UserData: subs[i].UserData, EventType: subs[i].EventType}
		}
		return len(subs), ESUCCESS
	}
	desc := ""
	for _, sub := range subs {
		switch sub.EventType {
		case EventTypeClock:
			desc += fmt.Sprintf(" clock(ud=%#x id=%d timeout=%d precision=%d flags=%#x)",
				sub.UserData, sub.ClockID, sub.Timeout, sub.Precision, sub.Flags)
		default:
			desc += fmt.Sprintf(" fd_%s(ud=%#x fd=%d)", map[EventType]string{1: "read", 2: "write"}[sub.EventType], sub.UserData, sub.FD)
		}
	}
	s.logf("poll_oneoff(%s)", desc[1:])
	// Only the fd subscriptions fire, so nevents < nsubscriptions.
	n := 0
	for _, sub := range subs {
		switch sub.EventType {
		case EventTypeFDRead:
			events[n] = Event{UserData: sub.UserData, EventType: sub.EventType, NBytes: 42, Flags: EventFDReadWriteHangup}
			n++
		case EventTypeFDWrite:
			events[n] = Event{UserData: sub.UserData, EventType: sub.EventType, Errno: EBADF}
			n++
		}
	}
	return n, ESUCCESS
}

func (s *fakeSystem) ProcExit(ctx context.Context, code ExitCode) Errno {
	s.exitCodes = append(s.exitCodes, code)
	return ESUCCESS
}

func (s *fakeSystem) ProcRaise(ctx context.Context, sig Signal) Errno {
	s.logf("proc_raise(sig=%d)", sig)
	return ENOTSUP
}

func (s *fakeSystem) SchedYield(ctx context.Context) Errno {
	s.logf("sched_yield()")
	return ESUCCESS
}

func (s *fakeSystem) RandomGet(ctx context.Context, buf []byte) Errno {
	if s.recording {
		s.logf("random_get(len=%d)", len(buf))
	}
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	return ESUCCESS
}

func (s *fakeSystem) SockAccept(ctx context.Context, fd FD, flags FDFlags) (FD, Errno) {
	s.logf("sock_accept(fd=%d flags=%#x)", fd, flags)
	return 124, ESUCCESS
}

func (s *fakeSystem) SockRecv(ctx context.Context, fd FD, iovs [][]byte, flags RIFlags) (Size, ROFlags, Errno) {
	s.logf("sock_recv(fd=%d iovs=%v flags=%#x)", fd, iovLens(iovs), flags)
	return fillFrom(iovs, "recv-data"), RecvDataTruncated, ESUCCESS
}

func (s *fakeSystem) SockSend(ctx context.Context, fd FD, iovs [][]byte, flags SIFlags) (Size, Errno) {
	s.logf("sock_send(fd=%d iovs=%q flags=%#x)", fd, iovStrings(iovs), flags)
	return 4, ESUCCESS
}

func (s *fakeSystem) SockShutdown(ctx context.Context, fd FD, flags SDFlags) Errno {
	s.logf("sock_shutdown(fd=%d how=%d)", fd, flags)
	return ESUCCESS
}

func (s *fakeSystem) Close(ctx context.Context) error { return nil }
