package segment

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"sync"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"
)

// readChunk bounds how far a buffer grows ahead of the bytes actually read,
// so a lying length in a short file cannot make the reader allocate much.
const readChunk = 1 << 20

// decoder is shared by every Reader: DecodeAll is safe for concurrent use.
var decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(MaxPayload),
		zstd.WithDecodeAllCapLimit(true),
	)
})

// Frame is one batch of records read back from a segment.
type Frame struct {
	Payload  []byte // the records, decoded; valid until the next call to Next
	Records  uint32 // records in Payload
	FirstSeq uint64 // sequence number of the first record
	Offset   int64  // file offset of the frame's block
	Stored   int    // payload bytes the frame occupies on disk (compressed)
}

// Reader streams a segment's frames in order, holding one frame in memory at a
// time. Not safe for concurrent use.
type Reader struct {
	br      *bufio.Reader
	off     int64 // bytes consumed from br
	valid   int64 // offset just past the last good block
	hdr     Header
	md      *Metadata
	trailer *Trailer
	seal    Seal
	sealed  bool
	err     error // terminal result of Next: io.EOF or a *DamageError
	frames  uint32
	records uint64
	first   uint64 // first seq of the first frame
	next    uint64 // smallest first seq the next frame may have
	hb      [BlockHeaderSize]byte
	stored  []byte // reused payload buffer
	raw     []byte // reused decode buffer
}

// NewReader reads the segment's header and, if it has one, its metadata
// block. It fails only when the header itself is unusable (a *DamageError:
// ErrTorn for a file shorter than a header, ErrCorrupt or ErrVersion);
// damage after the header, metadata included, is reported by Next.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{br: bufio.NewReaderSize(r, 64<<10)}
	var hb [HeaderSize]byte
	n, err := io.ReadFull(rd.br, hb[:])
	rd.off = int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, rd.damage(0, ErrTorn, fmt.Sprintf("file of %d bytes is shorter than a segment header", n))
		}
		return nil, fmt.Errorf("segment: read header: %w", err)
	}
	h, derr := parseHeader(hb[:])
	if derr != nil {
		return nil, rd.damage(0, derr.Kind, derr.Reason)
	}
	rd.hdr = h
	rd.valid = HeaderSize
	if h.HasMetadata {
		rd.readMetadata()
	}
	return rd, nil
}

// Header is the segment's header.
func (r *Reader) Header() Header { return r.hdr }

// RunID is the run the segment belongs to.
func (r *Reader) RunID() uuid.UUID { return uuid.UUID(r.hdr.RunID) }

// Metadata is the run's metadata, nil unless this is segment 0 and its
// metadata block was read intact.
func (r *Reader) Metadata() *Metadata { return r.md }

// Trailer is the run's trailer once Next has read past it; nil before, and
// for segments that are not the run's last.
func (r *Reader) Trailer() *Trailer { return r.trailer }

// Seal is the segment's seal, once Next has returned io.EOF.
func (r *Reader) Seal() (Seal, bool) { return r.seal, r.sealed }

// Frames counts the frames returned so far.
func (r *Reader) Frames() uint32 { return r.frames }

// Records counts the records in the frames returned so far.
func (r *Reader) Records() uint64 { return r.records }

// FirstSeq is the sequence number of the first record read (0 if none).
func (r *Reader) FirstSeq() uint64 { return r.first }

// ValidSize is the offset just past the last intact block read so far: on a
// torn file, the length of its usable prefix.
func (r *Reader) ValidSize() int64 { return r.valid }

// Next returns the next frame. At the end of a complete, sealed segment it
// returns io.EOF; when it cannot go on it returns a *DamageError, and keeps
// returning the same error.
func (r *Reader) Next() (Frame, error) {
	for r.err == nil {
		start := r.off
		h, payload, ok := r.readBlock()
		if !ok {
			break
		}
		switch h.typ {
		case BlockFrame:
			f, ok := r.frame(start, h, payload)
			if !ok {
				break
			}
			r.valid = r.off
			return f, nil
		case BlockTrailer:
			if r.trailer != nil {
				r.fail(start, ErrCorrupt, "second trailer block")
				break
			}
			t := new(Trailer)
			if msg := decodeJSON(payload, t, "trailer"); msg != "" {
				r.fail(start, ErrCorrupt, msg)
				break
			}
			if !t.Status.valid() {
				r.fail(start, ErrCorrupt, fmt.Sprintf("trailer status %q unknown", t.Status))
				break
			}
			r.trailer = t
			r.valid = r.off
		case BlockSeal:
			r.readSeal(start, payload)
		case BlockMetadata:
			r.fail(start, ErrCorrupt, "metadata block after the start of the segment")
		}
	}
	return Frame{}, r.err
}

// readBlock reads and checks one block's framing and CRC. At a clean end of
// input after the seal it sets r.err to io.EOF.
func (r *Reader) readBlock() (blockHeader, []byte, bool) {
	start := r.off
	n, err := io.ReadFull(r.br, r.hb[:])
	r.off += int64(n)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		if r.sealed {
			r.err = io.EOF
		} else {
			r.fail(start, ErrTorn, "input ends before the seal: the segment was never completed")
		}
		return blockHeader{}, nil, false
	case r.sealed:
		r.fail(start, ErrCorrupt, "data after the seal")
		return blockHeader{}, nil, false
	case err != nil:
		r.ioFail(start, err, "block header")
		return blockHeader{}, nil, false
	}
	if r.hb == [BlockHeaderSize]byte{} {
		r.fail(start, ErrTorn, "zero-filled tail")
		return blockHeader{}, nil, false
	}
	h := parseBlockHeader(r.hb[:])
	if reason := checkBlockHeader(h, r.hb[2:4]); reason != "" {
		r.fail(start, ErrCorrupt, reason)
		return blockHeader{}, nil, false
	}
	want := int(h.stored) + CRCSize
	r.stored, err = r.readN(r.stored, want)
	if err != nil {
		r.ioFail(start, err, fmt.Sprintf("%v block (%d of %d payload+CRC bytes present)", h.typ, len(r.stored), want))
		return blockHeader{}, nil, false
	}
	payload := r.stored[:h.stored]
	crc := crc32.Update(crc32.Checksum(r.hb[:], castagnoli), castagnoli, payload)
	if got := binary.LittleEndian.Uint32(r.stored[h.stored:]); got != crc {
		r.fail(start, ErrCorrupt, fmt.Sprintf("%v block CRC %08x, computed %08x", h.typ, got, crc))
		return blockHeader{}, nil, false
	}
	return h, payload, true
}

func checkBlockHeader(h blockHeader, reserved []byte) string {
	switch {
	case h.typ < BlockMetadata || h.typ > BlockSeal:
		return fmt.Sprintf("unknown block type %d", uint8(h.typ))
	case h.codec > CodecZstd:
		return fmt.Sprintf("unknown codec %d in %v block", uint8(h.codec), h.typ)
	case reserved[0] != 0 || reserved[1] != 0:
		return fmt.Sprintf("reserved bytes %#x %#x of %v block are not zero", reserved[0], reserved[1], h.typ)
	case h.stored > MaxPayload || h.raw > MaxPayload:
		return fmt.Sprintf("%v block lengths %d stored, %d raw exceed the %d-byte limit", h.typ, h.stored, h.raw, MaxPayload)
	case h.codec == CodecNone && h.stored != h.raw:
		return fmt.Sprintf("stored %v block has stored length %d != raw length %d", h.typ, h.stored, h.raw)
	case h.typ != BlockFrame && h.codec != CodecNone:
		return fmt.Sprintf("%v block must be stored as is, has codec %d", h.typ, uint8(h.codec))
	case h.typ != BlockFrame && (h.records != 0 || h.firstSeq != 0):
		return fmt.Sprintf("%v block has record fields set", h.typ)
	case h.typ == BlockSeal && h.stored != SealPayloadSize:
		return fmt.Sprintf("seal payload of %d bytes, want %d", h.stored, SealPayloadSize)
	case h.typ == BlockFrame && (h.records == 0 || h.raw == 0):
		return fmt.Sprintf("empty frame (%d records, %d bytes)", h.records, h.raw)
	case h.typ == BlockFrame && h.firstSeq+uint64(h.records) < h.firstSeq:
		return fmt.Sprintf("frame sequence numbers overflow (first %d, %d records)", h.firstSeq, h.records)
	}
	return ""
}

func (r *Reader) frame(start int64, h blockHeader, payload []byte) (Frame, bool) {
	switch {
	case r.trailer != nil:
		r.fail(start, ErrCorrupt, "frame after the trailer")
		return Frame{}, false
	case r.frames > 0 && h.firstSeq < r.next:
		r.fail(start, ErrCorrupt, fmt.Sprintf("frame first seq %d overlaps the previous frame (next seq %d)", h.firstSeq, r.next))
		return Frame{}, false
	case r.frames == ^uint32(0):
		r.fail(start, ErrCorrupt, "too many frames")
		return Frame{}, false
	}
	data := payload
	if h.codec == CodecZstd {
		dec, err := decoder()
		if err != nil {
			r.fail(start, ErrCorrupt, fmt.Sprintf("zstd decoder: %v", err))
			return Frame{}, false
		}
		// h.raw is covered by the CRC and bounded by MaxPayload.
		r.raw = slices.Grow(r.raw[:0], int(h.raw))
		data, err = dec.DecodeAll(payload, r.raw[:0])
		if err != nil {
			r.fail(start, ErrCorrupt, fmt.Sprintf("frame does not decompress: %v", err))
			return Frame{}, false
		}
		r.raw = data
		if len(data) != int(h.raw) {
			r.fail(start, ErrCorrupt, fmt.Sprintf("frame decompresses to %d bytes, header says %d", len(data), h.raw))
			return Frame{}, false
		}
	}
	if r.frames == 0 {
		r.first = h.firstSeq
	}
	r.frames++
	r.records += uint64(h.records)
	r.next = h.firstSeq + uint64(h.records)
	return Frame{Payload: data, Records: h.records, FirstSeq: h.firstSeq, Offset: start, Stored: int(h.stored)}, true
}

func (r *Reader) readMetadata() {
	start := r.off
	h, payload, ok := r.readBlock()
	if !ok {
		return
	}
	if h.typ != BlockMetadata {
		r.fail(start, ErrCorrupt, fmt.Sprintf("header announces metadata, found a %v block", h.typ))
		return
	}
	md := new(Metadata)
	if msg := decodeJSON(payload, md, "metadata"); msg != "" {
		r.fail(start, ErrCorrupt, msg)
		return
	}
	if md.RunID != r.RunID().String() {
		r.fail(start, ErrCorrupt, fmt.Sprintf("metadata run ID %q, header run ID %s", md.RunID, r.RunID()))
		return
	}
	r.md = md
	r.valid = r.off
}

func (r *Reader) readSeal(start int64, payload []byte) {
	s, reason := parseSeal(payload)
	switch {
	case reason != "":
	case s.Frames != r.frames || s.Records != r.records:
		reason = fmt.Sprintf("seal counts %d frames, %d records; segment has %d frames, %d records", s.Frames, s.Records, r.frames, r.records)
	case s.FirstSeq != r.first:
		reason = fmt.Sprintf("seal first seq %d, first frame's is %d", s.FirstSeq, r.first)
	case r.trailer != nil && !s.Last:
		reason = "trailer in a segment not sealed as the run's last"
	case !s.Torn && s.BytesLost != 0:
		reason = fmt.Sprintf("seal counts %d bytes lost but is not torn", s.BytesLost)
	}
	if reason != "" {
		r.fail(start, ErrCorrupt, reason)
		return
	}
	r.seal, r.sealed = s, true
	r.valid = r.off
}

// readN reads exactly n bytes into buf[:0], growing it only as bytes arrive.
func (r *Reader) readN(buf []byte, n int) ([]byte, error) {
	buf = buf[:0]
	for len(buf) < n {
		chunk := min(n-len(buf), readChunk)
		buf = slices.Grow(buf, chunk)
		m, err := io.ReadFull(r.br, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+m]
		r.off += int64(m)
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func (r *Reader) ioFail(start int64, err error, what string) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		r.fail(start, ErrTorn, "input ends inside "+what)
		return
	}
	// A failing underlying reader is not damage to the segment.
	r.err = fmt.Errorf("segment: read %s at offset %d: %w", what, start, err)
}

func (r *Reader) fail(start int64, kind error, reason string) {
	r.err = r.damage(start, kind, reason)
}

// damage builds the error for a stop at offset start, draining the rest of
// the input to count what is lost.
func (r *Reader) damage(start int64, kind error, reason string) *DamageError {
	n, _ := io.Copy(io.Discard, r.br)
	r.off += n
	return &DamageError{Kind: kind, Offset: start, BytesLost: r.off - start, Reason: reason}
}
