package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/timelake/timelake/wasi"
)

// Record is one decoded host call.
type Record struct {
	Seq      uint64     // position of the call in the run, from 0; implied by the position in the stream, not encoded
	Func     wasi.Func  // the host function; always Call.Func() in a decoded record
	Time     int64      // ns since run start (monotonic clock) when the call started
	Duration int64      // ns the wrapped System spent in the call
	Errno    wasi.Errno // errno returned to the guest
	Call     Call       // arguments and results; its concrete type is determined by Func
}

// Call holds the typed arguments and results of one host call. There is one
// concrete type per wasi.Func (*FDWrite for wasi.FuncFDWrite, ...); the set is
// closed: only this package implements Call.
type Call interface {
	// Func returns the host function this call is a record of.
	Func() wasi.Func

	// appendFields appends the function's fields (everything after the
	// record header) to b.
	appendFields(b []byte) []byte
	// decodeFields reads the function's fields, reusing the call's slices.
	decodeFields(r *reader)
	// format writes the strace-style arguments and result of the call.
	format(p *printer, errno wasi.Errno)
}

// ErrCorrupt is wrapped by every error the Decoder returns for input that is
// not a sequence of whole, well-formed records.
var ErrCorrupt = errors.New("corrupt record")

// AppendRecord appends the encoding of rec to buf as the first record of a
// buffer: its time is encoded as a delta from 0. Use an Encoder to append a
// sequence of records. rec.Call must not be nil; rec.Seq and rec.Func are not
// encoded (the function id is taken from rec.Call).
func AppendRecord(buf []byte, rec *Record) []byte {
	var e Encoder
	return e.Append(buf, rec)
}

// Encoder appends a sequence of records to buffers. It remembers the start
// time of the last record it encoded, since each record stores its time as a
// delta from the previous one. The zero value starts a new buffer.
type Encoder struct {
	prevTime int64 // Time of the last record appended since Reset
}

// Reset makes the next record the first of a new buffer.
func (e *Encoder) Reset() { e.prevTime = 0 }

// Append appends the encoding of rec to buf and returns the extended buffer.
// rec.Call must not be nil.
func (e *Encoder) Append(buf []byte, rec *Record) []byte {
	buf = appendUvarint(buf, uint64(rec.Call.Func()))
	buf = appendVarint(buf, rec.Time-e.prevTime)
	buf = appendUvarint(buf, uint64(rec.Duration))
	buf = appendUvarint(buf, uint64(rec.Errno))
	e.prevTime = rec.Time
	return rec.Call.appendFields(buf)
}

// Decoder decodes a buffer of concatenated encoded records, as a Sink
// receives them.
//
// Byte slices of decoded calls (Data, DirEntry.Name) alias the input buffer,
// which must not be modified while they are in use; strings are copies.
type Decoder struct {
	r    reader
	seq  uint64 // sequence number of the next record
	time int64  // Time of the previous record (0 before the first)
	err  error  // sticky: once set, Next returns it forever
}

// NewDecoder returns a Decoder of buf, whose first record has sequence number
// firstSeq.
func NewDecoder(buf []byte, firstSeq uint64) *Decoder {
	return &Decoder{r: reader{b: buf}, seq: firstSeq}
}

// Reset makes d decode buf from the start, its first record having sequence
// number firstSeq, as if it were new.
func (d *Decoder) Reset(buf []byte, firstSeq uint64) {
	*d = Decoder{r: reader{b: buf}, seq: firstSeq}
}

// Offset returns how many bytes of the input have been decoded.
func (d *Decoder) Offset() int { return d.r.off }

// Next decodes the next record into rec. It returns io.EOF after the last
// record and an error wrapping ErrCorrupt if the input is malformed or ends
// inside a record. When rec.Call already holds a call of the same function,
// Next reuses it and its slices; otherwise it allocates a new one.
func (d *Decoder) Next(rec *Record) error {
	if d.err != nil {
		return d.err
	}
	r := &d.r
	if r.off == len(r.b) {
		d.err = io.EOF
		return d.err
	}
	start := r.off
	f := wasi.Func(r.u16())
	delta := r.varint()
	dur := int64(r.uvarint())
	errno := wasi.Errno(r.u16())
	if r.err == nil && f >= wasi.FuncCount {
		r.fail("unknown function id %d (function table version %d)", f, wasi.FuncTableVersion)
	}
	if r.err == nil {
		call := rec.Call
		if call == nil || call.Func() != f {
			call = newCall(f)
		}
		call.decodeFields(r)
		rec.Call = call
	}
	if r.err != nil {
		d.err = fmt.Errorf("decode record %d at offset %d: %w", d.seq, start, r.err)
		return d.err
	}
	d.time += delta
	rec.Seq = d.seq
	rec.Func = f
	rec.Time = d.time
	rec.Duration = dur
	rec.Errno = errno
	d.seq++
	return nil
}

// The primitive encodings. Every integer is an unsigned LEB128 varint; signed
// integers are zigzag encoded first; byte strings are a varint length then the
// bytes.

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendVarint(b []byte, v int64) []byte {
	return appendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

func appendBytes(b, p []byte) []byte {
	b = appendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendString(b []byte, s string) []byte {
	b = appendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes primitives from b with a sticky error: after the first
// failure every method returns zero values, so a call's decodeFields reads
// straight through and the caller checks err once.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		if n == 0 {
			r.fail("input ends inside a varint")
		} else {
			r.fail("varint overflows 64 bits")
		}
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *reader) max(limit uint64) uint64 {
	v := r.uvarint()
	if v > limit {
		r.fail("value %d out of range (max %d)", v, limit)
		return 0
	}
	return v
}

func (r *reader) u8() uint8   { return uint8(r.max(math.MaxUint8)) }
func (r *reader) u16() uint16 { return uint16(r.max(math.MaxUint16)) }
func (r *reader) u32() uint32 { return uint32(r.max(math.MaxUint32)) }

// bytes returns the next length-prefixed byte string, aliasing the input
// (capacity clipped so appending to it cannot overwrite the input), or nil if
// it is empty.
func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(r.remaining()) {
		r.fail("byte string of %d bytes overruns the input (%d bytes left)", n, r.remaining())
		return nil
	}
	if n == 0 {
		return nil
	}
	end := r.off + int(n)
	p := r.b[r.off:end:end]
	r.off = end
	return p
}

func (r *reader) string() string { return string(r.bytes()) }

// count reads a list length, rejecting lengths that the rest of the input
// cannot hold given that each element takes at least minSize bytes: this caps
// what a corrupt length can make the decoder allocate.
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if r.err != nil {
		return 0
	}
	if n > uint64(r.remaining()/minSize) {
		r.fail("list of %d elements overruns the input (%d bytes left)", n, r.remaining())
		return 0
	}
	return int(n)
}

// resize returns s with length n, reusing its array when large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
