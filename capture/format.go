package capture

import (
	"io"
	"net/netip"
	"strconv"

	"github.com/timelake/timelake/wasi"
)

// maxQuoted is how many bytes of a byte string FormatCall prints before
// eliding the rest with "…".
const maxQuoted = 32

// FormatCall writes one strace-style line (newline terminated) describing
// rec, such as
//
//	fd_write(fd=1, "hello\n") = 6
//	path_open(fd=3, dirflags=SYMLINK_FOLLOW, path="a.txt", oflags=CREAT|TRUNC, …) = 4
//	fd_close(fd=9) = EBADF
//
// Byte strings are quoted with Go escapes (\n, \t, \r, \", \\ and \xNN for
// other bytes outside printable ASCII) and cut after 32 bytes; a failed
// call shows its errno name instead of its results. Write errors of w are
// ignored: the trace is best effort and must not fail the call it describes.
func FormatCall(w io.Writer, rec *Record) {
	p := printer{b: make([]byte, 0, 128)}
	if rec.Call == nil {
		p.str(rec.Func.String())
		p.str("(?")
		p.retZero(rec.Errno)
	} else {
		p.str(rec.Call.Func().String())
		p.b = append(p.b, '(')
		rec.Call.format(&p, rec.Errno)
	}
	p.b = append(p.b, '\n')
	_, _ = w.Write(p.b)
}

// printer accumulates one line.
type printer struct {
	b    []byte
	args int // arguments written so far, for separators
}

func (p *printer) str(s string) { p.b = append(p.b, s...) }

func (p *printer) sep() {
	if p.args > 0 {
		p.str(", ")
	}
	p.args++
}

// name starts an argument "name=".
func (p *printer) name(name string) {
	p.sep()
	p.str(name)
	p.b = append(p.b, '=')
}

func (p *printer) uint(name string, v uint64) {
	p.name(name)
	p.b = strconv.AppendUint(p.b, v, 10)
}

func (p *printer) int(name string, v int64) {
	p.name(name)
	p.b = strconv.AppendInt(p.b, v, 10)
}

func (p *printer) hex(name string, v uint64) {
	p.name(name)
	p.str("0x")
	p.b = strconv.AppendUint(p.b, v, 16)
}

func (p *printer) word(name, v string) {
	p.name(name)
	p.str(v)
}

func (p *printer) path(name, path string) {
	p.name(name)
	p.quote([]byte(path))
}

// data prints an unnamed quoted byte string argument, as strace does.
func (p *printer) data(d []byte) {
	p.sep()
	p.quote(d)
}

func (p *printer) quote(d []byte) {
	cut := len(d) > maxQuoted
	if cut {
		d = d[:maxQuoted]
	}
	p.b = append(p.b, '"')
	for _, c := range d {
		switch c {
		case '"', '\\':
			p.b = append(p.b, '\\', c)
		case '\n':
			p.str(`\n`)
		case '\r':
			p.str(`\r`)
		case '\t':
			p.str(`\t`)
		default:
			if c < 0x20 || c >= 0x7f {
				const hexDigits = "0123456789abcdef"
				p.b = append(p.b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			} else {
				p.b = append(p.b, c)
			}
		}
	}
	p.b = append(p.b, '"')
	if cut {
		p.str("…")
	}
}

func (p *printer) iovecs(lens []uint32) {
	p.name("iovs")
	p.b = append(p.b, '[')
	for i, l := range lens {
		if i > 0 {
			p.str(", ")
		}
		p.b = strconv.AppendUint(p.b, uint64(l), 10)
	}
	p.b = append(p.b, ']')
}

func (p *printer) strings(ss []string) {
	p.b = append(p.b, '[')
	for i, s := range ss {
		if i > 0 {
			p.str(", ")
		}
		p.quote([]byte(s))
	}
	p.b = append(p.b, ']')
}

// flags prints the names of the bits set in v (names[i] is bit i), unknown
// bits in hex, or 0.
func (p *printer) flags(name string, v uint64, names ...string) {
	p.name(name)
	p.flagBits(v, names...)
}

func (p *printer) flagBits(v uint64, names ...string) {
	if v == 0 {
		p.b = append(p.b, '0')
		return
	}
	first := true
	for i, n := range names {
		if v&(1<<i) == 0 {
			continue
		}
		if !first {
			p.b = append(p.b, '|')
		}
		first = false
		p.str(n)
		v &^= 1 << i
	}
	if v != 0 {
		if !first {
			p.b = append(p.b, '|')
		}
		p.str("0x")
		p.b = strconv.AppendUint(p.b, v, 16)
	}
}

// ret closes the argument list and starts the result. It reports whether the
// call succeeded; if not it has written the errno name and the caller writes
// nothing more.
func (p *printer) ret(errno wasi.Errno) bool {
	p.str(") = ")
	if errno != wasi.ESUCCESS {
		p.str(errno.Name())
		return false
	}
	return true
}

// retZero finishes a call that has no result but its errno.
func (p *printer) retZero(errno wasi.Errno) {
	if p.ret(errno) {
		p.b = append(p.b, '0')
	}
}

func (p *printer) retUint(errno wasi.Errno, v uint64) {
	if p.ret(errno) {
		p.b = strconv.AppendUint(p.b, v, 10)
	}
}

// retFields prints results as "{a=1, b=2}" through fn.
func (p *printer) retFields(errno wasi.Errno, fn func()) {
	if p.ret(errno) {
		p.b = append(p.b, '{')
		p.args = 0
		fn()
		p.b = append(p.b, '}')
	}
}

func (p *printer) fileStat(s *wasi.FileStat) {
	p.uint("dev", s.Dev)
	p.uint("ino", s.Ino)
	p.word("filetype", s.Filetype.String())
	p.uint("nlink", s.NLink)
	p.uint("size", s.Size)
	p.uint("atim", s.ATim)
	p.uint("mtim", s.MTim)
	p.uint("ctim", s.CTim)
}

var (
	fdFlagNames     = []string{"APPEND", "DSYNC", "NONBLOCK", "RSYNC", "SYNC"}
	oFlagNames      = []string{"CREAT", "DIRECTORY", "EXCL", "TRUNC"}
	lookupFlagNames = []string{"SYMLINK_FOLLOW"}
	fstFlagNames    = []string{"ATIM", "ATIM_NOW", "MTIM", "MTIM_NOW"}
	riFlagNames     = []string{"RECV_PEEK", "RECV_WAITALL"}
	roFlagNames     = []string{"RECV_DATA_TRUNCATED"}
	sdFlagNames     = []string{"RD", "WR"}
	subclockNames   = []string{"ABSTIME"}
	eventRWNames    = []string{"HANGUP"}
	clockNames      = []string{"realtime", "monotonic", "process_cputime", "thread_cputime"}
	whenceNames     = []string{"set", "cur", "end"}
	adviceNames     = []string{"normal", "sequential", "random", "willneed", "dontneed", "noreuse"}
	eventTypeNames  = []string{"clock", "fd_read", "fd_write"}
)

// enum prints names[v], or v in decimal if it has no name.
func (p *printer) enum(name string, v uint64, names []string) {
	p.name(name)
	if v < uint64(len(names)) {
		p.str(names[v])
	} else {
		p.b = strconv.AppendUint(p.b, v, 10)
	}
}

func (c *ArgsGet) format(p *printer, errno wasi.Errno) {
	if p.ret(errno) {
		p.strings(c.Args)
	}
}

func (c *ArgsSizesGet) format(p *printer, errno wasi.Errno) {
	p.retFields(errno, func() {
		p.uint("argc", uint64(c.Argc))
		p.uint("size", uint64(c.BufSize))
	})
}

func (c *EnvironGet) format(p *printer, errno wasi.Errno) {
	if p.ret(errno) {
		p.strings(c.Environ)
	}
}

func (c *EnvironSizesGet) format(p *printer, errno wasi.Errno) {
	p.retFields(errno, func() {
		p.uint("count", uint64(c.Count))
		p.uint("size", uint64(c.BufSize))
	})
}

func (c *ClockResGet) format(p *printer, errno wasi.Errno) {
	p.enum("id", uint64(c.ID), clockNames)
	p.retUint(errno, c.Resolution)
}

func (c *ClockTimeGet) format(p *printer, errno wasi.Errno) {
	p.enum("id", uint64(c.ID), clockNames)
	p.uint("precision", c.Precision)
	p.retUint(errno, c.Time)
}

func (c *FDAdvise) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.uint("offset", c.Offset)
	p.uint("len", c.Length)
	p.enum("advice", uint64(c.Advice), adviceNames)
	p.retZero(errno)
}

func (c *FDAllocate) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.uint("offset", c.Offset)
	p.uint("len", c.Length)
	p.retZero(errno)
}

func (c *FDClose) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.retZero(errno)
}

func (c *FDDataSync) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.retZero(errno)
}

func (c *FDStatGet) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.retFields(errno, func() {
		p.word("filetype", c.Stat.Filetype.String())
		p.flags("flags", uint64(c.Stat.Flags), fdFlagNames...)
		p.hex("rights", uint64(c.Stat.RightsBase))
		p.hex("inheriting", uint64(c.Stat.RightsInheriting))
	})
}

func (c *FDStatSetFlags) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.flags("flags", uint64(c.Flags), fdFlagNames...)
	p.retZero(errno)
}

func (c *FDStatSetRights) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.hex("base", uint64(c.Base))
	p.hex("inheriting", uint64(c.Inheriting))
	p.retZero(errno)
}

func (c *FDFileStatGet) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.retFields(errno, func() { p.fileStat(&c.Stat) })
}

func (c *FDFileStatSetSize) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.uint("size", c.Size)
	p.retZero(errno)
}

func (c *FDFileStatSetTimes) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.uint("atim", c.ATim)
	p.uint("mtim", c.MTim)
	p.flags("flags", uint64(c.Flags), fstFlagNames...)
	p.retZero(errno)
}

func (c *FDPread) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	p.iovecs(c.IOVecLens)
	p.uint("offset", c.Offset)
	p.retUint(errno, uint64(c.N))
}

func (c *FDPrestatGet) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.retFields(errno, func() {
		if c.Prestat.Type == wasi.PreopenDir {
			p.word("type", "dir")
		} else {
			p.uint("type", uint64(c.Prestat.Type))
		}
		p.uint("name_len", uint64(c.Prestat.NameLen))
	})
}

func (c *FDPrestatDirName) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	if p.ret(errno) {
		p.quote([]byte(c.Name))
	}
}

func (c *FDPwrite) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	if len(c.IOVecLens) > 1 {
		p.iovecs(c.IOVecLens)
	}
	p.uint("offset", c.Offset)
	p.retUint(errno, uint64(c.N))
}

func (c *FDRead) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	p.iovecs(c.IOVecLens)
	p.retUint(errno, uint64(c.N))
}

func (c *FDReadDir) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.uint("cookie", c.Cookie)
	p.uint("buflen", uint64(c.BufLen))
	if !p.ret(errno) {
		return
	}
	p.b = strconv.AppendInt(p.b, int64(len(c.Entries)), 10)
	p.str(" [")
	for i := range c.Entries {
		if i > 0 {
			p.str(", ")
		}
		p.quote(c.Entries[i].Name)
	}
	p.b = append(p.b, ']')
}

func (c *FDRenumber) format(p *printer, errno wasi.Errno) {
	p.uint("from", uint64(c.From))
	p.uint("to", uint64(c.To))
	p.retZero(errno)
}

func (c *FDSeek) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.int("offset", c.Offset)
	p.enum("whence", uint64(c.Whence), whenceNames)
	p.retUint(errno, c.NewOffset)
}

func (c *FDSync) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.retZero(errno)
}

func (c *FDTell) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.retUint(errno, c.Offset)
}

func (c *FDWrite) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	if len(c.IOVecLens) > 1 {
		p.iovecs(c.IOVecLens)
	}
	p.retUint(errno, uint64(c.N))
}

func (c *PathCreateDirectory) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.path("path", c.Path)
	p.retZero(errno)
}

func (c *PathFileStatGet) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.flags("flags", uint64(c.Flags), lookupFlagNames...)
	p.path("path", c.Path)
	p.retFields(errno, func() { p.fileStat(&c.Stat) })
}

func (c *PathFileStatSetTimes) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.flags("flags", uint64(c.Flags), lookupFlagNames...)
	p.path("path", c.Path)
	p.uint("atim", c.ATim)
	p.uint("mtim", c.MTim)
	p.flags("fst_flags", uint64(c.FSTFlags), fstFlagNames...)
	p.retZero(errno)
}

func (c *PathLink) format(p *printer, errno wasi.Errno) {
	p.uint("old_fd", uint64(c.OldFD))
	p.flags("old_flags", uint64(c.OldFlags), lookupFlagNames...)
	p.path("old_path", c.OldPath)
	p.uint("new_fd", uint64(c.NewFD))
	p.path("new_path", c.NewPath)
	p.retZero(errno)
}

func (c *PathOpen) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.flags("dirflags", uint64(c.DirFlags), lookupFlagNames...)
	p.path("path", c.Path)
	p.flags("oflags", uint64(c.OFlags), oFlagNames...)
	p.hex("rights", uint64(c.RightsBase))
	p.hex("inheriting", uint64(c.RightsInheriting))
	p.flags("fdflags", uint64(c.FDFlags), fdFlagNames...)
	p.retUint(errno, uint64(c.NewFD))
}

func (c *PathReadLink) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.path("path", c.Path)
	p.data(c.Data)
	p.uint("buflen", uint64(c.BufLen))
	p.retUint(errno, uint64(c.N))
}

func (c *PathRemoveDirectory) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.path("path", c.Path)
	p.retZero(errno)
}

func (c *PathRename) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.path("old_path", c.OldPath)
	p.uint("new_fd", uint64(c.NewFD))
	p.path("new_path", c.NewPath)
	p.retZero(errno)
}

func (c *PathSymlink) format(p *printer, errno wasi.Errno) {
	p.path("old_path", c.OldPath)
	p.uint("fd", uint64(c.FD))
	p.path("new_path", c.NewPath)
	p.retZero(errno)
}

func (c *PathUnlinkFile) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.path("path", c.Path)
	p.retZero(errno)
}

func (c *PollOneOff) format(p *printer, errno wasi.Errno) {
	p.name("subs")
	p.b = append(p.b, '[')
	for i := range c.Subs {
		s := &c.Subs[i]
		if i > 0 {
			p.str(", ")
		}
		p.b = append(p.b, '{')
		p.args = 0
		p.uint("userdata", s.UserData)
		switch s.EventType {
		case wasi.EventTypeClock:
			p.enum("clock", uint64(s.ClockID), clockNames)
			p.uint("timeout", s.Timeout)
			p.uint("precision", s.Precision)
			p.flags("flags", uint64(s.Flags), subclockNames...)
		default:
			p.enum("type", uint64(s.EventType), eventTypeNames)
			p.uint("fd", uint64(s.FD))
		}
		p.b = append(p.b, '}')
	}
	p.b = append(p.b, ']')
	p.args = 1
	if !p.ret(errno) {
		return
	}
	p.b = strconv.AppendInt(p.b, int64(len(c.Events)), 10)
	p.str(" [")
	for i := range c.Events {
		e := &c.Events[i]
		if i > 0 {
			p.str(", ")
		}
		p.b = append(p.b, '{')
		p.args = 0
		p.uint("userdata", e.UserData)
		p.enum("type", uint64(e.EventType), eventTypeNames)
		if e.Errno != wasi.ESUCCESS {
			p.word("errno", e.Errno.Name())
		}
		if e.EventType != wasi.EventTypeClock {
			p.uint("nbytes", e.NBytes)
			p.flags("flags", uint64(e.Flags), eventRWNames...)
		}
		p.b = append(p.b, '}')
	}
	p.b = append(p.b, ']')
}

func (c *ProcExit) format(p *printer, errno wasi.Errno) {
	p.uint("code", uint64(c.Code))
	p.retZero(errno)
}

func (c *ProcRaise) format(p *printer, errno wasi.Errno) {
	p.uint("sig", uint64(c.Signal))
	p.retZero(errno)
}

func (c *SchedYield) format(p *printer, errno wasi.Errno) { p.retZero(errno) }

func (c *RandomGet) format(p *printer, errno wasi.Errno) {
	p.data(c.Data)
	p.uint("len", uint64(len(c.Data)))
	p.retZero(errno)
}

func (c *SockAccept) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.flags("flags", uint64(c.Flags), fdFlagNames...)
	p.retUint(errno, uint64(c.NewFD))
}

func (c *SockRecv) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	p.iovecs(c.IOVecLens)
	p.flags("flags", uint64(c.Flags), riFlagNames...)
	if !p.ret(errno) {
		return
	}
	p.b = strconv.AppendUint(p.b, uint64(c.N), 10)
	if c.OutFlags != 0 {
		p.str(" ")
		p.flagBits(uint64(c.OutFlags), roFlagNames...)
	}
}

func (c *SockSend) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	if len(c.IOVecLens) > 1 {
		p.iovecs(c.IOVecLens)
	}
	p.flags("flags", uint64(c.Flags))
	p.retUint(errno, uint64(c.N))
}

func (c *SockShutdown) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.flags("how", uint64(c.Flags), sdFlagNames...)
	p.retZero(errno)
}

var (
	afNames       = []string{"unspec", "inet", "inet6", "unix"}
	sockTypeNames = []string{"any", "dgram", "stream"}
	protoNames    = []string{"ip", "tcp", "udp"}
	aiFlagNames   = []string{"PASSIVE", "CANONNAME", "NUMERICHOST", "NUMERICSERV", "V4MAPPED", "ALL", "ADDRCONFIG"}
	solSockNames  = []string{"SO_REUSEADDR", "SO_TYPE", "SO_ERROR", "SO_DONTROUTE", "SO_BROADCAST", "SO_SNDBUF",
		"SO_RCVBUF", "SO_KEEPALIVE", "SO_OOBINLINE", "SO_LINGER", "SO_RCVLOWAT", "SO_RCVTIMEO", "SO_SNDTIMEO",
		"SO_ACCEPTCONN", "SO_BINDTODEVICE"}
)

// addr prints an address as ip:port ([ip]:port for IPv6), or "none".
func (p *printer) addr(name string, a netip.AddrPort) {
	p.name(name)
	p.addrValue(a)
}

func (p *printer) addrValue(a netip.AddrPort) {
	if !a.IsValid() {
		p.str("none")
		return
	}
	p.b = a.AppendTo(p.b)
}

// sockOpt prints the level and name of a socket option.
func (p *printer) sockOpt(level wasi.SockOptLevel, name wasi.SockOpt) {
	switch level {
	case wasi.SolSocket:
		p.word("level", "SOL_SOCKET")
		p.enum("name", uint64(name), solSockNames)
		return
	case wasi.SolTCP:
		p.word("level", "IPPROTO_TCP")
	case wasi.SolIPv6:
		p.word("level", "IPPROTO_IPV6")
	case wasi.SolTimelake:
		p.word("level", "TIMELAKE")
		if name == wasi.HTLSServerName {
			p.word("name", "HTLS_SERVER_NAME")
			return
		}
	default:
		p.hex("level", uint64(level))
	}
	p.uint("name", uint64(name))
}

func (c *SockOpen) format(p *printer, errno wasi.Errno) {
	p.enum("af", uint64(c.Family), afNames)
	p.enum("type", uint64(c.SockType), sockTypeNames)
	if c.Protocol != wasi.ProtoIP {
		p.enum("proto", uint64(c.Protocol), protoNames)
	}
	p.retUint(errno, uint64(c.NewFD))
}

func (c *SockBind) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.addr("addr", c.Addr)
	p.retZero(errno)
}

func (c *SockConnect) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.addr("addr", c.Addr)
	p.retZero(errno)
}

func (c *SockListen) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.int("backlog", int64(c.Backlog))
	p.retZero(errno)
}

func (c *SockRecvFrom) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	p.iovecs(c.IOVecLens)
	p.flags("flags", uint64(c.Flags), riFlagNames...)
	if !p.ret(errno) {
		return
	}
	p.b = strconv.AppendUint(p.b, uint64(c.N), 10)
	p.str(" from ")
	p.addrValue(c.Addr)
	if c.OutFlags != 0 {
		p.str(" ")
		p.flagBits(uint64(c.OutFlags), roFlagNames...)
	}
}

func (c *SockSendTo) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.data(c.Data)
	if len(c.IOVecLens) > 1 {
		p.iovecs(c.IOVecLens)
	}
	p.addr("addr", c.Addr)
	p.flags("flags", uint64(c.Flags))
	p.retUint(errno, uint64(c.N))
}

func (c *SockGetOpt) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.sockOpt(c.Level, c.Name)
	p.uint("size", uint64(c.BufLen))
	if !p.ret(errno) {
		return
	}
	if len(c.Value) == 4 {
		p.b = strconv.AppendInt(p.b, int64(int32(uint32(c.Value[0])|uint32(c.Value[1])<<8|uint32(c.Value[2])<<16|uint32(c.Value[3])<<24)), 10)
		return
	}
	p.args = 0
	p.data(c.Value)
}

func (c *SockSetOpt) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	p.sockOpt(c.Level, c.Name)
	if len(c.Value) == 4 && c.Level != wasi.SolTimelake {
		p.int("value", int64(int32(uint32(c.Value[0])|uint32(c.Value[1])<<8|uint32(c.Value[2])<<16|uint32(c.Value[3])<<24)))
	} else {
		p.data(c.Value)
	}
	p.retZero(errno)
}

func (c *SockGetLocalAddr) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	if p.ret(errno) {
		p.addrValue(c.Addr)
	}
}

func (c *SockGetPeerAddr) format(p *printer, errno wasi.Errno) {
	p.uint("fd", uint64(c.FD))
	if p.ret(errno) {
		p.addrValue(c.Addr)
	}
}

func (c *SockGetAddrInfo) format(p *printer, errno wasi.Errno) {
	p.path("node", c.Node)
	p.path("service", c.Service)
	if c.Hints.Flags != 0 {
		p.flags("flags", uint64(c.Hints.Flags), aiFlagNames...)
	}
	if c.Hints.Family != wasi.AFUnspec {
		p.enum("af", uint64(c.Hints.Family), afNames)
	}
	if c.Hints.SockType != wasi.SockAny {
		p.enum("type", uint64(c.Hints.SockType), sockTypeNames)
	}
	if !p.ret(errno) {
		return
	}
	p.b = append(p.b, '[')
	for i := range c.Results {
		if i > 0 {
			p.str(", ")
		}
		ai := &c.Results[i]
		p.addrValue(ai.Addr)
		p.b = append(p.b, '/')
		if int(ai.Protocol) < len(protoNames) {
			p.str(protoNames[ai.Protocol])
		} else {
			p.b = strconv.AppendUint(p.b, uint64(ai.Protocol), 10)
		}
	}
	p.b = append(p.b, ']')
}
