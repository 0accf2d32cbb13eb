package sandbox

import (
	"context"
	"math"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// FDRead implements wasi.System. A null stdin reads end of file.
func (s *System) FDRead(ctx context.Context, fd wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return 0, wasi.EBADF
	}
	if e.kind == kindDir {
		return 0, wasi.EISDIR
	}
	if errno := e.check(wasi.RightFDRead); errno != 0 {
		return 0, errno
	}
	if e.host < 0 {
		return 0, wasi.ESUCCESS
	}
	if e.kind == kindSocket {
		return s.sockRead(ctx, e, iovs)
	}
	if e.kind == kindStdio && e.pollable && e.flags&wasi.FDFlagNonBlock != 0 && !s.ready(e.host, unix.POLLIN) {
		return 0, wasi.EAGAIN
	}
	n, err := s.vecIO(unix.SYS_READV, e.host, iovs)
	return wasi.Size(n), fromErrno(err)
}

// FDWrite implements wasi.System. It is the hottest call of a chatty guest:
// one writev on the host fd, nothing allocated.
func (s *System) FDWrite(ctx context.Context, fd wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return 0, wasi.EBADF
	}
	if e.kind == kindDir {
		return 0, wasi.EBADF
	}
	if errno := e.check(wasi.RightFDWrite); errno != 0 {
		return 0, errno
	}
	if e.host < 0 {
		return wasi.Size(totalLen(iovs)), wasi.ESUCCESS
	}
	if e.kind == kindSocket {
		return s.sockWrite(ctx, e, iovs)
	}
	n, err := s.vecIO(unix.SYS_WRITEV, e.host, iovs)
	return wasi.Size(n), fromErrno(err)
}

// FDPread implements wasi.System.
func (s *System) FDPread(ctx context.Context, fd wasi.FD, iovs [][]byte, offset wasi.Filesize) (wasi.Size, wasi.Errno) {
	return s.positioned(unix.SYS_PREADV, fd, iovs, offset, wasi.RightFDRead, wasi.EISDIR)
}

// FDPwrite implements wasi.System. As on Linux, an fd in append mode appends
// whatever the offset.
func (s *System) FDPwrite(ctx context.Context, fd wasi.FD, iovs [][]byte, offset wasi.Filesize) (wasi.Size, wasi.Errno) {
	return s.positioned(unix.SYS_PWRITEV, fd, iovs, offset, wasi.RightFDWrite, wasi.EBADF)
}

// positioned runs preadv or pwritev (trap) on fd at offset, after the checks
// both share: the fd exists and holds right, is not a directory (onDir is
// the errno then), and is seekable.
func (s *System) positioned(trap uintptr, fd wasi.FD, iovs [][]byte, offset wasi.Filesize, right wasi.Rights, onDir wasi.Errno) (wasi.Size, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return 0, wasi.EBADF
	}
	if e.kind == kindDir {
		return 0, onDir
	}
	if errno := e.check(right); errno != 0 {
		return 0, errno
	}
	if e.host < 0 {
		return 0, wasi.ESPIPE
	}
	if offset > math.MaxInt64 {
		return 0, wasi.EINVAL
	}
	n, err := s.vecIOAt(trap, e.host, iovs, int64(offset))
	return wasi.Size(n), fromErrno(err)
}

// FDSeek implements wasi.System. Seeking with offset 0 from the current
// position needs only the tell right. Directories accept only a rewind
// (their position is the fd_readdir cookie, kept by the guest).
func (s *System) FDSeek(ctx context.Context, fd wasi.FD, offset wasi.FileDelta, whence wasi.Whence) (wasi.Filesize, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return 0, wasi.EBADF
	}
	var w int
	switch whence {
	case wasi.WhenceSet:
		w = unix.SEEK_SET
	case wasi.WhenceCur:
		w = unix.SEEK_CUR
	case wasi.WhenceEnd:
		w = unix.SEEK_END
	default:
		return 0, wasi.EINVAL
	}
	if e.kind == kindDir {
		if offset == 0 && whence != wasi.WhenceEnd {
			return 0, wasi.ESUCCESS
		}
		return 0, wasi.EINVAL
	}
	need := wasi.RightFDSeek
	if offset == 0 && whence == wasi.WhenceCur {
		need = wasi.RightFDTell
	}
	if errno := e.check(need); errno != 0 {
		return 0, errno
	}
	if e.host < 0 {
		return 0, wasi.ESPIPE
	}
	off, err := unix.Seek(e.host, offset, w)
	if err != nil {
		return 0, Errno(err)
	}
	return wasi.Filesize(off), wasi.ESUCCESS
}

// FDTell implements wasi.System.
func (s *System) FDTell(ctx context.Context, fd wasi.FD) (wasi.Filesize, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return 0, wasi.EBADF
	}
	if e.kind != kindDir {
		if errno := e.check(wasi.RightFDTell); errno != 0 {
			return 0, errno
		}
	}
	return s.FDSeek(ctx, fd, 0, wasi.WhenceCur)
}

// FDAdvise implements wasi.System with posix_fadvise.
func (s *System) FDAdvise(ctx context.Context, fd wasi.FD, offset, length wasi.Filesize, advice wasi.Advice) wasi.Errno {
	e, errno := s.use(fd, wasi.RightFDAdvise)
	if errno != 0 {
		return errno
	}
	var a int
	switch advice {
	case wasi.AdviceNormal:
		a = unix.FADV_NORMAL
	case wasi.AdviceSequential:
		a = unix.FADV_SEQUENTIAL
	case wasi.AdviceRandom:
		a = unix.FADV_RANDOM
	case wasi.AdviceWillNeed:
		a = unix.FADV_WILLNEED
	case wasi.AdviceDontNeed:
		a = unix.FADV_DONTNEED
	case wasi.AdviceNoReuse:
		a = unix.FADV_NOREUSE
	default:
		return wasi.EINVAL
	}
	if e.host < 0 {
		return wasi.ESPIPE
	}
	if offset > math.MaxInt64 || length > math.MaxInt64 {
		return wasi.EINVAL
	}
	return Errno(unix.Fadvise(e.host, int64(offset), int64(length), a))
}

// FDAllocate implements wasi.System with fallocate.
func (s *System) FDAllocate(ctx context.Context, fd wasi.FD, offset, length wasi.Filesize) wasi.Errno {
	e, errno := s.use(fd, wasi.RightFDAllocate)
	if errno != 0 {
		return errno
	}
	if e.host < 0 {
		return wasi.ESPIPE
	}
	if offset > math.MaxInt64 || length > math.MaxInt64 || offset+length > math.MaxInt64 {
		return wasi.EFBIG
	}
	return Errno(unix.Fallocate(e.host, 0, int64(offset), int64(length)))
}

// FDDataSync implements wasi.System.
func (s *System) FDDataSync(ctx context.Context, fd wasi.FD) wasi.Errno {
	e, errno := s.use(fd, wasi.RightFDDataSync)
	if errno != 0 {
		return errno
	}
	if e.host < 0 {
		return wasi.EINVAL
	}
	return Errno(unix.Fdatasync(e.host))
}

// FDSync implements wasi.System.
func (s *System) FDSync(ctx context.Context, fd wasi.FD) wasi.Errno {
	e, errno := s.use(fd, wasi.RightFDSync)
	if errno != 0 {
		return errno
	}
	if e.host < 0 {
		return wasi.EINVAL
	}
	return Errno(unix.Fsync(e.host))
}

const syncFlags = wasi.FDFlagDSync | wasi.FDFlagRSync | wasi.FDFlagSync

// FDStatSetFlags implements wasi.System. Append and nonblock can change;
// the sync flags cannot (Linux ignores them in F_SETFL), so a change to them
// is ENOTSUP. On stdio the flags are only recorded: the host's file
// description is shared with others and stays as it is. On sockets too: their
// host fd is always non-blocking and the guest's flag decides whether a call
// waits (sock.go).
func (s *System) FDStatSetFlags(ctx context.Context, fd wasi.FD, flags wasi.FDFlags) wasi.Errno {
	e, errno := s.use(fd, wasi.RightFDStatSetFlags)
	if errno != 0 {
		return errno
	}
	if flags&^(wasi.FDFlagAppend|wasi.FDFlagNonBlock|syncFlags) != 0 {
		return wasi.EINVAL
	}
	if flags&syncFlags != e.flags&syncFlags {
		return wasi.ENOTSUP
	}
	if e.owned() && e.kind != kindSocket {
		fl, err := unix.FcntlInt(uintptr(e.host), unix.F_GETFL, 0)
		if err != nil {
			return Errno(err)
		}
		fl &^= unix.O_APPEND | unix.O_NONBLOCK
		if flags&wasi.FDFlagAppend != 0 {
			fl |= unix.O_APPEND
		}
		if flags&wasi.FDFlagNonBlock != 0 {
			fl |= unix.O_NONBLOCK
		}
		if _, err := unix.FcntlInt(uintptr(e.host), unix.F_SETFL, fl); err != nil {
			return Errno(err)
		}
	}
	e.flags = flags
	return wasi.ESUCCESS
}

// FDFileStatGet implements wasi.System. A null stdio is a character device
// with every other field zero.
func (s *System) FDFileStatGet(ctx context.Context, fd wasi.FD) (wasi.FileStat, wasi.Errno) {
	e, errno := s.use(fd, wasi.RightFDFileStatGet)
	if errno != 0 {
		return wasi.FileStat{}, errno
	}
	if e.host < 0 {
		return wasi.FileStat{Filetype: wasi.FiletypeCharacterDevice}, wasi.ESUCCESS
	}
	var st unix.Stat_t
	if err := unix.Fstat(e.host, &st); err != nil {
		return wasi.FileStat{}, Errno(err)
	}
	fs := fileStat(&st)
	if e.kind == kindSocket {
		fs.Filetype = e.filetype // fstat cannot tell datagram sockets
	}
	return fs, wasi.ESUCCESS
}

// FDFileStatSetSize implements wasi.System with ftruncate.
func (s *System) FDFileStatSetSize(ctx context.Context, fd wasi.FD, size wasi.Filesize) wasi.Errno {
	e, errno := s.use(fd, wasi.RightFDFileStatSetSize)
	if errno != 0 {
		return errno
	}
	if e.host < 0 {
		return wasi.EINVAL
	}
	if size > math.MaxInt64 {
		return wasi.EFBIG
	}
	return Errno(unix.Ftruncate(e.host, int64(size)))
}

// FDFileStatSetTimes implements wasi.System with futimens.
func (s *System) FDFileStatSetTimes(ctx context.Context, fd wasi.FD, atim, mtim wasi.Timestamp, flags wasi.FSTFlags) wasi.Errno {
	e, errno := s.use(fd, wasi.RightFDFileStatSetTimes)
	if errno != 0 {
		return errno
	}
	ts, errno := utimes(atim, mtim, flags)
	if errno != 0 {
		return errno
	}
	if e.host < 0 {
		return wasi.EINVAL
	}
	// utimensat(fd, NULL, ...) is futimens: it acts on the fd itself.
	_, _, err := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(e.host), 0, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return fromErrno(err)
}

// utimes turns set_times arguments into utimensat's pair, with UTIME_NOW and
// UTIME_OMIT where the flags ask for them.
func utimes(atim, mtim wasi.Timestamp, flags wasi.FSTFlags) ([2]unix.Timespec, wasi.Errno) {
	ts := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
	for i, f := range [2]struct {
		set, now wasi.FSTFlags
		t        wasi.Timestamp
	}{{wasi.FSTFlagAtim, wasi.FSTFlagAtimNow, atim}, {wasi.FSTFlagMtim, wasi.FSTFlagMtimNow, mtim}} {
		switch {
		case flags&f.set != 0 && flags&f.now != 0:
			return ts, wasi.EINVAL
		case flags&f.now != 0:
			ts[i].Nsec = unix.UTIME_NOW
		case flags&f.set != 0:
			if f.t > math.MaxInt64 {
				return ts, wasi.EINVAL
			}
			ts[i] = unix.NsecToTimespec(int64(f.t))
		}
	}
	if flags&^(wasi.FSTFlagAtim|wasi.FSTFlagAtimNow|wasi.FSTFlagMtim|wasi.FSTFlagMtimNow) != 0 {
		return ts, wasi.EINVAL
	}
	return ts, wasi.ESUCCESS
}

func fileStat(st *unix.Stat_t) wasi.FileStat {
	return wasi.FileStat{
		Dev:      wasi.Device(st.Dev),
		Ino:      wasi.Inode(st.Ino),
		Filetype: filetypeOf(st.Mode),
		NLink:    wasi.LinkCount(st.Nlink),
		Size:     wasi.Filesize(st.Size),
		ATim:     wasi.Timestamp(st.Atim.Nano()),
		MTim:     wasi.Timestamp(st.Mtim.Nano()),
		CTim:     wasi.Timestamp(st.Ctim.Nano()),
	}
}
