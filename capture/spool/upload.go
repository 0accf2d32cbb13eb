package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/timelake/timelake/lake"
)

// Content types of uploaded objects.
const (
	SegmentContentType = "application/vnd.timelake.segment"
	ModuleContentType  = "application/wasm"
)

// errConflict: the lake holds a different object under a segment's key.
// Retrying cannot help; the segment stays in the spool.
var errConflict = errors.New("a different object already exists under the key")

// uploader ships one live run's sealed segments, in order, on its own
// goroutine, retrying with backoff until stopped.
type uploader struct {
	store  lake.Store
	dir    string // the run's spool directory
	runID  string
	digest string // module to upload first; "" for none
	module []byte
	opts   *Options

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu       sync.Mutex
	queue    []int
	closed   bool
	wake     chan struct{} // capacity 1: something was queued or closed
	closeOne sync.Once

	uploaded atomic.Int64
}

func newUploader(store lake.Store, dir, runID, digest string, module []byte, opts *Options) *uploader {
	ctx, cancel := context.WithCancel(context.Background())
	return &uploader{
		store: store, dir: dir, runID: runID, digest: digest, module: module, opts: opts,
		ctx: ctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1),
	}
}

func (u *uploader) enqueue(n int) {
	u.mu.Lock()
	u.queue = append(u.queue, n)
	u.mu.Unlock()
	u.signal()
}

// closeQueue says no more segments will come: run returns once the queue
// is shipped.
func (u *uploader) closeQueue() {
	u.closeOne.Do(func() {
		u.mu.Lock()
		u.closed = true
		u.mu.Unlock()
		u.signal()
	})
}

func (u *uploader) signal() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// stop abandons pending uploads and waits for run to return.
func (u *uploader) stop() {
	u.cancel()
	<-u.done
}

func (u *uploader) run() {
	defer close(u.done)
	if u.digest != "" {
		err := retry(u.ctx, u.opts, 0, func() error {
			return uploadModule(u.ctx, u.store, u.opts.Dir, u.digest, bytes.NewReader(u.module))
		})
		if err != nil {
			u.opts.Logf("spool: run %s: module %s stays in the spool: %v", u.runID, u.digest, err)
		}
	}
	for {
		u.mu.Lock()
		var n int
		have := len(u.queue) > 0
		if have {
			n = u.queue[0]
			u.queue = u.queue[1:]
		}
		closed := u.closed
		u.mu.Unlock()
		if !have {
			if closed {
				return
			}
			select {
			case <-u.wake:
				continue
			case <-u.ctx.Done():
				return
			}
		}
		path := filepath.Join(u.dir, fmt.Sprintf("%08d%s", n, sealedExt))
		key := lake.SegmentKey(u.runID, n)
		err := retry(u.ctx, u.opts, 0, func() error { return uploadSegment(u.ctx, u.store, path, key) })
		if err != nil {
			u.opts.Logf("spool: run %s: segment %d stays in the spool: %v", u.runID, n, err)
			if u.ctx.Err() != nil {
				return
			}
			continue
		}
		u.uploaded.Add(1)
	}
}

// retry runs op until it succeeds, fails with errConflict, ctx ends or, if
// attempts > 0, it has failed attempts times, sleeping with exponential
// backoff and jitter between attempts.
func retry(ctx context.Context, opts *Options, attempts int, op func() error) error {
	delay := opts.MinBackoff
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || errors.Is(err, errConflict) || attempt == attempts {
			return err
		}
		opts.Logf("spool: attempt %d: %v; retrying in %v", attempt, err, delay)
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, opts.MaxBackoff)
	}
}

// uploadSegment puts the sealed segment file at path under key, create-only,
// makes sure the lake holds exactly its bytes, then removes the file.
func uploadSegment(ctx context.Context, store lake.Store, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("upload segment %s: %w", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("upload segment %s: %w", key, err)
	}
	obj, err := store.Put(ctx, key, f, lake.PutOptions{CreateOnly: true, ContentType: SegmentContentType})
	switch {
	case err == nil:
		if obj.Size != fi.Size() {
			return fmt.Errorf("upload segment %s: stored %d bytes, file has %d: %w", key, obj.Size, fi.Size(), errConflict)
		}
	case errors.Is(err, lake.ErrExists):
		// An earlier attempt may have landed with its answer lost: only an
		// identical object counts.
		if err := sameContent(ctx, store, key, f, fi.Size()); err != nil {
			return fmt.Errorf("upload segment %s: %w", key, err)
		}
	default:
		return fmt.Errorf("upload segment %s: %w", key, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("upload segment %s: remove spooled copy: %w", key, err)
	}
	return syncDir(filepath.Dir(path))
}

// sameContent checks that the object under key has exactly local's bytes.
func sameContent(ctx context.Context, store lake.Store, key string, local io.ReadSeeker, size int64) error {
	obj, err := store.Stat(ctx, key)
	if err != nil {
		return err
	}
	if obj.Size != size {
		return fmt.Errorf("object has %d bytes, file %d: %w", obj.Size, size, errConflict)
	}
	rc, err := store.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	remote, err := digestOf(rc)
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	if _, err := local.Seek(0, io.SeekStart); err != nil {
		return err
	}
	mine, err := digestOf(local)
	if err != nil {
		return err
	}
	if remote != mine {
		return fmt.Errorf("object content differs from the file: %w", errConflict)
	}
	return nil
}

func digestOf(r io.Reader) ([sha256.Size]byte, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return [sha256.Size]byte{}, err
	}
	return [sha256.Size]byte(h.Sum(nil)), nil
}

// uploadModule puts the module create-only under its content key; an
// existing object is the same module. It then marks it uploaded in the spool.
func uploadModule(ctx context.Context, store lake.Store, spool, digest string, body io.ReadSeeker) error {
	if moduleUploaded(spool, digest) {
		return nil
	}
	key := lake.ModuleKey(digest)
	size, err := body.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("upload module %s: %w", key, err)
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("upload module %s: %w", key, err)
	}
	obj, err := store.Put(ctx, key, body, lake.PutOptions{CreateOnly: true, ContentType: ModuleContentType})
	switch {
	case err == nil && obj.Size != size:
		return fmt.Errorf("upload module %s: stored %d bytes, module has %d", key, obj.Size, size)
	case err != nil && !errors.Is(err, lake.ErrExists):
		return fmt.Errorf("upload module %s: %w", key, err)
	}
	if err := markModuleUploaded(spool, digest); err != nil {
		return fmt.Errorf("upload module %s: mark uploaded: %w", key, err)
	}
	return nil
}
