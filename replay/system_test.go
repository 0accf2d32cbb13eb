package replay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/sandbox"
	"github.com/timelake/timelake/wasi"
)

// TestReplayGuests records real guests in process (sandbox + Recorder +
// segment writer), removes everything they saw of the host, and replays
// them: same stdout, stderr and ending, every record used.
func TestReplayGuests(t *testing.T) {
	tests := []struct {
		name  string
		guest string
		args  []string
		env   []string
		stdin string
		files map[string]string // laid out in a directory mounted at /work
	}{
		{name: "hello", guest: "go/hello"},
		{name: "args and env", guest: "go/args", args: []string{"one", "two words"}, env: []string{"A=1", "B=x=y"}},
		{name: "clock", guest: "go/clock"},
		{name: "random", guest: "go/random"},
		{name: "sleep", guest: "go/sleep", args: []string{"200", "10"}},
		{name: "cat", guest: "go/cat", stdin: strings.Repeat("replayed stdin\n", 5000)},
		{name: "exit 3", guest: "go/exit", args: []string{"3"}},
		{name: "panic", guest: "go/panic"},
		{name: "files", guest: "go/files", args: []string{"/work"}, files: map[string]string{}},
		{
			name: "fstest", guest: "go/fstest", args: []string{"/work", "a.txt", "sub/b.txt"},
			files: map[string]string{"a.txt": "alpha\n", "sub/b.txt": strings.Repeat("bravo\n", 3000)},
		},
		{name: "write 20k lines", guest: "go/write1m", args: []string{"20000"}},
		{name: "trap_c", guest: "c/trap_c"},
		{name: "files_c", guest: "c/files_c", args: []string{"/work"}, files: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := openLake(t)
			cfg := sandbox.Config{Args: append([]string{"guest.wasm"}, tt.args...), Env: tt.env}
			var work string
			if tt.files != nil {
				work = t.TempDir()
				for name, content := range tt.files {
					p := filepath.Join(work, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				cfg.Mounts = []sandbox.Mount{{HostPath: work, GuestPath: "/work"}}
			}
			if tt.stdin != "" {
				in := filepath.Join(t.TempDir(), "stdin")
				if err := os.WriteFile(in, []byte(tt.stdin), 0o644); err != nil {
					t.Fatal(err)
				}
				f, err := os.Open(in)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cfg.Stdin = f
			}
			module := guestPath(t, tt.guest)
			rec := recordGuest(t, store, module, cfg)
			if work != "" {
				if err := os.RemoveAll(work); err != nil {
					t.Fatal(err)
				}
			}

			var stdout, stderr bytes.Buffer
			sys := openSystem(t, store, rec.id, Options{Stdout: &stdout, Stderr: &stderr})
			out := runGuest(t, module, sys)
			if err := sys.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := sys.Finish(out); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if out != rec.outcome {
				t.Errorf("replay ended %v, recorded %v", out, rec.outcome)
			}
			if !bytes.Equal(stdout.Bytes(), rec.stdout) {
				t.Errorf("stdout %s\nrecorded %s", quoteShort(stdout.Bytes()), quoteShort(rec.stdout))
			}
			if !bytes.Equal(stderr.Bytes(), rec.stderr) {
				t.Errorf("stderr %s\nrecorded %s", quoteShort(stderr.Bytes()), quoteShort(rec.stderr))
			}
		})
	}
}

const line37 = "0123456789abcdefghijklmnopqrstuvwxyz\n"

// divergenceRecord is the run the divergence cases replay.
func divergenceRecord() []call {
	return []call{
		{c: &capture.FDStatSetFlags{FD: 1, Flags: wasi.FDFlagNonBlock}},
		{c: &capture.FDWrite{FD: 1, IOVecLens: []uint32{37}, Data: []byte(line37), N: 37}},
		{c: &capture.ClockTimeGet{ID: wasi.ClockMonotonic, Precision: 1000, Time: 42}},
		{c: &capture.PathOpen{FD: 3, Path: "a.txt", OFlags: wasi.OFlagCreat, RightsBase: wasi.FileRights, NewFD: 4}},
		{c: &capture.PollOneOff{
			Subs:   []wasi.Subscription{{UserData: 7, EventType: wasi.EventTypeClock, ClockID: wasi.ClockMonotonic, Timeout: 1e9}},
			Events: []wasi.Event{{UserData: 7, EventType: wasi.EventTypeClock}},
		}},
		{c: &capture.ProcExit{Code: 0}},
	}
}

func TestDivergence(t *testing.T) {
	ctx := context.Background()
	// The guest's calls that match the record, in order.
	good := []func(s *System){
		func(s *System) { s.FDStatSetFlags(ctx, 1, wasi.FDFlagNonBlock) },
		func(s *System) { s.FDWrite(ctx, 1, [][]byte{[]byte(line37)}) },
		func(s *System) { s.ClockTimeGet(ctx, wasi.ClockMonotonic, 1000) },
		func(s *System) {
			s.PathOpen(ctx, 3, 0, "a.txt", wasi.OFlagCreat, wasi.FileRights, 0, 0)
		},
		func(s *System) {
			s.PollOneOff(ctx, []wasi.Subscription{{UserData: 7, EventType: wasi.EventTypeClock, ClockID: wasi.ClockMonotonic, Timeout: 1e9}}, make([]wasi.Event, 1))
		},
		func(s *System) { s.ProcExit(ctx, 0) },
	}
	tests := []struct {
		name     string
		at       int             // the diverging call replaces good[at]
		call     func(s *System) // the diverging call
		recorded string          // the whole Recorded field
		got      string          // the whole Got field
		detail   string          // substring of Detail
	}{
		{
			name: "other flags", at: 0,
			call:     func(s *System) { s.FDStatSetFlags(ctx, 1, wasi.FDFlagAppend) },
			recorded: "fd_fdstat_set_flags(fd=1, flags=NONBLOCK) = 0",
			got:      "called fd_fdstat_set_flags(fd=1, flags=APPEND)",
		},
		{
			name: "other function", at: 1,
			call:     func(s *System) { s.ClockTimeGet(ctx, wasi.ClockMonotonic, 1000) },
			recorded: `fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…) = 37`,
			got:      "called clock_time_get(id=monotonic, precision=1000)",
		},
		{
			name: "other fd", at: 1,
			call:     func(s *System) { s.FDWrite(ctx, 2, [][]byte{[]byte(line37)}) },
			recorded: `fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…) = 37`,
			got:      `called fd_write(fd=2, "0123456789abcdefghijklmnopqrstuv"…)`,
		},
		{
			name: "other bytes early", at: 1,
			call:     func(s *System) { s.FDWrite(ctx, 1, [][]byte{[]byte("0X23456789abcdefghijklmnopqrstuvwxyz\n")}) },
			recorded: `fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…) = 37`,
			got:      `called fd_write(fd=1, "0X23456789abcdefghijklmnopqrstuv"…)`,
			detail:   "bytes differ from offset 1: recorded 37 bytes, guest wrote 37",
		},
		{
			name: "other bytes past what the rendering shows", at: 1,
			call:     func(s *System) { s.FDWrite(ctx, 1, [][]byte{[]byte("0123456789abcdefghijklmnopqrstuvwxyZ\n")}) },
			recorded: `fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…) = 37`,
			got:      `called fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…)`,
			detail:   "bytes differ from offset 35",
		},
		{
			name: "fewer bytes", at: 1,
			call:     func(s *System) { s.FDWrite(ctx, 1, [][]byte{[]byte("0123")}) },
			recorded: `fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…) = 37`,
			got:      `called fd_write(fd=1, "0123")`,
			detail:   "bytes differ from offset 4: recorded 37 bytes, guest wrote 4",
		},
		{
			name: "same bytes in other iovecs", at: 1,
			call:     func(s *System) { s.FDWrite(ctx, 1, [][]byte{[]byte(line37[:10]), []byte(line37[10:])}) },
			recorded: `fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…) = 37`,
			got:      `called fd_write(fd=1, "0123456789abcdefghijklmnopqrstuv"…, iovs=[10, 27])`,
		},
		{
			name: "other clock precision", at: 2,
			call:     func(s *System) { s.ClockTimeGet(ctx, wasi.ClockMonotonic, 1) },
			recorded: "clock_time_get(id=monotonic, precision=1000) = 42",
			got:      "called clock_time_get(id=monotonic, precision=1)",
		},
		{
			name: "other path", at: 3,
			call: func(s *System) {
				s.PathOpen(ctx, 3, 0, "b.txt", wasi.OFlagCreat, wasi.FileRights, 0, 0)
			},
			recorded: `path_open(fd=3, dirflags=0, path="a.txt", oflags=CREAT, rights=0x8e001ff, inheriting=0x0, fdflags=0) = 4`,
			got:      `called path_open(fd=3, dirflags=0, path="b.txt", oflags=CREAT, rights=0x8e001ff, inheriting=0x0, fdflags=0)`,
		},
		{
			name: "other subscription", at: 4,
			call: func(s *System) {
				s.PollOneOff(ctx, []wasi.Subscription{{UserData: 7, EventType: wasi.EventTypeClock, ClockID: wasi.ClockMonotonic, Timeout: 2e9}}, make([]wasi.Event, 1))
			},
			recorded: "poll_oneoff(subs=[{userdata=7, clock=monotonic, timeout=1000000000, precision=0, flags=0}]) = 1 [{userdata=7, type=clock}]",
			got:      "called poll_oneoff(subs=[{userdata=7, clock=monotonic, timeout=2000000000, precision=0, flags=0}])",
		},
		{
			name: "other exit code", at: 5,
			call:     func(s *System) { s.ProcExit(ctx, 1) },
			recorded: "proc_exit(code=0) = 0",
			got:      "called proc_exit(code=1)",
		},
		{
			name: "past the end", at: 6,
			call:     func(s *System) { s.SchedYield(ctx) },
			recorded: "the end of the run (6 records)",
			got:      "called sched_yield()",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openLake(t)
			id := newRunID(t)
			putRun(t, store, id, seg{frames: [][]call{divergenceRecord()}, last: true, trailer: exited(0)})
			var stdout bytes.Buffer
			sys := openSystem(t, store, id, Options{Stdout: &stdout})
			for i := 0; i < tt.at; i++ {
				if err := stopped(func() { good[i](sys) }); err != nil {
					t.Fatalf("matching call %d stopped the guest: %v", i, err)
				}
			}
			err := stopped(func() { tt.call(sys) })
			var div *DivergenceError
			if !errors.As(err, &div) {
				t.Fatalf("the guest was stopped with %v, want a *DivergenceError", err)
			}
			mustEqual(t, "Index", div.Index, uint64(tt.at))
			if !strings.HasPrefix(div.Recorded, tt.recorded) {
				t.Errorf("Recorded = %s\nwant prefix %s", div.Recorded, tt.recorded)
			}
			if !strings.HasPrefix(div.Got, tt.got) {
				t.Errorf("Got = %s\nwant prefix %s", div.Got, tt.got)
			}
			if !strings.Contains(div.Detail, tt.detail) {
				t.Errorf("Detail = %q, want %q in it", div.Detail, tt.detail)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "replay diverged at record ") {
				t.Errorf("message is not one line starting \"replay diverged at record \": %q", msg)
			}
			if got := sys.Finish(Outcome{Status: segment.StatusTrapped, Trap: "stopped"}); got != err {
				t.Errorf("Finish = %v, want the divergence", got)
			}
			// Nothing of the diverging write reached stdout.
			sys.Flush()
			want := ""
			if tt.at > 1 {
				want = line37
			}
			mustEqual(t, "stdout", stdout.String(), want)
		})
	}
}

// TestAnswers checks that every kind of result reaches the guest as recorded.
func TestAnswers(t *testing.T) {
	ctx := context.Background()
	store := openLake(t)
	id := newRunID(t)
	stat := wasi.FileStat{Dev: 1, Ino: 2, Filetype: wasi.FiletypeRegularFile, NLink: 1, Size: 10, MTim: 99}
	frame1 := []call{
		{c: &capture.ArgsSizesGet{Argc: 2, BufSize: 9}},
		{c: &capture.ArgsGet{Args: []string{"prog", "arg"}}},
		{c: &capture.EnvironGet{Environ: []string{"K=V"}}},
		{c: &capture.ClockTimeGet{ID: wasi.ClockRealtime, Time: 1234567}},
		{c: &capture.RandomGet{Data: []byte{1, 2, 3, 4}}},
		{c: &capture.PathOpen{FD: 3, Path: "missing"}, errno: wasi.ENOENT},
		{c: &capture.PathOpen{FD: 3, Path: "in.txt", NewFD: 4}},
		{c: &capture.FDFileStatGet{FD: 4, Stat: stat}},
		{c: &capture.FDRead{FD: 4, IOVecLens: []uint32{4, 8}, Data: []byte("abcdefghij"), N: 10}},
		{c: &capture.FDSeek{FD: 4, Offset: -2, Whence: wasi.WhenceCur, NewOffset: 8}},
		{c: &capture.PollOneOff{
			Subs: []wasi.Subscription{
				{UserData: 1, EventType: wasi.EventTypeClock, Timeout: 5e9},
				{UserData: 2, EventType: wasi.EventTypeFDRead, FD: 0},
			},
			Events: []wasi.Event{{UserData: 2, EventType: wasi.EventTypeFDRead, NBytes: 17}},
		}},
		{c: &capture.FDReadDir{FD: 3, BufLen: 4096, Capacity: 64, Entries: []wasi.DirEntry{
			{Next: 1, Ino: 10, Type: wasi.FiletypeRegularFile, Name: []byte("alpha")},
			{Next: 2, Ino: 11, Type: wasi.FiletypeDirectory, Name: []byte("beta")},
		}}},
	}
	frame2 := []call{
		{c: &capture.FDReadDir{FD: 3, Cookie: 2, BufLen: 4096, Capacity: 64, Entries: []wasi.DirEntry{
			{Next: 3, Ino: 12, Type: wasi.FiletypeRegularFile, Name: []byte("XXXXX")},
		}}},
		{c: &capture.FDWrite{FD: 1, IOVecLens: []uint32{3}, Data: []byte("out"), N: 3}},
		{c: &capture.FDWrite{FD: 2, IOVecLens: []uint32{3}, Data: []byte("err"), N: 3}},
		{c: &capture.FDWrite{FD: 1, IOVecLens: []uint32{6}, Data: []byte("partly"), N: 4}},
		{c: &capture.FDWrite{FD: 1, IOVecLens: []uint32{5}, Data: []byte("again"), N: 0}, errno: wasi.EAGAIN},
		{c: &capture.FDWrite{FD: 4, IOVecLens: []uint32{4}, Data: []byte("file"), N: 4}},
		{c: &capture.FDRenumber{From: 2, To: 1}},
		{c: &capture.FDWrite{FD: 1, IOVecLens: []uint32{4}, Data: []byte("ERR2"), N: 4}},
		{c: &capture.FDWrite{FD: 2, IOVecLens: []uint32{4}, Data: []byte("gone"), N: 4}},
		{c: &capture.ProcExit{Code: 0}},
	}
	putRun(t, store, id, seg{frames: [][]call{frame1, frame2}, last: true, trailer: exited(0)})
	var both bytes.Buffer // stdout and stderr together, as with 2>&1
	sys := openSystem(t, store, id, Options{Stdout: &both, Stderr: &both})

	argc, size, errno := sys.ArgsSizesGet(ctx)
	mustEqual(t, "args_sizes_get", [3]uint32{argc, size, uint32(errno)}, [3]uint32{2, 9, 0})
	args, _ := sys.ArgsGet(ctx)
	mustEqual(t, "args", strings.Join(args, " "), "prog arg")
	env, _ := sys.EnvironGet(ctx)
	mustEqual(t, "environ", strings.Join(env, " "), "K=V")
	now, _ := sys.ClockTimeGet(ctx, wasi.ClockRealtime, 0)
	mustEqual(t, "clock", now, uint64(1234567))
	rnd := make([]byte, 4)
	sys.RandomGet(ctx, rnd)
	mustEqual(t, "random", string(rnd), "\x01\x02\x03\x04")
	_, errno = sys.PathOpen(ctx, 3, 0, "missing", 0, 0, 0, 0)
	mustEqual(t, "errno of failed open", errno, wasi.ENOENT)
	fd, _ := sys.PathOpen(ctx, 3, 0, "in.txt", 0, 0, 0, 0)
	mustEqual(t, "fd", fd, uint32(4))
	st, _ := sys.FDFileStatGet(ctx, 4)
	mustEqual(t, "stat", st, stat)
	a, b := []byte("____"), []byte("________")
	n, _ := sys.FDRead(ctx, 4, [][]byte{a, b})
	mustEqual(t, "read", string(a)+"|"+string(b)+"|"+string(rune('0'+n)), "abcd|efghij__|:")
	pos, _ := sys.FDSeek(ctx, 4, -2, wasi.WhenceCur)
	mustEqual(t, "seek", pos, uint64(8))
	events := make([]wasi.Event, 2)
	nev, _ := sys.PollOneOff(ctx, []wasi.Subscription{
		{UserData: 1, EventType: wasi.EventTypeClock, Timeout: 5e9},
		{UserData: 2, EventType: wasi.EventTypeFDRead, FD: 0},
	}, events)
	mustEqual(t, "poll events", nev, 1)
	mustEqual(t, "poll event", events[0], wasi.Event{UserData: 2, EventType: wasi.EventTypeFDRead, NBytes: 17})
	entries := make([]wasi.DirEntry, 64)
	ne, _ := sys.FDReadDir(ctx, 3, entries, 0, 4096)
	// The next record, in the next frame, has been read by now: the names
	// must not alias the frame buffer it replaced.
	mustEqual(t, "dirents", ne, 2)
	mustEqual(t, "dirent names", string(entries[0].Name)+","+string(entries[1].Name), "alpha,beta")
	mustEqual(t, "dirent 1", [3]uint64{entries[1].Next, entries[1].Ino, uint64(entries[1].Type)}, [3]uint64{2, 11, uint64(wasi.FiletypeDirectory)})
	sys.FDReadDir(ctx, 3, entries, 2, 4096)

	for _, w := range []struct {
		fd   uint32
		data string
	}{{1, "out"}, {2, "err"}, {1, "partly"}, {1, "again"}, {4, "file"}} {
		sys.FDWrite(ctx, w.fd, [][]byte{[]byte(w.data)})
	}
	sys.FDRenumber(ctx, 2, 1)
	sys.FDWrite(ctx, 1, [][]byte{[]byte("ERR2")})
	sys.FDWrite(ctx, 2, [][]byte{[]byte("gone")})
	sys.ProcExit(ctx, 0)
	if err := sys.Finish(Outcome{Status: segment.StatusExited}); err != nil {
		t.Fatal(err)
	}
	sys.Flush()
	// Only accepted bytes, in order; fd 4 is a file; after fd_renumber(2, 1)
	// fd 1 is stderr and fd 2 is closed.
	mustEqual(t, "stdout+stderr", both.String(), "outerrpartERR2")
}

// serve makes the call the record c describes, with the record's inputs.
func serve(ctx context.Context, s wasi.System, c capture.Call) {
	switch c := c.(type) {
	case *capture.FDWrite:
		s.FDWrite(ctx, c.FD, [][]byte{c.Data})
	case *capture.ClockTimeGet:
		s.ClockTimeGet(ctx, c.ID, c.Precision)
	case *capture.ProcExit:
		s.ProcExit(ctx, c.Code)
	default:
		panic("serve: no case for " + c.Func().String())
	}
}

func writes(n int, text string) []call {
	calls := make([]call, n)
	for i := range calls {
		calls[i] = call{c: &capture.FDWrite{FD: 1, IOVecLens: []uint32{uint32(len(text))}, Data: []byte(text), N: uint32(len(text))}}
	}
	return calls
}

func TestIncomplete(t *testing.T) {
	f := func(n int) [][]call { return [][]call{writes(n, "x\n")} }
	tests := []struct {
		name    string
		segs    []seg
		records uint64 // records replayed before the end
		reason  string
	}{
		{
			name: "torn last segment", records: 5,
			segs:   []seg{{frames: f(3)}, {frames: f(2), last: true, trailer: exited(0), torn: true}},
			reason: "segment 1: segment torn",
		},
		{
			name: "missing last segment", records: 3,
			segs:   []seg{{frames: f(3)}},
			reason: "segment 1 is missing",
		},
		{
			name: "last segment without a trailer", records: 4,
			segs:   []seg{{frames: f(3)}, {frames: f(1), last: true}},
			reason: "last segment 1 has no trailer",
		},
		{
			name: "torn segment 0", records: 2,
			segs:   []seg{{frames: f(2), last: true, trailer: exited(0), torn: true}},
			reason: "segment 0: segment torn",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store := openLake(t)
			id := newRunID(t)
			putRun(t, store, id, tt.segs...)
			ends := 0
			var stdout bytes.Buffer
			sys := openSystem(t, store, id, Options{Stdout: &stdout, OnEnd: func() { ends++ }})
			for i := uint64(0); i < tt.records; i++ {
				if err := stopped(func() { sys.FDWrite(ctx, 1, [][]byte{[]byte("x\n")}) }); err != nil {
					t.Fatalf("write %d: %v", i, err)
				}
			}
			mustEqual(t, "OnEnd calls after the last record", ends, 1)
			err := stopped(func() { sys.FDWrite(ctx, 1, [][]byte{[]byte("x\n")}) })
			var inc *IncompleteError
			if !errors.As(err, &inc) {
				t.Fatalf("call past the readable records stopped with %v, want *IncompleteError", err)
			}
			mustEqual(t, "Records", inc.Records, tt.records)
			if !strings.Contains(inc.Reason, tt.reason) {
				t.Errorf("Reason %q does not say %q", inc.Reason, tt.reason)
			}
			if got := sys.Finish(Outcome{Status: segment.StatusTrapped}); got != err {
				t.Errorf("Finish = %v, want %v", got, err)
			}
			sys.Flush()
			mustEqual(t, "stdout", stdout.String(), strings.Repeat("x\n", int(tt.records)))
			mustEqual(t, "OnEnd calls", ends, 1)
		})
	}
}

func TestFinish(t *testing.T) {
	ctx := context.Background()
	record := []call{{c: &capture.ClockTimeGet{ID: wasi.ClockMonotonic, Time: 5}}, {c: &capture.ProcExit{Code: 3}}}
	timedOut := &segment.Trailer{Status: segment.StatusTimedOut}
	trapped := &segment.Trailer{Status: segment.StatusTrapped, Trap: "wasm error: unreachable"}
	tests := []struct {
		name    string
		record  []call
		trailer *segment.Trailer
		calls   int     // records the guest makes
		end     Outcome // how the guest ends
		want    string  // substring of Finish's error; "" for nil
		onEnd   int
	}{
		{name: "as recorded", record: record, trailer: exited(3), calls: 2,
			end: Outcome{Status: segment.StatusExited, ExitCode: 3}},
		{name: "ended early", record: record, trailer: exited(3), calls: 1,
			end:  Outcome{Status: segment.StatusExited},
			want: "replay diverged at record 1: recorded proc_exit(code=3) = 0; guest exited with code 0"},
		{name: "other ending", record: record[:1], trailer: exited(3), calls: 1,
			end:  Outcome{Status: segment.StatusTrapped, Trap: "wasm error: unreachable"},
			want: "record 1: recorded the end of the run: exited with code 3; guest trapped: wasm error: unreachable"},
		{name: "trap as recorded", record: record[:1], trailer: trapped, calls: 1,
			end: Outcome{Status: segment.StatusTrapped, Trap: "wasm error: unreachable"}},
		{name: "timed out run stopped at its end", record: record[:1], trailer: timedOut, calls: 1,
			end: Outcome{Status: segment.StatusKilled}, onEnd: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openLake(t)
			id := newRunID(t)
			putRun(t, store, id, seg{frames: [][]call{tt.record}, last: true, trailer: tt.trailer})
			ends := 0
			sys := openSystem(t, store, id, Options{OnEnd: func() { ends++ }})
			for _, c := range tt.record[:tt.calls] {
				if err := stopped(func() { serve(ctx, sys, c.c) }); err != nil {
					t.Fatal(err)
				}
			}
			err := sys.Finish(tt.end)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Finish: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Finish = %v, want %q", err, tt.want)
			}
			mustEqual(t, "OnEnd calls", ends, tt.onEnd)
		})
	}
}

// TestRecordEndOfStoppedRun: a guest of a timed-out run calling the host
// after its last record is stopped, and that is no divergence.
func TestRecordEndOfStoppedRun(t *testing.T) {
	ctx := context.Background()
	store := openLake(t)
	id := newRunID(t)
	putRun(t, store, id, seg{frames: [][]call{writes(1, "sleeping\n")}, last: true,
		trailer: &segment.Trailer{Status: segment.StatusTimedOut}})
	sys := openSystem(t, store, id, Options{})
	sys.FDWrite(ctx, 1, [][]byte{[]byte("sleeping\n")})
	if err := stopped(func() { sys.ClockTimeGet(ctx, wasi.ClockMonotonic, 0) }); err == nil {
		t.Fatal("a call past the end of a timed-out run was served")
	}
	if err := sys.Finish(Outcome{Status: segment.StatusTrapped}); err != nil {
		t.Errorf("Finish: %v", err)
	}
}

func TestTrace(t *testing.T) {
	ctx := context.Background()
	store := openLake(t)
	id := newRunID(t)
	putRun(t, store, id, seg{frames: [][]call{{
		{c: &capture.FDWrite{FD: 2, IOVecLens: []uint32{4}, Data: []byte("err\n"), N: 4}},
		{c: &capture.ClockTimeGet{ID: wasi.ClockRealtime, Time: 77}},
	}}, last: true, trailer: exited(0)})
	var stderr bytes.Buffer
	sys := openSystem(t, store, id, Options{Stderr: &stderr, Trace: true})
	sys.FDWrite(ctx, 2, [][]byte{[]byte("err\n")})
	sys.ClockTimeGet(ctx, wasi.ClockRealtime, 0)
	sys.Flush()
	want := "err\nfd_write(fd=2, \"err\\n\") = 4\nclock_time_get(id=realtime, precision=0) = 77\n"
	mustEqual(t, "stderr", stderr.String(), want)
}

func TestOutputKeepsOrderAndBytes(t *testing.T) {
	var both, out, errs bytes.Buffer
	o := newOutput(io.MultiWriter(&both, &out), io.MultiWriter(&both, &errs))
	big := bytes.Repeat([]byte("B"), outBufSize+100)
	o.write(streamStdout, []byte("1"))
	o.write(streamStderr, []byte("2"))
	o.write(streamStderr, []byte("3"))
	o.write(streamStdout, big)
	o.write(streamStdout, []byte("4"))
	o.write(streamStderr, []byte("5"))
	if err := o.flush(); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "merged", both.String(), "123"+string(big)+"45")
	mustEqual(t, "stdout", out.String(), "1"+string(big)+"4")
	mustEqual(t, "stderr", errs.String(), "235")
}
