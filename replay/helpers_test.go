package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tetratelabs/wazero"
	wazerosys "github.com/tetratelabs/wazero/sys"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/internal/guest"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/sandbox"
	"github.com/timelake/timelake/wasi"
)

// call is one synthetic record: a call and its errno.
type call struct {
	c     capture.Call
	errno wasi.Errno
}

// seg is one synthetic segment: frames of calls, and how it ends.
type seg struct {
	frames  [][]call
	last    bool
	trailer *segment.Trailer
	torn    bool // cut the file in the middle of its last block
}

func openLake(t testing.TB) lake.Store {
	t.Helper()
	store, err := lake.Open(context.Background(), t.TempDir(), lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func newRunID(t testing.TB) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func metadata(id uuid.UUID) *segment.Metadata {
	return &segment.Metadata{RunID: id.String(), Module: segment.Module{SHA256: strings.Repeat("ab", 32), Name: "test.wasm"}}
}

// putRun stores the segments of a synthetic run in store.
func putRun(t testing.TB, store lake.Store, id uuid.UUID, segs ...seg) {
	t.Helper()
	var seq uint64
	for n, s := range segs {
		var file bytes.Buffer
		var md *segment.Metadata
		if n == 0 {
			md = metadata(id)
		}
		w, err := segment.NewWriter(&file, id, uint32(n), md, segment.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, frame := range s.frames {
			var enc capture.Encoder
			var payload []byte
			for i, c := range frame {
				payload = enc.Append(payload, &capture.Record{Time: int64(seq+uint64(i)) * 1000, Errno: c.errno, Call: c.c})
			}
			if _, err := w.WriteFrame(payload, len(frame), seq); err != nil {
				t.Fatal(err)
			}
			seq += uint64(len(frame))
		}
		if s.trailer != nil {
			s.trailer.Records, s.trailer.Segments = seq, uint32(n+1)
		}
		if err := w.Seal(segment.Seal{Last: s.last}, s.trailer); err != nil {
			t.Fatal(err)
		}
		b := file.Bytes()
		if s.torn {
			b = b[:len(b)-10]
		}
		putObject(t, store, lake.SegmentKey(id.String(), n), b)
	}
}

func putObject(t testing.TB, store lake.Store, key string, b []byte) {
	t.Helper()
	if _, err := store.Put(context.Background(), key, bytes.NewReader(b), lake.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func exited(code uint32) *segment.Trailer {
	return &segment.Trailer{Status: segment.StatusExited, ExitCode: code}
}

// openSystem opens run id of store and serves it.
func openSystem(t testing.TB, store lake.Store, id uuid.UUID, opts Options) *System {
	t.Helper()
	ctx := context.Background()
	run, err := Open(ctx, store, id.String())
	if err != nil {
		t.Fatal(err)
	}
	sys := New(ctx, run, opts)
	t.Cleanup(func() { sys.Close(ctx) })
	return sys
}

// stopped runs fn, a call on a System, and returns the error the System
// stopped the guest with (nil if it did not).
func stopped(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(error)
			if !ok {
				panic(r)
			}
			err = e
		}
	}()
	fn()
	return nil
}

// frameSink writes each buffer a Recorder submits as a frame of one segment.
type frameSink struct {
	w   *segment.Writer
	err error
}

func (s *frameSink) Submit(buf []byte, records int, firstSeq uint64) []byte {
	if _, err := s.w.WriteFrame(buf, records, firstSeq); err != nil && s.err == nil {
		s.err = err
	}
	return buf[:0]
}

// recording is a guest run recorded in process into a lake.
type recording struct {
	id             uuid.UUID
	stdout, stderr []byte
	outcome        Outcome
}

// recordGuest runs module in the sandbox under a Recorder whose buffers go
// to segment 0 of a new run in store, and returns what the guest printed.
// Small buffers make the run span many frames.
func recordGuest(t *testing.T, store lake.Store, module string, cfg sandbox.Config) recording {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	stdout, stderr := tempFile(t, dir, "stdout"), tempFile(t, dir, "stderr")
	cfg.Stdout, cfg.Stderr = stdout, stderr
	box, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id := newRunID(t)
	var file bytes.Buffer
	w, err := segment.NewWriter(&file, id, 0, metadata(id), segment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &frameSink{w: w}
	rec := capture.NewRecorder(box, sink, capture.RecorderOptions{BufferSize: 4 << 10, FlushInterval: -1})
	out := runGuest(t, module, rec)
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if sink.err != nil {
		t.Fatal(sink.err)
	}
	trailer := &segment.Trailer{Status: out.Status, ExitCode: out.ExitCode, Trap: out.Trap, Records: rec.Records(), Segments: 1}
	if err := w.Seal(segment.Seal{Last: true}, trailer); err != nil {
		t.Fatal(err)
	}
	putObject(t, store, lake.SegmentKey(id.String(), 0), file.Bytes())
	return recording{id: id, stdout: readFile(t, stdout.Name()), stderr: readFile(t, stderr.Name()), outcome: out}
}

func tempFile(t *testing.T, dir, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runGuest runs a guest module's _start against sys with wazero and says how
// it ended.
func runGuest(t testing.TB, module string, sys wasi.System) Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := os.ReadFile(module)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).WithCompilationCache(compilationCache))
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wasi.Instantiate(ctx, rt, sys); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = mod.ExportedFunction("_start").Call(ctx)
	var exit *wazerosys.ExitError
	switch {
	case err == nil:
		return Outcome{Status: segment.StatusExited}
	case errors.As(err, &exit):
		return Outcome{Status: segment.StatusExited, ExitCode: exit.ExitCode()}
	}
	reason, _, _ := strings.Cut(err.Error(), "\n")
	return Outcome{Status: segment.StatusTrapped, Trap: reason}
}

var compilationCache = wazero.NewCompilationCache()

func guestPath(t *testing.T, name string) string { return guest.Path(t, name) }

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func quoteShort(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", b[:200], len(b))
	}
	return fmt.Sprintf("%q", b)
}
