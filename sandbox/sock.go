package sandbox

import (
	"context"

	"github.com/timelake/timelake/wasi"
)

// The preview 1 socket calls. No fd is a socket yet: the socket extension
// adds kindSocket entries, and these methods dispatch on that kind. Until
// then every open fd answers ENOTSOCK.

func (s *System) notSocket(fd wasi.FD) wasi.Errno {
	e := s.lookup(fd)
	if e == nil {
		return wasi.EBADF
	}
	return wasi.ENOTSOCK
}

// SockAccept implements wasi.System.
func (s *System) SockAccept(ctx context.Context, fd wasi.FD, flags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	return 0, s.notSocket(fd)
}

// SockRecv implements wasi.System.
func (s *System) SockRecv(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.RIFlags) (wasi.Size, wasi.ROFlags, wasi.Errno) {
	return 0, 0, s.notSocket(fd)
}

// SockSend implements wasi.System.
func (s *System) SockSend(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.SIFlags) (wasi.Size, wasi.Errno) {
	return 0, s.notSocket(fd)
}

// SockShutdown implements wasi.System.
func (s *System) SockShutdown(ctx context.Context, fd wasi.FD, flags wasi.SDFlags) wasi.Errno {
	return s.notSocket(fd)
}
