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

// stepFlags resolve one component that walk has already examined: no symlink
// is followed at all, so a component swapped for a symlink after walk looked
// at it fails (ELOOP) instead of being followed unchecked.
const stepFlags = resolveFlags | unix.RESOLVE_NO_SYMLINKS

// openat2 is openat2(2) with O_CLOEXEC added, retried on EINTR and on the
// EAGAIN that RESOLVE_BENEATH answers when a rename elsewhere raced the
// lookup (the lookup is safe to repeat). Its error is the raw errno.
func openat2(dirfd int, path string, flags int, mode uint32, resolve uint64) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Mode: uint64(mode), Resolve: resolve}
	for retries := 0; ; retries++ {
		fd, err := unix.Openat2(dirfd, path, &how)
		if err == unix.EINTR || (err == unix.EAGAIN && retries < 16) {
			continue
		}
		return fd, err
	}
}

// openAt opens path below the directory d. The kernel resolves it alone
// (RESOLVE_BENEATH) unless it refuses with EXDEV; then walk resolves it
// component by component, which follows absolute symlinks into the mount
// holding their target, and the last component is opened from the
// directory walk ended in.
//
// The returned entry is the mount whose policy applies to what was opened:
// d itself (whose rights the caller checked), or the preopen an absolute
// symlink led into, which must grant need, and must not be read-only if the
// open writes. The check happens before the last component is opened, so a
// refused O_TRUNC or O_CREAT has no effect.
func (s *System) openAt(d *fdEntry, path string, flags int, mode uint32, need wasi.Rights, write bool) (int, *fdEntry, wasi.Errno) {
	fd, err := openat2(d.host, path, flags, mode, resolveFlags)
	if err == nil {
		return fd, d, wasi.ESUCCESS
	}
	if err != unix.EXDEV {
		return -1, nil, Errno(err)
	}
	w, errno := s.walk(d, path, flags&unix.O_NOFOLLOW == 0)
	if errno != 0 {
		return -1, nil, errno
	}
	defer w.close()
	if w.mount != d {
		if errno := w.mount.check(need); errno != 0 {
			return -1, nil, errno
		}
		if write && w.mount.readOnly {
			return -1, nil, wasi.EROFS
		}
	}
	fd, err = openat2(w.dir, w.name, flags, mode, stepFlags)
	if err != nil {
		return -1, nil, resolveErrno(err)
	}
	return fd, w.mount, wasi.ESUCCESS
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
// and opens the directory holding it, confined like every lookup (openAt).
// Trailing slashes stay on the name, so the *at syscall applies Linux's
// rules for them. A last component "." or ".." names a directory that
// already exists and cannot be unlinked or created; lastOf only checks it
// resolves inside the mount, and each caller answers the errno Linux gives
// for it. need is the right the operation takes on d, which the caller
// checked; it is checked again on the mount an absolute symlink leads into.
func (s *System) lastOf(d *fdEntry, path string, need wasi.Rights) (last, wasi.Errno) {
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
		fd, _, errno := s.openAt(d, path, unix.O_PATH|unix.O_DIRECTORY, 0, need, false)
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
		fd, _, errno := s.openAt(d, trimmed[:i+1], unix.O_PATH|unix.O_DIRECTORY, 0, need, false)
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
//
// Truncating takes no right of the directory beyond path_open's own: Go
// opens directories without path_filestat_set_size and truncates through
// them (os.Root.Create), and wazero and wasmtime do not ask for it either.
func (s *System) PathOpen(ctx context.Context, fd wasi.FD, dirFlags wasi.LookupFlags, path string, oflags wasi.OFlags, rightsBase, rightsInheriting wasi.Rights, fdFlags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	need := wasi.RightPathOpen
	if oflags&wasi.OFlagCreat != 0 {
		need |= wasi.RightPathCreateFile
	}
	d, errno := s.dirFD(fd, need)
	if errno != 0 {
		return 0, errno
	}
	mutates := rightsBase&wasi.RightFDWrite != 0 || oflags&wasi.OFlagTrunc != 0
	if d.readOnly && mutates {
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

	hfd, m, errno := s.openAt(d, path, flags, mode, need, mutates)
	if errno != 0 {
		return 0, errno
	}
	var st unix.Stat_t
	if err := unix.Fstat(hfd, &st); err != nil {
		unix.Close(hfd)
		return 0, Errno(err)
	}
	if m != d { // an absolute symlink led into the mount m
		base, inherit = base&m.inherit, inherit&m.inherit
	}
	e := &fdEntry{
		kind: kindFile, host: hfd, filetype: filetypeOf(st.Mode), flags: fdFlags,
		base: base & wasi.FileRights, inherit: inherit, readOnly: m.readOnly, pollable: isPollable(st.Mode),
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
	l, errno := s.lastOf(d, path, wasi.RightPathCreateDirectory)
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
	pfd, _, errno := s.openAt(d, path, unix.O_PATH|noFollow(flags), 0, wasi.RightPathFileStatGet, false)
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
	pfd, _, errno := s.openAt(d, path, unix.O_PATH|noFollow(flags), 0, wasi.RightPathFileStatSetTimes, true)
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
		src, _, errno := s.openAt(od, oldPath, unix.O_PATH, 0, wasi.RightPathLinkSource, true)
		if errno != 0 {
			return errno
		}
		defer unix.Close(src)
		nl, errno := s.lastOf(nd, newPath, wasi.RightPathLinkTarget)
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
	ol, errno := s.lastOf(od, oldPath, wasi.RightPathLinkSource)
	if errno != 0 {
		return errno
	}
	defer ol.close()
	nl, errno := s.lastOf(nd, newPath, wasi.RightPathLinkTarget)
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
	pfd, _, errno := s.openAt(d, path, unix.O_PATH|unix.O_NOFOLLOW, 0, wasi.RightPathReadLink, false)
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
	l, errno := s.lastOf(d, path, wasi.RightPathRemoveDirectory)
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
	ol, errno := s.lastOf(od, oldPath, wasi.RightPathRenameSource)
	if errno != 0 {
		return errno
	}
	defer ol.close()
	nl, errno := s.lastOf(nd, newPath, wasi.RightPathRenameTarget)
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
	l, errno := s.lastOf(d, newPath, wasi.RightPathSymlink)
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
	l, errno := s.lastOf(d, path, wasi.RightPathUnlinkFile)
	if errno != 0 {
		return errno
	}
	defer l.close()
	if l.dots {
		return wasi.EISDIR
	}
	return Errno(unix.Unlinkat(l.dir, l.name, 0))
}

// maxSymlinks bounds the symlinks one lookup follows, as Linux's MAXSYMLINKS
// does; one more is ELOOP.
const maxSymlinks = 40

// walked is where walk ended: the directory holding the last component and
// the component's name ("." when the path named the directory itself, with
// a trailing "/" when the path had one and the component does not exist).
type walked struct {
	dir   int      // host fd of the directory
	owned bool     // dir was opened by walk and must be closed
	name  string   // the last component, to be opened from dir with stepFlags
	mount *fdEntry // the lookup's root: where walk started, or a preopen
}

func (w *walked) close() {
	if w.owned {
		unix.Close(w.dir)
	}
}

// walk resolves path below d one component at a time, for the lookups the
// kernel refused because a symlink on the way has an absolute target. Such a
// target is a guest path: it continues from the preopen whose guest path is
// its longest prefix (see mountOf), and fails with ENOTCAPABLE when no
// preopen holds it. Every component is opened with stepFlags, so the kernel
// follows nothing; walk reads each symlink itself and splices its target
// into the rest of the path. ".." is lexical against the directories walk
// opened since the lookup's root (d, or the preopen of the last absolute
// target): above that root it is ENOTCAPABLE, as RESOLVE_BENEATH makes it.
// Relative targets continue from the directory holding the symlink. An
// absolute path itself is ENOTCAPABLE: WASI paths are relative to their fd.
//
// The last component is followed if it is a symlink and follow is set or
// the path ends in "/" (as Linux does); otherwise it is left for the caller
// to open with O_NOFOLLOW or to act on by name.
func (s *System) walk(d *fdEntry, path string, follow bool) (walked, wasi.Errno) {
	if path == "" {
		return walked{}, wasi.ENOENT
	}
	if path[0] == '/' {
		return walked{}, wasi.ENOTCAPABLE
	}
	root := d
	var stack []int // directories opened below root; the last is the current one
	defer func() {
		for _, fd := range stack {
			unix.Close(fd)
		}
	}()
	cur := func() int {
		if n := len(stack); n > 0 {
			return stack[n-1]
		}
		return root.host
	}
	// end hands the current directory to the caller, who closes it.
	end := func(name string) (walked, wasi.Errno) {
		n := len(stack)
		if n == 0 {
			return walked{dir: root.host, name: name, mount: root}, wasi.ESUCCESS
		}
		w := walked{dir: stack[n-1], owned: true, name: name, mount: root}
		stack = stack[:n-1]
		return w, wasi.ESUCCESS
	}
	links := 0
	rest := path
	for {
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			return end(".")
		}
		comp, tail, slash := strings.Cut(rest, "/")
		last := strings.TrimLeft(tail, "/") == ""
		rest = tail
		switch comp {
		case ".":
			continue
		case "..":
			n := len(stack)
			if n == 0 {
				return walked{}, wasi.ENOTCAPABLE
			}
			unix.Close(stack[n-1])
			stack = stack[:n-1]
			continue
		}
		if last && !slash && !follow {
			return end(comp)
		}
		fd, err := openat2(cur(), comp, unix.O_PATH|unix.O_NOFOLLOW, 0, stepFlags)
		if err == unix.ENOENT && last {
			if slash {
				comp += "/"
			}
			return end(comp) // may be created
		}
		if err != nil {
			return walked{}, resolveErrno(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return walked{}, Errno(err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			stack = append(stack, fd)
		case unix.S_IFLNK:
			target, errno := readLinkFD(fd)
			unix.Close(fd)
			if errno != 0 {
				return walked{}, errno
			}
			if links++; links > maxSymlinks {
				return walked{}, wasi.ELOOP
			}
			if target == "" {
				return walked{}, wasi.ENOENT
			}
			if target[0] == '/' {
				m, rel := s.mountOf(target)
				if m == nil {
					return walked{}, wasi.ENOTCAPABLE
				}
				for _, fd := range stack {
					unix.Close(fd)
				}
				stack, root, target = stack[:0], m, rel
			}
			if slash {
				rest = target + "/" + tail
			} else {
				rest = target
			}
		default:
			unix.Close(fd)
			if !last || slash {
				return walked{}, wasi.ENOTDIR
			}
			return end(comp)
		}
	}
}

// readLinkFD reads the target of the symlink an O_PATH fd refers to.
func readLinkFD(fd int) (string, wasi.Errno) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", Errno(err)
	}
	return string(buf[:n]), wasi.ESUCCESS
}

// mountOf finds the preopen holding the guest path p (absolute): the one
// whose guest path is the longest prefix of p ending at a component
// boundary; on a tie, the lowest fd. It returns the preopen and the rest of
// p below it, or nil when no preopen holds p. Preopens the guest closed no
// longer count; those with relative guest paths never hold an absolute one.
func (s *System) mountOf(p string) (*fdEntry, string) {
	var best *fdEntry
	var rel string
	for _, e := range s.fds {
		if e == nil || !e.preopen || !strings.HasPrefix(e.guestPath, "/") {
			continue
		}
		if best != nil && len(e.guestPath) <= len(best.guestPath) {
			continue
		}
		if r, ok := strings.CutPrefix(p, e.guestPath); ok && (e.guestPath == "/" || r == "" || r[0] == '/') {
			best, rel = e, r
		}
	}
	return best, rel
}
