package spool

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
)

func exited(code uint32) *segment.Trailer {
	return &segment.Trailer{EndTime: time.Date(2025, 6, 7, 8, 9, 11, 0, time.UTC), Status: segment.StatusExited, ExitCode: code}
}

// TestShortRun: a run that fits in one segment costs exactly one segment PUT
// (plus the module the first time), and everything reads back from the lake.
func TestShortRun(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			l := b.open(t)
			opts := testOptions(t, l)
			for run := range 2 {
				opts.RunID = uuid.Must(uuid.NewV7())
				opts.Metadata.RunID = opts.RunID.String()
				w, err := Create(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				g := newGuest(opts.BufferSize)
				for range 5 {
					g.batch(w, 20)
				}
				sum, err := w.Close(ctx, exited(7))
				if err != nil {
					t.Fatal(err)
				}
				want := Summary{RunID: "", Segments: 1, Records: 100, RawBytes: int64(g.sent.Len()), Uploaded: 1}
				sum.StoredBytes, sum.RunID = 0, ""
				if sum != want {
					t.Fatalf("run %d: summary %+v, want %+v", run, sum, want)
				}
				if n := l.putsUnder(lake.SegmentPrefix(opts.RunID.String())); n != 1 {
					t.Fatalf("run %d: %d segment PUTs, want 1", run, n)
				}
				got := readRun(t, l, opts.RunID.String())
				if !bytes.Equal(got.payload, g.sent.Bytes()) || got.records != 100 || got.segments != 1 {
					t.Fatalf("run %d: lake holds %d segments, %d records, %d bytes; want 1, 100, %d", run, got.segments, got.records, len(got.payload), g.sent.Len())
				}
				if got.md == nil || got.md.RunID != opts.RunID.String() || got.md.Module.Size != int64(len(testModule)) {
					t.Fatalf("metadata %+v", got.md)
				}
				if tr := got.trailer; tr == nil || tr.ExitCode != 7 || tr.Records != 100 || tr.Segments != 1 {
					t.Fatalf("trailer %+v", tr)
				}
				if _, err := os.Stat(filepath.Join(opts.Dir, opts.RunID.String())); !os.IsNotExist(err) {
					t.Fatalf("run directory left in the spool: %v", err)
				}
			}
			// The module went to the lake once, for both runs.
			if n := l.putsUnder("modules/"); n != 1 {
				t.Fatalf("%d module PUTs, want 1", n)
			}
			if _, err := l.Stat(ctx, lake.ModuleKey(readRun(t, l, opts.RunID.String()).md.Module.SHA256)); err != nil {
				t.Fatalf("module not in the lake: %v", err)
			}
			if left := spoolEntries(t, opts.Dir); len(left) != 1 || !strings.HasSuffix(left[0], uploadedExt) {
				t.Fatalf("spool holds %v, want only the module marker", left)
			}
		})
	}
}

func TestSealBySize(t *testing.T) {
	ctx := context.Background()
	l := fileLake(t)
	opts := testOptions(t, l)
	opts.SegmentSize = 8 << 10
	w, err := Create(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuest(opts.BufferSize)
	for range 40 {
		g.batch(w, 50)
	}
	sum, err := w.Close(ctx, exited(0))
	if err != nil {
		t.Fatal(err)
	}
	got := readRun(t, l, opts.RunID.String())
	if got.segments < 3 || sum.Segments != got.segments || sum.Uploaded != got.segments || sum.Spooled != 0 {
		t.Fatalf("summary %+v, %d segments in the lake; want several, all uploaded", sum, got.segments)
	}
	if !bytes.Equal(got.payload, g.sent.Bytes()) || got.records != 2000 || got.trailer.Segments != uint32(got.segments) {
		t.Fatalf("lake holds %d records, %d bytes, trailer %+v", got.records, len(got.payload), got.trailer)
	}
	for i, s := range got.seals[:len(got.seals)-1] {
		// A segment is sealed by the first frame that takes it past the size.
		if s.Frames == 0 {
			t.Fatalf("segment %d sealed empty", i)
		}
	}
}

// TestSealByAge drives the writer's clock and ticker by hand.
func TestSealByAge(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t, nil)
	opts.SegmentAge = time.Minute
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tick := make(chan time.Time)
	opts.now = func() time.Time { return now }
	opts.tick = tick
	w, err := Create(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(opts.Dir, opts.RunID.String())
	files := func() []string {
		ents, _ := os.ReadDir(runDir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	g := newGuest(opts.BufferSize)
	tick <- now // no frames yet: nothing to seal, however old
	g.batch(w, 3)
	if err := w.Flush(ctx); err != nil { // the frame is written (at now) before time moves
		t.Fatal(err)
	}
	now = now.Add(59 * time.Second)
	tick <- now
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := files(), []string{"00000000.seg.open", "lock"}; !slices.Equal(got, want) {
		t.Fatalf("before the age: %v, want %v", got, want)
	}
	now = now.Add(time.Second)
	tick <- now
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := files(), []string{"00000000.seg", "00000001.seg.open", "lock"}; !slices.Equal(got, want) {
		t.Fatalf("at the age: %v, want %v", got, want)
	}
	now = now.Add(time.Hour)
	tick <- now // segment 1 has no frames: stays open
	g.batch(w, 2)
	sum, err := w.Close(ctx, exited(0))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := files(), []string{"00000000.seg", "00000001.seg", "lock"}; !slices.Equal(got, want) {
		t.Fatalf("after Close: %v, want %v", got, want)
	}
	if sum.Segments != 2 || sum.Spooled != 2 || sum.Records != 5 {
		t.Fatalf("summary %+v", sum)
	}
}

// TestBufferPool: the writer never hands out more than Buffers buffers, and
// every record submitted arrives, however many batches the pool recycles.
func TestBufferPool(t *testing.T) {
	ctx := context.Background()
	l := fileLake(t)
	opts := testOptions(t, l)
	opts.Buffers = 2
	w, err := Create(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuest(opts.BufferSize)
	for range 500 {
		g.batch(w, 10)
	}
	if _, err := w.Close(ctx, exited(0)); err != nil {
		t.Fatal(err)
	}
	if len(g.buffers) > opts.Buffers+1 {
		t.Fatalf("Submit handed out %d distinct buffers, pool is %d (+1 of the recorder's)", len(g.buffers), opts.Buffers)
	}
	if got := readRun(t, l, opts.RunID.String()); !bytes.Equal(got.payload, g.sent.Bytes()) || got.records != 5000 {
		t.Fatalf("lake holds %d records, want 5000", got.records)
	}
}

// TestLakeDownMidRun: the lake going away never blocks or fails the run;
// segments wait in the spool and Sync ships them once it is back.
func TestLakeDownMidRun(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			l := b.open(t)
			opts := testOptions(t, l)
			opts.SegmentSize = 8 << 10
			opts.UploadTimeout = 300 * time.Millisecond
			w, err := Create(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			g := newGuest(opts.BufferSize)
			for range 10 {
				g.batch(w, 50)
			}
			if err := w.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			l.down()
			for range 20 {
				g.batch(w, 50)
			}
			sum, err := w.Close(ctx, exited(0))
			if err != nil {
				t.Fatalf("Close with the lake down: %v", err)
			}
			if sum.Records != 1500 || sum.Spooled == 0 || sum.Uploaded+sum.Spooled != sum.Segments {
				t.Fatalf("summary %+v: want 1500 records and segments left in the spool", sum)
			}
			downCtx, cancel := context.WithTimeout(ctx, time.Second)
			ss, err := Sync(downCtx, opts.Dir, l, t.Logf)
			cancel()
			// Failed also counts the module if it did not make it before the outage.
			if err == nil || ss.Segments != 0 || ss.Failed < sum.Spooled {
				t.Fatalf("Sync with the lake down: %+v, %v; want every spooled segment failed", ss, err)
			}
			l.up()
			ss, err = Sync(ctx, opts.Dir, l, t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			if ss.Segments != sum.Spooled || ss.Runs != 1 || ss.Rebuilt != 0 || ss.Failed != 0 {
				t.Fatalf("sync %+v, want %d segments of 1 run", ss, sum.Spooled)
			}
			got := readRun(t, l, opts.RunID.String())
			if !bytes.Equal(got.payload, g.sent.Bytes()) || got.records != 1500 || got.segments != sum.Segments || got.trailer == nil {
				t.Fatalf("lake holds %d segments, %d records; want %d, 1500", got.segments, got.records, sum.Segments)
			}
			if left := spoolEntries(t, opts.Dir); len(left) != 1 || !strings.HasSuffix(left[0], uploadedExt) {
				t.Fatalf("spool holds %v after Sync", left)
			}
		})
	}
}

// TestKill9 kills a real writer process with SIGKILL after it flushed, then
// checks Sync leaves the live run alone, and after the kill rebuilds and
// ships every flushed record.
func TestKill9(t *testing.T) {
	for _, b := range backends {
		for _, tail := range []string{"clean", "garbage"} {
			t.Run(b.name+"/"+tail, func(t *testing.T) {
				ctx := context.Background()
				l := b.open(t)
				spool := filepath.Join(t.TempDir(), "spool")
				runID := uuid.Must(uuid.NewV7()).String()
				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
				cmd.Env = append(os.Environ(), "SPOOL_CHILD_DIR="+spool, "SPOOL_CHILD_RUN="+runID, "SPOOL_CHILD_LAKE="+l.URL())
				stdin, _ := cmd.StdinPipe()
				stdout, _ := cmd.StdoutPipe()
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer stdin.Close()
				var records, sent int
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					if r, ok := strings.CutPrefix(sc.Text(), "flushed "); ok {
						fmt.Sscan(r, &records, &sent)
						break
					}
				}
				if records == 0 {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatal("child did not report a flush")
				}
				ss, err := Sync(ctx, spool, l, t.Logf)
				if err != nil || ss.Live != 1 || ss.Runs != 0 {
					t.Fatalf("Sync while the writer lives: %+v, %v; want it skipped", ss, err)
				}
				if _, err := os.Stat(filepath.Join(spool, runID)); err != nil {
					t.Fatalf("Sync touched the live run: %v", err)
				}
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
				var garbage int64
				if tail == "garbage" {
					// A frame half written when the process died.
					open, _ := filepath.Glob(filepath.Join(spool, runID, "*.seg.open"))
					if len(open) != 1 {
						t.Fatalf("open segments %v", open)
					}
					f, err := os.OpenFile(open[0], os.O_WRONLY|os.O_APPEND, 0)
					if err != nil {
						t.Fatal(err)
					}
					half := []byte{byte(segment.BlockFrame), byte(segment.CodecZstd), 0, 0, 0xff, 0x10}
					f.Write(half)
					f.Close()
					garbage = int64(len(half))
				}
				ss, err = Sync(ctx, spool, l, t.Logf)
				if err != nil {
					t.Fatal(err)
				}
				if ss.Runs != 1 || ss.Rebuilt != 1 || ss.BytesLost != garbage || ss.Failed != 0 {
					t.Fatalf("Sync after the kill: %+v", ss)
				}
				got := readRun(t, l, runID)
				if got.records != uint64(records) || len(got.payload) != sent {
					t.Fatalf("lake holds %d records, %d bytes; the child flushed %d, %d", got.records, len(got.payload), records, sent)
				}
				last := got.seals[len(got.seals)-1]
				if !last.Torn || !last.Last || last.BytesLost != uint64(garbage) || got.trailer != nil || got.md == nil {
					t.Fatalf("last seal %+v, trailer %+v, metadata %v: want torn, last, no trailer", last, got.trailer, got.md != nil)
				}
				if _, err := l.Stat(ctx, lake.ModuleKey(got.md.Module.SHA256)); err != nil {
					t.Fatalf("module: %v", err)
				}
				if left := spoolEntries(t, spool); len(left) != 1 || !strings.HasSuffix(left[0], uploadedExt) {
					t.Fatalf("spool holds %v after Sync", left)
				}
			})
		}
	}
}

// TestCrashChild is the writer process TestKill9 kills; run alone it does nothing.
func TestCrashChild(t *testing.T) {
	spool := os.Getenv("SPOOL_CHILD_DIR")
	if spool == "" {
		return
	}
	ctx := context.Background()
	store, err := lake.Open(ctx, os.Getenv("SPOOL_CHILD_LAKE"), lake.Options{S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	opts := baseOptions(spool, store)
	opts.RunID = uuid.MustParse(os.Getenv("SPOOL_CHILD_RUN"))
	opts.Metadata.RunID = opts.RunID.String()
	opts.SegmentSize = 8 << 10
	w, err := Create(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuest(opts.BufferSize)
	for range 30 {
		g.batch(w, 40)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Println("flushed " + strconv.Itoa(int(g.seq-1)) + " " + strconv.Itoa(g.sent.Len()))
	os.Stdin.Read(make([]byte, 1)) // until killed
}

// TestDiskFailure: a frame the writer cannot store stops the writer; the
// guest is never blocked, Close reports the lost records, and Sync recovers
// everything written before the failure.
func TestDiskFailure(t *testing.T) {
	ctx := context.Background()
	l := fileLake(t)
	opts := testOptions(t, l)
	w, err := Create(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuest(opts.BufferSize)
	for range 5 {
		g.batch(w, 10)
	}
	good := g.sent.Len()
	huge := make([]byte, segment.MaxPayload+1) // refused by the segment writer
	w.Submit(huge, 1, g.seq)
	g.seq++
	for range 5 {
		g.batch(w, 10) // dropped, never blocking
	}
	sum, err := w.Close(ctx, exited(0))
	if !errors.Is(err, ErrRecordsLost) || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("Close: %v, want the frame size error", err)
	}
	if sum.Records != 50 || sum.LostRecords != 51 {
		t.Fatalf("summary %+v: want 50 stored, 51 lost", sum)
	}
	ss, err := Sync(ctx, opts.Dir, l, t.Logf)
	if err != nil || ss.Rebuilt != 1 {
		t.Fatalf("Sync %+v, %v", ss, err)
	}
	if got := readRun(t, l, opts.RunID.String()); got.records != 50 || !bytes.Equal(got.payload, g.sent.Bytes()[:good]) {
		t.Fatalf("lake holds %d records, want the 50 written before the failure", got.records)
	}
}

// TestUploadSegmentExists: a create-only conflict counts as uploaded only if
// the lake's object is byte-for-byte the spooled file.
func TestUploadSegmentExists(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		existing []byte
		wantErr  error
	}{
		{"earlier attempt landed", []byte("segment bytes"), nil},
		{"same size, other bytes", []byte("segment BYTES"), errConflict},
		{"other size", []byte("seg"), errConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := fileLake(t)
			path := filepath.Join(t.TempDir(), "00000000.seg")
			os.WriteFile(path, []byte("segment bytes"), 0o644)
			const key = "segments/r/00000000.seg"
			if _, err := l.Put(ctx, key, bytes.NewReader(tt.existing), lake.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			err := uploadSegment(ctx, l, path, key)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("upload: %v, want %v", err, tt.wantErr)
			}
			_, statErr := os.Stat(path)
			if kept := statErr == nil; kept != (tt.wantErr != nil) {
				t.Fatalf("spooled file kept=%v after %v", kept, err)
			}
		})
	}
}

// TestSyncCompleteButUnrenamed: a crash between sealing and renaming leaves a
// complete .seg.open; Sync ships it unchanged, not as torn.
func TestSyncCompleteButUnrenamed(t *testing.T) {
	ctx := context.Background()
	l := fileLake(t)
	spool := t.TempDir()
	id := uuid.Must(uuid.NewV7())
	dir := filepath.Join(spool, id.String())
	os.MkdirAll(dir, 0o755)
	var buf bytes.Buffer
	md := &segment.Metadata{RunID: id.String()}
	sw, err := segment.NewWriter(&buf, id, 0, md, segment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sw.WriteFrame([]byte("abc"), 3, 1)
	if err := sw.Seal(segment.Seal{Last: true}, exited(0)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "00000000.seg.open"), buf.Bytes(), 0o644)
	ss, err := Sync(ctx, spool, l, t.Logf)
	if err != nil || ss.Segments != 1 || ss.Rebuilt != 0 {
		t.Fatalf("Sync %+v, %v", ss, err)
	}
	rc, err := l.Get(ctx, lake.SegmentKey(id.String(), 0))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got bytes.Buffer
	got.ReadFrom(rc)
	if !bytes.Equal(got.Bytes(), buf.Bytes()) {
		t.Fatal("lake object differs from the sealed file")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("run directory left behind: %v", err)
	}
}
