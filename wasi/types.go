package wasi

// The scalar types of WASI preview 1. Widths and values are part of the ABI.
type (
	// FD is a file descriptor index in the guest's fd table.
	FD = uint32
	// Size is a byte count that fits in guest memory.
	Size = uint32
	// Filesize is a file offset or length.
	Filesize = uint64
	// FileDelta is a relative file offset.
	FileDelta = int64
	// Timestamp is nanoseconds; its epoch depends on the clock.
	Timestamp = uint64
	// Device is a device ID.
	Device = uint64
	// Inode is a file serial number.
	Inode = uint64
	// LinkCount is a hard link count.
	LinkCount = uint64
	// DirCookie is a position in a directory stream; 0 is the start.
	DirCookie = uint64
	// ExitCode is a process exit status.
	ExitCode = uint32
	// UserData is opaque guest data carried from a subscription to its event.
	UserData = uint64
)

// ClockID names a clock.
type ClockID uint32

const (
	ClockRealtime         ClockID = 0
	ClockMonotonic        ClockID = 1
	ClockProcessCPUTimeID ClockID = 2
	ClockThreadCPUTimeID  ClockID = 3
)

// Rights is the capability bitset attached to an fd.
type Rights uint64

const (
	RightFDDataSync Rights = 1 << iota
	RightFDRead
	RightFDSeek
	RightFDStatSetFlags
	RightFDSync
	RightFDTell
	RightFDWrite
	RightFDAdvise
	RightFDAllocate
	RightPathCreateDirectory
	RightPathCreateFile
	RightPathLinkSource
	RightPathLinkTarget
	RightPathOpen
	RightFDReadDir
	RightPathReadLink
	RightPathRenameSource
	RightPathRenameTarget
	RightPathFileStatGet
	RightPathFileStatSetSize
	RightPathFileStatSetTimes
	RightFDFileStatGet
	RightFDFileStatSetSize
	RightFDFileStatSetTimes
	RightPathSymlink
	RightPathRemoveDirectory
	RightPathUnlinkFile
	RightPollFDReadWrite
	RightSockShutdown
	RightSockAccept

	// AllRights is every right defined by WASI preview 1.
	AllRights Rights = 1<<30 - 1
)

// Has reports whether r holds every right in want.
func (r Rights) Has(want Rights) bool { return r&want == want }

// Rights grouped by the kind of fd they make sense on.
const (
	FileRights = RightFDDataSync | RightFDRead | RightFDSeek | RightFDStatSetFlags | RightFDSync |
		RightFDTell | RightFDWrite | RightFDAdvise | RightFDAllocate | RightFDFileStatGet |
		RightFDFileStatSetSize | RightFDFileStatSetTimes | RightPollFDReadWrite
	DirRights = RightFDStatSetFlags | RightFDSync | RightFDAdvise | RightPathCreateDirectory |
		RightPathCreateFile | RightPathLinkSource | RightPathLinkTarget | RightPathOpen |
		RightFDReadDir | RightPathReadLink | RightPathRenameSource | RightPathRenameTarget |
		RightPathFileStatGet | RightPathFileStatSetSize | RightPathFileStatSetTimes |
		RightFDFileStatGet | RightFDFileStatSetTimes | RightPathSymlink | RightPathRemoveDirectory |
		RightPathUnlinkFile
	SockRights = RightFDRead | RightFDWrite | RightFDStatSetFlags | RightFDFileStatGet |
		RightPollFDReadWrite | RightSockShutdown | RightSockAccept
)

// Filetype is the type of a file descriptor or file.
type Filetype uint8

const (
	FiletypeUnknown Filetype = iota
	FiletypeBlockDevice
	FiletypeCharacterDevice
	FiletypeDirectory
	FiletypeRegularFile
	FiletypeSocketDgram
	FiletypeSocketStream
	FiletypeSymbolicLink
)

var filetypeNames = [...]string{"unknown", "block_device", "character_device", "directory",
	"regular_file", "socket_dgram", "socket_stream", "symbolic_link"}

func (t Filetype) String() string {
	if int(t) < len(filetypeNames) {
		return filetypeNames[t]
	}
	return "filetype?"
}

// FDFlags are the status flags of an fd.
type FDFlags uint16

const (
	FDFlagAppend FDFlags = 1 << iota
	FDFlagDSync
	FDFlagNonBlock
	FDFlagRSync
	FDFlagSync
)

// OFlags are path_open's open flags.
type OFlags uint16

const (
	OFlagCreat OFlags = 1 << iota
	OFlagDirectory
	OFlagExcl
	OFlagTrunc
)

// LookupFlags control path resolution.
type LookupFlags uint32

// LookupSymlinkFollow follows a symlink in the last path component.
const LookupSymlinkFollow LookupFlags = 1

// FSTFlags select which timestamps a set_times call changes.
type FSTFlags uint16

const (
	FSTFlagAtim FSTFlags = 1 << iota
	FSTFlagAtimNow
	FSTFlagMtim
	FSTFlagMtimNow
)

// Whence is the base of a seek.
type Whence uint8

const (
	WhenceSet Whence = 0
	WhenceCur Whence = 1
	WhenceEnd Whence = 2
)

// Advice is an fd_advise hint.
type Advice uint8

const (
	AdviceNormal Advice = iota
	AdviceSequential
	AdviceRandom
	AdviceWillNeed
	AdviceDontNeed
	AdviceNoReuse
)

// EventType is the kind of a subscription or event.
type EventType uint8

const (
	EventTypeClock EventType = iota
	EventTypeFDRead
	EventTypeFDWrite
)

// SubclockFlags modify a clock subscription.
type SubclockFlags uint16

// SubclockAbstime makes the timeout an absolute time of the clock.
const SubclockAbstime SubclockFlags = 1

// EventRWFlags describe an fd readiness event.
type EventRWFlags uint16

// EventFDReadWriteHangup reports that the peer hung up.
const EventFDReadWriteHangup EventRWFlags = 1

// RIFlags are sock_recv input flags.
type RIFlags uint16

const (
	RecvPeek    RIFlags = 1
	RecvWaitAll RIFlags = 2
)

// ROFlags are sock_recv output flags.
type ROFlags uint16

// RecvDataTruncated reports that a datagram was truncated.
const RecvDataTruncated ROFlags = 1

// SIFlags are sock_send input flags (none are defined).
type SIFlags uint16

// SDFlags select which directions sock_shutdown closes.
type SDFlags uint8

const (
	ShutdownRD SDFlags = 1
	ShutdownWR SDFlags = 2
)

// Signal is a signal number for proc_raise.
type Signal uint8

// PreopenType is the tag of a prestat.
type PreopenType uint8

// PreopenDir is the only preopen type of WASI preview 1.
const PreopenDir PreopenType = 0

// FileStat is the result of the filestat_get functions (64 bytes in memory).
type FileStat struct {
	Dev      Device
	Ino      Inode
	Filetype Filetype
	NLink    LinkCount
	Size     Filesize
	ATim     Timestamp
	MTim     Timestamp
	CTim     Timestamp
}

// FDStat is the result of fd_fdstat_get (24 bytes in memory).
type FDStat struct {
	Filetype         Filetype
	Flags            FDFlags
	RightsBase       Rights
	RightsInheriting Rights
}

// Prestat describes a preopened fd (8 bytes in memory).
type Prestat struct {
	Type    PreopenType
	NameLen Size
}

// DirEntry is one directory entry returned by fd_readdir. In memory it is a
// 24-byte header followed by the name (not NUL terminated).
type DirEntry struct {
	Next DirCookie // cookie of the entry after this one
	Ino  Inode
	Type Filetype
	Name []byte
}

// DirentHeaderSize is the size of a dirent header in guest memory.
const DirentHeaderSize = 24

// SizeInBuffer is how many bytes the entry takes in an fd_readdir buffer.
func (d *DirEntry) SizeInBuffer() int { return DirentHeaderSize + len(d.Name) }

// Subscription is one poll_oneoff subscription (48 bytes in memory).
// Clock fields are set for EventTypeClock, FD for the fd event types.
type Subscription struct {
	UserData  UserData
	EventType EventType
	// Clock subscription.
	ClockID   ClockID
	Timeout   Timestamp
	Precision Timestamp
	Flags     SubclockFlags
	// FD subscription.
	FD FD
}

// Event is one poll_oneoff event (32 bytes in memory).
type Event struct {
	UserData  UserData
	Errno     Errno
	EventType EventType
	NBytes    Filesize     // fd events: bytes available (0 if unknown)
	Flags     EventRWFlags // fd events
}

// Sizes of the structures in guest memory.
const (
	FileStatSize     = 64
	FDStatSize       = 24
	PrestatSize      = 8
	SubscriptionSize = 48
	EventSize        = 32
	IOVecSize        = 8
)
