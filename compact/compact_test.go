package compact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

// clock is a fake clock for passes.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 14, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func openFileLake(t *testing.T) lake.Store {
	t.Helper()
	s, err := lake.Open(context.Background(), t.TempDir(), lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testOptions(t *testing.T, clk *clock) Options {
	return Options{
		Now:     clk.Now,
		TempDir: t.TempDir(),
		Grace:   10 * time.Minute,
		Logf:    func(f string, a ...any) { t.Logf(f, a...) },
	}
}

func mustRun(t *testing.T, store lake.Store, opts Options) Stats {
	t.Helper()
	st, err := Run(context.Background(), store, opts)
	if err != nil {
		t.Fatalf("compact pass: %v", err)
	}
	return st
}

// lakeContent is what the committed tables of a lake hold.
type lakeContent struct {
	calls  map[string][]int64 // run → seqs, in file order
	stdio  map[string]int64
	fs     map[string]int64
	runs   map[string]schemas.Run
	stdout map[string]*bytes.Buffer
	funcs  map[string]int
	files  int
}

// readLake reads every committed file and checks the invariants that hold
// whatever happened: each file is sorted by (run_id, seq), no (run_id, seq)
// appears twice in a table, and one runs row per run.
func readLake(t *testing.T, store lake.Store) *lakeContent {
	t.Helper()
	ctx := context.Background()
	snap, err := ReadSnapshot(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	lc := &lakeContent{calls: map[string][]int64{}, stdio: map[string]int64{}, fs: map[string]int64{},
		runs: map[string]schemas.Run{}, stdout: map[string]*bytes.Buffer{}, funcs: map[string]int{}}
	tmp := t.TempDir()
	type key struct {
		run string
		seq int64
	}
	for _, table := range []string{schemas.TableCalls, schemas.TableStdio, schemas.TableFS} {
		seen := map[key]bool{}
		for _, f := range snap.Files(table) {
			lc.files++
			var prev key
			first := true
			var rows int64
			check := func(run string, seq int64) {
				rows++
				k := key{run, seq}
				if seen[k] {
					t.Errorf("%s: duplicate row run %s seq %d (file %s)", table, run, seq, f.Key)
				}
				seen[k] = true
				if !first && (run < prev.run || run == prev.run && seq <= prev.seq) {
					t.Errorf("%s: file %s not sorted at run %s seq %d", table, f.Key, run, seq)
				}
				prev, first = k, false
			}
			var err error
			switch table {
			case schemas.TableCalls:
				err = readRows(ctx, store, tmp, f, func(r *schemas.Call) {
					check(r.RunID, r.Seq)
					lc.calls[r.RunID] = append(lc.calls[r.RunID], r.Seq)
					lc.funcs[r.Func]++
				})
			case schemas.TableStdio:
				err = readRows(ctx, store, tmp, f, func(r *schemas.Stdio) {
					check(r.RunID, r.Seq)
					lc.stdio[r.RunID]++
					if r.FD == 1 {
						b := lc.stdout[r.RunID]
						if b == nil {
							b = new(bytes.Buffer)
							lc.stdout[r.RunID] = b
						}
						b.Write(r.Data)
					}
				})
			case schemas.TableFS:
				err = readRows(ctx, store, tmp, f, func(r *schemas.FS) {
					check(r.RunID, r.Seq)
					lc.fs[r.RunID]++
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			if rows != f.Rows {
				t.Errorf("%s: commit says %d rows, file has %d", f.Key, f.Rows, rows)
			}
		}
	}
	for _, f := range snap.Files(schemas.TableRuns) {
		lc.files++
		if err := readRows(ctx, store, tmp, f, func(r *schemas.Run) {
			if _, dup := lc.runs[r.RunID]; dup {
				t.Errorf("runs: two rows for run %s", r.RunID)
			}
			lc.runs[r.RunID] = *r
		}); err != nil {
			t.Fatal(err)
		}
	}
	return lc
}

// checkRuns asserts the lake holds exactly the records of runs.
func (lc *lakeContent) checkRuns(t *testing.T, runs ...*synthResult) {
	t.Helper()
	for _, r := range runs {
		seqs := lc.calls[r.id]
		if int64(len(seqs)) != r.records {
			t.Errorf("run %s: %d calls rows, want %d", r.id, len(seqs), r.records)
		}
		if lc.stdio[r.id] != r.stdio {
			t.Errorf("run %s: %d stdio rows, want %d", r.id, lc.stdio[r.id], r.stdio)
		}
		if lc.fs[r.id] != r.fs {
			t.Errorf("run %s: %d fs rows, want %d", r.id, lc.fs[r.id], r.fs)
		}
		if got := lc.stdout[r.id]; got == nil || !bytes.Equal(got.Bytes(), r.stdout.Bytes()) {
			t.Errorf("run %s: stdout differs from what was written", r.id)
		}
		row, ok := lc.runs[r.id]
		if !ok {
			t.Errorf("run %s: no runs row", r.id)
			continue
		}
		if row.Records != r.records || row.Segments != int64(len(r.keys)) {
			t.Errorf("run %s: runs row records=%d segments=%d, want %d and %d", r.id, row.Records, row.Segments, r.records, len(r.keys))
		}
	}
}

// checkExact is checkRuns plus: no rows of any other run.
func (lc *lakeContent) checkExact(t *testing.T, runs ...*synthResult) {
	t.Helper()
	lc.checkRuns(t, runs...)
	for id := range lc.calls {
		if !slices.ContainsFunc(runs, func(r *synthResult) bool { return r.id == id }) {
			t.Errorf("rows of unexpected run %s", id)
		}
	}
	for id := range lc.runs {
		if !slices.ContainsFunc(runs, func(r *synthResult) bool { return r.id == id }) {
			t.Errorf("runs row of unexpected run %s", id)
		}
	}
}

// checkNoLeftovers asserts that every Parquet file in the store is live.
func checkNoLeftovers(t *testing.T, store lake.Store) {
	t.Helper()
	ctx := context.Background()
	snap, err := ReadSnapshot(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	removed := map[string]bool{}
	for _, tomb := range snap.state.Tombstones {
		removed[tomb.Key] = true
	}
	for _, table := range snap.Tables() {
		for _, k := range snap.Keys(table) {
			live[k] = true
		}
	}
	objs, err := store.List(ctx, TablesPrefix, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if isTableKey(o.Key) && !live[o.Key] && !removed[o.Key] {
			t.Errorf("leftover file %s is not committed", o.Key)
		}
	}
	for k := range live {
		if _, err := store.Stat(ctx, k); err != nil {
			t.Errorf("committed file %s: %v", k, err)
		}
	}
	pend, err := store.List(ctx, PendingPrefix, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pend {
		t.Errorf("leftover marker %s", o.Key)
	}
}

func TestCompactOnePass(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	base := clk.Now().Add(-time.Hour)
	runs := []*synthResult{
		writeRun(t, ctx, store, synthRun{start: base, segments: 1, frames: 2, recordsPerFrame: 50, ended: true, seed: 1}),
		writeRun(t, ctx, store, synthRun{start: base.Add(time.Minute), segments: 3, frames: 3, recordsPerFrame: 100, ended: true, exitCode: 3, seed: 2}),
		writeRun(t, ctx, store, synthRun{start: base.Add(2 * time.Minute), segments: 2, frames: 1, recordsPerFrame: 10, seed: 3}),
	}
	st := mustRun(t, store, testOptions(t, clk))
	var want int64
	for _, r := range runs {
		want += r.records
	}
	if st.Segments != 6 || st.Records != want || st.Commits != 1 || len(st.Quarantined) != 0 {
		t.Errorf("stats %+v, want 6 segments, %d records, 1 commit", st, want)
	}
	lc := readLake(t, store)
	lc.checkExact(t, runs...)
	checkNoLeftovers(t, store)

	tests := []struct {
		run    *synthResult
		status string
		exit   *int64
	}{
		{runs[0], schemas.StatusExited, ptr[int64](0)},
		{runs[1], schemas.StatusExited, ptr[int64](3)},
		{runs[2], schemas.StatusRunning, nil},
	}
	for _, tc := range tests {
		row := lc.runs[tc.run.id]
		if row.Status != tc.status || !eqPtr(row.ExitCode, tc.exit) || row.ModuleName != "app.wasm" ||
			!slices.Equal(row.EnvKeys, []string{"HOME", "MODE"}) || row.Host != "ingest-1" {
			t.Errorf("runs row %+v", row)
		}
		if (row.EndedAt != nil) != (tc.status != schemas.StatusRunning) {
			t.Errorf("run %s: ended_at %v for status %s", tc.run.id, row.EndedAt, row.Status)
		}
	}

	// A second pass finds nothing to do.
	st = mustRun(t, store, testOptions(t, clk))
	if st.Segments != 0 || st.Commits != 0 {
		t.Errorf("second pass: %+v", st)
	}
}

func ptr[T any](v T) *T { return &v }

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// TestIncremental follows a run across passes: compacted as its segments
// arrive, its runs row updated when it ends.
func TestIncremental(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	spec := synthRun{start: clk.Now().Add(-time.Minute), segments: 4, frames: 2, recordsPerFrame: 40, ended: true, seed: 9}
	// Write the whole run to a scratch lake, then ship its segments one by one.
	scratch := openFileLake(t)
	full := writeRun(t, ctx, scratch, spec)
	for i, key := range full.keys {
		copyObject(t, scratch, store, key)
		st := mustRun(t, store, testOptions(t, clk))
		if st.Segments != 1 {
			t.Fatalf("pass %d consumed %d segments", i, st.Segments)
		}
		lc := readLake(t, store)
		row := lc.runs[full.id]
		want := schemas.StatusRunning
		if i == len(full.keys)-1 {
			want = schemas.StatusExited
		}
		if row.Status != want || row.Segments != int64(i+1) {
			t.Errorf("after segment %d: status %s segments %d", i, row.Status, row.Segments)
		}
		clk.Advance(time.Minute)
	}
	readLake(t, store).checkExact(t, full)
	checkNoLeftovers(t, store)
}

func copyObject(t *testing.T, from, to lake.Store, key string) {
	t.Helper()
	ctx := context.Background()
	rc, err := from.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	rc.Close()
	if _, err := to.Put(ctx, key, bytes.NewReader(buf.Bytes()), lake.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestIncompleteAndLate: a run without a trailer becomes incomplete after
// the grace period, and resumes if its segments turn up after all.
func TestIncompleteAndLate(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	scratch := openFileLake(t)
	full := writeRun(t, ctx, scratch, synthRun{start: clk.Now(), segments: 2, frames: 1, recordsPerFrame: 30, ended: true, seed: 4})
	copyObject(t, scratch, store, full.keys[0])
	opts := testOptions(t, clk)
	mustRun(t, store, opts)
	if got := readLake(t, store).runs[full.id].Status; got != schemas.StatusRunning {
		t.Fatalf("status %s, want running", got)
	}
	clk.Advance(opts.Grace + time.Second)
	st := mustRun(t, store, opts)
	if st.Incomplete != 1 {
		t.Errorf("stats %+v: want one run marked incomplete", st)
	}
	if got := readLake(t, store).runs[full.id].Status; got != schemas.StatusIncomplete {
		t.Fatalf("status %s, want incomplete", got)
	}
	copyObject(t, scratch, store, full.keys[1])
	mustRun(t, store, opts)
	lc := readLake(t, store)
	if got := lc.runs[full.id].Status; got != schemas.StatusExited {
		t.Errorf("status %s after the late segment, want exited", got)
	}
	lc.checkRuns(t, full)
}

// TestMissingSegmentSkipped: a gap that stays open past the grace period is
// quarantined and the run goes on from the next segment.
func TestMissingSegmentSkipped(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	full := writeRun(t, ctx, store, synthRun{start: clk.Now(), segments: 3, frames: 1, recordsPerFrame: 20, ended: true, seed: 5})
	if err := store.Delete(ctx, full.keys[1]); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t, clk)
	if st := mustRun(t, store, opts); st.Segments != 1 {
		t.Fatalf("first pass consumed %d segments, want 1 (segment 2 waits for 1)", st.Segments)
	}
	clk.Advance(opts.Grace + time.Second)
	st := mustRun(t, store, opts)
	if st.Segments != 1 || len(st.Quarantined) != 1 || !strings.Contains(st.Quarantined[0].Reason, "missing") {
		t.Fatalf("stats %+v", st)
	}
	lc := readLake(t, store)
	row := lc.runs[full.id]
	if row.Status != schemas.StatusExited || row.LostRecords != 20 || row.Quarantined != 1 || row.Records != 40 {
		t.Errorf("runs row %+v", row)
	}
	if n := len(lc.calls[full.id]); n != 40 {
		t.Errorf("%d calls rows, want 40", n)
	}
}

// TestQuarantine: a corrupt segment is quarantined with its reason, its
// readable prefix kept, and the rest of the pass goes on.
func TestQuarantine(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	good := writeRun(t, ctx, store, synthRun{start: clk.Now().Add(-time.Minute), segments: 1, frames: 2, recordsPerFrame: 25, ended: true, seed: 6})
	bad := writeRun(t, ctx, store, synthRun{start: clk.Now(), segments: 1, frames: 3, recordsPerFrame: 25, ended: true, seed: 7})
	// Flip a byte in the middle of the segment: the second frame's CRC fails.
	rc, _ := store.Get(ctx, bad.keys[0])
	var buf bytes.Buffer
	buf.ReadFrom(rc)
	rc.Close()
	data := buf.Bytes()
	data[len(data)/2] ^= 0xff
	if _, err := store.Put(ctx, bad.keys[0], bytes.NewReader(data), lake.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var logs []string
	opts := testOptions(t, clk)
	opts.Logf = func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
	st := mustRun(t, store, opts)
	if len(st.Quarantined) != 1 || st.Quarantined[0].Key != bad.keys[0] || !strings.Contains(st.Quarantined[0].Reason, "corrupt") {
		t.Fatalf("quarantined %+v", st.Quarantined)
	}
	q := st.Quarantined[0]
	if q.RecordsKept%25 != 0 || q.RecordsKept >= 75 {
		t.Errorf("kept %d records, want whole frames before the damage", q.RecordsKept)
	}
	if !slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "quarantined "+bad.keys[0]) }) {
		t.Errorf("quarantine not logged: %q", logs)
	}
	lc := readLake(t, store)
	lc.checkRuns(t, good) // bad has its prefix only
	if n := int64(len(lc.calls[bad.id])); n != q.RecordsKept {
		t.Errorf("bad run: %d rows, want %d", n, q.RecordsKept)
	}
	if row := lc.runs[bad.id]; row.Quarantined != 1 || row.Status != schemas.StatusRunning {
		t.Errorf("bad run row: quarantined=%d status=%s", row.Quarantined, row.Status)
	}
	// The commit log records it for good.
	snap, err := ReadSnapshot(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Quarantined() != 1 {
		t.Errorf("snapshot counts %d quarantined segments", snap.Quarantined())
	}
	// A later pass does not quarantine it again.
	if st := mustRun(t, store, opts); len(st.Quarantined) != 0 {
		t.Errorf("second pass quarantined %+v", st.Quarantined)
	}
}

func TestNewerFormatRefused(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	if err := putJSON(ctx, store, FormatKey, formatDoc{FormatVersion: FormatVersion + 1}, true); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	for _, dry := range []bool{false, true} {
		opts := testOptions(t, clk)
		opts.DryRun = dry
		if _, err := Run(ctx, store, opts); !errors.Is(err, ErrNewerFormat) {
			t.Errorf("dry=%v: err = %v, want ErrNewerFormat", dry, err)
		}
	}
	if _, err := ReadSnapshot(ctx, store); !errors.Is(err, ErrNewerFormat) {
		t.Errorf("snapshot: err = %v, want ErrNewerFormat", err)
	}
}

func TestDryRun(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	writeRun(t, ctx, store, synthRun{start: clk.Now(), segments: 2, frames: 1, recordsPerFrame: 5, seed: 8})
	opts := testOptions(t, clk)
	opts.DryRun = true
	st := mustRun(t, store, opts)
	if st.Segments != 2 || st.Commits != 0 || !st.DryRun {
		t.Errorf("dry run stats %+v", st)
	}
	objs, err := store.List(ctx, "_lake/", "", 0)
	if err != nil || len(objs) != 0 {
		t.Errorf("dry run wrote %v (%v)", objs, err)
	}
	if objs, _ := store.List(ctx, TablesPrefix, "", 0); len(objs) != 0 {
		t.Errorf("dry run wrote %v", objs)
	}
}

// TestMergeAndPurge: many small passes leave small files; a pass merges
// them, and the replaced files are deleted after the grace period.
func TestMergeAndPurge(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	opts := testOptions(t, clk)
	opts.MergeMinFiles = 3
	var runs []*synthResult
	for i := range 3 {
		runs = append(runs, writeRun(t, ctx, store, synthRun{start: clk.Now().Add(time.Duration(i) * time.Second),
			segments: 1, frames: 1, recordsPerFrame: 30, ended: true, seed: uint64(20 + i)}))
		st := mustRun(t, store, opts)
		if i == 2 && st.FilesMerged != 9 {
			t.Errorf("third pass merged %d files, want 9 (3 per event table)", st.FilesMerged)
		}
	}
	snap, err := ReadSnapshot(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	// Synthetic runs make no socket calls: net and http stay empty.
	for _, table := range []string{schemas.TableCalls, schemas.TableStdio, schemas.TableFS} {
		if n := len(snap.Files(table)); n != 1 {
			t.Errorf("%s: %d files after the merge, want 1", table, n)
		}
	}
	lc := readLake(t, store)
	lc.checkRuns(t, runs...)
	// The replaced files stay for the grace period, then go.
	objs, _ := store.List(ctx, TablesPrefix, "", 0)
	if len(objs) <= lc.files {
		t.Errorf("%d objects, %d live: removed files deleted too early", len(objs), lc.files)
	}
	clk.Advance(opts.Grace + time.Second)
	st := mustRun(t, store, opts)
	if st.Purged == 0 {
		t.Errorf("no file purged: %+v", st)
	}
	checkNoLeftovers(t, store)
	readLake(t, store).checkExact(t, runs...)
}

// TestCheckpoints: with a checkpoint every 2 commits, a snapshot built from
// the checkpoint and the log tail equals the one built from the whole log.
func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	opts := testOptions(t, clk)
	opts.CheckpointEvery = 2
	var runs []*synthResult
	for i := range 7 {
		runs = append(runs, writeRun(t, ctx, store, synthRun{start: clk.Now(), segments: 1, frames: 1, recordsPerFrame: 10, ended: true, seed: uint64(40 + i)}))
		mustRun(t, store, opts)
		clk.Advance(opts.Grace)
	}
	var hint lastCheckpoint
	if err := getJSON(ctx, store, LastCheckpointKey, &hint); err != nil || hint.Seq == 0 {
		t.Fatalf("last checkpoint %+v, %v", hint, err)
	}
	commits, _ := store.List(ctx, CommitPrefix, "", 0)
	if first, _ := parseSeqKey(CommitPrefix, commits[0].Key); first == 1 {
		t.Errorf("commit log not pruned behind the checkpoints: %d commits", len(commits))
	}
	readLake(t, store).checkExact(t, runs...)
}

func withCount(s lake.Store) (lake.Store, *atomic.Int64) {
	var n atomic.Int64
	return lake.WithFaults(s, func(lake.Op, string) error { n.Add(1); return nil }), &n
}

var errInjected = errors.New("injected")

// lostResponse performs the operation and then reports failure, as when a
// request lands but its response is lost.
type lostResponse struct {
	lake.Store
	fail func() bool
}

func (l *lostResponse) Put(ctx context.Context, key string, body io.ReadSeeker, opts lake.PutOptions) (lake.Object, error) {
	o, err := l.Store.Put(ctx, key, body, opts)
	if err == nil && l.fail() {
		return lake.Object{}, fmt.Errorf("put %s: response lost: %w", key, errInjected)
	}
	return o, err
}

func (l *lostResponse) Delete(ctx context.Context, key string) error {
	err := l.Store.Delete(ctx, key)
	if err == nil && l.fail() {
		return fmt.Errorf("delete %s: response lost: %w", key, errInjected)
	}
	return err
}
