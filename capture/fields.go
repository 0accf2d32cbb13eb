package capture

import (
	"math"
	"net/netip"

	"github.com/timelake/timelake/wasi"
)

// The field encodings of every call type, in the order docs/records.md
// specifies. appendFields and decodeFields of a type must mirror each other.

// Minimum encoded sizes of list elements, used to bound list lengths.
const (
	minStringSize       = 1 // length varint
	minIOVecLenSize     = 1
	minDirEntrySize     = 4 // next, ino, type, name length
	minSubscriptionSize = 7 // userdata, type, clock id, timeout, precision, flags, fd
	minEventSize        = 5 // userdata, errno, type, nbytes, flags
	minAddrInfoSize     = 5 // family, socktype, protocol, address bytes length, port
)

func appendStrings(b []byte, ss []string) []byte {
	b = appendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

func (r *reader) strings(ss []string) []string {
	ss = resize(ss, r.count(minStringSize))
	for i := range ss {
		ss[i] = r.string()
	}
	return ss
}

func appendFileStat(b []byte, s *wasi.FileStat) []byte {
	b = appendUvarint(b, s.Dev)
	b = appendUvarint(b, s.Ino)
	b = appendUvarint(b, uint64(s.Filetype))
	b = appendUvarint(b, s.NLink)
	b = appendUvarint(b, s.Size)
	b = appendUvarint(b, s.ATim)
	b = appendUvarint(b, s.MTim)
	return appendUvarint(b, s.CTim)
}

func (r *reader) fileStat(s *wasi.FileStat) {
	s.Dev = r.uvarint()
	s.Ino = r.uvarint()
	s.Filetype = wasi.Filetype(r.u8())
	s.NLink = r.uvarint()
	s.Size = r.uvarint()
	s.ATim = r.uvarint()
	s.MTim = r.uvarint()
	s.CTim = r.uvarint()
}

// appendIOVecLens appends the iovec lengths, from the guest's iovecs while
// recording or from lens otherwise.
func appendIOVecLens(b []byte, iovs [][]byte, lens []uint32) []byte {
	if iovs == nil {
		b = appendUvarint(b, uint64(len(lens)))
		for _, l := range lens {
			b = appendUvarint(b, uint64(l))
		}
		return b
	}
	b = appendUvarint(b, uint64(len(iovs)))
	for _, iov := range iovs {
		b = appendUvarint(b, uint64(len(iov)))
	}
	return b
}

// appendIOVecData appends data as a byte string or, while recording, the
// first limit bytes of the guest's iovecs concatenated (all of them if they
// hold fewer). Copying straight from guest memory spares a staging copy.
func appendIOVecData(b []byte, iovs [][]byte, data []byte, limit uint64) []byte {
	if iovs == nil {
		return appendBytes(b, data)
	}
	var total uint64
	for _, iov := range iovs {
		total += uint64(len(iov))
	}
	n := min(total, limit)
	b = appendUvarint(b, n)
	for _, iov := range iovs {
		if n == 0 {
			break
		}
		m := min(uint64(len(iov)), n)
		b = append(b, iov[:m]...)
		n -= m
	}
	return b
}

func (r *reader) iovecLens(lens []uint32) []uint32 {
	lens = resize(lens, r.count(minIOVecLenSize))
	for i := range lens {
		lens[i] = r.u32()
	}
	return lens
}

func (c *ArgsGet) appendFields(b []byte) []byte { return appendStrings(b, c.Args) }
func (c *ArgsGet) decodeFields(r *reader)       { c.Args = r.strings(c.Args) }

func (c *ArgsSizesGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.Argc))
	return appendUvarint(b, uint64(c.BufSize))
}
func (c *ArgsSizesGet) decodeFields(r *reader) {
	c.Argc = r.u32()
	c.BufSize = r.u32()
}

func (c *EnvironGet) appendFields(b []byte) []byte { return appendStrings(b, c.Environ) }
func (c *EnvironGet) decodeFields(r *reader)       { c.Environ = r.strings(c.Environ) }

func (c *EnvironSizesGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.Count))
	return appendUvarint(b, uint64(c.BufSize))
}
func (c *EnvironSizesGet) decodeFields(r *reader) {
	c.Count = r.u32()
	c.BufSize = r.u32()
}

func (c *ClockResGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.ID))
	return appendUvarint(b, c.Resolution)
}
func (c *ClockResGet) decodeFields(r *reader) {
	c.ID = wasi.ClockID(r.u32())
	c.Resolution = r.uvarint()
}

func (c *ClockTimeGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.ID))
	b = appendUvarint(b, c.Precision)
	return appendUvarint(b, c.Time)
}
func (c *ClockTimeGet) decodeFields(r *reader) {
	c.ID = wasi.ClockID(r.u32())
	c.Precision = r.uvarint()
	c.Time = r.uvarint()
}

func (c *FDAdvise) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, c.Offset)
	b = appendUvarint(b, c.Length)
	return appendUvarint(b, uint64(c.Advice))
}
func (c *FDAdvise) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Offset = r.uvarint()
	c.Length = r.uvarint()
	c.Advice = wasi.Advice(r.u8())
}

func (c *FDAllocate) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, c.Offset)
	return appendUvarint(b, c.Length)
}
func (c *FDAllocate) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Offset = r.uvarint()
	c.Length = r.uvarint()
}

func (c *FDClose) appendFields(b []byte) []byte { return appendUvarint(b, uint64(c.FD)) }
func (c *FDClose) decodeFields(r *reader)       { c.FD = r.u32() }

func (c *FDDataSync) appendFields(b []byte) []byte { return appendUvarint(b, uint64(c.FD)) }
func (c *FDDataSync) decodeFields(r *reader)       { c.FD = r.u32() }

func (c *FDStatGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Stat.Filetype))
	b = appendUvarint(b, uint64(c.Stat.Flags))
	b = appendUvarint(b, uint64(c.Stat.RightsBase))
	return appendUvarint(b, uint64(c.Stat.RightsInheriting))
}
func (c *FDStatGet) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Stat.Filetype = wasi.Filetype(r.u8())
	c.Stat.Flags = wasi.FDFlags(r.u16())
	c.Stat.RightsBase = wasi.Rights(r.uvarint())
	c.Stat.RightsInheriting = wasi.Rights(r.uvarint())
}

func (c *FDStatSetFlags) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendUvarint(b, uint64(c.Flags))
}
func (c *FDStatSetFlags) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.FDFlags(r.u16())
}

func (c *FDStatSetRights) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Base))
	return appendUvarint(b, uint64(c.Inheriting))
}
func (c *FDStatSetRights) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Base = wasi.Rights(r.uvarint())
	c.Inheriting = wasi.Rights(r.uvarint())
}

func (c *FDFileStatGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendFileStat(b, &c.Stat)
}
func (c *FDFileStatGet) decodeFields(r *reader) {
	c.FD = r.u32()
	r.fileStat(&c.Stat)
}

func (c *FDFileStatSetSize) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendUvarint(b, c.Size)
}
func (c *FDFileStatSetSize) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Size = r.uvarint()
}

func (c *FDFileStatSetTimes) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, c.ATim)
	b = appendUvarint(b, c.MTim)
	return appendUvarint(b, uint64(c.Flags))
}
func (c *FDFileStatSetTimes) decodeFields(r *reader) {
	c.FD = r.u32()
	c.ATim = r.uvarint()
	c.MTim = r.uvarint()
	c.Flags = wasi.FSTFlags(r.u16())
}

func (c *FDPread) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, c.Offset)
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, uint64(c.N))
	return appendUvarint(b, uint64(c.N))
}
func (c *FDPread) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Offset = r.uvarint()
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
}

func (c *FDPrestatGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Prestat.Type))
	return appendUvarint(b, uint64(c.Prestat.NameLen))
}
func (c *FDPrestatGet) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Prestat.Type = wasi.PreopenType(r.u8())
	c.Prestat.NameLen = r.u32()
}

func (c *FDPrestatDirName) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendString(b, c.Name)
}
func (c *FDPrestatDirName) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Name = r.string()
}

func (c *FDPwrite) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, c.Offset)
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, math.MaxUint64)
	return appendUvarint(b, uint64(c.N))
}
func (c *FDPwrite) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Offset = r.uvarint()
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
}

func (c *FDRead) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, uint64(c.N))
	return appendUvarint(b, uint64(c.N))
}
func (c *FDRead) decodeFields(r *reader) {
	c.FD = r.u32()
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
}

func (c *FDReadDir) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, c.Cookie)
	b = appendUvarint(b, uint64(c.BufLen))
	b = appendUvarint(b, uint64(c.Capacity))
	b = appendUvarint(b, uint64(len(c.Entries)))
	for i := range c.Entries {
		e := &c.Entries[i]
		b = appendUvarint(b, e.Next)
		b = appendUvarint(b, e.Ino)
		b = appendUvarint(b, uint64(e.Type))
		b = appendBytes(b, e.Name)
	}
	return b
}
func (c *FDReadDir) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Cookie = r.uvarint()
	c.BufLen = r.u32()
	c.Capacity = r.u32()
	c.Entries = resize(c.Entries, r.count(minDirEntrySize))
	for i := range c.Entries {
		e := &c.Entries[i]
		e.Next = r.uvarint()
		e.Ino = r.uvarint()
		e.Type = wasi.Filetype(r.u8())
		e.Name = r.bytes()
	}
}

func (c *FDRenumber) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.From))
	return appendUvarint(b, uint64(c.To))
}
func (c *FDRenumber) decodeFields(r *reader) {
	c.From = r.u32()
	c.To = r.u32()
}

func (c *FDSeek) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendVarint(b, c.Offset)
	b = appendUvarint(b, uint64(c.Whence))
	return appendUvarint(b, c.NewOffset)
}
func (c *FDSeek) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Offset = r.varint()
	c.Whence = wasi.Whence(r.u8())
	c.NewOffset = r.uvarint()
}

func (c *FDSync) appendFields(b []byte) []byte { return appendUvarint(b, uint64(c.FD)) }
func (c *FDSync) decodeFields(r *reader)       { c.FD = r.u32() }

func (c *FDTell) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendUvarint(b, c.Offset)
}
func (c *FDTell) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Offset = r.uvarint()
}

func (c *FDWrite) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, math.MaxUint64)
	return appendUvarint(b, uint64(c.N))
}
func (c *FDWrite) decodeFields(r *reader) {
	c.FD = r.u32()
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
}

func (c *PathCreateDirectory) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendString(b, c.Path)
}
func (c *PathCreateDirectory) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Path = r.string()
}

func (c *PathFileStatGet) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Flags))
	b = appendString(b, c.Path)
	return appendFileStat(b, &c.Stat)
}
func (c *PathFileStatGet) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.LookupFlags(r.u32())
	c.Path = r.string()
	r.fileStat(&c.Stat)
}

func (c *PathFileStatSetTimes) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Flags))
	b = appendString(b, c.Path)
	b = appendUvarint(b, c.ATim)
	b = appendUvarint(b, c.MTim)
	return appendUvarint(b, uint64(c.FSTFlags))
}
func (c *PathFileStatSetTimes) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.LookupFlags(r.u32())
	c.Path = r.string()
	c.ATim = r.uvarint()
	c.MTim = r.uvarint()
	c.FSTFlags = wasi.FSTFlags(r.u16())
}

func (c *PathLink) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.OldFD))
	b = appendUvarint(b, uint64(c.OldFlags))
	b = appendString(b, c.OldPath)
	b = appendUvarint(b, uint64(c.NewFD))
	return appendString(b, c.NewPath)
}
func (c *PathLink) decodeFields(r *reader) {
	c.OldFD = r.u32()
	c.OldFlags = wasi.LookupFlags(r.u32())
	c.OldPath = r.string()
	c.NewFD = r.u32()
	c.NewPath = r.string()
}

func (c *PathOpen) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.DirFlags))
	b = appendString(b, c.Path)
	b = appendUvarint(b, uint64(c.OFlags))
	b = appendUvarint(b, uint64(c.RightsBase))
	b = appendUvarint(b, uint64(c.RightsInheriting))
	b = appendUvarint(b, uint64(c.FDFlags))
	return appendUvarint(b, uint64(c.NewFD))
}
func (c *PathOpen) decodeFields(r *reader) {
	c.FD = r.u32()
	c.DirFlags = wasi.LookupFlags(r.u32())
	c.Path = r.string()
	c.OFlags = wasi.OFlags(r.u16())
	c.RightsBase = wasi.Rights(r.uvarint())
	c.RightsInheriting = wasi.Rights(r.uvarint())
	c.FDFlags = wasi.FDFlags(r.u16())
	c.NewFD = r.u32()
}

func (c *PathReadLink) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendString(b, c.Path)
	b = appendUvarint(b, uint64(c.BufLen))
	b = appendBytes(b, c.Data)
	return appendUvarint(b, uint64(c.N))
}
func (c *PathReadLink) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Path = r.string()
	c.BufLen = r.u32()
	c.Data = r.bytes()
	c.N = r.u32()
}

func (c *PathRemoveDirectory) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendString(b, c.Path)
}
func (c *PathRemoveDirectory) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Path = r.string()
}

func (c *PathRename) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendString(b, c.OldPath)
	b = appendUvarint(b, uint64(c.NewFD))
	return appendString(b, c.NewPath)
}
func (c *PathRename) decodeFields(r *reader) {
	c.FD = r.u32()
	c.OldPath = r.string()
	c.NewFD = r.u32()
	c.NewPath = r.string()
}

func (c *PathSymlink) appendFields(b []byte) []byte {
	b = appendString(b, c.OldPath)
	b = appendUvarint(b, uint64(c.FD))
	return appendString(b, c.NewPath)
}
func (c *PathSymlink) decodeFields(r *reader) {
	c.OldPath = r.string()
	c.FD = r.u32()
	c.NewPath = r.string()
}

func (c *PathUnlinkFile) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendString(b, c.Path)
}
func (c *PathUnlinkFile) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Path = r.string()
}

func (c *PollOneOff) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(len(c.Subs)))
	for i := range c.Subs {
		s := &c.Subs[i]
		b = appendUvarint(b, s.UserData)
		b = appendUvarint(b, uint64(s.EventType))
		b = appendUvarint(b, uint64(s.ClockID))
		b = appendUvarint(b, s.Timeout)
		b = appendUvarint(b, s.Precision)
		b = appendUvarint(b, uint64(s.Flags))
		b = appendUvarint(b, uint64(s.FD))
	}
	b = appendUvarint(b, uint64(len(c.Events)))
	for i := range c.Events {
		e := &c.Events[i]
		b = appendUvarint(b, e.UserData)
		b = appendUvarint(b, uint64(e.Errno))
		b = appendUvarint(b, uint64(e.EventType))
		b = appendUvarint(b, e.NBytes)
		b = appendUvarint(b, uint64(e.Flags))
	}
	return b
}
func (c *PollOneOff) decodeFields(r *reader) {
	c.Subs = resize(c.Subs, r.count(minSubscriptionSize))
	for i := range c.Subs {
		s := &c.Subs[i]
		s.UserData = r.uvarint()
		s.EventType = wasi.EventType(r.u8())
		s.ClockID = wasi.ClockID(r.u32())
		s.Timeout = r.uvarint()
		s.Precision = r.uvarint()
		s.Flags = wasi.SubclockFlags(r.u16())
		s.FD = r.u32()
	}
	c.Events = resize(c.Events, r.count(minEventSize))
	for i := range c.Events {
		e := &c.Events[i]
		e.UserData = r.uvarint()
		e.Errno = wasi.Errno(r.u16())
		e.EventType = wasi.EventType(r.u8())
		e.NBytes = r.uvarint()
		e.Flags = wasi.EventRWFlags(r.u16())
	}
}

func (c *ProcExit) appendFields(b []byte) []byte { return appendUvarint(b, uint64(c.Code)) }
func (c *ProcExit) decodeFields(r *reader)       { c.Code = r.u32() }

func (c *ProcRaise) appendFields(b []byte) []byte { return appendUvarint(b, uint64(c.Signal)) }
func (c *ProcRaise) decodeFields(r *reader)       { c.Signal = wasi.Signal(r.u8()) }

func (c *SchedYield) appendFields(b []byte) []byte { return b }
func (c *SchedYield) decodeFields(r *reader)       {}

func (c *RandomGet) appendFields(b []byte) []byte { return appendBytes(b, c.Data) }
func (c *RandomGet) decodeFields(r *reader)       { c.Data = r.bytes() }

func (c *SockAccept) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Flags))
	return appendUvarint(b, uint64(c.NewFD))
}
func (c *SockAccept) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.FDFlags(r.u16())
	c.NewFD = r.u32()
}

func (c *SockRecv) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Flags))
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, uint64(c.N))
	b = appendUvarint(b, uint64(c.N))
	return appendUvarint(b, uint64(c.OutFlags))
}
func (c *SockRecv) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.RIFlags(r.u16())
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
	c.OutFlags = wasi.ROFlags(r.u16())
}

func (c *SockSend) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Flags))
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, math.MaxUint64)
	return appendUvarint(b, uint64(c.N))
}
func (c *SockSend) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.SIFlags(r.u16())
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
}

func (c *SockShutdown) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendUvarint(b, uint64(c.Flags))
}
func (c *SockShutdown) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.SDFlags(r.u8())
}

// appendAddr appends an address: its octets as bytes (4 for IPv4, 16 for
// IPv6, none for no address), then the port.
func appendAddr(b []byte, a netip.AddrPort) []byte {
	ip := a.Addr()
	switch {
	case ip.Is4():
		v := ip.As4()
		b = appendBytes(b, v[:])
	case ip.Is6():
		v := ip.As16()
		b = appendBytes(b, v[:])
	default:
		b = appendUvarint(b, 0)
	}
	return appendUvarint(b, uint64(a.Port()))
}

func (r *reader) addr() netip.AddrPort {
	octets := r.bytes()
	port := r.u16()
	switch len(octets) {
	case 0:
		return netip.AddrPort{}
	case 4:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(octets)), port)
	case 16:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(octets)), port)
	}
	r.fail("address of %d bytes", len(octets))
	return netip.AddrPort{}
}

func (c *SockOpen) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.Family))
	b = appendUvarint(b, uint64(c.SockType))
	b = appendUvarint(b, uint64(c.Protocol))
	return appendUvarint(b, uint64(c.NewFD))
}
func (c *SockOpen) decodeFields(r *reader) {
	c.Family = wasi.AddressFamily(r.u8())
	c.SockType = wasi.SocketType(r.u8())
	c.Protocol = wasi.Protocol(r.u8())
	c.NewFD = r.u32()
}

func (c *SockBind) appendFields(b []byte) []byte {
	return appendAddr(appendUvarint(b, uint64(c.FD)), c.Addr)
}
func (c *SockBind) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Addr = r.addr()
}

func (c *SockConnect) appendFields(b []byte) []byte {
	return appendAddr(appendUvarint(b, uint64(c.FD)), c.Addr)
}
func (c *SockConnect) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Addr = r.addr()
}

func (c *SockListen) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	return appendVarint(b, int64(c.Backlog))
}
func (c *SockListen) decodeFields(r *reader) {
	c.FD = r.u32()
	v := r.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("backlog %d out of range", v)
	}
	c.Backlog = int32(v)
}

func (c *SockRecvFrom) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Flags))
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, uint64(c.N))
	b = appendUvarint(b, uint64(c.N))
	b = appendUvarint(b, uint64(c.OutFlags))
	return appendAddr(b, c.Addr)
}
func (c *SockRecvFrom) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.RIFlags(r.u16())
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
	c.OutFlags = wasi.ROFlags(r.u16())
	c.Addr = r.addr()
}

func (c *SockSendTo) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Flags))
	b = appendAddr(b, c.Addr)
	b = appendIOVecLens(b, c.iovs, c.IOVecLens)
	b = appendIOVecData(b, c.iovs, c.Data, math.MaxUint64)
	return appendUvarint(b, uint64(c.N))
}
func (c *SockSendTo) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Flags = wasi.SIFlags(r.u16())
	c.Addr = r.addr()
	c.IOVecLens = r.iovecLens(c.IOVecLens)
	c.Data = r.bytes()
	c.N = r.u32()
}

func (c *SockGetOpt) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Level))
	b = appendUvarint(b, uint64(c.Name))
	b = appendUvarint(b, uint64(c.BufLen))
	return appendBytes(b, c.Value)
}
func (c *SockGetOpt) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Level = wasi.SockOptLevel(r.u32())
	c.Name = wasi.SockOpt(r.u32())
	c.BufLen = r.u32()
	c.Value = r.bytes()
}

func (c *SockSetOpt) appendFields(b []byte) []byte {
	b = appendUvarint(b, uint64(c.FD))
	b = appendUvarint(b, uint64(c.Level))
	b = appendUvarint(b, uint64(c.Name))
	return appendBytes(b, c.Value)
}
func (c *SockSetOpt) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Level = wasi.SockOptLevel(r.u32())
	c.Name = wasi.SockOpt(r.u32())
	c.Value = r.bytes()
}

func (c *SockGetLocalAddr) appendFields(b []byte) []byte {
	return appendAddr(appendUvarint(b, uint64(c.FD)), c.Addr)
}
func (c *SockGetLocalAddr) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Addr = r.addr()
}

func (c *SockGetPeerAddr) appendFields(b []byte) []byte {
	return appendAddr(appendUvarint(b, uint64(c.FD)), c.Addr)
}
func (c *SockGetPeerAddr) decodeFields(r *reader) {
	c.FD = r.u32()
	c.Addr = r.addr()
}

func (c *SockGetAddrInfo) appendFields(b []byte) []byte {
	b = appendString(b, c.Node)
	b = appendString(b, c.Service)
	b = appendUvarint(b, uint64(c.Hints.Flags))
	b = appendUvarint(b, uint64(c.Hints.Family))
	b = appendUvarint(b, uint64(c.Hints.SockType))
	b = appendUvarint(b, uint64(c.Hints.Protocol))
	b = appendUvarint(b, uint64(c.Capacity))
	b = appendUvarint(b, uint64(len(c.Results)))
	for i := range c.Results {
		ai := &c.Results[i]
		b = appendUvarint(b, uint64(ai.Family))
		b = appendUvarint(b, uint64(ai.SockType))
		b = appendUvarint(b, uint64(ai.Protocol))
		b = appendAddr(b, ai.Addr)
	}
	return b
}
func (c *SockGetAddrInfo) decodeFields(r *reader) {
	c.Node = r.string()
	c.Service = r.string()
	c.Hints = wasi.AddrInfo{
		Flags:    wasi.AIFlags(r.u16()),
		Family:   wasi.AddressFamily(r.u8()),
		SockType: wasi.SocketType(r.u8()),
		Protocol: wasi.Protocol(r.u8()),
	}
	c.Capacity = r.u32()
	c.Results = resize(c.Results, r.count(minAddrInfoSize))
	for i := range c.Results {
		c.Results[i] = wasi.AddrInfo{
			Family:   wasi.AddressFamily(r.u8()),
			SockType: wasi.SocketType(r.u8()),
			Protocol: wasi.Protocol(r.u8()),
			Addr:     r.addr(),
		}
	}
}
