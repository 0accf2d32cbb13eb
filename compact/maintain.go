package compact

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

// housekeeping runs after the segments are consumed: it deletes leftovers
// of dead attempts and expired removed files, marks stale runs incomplete,
// stops tracking finished runs older than the late window and merges small
// files, committing the state changes in one commit.
func (c *compactor) housekeeping(ctx context.Context, st *State) error {
	// Leftover collection must judge liveness on the newest log.
	if err := catchUp(ctx, c.store, st, nil); err != nil {
		return err
	}
	if err := c.collectLeftovers(ctx, st); err != nil {
		return err
	}
	now := c.opts.Now()
	a := c.newAttempt(st)
	a.commit.Watermark = max(watermarkFor(now.Add(-c.opts.LateWindow)), st.Watermark)

	for _, t := range st.Tombstones {
		if now.Sub(t.Removed) < c.opts.Grace {
			continue
		}
		if err := c.store.Delete(ctx, t.Key); err != nil {
			return fmt.Errorf("delete expired %s: %w", t.Key, err)
		}
		a.commit.Purged = append(a.commit.Purged, t.Key)
	}

	var touched []*RunState
	for _, id := range sortedKeys(st.Runs) {
		rs := st.Runs[id]
		switch {
		case (rs.Done || rs.Incomplete) && id < a.commit.Watermark:
			a.commit.Dropped = append(a.commit.Dropped, id)
		case !rs.Done && !rs.Incomplete && now.Sub(rs.LastSeen) >= c.opts.Grace:
			rs = rs.clone()
			rs.Incomplete = true
			touched = append(touched, rs)
			c.opts.Logf("run %s: no new segment for %v: marked incomplete", id, now.Sub(rs.LastSeen).Round(1e9))
		}
	}
	a.commit.Runs = touched
	err := a.rewriteRuns(ctx, st, touched)
	if err == nil {
		err = c.mergeSmallFiles(ctx, st, a)
	}
	if err != nil {
		a.abandon(ctx)
		return err
	}
	if len(a.commit.Purged)+len(a.commit.Runs)+len(a.commit.Dropped)+len(a.commit.Removed) == 0 {
		return nil
	}
	err = a.finish(ctx, st)
	if errors.Is(err, errConflict) {
		c.stats.Conflicts++
		c.opts.Logf("housekeeping: %v; left for the next pass", err)
		return nil
	}
	if err != nil {
		return err
	}
	c.stats.Purged += len(a.commit.Purged)
	c.stats.Incomplete += len(touched)
	c.stats.FilesMerged += len(a.commit.Removed)
	return nil
}

// collectLeftovers deletes the files of attempts that died (or gave up
// without cleaning) more than a grace period ago and that no commit names.
func (c *compactor) collectLeftovers(ctx context.Context, st *State) error {
	objs, err := c.store.List(ctx, PendingPrefix, "", 0)
	if err != nil {
		return fmt.Errorf("list %s: %w", PendingPrefix, err)
	}
	now := c.opts.Now()
	for _, o := range objs {
		var p pending
		if err := getJSON(ctx, c.store, o.Key, &p); err != nil {
			if errors.Is(err, lake.ErrNotFound) {
				continue
			}
			return err
		}
		if now.Sub(p.Started) < c.opts.Grace {
			continue
		}
		for _, k := range p.Files {
			if _, live := st.Files[k]; live {
				continue
			}
			if err := c.store.Delete(ctx, k); err != nil {
				return fmt.Errorf("delete leftover %s: %w", k, err)
			}
			c.stats.Cleaned++
		}
		if err := c.store.Delete(ctx, o.Key); err != nil {
			return fmt.Errorf("delete %s: %w", o.Key, err)
		}
		c.opts.Logf("cleaned up after attempt %s (started %s)", p.Pass, p.Started.Format("2006-01-02T15:04:05Z"))
	}
	return nil
}

// maxMergeFiles bounds the files one merge reads at once (each holds a
// read buffer and a temporary copy).
const maxMergeFiles = 64

// mergeSmallFiles replaces, in each partition of the event tables with at
// least MergeMinFiles small files, groups of those files by one file each.
func (c *compactor) mergeSmallFiles(ctx context.Context, st *State, a *attempt) error {
	type part struct{ table, date string }
	small := map[part][]File{}
	for _, f := range st.Files {
		if f.Table != schemas.TableRuns && f.Bytes < c.opts.SmallFileBytes {
			k := part{f.Table, f.Date}
			small[k] = append(small[k], f)
		}
	}
	parts := make([]part, 0, len(small))
	for p := range small {
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(x, y part) int { return cmp.Or(cmp.Compare(x.table, y.table), cmp.Compare(x.date, y.date)) })
	for _, p := range parts {
		files := small[p]
		if len(files) < c.opts.MergeMinFiles {
			continue
		}
		slices.SortFunc(files, func(x, y File) int { return cmp.Or(cmp.Compare(x.MinRunID, y.MinRunID), cmp.Compare(x.Key, y.Key)) })
		for len(files) > 1 {
			n, total := 0, int64(0)
			for n < len(files) && n < maxMergeFiles && (n < 2 || total+files[n].Bytes <= c.opts.FileBytes) {
				total += files[n].Bytes
				n++
			}
			group := files[:n]
			files = files[n:]
			var err error
			switch p.table {
			case schemas.TableCalls:
				err = mergeFiles(ctx, a, p.table, p.date, group, callBytes, callRunID, func(r *schemas.Call) int64 { return r.Seq })
			case schemas.TableStdio:
				err = mergeFiles(ctx, a, p.table, p.date, group, stdioBytes, stdioRunID, func(r *schemas.Stdio) int64 { return r.Seq })
			case schemas.TableFS:
				err = mergeFiles(ctx, a, p.table, p.date, group, fsBytes, fsRunID, func(r *schemas.FS) int64 { return r.Seq })
			case schemas.TableNet:
				err = mergeFiles(ctx, a, p.table, p.date, group, netBytes, netRunID, func(r *schemas.Net) int64 { return r.Seq })
			case schemas.TableHTTP:
				err = mergeFiles(ctx, a, p.table, p.date, group, httpBytes, httpRunID, func(r *schemas.HTTP) int64 { return r.Seq })
			default:
				continue // a table of a newer schema: left alone
			}
			if err != nil {
				return err
			}
			for _, f := range group {
				a.commit.Removed = append(a.commit.Removed, f.Key)
			}
		}
	}
	return nil
}

// cursor is one input of a k-way merge.
type cursor[T any] struct {
	r   *parquet.GenericReader[T]
	buf []T
	pos int
	n   int
	eof bool
}

type cursorHeap[T any] struct {
	cs    []*cursor[T]
	runID func(*T) string
	seq   func(*T) int64
}

func (h *cursorHeap[T]) Len() int { return len(h.cs) }
func (h *cursorHeap[T]) Less(i, j int) bool {
	a, b := &h.cs[i].buf[h.cs[i].pos], &h.cs[j].buf[h.cs[j].pos]
	if ra, rb := h.runID(a), h.runID(b); ra != rb {
		return ra < rb
	}
	return h.seq(a) < h.seq(b)
}
func (h *cursorHeap[T]) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *cursorHeap[T]) Push(x any)    { h.cs = append(h.cs, x.(*cursor[T])) }
func (h *cursorHeap[T]) Pop() any {
	x := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return x
}

// mergeFiles writes the rows of files, each sorted by (run_id, seq), into
// new files of the partition in the same order. Memory: one read buffer of
// mergeBuf rows per input plus the output row group.
func mergeFiles[T any](ctx context.Context, a *attempt, table, date string, files []File,
	rowBytes func(*T) int64, runID func(*T) string, seq func(*T) int64) error {
	const mergeBuf = 512
	c := a.c
	w := &rowWriter[T]{table: table, date: date, size: c.size, tmpDir: c.opts.TempDir,
		rowBytes: rowBytes, runID: runID, upload: a.upload}
	defer w.Abort()
	h := &cursorHeap[T]{runID: runID, seq: seq}
	for _, f := range files {
		pf, cleanup, err := readFile(ctx, c.store, c.opts.TempDir, f)
		if err != nil {
			return err
		}
		defer cleanup()
		r := parquet.NewGenericReader[T](pf)
		defer r.Close()
		cur := &cursor[T]{r: r, buf: make([]T, mergeBuf)}
		if err := cur.fill(f.Key); err != nil {
			return err
		}
		if cur.n > 0 {
			h.cs = append(h.cs, cur)
		}
	}
	heap.Init(h)
	out := make([]T, 0, mergeBuf)
	for h.Len() > 0 {
		cur := h.cs[0]
		out = append(out, cur.buf[cur.pos])
		cur.pos++
		if cur.pos < cur.n {
			heap.Fix(h, 0)
			continue
		}
		// The cursor's buffer is about to be reused: rows in out may alias
		// it, so write them first.
		if err := w.Write(ctx, out); err != nil {
			return err
		}
		clear(out)
		out = out[:0]
		if err := cur.fill(table); err != nil {
			return err
		}
		if cur.n == 0 {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	if err := w.Write(ctx, out); err != nil {
		return err
	}
	_, err := w.Close(ctx)
	return err
}

func (cur *cursor[T]) fill(what string) error {
	cur.pos, cur.n = 0, 0
	if cur.eof {
		return nil
	}
	clear(cur.buf)
	n, err := cur.r.Read(cur.buf)
	cur.n = n
	if err == io.EOF {
		cur.eof = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("merge: read %s: %w", what, err)
	}
	return nil
}

// checkpoint writes the state after every CheckpointEvery-th commit, points
// _lake/last_checkpoint.json at it, and prunes the log behind the previous
// checkpoint (commits older than the grace period only, so that a slow
// attempt can never re-create a pruned commit number unnoticed).
func (c *compactor) checkpoint(ctx context.Context, st *State) error {
	if st.Seq%c.opts.CheckpointEvery != 0 {
		return nil
	}
	if err := putJSON(ctx, c.store, CheckpointKey(st.Seq), st, false); err != nil {
		return err
	}
	var prev lastCheckpoint
	if err := getJSON(ctx, c.store, LastCheckpointKey, &prev); err != nil && !errors.Is(err, lake.ErrNotFound) {
		return err
	}
	if prev.Seq >= st.Seq {
		return nil
	}
	if err := putJSON(ctx, c.store, LastCheckpointKey, lastCheckpoint{Seq: st.Seq}, false); err != nil {
		return err
	}
	if prev.Seq == 0 {
		return nil
	}
	// Checkpoints before the previous one are superseded; commits before it
	// too, once older than the grace period.
	objs, err := c.store.List(ctx, CheckpointPrefix, "", 0)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if seq, ok := parseSeqKey(CheckpointPrefix, o.Key); ok && seq < prev.Seq {
			if err := c.store.Delete(ctx, o.Key); err != nil {
				return err
			}
		}
	}
	objs, err = c.store.List(ctx, CommitPrefix, "", 0)
	if err != nil {
		return err
	}
	now := c.opts.Now()
	for _, o := range objs {
		seq, ok := parseSeqKey(CommitPrefix, o.Key)
		if !ok || seq >= prev.Seq {
			break
		}
		cm, err := readCommit(ctx, c.store, seq)
		if err != nil {
			return err
		}
		if now.Sub(cm.Time) < c.opts.Grace {
			break
		}
		if err := c.store.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}

// isTableKey reports whether key is a Parquet file of the tables.
func isTableKey(key string) bool {
	return strings.HasPrefix(key, TablesPrefix) && strings.HasSuffix(key, ".parquet")
}
