package segment

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// BenchmarkWriteFrame compresses 1 MiB frames of repetitive small-write
// records at both candidate levels and reports the stored bytes per record.
// It must allocate nothing per frame.
func BenchmarkWriteFrame(b *testing.B) {
	const recsPerFrame = 1 << 20 / 30
	payload := repetitive(recsPerFrame, 1)
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		b.Run(level.String(), func(b *testing.B) {
			w, err := NewWriter(io.Discard, testRunID, 0, nil, Options{Level: level})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			var stored int64
			seq := uint64(0)
			for b.Loop() {
				n, err := w.WriteFrame(payload, recsPerFrame, seq)
				if err != nil {
					b.Fatal(err)
				}
				stored += int64(n)
				seq += recsPerFrame
			}
			b.ReportMetric(float64(stored)/float64(seq), "B/record")
		})
	}
}

// BenchmarkReaderNext streams frames back; steady state allocates nothing.
func BenchmarkReaderNext(b *testing.B) {
	const recsPerFrame = 1 << 20 / 30
	payload := repetitive(recsPerFrame, 2)
	const frames = 16
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testRunID, 0, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range frames {
		if _, err := w.WriteFrame(payload, recsPerFrame, uint64(i*recsPerFrame)); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Seal(Seal{}, nil); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(payload) * frames))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if r.Frames() != frames {
			b.Fatal(fmt.Sprint(r.Frames()))
		}
	}
}
