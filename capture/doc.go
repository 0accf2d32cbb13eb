// Package capture owns the record of a run: the typed Record of one host
// call, its binary codec (AppendRecord, Encoder, Decoder), the Recorder that
// wraps any wasi.System and appends one encoded record per call, and the
// strace-style printer (FormatCall) behind --trace.
//
// The record encoding is specified byte by byte in docs/records.md; the
// summary is: a record is a header (function id, start time as a delta from
// the previous record's start, duration, errno) followed by the function's
// fields, every integer an unsigned LEB128 varint (signed ones zigzag
// encoded), every byte string and list prefixed by its length. Records are
// self-delimiting and concatenated with no framing: a buffer handed to a
// Sink is a sequence of whole records whose first record's time delta is
// taken from zero, so each buffer decodes on its own.
//
// Package capture does not compress, frame, persist or upload buffers: the
// Sink does (capture/segment and capture/spool). It does not decide what a
// call returns either: the Recorder passes results of the wrapped System to
// the guest unchanged.
package capture
