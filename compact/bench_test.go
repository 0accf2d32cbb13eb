package compact

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
)

// benchRecords is the size of the synthetic lake: $TIMELAKE_BENCH_RECORDS,
// default 10M.
func benchRecords() int64 {
	if s := os.Getenv("TIMELAKE_BENCH_RECORDS"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 10_000_000
}

// benchLake writes a synthetic lake: runs of 200k records in segments of 8
// frames of 4096 records (the shape run produces under load), through the
// real codec and segment writer.
func benchLake(b *testing.B, records int64) (lake.Store, []string, int64) {
	b.Helper()
	ctx := context.Background()
	store, err := lake.Open(ctx, b.TempDir(), lake.Options{})
	if err != nil {
		b.Fatal(err)
	}
	const perFrame, frames, perRun = 4096, 8, 200_000
	var keys []string
	var total int64
	start := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for i := int64(0); records > 0; i++ {
		n := min(records, perRun)
		segs := int((n + perFrame*frames - 1) / (perFrame * frames))
		// Round each run to whole frames.
		r := writeRun(b, ctx, store, synthRun{start: start.Add(time.Duration(i) * time.Second), segments: segs,
			frames: frames, recordsPerFrame: perFrame, ended: true, seed: uint64(i)})
		keys = append(keys, r.keys...)
		records -= r.records
		total += r.records
	}
	return store, keys, total
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM in bytes.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkCompact measures a compaction pass over a synthetic lake of
// benchRecords records against the floor of just reading, decompressing
// and decoding the same segments, side by side. It reports records per
// second of CPU time (per core), records per second of wall time and the
// peak RSS of each phase.
//
//	go test ./compact -run '^$' -bench Compact -benchtime 1x
func BenchmarkCompact(b *testing.B) {
	store, keys, records := benchLake(b, benchRecords())
	ctx := context.Background()

	measure := func(b *testing.B, fn func() int64) {
		var total int64
		var cpu, wall time.Duration
		var peak int64
		for b.Loop() {
			resetPeakRSS()
			c0, w0 := cpuTime(), time.Now()
			total += fn()
			cpu += cpuTime() - c0
			wall += time.Since(w0)
			peak = max(peak, peakRSS())
		}
		b.ReportMetric(float64(total)/cpu.Seconds(), "records/cpu-s")
		b.ReportMetric(float64(total)/wall.Seconds(), "records/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(total)/float64(b.N), "records/op")
	}

	b.Run("read-decode", func(b *testing.B) {
		measure(b, func() int64 {
			var n int64
			var rec capture.Record
			for _, k := range keys {
				rc, err := store.Get(ctx, k)
				if err != nil {
					b.Fatal(err)
				}
				rd, err := segment.NewReader(rc)
				if err != nil {
					b.Fatal(err)
				}
				for {
					fr, err := rd.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					dec := capture.NewDecoder(fr.Payload, fr.FirstSeq)
					for dec.Next(&rec) == nil {
						n++
					}
				}
				rc.Close()
			}
			return n
		})
	})
	b.Run("compact", func(b *testing.B) {
		measure(b, func() int64 {
			// Each iteration compacts the same segments into a fresh table
			// set: the commit log is reset by pointing at a new lake root
			// that shares the segments through a view.
			fresh := &segmentsView{Store: store, root: fmt.Sprintf("bench-%d/", time.Now().UnixNano())}
			st, err := Run(ctx, fresh, Options{TempDir: b.TempDir(), LateWindow: 10 * 365 * 24 * time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			if st.Records != records {
				b.Fatalf("compacted %d records, want %d", st.Records, records)
			}
			b.ReportMetric(float64(st.BytesIn)/float64(st.Records), "segment-B/record")
			b.ReportMetric(float64(st.BytesOut)/float64(st.Records), "parquet-B/record")
			return st.Records
		})
	})
}

// segmentsView shares a lake's segments/ and puts everything else under
// root, so that repeated benchmark passes each start from an empty table
// set over the same segments.
type segmentsView struct {
	lake.Store
	root string
}

func (v *segmentsView) key(k string) string {
	if strings.HasPrefix(k, "segments/") {
		return k
	}
	return v.root + k
}

func (v *segmentsView) Get(ctx context.Context, k string) (io.ReadCloser, error) {
	return v.Store.Get(ctx, v.key(k))
}

func (v *segmentsView) Stat(ctx context.Context, k string) (lake.Object, error) {
	return v.Store.Stat(ctx, v.key(k))
}

func (v *segmentsView) Put(ctx context.Context, k string, body io.ReadSeeker, o lake.PutOptions) (lake.Object, error) {
	obj, err := v.Store.Put(ctx, v.key(k), body, o)
	obj.Key = k
	return obj, err
}

func (v *segmentsView) Delete(ctx context.Context, k string) error {
	return v.Store.Delete(ctx, v.key(k))
}

func (v *segmentsView) List(ctx context.Context, prefix, after string, limit int) ([]lake.Object, error) {
	if strings.HasPrefix(prefix, "segments/") {
		return v.Store.List(ctx, prefix, after, limit)
	}
	after2 := ""
	if after != "" {
		after2 = v.key(after)
	}
	objs, err := v.Store.List(ctx, v.key(prefix), after2, limit)
	for i := range objs {
		objs[i].Key = strings.TrimPrefix(objs[i].Key, v.root)
	}
	return objs, err
}
