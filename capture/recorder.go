package capture

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/timelake/timelake/wasi"
)

// Sink takes full buffers of encoded records. capture/spool implements it
// (compressing and writing them in the background).
type Sink interface {
	// Submit hands over buf holding `records` whole encoded records in
	// sequence order (first has sequence number firstSeq). The sink owns buf
	// afterwards. It returns an empty buffer (len 0, any cap) for the
	// recorder to fill next. It may block when the sink's bounded memory is
	// full: that is the backpressure on the guest.
	Submit(buf []byte, records int, firstSeq uint64) []byte
}

// Defaults of RecorderOptions.
const (
	DefaultBufferSize    = 1 << 20
	DefaultFlushInterval = time.Second
)

// RecorderOptions tune a Recorder. The zero value selects the defaults.
type RecorderOptions struct {
	// BufferSize: hand a buffer to the sink once it holds this many bytes
	// (default 1 MiB).
	BufferSize int
	// FlushInterval: also hand over a non-empty buffer at least this often
	// (default 1s), from a background ticker, even while the guest sleeps in
	// poll_oneoff. Negative disables the ticker.
	FlushInterval time.Duration
	// Trace, if set, receives one FormatCall line per call as it happens,
	// decoded from the record just encoded (so it shows what was recorded).
	Trace io.Writer
	// Clock returns monotonic nanoseconds since run start (default: time
	// since NewRecorder on Go's monotonic clock).
	Clock func() int64
}

// Recorder is a wasi.System that forwards every call to another System and
// appends one encoded record of it to an in-memory buffer, handed to a Sink
// when full, on Flush, on the flush ticker and on Close.
//
// Calls come from the guest goroutine; Flush, Records and the ticker may run
// on any goroutine. The buffer is guarded by a mutex that the guest takes
// once per call, uncontended except while a flush hands a buffer over.
type Recorder struct {
	sys        wasi.System
	sink       Sink
	clock      func() int64
	bufferSize int
	trace      io.Writer

	mu       sync.Mutex
	buf      []byte  // encoded records not yet submitted
	bufFirst uint64  // sequence number of the first record in buf
	bufCount int     // records in buf
	enc      Encoder // time base of buf
	rec      Record  // scratch for encoding, under mu

	// The guest goroutine's reusable call structs: passing a pointer to one
	// of them as a Call does not allocate.
	calls calls

	// Trace scratch, used by the guest goroutine only.
	traceBuf  []byte
	traceRec  Record
	traceTime int64

	stop     chan struct{} // closed by Close to stop the ticker
	stopped  chan struct{} // closed by the ticker goroutine when it returns
	stopOnce sync.Once
}

// calls holds one call struct per recorded function.
type calls struct {
	argsGet              ArgsGet
	argsSizesGet         ArgsSizesGet
	environGet           EnvironGet
	environSizesGet      EnvironSizesGet
	clockResGet          ClockResGet
	clockTimeGet         ClockTimeGet
	fdAdvise             FDAdvise
	fdAllocate           FDAllocate
	fdClose              FDClose
	fdDataSync           FDDataSync
	fdStatGet            FDStatGet
	fdStatSetFlags       FDStatSetFlags
	fdStatSetRights      FDStatSetRights
	fdFileStatGet        FDFileStatGet
	fdFileStatSetSize    FDFileStatSetSize
	fdFileStatSetTimes   FDFileStatSetTimes
	fdPread              FDPread
	fdPrestatGet         FDPrestatGet
	fdPrestatDirName     FDPrestatDirName
	fdPwrite             FDPwrite
	fdRead               FDRead
	fdReadDir            FDReadDir
	fdRenumber           FDRenumber
	fdSeek               FDSeek
	fdSync               FDSync
	fdTell               FDTell
	fdWrite              FDWrite
	pathCreateDirectory  PathCreateDirectory
	pathFileStatGet      PathFileStatGet
	pathFileStatSetTimes PathFileStatSetTimes
	pathLink             PathLink
	pathOpen             PathOpen
	pathReadLink         PathReadLink
	pathRemoveDirectory  PathRemoveDirectory
	pathRename           PathRename
	pathSymlink          PathSymlink
	pathUnlinkFile       PathUnlinkFile
	pollOneOff           PollOneOff
	procExit             ProcExit
	procRaise            ProcRaise
	schedYield           SchedYield
	randomGet            RandomGet
	sockAccept           SockAccept
	sockRecv             SockRecv
	sockSend             SockSend
	sockShutdown         SockShutdown
	sockOpen             SockOpen
	sockBind             SockBind
	sockConnect          SockConnect
	sockListen           SockListen
	sockRecvFrom         SockRecvFrom
	sockSendTo           SockSendTo
	sockGetOpt           SockGetOpt
	sockSetOpt           SockSetOpt
	sockGetLocalAddr     SockGetLocalAddr
	sockGetPeerAddr      SockGetPeerAddr
	sockGetAddrInfo      SockGetAddrInfo
}

var _ wasi.System = (*Recorder)(nil)

// NewRecorder returns a Recorder of sys submitting buffers to sink, and
// starts its flush ticker unless opts.FlushInterval is negative. Close it to
// stop the ticker and submit the last records.
func NewRecorder(sys wasi.System, sink Sink, opts RecorderOptions) *Recorder {
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	if opts.FlushInterval == 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Clock == nil {
		start := time.Now()
		opts.Clock = func() int64 { return int64(time.Since(start)) }
	}
	r := &Recorder{
		sys:        sys,
		sink:       sink,
		clock:      opts.Clock,
		bufferSize: opts.BufferSize,
		trace:      opts.Trace,
		// Room for one large record beyond the threshold before growing.
		buf:     make([]byte, 0, opts.BufferSize+opts.BufferSize/4),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	if opts.FlushInterval > 0 {
		go r.tick(opts.FlushInterval)
	} else {
		close(r.stopped)
	}
	return r
}

func (r *Recorder) tick(interval time.Duration) {
	defer close(r.stopped)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Flush()
		case <-r.stop:
			return
		}
	}
}

// Flush hands the current buffer to the sink now if it holds any record. It
// is safe to call from any goroutine.
func (r *Recorder) Flush() {
	r.mu.Lock()
	r.submitLocked()
	r.mu.Unlock()
}

func (r *Recorder) submitLocked() {
	if r.bufCount == 0 {
		return
	}
	next := r.sink.Submit(r.buf, r.bufCount, r.bufFirst)
	if cap(next) < r.bufferSize {
		// One allocation now rather than a series of doublings while the
		// guest appends.
		next = make([]byte, 0, r.bufferSize+r.bufferSize/4)
	}
	r.buf = next[:0]
	r.bufFirst += uint64(r.bufCount)
	r.bufCount = 0
	r.enc.Reset()
}

// Records returns how many records have been appended so far.
func (r *Recorder) Records() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bufFirst + uint64(r.bufCount)
}

// Close stops the flush ticker, submits the records still buffered, then
// closes the wrapped System. Calling it again only closes the System again.
func (r *Recorder) Close(ctx context.Context) error {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.stopped
	r.Flush()
	if err := r.sys.Close(ctx); err != nil {
		return fmt.Errorf("close recorded system: %w", err)
	}
	return nil
}

// record appends the record of a call that started at start (clock value)
// and whose fields are in c, submitting the buffer if it is full.
func (r *Recorder) record(c Call, start int64, errno wasi.Errno) {
	end := r.clock()
	r.mu.Lock()
	r.rec.Time = start
	r.rec.Duration = end - start
	r.rec.Errno = errno
	r.rec.Call = c
	off := len(r.buf)
	prevTime := r.enc.prevTime
	r.buf = r.enc.Append(r.buf, &r.rec)
	r.rec.Call = nil
	seq := r.bufFirst + uint64(r.bufCount)
	r.bufCount++
	if r.trace != nil {
		r.traceBuf = append(r.traceBuf[:0], r.buf[off:]...)
		r.traceTime = prevTime
	}
	if len(r.buf) >= r.bufferSize {
		r.submitLocked()
	}
	r.mu.Unlock()
	if r.trace != nil {
		r.printTrace(seq)
	}
}

// printTrace decodes the record copied to traceBuf and prints it.
func (r *Recorder) printTrace(seq uint64) {
	d := Decoder{r: reader{b: r.traceBuf}, seq: seq, time: r.traceTime}
	if err := d.Next(&r.traceRec); err != nil {
		// The encoder and decoder disagree: a bug worth seeing in the trace.
		fmt.Fprintf(r.trace, "capture: %v\n", err)
		return
	}
	FormatCall(r.trace, &r.traceRec)
}

// The wasi.System methods. Each forwards the call, fills the recorder's call
// struct for the function with arguments and results, and records it. Slices
// from the guest or the System are dropped from the struct after encoding so
// the recorder never retains them.

func (r *Recorder) ArgsSizesGet(ctx context.Context) (argc, bufSize wasi.Size, errno wasi.Errno) {
	t := r.clock()
	argc, bufSize, errno = r.sys.ArgsSizesGet(ctx)
	c := &r.calls.argsSizesGet
	c.Argc, c.BufSize = argc, bufSize
	r.record(c, t, errno)
	return argc, bufSize, errno
}

func (r *Recorder) ArgsGet(ctx context.Context) ([]string, wasi.Errno) {
	t := r.clock()
	args, errno := r.sys.ArgsGet(ctx)
	c := &r.calls.argsGet
	c.Args = args
	r.record(c, t, errno)
	c.Args = nil
	return args, errno
}

func (r *Recorder) EnvironSizesGet(ctx context.Context) (count, bufSize wasi.Size, errno wasi.Errno) {
	t := r.clock()
	count, bufSize, errno = r.sys.EnvironSizesGet(ctx)
	c := &r.calls.environSizesGet
	c.Count, c.BufSize = count, bufSize
	r.record(c, t, errno)
	return count, bufSize, errno
}

func (r *Recorder) EnvironGet(ctx context.Context) ([]string, wasi.Errno) {
	t := r.clock()
	env, errno := r.sys.EnvironGet(ctx)
	c := &r.calls.environGet
	c.Environ = env
	r.record(c, t, errno)
	c.Environ = nil
	return env, errno
}

func (r *Recorder) ClockResGet(ctx context.Context, id wasi.ClockID) (wasi.Timestamp, wasi.Errno) {
	t := r.clock()
	res, errno := r.sys.ClockResGet(ctx, id)
	c := &r.calls.clockResGet
	c.ID, c.Resolution = id, res
	r.record(c, t, errno)
	return res, errno
}

func (r *Recorder) ClockTimeGet(ctx context.Context, id wasi.ClockID, precision wasi.Timestamp) (wasi.Timestamp, wasi.Errno) {
	t := r.clock()
	ts, errno := r.sys.ClockTimeGet(ctx, id, precision)
	c := &r.calls.clockTimeGet
	c.ID, c.Precision, c.Time = id, precision, ts
	r.record(c, t, errno)
	return ts, errno
}

func (r *Recorder) FDAdvise(ctx context.Context, fd wasi.FD, offset, length wasi.Filesize, advice wasi.Advice) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDAdvise(ctx, fd, offset, length, advice)
	c := &r.calls.fdAdvise
	c.FD, c.Offset, c.Length, c.Advice = fd, offset, length, advice
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDAllocate(ctx context.Context, fd wasi.FD, offset, length wasi.Filesize) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDAllocate(ctx, fd, offset, length)
	c := &r.calls.fdAllocate
	c.FD, c.Offset, c.Length = fd, offset, length
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDClose(ctx context.Context, fd wasi.FD) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDClose(ctx, fd)
	c := &r.calls.fdClose
	c.FD = fd
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDDataSync(ctx context.Context, fd wasi.FD) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDDataSync(ctx, fd)
	c := &r.calls.fdDataSync
	c.FD = fd
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDStatGet(ctx context.Context, fd wasi.FD) (wasi.FDStat, wasi.Errno) {
	t := r.clock()
	stat, errno := r.sys.FDStatGet(ctx, fd)
	c := &r.calls.fdStatGet
	c.FD, c.Stat = fd, stat
	r.record(c, t, errno)
	return stat, errno
}

func (r *Recorder) FDStatSetFlags(ctx context.Context, fd wasi.FD, flags wasi.FDFlags) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDStatSetFlags(ctx, fd, flags)
	c := &r.calls.fdStatSetFlags
	c.FD, c.Flags = fd, flags
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDStatSetRights(ctx context.Context, fd wasi.FD, base, inheriting wasi.Rights) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDStatSetRights(ctx, fd, base, inheriting)
	c := &r.calls.fdStatSetRights
	c.FD, c.Base, c.Inheriting = fd, base, inheriting
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDFileStatGet(ctx context.Context, fd wasi.FD) (wasi.FileStat, wasi.Errno) {
	t := r.clock()
	stat, errno := r.sys.FDFileStatGet(ctx, fd)
	c := &r.calls.fdFileStatGet
	c.FD, c.Stat = fd, stat
	r.record(c, t, errno)
	return stat, errno
}

func (r *Recorder) FDFileStatSetSize(ctx context.Context, fd wasi.FD, size wasi.Filesize) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDFileStatSetSize(ctx, fd, size)
	c := &r.calls.fdFileStatSetSize
	c.FD, c.Size = fd, size
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDFileStatSetTimes(ctx context.Context, fd wasi.FD, atim, mtim wasi.Timestamp, flags wasi.FSTFlags) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDFileStatSetTimes(ctx, fd, atim, mtim, flags)
	c := &r.calls.fdFileStatSetTimes
	c.FD, c.ATim, c.MTim, c.Flags = fd, atim, mtim, flags
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDPread(ctx context.Context, fd wasi.FD, iovs [][]byte, offset wasi.Filesize) (wasi.Size, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.FDPread(ctx, fd, iovs, offset)
	c := &r.calls.fdPread
	c.FD, c.Offset, c.iovs, c.N = fd, offset, iovs, n
	r.record(c, t, errno)
	c.iovs = nil
	return n, errno
}

func (r *Recorder) FDPrestatGet(ctx context.Context, fd wasi.FD) (wasi.Prestat, wasi.Errno) {
	t := r.clock()
	ps, errno := r.sys.FDPrestatGet(ctx, fd)
	c := &r.calls.fdPrestatGet
	c.FD, c.Prestat = fd, ps
	r.record(c, t, errno)
	return ps, errno
}

func (r *Recorder) FDPrestatDirName(ctx context.Context, fd wasi.FD) (string, wasi.Errno) {
	t := r.clock()
	name, errno := r.sys.FDPrestatDirName(ctx, fd)
	c := &r.calls.fdPrestatDirName
	c.FD, c.Name = fd, name
	r.record(c, t, errno)
	c.Name = ""
	return name, errno
}

func (r *Recorder) FDPwrite(ctx context.Context, fd wasi.FD, iovs [][]byte, offset wasi.Filesize) (wasi.Size, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.FDPwrite(ctx, fd, iovs, offset)
	c := &r.calls.fdPwrite
	c.FD, c.Offset, c.iovs, c.N = fd, offset, iovs, n
	r.record(c, t, errno)
	c.iovs = nil
	return n, errno
}

func (r *Recorder) FDRead(ctx context.Context, fd wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.FDRead(ctx, fd, iovs)
	c := &r.calls.fdRead
	c.FD, c.iovs, c.N = fd, iovs, n
	r.record(c, t, errno)
	c.iovs = nil
	return n, errno
}

func (r *Recorder) FDReadDir(ctx context.Context, fd wasi.FD, entries []wasi.DirEntry, cookie wasi.DirCookie, bufLen int) (int, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.FDReadDir(ctx, fd, entries, cookie, bufLen)
	c := &r.calls.fdReadDir
	c.FD, c.Cookie, c.BufLen, c.Capacity = fd, cookie, clampU32(bufLen), clampU32(len(entries))
	c.Entries = entries[:max(0, min(n, len(entries)))]
	r.record(c, t, errno)
	c.Entries = nil
	return n, errno
}

func (r *Recorder) FDRenumber(ctx context.Context, from, to wasi.FD) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDRenumber(ctx, from, to)
	c := &r.calls.fdRenumber
	c.From, c.To = from, to
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDSeek(ctx context.Context, fd wasi.FD, offset wasi.FileDelta, whence wasi.Whence) (wasi.Filesize, wasi.Errno) {
	t := r.clock()
	pos, errno := r.sys.FDSeek(ctx, fd, offset, whence)
	c := &r.calls.fdSeek
	c.FD, c.Offset, c.Whence, c.NewOffset = fd, offset, whence, pos
	r.record(c, t, errno)
	return pos, errno
}

func (r *Recorder) FDSync(ctx context.Context, fd wasi.FD) wasi.Errno {
	t := r.clock()
	errno := r.sys.FDSync(ctx, fd)
	c := &r.calls.fdSync
	c.FD = fd
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) FDTell(ctx context.Context, fd wasi.FD) (wasi.Filesize, wasi.Errno) {
	t := r.clock()
	pos, errno := r.sys.FDTell(ctx, fd)
	c := &r.calls.fdTell
	c.FD, c.Offset = fd, pos
	r.record(c, t, errno)
	return pos, errno
}

func (r *Recorder) FDWrite(ctx context.Context, fd wasi.FD, iovs [][]byte) (wasi.Size, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.FDWrite(ctx, fd, iovs)
	c := &r.calls.fdWrite
	c.FD, c.iovs, c.N = fd, iovs, n
	r.record(c, t, errno)
	c.iovs = nil
	return n, errno
}

func (r *Recorder) PathCreateDirectory(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	t := r.clock()
	errno := r.sys.PathCreateDirectory(ctx, fd, path)
	c := &r.calls.pathCreateDirectory
	c.FD, c.Path = fd, path
	r.record(c, t, errno)
	c.Path = ""
	return errno
}

func (r *Recorder) PathFileStatGet(ctx context.Context, fd wasi.FD, flags wasi.LookupFlags, path string) (wasi.FileStat, wasi.Errno) {
	t := r.clock()
	stat, errno := r.sys.PathFileStatGet(ctx, fd, flags, path)
	c := &r.calls.pathFileStatGet
	c.FD, c.Flags, c.Path, c.Stat = fd, flags, path, stat
	r.record(c, t, errno)
	c.Path = ""
	return stat, errno
}

func (r *Recorder) PathFileStatSetTimes(ctx context.Context, fd wasi.FD, flags wasi.LookupFlags, path string, atim, mtim wasi.Timestamp, fstFlags wasi.FSTFlags) wasi.Errno {
	t := r.clock()
	errno := r.sys.PathFileStatSetTimes(ctx, fd, flags, path, atim, mtim, fstFlags)
	c := &r.calls.pathFileStatSetTimes
	c.FD, c.Flags, c.Path, c.ATim, c.MTim, c.FSTFlags = fd, flags, path, atim, mtim, fstFlags
	r.record(c, t, errno)
	c.Path = ""
	return errno
}

func (r *Recorder) PathLink(ctx context.Context, oldFD wasi.FD, oldFlags wasi.LookupFlags, oldPath string, newFD wasi.FD, newPath string) wasi.Errno {
	t := r.clock()
	errno := r.sys.PathLink(ctx, oldFD, oldFlags, oldPath, newFD, newPath)
	c := &r.calls.pathLink
	c.OldFD, c.OldFlags, c.OldPath, c.NewFD, c.NewPath = oldFD, oldFlags, oldPath, newFD, newPath
	r.record(c, t, errno)
	c.OldPath, c.NewPath = "", ""
	return errno
}

func (r *Recorder) PathOpen(ctx context.Context, fd wasi.FD, dirFlags wasi.LookupFlags, path string, oflags wasi.OFlags, rightsBase, rightsInheriting wasi.Rights, fdFlags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	t := r.clock()
	newFD, errno := r.sys.PathOpen(ctx, fd, dirFlags, path, oflags, rightsBase, rightsInheriting, fdFlags)
	c := &r.calls.pathOpen
	c.FD, c.DirFlags, c.Path, c.OFlags = fd, dirFlags, path, oflags
	c.RightsBase, c.RightsInheriting, c.FDFlags, c.NewFD = rightsBase, rightsInheriting, fdFlags, newFD
	r.record(c, t, errno)
	c.Path = ""
	return newFD, errno
}

func (r *Recorder) PathReadLink(ctx context.Context, fd wasi.FD, path string, buf []byte) (wasi.Size, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.PathReadLink(ctx, fd, path, buf)
	c := &r.calls.pathReadLink
	c.FD, c.Path, c.BufLen, c.N = fd, path, clampU32(len(buf)), n
	c.Data = buf[:min(int(n), len(buf))]
	r.record(c, t, errno)
	c.Path, c.Data = "", nil
	return n, errno
}

func (r *Recorder) PathRemoveDirectory(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	t := r.clock()
	errno := r.sys.PathRemoveDirectory(ctx, fd, path)
	c := &r.calls.pathRemoveDirectory
	c.FD, c.Path = fd, path
	r.record(c, t, errno)
	c.Path = ""
	return errno
}

func (r *Recorder) PathRename(ctx context.Context, fd wasi.FD, oldPath string, newFD wasi.FD, newPath string) wasi.Errno {
	t := r.clock()
	errno := r.sys.PathRename(ctx, fd, oldPath, newFD, newPath)
	c := &r.calls.pathRename
	c.FD, c.OldPath, c.NewFD, c.NewPath = fd, oldPath, newFD, newPath
	r.record(c, t, errno)
	c.OldPath, c.NewPath = "", ""
	return errno
}

func (r *Recorder) PathSymlink(ctx context.Context, oldPath string, fd wasi.FD, newPath string) wasi.Errno {
	t := r.clock()
	errno := r.sys.PathSymlink(ctx, oldPath, fd, newPath)
	c := &r.calls.pathSymlink
	c.OldPath, c.FD, c.NewPath = oldPath, fd, newPath
	r.record(c, t, errno)
	c.OldPath, c.NewPath = "", ""
	return errno
}

func (r *Recorder) PathUnlinkFile(ctx context.Context, fd wasi.FD, path string) wasi.Errno {
	t := r.clock()
	errno := r.sys.PathUnlinkFile(ctx, fd, path)
	c := &r.calls.pathUnlinkFile
	c.FD, c.Path = fd, path
	r.record(c, t, errno)
	c.Path = ""
	return errno
}

func (r *Recorder) PollOneOff(ctx context.Context, subs []wasi.Subscription, events []wasi.Event) (int, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.PollOneOff(ctx, subs, events)
	c := &r.calls.pollOneOff
	c.Subs = subs
	c.Events = events[:max(0, min(n, len(events)))]
	r.record(c, t, errno)
	c.Subs, c.Events = nil, nil
	return n, errno
}

func (r *Recorder) ProcExit(ctx context.Context, code wasi.ExitCode) wasi.Errno {
	t := r.clock()
	errno := r.sys.ProcExit(ctx, code)
	c := &r.calls.procExit
	c.Code = code
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) ProcRaise(ctx context.Context, sig wasi.Signal) wasi.Errno {
	t := r.clock()
	errno := r.sys.ProcRaise(ctx, sig)
	c := &r.calls.procRaise
	c.Signal = sig
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) SchedYield(ctx context.Context) wasi.Errno {
	t := r.clock()
	errno := r.sys.SchedYield(ctx)
	r.record(&r.calls.schedYield, t, errno)
	return errno
}

func (r *Recorder) RandomGet(ctx context.Context, buf []byte) wasi.Errno {
	t := r.clock()
	errno := r.sys.RandomGet(ctx, buf)
	c := &r.calls.randomGet
	c.Data = buf
	r.record(c, t, errno)
	c.Data = nil
	return errno
}

func (r *Recorder) SockAccept(ctx context.Context, fd wasi.FD, flags wasi.FDFlags) (wasi.FD, wasi.Errno) {
	t := r.clock()
	newFD, errno := r.sys.SockAccept(ctx, fd, flags)
	c := &r.calls.sockAccept
	c.FD, c.Flags, c.NewFD = fd, flags, newFD
	r.record(c, t, errno)
	return newFD, errno
}

func (r *Recorder) SockRecv(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.RIFlags) (wasi.Size, wasi.ROFlags, wasi.Errno) {
	t := r.clock()
	n, roFlags, errno := r.sys.SockRecv(ctx, fd, iovs, flags)
	c := &r.calls.sockRecv
	c.FD, c.Flags, c.iovs, c.N, c.OutFlags = fd, flags, iovs, n, roFlags
	r.record(c, t, errno)
	c.iovs = nil
	return n, roFlags, errno
}

func (r *Recorder) SockSend(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.SIFlags) (wasi.Size, wasi.Errno) {
	t := r.clock()
	n, errno := r.sys.SockSend(ctx, fd, iovs, flags)
	c := &r.calls.sockSend
	c.FD, c.Flags, c.iovs, c.N = fd, flags, iovs, n
	r.record(c, t, errno)
	c.iovs = nil
	return n, errno
}

func (r *Recorder) SockShutdown(ctx context.Context, fd wasi.FD, flags wasi.SDFlags) wasi.Errno {
	t := r.clock()
	errno := r.sys.SockShutdown(ctx, fd, flags)
	c := &r.calls.sockShutdown
	c.FD, c.Flags = fd, flags
	r.record(c, t, errno)
	return errno
}

// The socket extension. The Recorder implements wasi.Sockets whatever it
// wraps: calls go to the wrapped System's Sockets methods when it has them,
// and are answered (and recorded) as ENOSYS otherwise, which is what the
// binding answers for a System without sockets.

var _ wasi.Sockets = (*Recorder)(nil)

func (r *Recorder) sockets() wasi.Sockets {
	sk, _ := r.sys.(wasi.Sockets)
	return sk
}

func (r *Recorder) SockOpen(ctx context.Context, af wasi.AddressFamily, st wasi.SocketType, proto wasi.Protocol) (wasi.FD, wasi.Errno) {
	t := r.clock()
	var fd wasi.FD
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		fd, errno = sk.SockOpen(ctx, af, st, proto)
	}
	c := &r.calls.sockOpen
	c.Family, c.SockType, c.Protocol, c.NewFD = af, st, proto, fd
	r.record(c, t, errno)
	return fd, errno
}

func (r *Recorder) SockBind(ctx context.Context, fd wasi.FD, addr netip.AddrPort) wasi.Errno {
	t := r.clock()
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		errno = sk.SockBind(ctx, fd, addr)
	}
	c := &r.calls.sockBind
	c.FD, c.Addr = fd, addr
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) SockConnect(ctx context.Context, fd wasi.FD, addr netip.AddrPort) wasi.Errno {
	t := r.clock()
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		errno = sk.SockConnect(ctx, fd, addr)
	}
	c := &r.calls.sockConnect
	c.FD, c.Addr = fd, addr
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) SockListen(ctx context.Context, fd wasi.FD, backlog int32) wasi.Errno {
	t := r.clock()
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		errno = sk.SockListen(ctx, fd, backlog)
	}
	c := &r.calls.sockListen
	c.FD, c.Backlog = fd, backlog
	r.record(c, t, errno)
	return errno
}

func (r *Recorder) SockRecvFrom(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.RIFlags) (wasi.Size, wasi.ROFlags, netip.AddrPort, wasi.Errno) {
	t := r.clock()
	var (
		n       wasi.Size
		roFlags wasi.ROFlags
		from    netip.AddrPort
	)
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		n, roFlags, from, errno = sk.SockRecvFrom(ctx, fd, iovs, flags)
	}
	c := &r.calls.sockRecvFrom
	c.FD, c.Flags, c.iovs, c.N, c.OutFlags, c.Addr = fd, flags, iovs, n, roFlags, from
	r.record(c, t, errno)
	c.iovs = nil
	return n, roFlags, from, errno
}

func (r *Recorder) SockSendTo(ctx context.Context, fd wasi.FD, iovs [][]byte, flags wasi.SIFlags, addr netip.AddrPort) (wasi.Size, wasi.Errno) {
	t := r.clock()
	var n wasi.Size
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		n, errno = sk.SockSendTo(ctx, fd, iovs, flags, addr)
	}
	c := &r.calls.sockSendTo
	c.FD, c.Flags, c.Addr, c.iovs, c.N = fd, flags, addr, iovs, n
	r.record(c, t, errno)
	c.iovs = nil
	return n, errno
}

func (r *Recorder) SockGetOpt(ctx context.Context, fd wasi.FD, level wasi.SockOptLevel, name wasi.SockOpt, value []byte) (int, wasi.Errno) {
	t := r.clock()
	var n int
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		n, errno = sk.SockGetOpt(ctx, fd, level, name, value)
	}
	c := &r.calls.sockGetOpt
	c.FD, c.Level, c.Name, c.BufLen = fd, level, name, clampU32(len(value))
	c.Value = nil
	if errno == wasi.ESUCCESS {
		c.Value = value[:max(0, min(n, len(value)))]
	}
	r.record(c, t, errno)
	c.Value = nil
	return n, errno
}

func (r *Recorder) SockSetOpt(ctx context.Context, fd wasi.FD, level wasi.SockOptLevel, name wasi.SockOpt, value []byte) wasi.Errno {
	t := r.clock()
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		errno = sk.SockSetOpt(ctx, fd, level, name, value)
	}
	c := &r.calls.sockSetOpt
	c.FD, c.Level, c.Name, c.Value = fd, level, name, value
	r.record(c, t, errno)
	c.Value = nil
	return errno
}

func (r *Recorder) SockLocalAddr(ctx context.Context, fd wasi.FD) (netip.AddrPort, wasi.Errno) {
	t := r.clock()
	var addr netip.AddrPort
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		addr, errno = sk.SockLocalAddr(ctx, fd)
	}
	c := &r.calls.sockGetLocalAddr
	c.FD, c.Addr = fd, addr
	r.record(c, t, errno)
	return addr, errno
}

func (r *Recorder) SockPeerAddr(ctx context.Context, fd wasi.FD) (netip.AddrPort, wasi.Errno) {
	t := r.clock()
	var addr netip.AddrPort
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		addr, errno = sk.SockPeerAddr(ctx, fd)
	}
	c := &r.calls.sockGetPeerAddr
	c.FD, c.Addr = fd, addr
	r.record(c, t, errno)
	return addr, errno
}

func (r *Recorder) SockAddrInfo(ctx context.Context, node, service string, hints wasi.AddrInfo, results []wasi.AddrInfo) (int, wasi.Errno) {
	t := r.clock()
	var n int
	errno := wasi.ENOSYS
	if sk := r.sockets(); sk != nil {
		n, errno = sk.SockAddrInfo(ctx, node, service, hints, results)
	}
	c := &r.calls.sockGetAddrInfo
	c.Node, c.Service, c.Capacity = node, service, clampU32(len(results))
	c.Hints = wasi.AddrInfo{Flags: hints.Flags, Family: hints.Family, SockType: hints.SockType, Protocol: hints.Protocol}
	c.Results = nil
	if errno == wasi.ESUCCESS {
		c.Results = results[:max(0, min(n, len(results)))]
	}
	r.record(c, t, errno)
	c.Node, c.Service, c.Results = "", "", nil
	return n, errno
}

func clampU32(n int) uint32 {
	if n < 0 {
		return 0
	}
	if uint64(n) > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(n)
}
