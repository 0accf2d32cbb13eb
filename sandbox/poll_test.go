package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/timelake/timelake/wasi"
)

func clockSub(ud wasi.UserData, id wasi.ClockID, timeout wasi.Timestamp, flags wasi.SubclockFlags) wasi.Subscription {
	return wasi.Subscription{UserData: ud, EventType: wasi.EventTypeClock, ClockID: id, Timeout: timeout, Flags: flags}
}

func fdSub(ud wasi.UserData, t wasi.EventType, fd wasi.FD) wasi.Subscription {
	return wasi.Subscription{UserData: ud, EventType: t, FD: fd}
}

func poll(t *testing.T, s *System, subs ...wasi.Subscription) []wasi.Event {
	t.Helper()
	events := make([]wasi.Event, len(subs))
	n, errno := s.PollOneOff(bg, subs, events)
	if errno != 0 {
		t.Fatalf("poll_oneoff: %s", errno.Name())
	}
	return events[:n]
}

func TestPollClock(t *testing.T) {
	s := newSystem(t, Config{})
	mono := func() wasi.Timestamp { v, _ := s.ClockTimeGet(bg, wasi.ClockMonotonic, 0); return v }
	wall := func() wasi.Timestamp { v, _ := s.ClockTimeGet(bg, wasi.ClockRealtime, 0); return v }
	const d = 20 * time.Millisecond

	for _, tc := range []struct {
		name  string
		sub   func() wasi.Subscription
		clock func() wasi.Timestamp
	}{
		{"relative monotonic", func() wasi.Subscription { return clockSub(7, wasi.ClockMonotonic, wasi.Timestamp(d), 0) }, mono},
		{"relative realtime", func() wasi.Subscription { return clockSub(7, wasi.ClockRealtime, wasi.Timestamp(d), 0) }, mono},
		{"absolute monotonic", func() wasi.Subscription {
			return clockSub(7, wasi.ClockMonotonic, mono()+wasi.Timestamp(d), wasi.SubclockAbstime)
		}, mono},
		{"absolute realtime", func() wasi.Subscription {
			return clockSub(7, wasi.ClockRealtime, wall()+wasi.Timestamp(d), wasi.SubclockAbstime)
		}, wall},
	} {
		start := tc.clock()
		ev := poll(t, s, tc.sub())
		// Sleeping "exactly until" the deadline: never before it.
		if elapsed := tc.clock() - start; elapsed < wasi.Timestamp(d) {
			t.Errorf("%s: woke after %v, before the %v deadline", tc.name, time.Duration(elapsed), d)
		}
		if len(ev) != 1 || ev[0].UserData != 7 || ev[0].EventType != wasi.EventTypeClock || ev[0].Errno != 0 {
			t.Errorf("%s: events %+v", tc.name, ev)
		}
	}

	// Past absolute deadlines and zero timeouts fire at once; of two clocks
	// only the due one fires; a CPU-time clock cannot be waited on.
	ev := poll(t, s,
		clockSub(1, wasi.ClockRealtime, 1, wasi.SubclockAbstime),
		clockSub(2, wasi.ClockMonotonic, 0, 0),
		clockSub(3, wasi.ClockMonotonic, uint64(time.Hour), 0),
		clockSub(4, wasi.ClockProcessCPUTimeID, 1, 0),
	)
	if len(ev) != 3 || ev[0].UserData != 1 || ev[1].UserData != 2 || ev[2].UserData != 4 || ev[2].Errno != wasi.EINVAL {
		t.Errorf("immediate events %+v", ev)
	}
	// A huge timeout with a due clock does not overflow.
	ev = poll(t, s, clockSub(1, wasi.ClockMonotonic, ^uint64(0), 0), clockSub(2, wasi.ClockMonotonic, 1, 0))
	if len(ev) != 1 || ev[0].UserData != 2 {
		t.Errorf("events %+v", ev)
	}
	if _, errno := s.PollOneOff(bg, nil, nil); errno != wasi.EINVAL {
		t.Errorf("empty poll: %s", errno.Name())
	}
}

func TestPollFDs(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f := newFixture(t, false)
	f.s.Close(bg)
	s := newSystem(t, Config{Stdin: r, Stdout: w, Mounts: []Mount{{HostPath: f.dir, GuestPath: "/"}}})
	writeFile(t, filepath.Join(f.dir, "file"), "0123456789")
	file, _ := s.PathOpen(bg, 3, 0, "file", 0, readRights, 0, 0)
	s.FDSeek(bg, file, 4, wasi.WhenceSet)

	// An empty pipe is not readable: the clock fires.
	ev := poll(t, s, fdSub(1, wasi.EventTypeFDRead, 0), clockSub(2, wasi.ClockMonotonic, uint64(time.Millisecond), 0))
	if len(ev) != 1 || ev[0].UserData != 2 {
		t.Errorf("empty pipe: events %+v", ev)
	}
	// Data makes it readable, with the byte count.
	w.WriteString("abc")
	ev = poll(t, s, fdSub(1, wasi.EventTypeFDRead, 0), clockSub(2, wasi.ClockMonotonic, uint64(time.Hour), 0))
	if len(ev) != 1 || ev[0].UserData != 1 || ev[0].EventType != wasi.EventTypeFDRead || ev[0].NBytes != 3 {
		t.Errorf("readable pipe: events %+v", ev)
	}
	// No clock at all: the poll waits for the fd alone.
	ev = poll(t, s, fdSub(1, wasi.EventTypeFDRead, 0))
	if len(ev) != 1 || ev[0].UserData != 1 {
		t.Errorf("fd-only poll: events %+v", ev)
	}
	// A pipe with room is writable; files and directories are always ready;
	// a bad fd is an event carrying EBADF.
	ev = poll(t, s,
		fdSub(1, wasi.EventTypeFDWrite, 1),
		fdSub(2, wasi.EventTypeFDRead, file),
		fdSub(3, wasi.EventTypeFDRead, 3),
		fdSub(4, wasi.EventTypeFDRead, 99),
		clockSub(5, wasi.ClockMonotonic, uint64(time.Hour), 0),
	)
	byUD := map[wasi.UserData]wasi.Event{}
	for _, e := range ev {
		byUD[e.UserData] = e
	}
	if len(ev) != 4 || byUD[1].EventType != wasi.EventTypeFDWrite || byUD[2].NBytes != 6 || byUD[4].Errno != wasi.EBADF || byUD[3].Errno != 0 {
		t.Errorf("mixed poll: events %+v", ev)
	}
	// A closed writer is a hangup.
	w.Close()
	r2 := make([]byte, 8)
	s.FDRead(bg, 0, [][]byte{r2})
	ev = poll(t, s, fdSub(1, wasi.EventTypeFDRead, 0))
	if len(ev) != 1 || ev[0].Flags != wasi.EventFDReadWriteHangup {
		t.Errorf("hangup: events %+v", ev)
	}
	// An fd without the poll right.
	s.FDStatSetRights(bg, file, wasi.RightFDRead, 0)
	ev = poll(t, s, fdSub(1, wasi.EventTypeFDRead, file))
	if len(ev) != 1 || ev[0].Errno != wasi.ENOTCAPABLE {
		t.Errorf("no poll right: events %+v", ev)
	}
}

func TestPollCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	s := newSystem(t, Config{Stdin: r})
	for _, subs := range [][]wasi.Subscription{
		{clockSub(1, wasi.ClockMonotonic, uint64(time.Hour), 0)},
		{fdSub(1, wasi.EventTypeFDRead, 0)},
	} {
		ctx, cancel := context.WithCancel(bg)
		go cancel() // whether it lands before or during the wait, poll returns
		events := make([]wasi.Event, len(subs))
		n, errno := s.PollOneOff(ctx, subs, events)
		if n != 0 || errno != wasi.EINTR {
			t.Errorf("cancelled poll = %d, %s; want 0, EINTR", n, errno.Name())
		}
		// A later poll under a live context works again.
		if ev := poll(t, s, clockSub(2, wasi.ClockMonotonic, 1, 0)); len(ev) != 1 || ev[0].UserData != 2 {
			t.Errorf("poll after cancel: %+v", ev)
		}
	}
	// A context already cancelled by a deadline.
	ctx, cancel := context.WithTimeout(bg, time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if _, errno := s.PollOneOff(ctx, []wasi.Subscription{clockSub(1, wasi.ClockMonotonic, uint64(time.Hour), 0)}, make([]wasi.Event, 1)); errno != wasi.EINTR {
		t.Errorf("poll under an expired context: %s", errno.Name())
	}
}
