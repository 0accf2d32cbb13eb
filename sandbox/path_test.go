package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/timelake/timelake/wasi"
)

func TestPathOps(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	host := func(p string) string { return filepath.Join(f.dir, p) }
	writeFile(t, host("file"), "content")
	os.Mkdir(host("dir"), 0o755)
	writeFile(t, host("dir/inner"), "in")
	os.Symlink("file", host("link"))
	os.Symlink("dir", host("dirlink"))
	os.Symlink("missing", host("dangling"))

	exists := func(p string) bool { _, err := os.Lstat(host(p)); return err == nil }

	for _, tc := range []struct {
		name  string
		op    func() wasi.Errno
		want  wasi.Errno
		check func() bool // the host state after the call
	}{
		{"mkdir", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "newdir") }, 0, func() bool { return exists("newdir") }},
		{"mkdir nested", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "dir/sub/") }, 0, func() bool { return exists("dir/sub") }},
		{"mkdir existing", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "file") }, wasi.EEXIST, nil},
		{"mkdir missing parent", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "no/x") }, wasi.ENOENT, nil},
		{"mkdir through file", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "file/x") }, wasi.ENOTDIR, nil},
		{"mkdir .", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, ".") }, wasi.EEXIST, nil},
		{"mkdir dir/..", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "dir/..") }, wasi.EEXIST, nil},
		{"mkdir empty", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "") }, wasi.ENOENT, nil},
		{"mkdir on dangling symlink", func() wasi.Errno { return s.PathCreateDirectory(bg, mnt, "dangling") }, wasi.EEXIST, func() bool { return !exists("missing") }},

		{"rmdir", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, "newdir/") }, 0, func() bool { return !exists("newdir") }},
		{"rmdir not empty", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, "dir") }, wasi.ENOTEMPTY, nil},
		{"rmdir file", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, "file") }, wasi.ENOTDIR, nil},
		{"rmdir symlink to dir", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, "dirlink") }, wasi.ENOTDIR, nil},
		{"rmdir .", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, ".") }, wasi.EINVAL, nil},
		{"rmdir dir/..", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, "dir/..") }, wasi.ENOTEMPTY, nil},
		{"rmdir missing", func() wasi.Errno { return s.PathRemoveDirectory(bg, mnt, "nope") }, wasi.ENOENT, nil},

		{"unlink dir", func() wasi.Errno { return s.PathUnlinkFile(bg, mnt, "dir") }, wasi.EISDIR, nil},
		{"unlink trailing slash", func() wasi.Errno { return s.PathUnlinkFile(bg, mnt, "file/") }, wasi.ENOTDIR, func() bool { return exists("file") }},
		{"unlink ..", func() wasi.Errno { return s.PathUnlinkFile(bg, mnt, "dir/..") }, wasi.EISDIR, nil},
		{"unlink symlink not target", func() wasi.Errno { return s.PathUnlinkFile(bg, mnt, "dirlink") }, 0, func() bool { return !exists("dirlink") && exists("dir/inner") }},
		{"unlink missing", func() wasi.Errno { return s.PathUnlinkFile(bg, mnt, "nope") }, wasi.ENOENT, nil},

		{"symlink", func() wasi.Errno { return s.PathSymlink(bg, "dir/inner", mnt, "sl") }, 0, func() bool { t, _ := os.Readlink(host("sl")); return t == "dir/inner" }},
		{"symlink existing", func() wasi.Errno { return s.PathSymlink(bg, "x", mnt, "file") }, wasi.EEXIST, nil},
		{"symlink onto .", func() wasi.Errno { return s.PathSymlink(bg, "x", mnt, ".") }, wasi.EEXIST, nil},
		{"symlink trailing slash", func() wasi.Errno { return s.PathSymlink(bg, "x", mnt, "nl/") }, wasi.ENOENT, nil},

		{"link", func() wasi.Errno { return s.PathLink(bg, mnt, 0, "file", mnt, "dir/hard") }, 0, func() bool { return readFile(t, host("dir/hard")) == "content" }},
		{"link symlink itself", func() wasi.Errno { return s.PathLink(bg, mnt, 0, "link", mnt, "link2") }, 0, func() bool { t, _ := os.Readlink(host("link2")); return t == "file" }},
		{"link follow", func() wasi.Errno { return s.PathLink(bg, mnt, wasi.LookupSymlinkFollow, "link", mnt, "hard2") }, 0, func() bool { fi, _ := os.Lstat(host("hard2")); return fi != nil && fi.Mode().IsRegular() }},
		{"link dir", func() wasi.Errno { return s.PathLink(bg, mnt, 0, "dir", mnt, "dir2") }, wasi.EPERM, nil},
		{"link .", func() wasi.Errno { return s.PathLink(bg, mnt, 0, ".", mnt, "dot") }, wasi.EPERM, nil},
		{"link existing", func() wasi.Errno { return s.PathLink(bg, mnt, 0, "file", mnt, "link") }, wasi.EEXIST, nil},

		{"rename file", func() wasi.Errno { return s.PathRename(bg, mnt, "dir/hard", mnt, "moved") }, 0, func() bool { return exists("moved") && !exists("dir/hard") }},
		{"rename over symlink", func() wasi.Errno { return s.PathRename(bg, mnt, "moved", mnt, "link") }, 0, func() bool { return !exists("moved") && readFile(t, host("link")) == "content" }},
		{"rename dir", func() wasi.Errno { return s.PathRename(bg, mnt, "dir/sub", mnt, "sub2/") }, 0, func() bool { return exists("sub2") }},
		{"rename file onto dir", func() wasi.Errno { return s.PathRename(bg, mnt, "hard2", mnt, "dir") }, wasi.EISDIR, nil},
		{"rename dir onto non-empty", func() wasi.Errno { return s.PathRename(bg, mnt, "sub2", mnt, "dir") }, wasi.ENOTEMPTY, nil},
		{"rename missing", func() wasi.Errno { return s.PathRename(bg, mnt, "nope", mnt, "x") }, wasi.ENOENT, nil},
		{"rename .", func() wasi.Errno { return s.PathRename(bg, mnt, ".", mnt, "x") }, wasi.EBUSY, nil},
		{"rename onto ..", func() wasi.Errno { return s.PathRename(bg, mnt, "hard2", mnt, "dir/..") }, wasi.EBUSY, nil},
		{"rename file/", func() wasi.Errno { return s.PathRename(bg, mnt, "hard2/", mnt, "x") }, wasi.ENOTDIR, nil},
	} {
		got := tc.op()
		wantErrno(t, tc.name, got, tc.want)
		if tc.check != nil && !tc.check() {
			t.Errorf("%s: host state not as expected", tc.name)
		}
	}
}

func TestPathStatReadlinkTimes(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	host := func(p string) string { return filepath.Join(f.dir, p) }
	writeFile(t, host("file"), "12345")
	os.Symlink("file", host("link"))
	os.Mkdir(host("dir"), 0o755)

	for _, tc := range []struct {
		path     string
		flags    wasi.LookupFlags
		filetype wasi.Filetype
		size     wasi.Filesize
		errno    wasi.Errno
	}{
		{"file", 0, wasi.FiletypeRegularFile, 5, 0},
		{"link", wasi.LookupSymlinkFollow, wasi.FiletypeRegularFile, 5, 0},
		{"link", 0, wasi.FiletypeSymbolicLink, 4, 0},
		{"dir", 0, wasi.FiletypeDirectory, 0, 0},
		{"dir/", 0, wasi.FiletypeDirectory, 0, 0},
		{".", 0, wasi.FiletypeDirectory, 0, 0},
		{"dir/..", 0, wasi.FiletypeDirectory, 0, 0},
		{"file/", 0, 0, 0, wasi.ENOTDIR},
		{"nope", 0, 0, 0, wasi.ENOENT},
	} {
		st, errno := s.PathFileStatGet(bg, mnt, tc.flags, tc.path)
		wantErrno(t, "stat "+tc.path, errno, tc.errno)
		if errno == 0 && (st.Filetype != tc.filetype || (tc.filetype != wasi.FiletypeDirectory && st.Size != tc.size)) {
			t.Errorf("stat %q (flags %d) = %+v", tc.path, tc.flags, st)
		}
	}

	buf := make([]byte, 16)
	n, errno := s.PathReadLink(bg, mnt, "link", buf)
	if errno != 0 || string(buf[:n]) != "file" {
		t.Errorf("readlink = %q, %s", buf[:n], errno.Name())
	}
	n, _ = s.PathReadLink(bg, mnt, "link", buf[:2])
	if string(buf[:n]) != "fi" {
		t.Errorf("truncated readlink = %q", buf[:n])
	}
	_, errno = s.PathReadLink(bg, mnt, "file", buf)
	wantErrno(t, "readlink file", errno, wasi.EINVAL)
	_, errno = s.PathReadLink(bg, mnt, "nope", buf)
	wantErrno(t, "readlink missing", errno, wasi.ENOENT)

	// Times through the symlink reach the file; without follow, the link.
	wantErrno(t, "set times follow", s.PathFileStatSetTimes(bg, mnt, wasi.LookupSymlinkFollow, "link", 3e9, 4e9, wasi.FSTFlagAtim|wasi.FSTFlagMtim), 0)
	fi, _ := os.Stat(host("file"))
	if fi.ModTime().UnixNano() != 4e9 {
		t.Errorf("file mtime = %d", fi.ModTime().UnixNano())
	}
	wantErrno(t, "set times nofollow", s.PathFileStatSetTimes(bg, mnt, 0, "link", 0, 5e9, wasi.FSTFlagMtim), 0)
	li, _ := os.Lstat(host("link"))
	fi, _ = os.Stat(host("file"))
	if li.ModTime().UnixNano() != 5e9 || fi.ModTime().UnixNano() != 4e9 {
		t.Errorf("link mtime %d, file mtime %d", li.ModTime().UnixNano(), fi.ModTime().UnixNano())
	}
	wantErrno(t, "set times bad flags", s.PathFileStatSetTimes(bg, mnt, 0, "file", 0, 0, wasi.FSTFlagMtim|wasi.FSTFlagMtimNow), wasi.EINVAL)
}

func TestPathOpenErrors(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	host := func(p string) string { return filepath.Join(f.dir, p) }
	writeFile(t, host("file"), "x")
	os.Mkdir(host("dir"), 0o755)
	os.Symlink("file", host("link"))
	os.Symlink("loop2", host("loop1"))
	os.Symlink("loop1", host("loop2"))

	for _, tc := range []struct {
		name   string
		fd     wasi.FD
		flags  wasi.LookupFlags
		path   string
		oflags wasi.OFlags
		rights wasi.Rights
		want   wasi.Errno
	}{
		{"missing", mnt, 0, "nope", 0, readRights, wasi.ENOENT},
		{"excl existing", mnt, 0, "file", wasi.OFlagCreat | wasi.OFlagExcl, rwRights, wasi.EEXIST},
		{"directory flag on file", mnt, 0, "file", wasi.OFlagDirectory, readRights, wasi.ENOTDIR},
		{"through a file", mnt, 0, "file/x", 0, readRights, wasi.ENOTDIR},
		{"write a dir", mnt, 0, "dir", 0, rwRights, wasi.EISDIR},
		{"nofollow symlink", mnt, 0, "link", 0, readRights, wasi.ELOOP},
		{"symlink loop", mnt, wasi.LookupSymlinkFollow, "loop1", 0, readRights, wasi.ELOOP},
		{"bad fd", 42, 0, "file", 0, readRights, wasi.EBADF},
		{"stdout as dir", 1, 0, "file", 0, readRights, wasi.ENOTDIR},
		{"bad oflags", mnt, 0, "file", 1 << 7, readRights, wasi.EINVAL},
		{"empty path", mnt, 0, "", 0, readRights, wasi.ENOENT},
	} {
		_, errno := s.PathOpen(bg, tc.fd, tc.flags, tc.path, tc.oflags, tc.rights, 0, 0)
		wantErrno(t, tc.name, errno, tc.want)
	}
	// Following a symlink works when asked.
	fd, errno := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, "link", 0, readRights, 0, 0)
	if errno != 0 {
		t.Fatalf("open via symlink: %s", errno.Name())
	}
	buf := make([]byte, 4)
	if n, _ := s.FDRead(bg, fd, [][]byte{buf}); string(buf[:n]) != "x" {
		t.Errorf("read via symlink %q", buf[:n])
	}
}

// TestEscapes tries every way out of a mount: each must fail with the errno
// a guest expects and leave everything outside untouched.
func TestEscapes(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	host := func(p string) string { return filepath.Join(f.dir, p) }
	writeFile(t, host("file"), "inside")
	os.Mkdir(host("dir"), 0o755)
	os.Symlink(f.outside, host("abs"))                   // absolute, to the outside file
	os.Symlink("/etc", host("absdir"))                   // absolute, to a host directory
	os.Symlink("../outside.txt", host("rel"))            // relative, out of the mount
	os.Symlink("../../outside.txt", host("dir/deeprel")) // from a subdirectory
	os.Symlink("../outdir", host("reldir"))              // relative, to a directory outside
	os.Symlink("rel", host("chain"))                     // a chain ending outside
	os.Symlink("dir/../..", host("dotdot"))              // via .. components

	const capErr = wasi.ENOTCAPABLE
	type op struct {
		name string
		do   func(p string) wasi.Errno
	}
	ops := []op{
		{"open", func(p string) wasi.Errno {
			_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, p, 0, readRights, 0, 0)
			return e
		}},
		{"open for write", func(p string) wasi.Errno {
			_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, p, wasi.OFlagTrunc, rwRights, 0, 0)
			return e
		}},
		{"create", func(p string) wasi.Errno {
			_, e := s.PathOpen(bg, mnt, wasi.LookupSymlinkFollow, p+"/new", wasi.OFlagCreat, rwRights, 0, 0)
			return e
		}},
		{"stat follow", func(p string) wasi.Errno { _, e := s.PathFileStatGet(bg, mnt, wasi.LookupSymlinkFollow, p); return e }},
		{"set times", func(p string) wasi.Errno {
			return s.PathFileStatSetTimes(bg, mnt, wasi.LookupSymlinkFollow, p, 0, 1, wasi.FSTFlagMtim)
		}},
		{"mkdir in", func(p string) wasi.Errno { return s.PathCreateDirectory(bg, mnt, p+"/x") }},
		{"unlink in", func(p string) wasi.Errno { return s.PathUnlinkFile(bg, mnt, p+"/outside.txt") }},
		{"symlink in", func(p string) wasi.Errno { return s.PathSymlink(bg, "x", mnt, p+"/x") }},
		{"link follow", func(p string) wasi.Errno { return s.PathLink(bg, mnt, wasi.LookupSymlinkFollow, p, mnt, "stolen") }},
		{"link into", func(p string) wasi.Errno { return s.PathLink(bg, mnt, 0, "file", mnt, p+"/x") }},
		{"rename into", func(p string) wasi.Errno { return s.PathRename(bg, mnt, "file", mnt, p+"/x") }},
	}
	for _, p := range []string{"..", "../outside.txt", "/etc/passwd", f.outside, "dir/../../outside.txt", "abs", "absdir", "rel", "dir/deeprel", "reldir", "chain", "dotdot"} {
		for _, o := range ops {
			if got := o.do(p); got != capErr {
				t.Errorf("%s %q: errno %s, want ENOTCAPABLE", o.name, p, got.Name())
			}
		}
	}
	// The operations that act on the last component itself.
	for _, tc := range []struct {
		name string
		got  wasi.Errno
		want wasi.Errno
	}{
		{"rename out of the mount", s.PathRename(bg, mnt, "file", mnt, "../stolen"), capErr},
		{"rename outside file in", s.PathRename(bg, mnt, "../outside.txt", mnt, "mine"), capErr},
		{"rename onto absolute", s.PathRename(bg, mnt, "file", mnt, "/tmp/stolen"), capErr},
		{"hard link of an outside file", s.PathLink(bg, mnt, 0, "../outside.txt", mnt, "mine"), capErr},
		{"hard link out", s.PathLink(bg, mnt, 0, "file", mnt, "../outdir/x"), capErr},
		{"unlink outside", s.PathUnlinkFile(bg, mnt, "../outside.txt"), capErr},
		{"unlink ..", s.PathUnlinkFile(bg, mnt, ".."), capErr},
		{"rmdir ..", s.PathRemoveDirectory(bg, mnt, ".."), capErr},
		{"rmdir outside", s.PathRemoveDirectory(bg, mnt, "../outdir"), capErr},
		{"rmdir via symlink dir", s.PathRemoveDirectory(bg, mnt, "dotdot/outdir"), capErr},
		{"mkdir ..", s.PathCreateDirectory(bg, mnt, "../x"), capErr},
		{"mkdir /", s.PathCreateDirectory(bg, mnt, "/"), capErr},
		{"stat .. nofollow", func() wasi.Errno { _, e := s.PathFileStatGet(bg, mnt, 0, ".."); return e }(), capErr},
		{"stat dir/../.. nofollow", func() wasi.Errno { _, e := s.PathFileStatGet(bg, mnt, 0, "dir/../.."); return e }(), capErr},
		{"set times .. nofollow", s.PathFileStatSetTimes(bg, mnt, 0, "..", 0, 1, wasi.FSTFlagMtim), capErr},
		{"readlink outside", func() wasi.Errno { _, e := s.PathReadLink(bg, mnt, "../m/abs", make([]byte, 8)); return e }(), capErr},
		{"symlink ..", s.PathSymlink(bg, "x", mnt, ".."), capErr},
		{"open .. as dir", func() wasi.Errno {
			_, e := s.PathOpen(bg, mnt, 0, "..", wasi.OFlagDirectory, readRights, 0, 0)
			return e
		}(), capErr},
		{"open nofollow abs symlink", func() wasi.Errno { _, e := s.PathOpen(bg, mnt, 0, "abs", 0, readRights, 0, 0); return e }(), wasi.ELOOP},
	} {
		wantErrno(t, tc.name, tc.got, tc.want)
	}
	f.outsideIntact(t)
	if _, err := os.Lstat(host("stolen")); err == nil {
		t.Error("a link to an outside file was created")
	}
	if got := readFile(t, host("file")); got != "inside" {
		t.Errorf("inside file = %q", got)
	}

	// Symlinks with escaping targets can be created and read back: they are
	// strings. Their nofollow stat is the link's own.
	wantErrno(t, "create absolute symlink", s.PathSymlink(bg, "/etc/passwd", mnt, "newabs"), 0)
	wantErrno(t, "create escaping symlink", s.PathSymlink(bg, "../../x", mnt, "newrel"), 0)
	buf := make([]byte, 32)
	if n, _ := s.PathReadLink(bg, mnt, "newabs", buf); string(buf[:n]) != "/etc/passwd" {
		t.Errorf("readlink newabs = %q", buf[:n])
	}
	if st, errno := s.PathFileStatGet(bg, mnt, 0, "abs"); errno != 0 || st.Filetype != wasi.FiletypeSymbolicLink {
		t.Errorf("nofollow stat of abs = %+v, %s", st, errno.Name())
	}
	// Unlinking or renaming an escaping symlink touches only the link.
	wantErrno(t, "rename escaping symlink", s.PathRename(bg, mnt, "rel", mnt, "rel2"), 0)
	wantErrno(t, "unlink escaping symlink", s.PathUnlinkFile(bg, mnt, "abs"), 0)
	f.outsideIntact(t)
}
