package compact

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/wasi"
)

// synthRun describes a run the generator writes to a lake through the real
// record codec and segment writer.
type synthRun struct {
	start           time.Time // wall clock of the start; the run ID carries it
	segments        int       // segments to write
	frames          int       // frames per segment
	recordsPerFrame int
	ended           bool   // the last segment carries a trailer and the last flag
	exitCode        uint32 // with ended
	seed            uint64
}

// synthResult is what a generated run holds.
type synthResult struct {
	id      string
	records int64          // records written
	stdio   int64          // records that become stdio rows
	fs      int64          // records that become fs rows
	keys    []string       // segment keys, in order
	sizes   []int64        // segment sizes
	stdout  bytes.Buffer   // bytes written to fd 1
	byFunc  map[string]int // records per function
}

// runIDAt returns a UUIDv7 whose timestamp is t.
func runIDAt(t time.Time, rng *rand.Rand) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[0:8], rng.Uint64())
	binary.BigEndian.PutUint64(u[8:16], rng.Uint64())
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u
}

// recordMix produces a realistic stream of calls: mostly small writes to
// stdout and clock reads (what a logging service does), with file reads
// through an opened fd, random bytes and the odd failing open.
type recordMix struct {
	rng  *rand.Rand
	line []byte
	data []byte
	now  int64
}

func newRecordMix(seed uint64) *recordMix {
	return &recordMix{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), data: make([]byte, 4096)}
}

// next fills rec with the call at seq; res counts what it becomes.
func (m *recordMix) next(rec *capture.Record, seq uint64, res *synthResult) {
	m.now += 200 + int64(m.rng.IntN(2000))
	rec.Seq, rec.Time, rec.Duration, rec.Errno = seq, m.now, 100+int64(m.rng.IntN(900)), wasi.ESUCCESS
	switch k := seq % 16; {
	case seq == 0:
		rec.Call = &capture.FDPrestatGet{FD: 3, Prestat: wasi.Prestat{NameLen: 5}}
		res.fs++
	case seq == 1:
		rec.Call = &capture.FDPrestatDirName{FD: 3, Name: "/data"}
		res.fs++
	case seq == 2:
		rec.Call = &capture.PathOpen{FD: 3, DirFlags: wasi.LookupSymlinkFollow, Path: "input.txt", RightsBase: wasi.FileRights, NewFD: 4}
		res.fs++
	case k < 8:
		m.line = fmt.Appendf(m.line[:0], "request %d ok\n", seq)
		rec.Call = &capture.FDWrite{FD: 1, IOVecLens: []uint32{uint32(len(m.line))}, Data: m.line, N: wasi.Size(len(m.line))}
		res.stdout.Write(m.line)
		res.stdio++
	case k < 12:
		rec.Call = &capture.ClockTimeGet{ID: wasi.ClockMonotonic, Precision: 1, Time: uint64(m.now)}
	case k < 14:
		n := 64 + m.rng.IntN(512)
		for i := range n {
			m.data[i] = byte('a' + (int(seq)+i)%26)
		}
		rec.Call = &capture.FDRead{FD: 4, IOVecLens: []uint32{4096}, Data: m.data[:n], N: wasi.Size(n)}
		res.fs++
	case k == 14:
		for i := range 16 {
			m.data[i] = byte(m.rng.Uint32())
		}
		rec.Call = &capture.RandomGet{Data: m.data[:16]}
	default:
		rec.Errno = wasi.ENOENT
		rec.Call = &capture.PathOpen{FD: 3, Path: "missing.txt", NewFD: 0}
		res.fs++
	}
	rec.Func = rec.Call.Func()
	res.byFunc[rec.Func.String()]++
}

// writeRun writes the segments of r to store and returns what they hold.
func writeRun(tb testing.TB, ctx context.Context, store lake.Store, r synthRun) *synthResult {
	tb.Helper()
	rng := rand.New(rand.NewPCG(r.seed, 1))
	id := runIDAt(r.start, rng)
	res := &synthResult{id: id.String(), byFunc: map[string]int{}}
	mix := newRecordMix(r.seed)
	var seq uint64
	var enc capture.Encoder
	var payload []byte
	var rec capture.Record
	var w *segment.Writer
	for s := 0; s < r.segments; s++ {
		var buf bytes.Buffer
		var md *segment.Metadata
		if s == 0 {
			md = &segment.Metadata{
				RunID:          id.String(),
				Module:         segment.Module{SHA256: "ab12", Name: "app.wasm", Size: 1234},
				Args:           []string{"app.wasm", "--serve"},
				Env:            []string{"HOME=/", "MODE=test"},
				Mounts:         []segment.Mount{{GuestPath: "/data", HostPath: "/srv/data"}},
				Host:           segment.Host{Hostname: "ingest-1", OS: "linux", Arch: "amd64"},
				RuntimeVersion: "timelake test",
				StartTime:      r.start,
			}
		}
		var err error
		if w == nil {
			w, err = segment.NewWriter(&buf, id, uint32(s), md, segment.Options{})
		} else {
			err = w.Reset(&buf, id, uint32(s), md)
		}
		if err != nil {
			tb.Fatal(err)
		}
		for f := 0; f < r.frames; f++ {
			first := seq
			payload = payload[:0]
			enc.Reset()
			for i := 0; i < r.recordsPerFrame; i++ {
				mix.next(&rec, seq, res)
				payload = enc.Append(payload, &rec)
				seq++
			}
			if _, err := w.WriteFrame(payload, r.recordsPerFrame, first); err != nil {
				tb.Fatal(err)
			}
		}
		last := s == r.segments-1 && r.ended
		var trailer *segment.Trailer
		if last {
			trailer = &segment.Trailer{
				EndTime: r.start.Add(time.Duration(mix.now)), Status: segment.StatusExited, ExitCode: r.exitCode,
				Records: seq, Segments: uint32(r.segments),
			}
		}
		if err := w.Seal(segment.Seal{Last: last}, trailer); err != nil {
			tb.Fatal(err)
		}
		key := lake.SegmentKey(id.String(), s)
		if _, err := store.Put(ctx, key, bytes.NewReader(buf.Bytes()), lake.PutOptions{}); err != nil {
			tb.Fatal(err)
		}
		res.keys = append(res.keys, key)
		res.sizes = append(res.sizes, int64(buf.Len()))
	}
	res.records = int64(seq)
	return res
}
