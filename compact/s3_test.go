package compact

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/timelake/timelake/internal/s3test"
	"github.com/timelake/timelake/lake"
)

// TestS3 runs the pass, the concurrency test and the fault matrix against
// a real S3 server (versitygw on loopback), where create-only puts are
// conditional writes.
func TestS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.Setenv(t)
	var n atomic.Int64
	newStore := func(t *testing.T) lake.Store {
		t.Helper()
		s, err := lake.Open(context.Background(), srv.URL(fmt.Sprintf("lake%d", n.Add(1))), lake.Options{S3PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("pass", func(t *testing.T) {
		ctx := context.Background()
		store := newStore(t)
		clk := newClock()
		runs := []*synthResult{
			writeRun(t, ctx, store, synthRun{start: clk.Now().Add(-time.Hour), segments: 2, frames: 2, recordsPerFrame: 50, ended: true, seed: 71}),
			writeRun(t, ctx, store, synthRun{start: clk.Now().Add(-time.Minute), segments: 1, frames: 1, recordsPerFrame: 20, seed: 72}),
		}
		st := mustRun(t, store, testOptions(t, clk))
		if st.Segments != 3 || st.Commits != 1 {
			t.Errorf("stats %+v", st)
		}
		readLake(t, store).checkExact(t, runs...)
		checkNoLeftovers(t, store)
	})
	t.Run("concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	// Every third step keeps the sequential S3 matrix short; the file lake
	// test covers every step.
	t.Run("faults", func(t *testing.T) { testFaults(t, newStore, false, 3) })
}
