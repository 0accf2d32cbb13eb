package compact

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/timelake/timelake/lake"
)

// faultScenario prepares a lake that exercises every step of a pass: a run
// already compacted, a run in progress whose end arrives, a new run, small
// files to merge, several commits per pass and checkpoints.
func faultScenario(t *testing.T, store lake.Store, clk *clock) (Options, []*synthResult) {
	t.Helper()
	ctx := context.Background()
	opts := testOptions(t, clk)
	opts.Logf = func(string, ...any) {}
	opts.MergeMinFiles = 2
	opts.CheckpointEvery = 2
	opts.BatchBytes = 1 // one run segment per commit
	base := clk.Now().Add(-time.Hour)
	scratch := openFileLake(t)
	a := writeRun(t, ctx, store, synthRun{start: base, segments: 1, frames: 2, recordsPerFrame: 20, ended: true, seed: 100})
	b := writeRun(t, ctx, scratch, synthRun{start: base.Add(time.Minute), segments: 2, frames: 2, recordsPerFrame: 15, ended: true, seed: 101})
	copyObject(t, scratch, store, b.keys[0])
	mustRun(t, store, opts)
	clk.Advance(time.Minute)
	copyObject(t, scratch, store, b.keys[1])
	c := writeRun(t, ctx, store, synthRun{start: base.Add(2 * time.Minute), segments: 2, frames: 1, recordsPerFrame: 12, seed: 102})
	return opts, []*synthResult{a, b, c}
}

// settle runs clean passes until leftovers and removed files are gone.
func settle(t *testing.T, store lake.Store, clk *clock, opts Options) {
	t.Helper()
	mustRun(t, store, opts)
	for range 2 {
		clk.Advance(opts.Grace + time.Second)
		mustRun(t, store, opts)
	}
}

// TestExactlyOnceUnderFaults fails the n-th store operation of a pass, for
// every n, both before the operation (a request that never arrives) and
// after it (a response that is lost); then clean passes run. The tables must
// hold every record exactly once and nothing uncommitted may remain.
func TestExactlyOnceUnderFaults(t *testing.T) {
	testFaults(t, func(t *testing.T) lake.Store { return openFileLake(t) }, true, 1)
}

// testFaults runs the fault matrix on lakes made by newStore, failing every
// step-th operation (every one with step 1).
func testFaults(t *testing.T, newStore func(*testing.T) lake.Store, parallel bool, step int) {
	// Count the operations of the pass under test.
	var total int
	{
		store := newStore(t)
		clk := newClock()
		opts, _ := faultScenario(t, store, clk)
		counted, n := withCount(store)
		mustRun(t, counted, opts)
		total = int(n.Load())
	}
	if total < 20 {
		t.Fatalf("a pass made only %d store operations", total)
	}
	t.Logf("a pass makes %d store operations", total)
	var failedPasses atomic.Int64
	t.Cleanup(func() { // after the parallel subtests
		if failedPasses.Load() == 0 {
			t.Error("no injected fault failed a pass")
		}
	})
	for _, mode := range []string{"before", "after"} {
		for n := 1; n <= total; n += step {
			t.Run(fmt.Sprintf("%s-%d", mode, n), func(t *testing.T) {
				if parallel {
					t.Parallel()
				}
				store := newStore(t)
				clk := newClock()
				opts, runs := faultScenario(t, store, clk)
				var ops atomic.Int64
				var faulty lake.Store
				if mode == "before" {
					faulty = lake.WithFaults(store, func(op lake.Op, key string) error {
						if ops.Add(1) == int64(n) {
							return errInjected
						}
						return nil
					})
				} else {
					// Count every operation, fail the n-th if it is a write.
					counted := lake.WithFaults(store, func(lake.Op, string) error { ops.Add(1); return nil })
					faulty = &lostResponse{Store: counted, fail: func() bool { return ops.Load() == int64(n) }}
				}
				_, err := Run(context.Background(), faulty, opts)
				if err != nil {
					failedPasses.Add(1)
					if !errors.Is(err, errInjected) {
						t.Errorf("pass failed with %v, not the injected fault", err)
					}
				}
				settle(t, store, clk, opts)
				lc := readLake(t, store)
				lc.checkExact(t, runs...)
				checkNoLeftovers(t, store)
			})
		}
	}
}

// TestConcurrentCompactors runs two compactors at once, repeatedly, while
// segments keep arriving.
func TestConcurrentCompactors(t *testing.T) {
	store := openFileLake(t)
	testConcurrent(t, store)
}

func testConcurrent(t *testing.T, store lake.Store) {
	ctx := context.Background()
	clk := newClock()
	opts := testOptions(t, clk)
	opts.MergeMinFiles = 2
	opts.BatchBytes = 1 << 10
	var runs []*synthResult
	conflicts := 0
	for round := range 4 {
		for i := range 3 {
			runs = append(runs, writeRun(t, ctx, store, synthRun{start: clk.Now().Add(time.Duration(i) * time.Millisecond),
				segments: 2, frames: 2, recordsPerFrame: 20, ended: true, seed: uint64(round*10 + i)}))
		}
		var wg sync.WaitGroup
		stats := make([]Stats, 2)
		errs := make([]error, 2)
		for w := range 2 {
			wg.Go(func() {
				o := opts
				o.TempDir = t.TempDir()
				stats[w], errs[w] = Run(ctx, store, o)
			})
		}
		wg.Wait()
		for w := range 2 {
			if errs[w] != nil {
				t.Fatalf("round %d compactor %d: %v", round, w, errs[w])
			}
			conflicts += stats[w].Conflicts
		}
		if got := stats[0].Segments + stats[1].Segments; got != 6 {
			t.Errorf("round %d: the compactors consumed %d segments between them, want 6", round, got)
		}
		clk.Advance(time.Second)
	}
	t.Logf("%d conflicts resolved", conflicts)
	settle(t, store, clk, opts)
	readLake(t, store).checkExact(t, runs...)
	checkNoLeftovers(t, store)
}
