package wasi

// Func identifies a host function. The numeric values are stored in every
// recorded segment: they are part of the format, never change or reuse one.
// New functions (such as the socket extension) get new numbers at the end.
type Func uint16

const (
	FuncArgsGet Func = iota
	FuncArgsSizesGet
	FuncEnvironGet
	FuncEnvironSizesGet
	FuncClockResGet
	FuncClockTimeGet
	FuncFDAdvise
	FuncFDAllocate
	FuncFDClose
	FuncFDDataSync
	FuncFDStatGet
	FuncFDStatSetFlags
	FuncFDStatSetRights
	FuncFDFileStatGet
	FuncFDFileStatSetSize
	FuncFDFileStatSetTimes
	FuncFDPread
	FuncFDPrestatGet
	FuncFDPrestatDirName
	FuncFDPwrite
	FuncFDRead
	FuncFDReadDir
	FuncFDRenumber
	FuncFDSeek
	FuncFDSync
	FuncFDTell
	FuncFDWrite
	FuncPathCreateDirectory
	FuncPathFileStatGet
	FuncPathFileStatSetTimes
	FuncPathLink
	FuncPathOpen
	FuncPathReadLink
	FuncPathRemoveDirectory
	FuncPathRename
	FuncPathSymlink
	FuncPathUnlinkFile
	FuncPollOneOff
	FuncProcExit
	FuncProcRaise
	FuncSchedYield
	FuncRandomGet
	FuncSockAccept
	FuncSockRecv
	FuncSockSend
	FuncSockShutdown

	// The WasmEdge socket extension (docs/abi.md), table version 2.
	FuncSockOpen
	FuncSockBind
	FuncSockConnect
	FuncSockListen
	FuncSockRecvFrom
	FuncSockSendTo
	FuncSockGetOpt
	FuncSockSetOpt
	FuncSockGetLocalAddr
	FuncSockGetPeerAddr
	FuncSockGetAddrInfo

	// FuncCount is the number of functions in this version of the table.
	FuncCount
)

// FuncTableVersion is the version of the function table above. Bump it when
// functions are appended so readers can tell which IDs a writer knew.
const FuncTableVersion = 2

var funcNames = [FuncCount]string{
	"args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get",
	"clock_time_get", "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get",
	"fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size",
	"fd_filestat_set_times", "fd_pread", "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite",
	"fd_read", "fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
	"path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link",
	"path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
	"path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get",
	"sock_accept", "sock_recv", "sock_send", "sock_shutdown",
	"sock_open", "sock_bind", "sock_connect", "sock_listen", "sock_recv_from", "sock_send_to",
	"sock_getsockopt", "sock_setsockopt", "sock_getlocaladdr", "sock_getpeeraddr", "sock_getaddrinfo",
}

// String returns the WASI name of the function, such as "fd_write".
func (f Func) String() string {
	if f < FuncCount {
		return funcNames[f]
	}
	return "func?"
}

// FuncByName returns the function with the given WASI name.
func FuncByName(name string) (Func, bool) {
	for i, n := range funcNames {
		if n == name {
			return Func(i), true
		}
	}
	return 0, false
}

// ModuleName is the import module name of WASI preview 1.
const ModuleName = "wasi_snapshot_preview1"
