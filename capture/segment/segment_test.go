package segment

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var testRunID = uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057")

func testMetadata() *Metadata {
	return &Metadata{
		RunID:          testRunID.String(),
		Module:         Module{SHA256: strings.Repeat("ab", 32), Name: "app.wasm", Size: 1234},
		Args:           []string{"app.wasm", "-v"},
		Env:            []string{"HOME=/", "LANG=C"},
		Mounts:         []Mount{{GuestPath: "/data", HostPath: "/srv/data", ReadOnly: true}},
		Policy:         []byte(`{"net":"deny"}`),
		Host:           Host{Hostname: "ingest-1", OS: "linux", Arch: "amd64"},
		RuntimeVersion: "timelake test; wazero v1.12.0",
		RecordVersion:  1,
		StartTime:      time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
	}
}

func testTrailer(records uint64) *Trailer {
	return &Trailer{
		EndTime:  time.Date(2025, 1, 2, 3, 4, 6, 7, time.UTC),
		Status:   StatusExited,
		ExitCode: 3,
		Records:  records,
		Segments: 1,
	}
}

// records fakes a buffer of n repetitive records starting at seq.
func records(seq uint64, n int) []byte {
	var b []byte
	for i := range n {
		b = binary.LittleEndian.AppendUint16(b, 7) // function id
		b = binary.AppendUvarint(b, seq+uint64(i))
		b = binary.AppendUvarint(b, 1) // fd
		b = append(b, fmt.Sprintf("hello, world %04d\n", i%16)...)
	}
	return b
}

type frameSpec struct {
	payload  []byte
	count    int
	firstSeq uint64
}

// built is a segment and where each of its blocks ends.
type built struct {
	data      []byte
	frames    []frameSpec
	frameEnds []int64 // end offset of each frame block
	metaEnd   int64   // end of header+metadata
	sealEnd   int64
}

func build(t testing.TB, md *Metadata, frames []frameSpec, seal Seal, tr *Trailer) built {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testRunID, 0, md, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := built{frames: frames, metaEnd: w.Size()}
	for _, f := range frames {
		if _, err := w.WriteFrame(f.payload, f.count, f.firstSeq); err != nil {
			t.Fatal(err)
		}
		b.frameEnds = append(b.frameEnds, w.Size())
	}
	if err := w.Seal(seal, tr); err != nil {
		t.Fatal(err)
	}
	b.sealEnd = w.Size()
	b.data = buf.Bytes()
	if int64(len(b.data)) != b.sealEnd {
		t.Fatalf("Size %d, wrote %d", b.sealEnd, len(b.data))
	}
	return b
}

type readResult struct {
	md     *Metadata
	frames []frameSpec
	err    error // nil when the segment ended with io.EOF
	r      *Reader
}

func readAll(data []byte) (readResult, error) {
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return readResult{}, err
	}
	res := readResult{md: r.Metadata(), r: r}
	for {
		f, err := r.Next()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			res.err = err
			return res, nil
		}
		res.frames = append(res.frames, frameSpec{bytes.Clone(f.Payload), int(f.Records), f.FirstSeq})
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func TestRoundTrip(t *testing.T) {
	threeFrames := []frameSpec{
		{records(1, 10), 10, 1},
		{records(11, 500), 500, 11},
		{randomBytes(3000), 4, 511}, // incompressible: stored as is
	}
	tests := []struct {
		name    string
		md      *Metadata
		frames  []frameSpec
		seal    Seal
		trailer *Trailer
	}{
		{"short run: first and last", testMetadata(), threeFrames, Seal{Last: true}, testTrailer(514)},
		{"first of several", testMetadata(), threeFrames, Seal{}, nil},
		{"middle segment", nil, threeFrames, Seal{}, nil},
		{"last with only a trailer", nil, nil, Seal{Last: true}, testTrailer(9)},
		{"no frames at all", testMetadata(), nil, Seal{Last: true}, nil},
		{"rebuilt torn", testMetadata(), threeFrames[:1], Seal{Last: true, Torn: true, BytesLost: 77}, nil},
		{"gap in seqs", nil, []frameSpec{{records(5, 2), 2, 5}, {records(100, 1), 1, 100}}, Seal{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := build(t, tt.md, tt.frames, tt.seal, tt.trailer)
			res, err := readAll(b.data)
			if err != nil {
				t.Fatal(err)
			}
			if res.err != nil {
				t.Fatalf("Next: %v", res.err)
			}
			r := res.r
			if r.RunID() != testRunID || r.Header().Index != 0 || r.Header().HasMetadata != (tt.md != nil) {
				t.Errorf("header %+v", r.Header())
			}
			if (res.md == nil) != (tt.md == nil) || (tt.md != nil && fmt.Sprint(*res.md) != fmt.Sprint(*tt.md)) {
				t.Errorf("metadata %+v, want %+v", res.md, tt.md)
			}
			if got := r.Trailer(); (got == nil) != (tt.trailer == nil) || (got != nil && *got != *tt.trailer) {
				t.Errorf("trailer %+v, want %+v", got, tt.trailer)
			}
			if len(res.frames) != len(tt.frames) {
				t.Fatalf("%d frames, want %d", len(res.frames), len(tt.frames))
			}
			var recs uint64
			for i, f := range res.frames {
				want := tt.frames[i]
				if !bytes.Equal(f.payload, want.payload) || f.count != want.count || f.firstSeq != want.firstSeq {
					t.Errorf("frame %d: %d bytes %d records seq %d, want %d bytes %d records seq %d",
						i, len(f.payload), f.count, f.firstSeq, len(want.payload), want.count, want.firstSeq)
				}
				recs += uint64(want.count)
			}
			s, ok := r.Seal()
			want := tt.seal
			want.Frames, want.Records = uint32(len(tt.frames)), recs
			if len(tt.frames) > 0 {
				want.FirstSeq = tt.frames[0].firstSeq
			}
			if !ok || s != want {
				t.Errorf("seal %+v %v, want %+v", s, ok, want)
			}
			if r.ValidSize() != int64(len(b.data)) {
				t.Errorf("ValidSize %d, want %d", r.ValidSize(), len(b.data))
			}
		})
	}
}

func TestIncompressibleFrameStoredAsIs(t *testing.T) {
	payload := randomBytes(10_000)
	b := build(t, nil, []frameSpec{{payload, 1, 0}}, Seal{}, nil)
	// header + one frame block of exactly the payload + seal block.
	if want := HeaderSize + BlockOverhead + len(payload) + BlockOverhead + SealPayloadSize; len(b.data) != want {
		t.Fatalf("segment of %d bytes, want %d", len(b.data), want)
	}
	if codec := Codec(b.data[HeaderSize+1]); codec != CodecNone {
		t.Fatalf("codec %d, want %d", codec, CodecNone)
	}
}

// TestTruncateEveryOffset cuts a segment at every byte and checks the reader
// returns exactly the frames that are complete before the cut, then ErrTorn
// with the right offset and loss.
func TestTruncateEveryOffset(t *testing.T) {
	frames := []frameSpec{
		{records(1, 3), 3, 1},
		{records(4, 40), 40, 4},
		{randomBytes(100), 2, 44},
		{records(46, 1), 1, 46},
	}
	b := build(t, testMetadata(), frames, Seal{Last: true}, testTrailer(46))
	for cut := 0; cut <= len(b.data); cut++ {
		res, err := readAll(b.data[:cut])
		if cut < HeaderSize {
			var de *DamageError
			if !errors.As(err, &de) || !errors.Is(err, ErrTorn) || de.Offset != 0 || de.BytesLost != int64(cut) {
				t.Fatalf("cut %d: NewReader error %v, want torn at 0 losing %d", cut, err, cut)
			}
			continue
		}
		if err != nil {
			t.Fatalf("cut %d: NewReader: %v", cut, err)
		}
		complete := 0
		validEnd := int64(HeaderSize)
		if int64(cut) >= b.metaEnd {
			validEnd = b.metaEnd
		}
		for i, end := range b.frameEnds {
			if int64(cut) >= end {
				complete = i + 1
				validEnd = end
			}
		}
		if len(res.frames) != complete {
			t.Fatalf("cut %d: %d frames, want %d", cut, len(res.frames), complete)
		}
		for i, f := range res.frames {
			if !bytes.Equal(f.payload, frames[i].payload) || f.firstSeq != frames[i].firstSeq {
				t.Fatalf("cut %d: frame %d differs", cut, i)
			}
		}
		if (res.md != nil) != (int64(cut) >= b.metaEnd) {
			t.Fatalf("cut %d: metadata %v", cut, res.md != nil)
		}
		if cut == len(b.data) {
			if res.err != nil {
				t.Fatalf("whole segment: %v", res.err)
			}
			continue
		}
		var de *DamageError
		if !errors.As(res.err, &de) || !errors.Is(res.err, ErrTorn) {
			t.Fatalf("cut %d: error %v, want ErrTorn", cut, res.err)
		}
		// The trailer block ends after the last frame; a cut past it leaves
		// the trailer intact and only the seal torn.
		if de.Offset < validEnd || de.Offset+de.BytesLost != int64(cut) {
			t.Fatalf("cut %d: damage at %d losing %d, want at >= %d losing up to the cut", cut, de.Offset, de.BytesLost, validEnd)
		}
		if res.r.ValidSize() != de.Offset {
			t.Fatalf("cut %d: ValidSize %d, damage offset %d", cut, res.r.ValidSize(), de.Offset)
		}
	}
}

// TestFlipEveryByte flips each byte of a segment and checks the reader
// returns the intact frames before the damaged block, then a *DamageError
// at the start of that block; never io.EOF, never a wrong frame.
func TestFlipEveryByte(t *testing.T) {
	frames := []frameSpec{{records(1, 5), 5, 1}, {records(6, 50), 50, 6}}
	b := build(t, testMetadata(), frames, Seal{Last: true}, testTrailer(55))
	// Block starts, in order, to find the block containing an offset.
	starts := []int64{0, HeaderSize, b.metaEnd, b.frameEnds[0], b.frameEnds[1]}
	trailerEnd := b.sealEnd - BlockOverhead - SealPayloadSize
	starts = append(starts, trailerEnd)
	for off := range b.data {
		data := bytes.Clone(b.data)
		data[off] ^= 0x5a
		blockStart := int64(0)
		for _, s := range starts {
			if int64(off) >= s {
				blockStart = s
			}
		}
		res, err := readAll(data)
		if off < HeaderSize {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip %d: NewReader error %v, want ErrCorrupt", off, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("flip %d: NewReader: %v", off, err)
		}
		var de *DamageError
		if !errors.As(res.err, &de) {
			t.Fatalf("flip %d: error %v, want a *DamageError", off, res.err)
		}
		if de.Offset != blockStart {
			t.Fatalf("flip %d: damage at %d (%v), want at block start %d", off, de.Offset, de, blockStart)
		}
		for i, f := range res.frames {
			if !bytes.Equal(f.payload, frames[i].payload) {
				t.Fatalf("flip %d: frame %d differs", off, i)
			}
		}
	}
}

// block builds a raw block with a valid CRC.
func block(typ BlockType, codec Codec, payload []byte, raw uint32, recs uint32, seq uint64) []byte {
	b := make([]byte, BlockHeaderSize, BlockOverhead+len(payload))
	blockHeader{typ: typ, codec: codec, stored: uint32(len(payload)), raw: raw, records: recs, firstSeq: seq}.put(b)
	b = append(b, payload...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func header(h Header) []byte { return h.append(nil) }

func sealBlock(s Seal) []byte {
	p := s.append(nil)
	return block(BlockSeal, CodecNone, p, uint32(len(p)), 0, 0)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDamage(t *testing.T) {
	hdr := header(Header{RunID: testRunID})
	one := records(1, 3)
	frame := block(BlockFrame, CodecNone, one, uint32(len(one)), 3, 1)
	good := sealBlock(Seal{Frames: 1, Records: 3, FirstSeq: 1})
	badVersion := bytes.Clone(hdr)
	badVersion[5] = 2
	binary.LittleEndian.PutUint32(badVersion[28:], crc32.Checksum(badVersion[:28], castagnoli))
	badFlags := bytes.Clone(hdr)
	badFlags[6] = 0x80
	binary.LittleEndian.PutUint32(badFlags[28:], crc32.Checksum(badFlags[:28], castagnoli))
	huge := make([]byte, BlockHeaderSize)
	blockHeader{typ: BlockFrame, codec: CodecZstd, stored: 1 << 30, raw: 1 << 30, records: 1}.put(huge)
	lying := make([]byte, BlockHeaderSize)
	blockHeader{typ: BlockFrame, codec: CodecNone, stored: MaxPayload, raw: MaxPayload, records: 1}.put(lying)
	notZstd := block(BlockFrame, CodecZstd, []byte("definitely not zstd"), 100, 1, 1)
	trailerJS := []byte(`{"status":"exited","records":3}`)

	tests := []struct {
		name   string
		data   []byte
		kind   error
		offset int64
		frames int
		reason string
	}{
		{"bad magic", cat([]byte("TLSEX"), hdr[5:], frame, good), ErrCorrupt, 0, 0, "bad magic"},
		{"newer version", cat(badVersion, frame, good), ErrVersion, 0, 0, "version 2"},
		{"unknown header flag", cat(badFlags, frame, good), ErrCorrupt, 0, 0, "header flags"},
		{"absurd length", cat(hdr, huge, []byte("tail")), ErrCorrupt, HeaderSize, 0, "exceed"},
		{"length beyond input", cat(hdr, frame, lying, []byte("short")), ErrTorn, int64(HeaderSize + len(frame)), 1, "input ends inside frame block"},
		{"not zstd", cat(hdr, notZstd, good), ErrCorrupt, HeaderSize, 0, "decompress"},
		{"unknown type", cat(hdr, block(9, CodecNone, nil, 0, 0, 0)), ErrCorrupt, HeaderSize, 0, "unknown block type"},
		{"unknown codec", cat(hdr, block(BlockFrame, 7, one, 3, 3, 1)), ErrCorrupt, HeaderSize, 0, "unknown codec"},
		{"empty frame", cat(hdr, block(BlockFrame, CodecNone, nil, 0, 0, 1)), ErrCorrupt, HeaderSize, 0, "empty frame"},
		{"overlapping seqs", cat(hdr, frame, frame, good), ErrCorrupt, int64(HeaderSize + len(frame)), 1, "overlaps"},
		{"missing seal", cat(hdr, frame), ErrTorn, int64(HeaderSize + len(frame)), 1, "never completed"},
		{"zero-filled tail", cat(hdr, frame, make([]byte, 4096)), ErrTorn, int64(HeaderSize + len(frame)), 1, "zero-filled"},
		{"data after seal", cat(hdr, frame, good, []byte{1}), ErrCorrupt, int64(HeaderSize + len(frame) + len(good)), 1, "after the seal"},
		{"seal count mismatch", cat(hdr, frame, sealBlock(Seal{Frames: 2, Records: 3, FirstSeq: 1})), ErrCorrupt, int64(HeaderSize + len(frame)), 1, "seal counts"},
		{"seal first seq mismatch", cat(hdr, frame, sealBlock(Seal{Frames: 1, Records: 3, FirstSeq: 2})), ErrCorrupt, int64(HeaderSize + len(frame)), 1, "first seq"},
		{"trailer but not last", cat(hdr, frame, block(BlockTrailer, CodecNone, trailerJS, uint32(len(trailerJS)), 0, 0), good), ErrCorrupt,
			int64(HeaderSize + len(frame) + BlockOverhead + len(trailerJS)), 1, "not sealed as the run's last"},
		{"frame after trailer", cat(hdr, block(BlockTrailer, CodecNone, trailerJS, uint32(len(trailerJS)), 0, 0), frame), ErrCorrupt,
			int64(HeaderSize + BlockOverhead + len(trailerJS)), 0, "frame after the trailer"},
		{"bad trailer JSON", cat(hdr, block(BlockTrailer, CodecNone, []byte("{"), 1, 0, 0)), ErrCorrupt, HeaderSize, 0, "trailer JSON"},
		{"unknown status", cat(hdr, block(BlockTrailer, CodecNone, []byte(`{"status":"x"}`), 14, 0, 0)), ErrCorrupt, HeaderSize, 0, "status"},
		{"metadata missing", cat(header(Header{RunID: testRunID, HasMetadata: true}), frame, good), ErrCorrupt, HeaderSize, 0, "announces metadata"},
		{"metadata of another run", cat(header(Header{RunID: testRunID, HasMetadata: true}),
			block(BlockMetadata, CodecNone, []byte(`{"run_id":"x"}`), 14, 0, 0)), ErrCorrupt, HeaderSize, 0, "run ID"},
		{"unexpected metadata", cat(hdr, block(BlockMetadata, CodecNone, []byte(`{}`), 2, 0, 0)), ErrCorrupt, HeaderSize, 0, "metadata block after"},
		{"compressed seal", cat(hdr, block(BlockSeal, CodecZstd, make([]byte, 32), 32, 0, 0)), ErrCorrupt, HeaderSize, 0, "stored as is"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := readAll(tt.data)
			if err == nil {
				err = res.err
			}
			var de *DamageError
			if !errors.As(err, &de) || !errors.Is(err, tt.kind) {
				t.Fatalf("error %v, want %v", err, tt.kind)
			}
			if de.Offset != tt.offset || de.BytesLost != int64(len(tt.data))-tt.offset {
				t.Errorf("damage at %d losing %d, want at %d losing %d", de.Offset, de.BytesLost, tt.offset, int64(len(tt.data))-tt.offset)
			}
			if len(res.frames) != tt.frames {
				t.Errorf("%d frames before the damage, want %d", len(res.frames), tt.frames)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not mention %q", err, tt.reason)
			}
		})
	}
}

// TestLyingLengthAllocatesLittle: a header declaring a 64 MiB payload on a
// tiny input must not make the reader allocate 64 MiB.
func TestLyingLengthAllocatesLittle(t *testing.T) {
	lying := make([]byte, BlockHeaderSize)
	blockHeader{typ: BlockFrame, codec: CodecZstd, stored: MaxPayload, raw: MaxPayload, records: 1}.put(lying)
	data := cat(header(Header{RunID: testRunID}), lying, []byte("tiny"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := readAll(data)
	runtime.ReadMemStats(&after)
	if err != nil || !errors.Is(res.err, ErrTorn) {
		t.Fatalf("err %v / %v, want ErrTorn", err, res.err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Fatalf("reading a 60-byte input allocated %d bytes", got)
	}
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name string
		do   func(w *Writer) error
		want string
	}{
		{"empty frame", func(w *Writer) error { _, err := w.WriteFrame(nil, 0, 0); return err }, "never empty"},
		{"no records", func(w *Writer) error { _, err := w.WriteFrame([]byte("x"), 0, 0); return err }, "never empty"},
		{"too big", func(w *Writer) error { _, err := w.WriteFrame(make([]byte, MaxPayload+1), 1, 0); return err }, "limit"},
		{"overlap", func(w *Writer) error {
			if _, err := w.WriteFrame([]byte("ab"), 2, 10); err != nil {
				return err
			}
			_, err := w.WriteFrame([]byte("c"), 1, 11)
			return err
		}, "overlaps"},
		{"trailer not last", func(w *Writer) error { return w.Seal(Seal{}, testTrailer(0)) }, "last segment"},
		{"bad status", func(w *Writer) error { return w.Seal(Seal{Last: true}, &Trailer{Status: "done"}) }, "status"},
		{"after seal", func(w *Writer) error {
			if err := w.Seal(Seal{}, nil); err != nil {
				return err
			}
			_, err := w.WriteFrame([]byte("x"), 1, 0)
			return err
		}, "sealed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWriter(io.Discard, testRunID, 0, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.do(w); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := NewWriter(io.Discard, testRunID, 0, &Metadata{RunID: "other"}, Options{}); err == nil {
		t.Fatal("metadata of another run accepted")
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk on fire")
	}
	f.n--
	return len(p), nil
}

func TestWriteErrorIsSticky(t *testing.T) {
	w, err := NewWriter(&failWriter{n: 1}, testRunID, 0, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteFrame([]byte("abc"), 1, 0); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("WriteFrame: %v", err)
	}
	if err := w.Seal(Seal{}, nil); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Seal after a write error: %v", err)
	}
}

func TestResetReusesWriter(t *testing.T) {
	var a, b bytes.Buffer
	w, err := NewWriter(&a, testRunID, 0, testMetadata(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteFrame(records(0, 10), 10, 0)
	if err := w.Seal(Seal{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Reset(&b, testRunID, 1, nil); err != nil {
		t.Fatal(err)
	}
	w.WriteFrame(records(10, 10), 10, 10)
	if err := w.Seal(Seal{Last: true}, testTrailer(20)); err != nil {
		t.Fatal(err)
	}
	res, err := readAll(b.Bytes())
	if err != nil || res.err != nil {
		t.Fatal(err, res.err)
	}
	if res.r.Header().Index != 1 || res.md != nil || len(res.frames) != 1 || res.frames[0].firstSeq != 10 || res.r.Trailer() == nil {
		t.Fatalf("second segment read back as %+v", res)
	}
}

// repetitive fakes the record stream of many small writes: the same record
// shape with a counter and a slowly moving clock.
func repetitive(n int, seed uint64) []byte {
	rng := mrand.New(mrand.NewPCG(seed, seed))
	var b []byte
	clock := uint64(1_700_000_000_000_000_000)
	for i := range n {
		clock += 1000 + rng.Uint64N(50)
		b = append(b, 3)                        // function id fd_write
		b = binary.AppendUvarint(b, uint64(i))  // seq
		b = binary.AppendUvarint(b, clock)      // timestamp
		b = append(b, 1, 17, 0)                 // fd, len, errno
		b = append(b, "hello, world 17b\n"...)  // the bytes written
		b = binary.AppendUvarint(b, uint64(17)) // n written
	}
	return b
}
