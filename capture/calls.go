package capture

import (
	"net/netip"

	"github.com/timelake/timelake/wasi"
)

// The call types, one per wasi.Func, in function table order. Each type's
// fields are encoded in declaration order (see docs/records.md); fields
// holding results say so.

// ArgsGet records args_get.
type ArgsGet struct {
	Args []string // result: the arguments, program name first
}

// ArgsSizesGet records args_sizes_get.
type ArgsSizesGet struct {
	Argc    wasi.Size // result
	BufSize wasi.Size // result
}

// EnvironGet records environ_get.
type EnvironGet struct {
	Environ []string // result: "KEY=VALUE" strings
}

// EnvironSizesGet records environ_sizes_get.
type EnvironSizesGet struct {
	Count   wasi.Size // result
	BufSize wasi.Size // result
}

// ClockResGet records clock_res_get.
type ClockResGet struct {
	ID         wasi.ClockID
	Resolution wasi.Timestamp // result
}

// ClockTimeGet records clock_time_get.
type ClockTimeGet struct {
	ID        wasi.ClockID
	Precision wasi.Timestamp
	Time      wasi.Timestamp // result
}

// FDAdvise records fd_advise.
type FDAdvise struct {
	FD     wasi.FD
	Offset wasi.Filesize
	Length wasi.Filesize
	Advice wasi.Advice
}

// FDAllocate records fd_allocate.
type FDAllocate struct {
	FD     wasi.FD
	Offset wasi.Filesize
	Length wasi.Filesize
}

// FDClose records fd_close.
type FDClose struct {
	FD wasi.FD
}

// FDDataSync records fd_datasync.
type FDDataSync struct {
	FD wasi.FD
}

// FDStatGet records fd_fdstat_get.
type FDStatGet struct {
	FD   wasi.FD
	Stat wasi.FDStat // result
}

// FDStatSetFlags records fd_fdstat_set_flags.
type FDStatSetFlags struct {
	FD    wasi.FD
	Flags wasi.FDFlags
}

// FDStatSetRights records fd_fdstat_set_rights.
type FDStatSetRights struct {
	FD         wasi.FD
	Base       wasi.Rights
	Inheriting wasi.Rights
}

// FDFileStatGet records fd_filestat_get.
type FDFileStatGet struct {
	FD   wasi.FD
	Stat wasi.FileStat // result
}

// FDFileStatSetSize records fd_filestat_set_size.
type FDFileStatSetSize struct {
	FD   wasi.FD
	Size wasi.Filesize
}

// FDFileStatSetTimes records fd_filestat_set_times.
type FDFileStatSetTimes struct {
	FD    wasi.FD
	ATim  wasi.Timestamp
	MTim  wasi.Timestamp
	Flags wasi.FSTFlags
}

// FDPread records fd_pread.
type FDPread struct {
	FD        wasi.FD
	Offset    wasi.Filesize
	IOVecLens []uint32  // lengths of the iovecs the guest offered
	Data      []byte    // result: the bytes read, min(N, sum(IOVecLens)) of them
	N         wasi.Size // result: the count returned to the guest

	iovs [][]byte // set by the Recorder for the duration of one call
}

// FDPrestatGet records fd_prestat_get.
type FDPrestatGet struct {
	FD      wasi.FD
	Prestat wasi.Prestat // result
}

// FDPrestatDirName records fd_prestat_dir_name.
type FDPrestatDirName struct {
	FD   wasi.FD
	Name string // result
}

// FDPwrite records fd_pwrite.
type FDPwrite struct {
	FD        wasi.FD
	Offset    wasi.Filesize
	IOVecLens []uint32  // lengths of the iovecs the guest passed
	Data      []byte    // the bytes the guest passed (the iovecs concatenated)
	N         wasi.Size // result: the count the host accepted

	iovs [][]byte
}

// FDRead records fd_read.
type FDRead struct {
	FD        wasi.FD
	IOVecLens []uint32  // lengths of the iovecs the guest offered
	Data      []byte    // result: the bytes read, min(N, sum(IOVecLens)) of them
	N         wasi.Size // result: the count returned to the guest

	iovs [][]byte
}

// FDReadDir records fd_readdir.
type FDReadDir struct {
	FD       wasi.FD
	Cookie   wasi.DirCookie
	BufLen   uint32          // size of the guest's buffer
	Capacity uint32          // how many entries the binding could take (len(entries) passed to the System)
	Entries  []wasi.DirEntry // result: the entries returned
}

// FDRenumber records fd_renumber.
type FDRenumber struct {
	From wasi.FD
	To   wasi.FD
}

// FDSeek records fd_seek.
type FDSeek struct {
	FD        wasi.FD
	Offset    wasi.FileDelta
	Whence    wasi.Whence
	NewOffset wasi.Filesize // result
}

// FDSync records fd_sync.
type FDSync struct {
	FD wasi.FD
}

// FDTell records fd_tell.
type FDTell struct {
	FD     wasi.FD
	Offset wasi.Filesize // result
}

// FDWrite records fd_write.
type FDWrite struct {
	FD        wasi.FD
	IOVecLens []uint32  // lengths of the iovecs the guest passed
	Data      []byte    // the bytes the guest passed (the iovecs concatenated)
	N         wasi.Size // result: the count the host accepted

	iovs [][]byte
}

// PathCreateDirectory records path_create_directory.
type PathCreateDirectory struct {
	FD   wasi.FD
	Path string
}

// PathFileStatGet records path_filestat_get.
type PathFileStatGet struct {
	FD    wasi.FD
	Flags wasi.LookupFlags
	Path  string
	Stat  wasi.FileStat // result
}

// PathFileStatSetTimes records path_filestat_set_times.
type PathFileStatSetTimes struct {
	FD       wasi.FD
	Flags    wasi.LookupFlags
	Path     string
	ATim     wasi.Timestamp
	MTim     wasi.Timestamp
	FSTFlags wasi.FSTFlags
}

// PathLink records path_link.
type PathLink struct {
	OldFD    wasi.FD
	OldFlags wasi.LookupFlags
	OldPath  string
	NewFD    wasi.FD
	NewPath  string
}

// PathOpen records path_open.
type PathOpen struct {
	FD               wasi.FD
	DirFlags         wasi.LookupFlags
	Path             string
	OFlags           wasi.OFlags
	RightsBase       wasi.Rights
	RightsInheriting wasi.Rights
	FDFlags          wasi.FDFlags
	NewFD            wasi.FD // result
}

// PathReadLink records path_readlink.
type PathReadLink struct {
	FD     wasi.FD
	Path   string
	BufLen uint32    // size of the guest's buffer
	Data   []byte    // result: the link target bytes, min(N, BufLen) of them
	N      wasi.Size // result: the count returned to the guest
}

// PathRemoveDirectory records path_remove_directory.
type PathRemoveDirectory struct {
	FD   wasi.FD
	Path string
}

// PathRename records path_rename.
type PathRename struct {
	FD      wasi.FD
	OldPath string
	NewFD   wasi.FD
	NewPath string
}

// PathSymlink records path_symlink.
type PathSymlink struct {
	OldPath string
	FD      wasi.FD
	NewPath string
}

// PathUnlinkFile records path_unlink_file.
type PathUnlinkFile struct {
	FD   wasi.FD
	Path string
}

// PollOneOff records poll_oneoff.
type PollOneOff struct {
	Subs   []wasi.Subscription // the guest's subscriptions
	Events []wasi.Event        // result: the events returned, len(Events) is the count
}

// ProcExit records proc_exit.
type ProcExit struct {
	Code wasi.ExitCode
}

// ProcRaise records proc_raise.
type ProcRaise struct {
	Signal wasi.Signal
}

// SchedYield records sched_yield.
type SchedYield struct{}

// RandomGet records random_get.
type RandomGet struct {
	Data []byte // result: the guest's buffer after the call (its length is the length asked)
}

// SockAccept records sock_accept.
type SockAccept struct {
	FD    wasi.FD
	Flags wasi.FDFlags
	NewFD wasi.FD // result
}

// SockRecv records sock_recv.
type SockRecv struct {
	FD        wasi.FD
	Flags     wasi.RIFlags
	IOVecLens []uint32     // lengths of the iovecs the guest offered
	Data      []byte       // result: the bytes received, min(N, sum(IOVecLens)) of them
	N         wasi.Size    // result: the count returned to the guest
	OutFlags  wasi.ROFlags // result
	iovs      [][]byte
}

// SockSend records sock_send.
type SockSend struct {
	FD        wasi.FD
	Flags     wasi.SIFlags
	IOVecLens []uint32  // lengths of the iovecs the guest passed
	Data      []byte    // the bytes the guest passed (the iovecs concatenated)
	N         wasi.Size // result: the count the host accepted

	iovs [][]byte
}

// SockShutdown records sock_shutdown.
type SockShutdown struct {
	FD    wasi.FD
	Flags wasi.SDFlags
}

// The socket extension (docs/abi.md). Addresses are netip.AddrPort values;
// the zero value stands for "no address".

// SockOpen records sock_open.
type SockOpen struct {
	Family   wasi.AddressFamily
	SockType wasi.SocketType
	Protocol wasi.Protocol
	NewFD    wasi.FD // result
}

// SockBind records sock_bind.
type SockBind struct {
	FD   wasi.FD
	Addr netip.AddrPort
}

// SockConnect records sock_connect.
type SockConnect struct {
	FD   wasi.FD
	Addr netip.AddrPort
}

// SockListen records sock_listen.
type SockListen struct {
	FD      wasi.FD
	Backlog int32
}

// SockRecvFrom records sock_recv_from.
type SockRecvFrom struct {
	FD        wasi.FD
	Flags     wasi.RIFlags
	IOVecLens []uint32       // lengths of the iovecs the guest offered
	Data      []byte         // result: the bytes received, min(N, sum(IOVecLens)) of them
	N         wasi.Size      // result: the count returned to the guest
	OutFlags  wasi.ROFlags   // result
	Addr      netip.AddrPort // result: the source

	iovs [][]byte
}

// SockSendTo records sock_send_to.
type SockSendTo struct {
	FD        wasi.FD
	Flags     wasi.SIFlags
	Addr      netip.AddrPort // the destination
	IOVecLens []uint32       // lengths of the iovecs the guest passed
	Data      []byte         // the bytes the guest passed (the iovecs concatenated)
	N         wasi.Size      // result: the count the host accepted

	iovs [][]byte
}

// SockGetOpt records sock_getsockopt.
type SockGetOpt struct {
	FD     wasi.FD
	Level  wasi.SockOptLevel
	Name   wasi.SockOpt
	BufLen uint32 // size of the guest's value buffer
	Value  []byte // result: the bytes written, at most BufLen
}

// SockSetOpt records sock_setsockopt.
type SockSetOpt struct {
	FD    wasi.FD
	Level wasi.SockOptLevel
	Name  wasi.SockOpt
	Value []byte // the value the guest passed (a server name for hTLS)
}

// SockGetLocalAddr records sock_getlocaladdr.
type SockGetLocalAddr struct {
	FD   wasi.FD
	Addr netip.AddrPort // result
}

// SockGetPeerAddr records sock_getpeeraddr.
type SockGetPeerAddr struct {
	FD   wasi.FD
	Addr netip.AddrPort // result
}

// SockGetAddrInfo records sock_getaddrinfo.
type SockGetAddrInfo struct {
	Node     string
	Service  string
	Hints    wasi.AddrInfo   // flags, family, socket type and protocol; no address
	Capacity uint32          // how many results the host was allowed to return
	Results  []wasi.AddrInfo // result: no flags
}

// newCall returns a zero call of function f, which must be < wasi.FuncCount.
func newCall(f wasi.Func) Call {
	switch f {
	case wasi.FuncArgsGet:
		return new(ArgsGet)
	case wasi.FuncArgsSizesGet:
		return new(ArgsSizesGet)
	case wasi.FuncEnvironGet:
		return new(EnvironGet)
	case wasi.FuncEnvironSizesGet:
		return new(EnvironSizesGet)
	case wasi.FuncClockResGet:
		return new(ClockResGet)
	case wasi.FuncClockTimeGet:
		return new(ClockTimeGet)
	case wasi.FuncFDAdvise:
		return new(FDAdvise)
	case wasi.FuncFDAllocate:
		return new(FDAllocate)
	case wasi.FuncFDClose:
		return new(FDClose)
	case wasi.FuncFDDataSync:
		return new(FDDataSync)
	case wasi.FuncFDStatGet:
		return new(FDStatGet)
	case wasi.FuncFDStatSetFlags:
		return new(FDStatSetFlags)
	case wasi.FuncFDStatSetRights:
		return new(FDStatSetRights)
	case wasi.FuncFDFileStatGet:
		return new(FDFileStatGet)
	case wasi.FuncFDFileStatSetSize:
		return new(FDFileStatSetSize)
	case wasi.FuncFDFileStatSetTimes:
		return new(FDFileStatSetTimes)
	case wasi.FuncFDPread:
		return new(FDPread)
	case wasi.FuncFDPrestatGet:
		return new(FDPrestatGet)
	case wasi.FuncFDPrestatDirName:
		return new(FDPrestatDirName)
	case wasi.FuncFDPwrite:
		return new(FDPwrite)
	case wasi.FuncFDRead:
		return new(FDRead)
	case wasi.FuncFDReadDir:
		return new(FDReadDir)
	case wasi.FuncFDRenumber:
		return new(FDRenumber)
	case wasi.FuncFDSeek:
		return new(FDSeek)
	case wasi.FuncFDSync:
		return new(FDSync)
	case wasi.FuncFDTell:
		return new(FDTell)
	case wasi.FuncFDWrite:
		return new(FDWrite)
	case wasi.FuncPathCreateDirectory:
		return new(PathCreateDirectory)
	case wasi.FuncPathFileStatGet:
		return new(PathFileStatGet)
	case wasi.FuncPathFileStatSetTimes:
		return new(PathFileStatSetTimes)
	case wasi.FuncPathLink:
		return new(PathLink)
	case wasi.FuncPathOpen:
		return new(PathOpen)
	case wasi.FuncPathReadLink:
		return new(PathReadLink)
	case wasi.FuncPathRemoveDirectory:
		return new(PathRemoveDirectory)
	case wasi.FuncPathRename:
		return new(PathRename)
	case wasi.FuncPathSymlink:
		return new(PathSymlink)
	case wasi.FuncPathUnlinkFile:
		return new(PathUnlinkFile)
	case wasi.FuncPollOneOff:
		return new(PollOneOff)
	case wasi.FuncProcExit:
		return new(ProcExit)
	case wasi.FuncProcRaise:
		return new(ProcRaise)
	case wasi.FuncSchedYield:
		return new(SchedYield)
	case wasi.FuncRandomGet:
		return new(RandomGet)
	case wasi.FuncSockAccept:
		return new(SockAccept)
	case wasi.FuncSockRecv:
		return new(SockRecv)
	case wasi.FuncSockSend:
		return new(SockSend)
	case wasi.FuncSockShutdown:
		return new(SockShutdown)
	case wasi.FuncSockOpen:
		return new(SockOpen)
	case wasi.FuncSockBind:
		return new(SockBind)
	case wasi.FuncSockConnect:
		return new(SockConnect)
	case wasi.FuncSockListen:
		return new(SockListen)
	case wasi.FuncSockRecvFrom:
		return new(SockRecvFrom)
	case wasi.FuncSockSendTo:
		return new(SockSendTo)
	case wasi.FuncSockGetOpt:
		return new(SockGetOpt)
	case wasi.FuncSockSetOpt:
		return new(SockSetOpt)
	case wasi.FuncSockGetLocalAddr:
		return new(SockGetLocalAddr)
	case wasi.FuncSockGetPeerAddr:
		return new(SockGetPeerAddr)
	case wasi.FuncSockGetAddrInfo:
		return new(SockGetAddrInfo)
	}
	panic("capture: newCall of unknown function " + f.String())
}

func (*ArgsGet) Func() wasi.Func              { return wasi.FuncArgsGet }
func (*ArgsSizesGet) Func() wasi.Func         { return wasi.FuncArgsSizesGet }
func (*EnvironGet) Func() wasi.Func           { return wasi.FuncEnvironGet }
func (*EnvironSizesGet) Func() wasi.Func      { return wasi.FuncEnvironSizesGet }
func (*ClockResGet) Func() wasi.Func          { return wasi.FuncClockResGet }
func (*ClockTimeGet) Func() wasi.Func         { return wasi.FuncClockTimeGet }
func (*FDAdvise) Func() wasi.Func             { return wasi.FuncFDAdvise }
func (*FDAllocate) Func() wasi.Func           { return wasi.FuncFDAllocate }
func (*FDClose) Func() wasi.Func              { return wasi.FuncFDClose }
func (*FDDataSync) Func() wasi.Func           { return wasi.FuncFDDataSync }
func (*FDStatGet) Func() wasi.Func            { return wasi.FuncFDStatGet }
func (*FDStatSetFlags) Func() wasi.Func       { return wasi.FuncFDStatSetFlags }
func (*FDStatSetRights) Func() wasi.Func      { return wasi.FuncFDStatSetRights }
func (*FDFileStatGet) Func() wasi.Func        { return wasi.FuncFDFileStatGet }
func (*FDFileStatSetSize) Func() wasi.Func    { return wasi.FuncFDFileStatSetSize }
func (*FDFileStatSetTimes) Func() wasi.Func   { return wasi.FuncFDFileStatSetTimes }
func (*FDPread) Func() wasi.Func              { return wasi.FuncFDPread }
func (*FDPrestatGet) Func() wasi.Func         { return wasi.FuncFDPrestatGet }
func (*FDPrestatDirName) Func() wasi.Func     { return wasi.FuncFDPrestatDirName }
func (*FDPwrite) Func() wasi.Func             { return wasi.FuncFDPwrite }
func (*FDRead) Func() wasi.Func               { return wasi.FuncFDRead }
func (*FDReadDir) Func() wasi.Func            { return wasi.FuncFDReadDir }
func (*FDRenumber) Func() wasi.Func           { return wasi.FuncFDRenumber }
func (*FDSeek) Func() wasi.Func               { return wasi.FuncFDSeek }
func (*FDSync) Func() wasi.Func               { return wasi.FuncFDSync }
func (*FDTell) Func() wasi.Func               { return wasi.FuncFDTell }
func (*FDWrite) Func() wasi.Func              { return wasi.FuncFDWrite }
func (*PathCreateDirectory) Func() wasi.Func  { return wasi.FuncPathCreateDirectory }
func (*PathFileStatGet) Func() wasi.Func      { return wasi.FuncPathFileStatGet }
func (*PathFileStatSetTimes) Func() wasi.Func { return wasi.FuncPathFileStatSetTimes }
func (*PathLink) Func() wasi.Func             { return wasi.FuncPathLink }
func (*PathOpen) Func() wasi.Func             { return wasi.FuncPathOpen }
func (*PathReadLink) Func() wasi.Func         { return wasi.FuncPathReadLink }
func (*PathRemoveDirectory) Func() wasi.Func  { return wasi.FuncPathRemoveDirectory }
func (*PathRename) Func() wasi.Func           { return wasi.FuncPathRename }
func (*PathSymlink) Func() wasi.Func          { return wasi.FuncPathSymlink }
func (*PathUnlinkFile) Func() wasi.Func       { return wasi.FuncPathUnlinkFile }
func (*PollOneOff) Func() wasi.Func           { return wasi.FuncPollOneOff }
func (*ProcExit) Func() wasi.Func             { return wasi.FuncProcExit }
func (*ProcRaise) Func() wasi.Func            { return wasi.FuncProcRaise }
func (*SchedYield) Func() wasi.Func           { return wasi.FuncSchedYield }
func (*RandomGet) Func() wasi.Func            { return wasi.FuncRandomGet }
func (*SockAccept) Func() wasi.Func           { return wasi.FuncSockAccept }
func (*SockRecv) Func() wasi.Func             { return wasi.FuncSockRecv }
func (*SockSend) Func() wasi.Func             { return wasi.FuncSockSend }
func (*SockShutdown) Func() wasi.Func         { return wasi.FuncSockShutdown }
func (*SockOpen) Func() wasi.Func             { return wasi.FuncSockOpen }
func (*SockBind) Func() wasi.Func             { return wasi.FuncSockBind }
func (*SockConnect) Func() wasi.Func          { return wasi.FuncSockConnect }
func (*SockListen) Func() wasi.Func           { return wasi.FuncSockListen }
func (*SockRecvFrom) Func() wasi.Func         { return wasi.FuncSockRecvFrom }
func (*SockSendTo) Func() wasi.Func           { return wasi.FuncSockSendTo }
func (*SockGetOpt) Func() wasi.Func           { return wasi.FuncSockGetOpt }
func (*SockSetOpt) Func() wasi.Func           { return wasi.FuncSockSetOpt }
func (*SockGetLocalAddr) Func() wasi.Func     { return wasi.FuncSockGetLocalAddr }
func (*SockGetPeerAddr) Func() wasi.Func      { return wasi.FuncSockGetPeerAddr }
func (*SockGetAddrInfo) Func() wasi.Func      { return wasi.FuncSockGetAddrInfo }
