// Package sandbox implements wasi.System on the real Linux kernel, confined by
// a policy (Config): the guest sees only the arguments, environment, stdio
// files and directories it is given.
//
// It owns the guest's fd table (kinds, rights, flags, preopens, the open-file
// bound), path confinement, clocks, randomness and poll_oneoff. It does not
// touch guest memory (the wasi binding does) and records nothing (capture
// does).
//
// # Confinement
//
// Every path a guest names is resolved by the kernel, relative to the
// directory fd it came with, using openat2(2) with RESOLVE_BENEATH and
// RESOLVE_NO_MAGICLINKS (Linux 5.6 or later; set-times on a path needs the
// AT_EMPTY_PATH form of utimensat, Linux 5.8). Operations on a last component
// (unlink, rmdir, mkdir, rename, link, symlink) open its parent that way and
// then call the *at syscall on the base name, which never follows a final
// symlink; "." and ".." as the last component are checked by resolving the
// whole path first. Absolute paths, ".." above a mount and symlinks that lead
// out (absolute or relative) therefore never reach a host file: the kernel
// answers EXDEV, which the guest sees as ENOTCAPABLE (see resolveErrno).
// Symlinks with such targets can be created (a target is only a string). On
// EXDEV the lookup is redone component by component (walk in path.go, each
// step RESOLVE_NO_SYMLINKS): an absolute symlink target is a guest path and
// continues from the preopen whose guest path is its longest prefix, under
// that mount's rights and read-only policy. Targets outside every preopen,
// ".." above the lookup's root and more than 40 links fail with ENOTCAPABLE
// or ELOOP; nothing outside a mount is ever reached.
//
// # Rights and read-only mounts
//
// Each fd carries base and inheriting rights. path_open intersects the rights
// asked for with the directory's inheriting rights and with what makes sense
// for the opened file's type; fd_fdstat_set_rights can only drop rights. A
// missing right is ENOTCAPABLE, except on a read-only mount, whose fds never
// hold a right that changes the tree: there the guest sees EROFS, what a
// POSIX program expects when it writes to a read-only file system, and how it
// tells "the mount is read-only" apart from "this fd was narrowed". Files on
// read-only mounts are always opened O_RDONLY on the host.
//
// # Stdio
//
// Fds 0, 1 and 2 are the host files of Config (never closed here) or, when
// nil, a null device. The host files are switched to blocking mode. Flags the
// guest sets on them (append, nonblock) are kept in the fd table only, so a
// guest cannot change the terminal or pipe the host shares with others.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// System is the guest's view of the host. Its methods are called from one
// goroutine (the guest's); only the context watcher runs elsewhere.
type System struct {
	args, env         []string
	argsSize, envSize wasi.Size

	fds     []*fdEntry // indexed by guest fd; nil slots are free
	nopen   int        // non-nil entries in fds
	maxOpen int

	start    time.Time // monotonic reading at New
	monoBase int64     // CLOCK_MONOTONIC at New, in ns

	exitCode wasi.ExitCode
	exited   bool

	// Scratch reused by every call so that hot paths allocate nothing.
	iov       []unix.Iovec
	pollFDs   []unix.PollFd
	pollSubs  []int   // subscription index of each pollFDs entry
	deadlines []int64 // per subscription: clock deadline, or noDeadline
	names     []byte  // fd_readdir names of the current call
	ts        unix.Timespec
	rsa       unix.RawSockaddrAny // socket addresses in and out of syscalls
	msg       unix.Msghdr
	bufs      [][]byte // remaining buffers of a MSG_WAITALL receive

	policy *netPolicy     // network policy; never nil
	roots  *x509.CertPool // hTLS roots; nil for the system roots

	// Waking poll_oneoff when the guest's context is cancelled.
	wake      *waker
	wakeDone  <-chan struct{} // Done channel of the watched context
	wakeStop  func() bool
	closeOnce sync.Once
}

// New builds a System from cfg: it sets up stdio and opens every mount as a
// preopened directory. Errors name the mount at fault.
func New(cfg Config) (*System, error) {
	maxOpen := cfg.MaxOpenFiles
	if maxOpen == 0 {
		maxOpen = DefaultMaxOpenFiles
	}
	if n := 3 + len(cfg.Mounts) + len(cfg.Listen); maxOpen < n {
		return nil, fmt.Errorf("sandbox: MaxOpenFiles %d is below the %d fds of stdio, mounts and listeners", maxOpen, n)
	}
	s := &System{
		args:     append([]string(nil), cfg.Args...),
		env:      append([]string(nil), cfg.Env...),
		maxOpen:  maxOpen,
		start:    time.Now(),
		fds:      make([]*fdEntry, 0, 3+len(cfg.Mounts)+8),
		iov:      make([]unix.Iovec, 0, 16),
		names:    make([]byte, 0, 4096),
		pollFDs:  make([]unix.PollFd, 0, 8),
		pollSubs: make([]int, 0, 8),
	}
	policy, err := parsePolicy(cfg.Net)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s.policy = policy
	if s.roots, err = loadRoots(cfg.CAFile); err != nil {
		return nil, err
	}
	s.argsSize = stringsSize(s.args)
	s.envSize = stringsSize(s.env)
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("sandbox: read monotonic clock: %w", err)
	}
	s.monoBase = ts.Nano()

	for i, f := range [3]*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr} {
		e, err := stdioEntry(f, i)
		if err != nil {
			return nil, fmt.Errorf("sandbox: stdio fd %d: %w", i, err)
		}
		s.fds = append(s.fds, e)
		s.nopen++
	}
	w, err := newWaker()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s.wake = w
	for _, m := range cfg.Mounts {
		e, err := preopen(m)
		if err != nil {
			s.Close(context.Background())
			return nil, fmt.Errorf("sandbox: mount %s (guest %s): %w", m.HostPath, m.GuestPath, err)
		}
		s.fds = append(s.fds, e)
		s.nopen++
		if len(s.fds) == 4 {
			if err := probeOpenat2(e.host); err != nil {
				s.Close(context.Background())
				return nil, err
			}
		}
	}
	for _, addr := range cfg.Listen {
		e, err := preopenListener(addr)
		if err != nil {
			s.Close(context.Background())
			return nil, fmt.Errorf("sandbox: listen %s: %w", addr, err)
		}
		s.fds = append(s.fds, e)
		s.nopen++
	}
	return s, nil
}

var _ wasi.System = (*System)(nil)

func stringsSize(ss []string) wasi.Size {
	n := 0
	for _, s := range ss {
		n += len(s) + 1
	}
	return wasi.Size(n)
}

// ExitCode returns the code given to proc_exit, and whether it was called.
func (s *System) ExitCode() (code wasi.ExitCode, exited bool) { return s.exitCode, s.exited }

// Close closes every fd the guest still holds, except the host stdio files.
// It is safe to call more than once.
func (s *System) Close(ctx context.Context) error {
	var errs []error
	s.closeOnce.Do(func() {
		for i, e := range s.fds {
			if e != nil {
				if err := e.close(); err != nil {
					errs = append(errs, fmt.Errorf("close fd %d: %w", i, err))
				}
				s.fds[i] = nil
			}
		}
		s.nopen = 0
		if s.wakeStop != nil {
			s.wakeStop()
		}
		if s.wake != nil {
			s.wake.close()
		}
	})
	return errors.Join(errs...)
}

// ArgsSizesGet implements wasi.System.
func (s *System) ArgsSizesGet(ctx context.Context) (argc, bufSize wasi.Size, errno wasi.Errno) {
	return wasi.Size(len(s.args)), s.argsSize, wasi.ESUCCESS
}

// ArgsGet implements wasi.System.
func (s *System) ArgsGet(ctx context.Context) ([]string, wasi.Errno) { return s.args, wasi.ESUCCESS }

// EnvironSizesGet implements wasi.System.
func (s *System) EnvironSizesGet(ctx context.Context) (count, bufSize wasi.Size, errno wasi.Errno) {
	return wasi.Size(len(s.env)), s.envSize, wasi.ESUCCESS
}

// EnvironGet implements wasi.System.
func (s *System) EnvironGet(ctx context.Context) ([]string, wasi.Errno) { return s.env, wasi.ESUCCESS }

// monotonic is the guest's monotonic clock: CLOCK_MONOTONIC as of New plus
// the time elapsed since, read through the vDSO without a syscall.
func (s *System) monotonic() int64 { return s.monoBase + int64(time.Since(s.start)) }

// ClockResGet implements wasi.System.
func (s *System) ClockResGet(ctx context.Context, id wasi.ClockID) (wasi.Timestamp, wasi.Errno) {
	hid, ok := hostClock(id)
	if !ok {
		return 0, wasi.EINVAL
	}
	if err := unix.ClockGetres(hid, &s.ts); err != nil {
		return 0, Errno(err)
	}
	return wasi.Timestamp(s.ts.Nano()), wasi.ESUCCESS
}

// ClockTimeGet implements wasi.System. The precision hint is ignored: every
// clock is read at its best resolution.
func (s *System) ClockTimeGet(ctx context.Context, id wasi.ClockID, precision wasi.Timestamp) (wasi.Timestamp, wasi.Errno) {
	switch id {
	case wasi.ClockRealtime:
		return wasi.Timestamp(time.Now().UnixNano()), wasi.ESUCCESS
	case wasi.ClockMonotonic:
		return wasi.Timestamp(s.monotonic()), wasi.ESUCCESS
	}
	hid, ok := hostClock(id)
	if !ok {
		return 0, wasi.EINVAL
	}
	if err := unix.ClockGettime(hid, &s.ts); err != nil {
		return 0, Errno(err)
	}
	return wasi.Timestamp(s.ts.Nano()), wasi.ESUCCESS
}

func hostClock(id wasi.ClockID) (int32, bool) {
	switch id {
	case wasi.ClockRealtime:
		return unix.CLOCK_REALTIME, true
	case wasi.ClockMonotonic:
		return unix.CLOCK_MONOTONIC, true
	case wasi.ClockProcessCPUTimeID:
		return unix.CLOCK_PROCESS_CPUTIME_ID, true
	case wasi.ClockThreadCPUTimeID:
		return unix.CLOCK_THREAD_CPUTIME_ID, true
	}
	return 0, false
}

// RandomGet implements wasi.System with the kernel's CSPRNG.
func (s *System) RandomGet(ctx context.Context, buf []byte) wasi.Errno {
	if _, err := rand.Read(buf); err != nil {
		return wasi.EIO
	}
	return wasi.ESUCCESS
}

// ProcExit implements wasi.System: it records the code; the binding stops
// the guest.
func (s *System) ProcExit(ctx context.Context, code wasi.ExitCode) wasi.Errno {
	s.exitCode, s.exited = code, true
	return wasi.ESUCCESS
}

// ProcRaise implements wasi.System. Signals are not delivered to guests.
func (s *System) ProcRaise(ctx context.Context, sig wasi.Signal) wasi.Errno { return wasi.ENOSYS }

// SchedYield implements wasi.System.
func (s *System) SchedYield(ctx context.Context) wasi.Errno {
	runtime.Gosched()
	return wasi.ESUCCESS
}

// probeOpenat2 fails early, with a clear message, where the kernel (before
// 5.6) or a seccomp filter refuses openat2: without it no path can be
// confined.
func probeOpenat2(dirfd int) error {
	fd, err := unix.Openat2(dirfd, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolveFlags})
	if err != nil {
		return fmt.Errorf("sandbox: openat2 is unavailable (Linux 5.6 or later, not blocked by seccomp, is required to confine paths): %w", err)
	}
	unix.Close(fd)
	return nil
}
