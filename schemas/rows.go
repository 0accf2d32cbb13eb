package schemas

import (
	"bytes"
	"path"
	"strings"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/wasi"
)

// FDKind is what a guest fd refers to, as far as the records tell.
type FDKind uint8

// FD kinds; their numeric values are stored in compact's run state (JSON).
const (
	FDUnknown FDKind = iota // not opened by a recorded call (or already closed)
	FDStdio                 // one of the three standard streams
	FDDir                   // a preopened or opened directory
	FDFile                  // a file opened with path_open
	FDSocket                // a socket (sock_open, sock_accept, or one the run started with)
)

// FDInfo describes one open fd of a run.
type FDInfo struct {
	Kind FDKind    `json:"k"`
	Path string    `json:"p,omitempty"` // guest path (files, dirs), or stdin/stdout/stderr
	Sock *SockInfo `json:"s,omitempty"` // sockets: what the calls told of them
}

// FDTable tracks the fds of a run so that fd_* calls can be attributed to the
// stdio and fs tables and their rows carry the file's path. It is part of the
// state compact keeps for a run between segments, hence the JSON-friendly
// shape.
type FDTable map[uint32]FDInfo

// NewFDTable returns the table of a run at its start: the three standard
// streams, then one preopened directory per mount from fd 3 on (the order of
// segment.Metadata.Mounts).
func NewFDTable(mounts []string) FDTable {
	t := FDTable{
		0: {Kind: FDStdio, Path: "stdin"},
		1: {Kind: FDStdio, Path: "stdout"},
		2: {Kind: FDStdio, Path: "stderr"},
	}
	for i, m := range mounts {
		t[uint32(3+i)] = FDInfo{Kind: FDDir, Path: m}
	}
	return t
}

// Tables a function's records may produce rows in, besides calls (which every
// record produces). The mapping is total: FuncTables returns an entry for
// every wasi.Func below wasi.FuncCount, so nothing recorded is dropped. fd_*
// functions produce a stdio, fs or net row only when their fd is a standard
// stream, a file/directory or a socket; http rows come from the bytes of
// TCP sockets (and the close that cuts an exchange).
func FuncTables(f wasi.Func) []string {
	switch f {
	case wasi.FuncFDRead, wasi.FuncFDWrite:
		return []string{TableCalls, TableStdio, TableFS, TableNet, TableHTTP}
	case wasi.FuncFDPread, wasi.FuncFDPwrite:
		return []string{TableCalls, TableStdio, TableFS}
	case wasi.FuncFDClose:
		return []string{TableCalls, TableFS, TableNet, TableHTTP}
	case wasi.FuncFDAdvise, wasi.FuncFDAllocate, wasi.FuncFDDataSync,
		wasi.FuncFDStatGet, wasi.FuncFDStatSetFlags, wasi.FuncFDStatSetRights,
		wasi.FuncFDFileStatGet, wasi.FuncFDFileStatSetSize, wasi.FuncFDFileStatSetTimes,
		wasi.FuncFDPrestatGet, wasi.FuncFDPrestatDirName, wasi.FuncFDReadDir,
		wasi.FuncFDRenumber, wasi.FuncFDSeek, wasi.FuncFDSync, wasi.FuncFDTell,
		wasi.FuncPathCreateDirectory, wasi.FuncPathFileStatGet, wasi.FuncPathFileStatSetTimes,
		wasi.FuncPathLink, wasi.FuncPathOpen, wasi.FuncPathReadLink, wasi.FuncPathRemoveDirectory,
		wasi.FuncPathRename, wasi.FuncPathSymlink, wasi.FuncPathUnlinkFile:
		return []string{TableCalls, TableFS}
	case wasi.FuncArgsGet, wasi.FuncArgsSizesGet, wasi.FuncEnvironGet, wasi.FuncEnvironSizesGet,
		wasi.FuncClockResGet, wasi.FuncClockTimeGet, wasi.FuncPollOneOff, wasi.FuncProcExit,
		wasi.FuncProcRaise, wasi.FuncSchedYield, wasi.FuncRandomGet:
		return []string{TableCalls}
	case wasi.FuncSockRecv, wasi.FuncSockSend:
		return []string{TableCalls, TableNet, TableHTTP}
	case wasi.FuncSockAccept, wasi.FuncSockShutdown, wasi.FuncSockOpen, wasi.FuncSockBind,
		wasi.FuncSockConnect, wasi.FuncSockListen, wasi.FuncSockRecvFrom, wasi.FuncSockSendTo,
		wasi.FuncSockGetOpt, wasi.FuncSockSetOpt, wasi.FuncSockGetLocalAddr, wasi.FuncSockGetPeerAddr,
		wasi.FuncSockGetAddrInfo:
		return []string{TableCalls, TableNet}
	}
	return nil
}

// Builder turns the records of one run into table rows. Add appends the rows
// of one record to Calls, Stdio and FS; the caller hands them to the table
// writers and calls Reset. Row byte slices (Stdio.Data) alias the record's
// buffer, so rows must be written before that buffer is reused. In steady
// state Add allocates only the args string and strings the decoder already
// copied (paths).
type Builder struct {
	RunID   string  // the run's ID, copied into every row
	StartNS int64   // wall clock of the run's start, Unix ns
	FDs     FDTable // the run's fds, updated by every call that opens, closes or renumbers one

	Calls []Call
	Stdio []Stdio
	FS    []FS
	Net   []Net
	HTTP  []HTTP

	args  bytes.Buffer
	flags map[uint64]string // rendered flag sets, cached
	cur   *SockInfo         // the connection emitHTTP stamps rows with
}

// Reset empties the row slices, keeping their capacity.
func (b *Builder) Reset() {
	clear(b.Calls)
	clear(b.Stdio)
	clear(b.FS)
	clear(b.Net)
	clear(b.HTTP)
	b.Calls, b.Stdio, b.FS, b.Net, b.HTTP = b.Calls[:0], b.Stdio[:0], b.FS[:0], b.Net[:0], b.HTTP[:0]
}

// Link sets the optional (pointer) columns of the rows added since Reset.
// Rows keep optional values in unexported fields while the slices grow;
// call Link once before writing them.
func (b *Builder) Link() {
	for i := range b.Calls {
		b.Calls[i].link()
	}
	for i := range b.FS {
		b.FS[i].link()
	}
	for i := range b.Net {
		b.Net[i].link()
	}
}

// Call row optional-column presence bits, kept in the pointer fields as a
// sentinel until link.
const (
	hasFD = 1 << iota
	hasResult
	hasPath
	hasPath2
	hasSize
	hasOffset
	hasNewFD
	hasFiletype
)

// The pointer fields hold a non-nil placeholder while a row is being built;
// link replaces it by a pointer to the row's own backing field.
var (
	present    = new(int64)
	presentStr = new(string)
)

func (c *Call) link() {
	if c.FD != nil {
		c.FD = &c.fd
	}
	if c.Result != nil {
		c.Result = &c.result
	}
	if c.Path != nil {
		c.Path = &c.path
	}
}

func (r *FS) link() {
	if r.FD != nil {
		r.FD = &r.fd
	}
	if r.Path != nil {
		r.Path = &r.path
	}
	if r.Path2 != nil {
		r.Path2 = &r.path2
	}
	if r.Size != nil {
		r.Size = &r.size
	}
	if r.FileOffset != nil {
		r.FileOffset = &r.offset
	}
	if r.NewFD != nil {
		r.NewFD = &r.newFD
	}
	if r.Filetype != nil {
		r.Filetype = &r.filetype
	}
}

// callInfo is what the calls table needs from a call beyond the header.
type callInfo struct {
	fd       int64
	result   int64
	in, out  int64
	path     string
	has      int
	fsOp     string // non-empty: the call is a file-system operation on its fd (fd_*) or a path (path_*)
	pathCall bool   // a path_* call: always an fs row
	unknown  bool   // a call type describe has no case for (tests check there is none)
}

// Add appends the rows of rec.
func (b *Builder) Add(rec *capture.Record) {
	if b.FDs == nil {
		b.FDs = NewFDTable(nil)
	}
	ok := rec.Errno == wasi.ESUCCESS
	info := describe(rec.Call, ok)

	b.Calls = append(b.Calls, Call{
		RunID:      b.RunID,
		Seq:        int64(rec.Seq),
		Time:       (b.StartNS + rec.Time) / 1000,
		OffsetNS:   rec.Time,
		DurationNS: rec.Duration,
		Func:       rec.Func.String(),
		Errno:      rec.Errno.Name(),
		BytesIn:    info.in,
		BytesOut:   info.out,
		Args:       b.render(rec),
	})
	c := &b.Calls[len(b.Calls)-1]
	if info.has&hasFD != 0 {
		c.fd, c.FD = info.fd, present
	}
	if info.has&hasResult != 0 {
		c.result, c.Result = info.result, present
	}
	if info.has&hasPath != 0 {
		c.path, c.Path = info.path, presentStr
	}

	b.stdioRow(rec, ok)
	b.fsRow(rec, &info, ok)
	b.netRow(rec, ok)
	b.track(rec.Call, ok)
}

func (b *Builder) render(rec *capture.Record) string {
	b.args.Reset()
	capture.FormatCall(&b.args, rec)
	s := b.args.Bytes()
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	return string(s)
}

// describe extracts the calls columns of a call. Every concrete call type
// has a case: TestDescribeTotal checks it for every wasi.Func.
func describe(call capture.Call, ok bool) callInfo {
	var i callInfo
	fd := func(v wasi.FD) { i.fd, i.has = int64(v), i.has|hasFD }
	res := func(v int64) {
		if ok {
			i.result, i.has = v, i.has|hasResult
		}
	}
	pth := func(p string) { i.path, i.has = p, i.has|hasPath }
	in := func(n int) {
		if ok {
			i.in = int64(n)
		}
	}
	out := func(n wasi.Size) {
		if ok {
			i.out = int64(n)
		}
	}
	switch c := call.(type) {
	case *capture.ArgsGet:
		res(int64(len(c.Args)))
		in(stringsSize(c.Args))
	case *capture.ArgsSizesGet:
		res(int64(c.Argc))
	case *capture.EnvironGet:
		res(int64(len(c.Environ)))
		in(stringsSize(c.Environ))
	case *capture.EnvironSizesGet:
		res(int64(c.Count))
	case *capture.ClockResGet:
		res(int64(c.Resolution))
	case *capture.ClockTimeGet:
		res(int64(c.Time))
	case *capture.FDAdvise:
		fd(c.FD)
		i.fsOp = "advise"
	case *capture.FDAllocate:
		fd(c.FD)
		i.fsOp = "allocate"
	case *capture.FDClose:
		fd(c.FD)
		i.fsOp = "close"
	case *capture.FDDataSync:
		fd(c.FD)
		i.fsOp = "datasync"
	case *capture.FDStatGet:
		fd(c.FD)
		i.fsOp = "fdstat"
	case *capture.FDStatSetFlags:
		fd(c.FD)
		i.fsOp = "setflags"
	case *capture.FDStatSetRights:
		fd(c.FD)
		i.fsOp = "setrights"
	case *capture.FDFileStatGet:
		fd(c.FD)
		res(int64(c.Stat.Size))
		i.fsOp = "stat"
	case *capture.FDFileStatSetSize:
		fd(c.FD)
		i.fsOp = "truncate"
	case *capture.FDFileStatSetTimes:
		fd(c.FD)
		i.fsOp = "utimes"
	case *capture.FDPread:
		fd(c.FD)
		res(int64(c.N))
		in(len(c.Data))
		i.fsOp = "read"
	case *capture.FDPrestatGet:
		fd(c.FD)
		res(int64(c.Prestat.NameLen))
		i.fsOp = "prestat"
	case *capture.FDPrestatDirName:
		fd(c.FD)
		if ok {
			pth(c.Name)
		}
		in(len(c.Name))
		i.fsOp = "prestat"
	case *capture.FDPwrite:
		fd(c.FD)
		res(int64(c.N))
		out(c.N)
		i.fsOp = "write"
	case *capture.FDRead:
		fd(c.FD)
		res(int64(c.N))
		in(len(c.Data))
		i.fsOp = "read"
	case *capture.FDReadDir:
		fd(c.FD)
		res(int64(len(c.Entries)))
		n := 0
		for k := range c.Entries {
			n += c.Entries[k].SizeInBuffer()
		}
		in(min(n, int(c.BufLen)))
		i.fsOp = "readdir"
	case *capture.FDRenumber:
		fd(c.From)
		i.fsOp = "renumber"
	case *capture.FDSeek:
		fd(c.FD)
		res(int64(c.NewOffset))
		i.fsOp = "seek"
	case *capture.FDSync:
		fd(c.FD)
		i.fsOp = "sync"
	case *capture.FDTell:
		fd(c.FD)
		res(int64(c.Offset))
		i.fsOp = "tell"
	case *capture.FDWrite:
		fd(c.FD)
		res(int64(c.N))
		out(c.N)
		i.fsOp = "write"
	case *capture.PathCreateDirectory:
		fd(c.FD)
		pth(c.Path)
		i.fsOp, i.pathCall = "mkdir", true
	case *capture.PathFileStatGet:
		fd(c.FD)
		pth(c.Path)
		res(int64(c.Stat.Size))
		i.fsOp, i.pathCall = "stat", true
	case *capture.PathFileStatSetTimes:
		fd(c.FD)
		pth(c.Path)
		i.fsOp, i.pathCall = "utimes", true
	case *capture.PathLink:
		fd(c.OldFD)
		pth(c.OldPath)
		i.fsOp, i.pathCall = "link", true
	case *capture.PathOpen:
		fd(c.FD)
		pth(c.Path)
		res(int64(c.NewFD))
		i.fsOp, i.pathCall = "open", true
	case *capture.PathReadLink:
		fd(c.FD)
		pth(c.Path)
		res(int64(c.N))
		in(len(c.Data))
		i.fsOp, i.pathCall = "readlink", true
	case *capture.PathRemoveDirectory:
		fd(c.FD)
		pth(c.Path)
		i.fsOp, i.pathCall = "rmdir", true
	case *capture.PathRename:
		fd(c.FD)
		pth(c.OldPath)
		i.fsOp, i.pathCall = "rename", true
	case *capture.PathSymlink:
		fd(c.FD)
		pth(c.NewPath)
		i.fsOp, i.pathCall = "symlink", true
	case *capture.PathUnlinkFile:
		fd(c.FD)
		pth(c.Path)
		i.fsOp, i.pathCall = "unlink", true
	case *capture.PollOneOff:
		res(int64(len(c.Events)))
	case *capture.ProcExit:
		res(int64(c.Code))
	case *capture.ProcRaise:
		res(int64(c.Signal))
	case *capture.SchedYield:
	case *capture.RandomGet:
		res(int64(len(c.Data)))
		in(len(c.Data))
	case *capture.SockAccept:
		fd(c.FD)
		res(int64(c.NewFD))
	case *capture.SockRecv:
		fd(c.FD)
		res(int64(c.N))
		in(len(c.Data))
	case *capture.SockSend:
		fd(c.FD)
		res(int64(c.N))
		out(c.N)
	case *capture.SockShutdown:
		fd(c.FD)
	case *capture.SockOpen:
		res(int64(c.NewFD))
	case *capture.SockBind:
		fd(c.FD)
	case *capture.SockConnect:
		fd(c.FD)
	case *capture.SockListen:
		fd(c.FD)
	case *capture.SockRecvFrom:
		fd(c.FD)
		res(int64(c.N))
		in(len(c.Data))
	case *capture.SockSendTo:
		fd(c.FD)
		res(int64(c.N))
		out(c.N)
	case *capture.SockGetOpt:
		fd(c.FD)
		res(int64(len(c.Value)))
		in(len(c.Value))
	case *capture.SockSetOpt:
		fd(c.FD)
	case *capture.SockGetLocalAddr:
		fd(c.FD)
	case *capture.SockGetPeerAddr:
		fd(c.FD)
	case *capture.SockGetAddrInfo:
		res(int64(len(c.Results)))
	default:
		// Unreachable for the function table this package was built with;
		// a newer capture with more functions still gets its calls row.
		i.unknown = true
	}
	return i
}

func stringsSize(ss []string) int {
	n := 0
	for _, s := range ss {
		n += len(s) + 1
	}
	return n
}

// stdioRow appends a stdio row for a successful transfer on a standard stream.
func (b *Builder) stdioRow(rec *capture.Record, ok bool) {
	if !ok {
		return
	}
	var fd wasi.FD
	var data []byte
	switch c := rec.Call.(type) {
	case *capture.FDRead:
		fd, data = c.FD, c.Data
	case *capture.FDPread:
		fd, data = c.FD, c.Data
	case *capture.FDWrite:
		fd, data = c.FD, c.Data[:min(int(c.N), len(c.Data))]
	case *capture.FDPwrite:
		fd, data = c.FD, c.Data[:min(int(c.N), len(c.Data))]
	default:
		return
	}
	fi, known := b.FDs[fd]
	if !known || fi.Kind != FDStdio || len(data) == 0 {
		return
	}
	b.Stdio = append(b.Stdio, Stdio{
		RunID:    b.RunID,
		Seq:      int64(rec.Seq),
		Time:     (b.StartNS + rec.Time) / 1000,
		OffsetNS: rec.Time,
		FD:       int64(fd),
		Stream:   fi.Path,
		Data:     data,
		Size:     int64(len(data)),
	})
}

// fsRow appends an fs row for path_* calls and fd_* calls on files and
// directories (prestat calls always: they probe for preopened directories).
func (b *Builder) fsRow(rec *capture.Record, info *callInfo, ok bool) {
	if info.fsOp == "" {
		return
	}
	fi, known := b.FDs[uint32(info.fd)]
	_, prestat := rec.Call.(*capture.FDPrestatGet)
	_, prestatName := rec.Call.(*capture.FDPrestatDirName)
	if !info.pathCall && !prestat && !prestatName && (!known || (fi.Kind != FDFile && fi.Kind != FDDir)) {
		return
	}
	b.FS = append(b.FS, FS{
		RunID:    b.RunID,
		Seq:      int64(rec.Seq),
		Time:     (b.StartNS + rec.Time) / 1000,
		OffsetNS: rec.Time,
		Func:     rec.Func.String(),
		Op:       info.fsOp,
		Errno:    rec.Errno.Name(),
	})
	r := &b.FS[len(b.FS)-1]
	r.fd, r.FD = info.fd, present
	setPath := func(p string) { r.path, r.Path = p, presentStr }
	setPath2 := func(p string) { r.path2, r.Path2 = p, presentStr }
	setSize := func(n int64) { r.size, r.Size = n, present }
	setOffset := func(n int64) { r.offset, r.FileOffset = n, present }
	setType := func(t wasi.Filetype) { r.filetype, r.Filetype = t.String(), presentStr }
	resolve := func(dirFD wasi.FD, p string) string {
		if d, ok := b.FDs[dirFD]; ok && d.Kind == FDDir && d.Path != "" && !strings.HasPrefix(p, "/") {
			return path.Join(d.Path, p)
		}
		return p
	}
	if !info.pathCall && known && fi.Path != "" {
		setPath(fi.Path)
	}
	switch c := rec.Call.(type) {
	case *capture.FDAdvise:
		setOffset(int64(c.Offset))
		setSize(int64(c.Length))
	case *capture.FDAllocate:
		setOffset(int64(c.Offset))
		setSize(int64(c.Length))
	case *capture.FDStatGet:
		if ok {
			setType(c.Stat.Filetype)
			r.Flags = b.flagString(1, uint64(c.Stat.Flags), fdFlagNames)
		}
	case *capture.FDStatSetFlags:
		r.Flags = b.flagString(1, uint64(c.Flags), fdFlagNames)
	case *capture.FDFileStatGet:
		if ok {
			setSize(int64(c.Stat.Size))
			setType(c.Stat.Filetype)
		}
	case *capture.FDFileStatSetSize:
		setSize(int64(c.Size))
	case *capture.FDPread:
		setOffset(int64(c.Offset))
		if ok {
			setSize(int64(c.N))
		}
	case *capture.FDPwrite:
		setOffset(int64(c.Offset))
		if ok {
			setSize(int64(c.N))
		}
	case *capture.FDRead:
		if ok {
			setSize(int64(c.N))
		}
	case *capture.FDWrite:
		if ok {
			setSize(int64(c.N))
		}
	case *capture.FDReadDir:
		if ok {
			setSize(int64(len(c.Entries)))
		}
	case *capture.FDPrestatDirName:
		if ok {
			setPath(c.Name)
			setType(wasi.FiletypeDirectory)
		}
	case *capture.FDPrestatGet:
		if ok {
			setType(wasi.FiletypeDirectory)
		}
	case *capture.FDRenumber:
		setPath2(fdName(c.To))
	case *capture.FDSeek:
		r.Flags = b.enumString(2, uint64(c.Whence), whenceNames)
		if ok {
			setOffset(int64(c.NewOffset))
		}
	case *capture.FDTell:
		if ok {
			setOffset(int64(c.Offset))
		}
	case *capture.PathCreateDirectory:
		setPath(resolve(c.FD, c.Path))
	case *capture.PathFileStatGet:
		setPath(resolve(c.FD, c.Path))
		r.Flags = b.flagString(3, uint64(c.Flags), lookupFlagNames)
		if ok {
			setSize(int64(c.Stat.Size))
			setType(c.Stat.Filetype)
		}
	case *capture.PathFileStatSetTimes:
		setPath(resolve(c.FD, c.Path))
		r.Flags = b.flagString(3, uint64(c.Flags), lookupFlagNames)
	case *capture.PathLink:
		setPath(resolve(c.OldFD, c.OldPath))
		setPath2(resolve(c.NewFD, c.NewPath))
		r.Flags = b.flagString(3, uint64(c.OldFlags), lookupFlagNames)
	case *capture.PathOpen:
		setPath(resolve(c.FD, c.Path))
		r.Flags = b.flagString(4, uint64(c.OFlags)|uint64(c.FDFlags)<<8|uint64(c.DirFlags)<<16, openFlagNames)
		if ok {
			r.newFD, r.NewFD = int64(c.NewFD), present
		}
	case *capture.PathReadLink:
		setPath(resolve(c.FD, c.Path))
		if ok {
			setPath2(string(c.Data))
			setSize(int64(c.N))
		}
	case *capture.PathRemoveDirectory:
		setPath(resolve(c.FD, c.Path))
	case *capture.PathRename:
		setPath(resolve(c.FD, c.OldPath))
		setPath2(resolve(c.NewFD, c.NewPath))
	case *capture.PathSymlink:
		setPath(resolve(c.FD, c.NewPath))
		setPath2(c.OldPath)
	case *capture.PathUnlinkFile:
		setPath(resolve(c.FD, c.Path))
	}
}

func fdName(fd wasi.FD) string {
	var buf [16]byte
	b := append(buf[:0], "fd "...)
	return string(appendUint(b, uint64(fd)))
}

func appendUint(b []byte, v uint64) []byte {
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, d[i:]...)
}

// track applies the effect of a successful call on the fd table.
func (b *Builder) track(call capture.Call, ok bool) {
	if !ok {
		return
	}
	switch c := call.(type) {
	case *capture.FDPrestatGet:
		if fi := b.FDs[c.FD]; fi.Kind != FDDir {
			b.FDs[c.FD] = FDInfo{Kind: FDDir}
		}
	case *capture.FDPrestatDirName:
		b.FDs[c.FD] = FDInfo{Kind: FDDir, Path: c.Name}
	case *capture.PathOpen:
		kind := FDFile
		if c.OFlags&wasi.OFlagDirectory != 0 {
			kind = FDDir
		}
		p := c.Path
		if d, ok := b.FDs[c.FD]; ok && d.Kind == FDDir && d.Path != "" && !strings.HasPrefix(p, "/") {
			p = path.Join(d.Path, p)
		}
		b.FDs[c.NewFD] = FDInfo{Kind: kind, Path: p}
	case *capture.FDClose:
		delete(b.FDs, c.FD)
	case *capture.FDRenumber:
		if fi, ok := b.FDs[c.From]; ok {
			b.FDs[c.To] = fi
		} else {
			delete(b.FDs, c.To)
		}
		delete(b.FDs, c.From)
	}
}

var (
	fdFlagNames     = []string{"APPEND", "DSYNC", "NONBLOCK", "RSYNC", "SYNC"}
	lookupFlagNames = []string{"SYMLINK_FOLLOW"}
	whenceNames     = []string{"SET", "CUR", "END"}
	// openFlagNames covers path_open's three flag sets packed in one word:
	// oflags in bits 0-7, fdflags in bits 8-15, lookup flags in bits 16-23.
	openFlagNames = func() []string {
		n := make([]string, 24)
		copy(n[0:], []string{"CREAT", "DIRECTORY", "EXCL", "TRUNC"})
		copy(n[8:], fdFlagNames)
		copy(n[16:], lookupFlagNames)
		return n
	}()
)

// flagString renders the bits of v with names, caching the result per
// (kind, v) so a run's repeated flag sets allocate once.
func (b *Builder) flagString(kind uint64, v uint64, names []string) string {
	key := kind<<56 | v
	if s, ok := b.flags[key]; ok {
		return s
	}
	var sb strings.Builder
	for i := 0; v>>i != 0; i++ {
		if v&(1<<i) == 0 {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('|')
		}
		if i < len(names) && names[i] != "" {
			sb.WriteString(names[i])
		} else {
			sb.WriteString("BIT")
			sb.Write(appendUint(nil, uint64(i)))
		}
	}
	return b.cache(key, sb.String())
}

func (b *Builder) enumString(kind uint64, v uint64, names []string) string {
	key := kind<<56 | v
	if s, ok := b.flags[key]; ok {
		return s
	}
	s := string(appendUint(nil, v))
	if v < uint64(len(names)) {
		s = names[v]
	}
	return b.cache(key, s)
}

func (b *Builder) cache(key uint64, s string) string {
	if b.flags == nil {
		b.flags = make(map[uint64]string)
	}
	b.flags[key] = s
	return s
}
