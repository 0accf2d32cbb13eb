package sandbox

import (
	"context"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// fdKind says what a guest fd refers to and so which operations apply.
type fdKind uint8

const (
	// kindStdio is fd 0, 1 or 2: a host file the System does not own, or
	// the null device when the Config left it nil (host == -1).
	kindStdio fdKind = iota + 1
	// kindFile is a non-directory opened by path_open: a regular file, or a
	// fifo, device or socket node found in a mount.
	kindFile
	// kindDir is a directory: a preopen or one opened by path_open.
	kindDir
	// kindSocket is a socket of the socket extension: its host fd is always
	// non-blocking and its state is in fdEntry.sock (sock.go).
	kindSocket
)

// fdEntry is one slot of the guest's fd table.
type fdEntry struct {
	kind     fdKind
	host     int           // host fd; -1 only for a null stdio entry
	file     *os.File      // stdio only: keeps the host file (and its fd) alive
	filetype wasi.Filetype // what fd_fdstat_get reports
	base     wasi.Rights   // rights on this fd
	inherit  wasi.Rights   // rights given to fds opened through this one
	flags    wasi.FDFlags  // as last set by the guest
	readOnly bool          // lives on a read-only mount: mutations are EROFS
	pollable bool          // readiness needs poll(2) (pipes, ttys, sockets)

	preopen   bool   // a preopened directory
	guestPath string // preopen only: the name the guest sees

	dir *dirStream // kindDir: fd_readdir state, created on first use

	sock *socket // kindSocket: socket state
}

// owned reports whether closing the entry closes its host fd.
func (e *fdEntry) owned() bool { return e.kind != kindStdio && e.host >= 0 }

func (e *fdEntry) close() error {
	if !e.owned() {
		return nil
	}
	if e.sock != nil && e.sock.tls != nil {
		e.sock.tls.shutdown()
	}
	return unix.Close(e.host)
}

// Rights that change the tree below a mount; a read-only mount never grants
// them, and asking for one there is EROFS.
const mutatingRights = wasi.RightFDWrite | wasi.RightFDAllocate | wasi.RightFDFileStatSetSize |
	wasi.RightFDFileStatSetTimes | wasi.RightPathCreateDirectory | wasi.RightPathCreateFile |
	wasi.RightPathLinkSource | wasi.RightPathLinkTarget | wasi.RightPathRenameSource |
	wasi.RightPathRenameTarget | wasi.RightPathFileStatSetSize | wasi.RightPathFileStatSetTimes |
	wasi.RightPathSymlink | wasi.RightPathRemoveDirectory | wasi.RightPathUnlinkFile

// Rights of the stdio fds. Seeking is granted only when the host file is a
// regular file: wasi-libc's isatty() is "a character device without seek or
// tell rights".
const (
	stdinRights  = wasi.RightFDRead | wasi.RightFDStatSetFlags | wasi.RightFDFileStatGet | wasi.RightPollFDReadWrite
	stdoutRights = wasi.RightFDWrite | wasi.RightFDStatSetFlags | wasi.RightFDFileStatGet | wasi.RightPollFDReadWrite
)

func stdioEntry(f *os.File, fd int) (*fdEntry, error) {
	e := &fdEntry{kind: kindStdio, host: -1, file: f, filetype: wasi.FiletypeCharacterDevice, base: stdoutRights}
	if fd == 0 {
		e.base = stdinRights
	}
	if f == nil {
		return e, nil
	}
	// Fd switches the file to blocking mode, which the direct syscalls
	// below rely on; the guest's nonblock flag is emulated (see FDRead).
	e.host = int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(e.host, &st); err != nil {
		return nil, fmt.Errorf("stat: %w", err)
	}
	e.filetype = filetypeOf(st.Mode)
	e.pollable = isPollable(st.Mode)
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		e.base |= wasi.RightFDSeek | wasi.RightFDTell
	}
	return e, nil
}

func preopen(m Mount) (*fdEntry, error) {
	fd, err := unix.Open(m.HostPath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	e := &fdEntry{
		kind: kindDir, host: fd, filetype: wasi.FiletypeDirectory,
		base: wasi.DirRights, inherit: wasi.DirRights | wasi.FileRights,
		readOnly: m.ReadOnly, preopen: true, guestPath: path.Clean(m.GuestPath),
	}
	if m.GuestPath == "" {
		e.guestPath = path.Clean(m.HostPath)
	}
	if m.ReadOnly {
		e.base &^= mutatingRights
		e.inherit &^= mutatingRights
	}
	return e, nil
}

func filetypeOf(mode uint32) wasi.Filetype {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return wasi.FiletypeRegularFile
	case unix.S_IFDIR:
		return wasi.FiletypeDirectory
	case unix.S_IFLNK:
		return wasi.FiletypeSymbolicLink
	case unix.S_IFCHR:
		return wasi.FiletypeCharacterDevice
	case unix.S_IFBLK:
		return wasi.FiletypeBlockDevice
	case unix.S_IFSOCK:
		return wasi.FiletypeSocketStream
	}
	return wasi.FiletypeUnknown // fifos have no WASI file type
}

// isPollable reports whether readiness of a file of this mode must be asked
// of poll(2); regular files and directories are always ready.
func isPollable(mode uint32) bool {
	t := mode & unix.S_IFMT
	return t != unix.S_IFREG && t != unix.S_IFDIR
}

func (s *System) lookup(fd wasi.FD) *fdEntry {
	if uint64(fd) < uint64(len(s.fds)) {
		return s.fds[fd]
	}
	return nil
}

// use returns the entry of fd if it holds every right in need.
func (s *System) use(fd wasi.FD, need wasi.Rights) (*fdEntry, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return nil, wasi.EBADF
	}
	return e, e.check(need)
}

func (e *fdEntry) check(need wasi.Rights) wasi.Errno {
	if missing := need &^ e.base; missing != 0 {
		if e.readOnly && missing&mutatingRights != 0 {
			return wasi.EROFS
		}
		return wasi.ENOTCAPABLE
	}
	return wasi.ESUCCESS
}

// dirFD returns the entry of fd if it is a directory holding need.
func (s *System) dirFD(fd wasi.FD, need wasi.Rights) (*fdEntry, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return nil, wasi.EBADF
	}
	if e.kind != kindDir {
		return nil, wasi.ENOTDIR
	}
	return e, e.check(need)
}

// room reports EMFILE when the table is at its bound.
func (s *System) room() wasi.Errno {
	if s.nopen >= s.maxOpen {
		return wasi.EMFILE
	}
	return wasi.ESUCCESS
}

// insert puts e at the lowest free fd. The caller checked room first.
func (s *System) insert(e *fdEntry) wasi.FD {
	s.nopen++
	for i, x := range s.fds {
		if x == nil {
			s.fds[i] = e
			return wasi.FD(i)
		}
	}
	s.fds = append(s.fds, e)
	return wasi.FD(len(s.fds) - 1)
}

// FDClose implements wasi.System. Host stdio files stay open.
func (s *System) FDClose(ctx context.Context, fd wasi.FD) wasi.Errno {
	e := s.lookup(fd)
	if e == nil {
		return wasi.EBADF
	}
	s.fds[fd] = nil
	s.nopen--
	return Errno(e.close())
}

// FDRenumber implements wasi.System: `to` is closed and `from` moves there.
func (s *System) FDRenumber(ctx context.Context, from, to wasi.FD) wasi.Errno {
	src, dst := s.lookup(from), s.lookup(to)
	if src == nil || dst == nil {
		return wasi.EBADF
	}
	if from == to {
		return wasi.ESUCCESS
	}
	s.fds[to], s.fds[from] = src, nil
	s.nopen--
	dst.close() // the guest can no longer observe this close's outcome
	return wasi.ESUCCESS
}

// FDPrestatGet implements wasi.System. Non-preopens are EBADF, the answer
// wasi-libc and Go stop their preopen scan on.
func (s *System) FDPrestatGet(ctx context.Context, fd wasi.FD) (wasi.Prestat, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil || !e.preopen {
		return wasi.Prestat{}, wasi.EBADF
	}
	return wasi.Prestat{Type: wasi.PreopenDir, NameLen: wasi.Size(len(e.guestPath))}, wasi.ESUCCESS
}

// FDPrestatDirName implements wasi.System.
func (s *System) FDPrestatDirName(ctx context.Context, fd wasi.FD) (string, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil || !e.preopen {
		return "", wasi.EBADF
	}
	return e.guestPath, wasi.ESUCCESS
}

// FDStatGet implements wasi.System.
func (s *System) FDStatGet(ctx context.Context, fd wasi.FD) (wasi.FDStat, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return wasi.FDStat{}, wasi.EBADF
	}
	return wasi.FDStat{Filetype: e.filetype, Flags: e.flags, RightsBase: e.base, RightsInheriting: e.inherit}, wasi.ESUCCESS
}

// FDStatSetRights implements wasi.System: rights can only be dropped.
func (s *System) FDStatSetRights(ctx context.Context, fd wasi.FD, base, inheriting wasi.Rights) wasi.Errno {
	e := s.lookup(fd)
	if e == nil {
		return wasi.EBADF
	}
	if base&^e.base != 0 || inheriting&^e.inherit != 0 {
		return wasi.ENOTCAPABLE
	}
	e.base, e.inherit = base, inheriting
	return wasi.ESUCCESS
}
