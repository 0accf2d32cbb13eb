package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/wasi"
)

// DivergenceError reports that the replayed guest did not ask what the
// recorded one asked. Its message is one line.
type DivergenceError struct {
	Index    uint64 // sequence number of the record the guest's call was checked against (records before it matched)
	Recorded string // the record, as capture.FormatCall prints it, or what the record holds there ("the end of the record")
	Got      string // the guest's call, arguments only, or how the guest ended
	Detail   string // where the two differ when the renderings do not show it; may be empty
}

func (e *DivergenceError) Error() string {
	msg := fmt.Sprintf("replay diverged at record %d: recorded %s; guest %s", e.Index, e.Recorded, e.Got)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// errRecordEnd stops a guest that calls the host after the last record of a
// run that was stopped from outside (timed out or killed): replay reached
// where the recording stopped.
var errRecordEnd = errors.New("replay reached the end of a run stopped from outside")

// Options configure a System.
type Options struct {
	// Stdout and Stderr receive the guest's writes to its stdout and stderr
	// fds (nil discards them).
	Stdout, Stderr io.Writer
	// Trace prints every replayed call to Stderr, in order with the guest's
	// own output, as capture.FormatCall renders the record.
	Trace bool
	// OnEnd, if set, is called once when the record runs out before the
	// guest can end on its own: the run was timed out or killed, or its
	// record is incomplete. The guest may go on computing without calling
	// the host; OnEnd should stop it (cancel its context).
	OnEnd func()
}

// Outcome is how the replayed guest ended, for Finish.
type Outcome struct {
	Status   segment.Status // StatusExited or StatusTrapped; StatusKilled when the caller stopped it (after OnEnd)
	ExitCode uint32         // with StatusExited
	Trap     string         // with StatusTrapped
}

func (o Outcome) String() string {
	switch o.Status {
	case segment.StatusExited:
		return fmt.Sprintf("exited with code %d", o.ExitCode)
	case segment.StatusTrapped:
		return "trapped: " + o.Trap
	}
	return string(o.Status)
}

// System is a wasi.System served from the records of a Run. Its methods are
// called from the guest's goroutine only.
type System struct {
	run   *Run
	out   *output
	trace io.Writer // nil unless Options.Trace
	onEnd func()

	cur    capture.Record // the next record, valid when curErr is nil
	curErr error          // why there is no next record: io.EOF, *IncompleteError, read error
	err    error          // why the guest was stopped; sticky

	stdoutFD, stderrFD int64 // guest fds of stdout and stderr; -1 once closed or replaced

	names []byte   // copies of the dirent names of the last fd_readdir
	strs  []string // the args or environment last returned
}

var _ wasi.System = (*System)(nil)

// New returns a System serving run's records, reading the first one now.
// The System owns run: Close closes it.
func New(ctx context.Context, run *Run, opts Options) *System {
	s := &System{
		run:      run,
		out:      newOutput(opts.Stdout, opts.Stderr),
		onEnd:    opts.OnEnd,
		stdoutFD: 1,
		stderrFD: 2,
	}
	if opts.Trace {
		s.trace = streamWriter{s.out, streamStderr}
	}
	s.advance(ctx)
	return s
}

// Flush writes out the guest output held in the System's buffers. It returns
// the first error writing to Stdout or Stderr, if any.
func (s *System) Flush() error { return s.out.flush() }

// Close flushes the guest output and closes the Run.
func (s *System) Close(ctx context.Context) error {
	err := s.Flush()
	if cerr := s.run.Close(); err == nil {
		err = cerr
	}
	return err
}

// Finish reports how the replay went once the guest has ended as out says:
// nil when the guest made every recorded call and ended as recorded, or ran
// until the end of the record of a run stopped from outside (Run.Trailer
// says how); a *DivergenceError when it stopped on a mismatch, called past
// the end, left records unused or ended otherwise than recorded; an
// *IncompleteError when the record is incomplete; or the error that kept the
// lake from being read.
func (s *System) Finish(out Outcome) error {
	if s.err != nil {
		if s.err == errRecordEnd {
			return nil
		}
		return s.err
	}
	if s.curErr == nil {
		return &DivergenceError{Index: s.cur.Seq, Recorded: render(&s.cur), Got: out.String()}
	}
	if s.curErr != io.EOF {
		return s.curErr
	}
	t := s.run.Trailer()
	want := Outcome{Status: t.Status, ExitCode: t.ExitCode, Trap: t.Trap}
	switch t.Status {
	case segment.StatusExited:
		if out.Status == segment.StatusExited && out.ExitCode == t.ExitCode {
			return nil
		}
	case segment.StatusTrapped:
		if out.Status == segment.StatusTrapped {
			return nil
		}
	default:
		return nil // stopped from outside, and replayed to the end of its record
	}
	return &DivergenceError{Index: s.run.Records(), Recorded: "the end of the run: " + want.String(), Got: out.String()}
}

// advance reads the next record into s.cur.
func (s *System) advance(ctx context.Context) {
	s.curErr = s.run.Next(ctx, &s.cur)
	if s.curErr == nil || s.onEnd == nil {
		return
	}
	if t := s.run.Trailer(); s.curErr == io.EOF && t != nil &&
		(t.Status == segment.StatusExited || t.Status == segment.StatusTrapped) {
		return // the guest ends on its own
	}
	s.onEnd()
	s.onEnd = nil
}

// take returns the next record and its call as a T, or ok false when there
// is no next record or it is of another function.
func take[T capture.Call](s *System) (rec *capture.Record, c T, ok bool) {
	if s.curErr != nil {
		return nil, c, false
	}
	c, ok = s.cur.Call.(T)
	return &s.cur, c, ok
}

// done finishes a call served from s.cur: traces it and reads the next
// record. Results taken from s.cur must be copied out before.
func (s *System) done(ctx context.Context) {
	if s.trace != nil {
		capture.FormatCall(s.trace, &s.cur)
	}
	s.advance(ctx)
}

// diverge stops the guest, whose call got does not match the record. It
// never returns.
func (s *System) diverge(got capture.Call) {
	switch {
	case s.curErr == nil:
		s.stop(&DivergenceError{
			Index:    s.cur.Seq,
			Recorded: render(&s.cur),
			Got:      "called " + renderCall(got),
			Detail:   difference(s.cur.Call, got),
		})
	case s.curErr == io.EOF:
		if t := s.run.Trailer(); t.Status == segment.StatusTimedOut || t.Status == segment.StatusKilled {
			s.stop(errRecordEnd)
		}
		s.stop(&DivergenceError{
			Index:    s.run.Records(),
			Recorded: fmt.Sprintf("the end of the run (%d records)", s.run.Records()),
			Got:      "called " + renderCall(got),
		})
	default:
		s.stop(s.curErr)
	}
}

// stop records why the guest stops and unwinds it: wazero turns the panic of
// a host function into the error of the guest's call.
func (s *System) stop(err error) {
	s.err = err
	panic(err)
}

// render is a record as FormatCall prints it, without the newline.
func render(rec *capture.Record) string {
	var b bytes.Buffer
	capture.FormatCall(&b, rec)
	return strings.TrimSuffix(b.String(), "\n")
}

// renderCall is a call made by the guest: FormatCall's rendering up to the
// result. The results of got are zero, so the last ") = " starts them.
func renderCall(got capture.Call) string {
	line := render(&capture.Record{Func: got.Func(), Call: got})
	if i := strings.LastIndex(line, ") = "); i >= 0 {
		return line[:i+1]
	}
	return line
}

// difference says where the bytes written by the guest differ from the
// recorded ones, which renderings cut after 32 bytes may not show.
func difference(recorded, got capture.Call) string {
	var a, b []byte
	switch g := got.(type) {
	case *capture.FDWrite:
		if r, ok := recorded.(*capture.FDWrite); ok {
			a, b = r.Data, g.Data
		}
	case *capture.FDPwrite:
		if r, ok := recorded.(*capture.FDPwrite); ok {
			a, b = r.Data, g.Data
		}
	case *capture.SockSend:
		if r, ok := recorded.(*capture.SockSend); ok {
			a, b = r.Data, g.Data
		}
	default:
		return ""
	}
	if bytes.Equal(a, b) {
		return ""
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("bytes differ from offset %d: recorded %d bytes, guest wrote %d", i, len(a), len(b))
}

// sameLens reports whether iovs have the recorded lengths.
func sameLens(lens []uint32, iovs [][]byte) bool {
	if len(lens) != len(iovs) {
		return false
	}
	for i, iov := range iovs {
		if uint64(len(iov)) != uint64(lens[i]) {
			return false
		}
	}
	return true
}

// sameData reports whether iovs, concatenated, are data.
func sameData(data []byte, iovs [][]byte) bool {
	for _, iov := range iovs {
		if len(iov) > len(data) || !bytes.Equal(iov, data[:len(iov)]) {
			return false
		}
		data = data[len(iov):]
	}
	return len(data) == 0
}

// scatter copies data into iovs in order.
func scatter(iovs [][]byte, data []byte) {
	for _, iov := range iovs {
		if len(data) == 0 {
			return
		}
		data = data[copy(iov, data):]
	}
}

func lensOf(iovs [][]byte) []uint32 {
	lens := make([]uint32, len(iovs))
	for i, iov := range iovs {
		lens[i] = uint32(len(iov))
	}
	return lens
}

func concat(iovs [][]byte) []byte {
	var b []byte
	for _, iov := range iovs {
		b = append(b, iov...)
	}
	return b
}

// The wasi.System methods. Each takes the next record, checks the function
// and the guest's inputs against it (diverging on any difference), copies
// the recorded results out, and moves to the next record.

func (s *System) ArgsSizesGet(ctx context.Context) (argc, bufSize wasi.Size, errno wasi.Errno) {
	rec, c, ok := take[*capture.ArgsSizesGet](s)
	if !ok {
		s.diverge(&capture.ArgsSizesGet{})
	}
	argc, bufSize, errno = c.Argc, c.BufSize, rec.Errno
	s.done(ctx)
	return argc, bufSize, errno
}

func (s *System) ArgsGet(ctx context.Context) ([]string, wasi.Errno) {
	rec, c, ok := take[*capture.ArgsGet](s)
	if !ok {
		s.diverge(&capture.ArgsGet{})
	}
	// Reading the next record may reuse c.Args: hand out a copy.
	s.strs = append(s.strs[:0], c.Args...)
	args, errno := s.strs, rec.Errno
	s.done(ctx)
	return args, errno
}

func (s *System) EnvironSizesGet(ctx context.Context) (count, bufSize wasi.Size, errno wasi.Errno) {
	rec, c, ok := take[*capture.EnvironSizesGet](s)
	if !ok {
		s.diverge(&capture.EnvironSizesGet{})
	}
	count, bufSize, errno = c.Count, c.BufSize, rec.Errno
	s.done(ctx)
	return count, bufSize, errno
}

func (s *System) EnvironGet(ctx context.Context) ([]string, wasi.Errno) {
	rec, c, ok := take[*capture.EnvironGet](s)
	if !ok {
		s.diverge(&capture.EnvironGet{})
	}
	s.strs = append(s.strs[:0], c.Environ...)
	env, errno := s.strs, rec.Errno
	s.done(ctx)
	return env, errno
}

func (s *System) ClockResGet(ctx context.Context, id wasi.ClockID) (wasi.Timestamp, wasi.Errno) {
	rec, c, ok := take[*capture.ClockResGet](s)
	if !ok || c.ID != id {
		s.diverge(&capture.ClockResGet{ID: id})
	}
	res, errno := c.Resolution, rec.Errno
	s.done(ctx)
	return res, errno
}

func (s *System) ClockTimeGet(ctx context.Context, id wasi.ClockID, precision wasi.Timestamp) (wasi.Timestamp, wasi.Errno) {
	rec, c, ok := take[*capture.ClockTimeGet](s)
	if !ok || c.ID != id || c.Precision != precision {
		s.diverge(&capture.ClockTimeGet{ID: id, Precision: precision})
	}
	t, errno := c.Time, rec.Errno
	s.done(ctx)
	return t, errno
}

func (s *System) FDAdvise(ctx context.Context, fd wasi.FD, offset, length wasi.Filesize, advice wasi.Advice) wasi.Errno {
	rec, c, ok := take[*capture.FDAdvise](s)
	if !ok || c.FD != fd || c.Offset != offset || c.Length != length || c.Advice != advice {
		s.diverge(&capture.FDAdvise{FD: fd, Offset: offset, Length: length, Advice: advice})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDAllocate(ctx context.Context, fd wasi.FD, offset, length wasi.Filesize) wasi.Errno {
	rec, c, ok := take[*capture.FDAllocate](s)
	if !ok || c.FD != fd || c.Offset != offset || c.Length != length {
		s.diverge(&capture.FDAllocate{FD: fd, Offset: offset, Length: length})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDClose(ctx context.Context, fd wasi.FD) wasi.Errno {
	rec, c, ok := take[*capture.FDClose](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDClose{FD: fd})
	}
	errno := rec.Errno
	if errno == wasi.ESUCCESS {
		s.forget(int64(fd))
	}
	s.done(ctx)
	return errno
}

// forget notes that guest fd no longer refers to stdout or stderr.
func (s *System) forget(fd int64) {
	if s.stdoutFD == fd {
		s.stdoutFD = -1
	}
	if s.stderrFD == fd {
		s.stderrFD = -1
	}
}

func (s *System) FDDataSync(ctx context.Context, fd wasi.FD) wasi.Errno {
	rec, c, ok := take[*capture.FDDataSync](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDDataSync{FD: fd})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDStatGet(ctx context.Context, fd wasi.FD) (wasi.FDStat, wasi.Errno) {
	rec, c, ok := take[*capture.FDStatGet](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDStatGet{FD: fd})
	}
	st, errno := c.Stat, rec.Errno
	s.done(ctx)
	return st, errno
}

func (s *System) FDStatSetFlags(ctx context.Context, fd wasi.FD, flags wasi.FDFlags) wasi.Errno {
	rec, c, ok := take[*capture.FDStatSetFlags](s)
	if !ok || c.FD != fd || c.Flags != flags {
		s.diverge(&capture.FDStatSetFlags{FD: fd, Flags: flags})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDStatSetRights(ctx context.Context, fd wasi.FD, base, inheriting wasi.Rights) wasi.Errno {
	rec, c, ok := take[*capture.FDStatSetRights](s)
	if !ok || c.FD != fd || c.Base != base || c.Inheriting != inheriting {
		s.diverge(&capture.FDStatSetRights{FD: fd, Base: base, Inheriting: inheriting})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDFileStatGet(ctx context.Context, fd wasi.FD) (wasi.FileStat, wasi.Errno) {
	rec, c, ok := take[*capture.FDFileStatGet](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDFileStatGet{FD: fd})
	}
	st, errno := c.Stat, rec.Errno
	s.done(ctx)
	return st, errno
}

func (s *System) FDFileStatSetSize(ctx context.Context, fd wasi.FD, size wasi.Filesize) wasi.Errno {
	rec, c, ok := take[*capture.FDFileStatSetSize](s)
	if !ok || c.FD != fd || c.Size != size {
		s.diverge(&capture.FDFileStatSetSize{FD: fd, Size: size})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDFileStatSetTimes(ctx context.Context, fd wasi.FD, atim, mtim wasi.Timestamp, flags wasi.FSTFlags) wasi.Errno {
	rec, c, ok := take[*capture.FDFileStatSetTimes](s)
	if !ok || c.FD != fd || c.ATim != atim || c.MTim != mtim || c.Flags != flags {
		s.diverge(&capture.FDFileStatSetTimes{FD: fd, ATim: atim, MTim: mtim, Flags: flags})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDPread(ctx context.Context, fd wasi.FD, iovs [][]byte, offset wasi.Filesize) (wasi.Size, wasi.Errno) {
	rec, c, ok := take[*capture.FDPread](s)
	if !ok || c.FD != fd || c.Offset != offset || !sameLens(c.IOVecLens, iovs) {
		s.diverge(&capture.FDPread{FD: fd, Offset: offset, IOVecLens: lensOf(iovs)})
	}
	scatter(iovs, c.Data)
	n, errno := c.N, rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) FDPrestatGet(ctx context.Context, fd wasi.FD) (wasi.Prestat, wasi.Errno) {
	rec, c, ok := take[*capture.FDPrestatGet](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDPrestatGet{FD: fd})
	}
	ps, errno := c.Prestat, rec.Errno
	s.done(ctx)
	return ps, errno
}

func (s *System) FDPrestatDirName(ctx context.Context, fd wasi.FD) (string, wasi.Errno) {
	rec, c, ok := take[*capture.FDPrestatDirName](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDPrestatDirName{FD: fd})
	}
	name, errno := c.Name, rec.Errno
	s.done(ctx)
	return name, errno
}

func (s *System) FDPwrite(ctx context.Context, fd wasi.FD, iovs [][]byte, offset wasi.Filesize) (wasi.Size, wasi.Errno) {
	rec, c, ok := take[*capture.FDPwrite](s)
	if !ok || c.FD != fd || c.Offset != offset || !sameLens(c.IOVecLens, iovs) || !sameData(c.Data, iovs) {
		s.diverge(&capture.FDPwrite{FD: fd, Offset: offset, IOVecLens: lensOf(iovs), Data: concat(iovs)})
	}
	n, errno := c.N, rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) FDRead(ctx context.Context, fd wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	rec, c, ok := take[*capture.FDRead](s)
	if !ok || c.FD != fd || !sameLens(c.IOVecLens, iovs) {
		s.diverge(&capture.FDRead{FD: fd, IOVecLens: lensOf(iovs)})
	}
	scatter(iovs, c.Data)
	n, errno := c.N, rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) FDReadDir(ctx context.Context, fd wasi.FD, entries []wasi.DirEntry, cookie wasi.DirCookie, bufLen int) (int, wasi.Errno) {
	rec, c, ok := take[*capture.FDReadDir](s)
	if !ok || c.FD != fd || c.Cookie != cookie || uint64(c.BufLen) != uint64(max(bufLen, 0)) ||
		uint64(c.Capacity) != uint64(len(entries)) || len(c.Entries) > len(entries) {
		s.diverge(&capture.FDReadDir{FD: fd, Cookie: cookie, BufLen: uint32(min(max(bufLen, 0), 1<<32-1)), Capacity: uint32(len(entries))})
	}
	// The names alias the frame, which the next record may replace before
	// the binding copies them: keep copies.
	total := 0
	for i := range c.Entries {
		total += len(c.Entries[i].Name)
	}
	if cap(s.names) < total {
		s.names = make([]byte, 0, total)
	}
	names := s.names[:0]
	for i := range c.Entries {
		e := c.Entries[i]
		start := len(names)
		names = append(names, e.Name...)
		e.Name = names[start:len(names):len(names)]
		entries[i] = e
	}
	n, errno := len(c.Entries), rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) FDRenumber(ctx context.Context, from, to wasi.FD) wasi.Errno {
	rec, c, ok := take[*capture.FDRenumber](s)
	if !ok || c.From != from || c.To != to {
		s.diverge(&capture.FDRenumber{From: from, To: to})
	}
	errno := rec.Errno
	if errno == wasi.ESUCCESS && from != to {
		// to now refers to from's file; from is closed.
		out, errOut := s.stdoutFD == int64(from), s.stderrFD == int64(from)
		s.forget(int64(to))
		s.forget(int64(from))
		if out {
			s.stdoutFD = int64(to)
		}
		if errOut {
			s.stderrFD = int64(to)
		}
	}
	s.done(ctx)
	return errno
}

func (s *System) FDSeek(ctx context.Context, fd wasi.FD, offset wasi.FileDelta, whence wasi.Whence) (wasi.Filesize, wasi.Errno) {
	rec, c, ok := take[*capture.FDSeek](s)
	if !ok || c.FD != fd || c.Offset != offset || c.Whence != whence {
		s.diverge(&capture.FDSeek{FD: fd, Offset: offset, Whence: whence})
	}
	pos, errno := c.NewOffset, rec.Errno
	s.done(ctx)
	return pos, errno
}

func (s *System) FDSync(ctx context.Context, fd wasi.FD) wasi.Errno {
	rec, c, ok := take[*capture.FDSync](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDSync{FD: fd})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) FDTell(ctx context.Context, fd wasi.FD) (wasi.Filesize, wasi.Errno) {
	rec, c, ok := take[*capture.FDTell](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.FDTell{FD: fd})
	}
	pos, errno := c.Offset, rec.Errno
	s.done(ctx)
	return pos, errno
}

func (s *System) FDWrite(ctx context.Context, fd wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	rec, c, ok := take[*capture.FDWrite](s)
	if !ok || c.FD != fd || !sameLens(c.IOVecLens, iovs) || !sameData(c.Data, iovs) {
		s.diverge(&capture.FDWrite{FD: fd, IOVecLens: lensOf(iovs), Data: concat(iovs)})
	}
	n, errno := c.N, rec.Errno
	if errno == wasi.ESUCCESS && n > 0 {
		accepted := c.Data[:min(int(n), len(c.Data))]
		switch int64(fd) {
		case s.stdoutFD:
			s.out.write(streamStdout, accepted)
		case s.stderrFD:
			s.out.write(streamStderr, accepted)
		}
	}
	s.done(ctx)
	return n, errno
}

func (s *System) PathCreateDirectory(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	rec, c, ok := take[*capture.PathCreateDirectory](s)
	if !ok || c.FD != fd || c.Path != path {
		s.diverge(&capture.PathCreateDirectory{FD: fd, Path: path})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) PathFileStatGet(ctx context.Context, fd wasi.FD, flags wasi.LookupFlags, path string) (wasi.FileStat, wasi.Errno) {
	rec, c, ok := take[*capture.PathFileStatGet](s)
	if !ok || c.FD != fd || c.Flags != flags || c.Path != path {
		s.diverge(&capture.PathFileStatGet{FD: fd, Flags: flags, Path: path})
	}
	st, errno := c.Stat, rec.Errno
	s.done(ctx)
	return st, errno
}

func (s *System) PathFileStatSetTimes(ctx context.Context, fd wasi.FD, flags wasi.LookupFlags, path string, atim, mtim wasi.Timestamp, fstFlags wasi.FSTFlags) wasi.Errno {
	rec, c, ok := take[*capture.PathFileStatSetTimes](s)
	if !ok || c.FD != fd || c.Flags != flags || c.Path != path || c.ATim != atim || c.MTim != mtim || c.FSTFlags != fstFlags {
		s.diverge(&capture.PathFileStatSetTimes{FD: fd, Flags: flags, Path: path, ATim: atim, MTim: mtim, FSTFlags: fstFlags})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) PathLink(ctx context.Context, oldFD wasi.FD, oldFlags wasi.LookupFlags, oldPath string, newFD wasi.FD, newPath string) wasi.Errno {
	rec, c, ok := take[*capture.PathLink](s)
	if !ok || c.OldFD != oldFD || c.OldFlags != oldFlags || c.OldPath != oldPath || c.NewFD != newFD || c.NewPath != newPath {
		s.diverge(&capture.PathLink{OldFD: oldFD, OldFlags: oldFlags, OldPath: oldPath, NewFD: newFD, NewPath: newPath})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) PathOpen(ctx context.Context, fd wasi.FD, dirFlags wasi.LookupFlags, path string, oflags wasi.OFlags, rightsBase, rightsInheriting wasi.Rights, fdFlags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	rec, c, ok := take[*capture.PathOpen](s)
	if !ok || c.FD != fd || c.DirFlags != dirFlags || c.Path != path || c.OFlags != oflags ||
		c.RightsBase != rightsBase || c.RightsInheriting != rightsInheriting || c.FDFlags != fdFlags {
		s.diverge(&capture.PathOpen{FD: fd, DirFlags: dirFlags, Path: path, OFlags: oflags,
			RightsBase: rightsBase, RightsInheriting: rightsInheriting, FDFlags: fdFlags})
	}
	newFD, errno := c.NewFD, rec.Errno
	if errno == wasi.ESUCCESS {
		s.forget(int64(newFD)) // a reused number no longer means stdio
	}
	s.done(ctx)
	return newFD, errno
}

func (s *System) PathReadLink(ctx context.Context, fd wasi.FD, path string, buf []byte) (wasi.Size, wasi.Errno) {
	rec, c, ok := take[*capture.PathReadLink](s)
	if !ok || c.FD != fd || c.Path != path || uint64(c.BufLen) != uint64(len(buf)) {
		s.diverge(&capture.PathReadLink{FD: fd, Path: path, BufLen: uint32(len(buf))})
	}
	copy(buf, c.Data)
	n, errno := c.N, rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) PathRemoveDirectory(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	rec, c, ok := take[*capture.PathRemoveDirectory](s)
	if !ok || c.FD != fd || c.Path != path {
		s.diverge(&capture.PathRemoveDirectory{FD: fd, Path: path})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) PathRename(ctx context.Context, fd wasi.FD, oldPath string, newFD wasi.FD, newPath string) wasi.Errno {
	rec, c, ok := take[*capture.PathRename](s)
	if !ok || c.FD != fd || c.OldPath != oldPath || c.NewFD != newFD || c.NewPath != newPath {
		s.diverge(&capture.PathRename{FD: fd, OldPath: oldPath, NewFD: newFD, NewPath: newPath})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) PathSymlink(ctx context.Context, oldPath string, fd wasi.FD, newPath string) wasi.Errno {
	rec, c, ok := take[*capture.PathSymlink](s)
	if !ok || c.OldPath != oldPath || c.FD != fd || c.NewPath != newPath {
		s.diverge(&capture.PathSymlink{OldPath: oldPath, FD: fd, NewPath: newPath})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) PathUnlinkFile(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	rec, c, ok := take[*capture.PathUnlinkFile](s)
	if !ok || c.FD != fd || c.Path != path {
		s.diverge(&capture.PathUnlinkFile{FD: fd, Path: path})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) PollOneOff(ctx context.Context, subs []wasi.Subscription, events []wasi.Event) (int, wasi.Errno) {
	rec, c, ok := take[*capture.PollOneOff](s)
	if !ok || len(c.Subs) != len(subs) || len(c.Events) > len(events) || !sameSubs(c.Subs, subs) {
		s.diverge(&capture.PollOneOff{Subs: append([]wasi.Subscription(nil), subs...)})
	}
	// Virtual time: the recorded events, at once. The recorded run waited
	// here, so this is where its output had been seen: flush it.
	n, errno := copy(events, c.Events), rec.Errno
	s.out.flush()
	s.done(ctx)
	return n, errno
}

func sameSubs(a, b []wasi.Subscription) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (s *System) ProcExit(ctx context.Context, code wasi.ExitCode) wasi.Errno {
	rec, c, ok := take[*capture.ProcExit](s)
	if !ok || c.Code != code {
		s.diverge(&capture.ProcExit{Code: code})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) ProcRaise(ctx context.Context, sig wasi.Signal) wasi.Errno {
	rec, c, ok := take[*capture.ProcRaise](s)
	if !ok || c.Signal != sig {
		s.diverge(&capture.ProcRaise{Signal: sig})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) SchedYield(ctx context.Context) wasi.Errno {
	rec, _, ok := take[*capture.SchedYield](s)
	if !ok {
		s.diverge(&capture.SchedYield{})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) RandomGet(ctx context.Context, buf []byte) wasi.Errno {
	rec, c, ok := take[*capture.RandomGet](s)
	if !ok || len(c.Data) != len(buf) {
		s.diverge(&capture.RandomGet{Data: make([]byte, len(buf))})
	}
	copy(buf, c.Data)
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) SockAccept(ctx context.Context, fd wasi.FD, flags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	rec, c, ok := take[*capture.SockAccept](s)
	if !ok || c.FD != fd || c.Flags != flags {
		s.diverge(&capture.SockAccept{FD: fd, Flags: flags})
	}
	newFD, errno := c.NewFD, rec.Errno
	if errno == wasi.ESUCCESS {
		s.forget(int64(newFD))
	}
	s.done(ctx)
	return newFD, errno
}

func (s *System) SockRecv(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.RIFlags) (wasi.Size, wasi.ROFlags, wasi.Errno) {
	rec, c, ok := take[*capture.SockRecv](s)
	if !ok || c.FD != fd || c.Flags != flags || !sameLens(c.IOVecLens, iovs) {
		s.diverge(&capture.SockRecv{FD: fd, Flags: flags, IOVecLens: lensOf(iovs)})
	}
	scatter(iovs, c.Data)
	n, roFlags, errno := c.N, c.OutFlags, rec.Errno
	s.done(ctx)
	return n, roFlags, errno
}

func (s *System) SockSend(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.SIFlags) (wasi.Size, wasi.Errno) {
	rec, c, ok := take[*capture.SockSend](s)
	if !ok || c.FD != fd || c.Flags != flags || !sameLens(c.IOVecLens, iovs) || !sameData(c.Data, iovs) {
		s.diverge(&capture.SockSend{FD: fd, Flags: flags, IOVecLens: lensOf(iovs), Data: concat(iovs)})
	}
	n, errno := c.N, rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) SockShutdown(ctx context.Context, fd wasi.FD, flags wasi.SDFlags) wasi.Errno {
	rec, c, ok := take[*capture.SockShutdown](s)
	if !ok || c.FD != fd || c.Flags != flags {
		s.diverge(&capture.SockShutdown{FD: fd, Flags: flags})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

// The socket extension (wasi.Sockets). The Recorder records these calls
// whatever it wraps, so a System serving records implements them all.

var _ wasi.Sockets = (*System)(nil)

func (s *System) SockOpen(ctx context.Context, af wasi.AddressFamily, st wasi.SocketType, proto wasi.Protocol) (wasi.FD, wasi.Errno) {
	rec, c, ok := take[*capture.SockOpen](s)
	if !ok || c.Family != af || c.SockType != st || c.Protocol != proto {
		s.diverge(&capture.SockOpen{Family: af, SockType: st, Protocol: proto})
	}
	fd, errno := c.NewFD, rec.Errno
	if errno == wasi.ESUCCESS {
		s.forget(int64(fd))
	}
	s.done(ctx)
	return fd, errno
}

func (s *System) SockBind(ctx context.Context, fd wasi.FD, addr netip.AddrPort) wasi.Errno {
	rec, c, ok := take[*capture.SockBind](s)
	if !ok || c.FD != fd || c.Addr != addr {
		s.diverge(&capture.SockBind{FD: fd, Addr: addr})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) SockConnect(ctx context.Context, fd wasi.FD, addr netip.AddrPort) wasi.Errno {
	rec, c, ok := take[*capture.SockConnect](s)
	if !ok || c.FD != fd || c.Addr != addr {
		s.diverge(&capture.SockConnect{FD: fd, Addr: addr})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) SockListen(ctx context.Context, fd wasi.FD, backlog int32) wasi.Errno {
	rec, c, ok := take[*capture.SockListen](s)
	if !ok || c.FD != fd || c.Backlog != backlog {
		s.diverge(&capture.SockListen{FD: fd, Backlog: backlog})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) SockRecvFrom(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.RIFlags) (wasi.Size, wasi.ROFlags, netip.AddrPort, wasi.Errno) {
	rec, c, ok := take[*capture.SockRecvFrom](s)
	if !ok || c.FD != fd || c.Flags != flags || !sameLens(c.IOVecLens, iovs) {
		s.diverge(&capture.SockRecvFrom{FD: fd, Flags: flags, IOVecLens: lensOf(iovs)})
	}
	scatter(iovs, c.Data)
	n, roFlags, from, errno := c.N, c.OutFlags, c.Addr, rec.Errno
	s.done(ctx)
	return n, roFlags, from, errno
}

func (s *System) SockSendTo(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.SIFlags, addr netip.AddrPort) (wasi.Size, wasi.Errno) {
	rec, c, ok := take[*capture.SockSendTo](s)
	if !ok || c.FD != fd || c.Flags != flags || c.Addr != addr || !sameLens(c.IOVecLens, iovs) || !sameData(c.Data, iovs) {
		s.diverge(&capture.SockSendTo{FD: fd, Flags: flags, Addr: addr, IOVecLens: lensOf(iovs), Data: concat(iovs)})
	}
	n, errno := c.N, rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) SockGetOpt(ctx context.Context, fd wasi.FD, level wasi.SockOptLevel, name wasi.SockOpt, value []byte) (int, wasi.Errno) {
	rec, c, ok := take[*capture.SockGetOpt](s)
	if !ok || c.FD != fd || c.Level != level || c.Name != name || uint64(c.BufLen) != uint64(len(value)) {
		s.diverge(&capture.SockGetOpt{FD: fd, Level: level, Name: name, BufLen: uint32(min(len(value), 1<<32-1))})
	}
	n, errno := copy(value, c.Value), rec.Errno
	s.done(ctx)
	return n, errno
}

func (s *System) SockSetOpt(ctx context.Context, fd wasi.FD, level wasi.SockOptLevel, name wasi.SockOpt, value []byte) wasi.Errno {
	rec, c, ok := take[*capture.SockSetOpt](s)
	if !ok || c.FD != fd || c.Level != level || c.Name != name || !bytes.Equal(c.Value, value) {
		s.diverge(&capture.SockSetOpt{FD: fd, Level: level, Name: name, Value: bytes.Clone(value)})
	}
	errno := rec.Errno
	s.done(ctx)
	return errno
}

func (s *System) SockLocalAddr(ctx context.Context, fd wasi.FD) (netip.AddrPort, wasi.Errno) {
	rec, c, ok := take[*capture.SockGetLocalAddr](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.SockGetLocalAddr{FD: fd})
	}
	addr, errno := c.Addr, rec.Errno
	s.done(ctx)
	return addr, errno
}

func (s *System) SockPeerAddr(ctx context.Context, fd wasi.FD) (netip.AddrPort, wasi.Errno) {
	rec, c, ok := take[*capture.SockGetPeerAddr](s)
	if !ok || c.FD != fd {
		s.diverge(&capture.SockGetPeerAddr{FD: fd})
	}
	addr, errno := c.Addr, rec.Errno
	s.done(ctx)
	return addr, errno
}

func (s *System) SockAddrInfo(ctx context.Context, node, service string, hints wasi.AddrInfo, results []wasi.AddrInfo) (int, wasi.Errno) {
	rec, c, ok := take[*capture.SockGetAddrInfo](s)
	hints.Addr = netip.AddrPort{} // not part of the hints
	if !ok || c.Node != node || c.Service != service || c.Hints != hints ||
		uint64(c.Capacity) != uint64(len(results)) || len(c.Results) > len(results) {
		s.diverge(&capture.SockGetAddrInfo{Node: node, Service: service, Hints: hints, Capacity: uint32(min(len(results), 1<<32-1))})
	}
	n, errno := copy(results, c.Results), rec.Errno
	s.done(ctx)
	return n, errno
}
