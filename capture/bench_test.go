package capture

import (
	"context"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/timelake/timelake/wasi"
)

// nopSystem is the cheapest System: writes and reads succeed at once.
type nopSystem struct{ fakeSystem }

func (*nopSystem) FDWrite(_ context.Context, _ wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	return wasi.Size(total(iovs)), wasi.ESUCCESS
}

func (*nopSystem) FDRead(_ context.Context, _ wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	return wasi.Size(total(iovs)), wasi.ESUCCESS
}

// reuseSink hands the same buffer straight back, like a sink with a free
// buffer ready.
type reuseSink struct{ submitted int }

func (s *reuseSink) Submit(buf []byte, _ int, _ uint64) []byte {
	s.submitted++
	return buf[:0]
}

var msg17 = [][]byte{[]byte("hello, timelake!\n")}

// BenchmarkFDWriteBare is the baseline of BenchmarkRecorderFDWrite: the same
// System without the recorder.
func BenchmarkFDWriteBare(b *testing.B) {
	ctx := context.Background()
	var sys wasi.System = &nopSystem{}
	b.ReportAllocs()
	for b.Loop() {
		sys.FDWrite(ctx, 1, msg17)
	}
}

// BenchmarkRecorderFDWrite records 17-byte fd_writes over a System that does
// nothing, with the default (real, monotonic) clock: the cost a guest pays
// per call for recording.
func BenchmarkRecorderFDWrite(b *testing.B) {
	ctx := context.Background()
	var sys wasi.System = NewRecorder(&nopSystem{}, &reuseSink{}, RecorderOptions{FlushInterval: -1})
	b.ReportAllocs()
	for b.Loop() {
		sys.FDWrite(ctx, 1, msg17)
	}
}

// BenchmarkRecorderFDWriteStepClock is BenchmarkRecorderFDWrite with a
// counter for a clock: the cost of encoding and buffering alone, without the
// two monotonic clock readings per call.
func BenchmarkRecorderFDWriteStepClock(b *testing.B) {
	ctx := context.Background()
	var sys wasi.System = NewRecorder(&nopSystem{}, &reuseSink{}, RecorderOptions{FlushInterval: -1, Clock: stepClock(90)})
	b.ReportAllocs()
	for b.Loop() {
		sys.FDWrite(ctx, 1, msg17)
	}
}

// BenchmarkRecorderFDRead4K records 4 KiB fd_reads: the copy of the bytes
// read dominates.
func BenchmarkRecorderFDRead4K(b *testing.B) {
	ctx := context.Background()
	var sys wasi.System = NewRecorder(&nopSystem{}, &reuseSink{}, RecorderOptions{FlushInterval: -1})
	iovs := guestBufs(4096)
	b.SetBytes(4096)
	b.ReportAllocs()
	for b.Loop() {
		sys.FDRead(ctx, 0, iovs)
	}
}

// BenchmarkDecodeFDWrite decodes 17-byte fd_write records into a reused
// Record.
func BenchmarkDecodeFDWrite(b *testing.B) {
	var enc Encoder
	var buf []byte
	const n = 1000
	for i := range n {
		buf = enc.Append(buf, &Record{Time: int64(i) * 95, Duration: 40, Call: &FDWrite{FD: 1, IOVecLens: []uint32{17}, Data: msg17[0], N: 17}})
	}
	d := NewDecoder(nil, 0)
	var rec Record
	b.ReportAllocs()
	for b.Loop() {
		d.Reset(buf, 0)
		for range n {
			if err := d.Next(&rec); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// BenchmarkZstdBytesPerFDWrite records 1M 17-byte fd_writes with the real
// clock, compresses the 1 MiB buffers with zstd (default level, one frame per
// buffer, as a segment frame would) and reports the compressed bytes per call.
func BenchmarkZstdBytesPerFDWrite(b *testing.B) {
	ctx := context.Background()
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sink := &zstdSink{zw: zw}
		rec := NewRecorder(&nopSystem{}, sink, RecorderOptions{FlushInterval: -1})
		const calls = 1_000_000
		for range calls {
			rec.FDWrite(ctx, 1, msg17)
		}
		rec.Close(ctx)
		b.ReportMetric(float64(sink.raw)/calls, "raw-B/call")
		b.ReportMetric(float64(sink.compressed)/calls, "zstd-B/call")
	}
}

type zstdSink struct {
	zw              *zstd.Encoder
	out             []byte
	raw, compressed int
}

func (s *zstdSink) Submit(buf []byte, _ int, _ uint64) []byte {
	s.out = s.zw.EncodeAll(buf, s.out[:0])
	s.raw += len(buf)
	s.compressed += len(s.out)
	return buf[:0]
}
