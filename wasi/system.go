// Package wasi owns the WASI preview 1 ABI as timelake sees it: the types,
// errno values, rights and flags of the specification, the System interface
// with one typed Go method per host function, and the binding that exports a
// System to a wazero guest as the "wasi_snapshot_preview1" host module.
//
// Package wasi does not implement any host behaviour: the sandbox package
// implements System on the real OS, capture wraps a System to record it, and
// replay serves a System from records. Everything that reads or writes guest
// memory lives here, so those implementations deal only in Go values.
package wasi

import "context"

// System is the host side of WASI preview 1: one method per host function,
// with typed arguments and results. The binding decodes guest memory into
// these calls and encodes the results back.
//
// Byte slices passed in (iovecs, buffers) alias guest memory and are valid
// only for the duration of the call: an implementation must not retain them.
// Returned slices (DirEntry names, args) are copied by the binding before the
// next call on the same System.
//
// Methods are called from the single goroutine running the guest; a System
// needs no locking of its own unless it shares state with other goroutines.
type System interface {
	// ArgsSizesGet returns the number of arguments and the size of the
	// buffer args_get needs for them (each argument NUL terminated).
	ArgsSizesGet(ctx context.Context) (argc, bufSize Size, errno Errno)
	// ArgsGet returns the command-line arguments, program name first.
	ArgsGet(ctx context.Context) ([]string, Errno)
	// EnvironSizesGet returns the number of environment variables and the
	// size of the buffer environ_get needs for them ("KEY=VALUE\x00" each).
	EnvironSizesGet(ctx context.Context) (count, bufSize Size, errno Errno)
	// EnvironGet returns the environment as "KEY=VALUE" strings.
	EnvironGet(ctx context.Context) ([]string, Errno)

	// ClockResGet returns the resolution of a clock.
	ClockResGet(ctx context.Context, id ClockID) (Timestamp, Errno)
	// ClockTimeGet returns the time value of a clock.
	ClockTimeGet(ctx context.Context, id ClockID, precision Timestamp) (Timestamp, Errno)

	// FDAdvise gives advice about the use of a file range.
	FDAdvise(ctx context.Context, fd FD, offset, length Filesize, advice Advice) Errno
	// FDAllocate forces the allocation of space in a file.
	FDAllocate(ctx context.Context, fd FD, offset, length Filesize) Errno
	// FDClose closes a file descriptor.
	FDClose(ctx context.Context, fd FD) Errno
	// FDDataSync synchronizes the data of a file to disk.
	FDDataSync(ctx context.Context, fd FD) Errno
	// FDStatGet returns the attributes of a file descriptor.
	FDStatGet(ctx context.Context, fd FD) (FDStat, Errno)
	// FDStatSetFlags changes the flags of a file descriptor.
	FDStatSetFlags(ctx context.Context, fd FD, flags FDFlags) Errno
	// FDStatSetRights drops rights of a file descriptor.
	FDStatSetRights(ctx context.Context, fd FD, base, inheriting Rights) Errno
	// FDFileStatGet returns the attributes of an open file.
	FDFileStatGet(ctx context.Context, fd FD) (FileStat, Errno)
	// FDFileStatSetSize truncates or extends an open file.
	FDFileStatSetSize(ctx context.Context, fd FD, size Filesize) Errno
	// FDFileStatSetTimes sets the timestamps of an open file.
	FDFileStatSetTimes(ctx context.Context, fd FD, atim, mtim Timestamp, flags FSTFlags) Errno
	// FDPread reads at an offset without moving the file position.
	FDPread(ctx context.Context, fd FD, iovs [][]byte, offset Filesize) (Size, Errno)
	// FDPrestatGet describes a preopened directory.
	FDPrestatGet(ctx context.Context, fd FD) (Prestat, Errno)
	// FDPrestatDirName returns the guest path of a preopened directory.
	FDPrestatDirName(ctx context.Context, fd FD) (string, Errno)
	// FDPwrite writes at an offset without moving the file position.
	FDPwrite(ctx context.Context, fd FD, iovs [][]byte, offset Filesize) (Size, Errno)
	// FDRead reads from a file descriptor into iovs.
	FDRead(ctx context.Context, fd FD, iovs [][]byte) (Size, Errno)
	// FDReadDir fills entries with directory entries starting at cookie. It
	// stops once the entries would fill bufLen bytes of guest buffer (the
	// binding truncates the last one, as the specification asks) or when
	// entries is full, and returns how many entries it filled.
	FDReadDir(ctx context.Context, fd FD, entries []DirEntry, cookie DirCookie, bufLen int) (int, Errno)
	// FDRenumber atomically replaces fd `to` with fd `from`.
	FDRenumber(ctx context.Context, from, to FD) Errno
	// FDSeek moves the file position and returns the new one.
	FDSeek(ctx context.Context, fd FD, offset FileDelta, whence Whence) (Filesize, Errno)
	// FDSync synchronizes the data and metadata of a file to disk.
	FDSync(ctx context.Context, fd FD) Errno
	// FDTell returns the file position.
	FDTell(ctx context.Context, fd FD) (Filesize, Errno)
	// FDWrite writes iovs to a file descriptor.
	FDWrite(ctx context.Context, fd FD, iovs [][]byte) (Size, Errno)

	// PathCreateDirectory creates a directory relative to fd.
	PathCreateDirectory(ctx context.Context, fd FD, path string) Errno
	// PathFileStatGet returns the attributes of a file or directory.
	PathFileStatGet(ctx context.Context, fd FD, flags LookupFlags, path string) (FileStat, Errno)
	// PathFileStatSetTimes sets the timestamps of a file or directory.
	PathFileStatSetTimes(ctx context.Context, fd FD, flags LookupFlags, path string, atim, mtim Timestamp, fstFlags FSTFlags) Errno
	// PathLink creates a hard link.
	PathLink(ctx context.Context, oldFD FD, oldFlags LookupFlags, oldPath string, newFD FD, newPath string) Errno
	// PathOpen opens a file or directory and returns its new fd.
	PathOpen(ctx context.Context, fd FD, dirFlags LookupFlags, path string, oflags OFlags, rightsBase, rightsInheriting Rights, fdFlags FDFlags) (FD, Errno)
	// PathReadLink reads the target of a symlink into buf (truncated to
	// len(buf)) and returns the number of bytes written.
	PathReadLink(ctx context.Context, fd FD, path string, buf []byte) (Size, Errno)
	// PathRemoveDirectory removes an empty directory.
	PathRemoveDirectory(ctx context.Context, fd FD, path string) Errno
	// PathRename renames a file or directory.
	PathRename(ctx context.Context, fd FD, oldPath string, newFD FD, newPath string) Errno
	// PathSymlink creates a symlink at newPath (relative to fd) to oldPath.
	PathSymlink(ctx context.Context, oldPath string, fd FD, newPath string) Errno
	// PathUnlinkFile removes a file.
	PathUnlinkFile(ctx context.Context, fd FD, path string) Errno

	// PollOneOff waits for at least one subscription to trigger, writes the
	// events into events (len(events) == len(subs)) and returns their count.
	PollOneOff(ctx context.Context, subs []Subscription, events []Event) (int, Errno)
	// ProcExit is called when the guest terminates with an exit code. The
	// binding stops the guest after it returns.
	ProcExit(ctx context.Context, code ExitCode) Errno
	// ProcRaise sends a signal to the process.
	ProcRaise(ctx context.Context, sig Signal) Errno
	// SchedYield yields the processor.
	SchedYield(ctx context.Context) Errno
	// RandomGet fills buf with random bytes.
	RandomGet(ctx context.Context, buf []byte) Errno

	// SockAccept accepts a connection on a listening socket.
	SockAccept(ctx context.Context, fd FD, flags FDFlags) (FD, Errno)
	// SockRecv receives data from a socket.
	SockRecv(ctx context.Context, fd FD, iovs [][]byte, flags RIFlags) (Size, ROFlags, Errno)
	// SockSend sends data on a socket.
	SockSend(ctx context.Context, fd FD, iovs [][]byte, flags SIFlags) (Size, Errno)
	// SockShutdown shuts down a socket in one or both directions.
	SockShutdown(ctx context.Context, fd FD, flags SDFlags) Errno

	// Close releases every resource of the System (open files included).
	Close(ctx context.Context) error
}
