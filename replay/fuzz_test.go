package replay

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/lake"
)

// FuzzRunSegment feeds arbitrary bytes as segment 1 of a run (segment 0 is
// valid and not the last): a Run must return records, then io.EOF, an
// *IncompleteError or an error, and never panic, loop or allocate without
// bound.
func FuzzRunSegment(f *testing.F) {
	store := openLake(f)
	seedID := newRunID(f)
	putRun(f, store, seedID,
		seg{frames: [][]call{writes(2, "a\n")}},
		seg{frames: [][]call{writes(3, "b\n"), alternating(10)}, last: true, trailer: exited(0)})
	body, err := store.Get(context.Background(), lake.SegmentKey(seedID.String(), 1))
	if err != nil {
		f.Fatal(err)
	}
	valid, _ := io.ReadAll(body)
	body.Close()
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add([]byte{})
	f.Add([]byte("TLSEG\x01"))

	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		store := openLake(t)
		id := newRunID(t)
		putRun(t, store, id, seg{frames: [][]call{writes(2, "a\n")}})
		// Give the fuzzed bytes the run's ID where a header would carry it,
		// so that the reader goes past the header check more often.
		if len(data) >= 28 {
			data = bytes.Clone(data)
			copy(data[12:28], id[:])
		}
		putObject(t, store, lake.SegmentKey(id.String(), 1), data)
		run, err := Open(ctx, store, id.String())
		if err != nil {
			t.Fatal(err)
		}
		defer run.Close()
		var rec capture.Record
		for n := 0; ; n++ {
			err := run.Next(ctx, &rec)
			if err == nil {
				if rec.Seq != uint64(n) {
					t.Fatalf("record %d has seq %d", n, rec.Seq)
				}
				continue
			}
			var inc *IncompleteError
			switch {
			case err == io.EOF:
				if run.Trailer() == nil {
					t.Fatal("io.EOF without a trailer")
				}
			case errors.As(err, &inc):
				if inc.Records != uint64(n) {
					t.Fatalf("IncompleteError.Records = %d after %d records", inc.Records, n)
				}
			}
			if again := run.Next(ctx, &rec); again != err {
				t.Fatalf("end not sticky: %v then %v", err, again)
			}
			return
		}
	})
}
