package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Mount
		err  bool
	}{
		{spec: "/tmp/x", want: Mount{HostPath: "/tmp/x", GuestPath: "/tmp/x"}},
		{spec: "/tmp/x:/data", want: Mount{HostPath: "/tmp/x", GuestPath: "/data"}},
		{spec: "/tmp/x:/data:ro", want: Mount{HostPath: "/tmp/x", GuestPath: "/data", ReadOnly: true}},
		{spec: "/tmp/x:/data:rw", want: Mount{HostPath: "/tmp/x", GuestPath: "/data"}},
		{spec: "/tmp/x:ro", want: Mount{HostPath: "/tmp/x", GuestPath: "/tmp/x", ReadOnly: true}},
		{spec: "/tmp/x::ro", want: Mount{HostPath: "/tmp/x", GuestPath: "/tmp/x", ReadOnly: true}},
		{spec: ".:/app/", want: Mount{HostPath: ".", GuestPath: "/app"}},
		{spec: "", err: true},
		{spec: ":/data", err: true},
		{spec: "/a:/b:rx", err: true},
		{spec: "/a:/b:ro:x", err: true},
	} {
		got, err := ParseMount(tc.spec)
		if tc.err {
			if !errors.Is(err, ErrBadMount) {
				t.Errorf("ParseMount(%q) error %v, want ErrBadMount", tc.spec, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMount(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	writeFile(t, file, "x")
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing mount", Config{Mounts: []Mount{{HostPath: dir, GuestPath: "/a"}, {HostPath: dir + "/nope", GuestPath: "/b"}}}, "mount " + dir + "/nope"},
		{"file mount", Config{Mounts: []Mount{{HostPath: file, GuestPath: "/f"}}}, "mount " + file},
		{"max below preopens", Config{MaxOpenFiles: 3, Mounts: []Mount{{HostPath: dir, GuestPath: "/a"}}}, "MaxOpenFiles 3"},
	} {
		s, err := New(tc.cfg)
		if err == nil {
			s.Close(bg)
			t.Errorf("%s: New succeeded", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
	}
}

func TestArgsEnv(t *testing.T) {
	s := newSystem(t, Config{Args: []string{"app", "-v", ""}, Env: []string{"A=1", "HOME=/data"}})
	argc, size, errno := s.ArgsSizesGet(bg)
	if argc != 3 || size != 4+3+1 || errno != 0 {
		t.Errorf("args_sizes_get = %d, %d, %s", argc, size, errno.Name())
	}
	args, _ := s.ArgsGet(bg)
	if strings.Join(args, ",") != "app,-v," {
		t.Errorf("args = %q", args)
	}
	count, size, _ := s.EnvironSizesGet(bg)
	if count != 2 || size != 4+11 {
		t.Errorf("environ_sizes_get = %d, %d", count, size)
	}
	env, _ := s.EnvironGet(bg)
	if strings.Join(env, ",") != "A=1,HOME=/data" {
		t.Errorf("env = %q", env)
	}

	// Nothing of the host leaks into an empty config.
	empty := newSystem(t, Config{})
	if n, size, _ := empty.EnvironSizesGet(bg); n != 0 || size != 0 {
		t.Errorf("empty config has %d env vars", n)
	}
	if _, errno := empty.FDPrestatGet(bg, 3); errno != wasi.EBADF {
		t.Errorf("empty config has a preopen (errno %s)", errno.Name())
	}
}

func TestClocks(t *testing.T) {
	s := newSystem(t, Config{})
	before := time.Now().UnixNano()
	rt, errno := s.ClockTimeGet(bg, wasi.ClockRealtime, 1)
	after := time.Now().UnixNano()
	if errno != 0 || int64(rt) < before || int64(rt) > after {
		t.Errorf("realtime %d not within [%d, %d] (%s)", rt, before, after, errno.Name())
	}
	m1, _ := s.ClockTimeGet(bg, wasi.ClockMonotonic, 0)
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	m2, _ := s.ClockTimeGet(bg, wasi.ClockMonotonic, 0)
	if m1 == 0 || m2 < m1 {
		t.Errorf("monotonic went from %d to %d", m1, m2)
	}
	for _, id := range []wasi.ClockID{wasi.ClockRealtime, wasi.ClockMonotonic, wasi.ClockProcessCPUTimeID, wasi.ClockThreadCPUTimeID} {
		res, errno := s.ClockResGet(bg, id)
		if errno != 0 || res == 0 {
			t.Errorf("clock_res_get(%d) = %d, %s", id, res, errno.Name())
		}
		v, errno := s.ClockTimeGet(bg, id, 0)
		if errno != 0 || v == 0 {
			t.Errorf("clock_time_get(%d) = %d, %s", id, v, errno.Name())
		}
	}
	_, errno = s.ClockTimeGet(bg, 9, 0)
	wantErrno(t, "clock_time_get(9)", errno, wasi.EINVAL)
	_, errno = s.ClockResGet(bg, 9)
	wantErrno(t, "clock_res_get(9)", errno, wasi.EINVAL)
}

func TestRandomProcSched(t *testing.T) {
	s := newSystem(t, Config{})
	a, b := make([]byte, 32), make([]byte, 32)
	if s.RandomGet(bg, a) != 0 || s.RandomGet(bg, b) != 0 || string(a) == string(b) {
		t.Errorf("random_get gave %x then %x", a, b)
	}
	if _, exited := s.ExitCode(); exited {
		t.Error("exited before proc_exit")
	}
	if errno := s.ProcExit(bg, 42); errno != 0 {
		t.Errorf("proc_exit: %s", errno.Name())
	}
	if code, exited := s.ExitCode(); code != 42 || !exited {
		t.Errorf("ExitCode = %d, %v", code, exited)
	}
	wantErrno(t, "proc_raise", s.ProcRaise(bg, 9), wasi.ENOSYS)
	wantErrno(t, "sched_yield", s.SchedYield(bg), wasi.ESUCCESS)
}

func TestSockets(t *testing.T) {
	s := newSystem(t, Config{})
	for _, tc := range []struct {
		fd   wasi.FD
		want wasi.Errno
	}{{1, wasi.ENOTSOCK}, {77, wasi.EBADF}} {
		_, errno := s.SockAccept(bg, tc.fd, 0)
		wantErrno(t, fmt.Sprint("sock_accept ", tc.fd), errno, tc.want)
		_, _, errno = s.SockRecv(bg, tc.fd, [][]byte{make([]byte, 4)}, 0)
		wantErrno(t, fmt.Sprint("sock_recv ", tc.fd), errno, tc.want)
		_, errno = s.SockSend(bg, tc.fd, [][]byte{[]byte("x")}, 0)
		wantErrno(t, fmt.Sprint("sock_send ", tc.fd), errno, tc.want)
		wantErrno(t, fmt.Sprint("sock_shutdown ", tc.fd), s.SockShutdown(bg, tc.fd, wasi.ShutdownWR), tc.want)
	}
}

func TestErrno(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want wasi.Errno
	}{
		{nil, wasi.ESUCCESS},
		{unix.ENOENT, wasi.ENOENT},
		{&fs.PathError{Op: "open", Path: "/x", Err: unix.EACCES}, wasi.EACCES},
		{fmt.Errorf("wrapped: %w", unix.ENOTEMPTY), wasi.ENOTEMPTY},
		{unix.EWOULDBLOCK, wasi.EAGAIN},
		{unix.EOPNOTSUPP, wasi.ENOTSUP},
		{unix.EXDEV, wasi.EXDEV},
		{wasi.ENOTCAPABLE, wasi.ENOTCAPABLE},
		{unix.Errno(200), wasi.EIO},
		{errors.New("anything"), wasi.EIO},
	} {
		if got := Errno(tc.err); got != tc.want {
			t.Errorf("Errno(%v) = %s, want %s", tc.err, got.Name(), tc.want.Name())
		}
	}
	if got := resolveErrno(unix.EXDEV); got != wasi.ENOTCAPABLE {
		t.Errorf("resolveErrno(EXDEV) = %s", got.Name())
	}
}

func TestFDTable(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	for _, name := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(f.dir, name), name)
	}
	pre, errno := s.FDPrestatGet(bg, mnt)
	if errno != 0 || pre.NameLen != 5 || pre.Type != wasi.PreopenDir {
		t.Errorf("prestat = %+v, %s", pre, errno.Name())
	}
	if name, _ := s.FDPrestatDirName(bg, mnt); name != "/data" {
		t.Errorf("prestat dir name %q", name)
	}
	a := f.open(t, mnt, "a", 0, readRights, 0)
	b := f.open(t, mnt, "b", 0, readRights, 0)
	if a != 4 || b != 5 {
		t.Fatalf("opened fds %d, %d; want 4, 5", a, b)
	}
	if _, errno := s.FDPrestatGet(bg, a); errno != wasi.EBADF {
		t.Errorf("prestat of a file: %s, want EBADF", errno.Name())
	}
	// The lowest free fd is reused.
	wantErrno(t, "close a", s.FDClose(bg, a), 0)
	wantErrno(t, "close a twice", s.FDClose(bg, a), wasi.EBADF)
	if c := f.open(t, mnt, "c", 0, readRights, 0); c != a {
		t.Errorf("reopened fd %d, want %d", c, a)
	}
	// Renumber moves b onto 4 (which held c), freeing 5.
	wantErrno(t, "renumber", s.FDRenumber(bg, b, a), 0)
	buf := make([]byte, 8)
	n, errno := s.FDRead(bg, a, [][]byte{buf})
	if errno != 0 || string(buf[:n]) != "b" {
		t.Errorf("fd %d after renumber reads %q (%s), want b", a, buf[:n], errno.Name())
	}
	wantErrno(t, "renumber from closed", s.FDRenumber(bg, b, a), wasi.EBADF)
	wantErrno(t, "renumber to closed", s.FDRenumber(bg, a, 99), wasi.EBADF)
	wantErrno(t, "renumber to itself", s.FDRenumber(bg, a, a), 0)
	if _, errno := s.FDStatGet(bg, b); errno != wasi.EBADF {
		t.Errorf("fdstat of renumbered-away fd: %s", errno.Name())
	}
	for _, fd := range []wasi.FD{99, 1 << 31, ^wasi.FD(0)} {
		_, errno := s.FDWrite(bg, fd, [][]byte{[]byte("x")})
		wantErrno(t, fmt.Sprint("write fd ", fd), errno, wasi.EBADF)
	}
}

func TestMaxOpenFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "f"), "x")
	s := newSystem(t, Config{MaxOpenFiles: 6, Mounts: []Mount{{HostPath: dir, GuestPath: "/"}}})
	open := func() (wasi.FD, wasi.Errno) {
		return s.PathOpen(bg, 3, 0, "f", 0, readRights, 0, 0)
	}
	var fds []wasi.FD
	for range 2 { // 3 stdio + 1 preopen + 2 = 6
		fd, errno := open()
		if errno != 0 {
			t.Fatalf("open: %s", errno.Name())
		}
		fds = append(fds, fd)
	}
	_, errno := open()
	wantErrno(t, "open beyond the bound", errno, wasi.EMFILE)
	s.FDClose(bg, fds[0])
	if _, errno := open(); errno != 0 {
		t.Errorf("open after close: %s", errno.Name())
	}
	// Closing stdio frees a slot too, and the lowest one is reused.
	s.FDClose(bg, 0)
	if fd, errno := open(); fd != 0 || errno != 0 {
		t.Errorf("open after closing stdin = %d, %s; want 0", fd, errno.Name())
	}
}

func TestCloseLeavesHostStdio(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	f := newFixture(t, false)
	s, err := New(Config{Stdout: out, Mounts: []Mount{{HostPath: f.dir, GuestPath: "/"}}})
	if err != nil {
		t.Fatal(err)
	}
	fd, _ := s.PathOpen(bg, 3, 0, "x", wasi.OFlagCreat, rwRights, 0, 0)
	host := s.lookup(fd).host
	s.FDWrite(bg, 1, [][]byte{[]byte("guest\n")})
	if err := s.Close(bg); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(bg); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := unix.FcntlInt(uintptr(host), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("guest file's host fd still open after Close (%v)", err)
	}
	if _, err := out.WriteString("host\n"); err != nil {
		t.Fatalf("host stdout closed by Close: %v", err)
	}
	if got := readFile(t, out.Name()); got != "guest\nhost\n" {
		t.Errorf("stdout file = %q", got)
	}
}
