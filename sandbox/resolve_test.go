package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/timelake/timelake/wasi"
)

// readAll opens path under fd (following symlinks) and returns its content,
// or the errno of the open.
func readThrough(t *testing.T, s *System, fd wasi.FD, path string) (string, wasi.Errno) {
	t.Helper()
	nfd, errno := s.PathOpen(bg, fd, wasi.LookupSymlinkFollow, path, 0, readRights, 0, 0)
	if errno != 0 {
		return "", errno
	}
	defer s.FDClose(bg, nfd)
	buf := make([]byte, 64)
	n, errno := s.FDRead(bg, nfd, [][]byte{buf})
	if errno != 0 {
		t.Fatalf("read %q: %s", path, errno.Name())
	}
	return string(buf[:n]), wasi.ESUCCESS
}

// TestAbsoluteSymlinks follows symlinks whose targets are guest paths: into
// the mount holding them, never out of every mount, and under the policy
// of the mount they lead into.
func TestAbsoluteSymlinks(t *testing.T) {
	f := newFixture(t, true)
	s := f.s
	host := func(p string) string { return filepath.Join(f.dir, p) }
	writeFile(t, host("file"), "inside")
	os.Mkdir(host("dir"), 0o755)
	writeFile(t, host("dir/inner"), "inner")
	writeFile(t, filepath.Join(f.roDir, "rofile"), "readonly")
	for link, target := range map[string]string{
		"absfile":  "/data/file",
		"absdir":   "/data/dir",
		"absroot":  "/data",
		"slashes":  "/data//dir/./inner",
		"c1":       "/data/c2", // a chain mixing absolute and relative targets
		"c2":       "dir/../c3",
		"c3":       "/data/file",
		"dangle":   "/data/created",
		"toro":     "/ro/rofile",
		"torodir":  "/ro",
		"loopa":    "/data/loopb",
		"loopb":    "/data/loopa",
		"nowhere":  "/elsewhere/file",
		"prefix":   "/datax/file", // /data is a prefix of the string, not of the path
		"dotdot":   "/data/../outside.txt",
		"deep":     "/data/dir/../../outside.txt",
		"hostpath": f.outside,
		"hostroot": "/",
		"dir/up":   "/data/dir/../file",
	} {
		if err := os.Symlink(target, host(link)); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("read", func(t *testing.T) {
		for _, tc := range []struct {
			path, want string
			errno      wasi.Errno
		}{
			{"absfile", "inside", 0},
			{"absdir/inner", "inner", 0},
			{"absdir/../file", "inside", 0},
			{"absroot/dir/inner", "inner", 0},
			{"slashes", "inner", 0},
			{"dir/up", "inside", 0},
			{"c1", "inside", 0},
			{"absdir/../absdir/inner", "inner", 0},
			{"toro", "readonly", 0},
			{"torodir/rofile", "readonly", 0},
			{"loopa", "", wasi.ELOOP},
			{"absfile/x", "", wasi.ENOTDIR},
			{"absdir/missing", "", wasi.ENOENT},
			{"nowhere", "", wasi.ENOTCAPABLE},
			{"prefix", "", wasi.ENOTCAPABLE},
			{"dotdot", "", wasi.ENOTCAPABLE},
			{"deep", "", wasi.ENOTCAPABLE},
			{"hostpath", "", wasi.ENOTCAPABLE},
			{"hostroot", "", wasi.ENOTCAPABLE},
			{"absdir/../../outside.txt", "", wasi.ENOTCAPABLE},
			{"torodir/../outside.txt", "", wasi.ENOTCAPABLE},
		} {
			got, errno := readThrough(t, s, mnt, tc.path)
			wantErrno(t, "open "+tc.path, errno, tc.errno)
			if got != tc.want {
				t.Errorf("open %q read %q, want %q", tc.path, got, tc.want)
			}
		}
	})

	t.Run("stat", func(t *testing.T) {
		for _, tc := range []struct {
			path     string
			flags    wasi.LookupFlags
			filetype wasi.Filetype
			errno    wasi.Errno
		}{
			{"absfile", wasi.LookupSymlinkFollow, wasi.FiletypeRegularFile, 0},
			{"absfile", 0, wasi.FiletypeSymbolicLink, 0},
			{"absdir", 0, wasi.FiletypeSymbolicLink, 0},
			{"absdir/", 0, wasi.FiletypeDirectory, 0}, // a trailing slash follows
			{"absdir/.", 0, wasi.FiletypeDirectory, 0},
			{"absdir/inner", 0, wasi.FiletypeRegularFile, 0},
			{"c1", 0, wasi.FiletypeSymbolicLink, 0},
			{"absfile/", 0, 0, wasi.ENOTDIR},
			{"dangle", wasi.LookupSymlinkFollow, 0, wasi.ENOENT},
			{"nowhere", wasi.LookupSymlinkFollow, 0, wasi.ENOTCAPABLE},
			{"nowhere", 0, wasi.FiletypeSymbolicLink, 0},
			{"loopa/", 0, 0, wasi.ELOOP},
		} {
			st, errno := s.PathFileStatGet(bg, mnt, tc.flags, tc.path)
			wantErrno(t, fmt.Sprintf("stat %q flags %d", tc.path, tc.flags), errno, tc.errno)
			if errno == 0 && st.Filetype != tc.filetype {
				t.Errorf("stat %q flags %d: filetype %d, want %d", tc.path, tc.flags, st.Filetype, tc.filetype)
			}
		}
	})

	t.Run("mutate", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			op    func() wasi.Errno
			want  wasi.Errno
			check func() bool
		}{
			{"mkdir through", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "absdir/made") }, 0,
				func() bool { fi, err := os.Stat(host("dir/made")); return err == nil && fi.IsDir() }},
			{"symlink through", func() wasi.Errno { return s.PathSymlink(bg, "inner", mnt, "absdir/sl") }, 0,
				func() bool { t, _ := os.Readlink(host("dir/sl")); return t == "inner" }},
			{"rename through", func() wasi.Errno { return s.PathRename(bg, mnt, "absdir/sl", mnt, "absroot/sl2") }, 0,
				func() bool { _, err := os.Lstat(host("sl2")); return err == nil }},
			{"link follow", func() wasi.Errno { return s.PathLink(bg, mnt, wasi.LookupSymlinkFollow, "c1", mnt, "absdir/hard") }, 0,
				func() bool { return readFile(t, host("dir/hard")) == "inside" }},
			{"unlink through", func() wasi.Errno { return s.PathUnlinkFile(bg, mnt, "absdir/hard") }, 0,
				func() bool { _, err := os.Lstat(host("dir/hard")); return os.IsNotExist(err) }},
			{"rmdir through", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, "absdir/made") }, 0,
				func() bool { _, err := os.Lstat(host("dir/made")); return os.IsNotExist(err) }},
			{"set times through", func() wasi.Errno {
				return s.PathFileStatSetTimes(bg, mnt, wasi.LookupSymlinkFollow, "c1", 0, 7e9, wasi.FSTFlagMtim)
			}, 0, func() bool { fi, _ := os.Stat(host("file")); return fi.ModTime().UnixNano() == 7e9 }},

			// The read-only mount stays read-only when reached by a symlink.
			{"write into ro", func() wasi.Errno {
				_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "toro", 0, rwRights, 0, 0)
				return e
			}, wasi.EROFS, nil},
			{"truncate in ro", func() wasi.Errno {
				_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "toro", wasi.OFlagTrunc, readRights, 0, 0)
				return e
			}, wasi.EROFS, func() bool { return readFile(t, filepath.Join(f.roDir, "rofile")) == "readonly" }},
			{"create in ro", func() wasi.Errno {
				_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "torodir/new", wasi.OFlagCreat, readRights, 0, 0)
				return e
			}, wasi.EROFS, nil},
			{"mkdir in ro", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "torodir/new") }, wasi.EROFS, nil},
			{"unlink in ro", func() wasi.Errno { return s.PathUnlinkFile(bg, mnt, "torodir/rofile") }, wasi.EROFS, nil},
			{"rename into ro", func() wasi.Errno { return s.PathRename(bg, mnt, "file", mnt, "torodir/stolen") }, wasi.EROFS, nil},
			{"link from ro", func() wasi.Errno { return s.PathLink(bg, mnt, wasi.LookupSymlinkFollow, "toro", mnt, "rolink") }, wasi.EROFS, nil},
			{"set times in ro", func() wasi.Errno {
				return s.PathFileStatSetTimes(bg, mnt, wasi.LookupSymlinkFollow, "toro", 0, 1, wasi.FSTFlagMtim)
			}, wasi.EROFS, nil},

			// Outside every mount nothing is reached.
			{"create nowhere", func() wasi.Errno {
				_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "hostroot/tmp/x", wasi.OFlagCreat, rwRights, 0, 0)
				return e
			}, wasi.ENOTCAPABLE, nil},
			{"mkdir nowhere", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "dotdot/x") }, wasi.ENOTCAPABLE, nil},

			// Creating through a dangling absolute symlink creates its target.
			{"create via dangling", func() wasi.Errno {
				nfd, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "dangle", wasi.OFlagCreat, rwRights, 0, 0)
				if e == 0 {
					s.FDWrite(bg, nfd, [][]byte{[]byte("new")})
					s.FDClose(bg, nfd)
				}
				return e
			}, 0, func() bool { return readFile(t, host("created")) == "new" }},
			{"excl via dangling", func() wasi.Errno {
				os.Remove(host("created"))
				_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "dangle", wasi.OFlagCreat|wasi.OFlagExcl, rwRights, 0, 0)
				return e
			}, wasi.EEXIST, func() bool { _, err := os.Lstat(host("created")); return os.IsNotExist(err) }},
		} {
			wantErrno(t, tc.name, tc.op(), tc.want)
			if tc.check != nil && !tc.check() {
				t.Errorf("%s: host state not as expected", tc.name)
			}
		}
		if entries, _ := os.ReadDir(f.roDir); len(entries) != 1 {
			t.Errorf("read-only mount has %d entries, want 1", len(entries))
		}
		f.outsideIntact(t)
	})

	t.Run("fd opened through a symlink into ro", func(t *testing.T) {
		dfd, errno := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "torodir/", wasi.OFlagDirectory, readRights, wasi.AllRights, 0)
		if errno != 0 {
			t.Fatalf("open torodir: %s", errno.Name())
		}
		defer s.FDClose(bg, dfd)
		st, _ := s.FDStatGet(bg, dfd)
		if st.RightsBase&mutatingRights != 0 || st.RightsInheriting&mutatingRights != 0 {
			t.Errorf("fd into the read-only mount holds mutating rights: %+v", st)
		}
		wantErrno(t, "mkdir below it", s.PathCreateDirectory(bg, dfd, "x"), wasi.EROFS)
	})

	t.Run("from a subdirectory fd", func(t *testing.T) {
		dfd := f.open(t, mnt, "dir", wasi.OFlagDirectory, readRights, 0)
		defer s.FDClose(bg, dfd)
		os.Symlink("/data/file", host("dir/abs"))
		if got, errno := readThrough(t, s, dfd, "abs"); errno != 0 || got != "inside" {
			t.Errorf("abs from dir fd = %q, %s", got, errno.Name())
		}
		// ".." above the fd a lookup started from stays refused.
		_, errno := readThrough(t, s, dfd, "../file")
		wantErrno(t, "../file from dir fd", errno, wasi.ENOTCAPABLE)
		_, errno = readThrough(t, s, dfd, "abs/../../file")
		wantErrno(t, "through a file", errno, wasi.ENOTDIR)
	})

	t.Run("closed preopen", func(t *testing.T) {
		wantErrno(t, "close ro preopen", s.FDClose(bg, roMnt), 0)
		_, errno := readThrough(t, s, mnt, "toro")
		wantErrno(t, "symlink into a closed mount", errno, wasi.ENOTCAPABLE)
	})
}

// TestSymlinkLimit follows chains of absolute symlinks up to Linux's limit.
func TestSymlinkLimit(t *testing.T) {
	f := newFixture(t, false)
	writeFile(t, filepath.Join(f.dir, "file"), "end")
	// n0 -> /data/n1 -> ... -> /data/n40 -> /data/file: 41 links from n0.
	for i := 0; i <= maxSymlinks; i++ {
		target := fmt.Sprintf("/data/n%d", i+1)
		if i == maxSymlinks {
			target = "/data/file"
		}
		if err := os.Symlink(target, filepath.Join(f.dir, fmt.Sprintf("n%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got, errno := readThrough(t, f.s, mnt, "n1"); errno != 0 || got != "end" {
		t.Errorf("40 links: %q, %s", got, errno.Name())
	}
	_, errno := readThrough(t, f.s, mnt, "n0")
	wantErrno(t, "41 links", errno, wasi.ELOOP)
}

// TestMountTable resolves absolute targets against the longest guest prefix
// among the preopens, whatever the host layout.
func TestMountTable(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	for _, d := range []string{a, b, filepath.Join(a, "data"), filepath.Join(a, "dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(a, "data", "f"), "shadowed")
	writeFile(t, filepath.Join(b, "f"), "mounted")
	writeFile(t, filepath.Join(a, "top"), "top")
	for link, target := range map[string]string{
		"tob":      "/data/f", // the /data mount, not a/data
		"toa":      "/top",    // the / mount
		"up":       "/data/../top",
		"dirlink":  "/dir",
		"relfirst": "dir/../tob",
	} {
		if err := os.Symlink(target, filepath.Join(a, link)); err != nil {
			t.Fatal(err)
		}
	}
	s := newSystem(t, Config{Mounts: []Mount{
		{HostPath: a, GuestPath: "/"},
		{HostPath: b, GuestPath: "/data"},
		{HostPath: b, GuestPath: "."}, // relative: holds no absolute path
	}})
	for _, tc := range []struct {
		path, want string
		errno      wasi.Errno
	}{
		{"tob", "mounted", 0},
		{"toa", "top", 0},
		{"relfirst", "mounted", 0},
		{"dirlink/../top", "top", 0},
		{"up", "", wasi.ENOTCAPABLE}, // ".." above the /data mount's root
	} {
		got, errno := readThrough(t, s, 3, tc.path)
		wantErrno(t, "open "+tc.path, errno, tc.errno)
		if got != tc.want {
			t.Errorf("open %q read %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestTruncateRights creates and truncates through a directory fd opened
// with the rights Go's os.Root asks for, which lack path_filestat_set_size;
// on a read-only mount truncation stays EROFS.
func TestTruncateRights(t *testing.T) {
	f := newFixture(t, true)
	s := f.s
	os.MkdirAll(filepath.Join(f.dir, "dir"), 0o755)
	writeFile(t, filepath.Join(f.dir, "dir", "old"), "old content")
	writeFile(t, filepath.Join(f.roDir, "rofile"), "readonly")
	goDirRights := readRights &^ wasi.RightPathFileStatSetSize
	dfd, errno := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "dir", wasi.OFlagDirectory, goDirRights, wasi.FileRights, 0)
	if errno != 0 {
		t.Fatalf("open dir: %s", errno.Name())
	}
	for _, name := range []string{"new", "old"} {
		nfd, errno := s.PathOpen(bg, dfd, wasi.LookupSymlinkFollow, name, wasi.OFlagCreat|wasi.OFlagTrunc, rwRights, 0, 0)
		if errno != 0 {
			t.Fatalf("create+truncate %s: %s", name, errno.Name())
		}
		s.FDWrite(bg, nfd, [][]byte{[]byte("x")})
		s.FDClose(bg, nfd)
		if got := readFile(t, filepath.Join(f.dir, "dir", name)); got != "x" {
			t.Errorf("%s = %q, want %q", name, got, "x")
		}
	}
	_, errno = s.PathOpen(bg, roMnt, 0, "rofile", wasi.OFlagTrunc, readRights, 0, 0)
	wantErrno(t, "truncate on the read-only mount", errno, wasi.EROFS)
	if got := readFile(t, filepath.Join(f.roDir, "rofile")); got != "readonly" {
		t.Errorf("read-only file = %q", got)
	}
}
