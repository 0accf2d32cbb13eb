package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/wasi"
)

func TestResolve(t *testing.T) {
	ctx := context.Background()
	store := openLake(t)
	ids := []string{
		"aaaaaaaa-0000-7000-8000-000000000001",
		"aaaaaaaa-0000-7000-8000-000000000002",
		"abcdef01-0000-7000-8000-000000000003",
	}
	for i := 0; i < 12; i++ {
		ids = append(ids, fmt.Sprintf("cccccccc-0000-7000-8000-%012d", i))
	}
	for _, id := range ids {
		putObject(t, store, lake.SegmentKey(id, 0), []byte("x"))
		putObject(t, store, lake.SegmentKey(id, 1), []byte("x"))
	}
	tests := []struct {
		ref        string
		want       string   // resolved ID
		unknown    bool     // ErrUnknownRun
		candidates []string // AmbiguousError's
		more       bool
	}{
		{ref: "abc", want: ids[2]},
		{ref: "ABCDEF01", want: ids[2]},
		{ref: ids[0], want: ids[0]},
		{ref: "aaaaaaaa-0000-7000-8000-00000000000", candidates: ids[:2]},
		{ref: "a", candidates: ids[:3]},
		{ref: "c", candidates: ids[3:13], more: true},
		{ref: "d", unknown: true},
		{ref: "", unknown: true},
		{ref: "../segments", unknown: true},
		{ref: "aaaaaaaa-0000-7000-8000-000000000001/00000000.seg", unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := Resolve(ctx, store, tt.ref)
			var amb *AmbiguousError
			switch {
			case tt.want != "":
				if err != nil || got != tt.want {
					t.Errorf("Resolve = %q, %v; want %q", got, err, tt.want)
				}
			case tt.unknown:
				if !errors.Is(err, ErrUnknownRun) {
					t.Errorf("Resolve = %q, %v; want ErrUnknownRun", got, err)
				}
			case !errors.As(err, &amb):
				t.Errorf("Resolve = %q, %v; want *AmbiguousError", got, err)
			default:
				if !slices.Equal(amb.Candidates, tt.candidates) || amb.More != tt.more {
					t.Errorf("candidates %q more=%v, want %q more=%v", amb.Candidates, amb.More, tt.candidates, tt.more)
				}
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	store := openLake(t)
	id := newRunID(t)
	if _, err := Open(ctx, store, id.String()); !errors.Is(err, ErrUnknownRun) {
		t.Errorf("Open of a run with no segment: %v, want ErrUnknownRun", err)
	}
	// A segment stored under another run's key.
	other := newRunID(t)
	putRun(t, store, other, seg{frames: [][]call{writes(1, "x")}, last: true, trailer: exited(0)})
	body, err := store.Get(ctx, lake.SegmentKey(other.String(), 0))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	putObject(t, store, lake.SegmentKey(id.String(), 0), b)
	if _, err := Open(ctx, store, id.String()); err == nil {
		t.Error("Open accepted a segment of another run")
	}
}

// TestServeAllocatesNothing: serving calls, frame after frame, allocates
// nothing once the call structs and buffers exist.
func TestServeAllocatesNothing(t *testing.T) {
	const perFrame = 1000
	store := openLake(t)
	id := newRunID(t)
	putRun(t, store, id, seg{frames: [][]call{alternating(perFrame), alternating(perFrame), alternating(perFrame), alternating(perFrame)}, last: true, trailer: exited(0)})
	sys := openSystem(t, store, id, Options{Stdout: io.Discard})
	ctx := context.Background()
	iov := [][]byte{[]byte(line17)}
	step := func() {
		sys.FDWrite(ctx, 1, iov)
		sys.ClockTimeGet(ctx, wasi.ClockMonotonic, 0)
	}
	for i := 0; i < perFrame/2; i++ { // warm up: the first frame
		step()
	}
	// 2002 more records: the runs cross into the next frames.
	if allocs := testing.AllocsPerRun(perFrame, step); allocs != 0 {
		t.Errorf("%v allocations per fd_write + clock_time_get", allocs)
	}
}

const line17 = "0123456789abcdef\n"

// alternating is n records: fd_write of 17 bytes and clock_time_get in turn.
func alternating(n int) []call {
	calls := make([]call, n)
	for i := range calls {
		if i%2 == 0 {
			calls[i] = call{c: &capture.FDWrite{FD: 1, IOVecLens: []uint32{17}, Data: []byte(line17), N: 17}}
		} else {
			calls[i] = call{c: &capture.ClockTimeGet{ID: wasi.ClockMonotonic, Time: uint64(i)}}
		}
	}
	return calls
}

// BenchmarkServe measures serving one call from the record (decode, check,
// answer, re-emit), half fd_write of 17 bytes, half clock_time_get, in
// frames of 64 Ki records as the Recorder's 1 MiB buffers hold them.
func BenchmarkServe(b *testing.B) {
	const perFrame = 64 << 10
	store := openLake(b)
	id := newRunID(b)
	frames := make([][]call, 0, b.N/perFrame+1)
	for left := b.N + 1; left > 0; left -= perFrame {
		frames = append(frames, alternating(min(left, perFrame)))
	}
	putRun(b, store, id, seg{frames: frames, last: true, trailer: exited(0)})
	ctx := context.Background()
	run, err := Open(ctx, store, id.String())
	if err != nil {
		b.Fatal(err)
	}
	sys := New(ctx, run, Options{Stdout: io.Discard})
	defer sys.Close(ctx)
	iov := [][]byte{[]byte(line17)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			sys.FDWrite(ctx, 1, iov)
		} else {
			sys.ClockTimeGet(ctx, wasi.ClockMonotonic, 0)
		}
	}
}
