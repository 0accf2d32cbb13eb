package sandbox

import (
	"context"
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// Directory cookies are the kernel's own directory offsets: the d_off that
// getdents64 gives each entry is the position just after it, which is what
// WASI's d_next means, and lseek to it resumes the stream there. They are
// stable for the life of the directory on Linux file systems (ext4 uses name
// hashes, tmpfs stable indexes), so a guest resuming at any cookie, in a
// directory of any size, sees every entry once. "." and ".." are listed as
// the kernel lists them: wasi-libc passes them through, Go's os package skips
// them, and the WASI test suite expects them.

// dirBufSize is the getdents64 buffer of each directory fd.
const dirBufSize = 32 << 10

// dirStream buffers getdents64 output of one directory fd so that a guest
// resuming where the previous call stopped costs no syscall.
type dirStream struct {
	buf   []byte
	n     int   // valid bytes in buf
	start int64 // directory offset of the first entry in buf
	end   int64 // directory offset after the last entry in buf
	kpos  int64 // offset of the host fd (where the next getdents reads)
}

// fill reads the entries at offset off into the buffer.
func (d *dirStream) fill(fd int, off int64) wasi.Errno {
	if d.kpos != off {
		if _, err := unix.Seek(fd, off, unix.SEEK_SET); err != nil {
			d.n = 0
			return Errno(err)
		}
		d.kpos = off
	}
	for {
		n, err := unix.Getdents(fd, d.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			d.n = 0
			return Errno(err)
		}
		d.n, d.start, d.end = n, off, off
		if n > 0 {
			d.end = d.lastOff()
		}
		d.kpos = d.end
		return wasi.ESUCCESS
	}
}

// lastOff is the d_off of the last buffered entry.
func (d *dirStream) lastOff() int64 {
	var off int64
	for pos := 0; pos < d.n; {
		_, off, _, _, pos = d.entry(pos)
	}
	return off
}

// entry decodes the linux_dirent64 at pos and returns the position of the
// next one.
func (d *dirStream) entry(pos int) (ino uint64, off int64, typ uint8, name []byte, next int) {
	b := d.buf[pos:]
	ino = binary.NativeEndian.Uint64(b[0:8])
	off = int64(binary.NativeEndian.Uint64(b[8:16]))
	reclen := int(binary.NativeEndian.Uint16(b[16:18]))
	typ = b[18]
	name = b[19:reclen]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	return ino, off, typ, name, pos + reclen
}

// seek positions the stream at cookie and returns the buffer position of the
// entry there, reading from the host only when the cookie is not buffered.
// Cookie 0 always rereads, so a rewind sees the directory as it is now.
func (d *dirStream) seek(fd int, cookie int64) (int, wasi.Errno) {
	if cookie != 0 {
		if cookie == d.start && d.n > 0 {
			return 0, wasi.ESUCCESS
		}
		for pos := 0; pos < d.n; {
			var off int64
			_, off, _, _, pos = d.entry(pos)
			if off == cookie {
				return pos, wasi.ESUCCESS
			}
		}
	}
	return 0, d.fill(fd, cookie)
}

// FDReadDir implements wasi.System. Names point into a buffer reused by the
// next call.
func (s *System) FDReadDir(ctx context.Context, fd wasi.FD, entries []wasi.DirEntry, cookie wasi.DirCookie, bufLen int) (int, wasi.Errno) {
	e := s.lookup(fd)
	if e == nil {
		return 0, wasi.EBADF
	}
	if e.kind != kindDir {
		return 0, wasi.ENOTDIR
	}
	if errno := e.check(wasi.RightFDReadDir); errno != 0 {
		return 0, errno
	}
	if len(entries) == 0 || bufLen <= 0 {
		return 0, wasi.ESUCCESS
	}
	if cookie > 1<<63-1 {
		return 0, wasi.EINVAL
	}
	d := e.dir
	if d == nil {
		d = &dirStream{buf: make([]byte, dirBufSize), kpos: -1}
		e.dir = d
	}
	pos, errno := d.seek(e.host, int64(cookie))
	if errno != 0 {
		return 0, errno
	}
	names := s.names[:0]
	count, used := 0, 0
	for count < len(entries) && used < bufLen {
		if pos >= d.n {
			if d.n == 0 {
				break // end of directory
			}
			if errno := d.fill(e.host, d.end); errno != 0 {
				return 0, errno
			}
			pos = 0
			continue
		}
		ino, off, typ, name, next := d.entry(pos)
		pos = next
		ft := direntType(typ)
		if typ == unix.DT_UNKNOWN {
			var st unix.Stat_t
			if err := unix.Fstatat(e.host, string(name), &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
				ft = filetypeOf(st.Mode)
			}
		}
		// Names are copied because a refill of the buffer later in this
		// call would overwrite them; growing names leaves earlier slices
		// pointing at the old array, which keeps their bytes.
		at := len(names)
		names = append(names, name...)
		entries[count] = wasi.DirEntry{Next: wasi.DirCookie(off), Ino: ino, Type: ft, Name: names[at:len(names):len(names)]}
		count++
		used += wasi.DirentHeaderSize + len(name)
	}
	s.names = names
	return count, wasi.ESUCCESS
}

func direntType(t uint8) wasi.Filetype {
	switch t {
	case unix.DT_REG:
		return wasi.FiletypeRegularFile
	case unix.DT_DIR:
		return wasi.FiletypeDirectory
	case unix.DT_LNK:
		return wasi.FiletypeSymbolicLink
	case unix.DT_CHR:
		return wasi.FiletypeCharacterDevice
	case unix.DT_BLK:
		return wasi.FiletypeBlockDevice
	case unix.DT_SOCK:
		return wasi.FiletypeSocketStream
	}
	return wasi.FiletypeUnknown
}
