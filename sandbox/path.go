package sandbox

import (
	"context"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// resolveFlags confine every lookup to the directory it starts from: the
// kernel fails ".." above it, absolute paths and symlinks that lead out of
// it (EXDEV), and /proc-style magic links (ELOOP).
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// openBeneath opens path below dirfd with openat2. O_CLOEXEC is added.
func openBeneath(dirfd int, path string, flags int, mode uint32) (int, wasi.Errno) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: resolveFlags}
	for retries := 0; ; retries++ {
		fd, err := unix.Openat2(dirfd, path, &how)
		switch {
		case err == nil:
			return fd, wasi.ESUCCESS
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && retries < 16:
			// RESOLVE_BENEATH answers EAGAIN when a rename elsewhere
			// raced the lookup; the lookup is safe to repeat.
			continue
		}
		return -1, resolveErrno(err)
	}
}

// noFollow is O_NOFOLLOW unless the lookup flags ask to follow a final
// symlink.
func noFollow(flags wasi.LookupFlags) int {
	if flags&wasi.LookupSymlinkFollow != 0 {
		return 0
	}
	return unix.O_NOFOLLOW
}

// last is the last component of a guest path and the directory holding it,
// for the syscalls that act on a name rather than on what it resolves to.
type last struct {
	dir   int    // host fd of the directory holding the component
	owned bool   // dir was opened for this call and must be closed
	name  string // the component, with a trailing "/" if the path had one
	dots  bool   // the component is "." or ".." (dir is then unset)
	dot   bool   // the component is "."
}

func (l *last) close() {
	if l.owned {
		unix.Close(l.dir)
	}
}

// lastOf splits path (relative to the directory d) into its last component
// and opens the directory holding it, confined like every lookup. Trailing
// slashes stay on the name, so the *at syscall applies Linux's rules for
// them. A last component "." or ".." names a directory that already exists
// and cannot be unlinked or created; lastOf only checks it resolves inside
// the mount, and each caller answers the errno Linux gives for it.
func lastOf(d *fdEntry, path string) (last, wasi.Errno) {
	if path == "" {
		return last{}, wasi.ENOENT
	}
	trimmed := strings.TrimRight(path, "/")
	if trimmed == "" {
		return last{}, wasi.ENOTCAPABLE // the root of the host
	}
	i := strings.LastIndexByte(trimmed, '/')
	l := last{dir: d.host, name: trimmed[i+1:]}
	if l.name == "." || l.name == ".." {
		fd, errno := openBeneath(d.host, path, unix.O_PATH|unix.O_DIRECTORY, 0)
		if errno != 0 {
			return last{}, errno
		}
		unix.Close(fd)
		return last{dots: true, dot: l.name == "."}, wasi.ESUCCESS
	}
	if len(trimmed) < len(path) {
		l.name += "/"
	}
	if i >= 0 {
		fd, errno := openBeneath(d.host, trimmed[:i+1], unix.O_PATH|unix.O_DIRECTORY, 0)
		if errno != 0 {
			return last{}, errno
		}
		l.dir, l.owned = fd, true
	}
	return l, wasi.ESUCCESS
}

// PathOpen implements wasi.System. The new fd's rights are those asked for,
// within the directory's inheriting rights and the ones that apply to what
// was opened. Files on read-only mounts are opened O_RDONLY; asking to
// write, create or truncate there is EROFS.
func (s *System) PathOpen(ctx context.Context, fd wasi.FD, dirFlags wasi.LookupFlags, path string, oflags wasi.OFlags, rightsBase, rightsInheriting wasi.Rights, fdFlags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	need := wasi.RightPathOpen
	if oflags&wasi.OFlagCreat != 0 {
		need |= wasi.RightPathCreateFile
	}
	if oflags&wasi.OFlagTrunc != 0 {
		need |= wasi.RightPathFileStatSetSize
	}
	d, errno := s.dirFD(fd, need)
	if errno != 0 {
		return 0, errno
	}
	if d.readOnly && rightsBase&wasi.RightFDWrite != 0 {
		return 0, wasi.EROFS
	}
	if oflags&^(wasi.OFlagCreat|wasi.OFlagDirectory|wasi.OFlagExcl|wasi.OFlagTrunc) != 0 ||
		fdFlags&^(wasi.FDFlagAppend|wasi.FDFlagNonBlock|syncFlags) != 0 {
		return 0, wasi.EINVAL
	}
	if errno := s.room(); errno != 0 {
		return 0, errno
	}
	base, inherit := rightsBase&d.inherit, rightsInheriting&d.inherit

	flags := unix.O_NOCTTY | noFollow(dirFlags)
	read := base&(wasi.RightFDRead|wasi.RightFDReadDir) != 0
	write := base&wasi.RightFDWrite != 0
	switch {
	case read && write:
		flags |= unix.O_RDWR
	case write:
		flags |= unix.O_WRONLY
	default:
		flags |= unix.O_RDONLY
	}
	var mode uint32
	if oflags&wasi.OFlagCreat != 0 {
		flags |= unix.O_CREAT
		mode = 0o666
	}
	if oflags&wasi.OFlagDirectory != 0 {
		flags |= unix.O_DIRECTORY
	}
	if oflags&wasi.OFlagExcl != 0 {
		flags |= unix.O_EXCL
	}
	if oflags&wasi.OFlagTrunc != 0 {
		flags |= unix.O_TRUNC
	}
	for _, f := range [...]struct {
		wasi wasi.FDFlags
		host int
	}{
		{wasi.FDFlagAppend, unix.O_APPEND}, {wasi.FDFlagNonBlock, unix.O_NONBLOCK},
		{wasi.FDFlagDSync, unix.O_DSYNC}, {wasi.FDFlagRSync, unix.O_RSYNC}, {wasi.FDFlagSync, unix.O_SYNC},
	} {
		if fdFlags&f.wasi != 0 {
			flags |= f.host
		}
	}

	hfd, errno := openBeneath(d.host, path, flags, mode)
	if errno != 0 {
		return 0, errno
	}
	var st unix.Stat_t
	if err := unix.Fstat(hfd, &st); err != nil {
		unix.Close(hfd)
		return 0, Errno(err)
	}
	e := &fdEntry{
		kind: kindFile, host: hfd, filetype: filetypeOf(st.Mode), flags: fdFlags,
		base: base & wasi.FileRights, inherit: inherit, readOnly: d.readOnly, pollable: isPollable(st.Mode),
	}
	if e.filetype == wasi.FiletypeDirectory {
		e.kind, e.base = kindDir, base&wasi.DirRights
	}
	return s.insert(e), wasi.ESUCCESS
}

// PathCreateDirectory implements wasi.System.
func (s *System) PathCreateDirectory(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	d, errno := s.dirFD(fd, wasi.RightPathCreateDirectory)
	if errno != 0 {
		return errno
	}
	l, errno := lastOf(d, path)
	if errno != 0 {
		return errno
	}
	defer l.close()
	if l.dots {
		return wasi.EEXIST
	}
	return Errno(unix.Mkdirat(l.dir, l.name, 0o777))
}

// PathFileStatGet implements wasi.System.
func (s *System) PathFileStatGet(ctx context.Context, fd wasi.FD, flags wasi.LookupFlags, path string) (wasi.FileStat, wasi.Errno) {
	d, errno := s.dirFD(fd, wasi.RightPathFileStatGet)
	if errno != 0 {
		return wasi.FileStat{}, errno
	}
	// An O_PATH fd of the file (or of the symlink itself, with O_NOFOLLOW)
	// is stat'ed: the lookup is openat2's, so it is confined.
	pfd, errno := openBeneath(d.host, path, unix.O_PATH|noFollow(flags), 0)
	if errno != 0 {
		return wasi.FileStat{}, errno
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return wasi.FileStat{}, Errno(err)
	}
	return fileStat(&st), wasi.ESUCCESS
}

// PathFileStatSetTimes implements wasi.System.
func (s *System) PathFileStatSetTimes(ctx context.Context, fd wasi.FD, flags wasi.LookupFlags, path string, atim, mtim wasi.Timestamp, fstFlags wasi.FSTFlags) wasi.Errno {
	d, errno := s.dirFD(fd, wasi.RightPathFileStatSetTimes)
	if errno != 0 {
		return errno
	}
	ts, errno := utimes(atim, mtim, fstFlags)
	if errno != 0 {
		return errno
	}
	pfd, errno := openBeneath(d.host, path, unix.O_PATH|noFollow(flags), 0)
	if errno != 0 {
		return errno
	}
	defer unix.Close(pfd)
	// AT_EMPTY_PATH acts on the O_PATH fd itself; AT_SYMLINK_NOFOLLOW keeps
	// a symlink fd (opened without follow) from being followed now.
	return Errno(unix.UtimesNanoAt(pfd, "", ts[:], unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW))
}

// PathLink implements wasi.System. With LookupSymlinkFollow the source is
// resolved (confined) to an O_PATH fd first and that inode is linked, so a
// symlink pointing out of the mount is never followed by linkat itself.
func (s *System) PathLink(ctx context.Context, oldFD wasi.FD, oldFlags wasi.LookupFlags, oldPath string, newFD wasi.FD, newPath string) wasi.Errno {
	od, errno := s.dirFD(oldFD, wasi.RightPathLinkSource)
	if errno != 0 {
		return errno
	}
	nd, errno := s.dirFD(newFD, wasi.RightPathLinkTarget)
	if errno != 0 {
		return errno
	}
	if oldFlags&wasi.LookupSymlinkFollow != 0 {
		src, errno := openBeneath(od.host, oldPath, unix.O_PATH, 0)
		if errno != 0 {
			return errno
		}
		defer unix.Close(src)
		nl, errno := lastOf(nd, newPath)
		if errno != 0 {
			return errno
		}
		defer nl.close()
		if nl.dots {
			return wasi.EEXIST
		}
		// linkat of an fd needs either /proc (any user) or AT_EMPTY_PATH
		// (CAP_DAC_READ_SEARCH); try them in that order.
		err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(src), nl.dir, nl.name, unix.AT_SYMLINK_FOLLOW)
		if err == unix.ENOENT {
			err = unix.Linkat(src, "", nl.dir, nl.name, unix.AT_EMPTY_PATH)
		}
		return Errno(err)
	}
	ol, errno := lastOf(od, oldPath)
	if errno != 0 {
		return errno
	}
	defer ol.close()
	nl, errno := lastOf(nd, newPath)
	if errno != 0 {
		return errno
	}
	defer nl.close()
	switch {
	case ol.dots:
		return wasi.EPERM // a directory cannot be hard linked
	case nl.dots:
		return wasi.EEXIST
	}
	return Errno(unix.Linkat(ol.dir, ol.name, nl.dir, nl.name, 0))
}

// PathReadLink implements wasi.System; the target is truncated to len(buf).
func (s *System) PathReadLink(ctx context.Context, fd wasi.FD, path string, buf []byte) (wasi.Size, wasi.Errno) {
	d, errno := s.dirFD(fd, wasi.RightPathReadLink)
	if errno != 0 {
		return 0, errno
	}
	pfd, errno := openBeneath(d.host, path, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if errno != 0 {
		return 0, errno
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return 0, Errno(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return 0, wasi.EINVAL
	}
	if len(buf) == 0 {
		return 0, wasi.ESUCCESS
	}
	n, err := unix.Readlinkat(pfd, "", buf)
	if err != nil {
		return 0, Errno(err)
	}
	return wasi.Size(n), wasi.ESUCCESS
}

// PathRemoveDirectory implements wasi.System.
func (s *System) PathRemoveDirectory(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	d, errno := s.dirFD(fd, wasi.RightPathRemoveDirectory)
	if errno != 0 {
		return errno
	}
	l, errno := lastOf(d, path)
	if errno != 0 {
		return errno
	}
	defer l.close()
	switch {
	case l.dot:
		return wasi.EINVAL
	case l.dots:
		return wasi.ENOTEMPTY
	}
	return Errno(unix.Unlinkat(l.dir, l.name, unix.AT_REMOVEDIR))
}

// PathRename implements wasi.System.
func (s *System) PathRename(ctx context.Context, fd wasi.FD, oldPath string, newFD wasi.FD, newPath string) wasi.Errno {
	od, errno := s.dirFD(fd, wasi.RightPathRenameSource)
	if errno != 0 {
		return errno
	}
	nd, errno := s.dirFD(newFD, wasi.RightPathRenameTarget)
	if errno != 0 {
		return errno
	}
	ol, errno := lastOf(od, oldPath)
	if errno != 0 {
		return errno
	}
	defer ol.close()
	nl, errno := lastOf(nd, newPath)
	if errno != 0 {
		return errno
	}
	defer nl.close()
	if ol.dots || nl.dots {
		return wasi.EBUSY
	}
	return Errno(unix.Renameat(ol.dir, ol.name, nl.dir, nl.name))
}

// PathSymlink implements wasi.System. The target is stored as given, even
// absolute or leading out of the mount: lookups never follow it out.
func (s *System) PathSymlink(ctx context.Context, oldPath string, fd wasi.FD, newPath string) wasi.Errno {
	d, errno := s.dirFD(fd, wasi.RightPathSymlink)
	if errno != 0 {
		return errno
	}
	l, errno := lastOf(d, newPath)
	if errno != 0 {
		return errno
	}
	defer l.close()
	if l.dots {
		return wasi.EEXIST
	}
	return Errno(unix.Symlinkat(oldPath, l.dir, l.name))
}

// PathUnlinkFile implements wasi.System.
func (s *System) PathUnlinkFile(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	d, errno := s.dirFD(fd, wasi.RightPathUnlinkFile)
	if errno != 0 {
		return errno
	}
	l, errno := lastOf(d, path)
	if errno != 0 {
		return errno
	}
	defer l.close()
	if l.dots {
		return wasi.EISDIR
	}
	return Errno(unix.Unlinkat(l.dir, l.name, 0))
}
