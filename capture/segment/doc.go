// Package segment owns the segment file format: the immutable, self-describing
// files in which a recorded run's records are stored, locally in the spool and
// then in the lake under segments/<run-id>/<n>.seg. It writes segments
// (Writer) and streams them back one frame at a time (Reader), recovering every
// complete frame of a torn file. It does not know what a record is: frame
// payloads are opaque bytes whose encoding capture defines (docs/records.md),
// and it does not know where segments live (spool, lake).
//
// The format is specified completely here and in docs/format.md, so that a
// reader can be written in another language from this text alone. All integers
// are little-endian. CRC means CRC-32C (Castagnoli polynomial 0x82F63B78,
// the checksum of iSCSI and ext4), computed without any masking.
//
// # File
//
//	segment := header block*
//
// The header is 32 bytes:
//
//	offset size field
//	0      5    magic "TLSEG"
//	5      1    format version, 1
//	6      2    flags: bit 0 = a metadata block follows; other bits zero
//	8      4    segment index n (0 for the first segment of a run)
//	12     16   run ID, a UUID in binary (RFC 9562 byte order)
//	28     4    CRC of bytes [0, 28)
//
// # Blocks
//
// Everything after the header is a sequence of blocks, each a 24-byte block
// header, a payload and a 4-byte CRC:
//
//	offset size field
//	0      1    type: 1 metadata, 2 frame, 3 trailer, 4 seal (0 never occurs)
//	1      1    codec of the payload: 0 stored as is, 1 zstd (one zstd frame)
//	2      2    reserved, zero
//	4      4    stored length L: payload bytes on disk
//	8      4    raw length: payload bytes after decoding (== L for codec 0)
//	12     4    record count (frames; zero for other types)
//	16     8    sequence number of the first record (frames; zero otherwise)
//	24     L    payload
//	24+L   4    CRC of bytes [0, 24+L) of the block
//
// Stored and raw lengths are at most MaxPayload (64 MiB); a writer stores a
// frame uncompressed (codec 0) when zstd would not make it smaller, so the
// stored length never exceeds the raw one.
//
// Blocks appear in this order, and a segment that breaks it is corrupt:
//
//   - metadata (type 1): exactly one, first, if and only if header flag bit 0
//     is set. Only segment 0 of a run carries it. Payload: a JSON object
//     (Metadata), codec 0.
//   - frames (type 2): zero or more. Payload: records, concatenated, in the
//     encoding of docs/records.md; codec 1 normally. Record sequence numbers
//     increase: a frame's first seq is at least the previous frame's first seq
//     plus its record count (they are contiguous when written by capture).
//   - trailer (type 3): at most one, only in the last segment of a run.
//     Payload: a JSON object (Trailer), codec 0.
//   - seal (type 4): exactly one, the last bytes of the file. Its 32-byte
//     payload, codec 0: flags uint32 (bit 0 last segment of the run, bit 1 torn:
//     rebuilt from a file whose writer died, bytes were lost), frame count
//     uint32, record count uint64, first record seq uint64 (0 if no frames),
//     bytes lost uint64 (torn only). Frame and record counts must match the
//     frames of the segment.
//
// # Reading and recovery
//
// A Reader returns frames in order. A segment ends well only with a seal
// followed by end of file: Next then returns io.EOF. Otherwise Next returns
// every complete, valid frame before the damage, then a *DamageError whose
// Offset is where the first unreadable block starts and whose BytesLost
// counts the bytes from there to the end of the input. Its Kind is ErrTorn
// when the input simply stops (end of file inside a block, a missing seal, or
// a zero-filled tail as a crashed file system leaves it): what a killed writer
// leaves behind. It is ErrCorrupt for bytes that are present but wrong: a CRC
// mismatch, an unknown type or codec, a length above MaxPayload, blocks out of
// order, a zstd payload that does not decode to its raw length, data after the
// seal. Lengths read from the file are never trusted for allocation: buffers
// grow only as bytes actually arrive.
package segment
