package compact

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/lake"
)

// Defaults of Options.
const (
	DefaultGrace         = 30 * time.Minute
	DefaultLateWindow    = 24 * time.Hour
	DefaultBatchBytes    = 1 << 30
	DefaultMergeMinFiles = 4
	DefaultCheckpoint    = 16
	maxConflicts         = 64
)

// Options configure a compaction pass. The zero value uses the defaults.
type Options struct {
	// Grace is how long a run may go without a new segment (or a missing
	// segment stay missing) before it is marked incomplete, how long files
	// removed from the tables and leftovers of failed attempts are kept
	// before deletion, and twice the longest an attempt may take between
	// reading the log and committing. Default DefaultGrace.
	Grace time.Duration
	// LateWindow is how far back (by the time in the run ID, a UUIDv7) a
	// pass lists segments of runs it has not seen. A run whose first
	// segment reaches the lake later than this after the run started is
	// not compacted. Runs already being tracked are followed for as long
	// as they are open, whatever their age. Default DefaultLateWindow.
	LateWindow time.Duration
	// BatchBytes bounds the segment bytes one commit consumes.
	BatchBytes int64
	// DryRun lists and plans, prints what a pass would do, writes nothing.
	DryRun bool
	// TempDir holds Parquet files while they are written; default os.TempDir.
	TempDir string
	// Output sizing; zero means the Default* constants.
	RowGroupRows   int64
	RowGroupBytes  int64
	FileBytes      int64
	SmallFileBytes int64
	MergeMinFiles  int
	// CheckpointEvery: a checkpoint is written after every this many commits.
	CheckpointEvery uint64
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logf receives one line per notable event (quarantine, conflict,
	// cleanup); nil discards them.
	Logf func(format string, args ...any)
	// Progress is called after every segment with the pass's progress.
	Progress func(Progress)
}

// Progress is the state of a pass for a progress display.
type Progress struct {
	Segments, SegmentsTotal int
	Bytes, BytesTotal       int64
	Records                 int64
}

// Stats summarises a pass.
type Stats struct {
	Segments     int           // segments consumed
	Records      int64         // records turned into calls rows
	BytesIn      int64         // segment bytes read
	FilesWritten int           // Parquet files committed
	BytesOut     int64         // bytes of those files
	FilesMerged  int           // small files replaced by merged ones
	Commits      int           // commits made
	Conflicts    int           // attempts abandoned because another compactor committed first
	Runs         int           // runs whose state changed
	Incomplete   int           // runs marked incomplete
	Purged       int           // removed files deleted after the grace period
	Cleaned      int           // leftovers of failed attempts deleted
	Quarantined  []Quarantine  // segments quarantined by this pass
	Elapsed      time.Duration //
	DryRun       bool          // nothing was written
}

func (o *Options) fill() {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.LateWindow <= 0 {
		o.LateWindow = DefaultLateWindow
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = DefaultBatchBytes
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.RowGroupBytes <= 0 {
		o.RowGroupBytes = DefaultRowGroupBytes
	}
	if o.FileBytes <= 0 {
		o.FileBytes = DefaultFileBytes
	}
	if o.SmallFileBytes <= 0 {
		o.SmallFileBytes = DefaultSmallFileBytes
	}
	if o.MergeMinFiles <= 1 {
		o.MergeMinFiles = DefaultMergeMinFiles
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = DefaultCheckpoint
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
}

// compactor is one pass over one store.
type compactor struct {
	store lake.Store
	opts  Options
	size  sizing
	stats Stats
	prog  Progress
}

// Run makes one compaction pass over store: it consumes every segment it
// has not consumed yet (in commits of at most BatchBytes), marks stale runs
// incomplete, merges small files, deletes expired files and leftovers, and
// returns what it did. It is safe to run any number of passes concurrently
// against one lake, and to kill one at any point: the next pass finishes the
// job without losing or duplicating a row.
func Run(ctx context.Context, store lake.Store, opts Options) (Stats, error) {
	opts.fill()
	c := &compactor{store: store, opts: opts, size: sizing{
		rowGroupRows: opts.RowGroupRows, rowGroupBytes: opts.RowGroupBytes, fileBytes: opts.FileBytes,
	}}
	start := opts.Now()
	err := c.run(ctx)
	c.stats.Elapsed = opts.Now().Sub(start)
	c.stats.DryRun = opts.DryRun
	return c.stats, err
}

func (c *compactor) run(ctx context.Context) error {
	if c.opts.DryRun {
		if _, err := checkFormat(ctx, c.store); err != nil {
			return err
		}
	} else if err := ensureFormat(ctx, c.store, c.opts.Now()); err != nil {
		return err
	}
	st, err := loadState(ctx, c.store)
	if err != nil {
		return err
	}
	conflicts := 0
	for {
		work, err := c.plan(ctx, st)
		if err != nil {
			return err
		}
		if c.opts.DryRun {
			c.describePlan(st, work)
			return nil
		}
		if conflicts > 0 && len(work.runs) > 1 {
			// Another compactor is working through the same runs in the
			// same order: start elsewhere so the two stop colliding.
			k := rand.IntN(len(work.runs))
			work.runs = append(work.runs[k:], work.runs[:k]...)
		}
		err = c.execute(ctx, st, work)
		if errors.Is(err, errConflict) {
			conflicts++
			c.stats.Conflicts++
			if conflicts > maxConflicts {
				return fmt.Errorf("gave up after %d conflicting commits by other compactors", conflicts)
			}
			c.opts.Logf("%v; replanning from commit %d", err, st.Seq)
			continue
		}
		if err != nil {
			return err
		}
		return c.housekeeping(ctx, st)
	}
}

// plan lists the segments to consume.
type plan struct {
	runs      []*runWork // in run ID order
	watermark string     // listing start for runs not yet tracked
	segments  int
	bytes     int64
}

// runWork is what a pass does with one run.
type runWork struct {
	id       string
	segments []lake.Object // to consume, in index order
	indexes  []int
	isNew    bool // not in the state yet
	skipTo   int  // >= 0: segments before this index are missing past the grace period
}

// segmentKey parses segments/<run-id>/<n>.seg.
func parseSegmentKey(key string) (run string, index int, ok bool) {
	rest, ok := strings.CutPrefix(key, "segments/")
	if !ok {
		return "", 0, false
	}
	run, name, ok := strings.Cut(rest, "/")
	if !ok || run == "" {
		return "", 0, false
	}
	num, ok := strings.CutSuffix(name, ".seg")
	if !ok || len(num) < 8 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil {
		return "", 0, false
	}
	return run, int(n), true
}

// watermarkFor is the listing start for run IDs created at or after t: the
// text form of a UUIDv7 starts with its 48-bit millisecond timestamp in hex.
func watermarkFor(t time.Time) string {
	ms := uint64(max(t.UnixMilli(), 0))
	return fmt.Sprintf("%08x-%04x", ms>>16, ms&0xffff)
}

// runTime is the creation time carried by a UUIDv7 run ID.
func runTime(id string) (time.Time, bool) {
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 7 {
		return time.Time{}, false
	}
	ms := int64(binary.BigEndian.Uint64(u[:8]) >> 16)
	return time.UnixMilli(ms).UTC(), true
}

func (c *compactor) plan(ctx context.Context, st *State) (*plan, error) {
	now := c.opts.Now()
	p := &plan{watermark: max(watermarkFor(now.Add(-c.opts.LateWindow)), st.Watermark)}
	found := map[string][]lake.Object{}

	// Runs started inside the late window: one listing from the watermark.
	start := "segments/" + p.watermark
	for {
		objs, err := c.store.List(ctx, "segments/", start, 1000)
		if err != nil {
			return nil, fmt.Errorf("list segments after %s: %w", start, err)
		}
		for _, o := range objs {
			if run, _, ok := parseSegmentKey(o.Key); ok {
				found[run] = append(found[run], o)
			}
		}
		if len(objs) < 1000 {
			break
		}
		start = objs[len(objs)-1].Key
	}
	// Older runs still open: one listing each, from their next segment.
	for id, rs := range st.Runs {
		if rs.Done || id >= p.watermark {
			continue
		}
		after := ""
		if rs.NextSegment > 0 {
			after = lake.SegmentKey(id, rs.NextSegment-1)
		}
		objs, err := c.store.List(ctx, lake.SegmentPrefix(id), after, 0)
		if err != nil {
			return nil, fmt.Errorf("list segments of run %s: %w", id, err)
		}
		for _, o := range objs {
			if _, _, ok := parseSegmentKey(o.Key); ok {
				found[id] = append(found[id], o)
			}
		}
	}

	for id, objs := range found {
		rs := st.Runs[id]
		next := 0
		if rs != nil {
			next = rs.NextSegment
		}
		byIndex := map[int]lake.Object{}
		var indexes []int
		for _, o := range objs {
			_, n, _ := parseSegmentKey(o.Key)
			if n >= next {
				byIndex[n] = o
				indexes = append(indexes, n)
			}
		}
		if len(indexes) == 0 {
			continue
		}
		slices.Sort(indexes)
		w := &runWork{id: id, isNew: rs == nil, skipTo: -1}
		if rs != nil && rs.Done {
			// Segments after the last one: recorded as quarantined, not compacted.
			for _, n := range indexes {
				w.segments = append(w.segments, byIndex[n])
				w.indexes = append(w.indexes, n)
			}
		} else {
			if indexes[0] != next {
				lastSeen := now
				if rs != nil {
					lastSeen = rs.LastSeen
				}
				if rs == nil || now.Sub(lastSeen) < c.opts.Grace {
					// Wait for the missing segment; remember the run so its
					// grace period runs from now.
					if rs == nil {
						p.runs = append(p.runs, w)
					}
					continue
				}
				w.skipTo = indexes[0]
				next = indexes[0]
			}
			for _, n := range indexes {
				if n != next {
					break
				}
				w.segments = append(w.segments, byIndex[n])
				w.indexes = append(w.indexes, n)
				next++
			}
		}
		for _, o := range w.segments {
			p.segments++
			p.bytes += o.Size
		}
		p.runs = append(p.runs, w)
	}
	slices.SortFunc(p.runs, func(a, b *runWork) int { return cmp.Compare(a.id, b.id) })
	c.prog.SegmentsTotal, c.prog.BytesTotal = p.segments, p.bytes
	return p, nil
}

func (c *compactor) describePlan(st *State, p *plan) {
	c.opts.Logf("dry run: lake at commit %d, %d live files, %d runs tracked", st.Seq, len(st.Files), len(st.Runs))
	for _, w := range p.runs {
		for i, o := range w.segments {
			c.opts.Logf("dry run: would consume %s (segment %d, %d bytes)", o.Key, w.indexes[i], o.Size)
			c.stats.Segments++
			c.stats.BytesIn += o.Size
		}
	}
}

// errConflict: another compactor committed work overlapping this attempt's.
var errConflict = errors.New("conflicting commit")

// execute consumes the planned segments in batches of at most BatchBytes,
// one commit each.
func (c *compactor) execute(ctx context.Context, st *State, p *plan) error {
	var batch []*runWork
	var bytes int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.batch(ctx, st, batch)
		batch, bytes = nil, 0
		return err
	}
	for _, w := range p.runs {
		// Split a run's segments across batches when they exceed the limit.
		rest := *w
		for {
			part := rest
			n := 0
			var b int64
			for n < len(rest.segments) && (n == 0 || bytes+b+rest.segments[n].Size <= c.opts.BatchBytes) {
				b += rest.segments[n].Size
				n++
			}
			part.segments, part.indexes = rest.segments[:n], rest.indexes[:n]
			batch = append(batch, &part)
			bytes += b
			rest.segments, rest.indexes = rest.segments[n:], rest.indexes[n:]
			rest.isNew, rest.skipTo = false, -1
			if bytes >= c.opts.BatchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
			if len(rest.segments) == 0 {
				break
			}
		}
	}
	return flush()
}

// deadline is how long an attempt may run between loading the state it
// plans from and claiming its commit: half the grace period, after which
// garbage collection may take its files for leftovers.
func (c *compactor) deadline() time.Duration { return c.opts.Grace / 2 }
