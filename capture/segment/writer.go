package segment

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"
)

// DefaultLevel is the zstd level frames are compressed with unless Options
// say otherwise. On 1 MiB frames of repetitive small-write records
// (BenchmarkWriteFrame) SpeedFastest stores within 2% of the bytes of
// SpeedDefault and SpeedBetterCompression, at 1.2-1.7x the speed of
// SpeedDefault; see docs/format.md for the figures.
const DefaultLevel = zstd.SpeedFastest

// Options tune a Writer.
type Options struct {
	Level zstd.EncoderLevel // zstd level for frames; 0 means DefaultLevel
}

// Writer appends one segment to an io.Writer: the header (and metadata) at
// creation, then frames, then the seal. Each block goes out in a single Write,
// so a writer killed between blocks leaves a file whose complete blocks all
// read back. A Writer owns one zstd encoder and reuses it, and its block
// buffer, across frames and, through Reset, across segments: writing a frame
// allocates nothing in steady state. Not safe for concurrent use.
type Writer struct {
	enc   *zstd.Encoder // reused for every frame
	buf   []byte        // block being built; reused
	dst   io.Writer     // where blocks go; nil after Seal
	err   error         // first write error; sticky
	size  int64         // bytes written to dst so far
	seal  Seal          // counts so far (Frames, Records, FirstSeq)
	next  uint64        // smallest first seq the next frame may have
	index uint32        // segment index
	raw   int64         // uncompressed frame payload bytes written
}

// NewWriter starts segment index of run runID on dst, writing its header and,
// when md is non-nil (segment 0), its metadata block.
func NewWriter(dst io.Writer, runID uuid.UUID, index uint32, md *Metadata, opts Options) (*Writer, error) {
	level := opts.Level
	if level == 0 {
		level = DefaultLevel
	}
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(false), // the block CRC covers the payload
		zstd.WithZeroFrames(true),
	)
	if err != nil {
		return nil, fmt.Errorf("segment: new zstd encoder: %w", err)
	}
	w := &Writer{enc: enc}
	if err := w.Reset(dst, runID, index, md); err != nil {
		return nil, err
	}
	return w, nil
}

// Reset starts a new segment on dst, reusing the encoder and buffers. The
// previous segment is abandoned as is (Seal it first to complete it).
func (w *Writer) Reset(dst io.Writer, runID uuid.UUID, index uint32, md *Metadata) error {
	*w = Writer{enc: w.enc, buf: w.buf[:0], dst: dst, index: index}
	w.buf = Header{Index: index, RunID: runID, HasMetadata: md != nil}.append(w.buf)
	if md != nil {
		if md.RunID != runID.String() {
			return fmt.Errorf("segment: metadata run ID %q, header run ID %s", md.RunID, runID)
		}
		js, err := json.Marshal(md)
		if err != nil {
			return fmt.Errorf("segment: encode metadata: %w", err)
		}
		if err := w.appendStored(BlockMetadata, js); err != nil {
			return err
		}
	}
	return w.flush()
}

// WriteFrame appends a frame holding count records whose encoding is payload,
// the first with sequence number firstSeq. It returns the bytes added to the
// segment. payload is not retained.
func (w *Writer) WriteFrame(payload []byte, count int, firstSeq uint64) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	switch {
	case len(payload) == 0 || count <= 0:
		return 0, fmt.Errorf("segment: frame of %d bytes with %d records: frames are never empty", len(payload), count)
	case len(payload) > MaxPayload:
		return 0, fmt.Errorf("segment: frame of %d bytes exceeds the %d-byte limit", len(payload), MaxPayload)
	case uint64(count) > uint64(^uint32(0)):
		return 0, fmt.Errorf("segment: frame of %d records exceeds the 2^32-1 limit", count)
	case w.seal.Frames > 0 && firstSeq < w.next:
		return 0, fmt.Errorf("segment: frame first seq %d overlaps the previous frame (next seq %d)", firstSeq, w.next)
	case w.seal.Frames == ^uint32(0):
		return 0, errors.New("segment: too many frames in one segment")
	}
	w.buf = w.buf[:BlockHeaderSize]
	w.buf = w.enc.EncodeAll(payload, w.buf)
	codec := CodecZstd
	if len(w.buf)-BlockHeaderSize >= len(payload) {
		// Incompressible: storing as is keeps stored <= raw <= MaxPayload.
		w.buf = append(w.buf[:BlockHeaderSize], payload...)
		codec = CodecNone
	}
	blockHeader{
		typ:      BlockFrame,
		codec:    codec,
		stored:   uint32(len(w.buf) - BlockHeaderSize),
		raw:      uint32(len(payload)),
		records:  uint32(count),
		firstSeq: firstSeq,
	}.put(w.buf)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, crc32.Checksum(w.buf, castagnoli))
	n := len(w.buf)
	if err := w.flush(); err != nil {
		return 0, err
	}
	if w.seal.Frames == 0 {
		w.seal.FirstSeq = firstSeq
	}
	w.seal.Frames++
	w.seal.Records += uint64(count)
	w.next = firstSeq + uint64(count)
	w.raw += int64(len(payload))
	return n, nil
}

// Seal completes the segment: the trailer (only allowed with s.Last) and the
// seal block. s.Last, s.Torn and s.BytesLost come from the caller; the counts
// are the writer's own. After Seal the Writer accepts only Reset.
func (w *Writer) Seal(s Seal, trailer *Trailer) error {
	if err := w.usable(); err != nil {
		return err
	}
	if trailer != nil {
		if !s.Last {
			return errors.New("segment: a trailer goes only in the run's last segment")
		}
		if !trailer.Status.valid() {
			return fmt.Errorf("segment: trailer status %q is not one of exited, trapped, timed_out, killed", trailer.Status)
		}
		js, err := json.Marshal(trailer)
		if err != nil {
			return fmt.Errorf("segment: encode trailer: %w", err)
		}
		if err := w.appendStored(BlockTrailer, js); err != nil {
			return err
		}
	}
	s.Frames, s.Records, s.FirstSeq = w.seal.Frames, w.seal.Records, w.seal.FirstSeq
	if !s.Torn {
		s.BytesLost = 0
	}
	var p [SealPayloadSize]byte
	if err := w.appendStored(BlockSeal, s.append(p[:0])); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.seal = s
	w.dst = nil
	return nil
}

// Index is the segment's number within its run.
func (w *Writer) Index() uint32 { return w.index }

// Size is the number of bytes written to the segment so far.
func (w *Writer) Size() int64 { return w.size }

// Frames is the number of frames written to the segment so far.
func (w *Writer) Frames() uint32 { return w.seal.Frames }

// Records is the number of records written to the segment so far.
func (w *Writer) Records() uint64 { return w.seal.Records }

// RawBytes is the number of uncompressed record bytes written so far.
func (w *Writer) RawBytes() int64 { return w.raw }

func (w *Writer) usable() error {
	if w.err != nil {
		return w.err
	}
	if w.dst == nil {
		return errors.New("segment: writer is sealed")
	}
	return nil
}

// appendStored appends a codec-0 block to the pending buffer.
func (w *Writer) appendStored(t BlockType, payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("segment: %v of %d bytes exceeds the %d-byte limit", t, len(payload), MaxPayload)
	}
	start := len(w.buf)
	w.buf = append(w.buf, make([]byte, BlockHeaderSize)...)
	blockHeader{typ: t, codec: CodecNone, stored: uint32(len(payload)), raw: uint32(len(payload))}.put(w.buf[start:])
	w.buf = append(w.buf, payload...)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, crc32.Checksum(w.buf[start:], castagnoli))
	return nil
}

// flush writes the pending buffer in one Write.
func (w *Writer) flush() error {
	n, err := w.dst.Write(w.buf)
	w.size += int64(n)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	w.buf = w.buf[:0]
	if err != nil {
		w.err = fmt.Errorf("segment: write: %w", err)
		return w.err
	}
	return nil
}
