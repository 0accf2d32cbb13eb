package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/timelake/timelake/wasi"
)

func devNullSystem(tb testing.TB) *System {
	tb.Helper()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { null.Close() })
	s, err := New(Config{Stdin: null, Stdout: null})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close(bg) })
	return s
}

// BenchmarkFDWrite is a guest printing 17-byte lines to stdout.
func BenchmarkFDWrite(b *testing.B) {
	s := devNullSystem(b)
	iovs := [][]byte{[]byte("hello, timelake!\n")}
	b.ReportAllocs()
	b.SetBytes(17)
	for b.Loop() {
		if _, errno := s.FDWrite(bg, 1, iovs); errno != 0 {
			b.Fatal(errno)
		}
	}
}

// BenchmarkFDRead is a guest reading a file in 4 KiB reads.
func BenchmarkFDRead(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), make([]byte, 1<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Mounts: []Mount{{HostPath: dir, GuestPath: "/"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(bg)
	fd, errno := s.PathOpen(bg, 3, 0, "f", 0, readRights, 0, 0)
	if errno != 0 {
		b.Fatal(errno)
	}
	iovs := [][]byte{make([]byte, 4096)}
	b.ReportAllocs()
	b.SetBytes(4096)
	for b.Loop() {
		n, errno := s.FDRead(bg, fd, iovs)
		if errno != 0 {
			b.Fatal(errno)
		}
		if n == 0 {
			s.FDSeek(bg, fd, 0, wasi.WhenceSet)
		}
	}
}

// TestHotPathsAllocateNothing pins the steady-state allocation count of the
// calls a guest makes most.
func TestHotPathsAllocateNothing(t *testing.T) {
	s := devNullSystem(t)
	line := [][]byte{[]byte("hello, timelake!\n")}
	vec := [][]byte{[]byte("a"), []byte("b"), nil, []byte("c")}
	buf := [][]byte{make([]byte, 64)}
	dir := t.TempDir()
	for i := range 20 {
		writeFile(t, filepath.Join(dir, string(rune('a'+i))), "")
	}
	ds := newSystem(t, Config{Mounts: []Mount{{HostPath: dir, GuestPath: "/"}}})
	entries := make([]wasi.DirEntry, 64)
	ds.FDReadDir(bg, 3, entries, 0, 4096) // first call sizes the buffers
	subs := []wasi.Subscription{clockSub(1, wasi.ClockMonotonic, 0, 0), fdSub(2, wasi.EventTypeFDRead, 0)}
	events := make([]wasi.Event, 2)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"fd_write", func() { s.FDWrite(bg, 1, line) }},
		{"fd_write vectored", func() { s.FDWrite(bg, 1, vec) }},
		{"fd_read", func() { s.FDRead(bg, 0, buf) }},
		{"fd_pread", func() { s.FDPread(bg, 0, buf, 0) }},
		{"clock_time_get", func() { s.ClockTimeGet(bg, wasi.ClockMonotonic, 0); s.ClockTimeGet(bg, wasi.ClockRealtime, 0) }},
		{"fd_readdir", func() { ds.FDReadDir(bg, 3, entries, 0, 4096) }},
		{"poll_oneoff", func() { s.PollOneOff(bg, subs, events) }},
	} {
		if allocs := testing.AllocsPerRun(100, tc.call); allocs != 0 {
			t.Errorf("%s: %.1f allocations per call, want 0", tc.name, allocs)
		}
	}
}
