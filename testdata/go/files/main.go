// Command files exercises the file-system calls a program makes, under the
// directory given as its argument: create, read, write, pread/pwrite, seek,
// append, stat, truncate, chtimes, mkdir/rmdir, a 2,000-entry readdir,
// rename, unlink, symlink/readlink, hard links and the errnos of common
// mistakes. It prints one deterministic line per check ("name: ok" or
// "name: FAIL detail") and exits 1 if any check failed.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"syscall"
	"time"

	"github.com/timelake/timelake/testdata/go/internal/errname"
)

var failures int

func ok(name string) { fmt.Printf("%s: ok\n", name) }

func fail(name, format string, args ...any) {
	failures++
	fmt.Printf("%s: FAIL %s\n", name, fmt.Sprintf(format, args...))
}

// must reports err as a failure of check name and says whether it was nil.
func must(name string, err error) bool {
	if err != nil {
		fail(name, "%s (%v)", errname.Of(err), err)
		return false
	}
	return true
}

// wantErrno checks that err is the errno called want.
func wantErrno(name string, err error, want string) {
	if got := errname.Of(err); got != want {
		fail(name, "got %s, want %s", got, want)
		return
	}
	ok(name)
}

func wantBytes(name string, got []byte, err error, want string) {
	if !must(name, err) {
		return
	}
	if string(got) != want {
		fail(name, "got %q, want %q", got, want)
		return
	}
	ok(name)
}

func wantSize(name, p string, want int64) {
	st, err := os.Stat(p)
	if !must(name, err) {
		return
	}
	if st.Size() != want {
		fail(name, "size %d, want %d", st.Size(), want)
		return
	}
	ok(name)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: files DIR")
		os.Exit(64)
	}
	root := path.Join(os.Args[1], "files")
	if !must("mkdir root", os.Mkdir(root, 0o755)) {
		os.Exit(1)
	}
	ok("mkdir root")
	p := func(name string) string { return path.Join(root, name) }

	createReadWrite(p)
	positional(p)
	statAndTimes(p)
	directories(p)
	readdir(p)
	renameUnlink(p)
	links(p)
	mistakes(p)

	if failures > 0 {
		fmt.Printf("%d checks failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("all checks passed")
}

func createReadWrite(p func(string) string) {
	a := p("a.txt")
	f, err := os.Create(a)
	if !must("create", err) {
		return
	}
	_, err = f.WriteString("hello files\n")
	if must("write", err) && must("close after write", f.Close()) {
		ok("create+write+close")
	}
	got, err := os.ReadFile(a)
	wantBytes("read back", got, err, "hello files\n")

	f, err = os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	if must("open append", err) {
		_, err = f.WriteString("more\n")
		must("append write", err)
		must("close append", f.Close())
	}
	got, err = os.ReadFile(a)
	wantBytes("append lands at end", got, err, "hello files\nmore\n")

	f, err = os.OpenFile(a, os.O_WRONLY|os.O_TRUNC, 0)
	if must("open trunc", err) {
		must("close trunc", f.Close())
	}
	wantSize("O_TRUNC empties", a, 0)

	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB, several reads
	must("write 64KiB", os.WriteFile(p("big.bin"), big, 0o644))
	got, err = os.ReadFile(p("big.bin"))
	if must("read 64KiB", err) {
		if bytes.Equal(got, big) {
			ok("64KiB round trip")
		} else {
			fail("64KiB round trip", "got %d bytes, differing", len(got))
		}
	}
}

func positional(p func(string) string) {
	f, err := os.OpenFile(p("pos.txt"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if !must("open rdwr", err) {
		return
	}
	defer f.Close()
	_, err = f.WriteString("abcdefghijkl")
	must("write 12", err)

	_, err = f.WriteAt([]byte("XYZ"), 6)
	must("pwrite", err)
	buf := make([]byte, 3)
	n, err := f.ReadAt(buf, 6)
	wantBytes("pread sees pwrite", buf[:n], err, "XYZ")

	end, err := f.Seek(0, io.SeekEnd)
	if must("seek end", err) && end != 12 {
		fail("seek end", "offset %d, want 12", end)
	} else if err == nil {
		ok("seek end")
	}
	// pwrite must not have moved the position: it is still at the end.
	cur, err := f.Seek(-3, io.SeekCurrent)
	if must("seek current", err) && cur != 9 {
		fail("seek current", "offset %d, want 9", cur)
	} else if err == nil {
		ok("seek current")
	}
	rest, err := io.ReadAll(f)
	wantBytes("read after seek", rest, err, "jkl")

	_, err = f.Seek(0, io.SeekStart)
	must("seek start", err)
	all := make([]byte, 12)
	_, err = io.ReadFull(f, all)
	wantBytes("whole file", all, err, "abcdefXYZjkl")

	// Writing past the end leaves a hole of zeros.
	_, err = f.WriteAt([]byte("!"), 20)
	must("pwrite past end", err)
	wantSize("hole extends file", p("pos.txt"), 21)
	hole := make([]byte, 8)
	_, err = f.ReadAt(hole, 12)
	wantBytes("hole reads zeros", hole, err, "\x00\x00\x00\x00\x00\x00\x00\x00")

	must("fsync", f.Sync())
	ok("fsync")
}

func statAndTimes(p func(string) string) {
	name := p("stat.txt")
	must("write stat.txt", os.WriteFile(name, []byte("0123456789"), 0o644))
	st, err := os.Stat(name)
	if must("stat", err) {
		switch {
		case st.Size() != 10:
			fail("stat", "size %d", st.Size())
		case !st.Mode().IsRegular():
			fail("stat", "mode %v", st.Mode())
		case st.Name() != "stat.txt":
			fail("stat", "name %q", st.Name())
		default:
			ok("stat")
		}
	}
	dst, err := os.Stat(p("."))
	if must("stat dir", err) && !dst.IsDir() {
		fail("stat dir", "mode %v", dst.Mode())
	} else if err == nil {
		ok("stat dir")
	}

	must("truncate shrink", os.Truncate(name, 4))
	wantSize("truncate shrink", name, 4)
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if must("open for ftruncate", err) {
		must("ftruncate grow", f.Truncate(100))
		fst, err := f.Stat()
		if must("fstat", err) && fst.Size() != 100 {
			fail("ftruncate grow", "size %d", fst.Size())
		} else if err == nil {
			ok("ftruncate grow")
		}
		f.Close()
	}
	got, err := os.ReadFile(name)
	if must("read truncated", err) {
		if string(got[:4]) == "0123" && bytes.Count(got[4:], []byte{0}) == 96 {
			ok("truncate keeps prefix, zero fills")
		} else {
			fail("truncate keeps prefix, zero fills", "got %q", got[:8])
		}
	}

	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	atime := time.Date(2002, 3, 4, 5, 6, 7, 0, time.UTC)
	must("chtimes", os.Chtimes(name, atime, mtime))
	st, err = os.Stat(name)
	if must("stat after chtimes", err) {
		sys := st.Sys().(*syscall.Stat_t)
		gotA := time.Unix(0, int64(sys.Atime)).UTC()
		if !st.ModTime().Equal(mtime) || !gotA.Equal(atime) {
			fail("chtimes", "mtime %v atime %v", st.ModTime().UTC(), gotA)
		} else {
			ok("chtimes")
		}
	}
}

func directories(p func(string) string) {
	must("mkdir", os.Mkdir(p("d"), 0o755))
	st, err := os.Stat(p("d"))
	if must("stat new dir", err) && st.IsDir() {
		ok("mkdir")
	}
	must("mkdirall", os.MkdirAll(p("x/y/z"), 0o755))
	must("file in nested dir", os.WriteFile(p("x/y/z/leaf"), []byte("leaf"), 0o644))
	got, err := os.ReadFile(p("x/y/../y/z/leaf"))
	wantBytes("dotdot inside mount", got, err, "leaf")
	wantErrno("rmdir non-empty", syscall.Rmdir(p("x/y/z")), "ENOTEMPTY")
	wantErrno("mkdir existing", os.Mkdir(p("d"), 0o755), "EEXIST")
	must("rmdir", os.Remove(p("d")))
	_, err = os.Stat(p("d"))
	wantErrno("rmdir removes", err, "ENOENT")
	must("removeall", os.RemoveAll(p("x")))
	_, err = os.Stat(p("x"))
	wantErrno("removeall removes", err, "ENOENT")
}

func readdir(p func(string) string) {
	const count = 2000
	dir := p("many")
	if !must("mkdir many", os.Mkdir(dir, 0o755)) {
		return
	}
	want := make([]string, 0, count)
	for i := 0; i < count; i++ {
		name := fmt.Sprintf("f%04d", i)
		want = append(want, name)
		f, err := os.Create(path.Join(dir, name))
		if err != nil {
			fail("create many", "%s: %s", name, errname.Of(err))
			return
		}
		f.Close()
	}
	ok("create 2000 files")

	entries, err := os.ReadDir(dir)
	if must("readdir", err) {
		names := make([]string, len(entries))
		for i, e := range entries {
			names[i] = e.Name()
		}
		if slices.Equal(names, want) {
			ok("readdir 2000 entries, sorted, no dot entries")
		} else {
			fail("readdir", "got %d entries", len(names))
		}
	}

	// Read in small batches: exercises the cookie across many fd_readdir calls.
	f, err := os.Open(dir)
	if !must("open many", err) {
		return
	}
	defer f.Close()
	seen := map[string]bool{}
	for {
		batch, err := f.ReadDir(7)
		for _, e := range batch {
			if seen[e.Name()] {
				fail("readdir batches", "duplicate %s", e.Name())
				return
			}
			seen[e.Name()] = true
			if !e.Type().IsRegular() {
				fail("readdir batches", "%s type %v", e.Name(), e.Type())
				return
			}
		}
		if err == io.EOF {
			break
		}
		if !must("readdir batches", err) {
			return
		}
	}
	if len(seen) == count {
		ok("readdir in batches of 7")
	} else {
		fail("readdir in batches of 7", "got %d names", len(seen))
	}
}

func renameUnlink(p func(string) string) {
	must("write r1", os.WriteFile(p("r1"), []byte("one"), 0o644))
	must("rename", os.Rename(p("r1"), p("r2")))
	_, err := os.Stat(p("r1"))
	wantErrno("rename removes old name", err, "ENOENT")
	got, err := os.ReadFile(p("r2"))
	wantBytes("rename keeps content", got, err, "one")

	must("write r3", os.WriteFile(p("r3"), []byte("three"), 0o644))
	must("rename over existing", os.Rename(p("r3"), p("r2")))
	got, err = os.ReadFile(p("r2"))
	wantBytes("rename replaces target", got, err, "three")

	must("mkdir sub", os.Mkdir(p("sub"), 0o755))
	must("rename into subdir", os.Rename(p("r2"), p("sub/r2")))
	got, err = os.ReadFile(p("sub/r2"))
	wantBytes("rename across dirs", got, err, "three")
	must("rename dir", os.Rename(p("sub"), p("sub2")))
	got, err = os.ReadFile(p("sub2/r2"))
	wantBytes("rename dir moves children", got, err, "three")

	must("unlink", os.Remove(p("sub2/r2")))
	_, err = os.Stat(p("sub2/r2"))
	wantErrno("unlink removes", err, "ENOENT")
	wantErrno("unlink missing", syscall.Unlink(p("sub2/r2")), "ENOENT")
	must("rmdir sub2", os.Remove(p("sub2")))
}

func links(p func(string) string) {
	must("write target", os.WriteFile(p("target"), []byte("pointed at"), 0o644))
	if must("symlink", os.Symlink("target", p("sym"))) {
		ok("symlink")
	}
	dest, err := os.Readlink(p("sym"))
	wantBytes("readlink", []byte(dest), err, "target")
	lst, err := os.Lstat(p("sym"))
	if must("lstat", err) && lst.Mode()&fs.ModeSymlink == 0 {
		fail("lstat sees symlink", "mode %v", lst.Mode())
	} else if err == nil {
		ok("lstat sees symlink")
	}
	st, err := os.Stat(p("sym"))
	if must("stat follows", err) && st.Size() != int64(len("pointed at")) {
		fail("stat follows symlink", "size %d", st.Size())
	} else if err == nil {
		ok("stat follows symlink")
	}
	got, err := os.ReadFile(p("sym"))
	wantBytes("read through symlink", got, err, "pointed at")

	must("mkdir linkdir", os.Mkdir(p("linkdir"), 0o755))
	must("write in linkdir", os.WriteFile(p("linkdir/f"), []byte("in dir"), 0o644))
	must("symlink to dir", os.Symlink("linkdir", p("dirsym")))
	got, err = os.ReadFile(p("dirsym/f"))
	wantBytes("path through dir symlink", got, err, "in dir")
	must("unlink symlink", os.Remove(p("dirsym")))
	_, err = os.Stat(p("linkdir/f"))
	wantErrno("unlink symlink keeps target", err, "ok")

	must("symlink dangling", os.Symlink("nowhere", p("dangling")))
	_, err = os.Stat(p("dangling"))
	wantErrno("stat dangling symlink", err, "ENOENT")
	_, err = os.Lstat(p("dangling"))
	wantErrno("lstat dangling symlink", err, "ok")

	if must("hard link", os.Link(p("target"), p("hard"))) {
		ok("hard link")
	}
	must("write via link", os.WriteFile(p("hard"), []byte("changed"), 0o644))
	got, err = os.ReadFile(p("target"))
	wantBytes("hard link shares data", got, err, "changed")
	a, errA := os.Stat(p("target"))
	b, errB := os.Stat(p("hard"))
	if must("stat link", errors.Join(errA, errB)) {
		nlink := a.Sys().(*syscall.Stat_t).Nlink
		if os.SameFile(a, b) && nlink == 2 {
			ok("hard link same inode, nlink 2")
		} else {
			fail("hard link same inode, nlink 2", "same %v nlink %d", os.SameFile(a, b), nlink)
		}
	}
	must("unlink original", os.Remove(p("target")))
	got, err = os.ReadFile(p("hard"))
	wantBytes("link outlives original", got, err, "changed")
	wantErrno("hard link existing", os.Link(p("hard"), p("sym")), "EEXIST")
}

func mistakes(p func(string) string) {
	must("write m", os.WriteFile(p("m"), []byte("m"), 0o644))
	_, err := os.OpenFile(p("m"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	wantErrno("O_EXCL on existing", err, "EEXIST")
	_, err = os.Open(p("missing"))
	wantErrno("open missing", err, "ENOENT")
	_, err = os.ReadDir(p("m"))
	wantErrno("readdir on file", err, "ENOTDIR")
	_, err = os.Open(p("m/child"))
	wantErrno("path through file", err, "ENOTDIR")
	err = syscall.Rmdir(p("m"))
	wantErrno("rmdir on file", err, "ENOTDIR")
	err = syscall.Unlink(root(p))
	wantErrno("unlink on dir", err, "EISDIR")
	f, err := os.Open(p("m"))
	if must("open m", err) {
		// POSIX says EBADF; WASI runtimes that enforce rights may say
		// ENOTCAPABLE (the fd lacks the fd_write right). Either refuses.
		_, err = f.Write([]byte("x"))
		if e := errname.Of(err); e == "EBADF" || e == "ENOTCAPABLE" {
			ok("write to read-only fd")
		} else {
			fail("write to read-only fd", "got %s, want EBADF or ENOTCAPABLE", e)
		}
		f.Close()
	}
}

func root(p func(string) string) string { return p("") }
