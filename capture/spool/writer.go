package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"

	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
)

// Defaults for Options fields left zero.
const (
	DefaultBufferSize    = 1 << 20
	DefaultBuffers       = 8
	DefaultFlushInterval = time.Second
	DefaultSegmentSize   = 32 << 20
	DefaultSegmentAge    = 5 * time.Minute
	DefaultUploadTimeout = 30 * time.Second
)

// Options configure a Writer.
type Options struct {
	Dir      string            // spool root; created if missing
	RunID    uuid.UUID         // the run; its directory must not exist yet
	Metadata *segment.Metadata // written in segment 0; RunID must match, Module is filled from Module
	Module   []byte            // the module's bytes, uploaded once per digest; nil: none
	Store    lake.Store        // where segments go; nil keeps them in the spool

	BufferSize    int               // bytes per pooled record buffer; default 1 MiB
	Buffers       int               // buffers in the pool; default 8
	FlushInterval time.Duration     // longest time between fsyncs of written frames; default 1s
	SegmentSize   int64             // seal a segment at this many bytes; default 32 MiB
	SegmentAge    time.Duration     // seal a segment that has held frames this long; default 5 min
	UploadTimeout time.Duration     // how long Close waits for uploads; default 30s
	Level         zstd.EncoderLevel // frame compression; default segment.DefaultLevel
	Logf          func(format string, args ...any)

	MinBackoff time.Duration // first retry delay of a failed upload; default 100ms
	MaxBackoff time.Duration // longest retry delay; default 30s

	// Tests replace the clock and the flush ticker.
	now  func() time.Time
	tick <-chan time.Time
}

func (o *Options) setDefaults() {
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Buffers <= 0 {
		o.Buffers = DefaultBuffers
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SegmentAge <= 0 {
		o.SegmentAge = DefaultSegmentAge
	}
	if o.UploadTimeout <= 0 {
		o.UploadTimeout = DefaultUploadTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.now == nil {
		o.now = time.Now
	}
}

// Summary describes a finished recording.
type Summary struct {
	RunID       string
	Segments    int    // segments written
	Records     uint64 // records stored in them
	RawBytes    int64  // record bytes submitted and stored
	StoredBytes int64  // segment file bytes
	Uploaded    int    // segments now in the lake
	Spooled     int    // segments left in the spool for a later Sync
	LostRecords uint64 // records submitted but not stored because the disk failed
}

// ErrRecordsLost is wrapped by Close's error when the disk failed and some
// submitted records could not be stored.
var ErrRecordsLost = errors.New("records lost")

// Writer is the capture sink of one run: Submit hands it record buffers,
// Close finishes the run. Submit and Close must be called from one goroutine
// (the Recorder's) or otherwise be ordered; Flush may be called from any.
type Writer struct {
	opts   Options
	runID  string
	dir    string
	lock   *os.File
	work   chan item
	free   chan []byte
	up     *uploader // nil without a store
	closed atomic.Bool

	// Owned by the writer goroutine.
	seg      *segment.Writer
	file     *os.File
	index    int
	segStart time.Time // when the open segment got its first frame
	dirty    bool      // frames written since the last fsync
	dirDirty bool      // directory entries changed since the last fsync
	err      error     // first disk error; sticky
	sum      Summary
}

type item struct {
	buf      []byte
	records  int
	firstSeq uint64
	flush    chan error       // a Flush request
	close    *segment.Trailer // set with closing
	closing  chan error       // a Close request
}

// Create starts the run: it creates and locks the run's spool directory,
// writes segment 0 with the metadata (fsynced), saves the module in the
// spool if the lake may lack it, and starts the writer and uploader.
func Create(ctx context.Context, opts Options) (*Writer, error) {
	opts.setDefaults()
	if opts.Dir == "" {
		return nil, errors.New("spool: no spool directory")
	}
	if opts.Metadata == nil {
		return nil, errors.New("spool: no run metadata")
	}
	md := *opts.Metadata
	runID := opts.RunID.String()
	if md.RunID == "" {
		md.RunID = runID
	}
	var digest string
	if opts.Module != nil {
		sum := sha256.Sum256(opts.Module)
		digest = hex.EncodeToString(sum[:])
		if md.Module.SHA256 != "" && md.Module.SHA256 != digest {
			return nil, fmt.Errorf("spool: metadata names module %s, module bytes hash to %s", md.Module.SHA256, digest)
		}
		md.Module.SHA256, md.Module.Size = digest, int64(len(opts.Module))
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	w := &Writer{
		opts:  opts,
		runID: runID,
		dir:   filepath.Join(opts.Dir, runID),
		work:  make(chan item, opts.Buffers+4),
		free:  make(chan []byte, opts.Buffers),
		sum:   Summary{RunID: runID},
	}
	for range opts.Buffers {
		w.free <- nil // allocated on first use, so short runs stay small
	}
	if digest != "" && opts.Store != nil {
		if err := saveModule(opts.Dir, digest, opts.Module); err != nil {
			return nil, err
		}
	}
	lock, err := createRunDir(opts.Dir, runID)
	if err != nil {
		return nil, err
	}
	w.lock = lock
	seg, err := w.openSegment(0, &md)
	if err != nil {
		w.abandon()
		return nil, err
	}
	w.seg = seg
	if err := w.syncFiles(); err != nil {
		w.abandon()
		return nil, err
	}
	if opts.Store != nil {
		w.up = newUploader(opts.Store, w.dir, runID, digest, opts.Module, &w.opts)
		go w.up.run()
	}
	go w.run()
	return w, nil
}

// Submit queues buf, holding records records whose first has sequence number
// firstSeq, for the background writer, and returns an empty buffer to fill
// next. The writer owns buf afterwards. Submit blocks only while every pooled
// buffer is queued (the disk is behind); it never compresses or does I/O.
func (w *Writer) Submit(buf []byte, records int, firstSeq uint64) []byte {
	if len(buf) == 0 || records <= 0 {
		return buf[:0]
	}
	if w.closed.Load() {
		w.opts.Logf("spool: run %s: %d records submitted after Close are dropped", w.runID, records)
		return buf[:0]
	}
	w.work <- item{buf: buf, records: records, firstSeq: firstSeq}
	next := <-w.free
	if next == nil {
		next = make([]byte, 0, w.opts.BufferSize)
	}
	return next
}

// Flush waits until every buffer submitted before it is written and fsynced.
func (w *Writer) Flush(ctx context.Context) error {
	if w.closed.Load() {
		return errors.New("spool: flush: writer is closed")
	}
	reply := make(chan error, 1)
	select {
	case w.work <- item{flush: reply}:
	case <-ctx.Done():
		return fmt.Errorf("spool: flush: %w", ctx.Err())
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("spool: flush: %w", ctx.Err())
	}
}

// Close ends the run: it writes the queued buffers, the trailer (nil: none;
// Records and Segments are filled in) and seals the last segment, then waits
// up to Options.UploadTimeout (or ctx) for the uploads. Segments not uploaded
// by then stay in the spool for Sync. Close releases the run's lock.
func (w *Writer) Close(ctx context.Context, trailer *segment.Trailer) (Summary, error) {
	if w.closed.Swap(true) {
		return Summary{}, errors.New("spool: writer already closed")
	}
	reply := make(chan error, 1)
	var t *segment.Trailer
	if trailer != nil {
		c := *trailer
		t = &c
	}
	w.work <- item{close: t, closing: reply}
	werr := <-reply // the writer goroutine has exited; its state is ours now
	sum := w.sum
	if w.up != nil {
		timer := time.NewTimer(w.opts.UploadTimeout)
		select {
		case <-w.up.done:
		case <-timer.C:
			w.opts.Logf("spool: run %s: upload timeout %v elapsed, leaving the rest in the spool", w.runID, w.opts.UploadTimeout)
		case <-ctx.Done():
		}
		timer.Stop()
		w.up.stop()
		sum.Uploaded = int(w.up.uploaded.Load())
	}
	sum.Spooled = sum.Segments - sum.Uploaded
	if sum.Spooled == 0 && werr == nil && w.up != nil {
		// Everything shipped: the run leaves nothing behind.
		os.Remove(filepath.Join(w.dir, lockName))
		if err := os.Remove(w.dir); err != nil {
			w.opts.Logf("spool: run %s: remove %s: %v", w.runID, w.dir, err)
		}
	}
	w.lock.Close()
	if sum.LostRecords > 0 {
		werr = fmt.Errorf("%w (%d %w)", werr, sum.LostRecords, ErrRecordsLost)
	}
	return sum, werr
}

// run is the writer goroutine.
func (w *Writer) run() {
	tick := w.opts.tick
	if tick == nil {
		t := time.NewTicker(w.opts.FlushInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case it := <-w.work:
			switch {
			case it.closing != nil:
				it.closing <- w.finish(it.close)
				return
			case it.flush != nil:
				if w.err == nil {
					w.fail(w.syncFiles())
				}
				it.flush <- w.err
			default:
				w.write(it)
				w.recycle(it.buf)
			}
		case <-tick:
			if w.err == nil {
				w.fail(w.syncFiles())
			}
			if w.err == nil && w.seg.Frames() > 0 && w.opts.now().Sub(w.segStart) >= w.opts.SegmentAge {
				w.fail(w.rotate())
			}
		}
	}
}

func (w *Writer) write(it item) {
	if w.err != nil {
		w.sum.LostRecords += uint64(it.records)
		return
	}
	if w.seg.Frames() == 0 {
		w.segStart = w.opts.now()
	}
	if _, err := w.seg.WriteFrame(it.buf, it.records, it.firstSeq); err != nil {
		w.sum.LostRecords += uint64(it.records)
		w.fail(fmt.Errorf("segment %d: %w", w.index, err))
		return
	}
	w.dirty = true
	w.sum.Records += uint64(it.records)
	w.sum.RawBytes += int64(len(it.buf))
	if w.seg.Size() >= w.opts.SegmentSize {
		w.fail(w.rotate())
	}
}

// recycle returns a buffer to the pool, unless the pool is full (a buffer
// from outside joined the circulation) or the buffer grew far past the pool
// size for one huge record.
func (w *Writer) recycle(buf []byte) {
	if cap(buf) > 4*w.opts.BufferSize {
		buf = nil
	}
	select {
	case w.free <- buf[:0]:
	default:
	}
}

// rotate seals the open segment and opens the next.
func (w *Writer) rotate() error {
	prev := w.index
	if err := w.seal(segment.Seal{}, nil); err != nil {
		return err
	}
	// The next segment exists before the sealed one is renamed, so a crash
	// at any point leaves the run's last segment as a .seg.open.
	if _, err := w.openSegment(prev+1, nil); err != nil {
		return err
	}
	if err := w.syncFiles(); err != nil {
		return err
	}
	return w.publish(prev)
}

// seal completes the open segment on disk (fsynced, closed, still .seg.open).
func (w *Writer) seal(s segment.Seal, t *segment.Trailer) error {
	if err := w.seg.Seal(s, t); err != nil {
		return fmt.Errorf("seal segment %d: %w", w.index, err)
	}
	w.sum.Segments++
	w.sum.StoredBytes += w.seg.Size()
	err := w.file.Sync()
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	w.file = nil
	if err != nil {
		return fmt.Errorf("seal segment %d: %w", w.index, err)
	}
	return nil
}

// publish renames sealed segment n into place and queues it for upload.
func (w *Writer) publish(n int) error {
	if err := os.Rename(w.segPath(n, openExt), w.segPath(n, sealedExt)); err != nil {
		return fmt.Errorf("publish segment %d: %w", n, err)
	}
	if err := syncDir(w.dir); err != nil {
		return fmt.Errorf("publish segment %d: %w", n, err)
	}
	if w.up != nil {
		w.up.enqueue(n)
	}
	return nil
}

// openSegment creates segment n's .seg.open file and starts writing it.
func (w *Writer) openSegment(n int, md *segment.Metadata) (*segment.Writer, error) {
	f, err := os.OpenFile(w.segPath(n, openExt), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("spool: open segment: %w", err)
	}
	w.file, w.index, w.dirty, w.dirDirty = f, n, true, true
	if w.seg == nil {
		w.seg, err = segment.NewWriter(f, w.opts.RunID, uint32(n), md, segment.Options{Level: w.opts.Level})
	} else {
		err = w.seg.Reset(f, w.opts.RunID, uint32(n), md)
	}
	if err != nil {
		return nil, fmt.Errorf("spool: segment %d: %w", n, err)
	}
	return w.seg, nil
}

// finish handles Close on the writer goroutine.
func (w *Writer) finish(t *segment.Trailer) error {
	// Buffers submitted before Close are already queued ahead of it.
	if w.err != nil {
		return w.err
	}
	if t != nil {
		t.Records = w.sum.Records
		t.Segments = uint32(w.index + 1)
	}
	n := w.index
	if err := w.seal(segment.Seal{Last: true}, t); err != nil {
		w.fail(err)
		return w.err
	}
	if err := w.publish(n); err != nil {
		w.fail(err)
		return w.err
	}
	if w.up != nil {
		w.up.closeQueue()
	}
	return nil
}

// syncFiles fsyncs the open segment and, if entries changed, the run directory.
func (w *Writer) syncFiles() error {
	if w.dirty && w.file != nil {
		if err := w.file.Sync(); err != nil {
			return fmt.Errorf("fsync segment %d: %w", w.index, err)
		}
		w.dirty = false
	}
	if w.dirDirty {
		if err := syncDir(w.dir); err != nil {
			return err
		}
		w.dirDirty = false
	}
	return nil
}

// fail records the first disk error: the writer stops writing (the open file
// stays as .seg.open for Sync) but keeps consuming buffers.
func (w *Writer) fail(err error) {
	if err == nil || w.err != nil {
		return
	}
	w.err = fmt.Errorf("spool: run %s: %w", w.runID, err)
	w.opts.Logf("%v; later records are dropped", w.err)
	if w.file != nil {
		// The open segment stays in the spool for Sync to rebuild.
		w.sum.Segments++
		w.sum.StoredBytes += w.seg.Size()
		w.file.Close()
		w.file = nil
	}
	if w.up != nil {
		w.up.closeQueue()
	}
}

// abandon undoes a failed Create.
func (w *Writer) abandon() {
	if w.file != nil {
		w.file.Close()
	}
	os.RemoveAll(w.dir)
	w.lock.Close()
}

func (w *Writer) segPath(n int, ext string) string {
	return filepath.Join(w.dir, fmt.Sprintf("%08d%s", n, ext))
}
