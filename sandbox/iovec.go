package sandbox

import (
	"math/bits"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The vectored I/O syscalls are called directly with a reused iovec array,
// so that fd_read and fd_write allocate nothing: a guest writing a line at
// a time makes millions of these calls.

// iovecs fills the scratch iovec array with bufs (which alias guest memory).
func (s *System) iovecs(bufs [][]byte) []unix.Iovec {
	iov := s.iov[:0]
	for _, b := range bufs {
		var v unix.Iovec
		if len(b) > 0 {
			v.Base = &b[0]
			v.SetLen(len(b))
		}
		iov = append(iov, v)
	}
	s.iov = iov
	return iov
}

// release drops the scratch's references to guest memory.
func (s *System) release(iov []unix.Iovec) { clear(iov) }

func iovPtr(iov []unix.Iovec) uintptr {
	if len(iov) == 0 {
		return 0
	}
	return uintptr(unsafe.Pointer(&iov[0]))
}

// vecIO runs readv or writev (trap), retrying on EINTR. A single buffer,
// the common case, goes through plain read or write, which the kernel
// serves with less work than the vectored form.
func (s *System) vecIO(trap uintptr, fd int, bufs [][]byte) (int, unix.Errno) {
	if len(bufs) == 1 && len(bufs[0]) > 0 {
		plain := uintptr(unix.SYS_WRITE)
		if trap == unix.SYS_READV {
			plain = unix.SYS_READ
		}
		b := bufs[0]
		for {
			n, _, e := unix.Syscall(plain, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			if e == unix.EINTR {
				continue
			}
			if e != 0 {
				return 0, e
			}
			return int(n), 0
		}
	}
	iov := s.iovecs(bufs)
	for {
		n, _, e := unix.Syscall(trap, uintptr(fd), iovPtr(iov), uintptr(len(iov)))
		if e == unix.EINTR {
			continue
		}
		s.release(iov)
		if e != 0 {
			return 0, e
		}
		return int(n), 0
	}
}

// vecIOAt runs preadv or pwritev (trap) at off, retrying on EINTR.
func (s *System) vecIOAt(trap uintptr, fd int, bufs [][]byte, off int64) (int, unix.Errno) {
	iov := s.iovecs(bufs)
	// The kernel takes the offset as two longs, low then high; on 64-bit
	// hosts the high word is zero.
	lo := uintptr(off)
	hi := uintptr(uint64(off) >> (bits.UintSize / 2) >> (bits.UintSize / 2))
	for {
		n, _, e := unix.Syscall6(trap, uintptr(fd), iovPtr(iov), uintptr(len(iov)), lo, hi, 0)
		if e == unix.EINTR {
			continue
		}
		s.release(iov)
		if e != 0 {
			return 0, e
		}
		return int(n), 0
	}
}

func totalLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}
