package sandbox

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// noDeadline marks a subscription that is not a pending clock.
const noDeadline = math.MaxInt64

// PollOneOff implements wasi.System.
//
// Clock subscriptions (realtime or monotonic, relative or SubclockAbstime)
// become deadlines on the monotonic clock. Regular files, directories and
// null stdio are always ready; other fds (pipes, ttys) are polled with
// ppoll(2), whose timeout is the nearest deadline, so a poll holding only a
// clock sleeps until exactly that time (Go's time.Sleep on wasip1). A bad fd
// is an event carrying EBADF, an fd without the poll right one carrying
// ENOTCAPABLE (directories, whose rights have no poll right, are ready).
// Cancelling ctx wakes a blocked poll, which then returns EINTR with no
// events: the runner cancels ctx to stop a guest, and Go's wasip1 runtime
// treats EINTR as a cue to re-check, not as a fatal error.
func (s *System) PollOneOff(ctx context.Context, subs []wasi.Subscription, events []wasi.Event) (int, wasi.Errno) {
	if len(subs) == 0 || len(events) < len(subs) {
		return 0, wasi.EINVAL
	}
	if ctx.Err() != nil {
		return 0, wasi.EINTR
	}
	now := s.monotonic()
	n := 0
	nearest := int64(noDeadline)
	pfds, psubs := s.pollFDs[:0], s.pollSubs[:0]
	deadlines := s.deadlines[:0]
	for i := range subs {
		sub := &subs[i]
		deadlines = append(deadlines, noDeadline)
		switch sub.EventType {
		case wasi.EventTypeClock:
			d, errno := s.deadline(sub, now)
			switch {
			case errno != 0:
				events[n] = wasi.Event{UserData: sub.UserData, Errno: errno, EventType: sub.EventType}
				n++
			case d <= now:
				events[n] = wasi.Event{UserData: sub.UserData, EventType: sub.EventType}
				n++
			default:
				deadlines[i] = d
				nearest = min(nearest, d)
			}
		case wasi.EventTypeFDRead, wasi.EventTypeFDWrite:
			e := s.lookup(sub.FD)
			switch {
			case e == nil:
				events[n] = wasi.Event{UserData: sub.UserData, Errno: wasi.EBADF, EventType: sub.EventType}
				n++
			case e.kind != kindDir && e.check(wasi.RightPollFDReadWrite) != 0:
				events[n] = wasi.Event{UserData: sub.UserData, Errno: wasi.ENOTCAPABLE, EventType: sub.EventType}
				n++
			case !e.pollable:
				events[n] = wasi.Event{UserData: sub.UserData, EventType: sub.EventType, NBytes: s.available(e, sub.EventType)}
				n++
			default:
				ev := int16(unix.POLLIN)
				if sub.EventType == wasi.EventTypeFDWrite {
					ev = unix.POLLOUT
				}
				pfds = append(pfds, unix.PollFd{Fd: int32(e.host), Events: ev})
				psubs = append(psubs, i)
			}
		default:
			events[n] = wasi.Event{UserData: sub.UserData, Errno: wasi.EINVAL, EventType: sub.EventType}
			n++
		}
	}
	s.deadlines = deadlines
	s.watch(ctx)
	wake := len(pfds)
	pfds = append(pfds, unix.PollFd{Fd: int32(s.wake.fd), Events: unix.POLLIN})
	s.pollFDs, s.pollSubs = pfds, psubs

	for {
		var timeout *unix.Timespec
		switch {
		case n > 0:
			s.ts = unix.Timespec{}
			timeout = &s.ts
		case nearest != noDeadline:
			s.ts = unix.NsecToTimespec(max(nearest-s.monotonic(), 0))
			timeout = &s.ts
		}
		_, err := unix.Ppoll(pfds, timeout, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, Errno(err)
		}
		if pfds[wake].Revents != 0 {
			if ctx.Err() == nil {
				// A late signal for a context no longer watched.
				s.wake.drain()
			} else if n == 0 {
				return 0, wasi.EINTR
			}
		}
		for j, p := range pfds[:wake] {
			if p.Revents == 0 {
				continue
			}
			sub := &subs[psubs[j]]
			ev := wasi.Event{UserData: sub.UserData, EventType: sub.EventType}
			switch {
			case p.Revents&unix.POLLNVAL != 0:
				ev.Errno = wasi.EBADF
			case p.Revents&(unix.POLLHUP|unix.POLLERR) != 0:
				ev.Flags = wasi.EventFDReadWriteHangup
			case sub.EventType == wasi.EventTypeFDRead:
				if k, err := unix.IoctlGetInt(int(p.Fd), unix.TIOCINQ); err == nil && k > 0 {
					ev.NBytes = wasi.Filesize(k)
				}
			}
			events[n] = ev
			n++
		}
		if n > 0 {
			return n, wasi.ESUCCESS
		}
		if nearest == noDeadline {
			continue // spurious wake-up with nothing to wait for but fds
		}
		if now = s.monotonic(); now < nearest {
			continue
		}
		for i, d := range deadlines {
			if d <= now {
				events[n] = wasi.Event{UserData: subs[i].UserData, EventType: wasi.EventTypeClock}
				n++
			}
		}
		return n, wasi.ESUCCESS
	}
}

// deadline converts a clock subscription to a time on s.monotonic().
func (s *System) deadline(sub *wasi.Subscription, now int64) (int64, wasi.Errno) {
	switch sub.ClockID {
	case wasi.ClockRealtime, wasi.ClockMonotonic:
	default:
		return 0, wasi.EINVAL // a CPU-time clock cannot be slept on
	}
	if sub.Flags&wasi.SubclockAbstime == 0 {
		return addSat(now, sub.Timeout), wasi.ESUCCESS
	}
	if sub.ClockID == wasi.ClockMonotonic {
		return int64(min(sub.Timeout, noDeadline-1)), wasi.ESUCCESS
	}
	wall := time.Now().UnixNano()
	if sub.Timeout <= uint64(wall) {
		return now, wasi.ESUCCESS
	}
	return addSat(now, sub.Timeout-uint64(wall)), wasi.ESUCCESS
}

// addSat adds a duration to a time, saturating just below noDeadline.
func addSat(t int64, d uint64) int64 {
	if d >= uint64(noDeadline-1-t) {
		return noDeadline - 1
	}
	return t + int64(d)
}

// available is the NBytes of a ready event on an fd that needs no poll: what
// is left to read in a regular file; 0 (unknown) otherwise.
func (s *System) available(e *fdEntry, t wasi.EventType) wasi.Filesize {
	if t != wasi.EventTypeFDRead || e.host < 0 || e.filetype != wasi.FiletypeRegularFile {
		return 0
	}
	var st unix.Stat_t
	if unix.Fstat(e.host, &st) != nil {
		return 0
	}
	pos, err := unix.Seek(e.host, 0, unix.SEEK_CUR)
	if err != nil || pos >= st.Size {
		return 0
	}
	return wasi.Filesize(st.Size - pos)
}

// ready polls one host fd without waiting.
func (s *System) ready(fd int, events int16) bool {
	pfds := append(s.pollFDs[:0], unix.PollFd{Fd: int32(fd), Events: events})
	s.pollFDs = pfds
	s.ts = unix.Timespec{}
	n, err := unix.Ppoll(pfds, &s.ts, nil)
	return err == nil && n > 0
}

// waker is an eventfd that a cancelled context makes readable, so that a
// blocked ppoll returns. It is the only state touched by another goroutine.
type waker struct {
	mu sync.Mutex
	fd int // -1 once closed
}

func newWaker() (*waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("create eventfd: %w", err)
	}
	return &waker{fd: fd}, nil
}

func (w *waker) signal() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		var one = [8]byte{1}
		unix.Write(w.fd, one[:])
	}
}

func (w *waker) drain() {
	var buf [8]byte
	unix.Read(w.fd, buf[:])
}

func (w *waker) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		unix.Close(w.fd)
		w.fd = -1
	}
}

// watch arranges for the waker to fire when ctx is done. The guest's calls
// normally share one context, so this registers once per run.
func (s *System) watch(ctx context.Context) {
	done := ctx.Done()
	if done == s.wakeDone {
		return
	}
	if s.wakeStop != nil {
		s.wakeStop()
		s.wakeStop = nil
		s.wake.drain()
	}
	s.wakeDone = done
	if done != nil {
		s.wakeStop = context.AfterFunc(ctx, s.wake.signal)
	}
}
