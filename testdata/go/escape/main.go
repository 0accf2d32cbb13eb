// Command escape tries to reach files outside the directory it was given:
//
//	escape MOUNT [HOST-PATH-OF-OUTSIDE-FILE]
//
// MOUNT is a preopened guest directory holding a file "inside.txt"; the host
// directory above it holds "secret.txt". Go's own path handling cleans ".."
// before any host call, so the attempts use raw WASI calls relative to the
// preopen's fd: exactly what a hostile guest would send. For each attempt it
// prints the operation and the errno it got, or ESCAPED if the host let it
// through. It never prints a path it was given or a byte it read, so its
// output cannot leak the host. It exits 0 when every attempt failed, 1
// otherwise.
package main

import (
	"fmt"
	"os"
	"unsafe"

	"github.com/timelake/timelake/testdata/go/internal/errname"
)

//go:wasmimport wasi_snapshot_preview1 fd_prestat_get
func fdPrestatGet(fd int32, buf unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_prestat_dir_name
func fdPrestatDirName(fd int32, buf unsafe.Pointer, n uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_open
func pathOpen(fd int32, dirflags uint32, path unsafe.Pointer, pathLen uint32, oflags uint32, base, inheriting uint64, fdflags uint32, result unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_read
func fdRead(fd int32, iovs unsafe.Pointer, iovsLen uint32, nread unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_readdir
func fdReaddir(fd int32, buf unsafe.Pointer, bufLen uint32, cookie uint64, used unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_close
func fdClose(fd int32) uint32

//go:wasmimport wasi_snapshot_preview1 path_symlink
func pathSymlink(old unsafe.Pointer, oldLen uint32, fd int32, new unsafe.Pointer, newLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_link
func pathLink(oldFD int32, oldFlags uint32, old unsafe.Pointer, oldLen uint32, newFD int32, new unsafe.Pointer, newLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_rename
func pathRename(oldFD int32, old unsafe.Pointer, oldLen uint32, newFD int32, new unsafe.Pointer, newLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_filestat_get
func pathFilestatGet(fd int32, flags uint32, path unsafe.Pointer, pathLen uint32, buf unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 path_create_directory
func pathCreateDirectory(fd int32, path unsafe.Pointer, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_unlink_file
func pathUnlinkFile(fd int32, path unsafe.Pointer, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_remove_directory
func pathRemoveDirectory(fd int32, path unsafe.Pointer, pathLen uint32) uint32

const (
	symlinkFollow = 1
	oCreat        = 1
	oDirectory    = 2
	allRights     = 1<<30 - 1
	// readRights drops fd_datasync, fd_write, fd_allocate and
	// fd_filestat_set_size: runtimes open the host file read-only (as a
	// directory must be) when the guest asks for no write right.
	readRights = allRights &^ (1<<0 | 1<<6 | 1<<8 | 1<<22)
)

func ptr(s string) (unsafe.Pointer, uint32) {
	if s == "" {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func open(dir int32, path string, lookup, oflags uint32) (int32, uint32) {
	var fd int32 = -1
	p, n := ptr(path)
	base := uint64(readRights)
	if oflags&oCreat != 0 {
		base = allRights
	}
	errno := pathOpen(dir, lookup, p, n, oflags, base, allRights, 0, unsafe.Pointer(&fd))
	return fd, errno
}

// readSome reads from fd and reports whether any byte came back; the bytes
// themselves are never printed.
func readSome(fd int32) bool {
	buf := make([]byte, 64)
	iov := [2]uint32{uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf))}
	var n uint32
	errno := fdRead(fd, unsafe.Pointer(&iov), 1, unsafe.Pointer(&n))
	return errno == 0 && n > 0
}

// findPreopen returns the fd of the preopen whose guest name is name.
func findPreopen(name string) int32 {
	for fd := int32(3); fd < 64; fd++ {
		var prestat [2]uint32 // tag (0 = dir), name length
		if fdPrestatGet(fd, unsafe.Pointer(&prestat)) != 0 {
			return -1
		}
		buf := make([]byte, prestat[1])
		if len(buf) == 0 || fdPrestatDirName(fd, unsafe.Pointer(&buf[0]), uint32(len(buf))) != 0 {
			continue
		}
		got := string(buf)
		for len(got) > 1 && got[len(got)-1] == '/' {
			got = got[:len(got)-1]
		}
		if got == name {
			return fd
		}
	}
	return -1
}

var escaped int

// report prints how an attempt ended. errno 0 means the host let it through.
func report(op string, errno uint32) {
	if errno == 0 {
		escaped++
		fmt.Printf("%s: ESCAPED\n", op)
		return
	}
	fmt.Printf("%s: %s\n", op, errname.Errno(errno))
}

// tryOpen opens path under dir; success counts as an escape, and so does a
// successful read from what was opened.
func tryOpen(op string, dir int32, path string, lookup, oflags uint32) {
	fd, errno := open(dir, path, lookup, oflags)
	if errno == 0 {
		if oflags&oDirectory == 0 {
			readSome(fd)
		}
		fdClose(fd)
	}
	report(op, errno)
}

// info prints the outcome of a step that is allowed to succeed (making a
// symlink holds no data from outside; following it must fail).
func info(op string, errno uint32) {
	fmt.Printf("%s: %s\n", op, map[bool]string{true: "ok", false: errname.Errno(errno)}[errno == 0])
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: escape MOUNT [HOST-PATH-OF-OUTSIDE-FILE]")
		os.Exit(64)
	}
	mount := os.Args[1]
	hostSecret := "/etc/passwd"
	if len(os.Args) > 2 {
		hostSecret = os.Args[2]
	}
	dir := findPreopen(mount)
	if dir < 0 {
		fmt.Println("no preopen for the mount")
		os.Exit(1)
	}
	_, errno := open(dir, "inside.txt", 0, 0)
	info("open inside.txt (control)", errno)
	info("mkdir sub (control)", mkdir(dir, "sub"))
	sub, errno := open(dir, "sub", 0, oDirectory)
	info("open sub (control)", errno)

	tryOpen("open ../secret.txt", dir, "../secret.txt", symlinkFollow, 0)
	tryOpen("open sub/../../secret.txt", dir, "sub/../../secret.txt", symlinkFollow, 0)
	tryOpen("open ../../../../../../../../etc/passwd", dir, "../../../../../../../../etc/passwd", symlinkFollow, 0)
	tryOpen("open /etc/passwd under mount fd", dir, "/etc/passwd", symlinkFollow, 0)
	tryOpen("open absolute host path under mount fd", dir, hostSecret, symlinkFollow, 0)
	tryOpen("open .. as directory", dir, "..", symlinkFollow, oDirectory)
	tryOpen("open ../.. from sub", sub, "../..", symlinkFollow, oDirectory)
	tryOpen("create ../planted.txt", dir, "../planted.txt", symlinkFollow, oCreat)
	_, err := os.ReadFile("/etc/passwd")
	fmt.Printf("os.ReadFile /etc/passwd: %s\n", errname.Of(err))
	if err == nil {
		escaped++
	}

	info("symlink abs -> /etc/passwd", pathSymlink2("/etc/passwd", dir, "abs"))
	tryOpen("open through absolute symlink", dir, "abs", symlinkFollow, 0)
	info("symlink abshost -> host path", pathSymlink2(hostSecret, dir, "abshost"))
	tryOpen("open through absolute host-path symlink", dir, "abshost", symlinkFollow, 0)
	info("symlink rel -> ../secret.txt", pathSymlink2("../secret.txt", dir, "rel"))
	tryOpen("open through relative symlink", dir, "rel", symlinkFollow, 0)
	info("symlink up -> ..", pathSymlink2("..", dir, "up"))
	tryOpen("open up/secret.txt", dir, "up/secret.txt", symlinkFollow, 0)
	tryOpen("open up as directory", dir, "up", symlinkFollow, oDirectory)
	tryOpen("create up/planted.txt", dir, "up/planted.txt", symlinkFollow, oCreat)
	info("symlink sub/deep -> ../..", pathSymlink2("../..", sub, "deep"))
	tryOpen("open sub/deep/secret.txt", dir, "sub/deep/secret.txt", symlinkFollow, 0)
	report("symlink ../outlink (create outside)", pathSymlink2("x", dir, "../outlink"))

	var stat [64]byte
	p, n := ptr("../secret.txt")
	report("stat ../secret.txt", pathFilestatGet(dir, symlinkFollow, p, n, unsafe.Pointer(&stat)))
	p, n = ptr("rel")
	report("stat through relative symlink", pathFilestatGet(dir, symlinkFollow, p, n, unsafe.Pointer(&stat)))

	report("hard link ../secret.txt -> hl", link(dir, 0, "../secret.txt", dir, "hl"))
	report("hard link following rel -> hl2", link(dir, symlinkFollow, "rel", dir, "hl2"))
	report("hard link inside.txt -> ../hl3", link(dir, 0, "inside.txt", dir, "../hl3"))
	report("rename inside.txt -> ../moved.txt", rename(dir, "inside.txt", dir, "../moved.txt"))
	report("rename ../secret.txt -> stolen.txt", rename(dir, "../secret.txt", dir, "stolen.txt"))
	report("rename sub -> ../movedsub", rename(dir, "sub", dir, "../movedsub"))
	report("mkdir ../newdir", mkdir(dir, "../newdir"))
	report("unlink ../secret.txt", unlink(dir, "../secret.txt"))
	report("rmdir ..", rmdir(dir, ".."))

	// Reading the mount root's listing is allowed and must only show what is
	// inside: a ".." entry is fine, its contents are not.
	root, errno := open(dir, ".", 0, oDirectory)
	if errno == 0 {
		buf := make([]byte, 4096)
		var used uint32
		e := fdReaddir(root, unsafe.Pointer(&buf[0]), uint32(len(buf)), 0, unsafe.Pointer(&used))
		info("readdir mount root (control)", e)
		fdClose(root)
	}

	if escaped > 0 {
		fmt.Printf("%d attempts escaped\n", escaped)
		os.Exit(1)
	}
	fmt.Println("all escape attempts failed")
}

func mkdir(dir int32, path string) uint32 {
	p, n := ptr(path)
	return pathCreateDirectory(dir, p, n)
}

func unlink(dir int32, path string) uint32 {
	p, n := ptr(path)
	return pathUnlinkFile(dir, p, n)
}

func rmdir(dir int32, path string) uint32 {
	p, n := ptr(path)
	return pathRemoveDirectory(dir, p, n)
}

func pathSymlink2(target string, dir int32, name string) uint32 {
	tp, tn := ptr(target)
	np, nn := ptr(name)
	return pathSymlink(tp, tn, dir, np, nn)
}

func link(oldDir int32, flags uint32, old string, newDir int32, new string) uint32 {
	op, on := ptr(old)
	np, nn := ptr(new)
	return pathLink(oldDir, flags, op, on, newDir, np, nn)
}

func rename(oldDir int32, old string, newDir int32, new string) uint32 {
	op, on := ptr(old)
	np, nn := ptr(new)
	return pathRename(oldDir, op, on, newDir, np, nn)
}
