package spool

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkSubmit pushes 64 KiB buffers through the whole write path
// (queue, compression, file writes; Submit blocks when the writer is behind,
// so this is the path's throughput) and shows it allocates nothing per
// buffer in steady state.
func BenchmarkSubmit(b *testing.B) {
	ctx := context.Background()
	opts := baseOptions(filepath.Join(b.TempDir(), "spool"), nil)
	opts.BufferSize = 64 << 10
	opts.SegmentSize = 1 << 40 // one segment: sealing is not per buffer
	w, err := Create(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	g := newGuest(opts.BufferSize)
	for range 64 { // warm the pool and the encoder
		g.fill(opts.BufferSize)
		g.submit(w)
	}
	g.fill(opts.BufferSize)
	template := append([]byte(nil), g.buf...)
	n := g.pending
	b.SetBytes(int64(len(template)))
	b.ReportAllocs()
	for b.Loop() {
		g.buf = append(g.buf[:0], template...)
		g.buf = w.Submit(g.buf, n, g.seq)
		g.seq += uint64(n)
	}
	if err := w.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if _, err := w.Close(ctx, nil); err != nil {
		b.Fatal(err)
	}
}
