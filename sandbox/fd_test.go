package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

func TestStdio(t *testing.T) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	defer outW.Close()
	errFile, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	s := newSystem(t, Config{Stdin: inR, Stdout: outW, Stderr: errFile})

	inW.WriteString("hello")
	buf := make([]byte, 3)
	buf2 := make([]byte, 8)
	n, errno := s.FDRead(bg, 0, [][]byte{buf, buf2})
	if errno != 0 || n != 5 || string(buf)+string(buf2[:2]) != "hello" {
		t.Errorf("read stdin = %d %q%q, %s", n, buf, buf2[:n-3], errno.Name())
	}
	n, errno = s.FDWrite(bg, 1, [][]byte{[]byte("out "), nil, []byte("put")})
	if errno != 0 || n != 7 {
		t.Errorf("write stdout = %d, %s", n, errno.Name())
	}
	got := make([]byte, 16)
	k, _ := outR.Read(got)
	if string(got[:k]) != "out put" {
		t.Errorf("stdout pipe got %q", got[:k])
	}
	s.FDWrite(bg, 2, [][]byte{[]byte("to a regular file\n")})
	if got := readFile(t, errFile.Name()); got != "to a regular file\n" {
		t.Errorf("stderr file = %q", got)
	}

	for _, tc := range []struct {
		fd       wasi.FD
		filetype wasi.Filetype
		seekable bool
	}{{0, wasi.FiletypeUnknown, false}, {1, wasi.FiletypeUnknown, false}, {2, wasi.FiletypeRegularFile, true}} {
		st, errno := s.FDStatGet(bg, tc.fd)
		if errno != 0 || st.Filetype != tc.filetype {
			t.Errorf("fdstat(%d) = %+v, %s", tc.fd, st, errno.Name())
		}
		if st.RightsBase.Has(wasi.RightFDSeek|wasi.RightFDTell) != tc.seekable {
			t.Errorf("fd %d seek rights = %v, want %v", tc.fd, !tc.seekable, tc.seekable)
		}
		fst, errno := s.FDFileStatGet(bg, tc.fd)
		if errno != 0 || fst.Filetype != tc.filetype || fst.Ino == 0 {
			t.Errorf("filestat(%d) = %+v, %s", tc.fd, fst, errno.Name())
		}
	}
	if pos, errno := s.FDTell(bg, 2); errno != 0 || pos != 18 {
		t.Errorf("tell on stderr file = %d, %s", pos, errno.Name())
	}
	_, errno = s.FDSeek(bg, 0, 0, wasi.WhenceSet)
	wantErrno(t, "seek stdin pipe", errno, wasi.ENOTCAPABLE)
	_, errno = s.FDRead(bg, 1, [][]byte{buf})
	wantErrno(t, "read stdout", errno, wasi.ENOTCAPABLE)
	_, errno = s.FDWrite(bg, 0, [][]byte{buf})
	wantErrno(t, "write stdin", errno, wasi.ENOTCAPABLE)

	// A nonblocking stdin is emulated: the host pipe stays blocking.
	wantErrno(t, "set stdin nonblock", s.FDStatSetFlags(bg, 0, wasi.FDFlagNonBlock), 0)
	_, errno = s.FDRead(bg, 0, [][]byte{buf})
	wantErrno(t, "read empty nonblocking stdin", errno, wasi.EAGAIN)
	if fl, _ := unix.FcntlInt(inR.Fd(), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
		t.Error("guest flag reached the host stdin")
	}
	if st, _ := s.FDStatGet(bg, 0); st.Flags != wasi.FDFlagNonBlock {
		t.Errorf("stdin flags = %v", st.Flags)
	}
	inW.WriteString("z")
	if n, errno := s.FDRead(bg, 0, [][]byte{buf}); n != 1 || errno != 0 {
		t.Errorf("read ready nonblocking stdin = %d, %s", n, errno.Name())
	}
}

func TestNullStdio(t *testing.T) {
	s := newSystem(t, Config{})
	n, errno := s.FDRead(bg, 0, [][]byte{make([]byte, 4)})
	if n != 0 || errno != 0 {
		t.Errorf("read null stdin = %d, %s; want EOF", n, errno.Name())
	}
	for _, fd := range []wasi.FD{1, 2} {
		n, errno := s.FDWrite(bg, fd, [][]byte{[]byte("abc"), []byte("de")})
		if n != 5 || errno != 0 {
			t.Errorf("write null fd %d = %d, %s", fd, n, errno.Name())
		}
		st, errno := s.FDStatGet(bg, fd)
		if errno != 0 || st.Filetype != wasi.FiletypeCharacterDevice || st.RightsBase.Has(wasi.RightFDSeek) {
			t.Errorf("fdstat null fd %d = %+v (isatty needs a char device without seek)", fd, st)
		}
		fst, errno := s.FDFileStatGet(bg, fd)
		if errno != 0 || fst.Filetype != wasi.FiletypeCharacterDevice {
			t.Errorf("filestat null fd %d = %+v, %s", fd, fst, errno.Name())
		}
	}
}

func TestFileIO(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	fd := f.open(t, mnt, "file", wasi.OFlagCreat|wasi.OFlagExcl, rwRights, 0)
	st, _ := s.FDStatGet(bg, fd)
	if st.Filetype != wasi.FiletypeRegularFile || st.RightsBase != rwRights&wasi.FileRights {
		t.Errorf("fdstat = %+v, want regular file with file rights", st)
	}
	check := func(what string, errno wasi.Errno) {
		t.Helper()
		wantErrno(t, what, errno, 0)
	}
	n, errno := s.FDWrite(bg, fd, [][]byte{[]byte("hello "), []byte("world")})
	check("write", errno)
	if n != 11 {
		t.Errorf("wrote %d", n)
	}
	pos, errno := s.FDTell(bg, fd)
	check("tell", errno)
	if pos != 11 {
		t.Errorf("tell = %d", pos)
	}
	n, errno = s.FDPwrite(bg, fd, [][]byte{[]byte("W")}, 6)
	check("pwrite", errno)
	if pos, _ := s.FDTell(bg, fd); pos != 11 || n != 1 {
		t.Errorf("pwrite moved the position to %d (n %d)", pos, n)
	}
	buf := make([]byte, 5)
	n, errno = s.FDPread(bg, fd, [][]byte{buf}, 6)
	check("pread", errno)
	if string(buf[:n]) != "World" {
		t.Errorf("pread = %q", buf[:n])
	}
	newPos, errno := s.FDSeek(bg, fd, -5, wasi.WhenceEnd)
	check("seek", errno)
	if newPos != 6 {
		t.Errorf("seek end-5 = %d", newPos)
	}
	n, _ = s.FDRead(bg, fd, [][]byte{buf[:2], buf[2:]})
	if string(buf[:n]) != "World" {
		t.Errorf("read = %q", buf[:n])
	}
	if n, errno := s.FDRead(bg, fd, [][]byte{buf}); n != 0 || errno != 0 {
		t.Errorf("read at EOF = %d, %s", n, errno.Name())
	}
	_, errno = s.FDSeek(bg, fd, -100, wasi.WhenceCur)
	wantErrno(t, "seek before start", errno, wasi.EINVAL)
	_, errno = s.FDSeek(bg, fd, 0, 7)
	wantErrno(t, "seek bad whence", errno, wasi.EINVAL)

	check("advise", s.FDAdvise(bg, fd, 0, 100, wasi.AdviceSequential))
	wantErrno(t, "advise bad", s.FDAdvise(bg, fd, 0, 100, 42), wasi.EINVAL)
	check("allocate", s.FDAllocate(bg, fd, 0, 4096))
	check("datasync", s.FDDataSync(bg, fd))
	check("sync", s.FDSync(bg, fd))
	fst, errno := s.FDFileStatGet(bg, fd)
	check("filestat", errno)
	if fst.Size != 4096 || fst.Filetype != wasi.FiletypeRegularFile || fst.NLink != 1 {
		t.Errorf("filestat after allocate = %+v", fst)
	}
	check("set size", s.FDFileStatSetSize(bg, fd, 5))
	if got := readFile(t, filepath.Join(f.dir, "file")); got != "hello" {
		t.Errorf("after set_size the file holds %q", got)
	}
	check("set times", s.FDFileStatSetTimes(bg, fd, 1e9, 2e9, wasi.FSTFlagAtim|wasi.FSTFlagMtim))
	fst, _ = s.FDFileStatGet(bg, fd)
	if fst.ATim != 1e9 || fst.MTim != 2e9 {
		t.Errorf("times = %d, %d", fst.ATim, fst.MTim)
	}
	check("set mtime now", s.FDFileStatSetTimes(bg, fd, 0, 0, wasi.FSTFlagMtimNow))
	fst, _ = s.FDFileStatGet(bg, fd)
	if fst.ATim != 1e9 || fst.MTim <= 2e9 {
		t.Errorf("after mtim_now (atim omitted) times = %d, %d", fst.ATim, fst.MTim)
	}
	wantErrno(t, "set times both", s.FDFileStatSetTimes(bg, fd, 1, 1, wasi.FSTFlagAtim|wasi.FSTFlagAtimNow), wasi.EINVAL)

	// Append mode can be switched on and off.
	check("set append", s.FDStatSetFlags(bg, fd, wasi.FDFlagAppend))
	s.FDSeek(bg, fd, 0, wasi.WhenceSet)
	s.FDWrite(bg, fd, [][]byte{[]byte("!")})
	if got := readFile(t, filepath.Join(f.dir, "file")); got != "hello!" {
		t.Errorf("append wrote %q", got)
	}
	if st, _ := s.FDStatGet(bg, fd); st.Flags != wasi.FDFlagAppend {
		t.Errorf("flags = %v", st.Flags)
	}
	check("clear append", s.FDStatSetFlags(bg, fd, 0))
	s.FDSeek(bg, fd, 0, wasi.WhenceSet)
	s.FDWrite(bg, fd, [][]byte{[]byte("J")})
	if got := readFile(t, filepath.Join(f.dir, "file")); got != "Jello!" {
		t.Errorf("write after clearing append gave %q", got)
	}
	wantErrno(t, "set sync", s.FDStatSetFlags(bg, fd, wasi.FDFlagSync), wasi.ENOTSUP)
	check("close", s.FDClose(bg, fd))

	// Opened with O_APPEND from the start.
	fd = f.open(t, mnt, "file", 0, rwRights, wasi.FDFlagAppend)
	s.FDWrite(bg, fd, [][]byte{[]byte("?")})
	if got := readFile(t, filepath.Join(f.dir, "file")); got != "Jello!?" {
		t.Errorf("append-opened write gave %q", got)
	}
	// O_TRUNC empties it.
	fd = f.open(t, mnt, "file", wasi.OFlagTrunc, rwRights, 0)
	if fst, _ := s.FDFileStatGet(bg, fd); fst.Size != 0 {
		t.Errorf("size after trunc = %d", fst.Size)
	}
}

func TestDirFD(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	os.Mkdir(filepath.Join(f.dir, "d"), 0o755)
	fd := f.open(t, mnt, "d", 0, readRights, 0) // no OFlagDirectory: still a dir fd
	st, _ := s.FDStatGet(bg, fd)
	if st.Filetype != wasi.FiletypeDirectory || st.RightsBase&^wasi.DirRights != 0 || !st.RightsBase.Has(wasi.RightPathOpen) {
		t.Errorf("dir fdstat = %+v", st)
	}
	_, errno := s.FDRead(bg, fd, [][]byte{make([]byte, 4)})
	wantErrno(t, "read dir", errno, wasi.EISDIR)
	_, errno = s.FDPread(bg, fd, [][]byte{make([]byte, 4)}, 0)
	wantErrno(t, "pread dir", errno, wasi.EISDIR)
	_, errno = s.FDWrite(bg, fd, [][]byte{[]byte("x")})
	wantErrno(t, "write dir", errno, wasi.EBADF)
	if pos, errno := s.FDSeek(bg, fd, 0, wasi.WhenceSet); pos != 0 || errno != 0 {
		t.Errorf("rewind dir = %d, %s", pos, errno.Name())
	}
	wantErrno(t, "sync dir", s.FDSync(bg, fd), 0)
	fst, errno := s.FDFileStatGet(bg, fd)
	if errno != 0 || fst.Filetype != wasi.FiletypeDirectory {
		t.Errorf("dir filestat = %+v, %s", fst, errno.Name())
	}
	// The new dir fd works as a base for paths.
	sub := f.open(t, fd, "new", wasi.OFlagCreat, rwRights, 0)
	if _, err := os.Stat(filepath.Join(f.dir, "d", "new")); err != nil || sub == 0 {
		t.Errorf("file created through a dir fd: %v", err)
	}
}

func TestFifoSeek(t *testing.T) {
	f := newFixture(t, false)
	if err := unix.Mkfifo(filepath.Join(f.dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	fd := f.open(t, mnt, "fifo", 0, readRights, wasi.FDFlagNonBlock)
	_, errno := f.s.FDSeek(bg, fd, 0, wasi.WhenceSet)
	wantErrno(t, "seek fifo", errno, wasi.ESPIPE)
	_, errno = f.s.FDTell(bg, fd)
	wantErrno(t, "tell fifo", errno, wasi.ESPIPE)
	_, errno = f.s.FDPread(bg, fd, [][]byte{make([]byte, 1)}, 0)
	wantErrno(t, "pread fifo", errno, wasi.ESPIPE)
}

func TestRights(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	writeFile(t, filepath.Join(f.dir, "f"), "data")
	fd := f.open(t, mnt, "f", 0, rwRights, 0)

	wantErrno(t, "add a right", s.FDStatSetRights(bg, fd, rwRights&wasi.FileRights|wasi.RightSockAccept, 0), wasi.ENOTCAPABLE)
	wantErrno(t, "drop write", s.FDStatSetRights(bg, fd, wasi.RightFDRead|wasi.RightFDFileStatGet, 0), 0)
	wantErrno(t, "regain write", s.FDStatSetRights(bg, fd, wasi.RightFDRead|wasi.RightFDWrite, 0), wasi.ENOTCAPABLE)
	for _, tc := range []struct {
		what  string
		errno wasi.Errno
	}{
		{"write", func() wasi.Errno { _, e := s.FDWrite(bg, fd, [][]byte{[]byte("x")}); return e }()},
		{"pwrite", func() wasi.Errno { _, e := s.FDPwrite(bg, fd, [][]byte{[]byte("x")}, 0); return e }()},
		{"seek", func() wasi.Errno { _, e := s.FDSeek(bg, fd, 1, wasi.WhenceSet); return e }()},
		{"tell", func() wasi.Errno { _, e := s.FDTell(bg, fd); return e }()},
		{"set size", s.FDFileStatSetSize(bg, fd, 0)},
		{"set times", s.FDFileStatSetTimes(bg, fd, 0, 0, wasi.FSTFlagMtimNow)},
		{"allocate", s.FDAllocate(bg, fd, 0, 1)},
		{"advise", s.FDAdvise(bg, fd, 0, 1, 0)},
		{"sync", s.FDSync(bg, fd)},
		{"datasync", s.FDDataSync(bg, fd)},
		{"set flags", s.FDStatSetFlags(bg, fd, wasi.FDFlagAppend)},
		{"readdir on a file", func() wasi.Errno {
			_, e := s.FDReadDir(bg, fd, make([]wasi.DirEntry, 1), 0, 100)
			return e
		}()},
	} {
		want := wasi.ENOTCAPABLE
		if tc.what == "readdir on a file" {
			want = wasi.ENOTDIR
		}
		wantErrno(t, tc.what, tc.errno, want)
	}
	if n, errno := s.FDRead(bg, fd, [][]byte{make([]byte, 4)}); n != 4 || errno != 0 {
		t.Errorf("read with the read right kept = %d, %s", n, errno.Name())
	}
	if got := readFile(t, filepath.Join(f.dir, "f")); got != "data" {
		t.Errorf("file changed to %q", got)
	}

	// Inheriting rights bound what path_open can grant.
	dfd := f.open(t, mnt, ".", wasi.OFlagDirectory, readRights, 0)
	st, _ := s.FDStatGet(bg, dfd)
	wantErrno(t, "narrow inheriting", s.FDStatSetRights(bg, dfd, st.RightsBase, st.RightsInheriting&^wasi.RightFDWrite), 0)
	nfd, errno := s.PathOpen(bg, dfd, 0, "f", 0, rwRights, rwRights, 0)
	if errno != 0 {
		t.Fatalf("open through narrowed dir: %s", errno.Name())
	}
	if st, _ := s.FDStatGet(bg, nfd); st.RightsBase.Has(wasi.RightFDWrite) || st.RightsInheriting.Has(wasi.RightFDWrite) {
		t.Errorf("write right leaked through a narrowed dir: %+v", st)
	}
	_, errno = s.FDWrite(bg, nfd, [][]byte{[]byte("x")})
	wantErrno(t, "write via narrowed dir", errno, wasi.ENOTCAPABLE)

	// A dir fd without path rights.
	st, _ = s.FDStatGet(bg, dfd)
	wantErrno(t, "drop path rights", s.FDStatSetRights(bg, dfd, wasi.RightFDReadDir, st.RightsInheriting), 0)
	for _, tc := range []struct {
		what  string
		errno wasi.Errno
	}{
		{"open", func() wasi.Errno { _, e := s.PathOpen(bg, dfd, 0, "f", 0, readRights, 0, 0); return e }()},
		{"create", func() wasi.Errno { _, e := s.PathOpen(bg, dfd, 0, "g", wasi.OFlagCreat, readRights, 0, 0); return e }()},
		{"mkdir", s.PathCreateDirectory(bg, dfd, "x")},
		{"stat", func() wasi.Errno { _, e := s.PathFileStatGet(bg, dfd, 0, "f"); return e }()},
		{"unlink", s.PathUnlinkFile(bg, dfd, "f")},
		{"rmdir", s.PathRemoveDirectory(bg, dfd, "x")},
		{"symlink", s.PathSymlink(bg, "f", dfd, "l")},
		{"rename", s.PathRename(bg, dfd, "f", dfd, "g")},
		{"link", s.PathLink(bg, dfd, 0, "f", dfd, "g")},
		{"readlink", func() wasi.Errno { _, e := s.PathReadLink(bg, dfd, "f", make([]byte, 8)); return e }()},
		{"set times", s.PathFileStatSetTimes(bg, dfd, 0, "f", 0, 0, wasi.FSTFlagMtimNow)},
	} {
		wantErrno(t, tc.what+" without the right", tc.errno, wasi.ENOTCAPABLE)
	}
	if _, errno := s.PathOpen(bg, nfd, 0, "f", 0, readRights, 0, 0); errno != wasi.ENOTDIR {
		t.Errorf("path_open on a file fd: %s, want ENOTDIR", errno.Name())
	}
}

func TestReadOnlyMount(t *testing.T) {
	f := newFixture(t, true)
	s := f.s
	writeFile(t, filepath.Join(f.roDir, "f"), "frozen")
	os.Mkdir(filepath.Join(f.roDir, "d"), 0o755)

	st, _ := s.FDStatGet(bg, roMnt)
	if st.RightsBase&mutatingRights != 0 || st.RightsInheriting&mutatingRights != 0 {
		t.Errorf("read-only preopen holds mutating rights: %+v", st)
	}
	fd := f.open(t, roMnt, "f", 0, readRights, 0)
	buf := make([]byte, 16)
	if n, _ := s.FDRead(bg, fd, [][]byte{buf}); string(buf[:n]) != "frozen" {
		t.Errorf("read %q", buf[:n])
	}
	if fl, _ := unix.FcntlInt(uintptr(s.lookup(fd).host), unix.F_GETFL, 0); fl&unix.O_ACCMODE != unix.O_RDONLY {
		t.Errorf("host fd opened with access mode %#x", fl&unix.O_ACCMODE)
	}
	for _, tc := range []struct {
		what  string
		errno wasi.Errno
	}{
		{"open for write", func() wasi.Errno { _, e := s.PathOpen(bg, roMnt, 0, "f", 0, rwRights, 0, 0); return e }()},
		{"create", func() wasi.Errno {
			_, e := s.PathOpen(bg, roMnt, 0, "new", wasi.OFlagCreat, readRights, 0, 0)
			return e
		}()},
		{"truncate", func() wasi.Errno { _, e := s.PathOpen(bg, roMnt, 0, "f", wasi.OFlagTrunc, readRights, 0, 0); return e }()},
		{"write", func() wasi.Errno { _, e := s.FDWrite(bg, fd, [][]byte{[]byte("x")}); return e }()},
		{"set size", s.FDFileStatSetSize(bg, fd, 0)},
		{"fd set times", s.FDFileStatSetTimes(bg, fd, 0, 0, wasi.FSTFlagMtimNow)},
		{"allocate", s.FDAllocate(bg, fd, 0, 10)},
		{"mkdir", s.PathCreateDirectory(bg, roMnt, "x")},
		{"unlink", s.PathUnlinkFile(bg, roMnt, "f")},
		{"rmdir", s.PathRemoveDirectory(bg, roMnt, "d")},
		{"symlink", s.PathSymlink(bg, "f", roMnt, "l")},
		{"rename within", s.PathRename(bg, roMnt, "f", roMnt, "g")},
		{"rename out", s.PathRename(bg, roMnt, "f", mnt, "g")},
		{"rename in", s.PathRename(bg, mnt, ".", roMnt, "g")},
		{"link out", s.PathLink(bg, roMnt, 0, "f", mnt, "g")},
		{"path set times", s.PathFileStatSetTimes(bg, roMnt, 0, "f", 0, 0, wasi.FSTFlagMtimNow)},
	} {
		wantErrno(t, tc.what, tc.errno, wasi.EROFS)
	}
	if got := readFile(t, filepath.Join(f.roDir, "f")); got != "frozen" {
		t.Errorf("read-only file changed to %q", got)
	}
	if entries, _ := os.ReadDir(f.roDir); len(entries) != 2 {
		t.Errorf("read-only mount has %d entries, want 2", len(entries))
	}
	if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
		t.Errorf("rw mount gained %d entries", len(entries))
	}
	// Reading is still allowed everywhere.
	if _, errno := s.PathFileStatGet(bg, roMnt, 0, "d"); errno != 0 {
		t.Errorf("stat on ro mount: %s", errno.Name())
	}
	if n, errno := s.FDReadDir(bg, roMnt, make([]wasi.DirEntry, 8), 0, 4096); n != 4 || errno != 0 {
		t.Errorf("readdir on ro mount = %d, %s", n, errno.Name())
	}
}
