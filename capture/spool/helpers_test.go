package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/internal/s3test"
	"github.com/timelake/timelake/lake"
)

var testModule = []byte("\x00asm\x01\x00\x00\x00 pretend this is a module")

var errDown = errors.New("lake is down (test)")

// testLake is a store whose PUTs are counted and which a test can take down
// and bring back.
type testLake struct {
	lake.Store
	down, up func()
	mu       sync.Mutex
	puts     map[string]int // key → PUT attempts that reached the store
}

func (l *testLake) putsUnder(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for k, c := range l.puts {
		if strings.HasPrefix(k, prefix) {
			n += c
		}
	}
	return n
}

func wrap(base lake.Store, isDown *atomic.Bool) *testLake {
	l := &testLake{puts: map[string]int{}}
	l.Store = lake.WithFaults(base, func(op lake.Op, key string) error {
		if isDown != nil && isDown.Load() {
			return errDown
		}
		if op == lake.OpPut {
			l.mu.Lock()
			l.puts[key]++
			l.mu.Unlock()
		}
		return nil
	})
	return l
}

func fileLake(t *testing.T) *testLake {
	t.Helper()
	base, err := lake.Open(context.Background(), "file://"+t.TempDir(), lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	isDown := new(atomic.Bool)
	l := wrap(base, isDown)
	l.down = func() { isDown.Store(true) }
	l.up = func() { isDown.Store(false) }
	return l
}

func s3Lake(t *testing.T) *testLake {
	t.Helper()
	srv := s3test.Start(t)
	srv.Setenv(t)
	base, err := lake.Open(context.Background(), srv.URL("lake"), lake.Options{S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	l := wrap(base, nil)
	l.down = srv.Stop
	l.up = srv.Restart
	return l
}

var backends = []struct {
	name string
	open func(*testing.T) *testLake
}{
	{"file", fileLake},
	{"s3", s3Lake},
}

func testOptions(t *testing.T, store lake.Store) Options {
	opts := baseOptions(filepath.Join(t.TempDir(), "spool"), store)
	opts.Logf = t.Logf
	return opts
}

func baseOptions(dir string, store lake.Store) Options {
	id := uuid.Must(uuid.NewV7())
	return Options{
		Dir:   dir,
		RunID: id,
		Metadata: &segment.Metadata{
			RunID:     id.String(),
			Module:    segment.Module{Name: "app.wasm"},
			Args:      []string{"app.wasm"},
			StartTime: time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC),
		},
		Module:     testModule,
		Store:      store,
		BufferSize: 4 << 10,
		Buffers:    3,
		MinBackoff: time.Millisecond,
		MaxBackoff: 20 * time.Millisecond,
	}
}

// guest plays the Recorder: it fills buffers with numbered records and
// submits them, remembering everything it submitted.
type guest struct {
	buf     []byte
	seq     uint64 // seq of the first record in buf
	pending int    // records in buf
	sent    bytes.Buffer
	rng     *rand.Rand
	buffers map[*byte]bool // distinct buffers handed back by Submit
}

func newGuest(size int) *guest {
	return &guest{buf: make([]byte, 0, size), seq: 1, rng: rand.New(rand.NewPCG(1, 2)), buffers: map[*byte]bool{}}
}

// batch fills the buffer with n records and submits it.
func (g *guest) batch(w *Writer, n int) {
	for range n {
		g.record()
	}
	g.submit(w)
}

// fill appends records until the buffer holds about size bytes.
func (g *guest) fill(size int) {
	for len(g.buf) < size-64 {
		g.record()
	}
}

// record appends one record, some random bytes included so segments grow.
func (g *guest) record() {
	g.buf = fmt.Appendf(g.buf, "record %d:", g.seq+uint64(g.pending))
	for range g.rng.IntN(40) {
		g.buf = append(g.buf, byte(g.rng.Uint32()))
	}
	g.buf = append(g.buf, '\n')
	g.pending++
}

func (g *guest) submit(w *Writer) {
	g.sent.Write(g.buf)
	first := g.seq
	g.seq += uint64(g.pending)
	g.buf = w.Submit(g.buf, g.pending, first)
	g.pending = 0
	if len(g.buf) != 0 {
		panic("Submit returned a non-empty buffer")
	}
	g.buffers[unsafeData(g.buf)] = true
}

func unsafeData(b []byte) *byte { return &b[:1][0] }

// lakeRun is a run read back from the lake.
type lakeRun struct {
	md       *segment.Metadata
	trailer  *segment.Trailer
	seals    []segment.Seal
	payload  []byte
	records  uint64
	segments int
}

// readRun reads every segment of a run from the store, checking that they
// are numbered 0..n-1, that seqs are contiguous from 1 and that only the last
// is sealed Last.
func readRun(t *testing.T, store lake.Store, runID string) lakeRun {
	t.Helper()
	ctx := context.Background()
	objs, err := store.List(ctx, lake.SegmentPrefix(runID), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var run lakeRun
	next := uint64(1)
	for i, o := range objs {
		if o.Key != lake.SegmentKey(runID, i) {
			t.Fatalf("segment %d has key %s", i, o.Key)
		}
		rc, err := store.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		r, err := segment.NewReader(rc)
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		if i == 0 {
			run.md = r.Metadata()
		}
		for {
			f, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", o.Key, err)
			}
			if f.FirstSeq != next {
				t.Fatalf("%s: frame seq %d, want %d", o.Key, f.FirstSeq, next)
			}
			next += uint64(f.Records)
			run.records += uint64(f.Records)
			run.payload = append(run.payload, f.Payload...)
		}
		rc.Close()
		s, _ := r.Seal()
		if s.Last != (i == len(objs)-1) {
			t.Fatalf("%s: sealed Last=%v, but it is segment %d of %d", o.Key, s.Last, i, len(objs))
		}
		run.seals = append(run.seals, s)
		if r.Trailer() != nil {
			run.trailer = r.Trailer()
		}
	}
	run.segments = len(objs)
	return run
}

func spoolEntries(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	return names
}
