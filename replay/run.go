package replay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/wasi"
)

// ErrUnknownRun is wrapped by the error of Resolve and Open when the lake
// holds no run with that ID or prefix.
var ErrUnknownRun = errors.New("no such run in the lake")

// AmbiguousError is returned by Resolve when a prefix matches several runs.
type AmbiguousError struct {
	Prefix     string   // the prefix asked for
	Candidates []string // run IDs it matches, in key order (at most maxCandidates)
	More       bool     // more runs match than Candidates lists
}

func (e *AmbiguousError) Error() string {
	more := ""
	if e.More {
		more = ", ..."
	}
	return fmt.Sprintf("run ID prefix %q is ambiguous: it matches %s%s", e.Prefix, strings.Join(e.Candidates, ", "), more)
}

// uuidText is the length of a run ID in text form.
const uuidText = len("01234567-89ab-cdef-0123-456789abcdef")

// maxCandidates is how many matching runs an AmbiguousError lists.
const maxCandidates = 10

// Resolve returns the ID of the one run whose ID is ref or starts with ref.
// It fails with an error wrapping ErrUnknownRun when no run matches and with
// an *AmbiguousError when several do. It lists the lake one run at a time
// (List with a limit of 1, starting after the previous run's segments), so
// its cost is bounded by maxCandidates requests, whatever the lake holds.
func Resolve(ctx context.Context, store lake.Store, ref string) (string, error) {
	ref = strings.ToLower(ref)
	if ref == "" || strings.Trim(ref, "0123456789abcdef-") != "" {
		return "", fmt.Errorf("run %q: %w (a run ID is a UUID: hex digits and dashes)", ref, ErrUnknownRun)
	}
	if len(ref) == uuidText {
		// A full ID: one lookup, however many runs the lake holds.
		_, err := store.Stat(ctx, lake.SegmentKey(ref, 0))
		if err == nil {
			return ref, nil
		}
		if !errors.Is(err, lake.ErrNotFound) {
			return "", fmt.Errorf("look up run %s: %w", ref, err)
		}
	}
	const root = "segments/"
	var ids []string
	after := ""
	for len(ids) <= maxCandidates {
		objs, err := store.List(ctx, root+ref, after, 1)
		if err != nil {
			return "", fmt.Errorf("list runs with prefix %q: %w", ref, err)
		}
		if len(objs) == 0 {
			break
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(objs[0].Key, root), "/")
		if id == ref {
			return id, nil
		}
		ids = append(ids, id)
		// '0' sorts right after '/': this skips every key of run id.
		after = root + id + "0"
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("run %q: %w", ref, ErrUnknownRun)
	case 1:
		return ids[0], nil
	}
	e := &AmbiguousError{Prefix: ref, Candidates: ids}
	if len(ids) > maxCandidates {
		e.Candidates, e.More = ids[:maxCandidates], true
	}
	return "", e
}

// IncompleteError reports that a run's record stops before the run's end:
// its last segment is torn or missing, a segment is damaged, or records are
// missing. Every record before the damage was read (and replayed).
type IncompleteError struct {
	RunID   string
	Records uint64 // records read before the record stopped
	Reason  string // what is missing or damaged, for humans
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("run %s is incomplete (%s): replayed its %d readable records", e.RunID, e.Reason, e.Records)
}

// Run streams the records of one recorded run from a lake, in order: one
// segment open at a time, one frame decoded at a time. Not safe for
// concurrent use.
type Run struct {
	store lake.Store
	id    string
	md    *segment.Metadata

	seg        int                          // index of the segment rd reads
	body       io.ReadCloser                // segment seg's object; nil between segments
	rd         *segment.Reader              // reader of body; nil between segments
	payload    []byte                       // records of the current frame
	dec        capture.Decoder              // decodes payload
	inFrame    bool                         // dec has records left to return
	frameN     uint32                       // records the current frame declares
	frameFirst uint64                       // seq of the current frame's first record
	next       uint64                       // seq of the next record; == records read so far
	trailer    *segment.Trailer             // set once the last segment's trailer is read
	err        error                        // sticky end: io.EOF, *IncompleteError or a read error
	calls      [wasi.FuncCount]capture.Call // one reusable call per function
}

// Open opens run runID (a full ID, see Resolve) in store and reads its
// metadata from segment 0. The Run holds segment 0 open: Close it.
func Open(ctx context.Context, store lake.Store, runID string) (*Run, error) {
	r := &Run{store: store, id: runID}
	ok, err := r.openSegment(ctx, 0)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("run %s: %w (no segment 0)", runID, ErrUnknownRun)
	}
	r.md = r.rd.Metadata()
	if r.md == nil {
		// The metadata block is damaged: Next says how.
		_, err := r.rd.Next()
		r.Close()
		return nil, fmt.Errorf("run %s: segment 0 has no readable metadata: %v", runID, err)
	}
	return r, nil
}

// openSegment opens segment n; ok is false when the lake has no such segment.
func (r *Run) openSegment(ctx context.Context, n int) (ok bool, err error) {
	key := lake.SegmentKey(r.id, n)
	body, err := r.store.Get(ctx, key)
	if errors.Is(err, lake.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %s: %w", key, err)
	}
	rd, err := segment.NewReader(body)
	if err != nil {
		body.Close()
		var damage *segment.DamageError
		if errors.As(err, &damage) && n > 0 {
			r.seg = n
			r.err = r.incomplete("segment %d is unreadable: %v", n, damage)
			return true, nil
		}
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	r.seg, r.body, r.rd = n, body, rd
	if h := rd.Header(); h.Index != uint32(n) || rd.RunID().String() != r.id {
		r.closeBody()
		return false, fmt.Errorf("%s holds segment %d of run %s", key, h.Index, rd.RunID())
	}
	return true, nil
}

// ID is the run's ID.
func (r *Run) ID() string { return r.id }

// Metadata is the run's metadata, from segment 0.
func (r *Run) Metadata() *segment.Metadata { return r.md }

// Trailer is the run's trailer once Next has returned io.EOF; nil before,
// and for incomplete runs.
func (r *Run) Trailer() *segment.Trailer { return r.trailer }

// Records counts the records Next has returned.
func (r *Run) Records() uint64 { return r.next }

// Next decodes the next record into rec. It returns io.EOF after the last
// record of a complete run (Trailer is then set), an *IncompleteError when
// the record stops before the run's end, and another error when the lake
// cannot be read; the end is sticky.
//
// Byte slices of rec.Call alias the current frame and are valid until the
// next call to Next. Next swaps rec.Call for a call struct the Run keeps per
// function, so that decoding allocates nothing in steady state: the caller
// must not keep rec.Call across calls to Next either.
func (r *Run) Next(ctx context.Context, rec *capture.Record) error {
	for r.err == nil {
		if r.inFrame {
			r.reuseCall(rec)
			err := r.dec.Next(rec)
			if err == nil {
				r.next = rec.Seq + 1
				return nil
			}
			r.inFrame = false
			if err != io.EOF {
				r.err = r.incomplete("segment %d: %v", r.seg, err)
			} else if got := r.next - r.frameFirst; got != uint64(r.frameN) {
				r.err = r.incomplete("segment %d: a frame declares %d records but holds %d", r.seg, r.frameN, got)
			}
			continue
		}
		if r.rd == nil {
			ok, err := r.openSegment(ctx, r.seg+1)
			switch {
			case err != nil:
				r.err = err
			case !ok:
				r.err = r.incomplete("segment %d is missing and no segment holds a trailer", r.seg+1)
			}
			continue
		}
		fr, err := r.rd.Next()
		switch {
		case err == nil:
			if fr.FirstSeq != r.next {
				r.err = r.incomplete("records %d to %d are missing before segment %d's frame at offset %d",
					r.next, fr.FirstSeq-1, r.seg, fr.Offset)
				continue
			}
			r.payload, r.frameN, r.frameFirst, r.inFrame = fr.Payload, fr.Records, fr.FirstSeq, true
			r.dec.Reset(fr.Payload, fr.FirstSeq)
		case err == io.EOF:
			r.endSegment()
		default:
			var damage *segment.DamageError
			if errors.As(err, &damage) {
				r.err = r.incomplete("segment %d: %v", r.seg, damage)
			} else {
				r.err = fmt.Errorf("read %s: %w", lake.SegmentKey(r.id, r.seg), err)
			}
		}
	}
	return r.err
}

// endSegment handles the clean end of a sealed segment.
func (r *Run) endSegment() {
	seal, _ := r.rd.Seal()
	trailer := r.rd.Trailer()
	r.closeBody()
	switch {
	case trailer != nil:
		r.trailer = trailer
		if trailer.Records != r.next {
			r.err = r.incomplete("the trailer counts %d records, the segments hold %d", trailer.Records, r.next)
			return
		}
		r.err = io.EOF
	case seal.Torn:
		r.err = r.incomplete("segment %d was rebuilt from a torn file: %d bytes lost, no trailer", r.seg, seal.BytesLost)
	case seal.Last:
		r.err = r.incomplete("last segment %d has no trailer", r.seg)
	}
}

// reuseCall puts in rec.Call the Run's call struct for the function of the
// next record, so that Decoder.Next reuses it rather than allocating.
func (r *Run) reuseCall(rec *capture.Record) {
	if rec.Call != nil {
		if f := rec.Call.Func(); r.calls[f] == nil {
			r.calls[f] = rec.Call
		}
	}
	off := r.dec.Offset()
	if off >= len(r.payload) {
		return
	}
	f, n := binary.Uvarint(r.payload[off:])
	if n <= 0 || f >= uint64(wasi.FuncCount) {
		return // the decoder reports it
	}
	if c := r.calls[f]; c != nil {
		rec.Call = c
	}
}

func (r *Run) incomplete(format string, args ...any) error {
	return &IncompleteError{RunID: r.id, Records: r.next, Reason: fmt.Sprintf(format, args...)}
}

func (r *Run) closeBody() {
	if r.body != nil {
		r.body.Close()
	}
	r.body, r.rd, r.inFrame = nil, nil, false
}

// Close releases the segment being read.
func (r *Run) Close() error {
	r.closeBody()
	return nil
}

// Ending returns how run runID ended, from the trailer of its last segment,
// or nil when the last segment holds none (the run is incomplete). Replay
// needs it before starting the guest: only a run that did not end on its own
// (incomplete, timed out, killed) may leave a guest computing past its last
// record, so only then must the runtime be able to interrupt compiled code,
// which slows it down. It reads the last segment through once, frames
// decompressed and dropped.
func Ending(ctx context.Context, store lake.Store, runID string) (*segment.Trailer, error) {
	objs, err := store.List(ctx, lake.SegmentPrefix(runID), "", 0)
	if err != nil {
		return nil, fmt.Errorf("list segments of run %s: %w", runID, err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("run %s: %w", runID, ErrUnknownRun)
	}
	key := objs[len(objs)-1].Key
	body, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer body.Close()
	rd, err := segment.NewReader(body)
	if err != nil {
		return nil, nil // unreadable: incomplete, as Next will say
	}
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
	}
	return rd.Trailer(), nil
}
