package compact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

// pending is the content of _lake/pending/<attempt>.json: the files an
// attempt has uploaded or is about to upload, written before each upload so
// that garbage collection can find the leftovers of an attempt that died.
type pending struct {
	Pass    string    `json:"pass"`
	Started time.Time `json:"started"`
	Files   []string  `json:"files"`
}

// attempt is one try at one commit: the files it uploaded so far and the
// commit it builds.
type attempt struct {
	c       *compactor
	commit  *Commit
	marker  pending
	started time.Time
	files   []File        // uploaded, not yet committed
	open    *eventWriters // writers of the partition being written
}

func (c *compactor) newAttempt(st *State) *attempt {
	id := uuid.Must(uuid.NewV7()).String()
	now := c.opts.Now()
	return &attempt{
		c:       c,
		started: now,
		marker:  pending{Pass: id, Started: now.UTC()},
		commit: &Commit{
			FormatVersion: FormatVersion, Pass: id, Watermark: st.Watermark,
		},
	}
}

func (a *attempt) markerKey() string { return PendingPrefix + a.marker.Pass + ".json" }

// upload stores a finished data file, after naming it in the marker.
func (a *attempt) upload(ctx context.Context, f File, body *os.File) error {
	a.marker.Files = append(a.marker.Files, f.Key)
	if err := putJSON(ctx, a.c.store, a.markerKey(), a.marker, false); err != nil {
		return err
	}
	if _, err := a.c.store.Put(ctx, f.Key, body, lake.PutOptions{ContentType: "application/vnd.apache.parquet"}); err != nil {
		return fmt.Errorf("upload %s: %w", f.Key, err)
	}
	a.files = append(a.files, f)
	return nil
}

// abandon deletes what a failed attempt uploaded, when it is certain no
// commit names it. Failures are left to garbage collection.
func (a *attempt) abandon(ctx context.Context) {
	// The marker names every file whose upload started, including one whose
	// put landed but reported failure.
	for _, k := range a.marker.Files {
		if err := a.c.store.Delete(ctx, k); err != nil {
			a.c.opts.Logf("cleanup: %v (left for garbage collection)", err)
			return
		}
	}
	if len(a.marker.Files) > 0 {
		if err := a.c.store.Delete(ctx, a.markerKey()); err != nil {
			a.c.opts.Logf("cleanup: %v (left for garbage collection)", err)
		}
	}
}

// finish commits the attempt, or abandons it when the commit certainly did
// not land.
func (a *attempt) finish(ctx context.Context, st *State) error {
	if elapsed := a.c.opts.Now().Sub(a.started); elapsed > a.c.deadline() {
		a.abandon(ctx)
		return fmt.Errorf("attempt took %v, more than half the grace period (%v): abandoned; raise --grace or lower the batch size", elapsed.Round(time.Second), a.c.opts.Grace)
	}
	a.commit.Added = a.files
	a.commit.Time = a.c.opts.Now().UTC()
	a.commit.SchemaVersion = schemas.SchemaVersion
	err := a.c.claim(ctx, st, a.commit)
	switch {
	case err == nil:
	case errors.Is(err, errConflict):
		a.abandon(ctx)
		return err
	case errors.Is(err, errUncertain):
		return err // the files may be committed: garbage collection decides
	default:
		a.abandon(ctx)
		return err
	}
	a.c.stats.Commits++
	a.c.stats.Runs += len(a.commit.Runs)
	a.c.stats.Quarantined = append(a.c.stats.Quarantined, a.commit.Quarantined...)
	for _, s := range a.commit.Segments {
		a.c.stats.Segments++
		a.c.stats.BytesIn += s.Bytes
		a.c.stats.Records += s.Records
	}
	for _, f := range a.files {
		a.c.stats.FilesWritten++
		a.c.stats.BytesOut += f.Bytes
	}
	if len(a.marker.Files) > 0 {
		if err := a.c.store.Delete(ctx, a.markerKey()); err != nil {
			a.c.opts.Logf("commit %d: could not delete %s: %v (garbage collection will)", a.commit.Seq, a.markerKey(), err)
		}
	}
	if err := a.c.checkpoint(ctx, st); err != nil {
		a.c.opts.Logf("commit %d: checkpoint: %v (the log stays readable)", a.commit.Seq, err)
	}
	return nil
}

// errUncertain: a commit put failed in a way that leaves open whether it
// landed.
var errUncertain = errors.New("commit outcome unknown")

// claim writes commit cm as the next entry of the log, catching up with
// commits made by others meanwhile. It fails with errConflict when one of
// them overlaps cm, and applies cm to st when it lands.
func (c *compactor) claim(ctx context.Context, st *State, cm *Commit) error {
	for {
		cm.Seq = st.Seq + 1
		err := putJSON(ctx, c.store, CommitKey(cm.Seq), cm, true)
		if err == nil {
			return st.apply(cm)
		}
		if !errors.Is(err, lake.ErrExists) {
			got, gerr := readCommit(ctx, c.store, cm.Seq)
			switch {
			case gerr == nil && got.Pass == cm.Pass:
				return st.apply(cm)
			case gerr == nil:
				// Another compactor's commit: catch up as for ErrExists.
			case errors.Is(gerr, lake.ErrNotFound):
				return fmt.Errorf("commit %d: %w", cm.Seq, err)
			default:
				return fmt.Errorf("commit %d: %w: %w (and reading it back: %v)", cm.Seq, errUncertain, err, gerr)
			}
		}
		if err := catchUp(ctx, c.store, st, func(o *Commit) error {
			if conflicts(o, cm) {
				return fmt.Errorf("commit %d by attempt %s: %w", o.Seq, o.Pass, errConflict)
			}
			return nil
		}); err != nil {
			return err
		}
		cm.Purged = slices.DeleteFunc(cm.Purged, func(k string) bool {
			return !slices.ContainsFunc(st.Tombstones, func(t Tombstone) bool { return t.Key == k })
		})
	}
}

// conflicts reports whether commit o, made by someone else since cm was
// planned, invalidates cm: they consumed a common segment, removed a common
// file, or changed the state of a common run.
func conflicts(o, cm *Commit) bool {
	segs := map[string]bool{}
	for _, s := range o.Segments {
		segs[s.Key] = true
	}
	for _, q := range o.Quarantined {
		segs[q.Key] = true
	}
	for _, s := range cm.Segments {
		if segs[s.Key] {
			return true
		}
	}
	for _, q := range cm.Quarantined {
		if segs[q.Key] {
			return true
		}
	}
	for _, k := range cm.Removed {
		if slices.Contains(o.Removed, k) {
			return true
		}
	}
	runs := map[string]bool{}
	for _, r := range o.Runs {
		runs[r.ID] = true
	}
	for _, id := range o.Dropped {
		runs[id] = true
	}
	for _, r := range cm.Runs {
		if runs[r.ID] {
			return true
		}
	}
	for _, id := range cm.Dropped {
		if runs[id] {
			return true
		}
	}
	return false
}

// eventWriters are the writers of the event tables of one partition.
type eventWriters struct {
	calls *rowWriter[schemas.Call]
	stdio *rowWriter[schemas.Stdio]
	fs    *rowWriter[schemas.FS]
	net   *rowWriter[schemas.Net]
	http  *rowWriter[schemas.HTTP]
}

func (a *attempt) writers(date string) *eventWriters {
	c := a.c
	return &eventWriters{
		calls: &rowWriter[schemas.Call]{table: schemas.TableCalls, date: date, size: c.size, tmpDir: c.opts.TempDir,
			rowBytes: callBytes, runID: callRunID, upload: a.upload},
		stdio: &rowWriter[schemas.Stdio]{table: schemas.TableStdio, date: date, size: c.size, tmpDir: c.opts.TempDir,
			rowBytes: stdioBytes, runID: stdioRunID, upload: a.upload},
		fs: &rowWriter[schemas.FS]{table: schemas.TableFS, date: date, size: c.size, tmpDir: c.opts.TempDir,
			rowBytes: fsBytes, runID: fsRunID, upload: a.upload},
		net: &rowWriter[schemas.Net]{table: schemas.TableNet, date: date, size: c.size, tmpDir: c.opts.TempDir,
			rowBytes: netBytes, runID: netRunID, upload: a.upload},
		http: &rowWriter[schemas.HTTP]{table: schemas.TableHTTP, date: date, size: c.size, tmpDir: c.opts.TempDir,
			rowBytes: httpBytes, runID: httpRunID, upload: a.upload},
	}
}

func (w *eventWriters) close(ctx context.Context) error {
	if _, err := w.calls.Close(ctx); err != nil {
		return err
	}
	if _, err := w.stdio.Close(ctx); err != nil {
		return err
	}
	if _, err := w.fs.Close(ctx); err != nil {
		return err
	}
	if _, err := w.net.Close(ctx); err != nil {
		return err
	}
	_, err := w.http.Close(ctx)
	return err
}

func (w *eventWriters) abort() {
	w.calls.Abort()
	w.stdio.Abort()
	w.fs.Abort()
	w.net.Abort()
	w.http.Abort()
}

// batch consumes the segments of works in one commit.
func (c *compactor) batch(ctx context.Context, st *State, works []*runWork) error {
	// Files are sorted by (run_id, seq): write the runs in ID order.
	slices.SortFunc(works, func(x, y *runWork) int { return strings.Compare(x.id, y.id) })
	a := c.newAttempt(st)
	err := a.build(ctx, st, works)
	if err != nil {
		a.abandon(ctx)
		return err
	}
	return a.finish(ctx, st)
}

func (a *attempt) build(ctx context.Context, st *State, works []*runWork) error {
	c := a.c
	var (
		builder schemas.Builder
		touched []*RunState
	)
	defer func() {
		if a.open != nil {
			a.open.abort()
			a.open = nil
		}
	}()
	for _, w := range works {
		rs := st.Runs[w.id]
		if rs == nil {
			rs = c.newRun(w.id, w.segments)
		} else {
			rs = rs.clone()
		}
		if w.skipTo > rs.NextSegment {
			a.quarantine(rs, lake.SegmentKey(w.id, rs.NextSegment), rs.NextSegment,
				fmt.Sprintf("segments %d to %d missing after the grace period; skipped", rs.NextSegment, w.skipTo-1), 0, 0)
			rs.NextSegment = w.skipTo
		}
		for i, obj := range w.segments {
			if err := ctx.Err(); err != nil {
				return err
			}
			if rs.Done {
				a.quarantine(rs, obj.Key, w.indexes[i], "segment after the run's last segment; not compacted", 0, 0)
				a.commit.Segments = append(a.commit.Segments, SegmentRef{Key: obj.Key, Run: w.id, Index: w.indexes[i], Bytes: obj.Size})
				rs.NextSegment = w.indexes[i] + 1
				continue
			}
			if err := a.consume(ctx, rs, obj, w.indexes[i], &builder); err != nil {
				return err
			}
			c.prog.Segments++
			c.prog.Bytes += obj.Size
			if c.opts.Progress != nil {
				c.opts.Progress(c.prog)
			}
		}
		touched = append(touched, rs)
	}
	if err := a.writersFor(ctx, ""); err != nil {
		return err
	}
	a.commit.Runs = touched
	return a.rewriteRuns(ctx, st, touched)
}

// writersFor makes the open event writers those of partition date, closing
// (and uploading) the previous ones; date "" just closes them.
func (a *attempt) writersFor(ctx context.Context, date string) error {
	if a.open != nil && a.open.calls.date == date {
		return nil
	}
	if a.open != nil {
		w := a.open
		a.open = nil
		if err := w.close(ctx); err != nil {
			w.abort()
			return err
		}
	}
	if date != "" {
		a.open = a.writers(date)
	}
	return nil
}

// newRun starts the state of a run seen for the first time. Its partition
// date is provisional until segment 0's metadata gives the start time.
func (c *compactor) newRun(id string, segs []lake.Object) *RunState {
	now := c.opts.Now()
	rs := &RunState{ID: id, LastSeen: now.UTC()}
	if t, ok := runTime(id); ok {
		rs.StartNS = t.UnixNano()
	} else if len(segs) > 0 {
		rs.StartNS = segs[0].Modified.UnixNano()
	} else {
		rs.StartNS = now.UnixNano()
	}
	rs.Date = time.Unix(0, rs.StartNS).UTC().Format(time.DateOnly)
	rs.FDs = schemas.NewFDTable(nil)
	return rs
}

func (a *attempt) quarantine(rs *RunState, key string, index int, reason string, kept, lost int64) {
	q := Quarantine{Key: key, Run: rs.ID, Index: index, Reason: reason, RecordsKept: kept, BytesLost: lost, Time: a.c.opts.Now().UTC()}
	a.commit.Quarantined = append(a.commit.Quarantined, q)
	rs.Quarantined++
	a.c.opts.Logf("quarantined %s: %s", key, reason)
}

// consume turns one segment into rows.
func (a *attempt) consume(ctx context.Context, rs *RunState, obj lake.Object, index int, b *schemas.Builder) error {
	c := a.c
	rc, err := c.store.Get(ctx, obj.Key)
	if err != nil {
		return fmt.Errorf("read segment %s: %w", obj.Key, err)
	}
	defer rc.Close()
	counter := &countingReader{r: rc}
	ref := SegmentRef{Key: obj.Key, Run: rs.ID, Index: index, Bytes: obj.Size}
	done := func() {
		rs.NextSegment = index + 1
		rs.Segments++
		rs.Bytes += obj.Size
		rs.LastSeen = c.opts.Now().UTC()
		a.commit.Segments = append(a.commit.Segments, ref)
		if rs.Done {
			rs.FDs = nil
		}
	}
	rd, err := segment.NewReader(counter)
	if err != nil {
		var de *segment.DamageError
		if errors.As(err, &de) {
			a.quarantine(rs, obj.Key, index, de.Error(), 0, obj.Size)
			done()
			return nil
		}
		return fmt.Errorf("read segment %s: %w", obj.Key, err)
	}
	if hdr := rd.Header(); rd.RunID().String() != rs.ID || int(hdr.Index) != index {
		a.quarantine(rs, obj.Key, index, fmt.Sprintf("header names run %s segment %d", rd.RunID(), hdr.Index), 0, obj.Size)
		done()
		return nil
	}
	if md := rd.Metadata(); md != nil && rs.Meta == nil {
		rs.Meta = runMeta(md)
		if !md.StartTime.IsZero() && rs.Segments == 0 {
			rs.StartNS = md.StartTime.UnixNano()
			rs.Date = md.StartTime.UTC().Format(time.DateOnly)
		}
		var mounts []string
		for _, m := range md.Mounts {
			mounts = append(mounts, m.GuestPath)
		}
		rs.FDs = schemas.NewFDTable(mounts)
		rs.FDs.AddListeners(uint32(3+len(mounts)), schemas.ListenAddrs(md.Policy))
	}
	if err := a.writersFor(ctx, rs.Date); err != nil {
		return err
	}
	w := a.open
	b.RunID, b.StartNS, b.FDs = rs.ID, rs.StartNS, rs.FDs
	if b.FDs == nil {
		b.FDs = schemas.NewFDTable(nil)
		rs.FDs = b.FDs
	}
	var rec capture.Record
	for {
		fr, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var de *segment.DamageError
			if errors.As(err, &de) {
				a.quarantine(rs, obj.Key, index, de.Error(), ref.Records, de.BytesLost)
				break
			}
			return fmt.Errorf("read segment %s: %w", obj.Key, err)
		}
		if fr.FirstSeq > rs.NextSeq {
			rs.Lost += int64(fr.FirstSeq - rs.NextSeq)
		}
		dec := capture.NewDecoder(fr.Payload, fr.FirstSeq)
		var decErr error
		for {
			if err := dec.Next(&rec); err != nil {
				if err != io.EOF {
					decErr = err
				}
				break
			}
			if rec.Seq < rs.NextSeq {
				continue // already compacted (overlapping frames)
			}
			b.Add(&rec)
			ref.Records++
			c.prog.Records++
		}
		if end := fr.FirstSeq + uint64(fr.Records); end > rs.NextSeq {
			rs.NextSeq = end
		}
		if err := flushRows(ctx, b, w); err != nil {
			return err
		}
		if decErr != nil {
			a.quarantine(rs, obj.Key, index, fmt.Sprintf("frame at offset %d: %v", fr.Offset, decErr), ref.Records, obj.Size-fr.Offset)
			break
		}
	}
	if t := rd.Trailer(); t != nil {
		rs.End = &RunEnd{Time: t.EndTime.UTC(), Status: string(t.Status), ExitCode: t.ExitCode, Trap: t.Trap}
	}
	if seal, ok := rd.Seal(); ok && seal.Last {
		rs.Done = true
	}
	if rs.End != nil {
		rs.Done = true
	}
	if rs.Done && rs.NextSeq > 0 {
		// Exchanges still open on the run's sockets end with it, truncated.
		end := rec.Time
		if rs.End != nil {
			end = rs.End.Time.UnixNano() - rs.StartNS
		}
		b.Finish(int64(rs.NextSeq)-1, end)
		if err := flushRows(ctx, b, w); err != nil {
			return err
		}
	}
	rs.Incomplete = false
	rs.Records += ref.Records
	done()
	return nil
}

// flushRows hands the builder's rows to the writers. Rows alias the frame
// payload, so this runs before the next frame is read.
func flushRows(ctx context.Context, b *schemas.Builder, w *eventWriters) error {
	b.Link()
	if err := w.calls.Write(ctx, b.Calls); err != nil {
		return err
	}
	if err := w.stdio.Write(ctx, b.Stdio); err != nil {
		return err
	}
	if err := w.fs.Write(ctx, b.FS); err != nil {
		return err
	}
	if err := w.net.Write(ctx, b.Net); err != nil {
		return err
	}
	if err := w.http.Write(ctx, b.HTTP); err != nil {
		return err
	}
	b.Reset()
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func runMeta(md *segment.Metadata) *RunMeta {
	m := &RunMeta{
		ModuleSHA256:   md.Module.SHA256,
		ModuleName:     md.Module.Name,
		ModuleSize:     md.Module.Size,
		Args:           md.Args,
		Host:           md.Host.Hostname,
		OS:             md.Host.OS,
		Arch:           md.Host.Arch,
		RuntimeVersion: md.RuntimeVersion,
	}
	for _, kv := range md.Env {
		k, _, _ := strings.Cut(kv, "=")
		m.EnvKeys = append(m.EnvKeys, k)
	}
	return m
}

// runRow is the runs-table row of a run state.
func runRow(rs *RunState, now time.Time) schemas.Run {
	r := schemas.Run{
		RunID:        rs.ID,
		StartedAt:    rs.StartNS / 1000,
		Status:       rs.Status(),
		Records:      rs.Records,
		Segments:     rs.Segments,
		SegmentBytes: rs.Bytes,
		Quarantined:  rs.Quarantined,
		LostRecords:  rs.Lost,
		UpdatedAt:    now.UnixMicro(),
	}
	if m := rs.Meta; m != nil {
		r.ModuleSHA256, r.ModuleName, r.ModuleSize = m.ModuleSHA256, m.ModuleName, m.ModuleSize
		r.Args, r.EnvKeys = m.Args, m.EnvKeys
		r.Host, r.OS, r.Arch, r.RuntimeVersion = m.Host, m.OS, m.Arch, m.RuntimeVersion
	}
	if e := rs.End; e != nil {
		r.SetEnded(e.Time.UnixMicro(), e.Time.UnixNano()-rs.StartNS)
		if e.Status == schemas.StatusExited {
			r.SetExitCode(int64(e.ExitCode))
		}
		if e.Trap != "" {
			r.SetTrap(e.Trap)
		}
	}
	return r
}

// rewriteRuns replaces the runs-table partitions holding the touched runs:
// it reads their live files, substitutes the touched rows, writes one new
// file per partition and removes the old ones in the same commit.
func (a *attempt) rewriteRuns(ctx context.Context, st *State, touched []*RunState) error {
	c := a.c
	byDate := map[string][]*RunState{}
	for _, rs := range touched {
		byDate[rs.Date] = append(byDate[rs.Date], rs)
	}
	// A run whose partition moved (segment 0 arrived after the run was
	// first recorded) leaves a stale row behind in its old partition.
	for _, rs := range touched {
		if old := st.Runs[rs.ID]; old != nil && old.Date != rs.Date {
			byDate[old.Date] = append(byDate[old.Date], &RunState{ID: rs.ID, Date: old.Date, StartNS: -1})
		}
	}
	now := c.opts.Now()
	for _, date := range sortedKeys(byDate) {
		rows := map[string]schemas.Run{}
		for _, f := range st.filesOf(schemas.TableRuns, date) {
			if err := readRows(ctx, c.store, c.opts.TempDir, f, func(r *schemas.Run) { rows[r.RunID] = *r }); err != nil {
				return err
			}
			a.commit.Removed = append(a.commit.Removed, f.Key)
		}
		for _, rs := range byDate[date] {
			if rs.StartNS == -1 {
				delete(rows, rs.ID)
				continue
			}
			rows[rs.ID] = runRow(rs, now)
		}
		if len(rows) == 0 {
			continue
		}
		w := &rowWriter[schemas.Run]{table: schemas.TableRuns, date: date, size: c.size, tmpDir: c.opts.TempDir,
			rowBytes: runBytes, runID: runRunID, upload: a.upload}
		out := make([]schemas.Run, 0, len(rows))
		for _, id := range sortedKeys(rows) {
			out = append(out, rows[id])
		}
		if err := w.Write(ctx, out); err != nil {
			w.Abort()
			return err
		}
		if _, err := w.Close(ctx); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// filesOf returns the live files of a partition in key order.
func (s *State) filesOf(table, date string) []File {
	var out []File
	for _, f := range s.Files {
		if f.Table == table && f.Date == date {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// readRows streams every row of a committed file to fn.
func readRows[T any](ctx context.Context, store lake.Store, tmpDir string, f File, fn func(*T)) error {
	pf, cleanup, err := readFile(ctx, store, tmpDir, f)
	if err != nil {
		return err
	}
	defer cleanup()
	r := parquet.NewGenericReader[T](pf)
	defer r.Close()
	buf := make([]T, 256)
	for {
		n, err := r.Read(buf)
		for i := range n {
			fn(&buf[i])
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read rows of %s: %w", f.Key, err)
		}
	}
}
