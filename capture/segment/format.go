package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Wire constants: part of the format, never change.
const (
	// Magic starts every segment file.
	Magic = "TLSEG"
	// Version is the format version written in the header.
	Version = 1
	// HeaderSize is the length of the file header.
	HeaderSize = 32
	// BlockHeaderSize is the length of a block header.
	BlockHeaderSize = 24
	// CRCSize is the length of the CRC that ends every block.
	CRCSize = 4
	// BlockOverhead is what a block costs beyond its payload.
	BlockOverhead = BlockHeaderSize + CRCSize
	// SealPayloadSize is the length of the seal block's payload.
	SealPayloadSize = 32
	// MaxPayload bounds a block's stored and raw lengths (64 MiB). A reader
	// rejects larger declared lengths; a writer refuses larger frames.
	MaxPayload = 64 << 20
)

// Header flags: part of the format, never change.
const (
	headerHasMetadata = 1 << 0
	headerKnownFlags  = headerHasMetadata
)

// BlockType identifies a block. Values are part of the format, never change.
type BlockType uint8

const (
	BlockMetadata BlockType = 1 // run metadata, JSON; segment 0 only
	BlockFrame    BlockType = 2 // a batch of records
	BlockTrailer  BlockType = 3 // run outcome, JSON; last segment only
	BlockSeal     BlockType = 4 // end of a complete segment
)

func (t BlockType) String() string {
	switch t {
	case BlockMetadata:
		return "metadata"
	case BlockFrame:
		return "frame"
	case BlockTrailer:
		return "trailer"
	case BlockSeal:
		return "seal"
	}
	return fmt.Sprintf("block type %d", uint8(t))
}

// Codec says how a block's payload is stored. Values are part of the format,
// never change.
type Codec uint8

const (
	CodecNone Codec = 0 // stored as is
	CodecZstd Codec = 1 // one zstd frame
)

// Seal flags: part of the format, never change.
const (
	sealLast       = 1 << 0
	sealTorn       = 1 << 1
	sealKnownFlags = sealLast | sealTorn
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors a Reader reports, wrapped in a *DamageError; test with errors.Is.
var (
	// ErrTorn: the input stops before the segment is complete, as a killed
	// writer leaves it.
	ErrTorn = errors.New("segment torn")
	// ErrCorrupt: bytes are present but invalid.
	ErrCorrupt = errors.New("segment corrupt")
	// ErrVersion: the header names a format version this package cannot read.
	ErrVersion = errors.New("unsupported segment format version")
)

// DamageError reports where and why a Reader stopped before the end of a
// well-formed segment. Every frame before Offset was returned by Next.
type DamageError struct {
	Kind      error  // ErrTorn, ErrCorrupt or ErrVersion
	Offset    int64  // file offset of the first byte that could not be used (start of the bad block)
	BytesLost int64  // bytes from Offset to the end of the input
	Reason    string // what was wrong, for humans
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%v at offset %d (%d bytes unreadable): %s", e.Kind, e.Offset, e.BytesLost, e.Reason)
}

func (e *DamageError) Unwrap() error { return e.Kind }

// Header is the fixed header of a segment file.
type Header struct {
	Index       uint32   // segment number within the run, from 0
	RunID       [16]byte // the run's UUID
	HasMetadata bool     // a metadata block follows the header (segment 0)
}

func (h Header) append(b []byte) []byte {
	start := len(b)
	b = append(b, Magic...)
	b = append(b, Version)
	var flags uint16
	if h.HasMetadata {
		flags |= headerHasMetadata
	}
	b = binary.LittleEndian.AppendUint16(b, flags)
	b = binary.LittleEndian.AppendUint32(b, h.Index)
	b = append(b, h.RunID[:]...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// parseHeader decodes a header; the error (Offset 0, BytesLost unset) says
// why it is invalid.
func parseHeader(b []byte) (Header, *DamageError) {
	if string(b[:5]) != Magic {
		return Header{}, &DamageError{Kind: ErrCorrupt, Reason: fmt.Sprintf("bad magic %q (not a segment file)", b[:5])}
	}
	if got, want := binary.LittleEndian.Uint32(b[28:32]), crc32.Checksum(b[:28], castagnoli); got != want {
		return Header{}, &DamageError{Kind: ErrCorrupt, Reason: fmt.Sprintf("header CRC %08x, computed %08x", got, want)}
	}
	if b[5] != Version {
		return Header{}, &DamageError{Kind: ErrVersion, Reason: fmt.Sprintf("format version %d, this reader knows %d", b[5], Version)}
	}
	flags := binary.LittleEndian.Uint16(b[6:8])
	if flags&^headerKnownFlags != 0 {
		return Header{}, &DamageError{Kind: ErrCorrupt, Reason: fmt.Sprintf("unknown header flags %#x", flags)}
	}
	h := Header{
		Index:       binary.LittleEndian.Uint32(b[8:12]),
		HasMetadata: flags&headerHasMetadata != 0,
	}
	copy(h.RunID[:], b[12:28])
	return h, nil
}

// blockHeader is the fixed part in front of every block's payload.
type blockHeader struct {
	typ      BlockType
	codec    Codec
	stored   uint32 // payload bytes on disk
	raw      uint32 // payload bytes decoded
	records  uint32 // frames only
	firstSeq uint64 // frames only
}

func (h blockHeader) put(b []byte) {
	b[0] = byte(h.typ)
	b[1] = byte(h.codec)
	b[2], b[3] = 0, 0
	binary.LittleEndian.PutUint32(b[4:], h.stored)
	binary.LittleEndian.PutUint32(b[8:], h.raw)
	binary.LittleEndian.PutUint32(b[12:], h.records)
	binary.LittleEndian.PutUint64(b[16:], h.firstSeq)
}

func parseBlockHeader(b []byte) blockHeader {
	return blockHeader{
		typ:      BlockType(b[0]),
		codec:    Codec(b[1]),
		stored:   binary.LittleEndian.Uint32(b[4:]),
		raw:      binary.LittleEndian.Uint32(b[8:]),
		records:  binary.LittleEndian.Uint32(b[12:]),
		firstSeq: binary.LittleEndian.Uint64(b[16:]),
	}
}

// Seal is the content of a segment's seal block.
type Seal struct {
	Last      bool   // the run's last segment: no segment n+1 exists
	Torn      bool   // rebuilt from a torn file: BytesLost bytes of it were unreadable
	Frames    uint32 // frames in the segment
	Records   uint64 // records in the segment
	FirstSeq  uint64 // seq of the first record; 0 when Records == 0
	BytesLost uint64 // bytes of the torn original that were lost (Torn only)
}

func (s Seal) append(b []byte) []byte {
	var flags uint32
	if s.Last {
		flags |= sealLast
	}
	if s.Torn {
		flags |= sealTorn
	}
	b = binary.LittleEndian.AppendUint32(b, flags)
	b = binary.LittleEndian.AppendUint32(b, s.Frames)
	b = binary.LittleEndian.AppendUint64(b, s.Records)
	b = binary.LittleEndian.AppendUint64(b, s.FirstSeq)
	return binary.LittleEndian.AppendUint64(b, s.BytesLost)
}

func parseSeal(b []byte) (Seal, string) {
	flags := binary.LittleEndian.Uint32(b[0:])
	if flags&^sealKnownFlags != 0 {
		return Seal{}, fmt.Sprintf("unknown seal flags %#x", flags)
	}
	return Seal{
		Last:      flags&sealLast != 0,
		Torn:      flags&sealTorn != 0,
		Frames:    binary.LittleEndian.Uint32(b[4:]),
		Records:   binary.LittleEndian.Uint64(b[8:]),
		FirstSeq:  binary.LittleEndian.Uint64(b[16:]),
		BytesLost: binary.LittleEndian.Uint64(b[24:]),
	}, ""
}
