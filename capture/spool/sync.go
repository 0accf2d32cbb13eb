package spool

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
)

// syncAttempts bounds the tries per object in Sync, which must return even
// when the lake is down.
const syncAttempts = 3

// staleSetup is how old a half-created run directory must be before Sync
// removes it.
const staleSetup = time.Hour

// SyncSummary counts what Sync did.
type SyncSummary struct {
	Runs      int    // runs whose writer is gone, processed
	Live      int    // runs skipped because their writer still holds the lock
	Segments  int    // segments uploaded and removed from the spool
	Rebuilt   int    // .seg.open files turned into sealed segments
	Records   uint64 // records kept in rebuilt segments
	BytesLost int64  // bytes of torn files that could not be read
	Modules   int    // modules uploaded (or found already in the lake)
	Failed    int    // segments or modules left in the spool after errors
}

// Sync ships what runs left in spoolDir: modules not yet in the lake, and the
// segments of every run whose writer is gone (its lock is free), rebuilding
// their open segments first. Runs still being written are skipped. Each
// upload is tried a few times; what still fails stays in the spool, is
// counted in Failed and reported in the error. logf may be nil.
func Sync(ctx context.Context, spoolDir string, store lake.Store, logf func(format string, args ...any)) (SyncSummary, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	opts := &Options{Logf: logf}
	opts.setDefaults()
	opts.MaxBackoff = 2 * time.Second
	var sum SyncSummary
	var errs []error
	entries, err := os.ReadDir(spoolDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return sum, nil
		}
		return sum, fmt.Errorf("spool: sync %s: %w", spoolDir, err)
	}
	if err := syncModules(ctx, spoolDir, store, opts, &sum); err != nil {
		errs = append(errs, err)
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		name := e.Name()
		switch {
		case !e.IsDir():
		case strings.HasPrefix(name, newPrefix):
			removeStaleSetup(filepath.Join(spoolDir, name), logf)
		default:
			if _, err := uuid.Parse(name); err != nil {
				continue
			}
			if err := syncRun(ctx, spoolDir, name, store, opts, &sum); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return sum, errors.Join(errs...)
}

func syncModules(ctx context.Context, spool string, store lake.Store, opts *Options, sum *SyncSummary) error {
	dir := filepath.Join(spool, modulesDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: sync modules: %w", err)
	}
	var errs []error
	for _, e := range entries {
		digest, ok := strings.CutSuffix(e.Name(), ".wasm")
		if !ok || len(digest) != 2*sha256.Size {
			continue
		}
		err := func() error {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			defer f.Close()
			got, err := digestOf(f)
			if err != nil {
				return err
			}
			if hex.EncodeToString(got[:]) != digest {
				return fmt.Errorf("module file %s does not hash to its name; left alone", e.Name())
			}
			return retry(ctx, opts, syncAttempts, func() error { return uploadModule(ctx, store, spool, digest, f) })
		}()
		if err != nil {
			sum.Failed++
			errs = append(errs, fmt.Errorf("spool: sync module %s: %w", digest, err))
			continue
		}
		sum.Modules++
	}
	return errors.Join(errs...)
}

// syncRun rebuilds and uploads one run's segments if its writer is gone.
func syncRun(ctx context.Context, spool, runID string, store lake.Store, opts *Options, sum *SyncSummary) error {
	dir := filepath.Join(spool, runID)
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("spool: sync run %s: %w", runID, err)
	}
	defer lock.Close()
	if err := flock(lock); err != nil {
		if errors.Is(err, errLocked) {
			sum.Live++
			return nil
		}
		return fmt.Errorf("spool: sync run %s: %w", runID, err)
	}
	sum.Runs++
	id := uuid.MustParse(runID)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool: sync run %s: %w", runID, err)
	}
	var errs []error
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	for _, e := range entries {
		if _, ok := segmentNumber(e.Name(), tmpExt); ok {
			os.Remove(filepath.Join(dir, e.Name())) // an interrupted rebuild; redone below
		}
	}
	for _, e := range entries {
		n, ok := segmentNumber(e.Name(), openExt)
		if !ok {
			continue
		}
		if names[fmt.Sprintf("%08d%s", n, sealedExt)] {
			// Rebuilt before, but the open file's removal did not happen.
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		if err := rebuild(dir, id, n, opts.Logf, sum); err != nil {
			errs = append(errs, fmt.Errorf("spool: sync run %s: rebuild segment %d: %w", runID, n, err))
		}
	}
	entries, err = os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool: sync run %s: %w", runID, err)
	}
	var sealed []int
	for _, e := range entries {
		if n, ok := segmentNumber(e.Name(), sealedExt); ok {
			sealed = append(sealed, n)
		}
	}
	slices.Sort(sealed)
	for i, n := range sealed {
		path := filepath.Join(dir, fmt.Sprintf("%08d%s", n, sealedExt))
		key := lake.SegmentKey(runID, n)
		err := retry(ctx, opts, syncAttempts, func() error { return uploadSegment(ctx, store, path, key) })
		if err != nil {
			// The rest would most likely fail the same way: leave them.
			sum.Failed += len(sealed) - i
			errs = append(errs, fmt.Errorf("spool: sync run %s: %d segments left in the spool: %w", runID, len(sealed)-i, err))
			break
		}
		sum.Segments++
	}
	if len(errs) == 0 {
		left, _ := os.ReadDir(dir)
		if len(left) == 1 && left[0].Name() == lockName {
			os.Remove(filepath.Join(dir, lockName))
			if err := os.Remove(dir); err != nil {
				errs = append(errs, fmt.Errorf("spool: sync run %s: %w", runID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// rebuild turns segment n's .seg.open into a sealed .seg: a complete segment
// whose rename was lost is renamed; otherwise its intact frames are copied
// into a new segment sealed Last and Torn, with the unreadable bytes counted.
func rebuild(dir string, runID uuid.UUID, n int, logf func(string, ...any), sum *SyncSummary) error {
	openPath := filepath.Join(dir, fmt.Sprintf("%08d%s", n, openExt))
	tmpPath := filepath.Join(dir, fmt.Sprintf("%08d%s", n, tmpExt))
	sealedPath := filepath.Join(dir, fmt.Sprintf("%08d%s", n, sealedExt))
	in, err := os.Open(openPath)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	r, err := segment.NewReader(in)
	var md *segment.Metadata
	var lost int64
	if err != nil {
		var de *segment.DamageError
		if !errors.As(err, &de) || errors.Is(err, segment.ErrVersion) {
			return err // an I/O error, or a format we must not rewrite
		}
		lost = fi.Size()
		r = nil
	} else {
		if h := r.Header(); h.RunID != runID || h.Index != uint32(n) {
			return fmt.Errorf("header says run %s segment %d", uuid.UUID(h.RunID), h.Index)
		}
		md = r.Metadata()
	}
	out, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if out != nil {
			out.Close()
			os.Remove(tmpPath)
		}
	}()
	w, err := segment.NewWriter(out, runID, uint32(n), md, segment.Options{})
	if err != nil {
		return err
	}
	for r != nil {
		f, err := r.Next()
		if err == io.EOF {
			// Complete and sealed: only the rename was missing.
			if err := os.Rename(openPath, sealedPath); err != nil {
				return err
			}
			logf("spool: run %s: segment %d was complete; renamed", runID, n)
			return syncDir(dir)
		}
		if err != nil {
			var de *segment.DamageError
			if !errors.As(err, &de) {
				return err
			}
			lost = de.BytesLost
			logf("spool: run %s: segment %d: %v", runID, n, err)
			break
		}
		if _, err := w.WriteFrame(f.Payload, int(f.Records), f.FirstSeq); err != nil {
			return err
		}
	}
	if err := w.Seal(segment.Seal{Last: true, Torn: true, BytesLost: uint64(lost)}, nil); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	out = nil
	if err := os.Rename(tmpPath, sealedPath); err != nil {
		return err
	}
	if err := os.Remove(openPath); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	sum.Rebuilt++
	sum.Records += w.Records()
	sum.BytesLost += lost
	logf("spool: run %s: segment %d rebuilt: %d frames, %d records kept, %d bytes lost", runID, n, w.Frames(), w.Records(), lost)
	return nil
}

// removeStaleSetup removes a run directory whose creation never finished.
func removeStaleSetup(dir string, logf func(string, ...any)) {
	fi, err := os.Stat(dir)
	if err != nil || time.Since(fi.ModTime()) < staleSetup {
		return
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if err == nil {
		defer lock.Close()
		if flock(lock) != nil {
			return
		}
	}
	if err := os.RemoveAll(dir); err == nil {
		logf("spool: removed abandoned %s", dir)
	}
}
