//go:build wasip1

package main

// Raw WASI preview 1 imports, declared with plain integers so the guest can
// pass any pointer (bad ones included) and see the errno.

//go:wasmimport wasi_snapshot_preview1 args_get
func argsGet(argv, argvBuf uint32) uint32

//go:wasmimport wasi_snapshot_preview1 args_sizes_get
func argsSizesGet(argc, argvBufSize uint32) uint32

//go:wasmimport wasi_snapshot_preview1 environ_get
func environGet(environ, environBuf uint32) uint32

//go:wasmimport wasi_snapshot_preview1 environ_sizes_get
func environSizesGet(environc, environBufSize uint32) uint32

//go:wasmimport wasi_snapshot_preview1 clock_res_get
func clockResGet(id, resolution uint32) uint32

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(id uint32, precision uint64, time uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_advise
func fdAdvise(fd uint32, offset, length uint64, advice uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_allocate
func fdAllocate(fd uint32, offset, length uint64) uint32

//go:wasmimport wasi_snapshot_preview1 fd_close
func fdClose(fd uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_datasync
func fdDatasync(fd uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_get
func fdFdstatGet(fd, stat uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_set_flags
func fdFdstatSetFlags(fd, flags uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_fdstat_set_rights
func fdFdstatSetRights(fd uint32, base, inheriting uint64) uint32

//go:wasmimport wasi_snapshot_preview1 fd_filestat_get
func fdFilestatGet(fd, buf uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_filestat_set_size
func fdFilestatSetSize(fd uint32, size uint64) uint32

//go:wasmimport wasi_snapshot_preview1 fd_filestat_set_times
func fdFilestatSetTimes(fd uint32, atim, mtim uint64, fstFlags uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_pread
func fdPread(fd, iovs, iovsLen uint32, offset uint64, nread uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_prestat_get
func fdPrestatGet(fd, prestat uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_prestat_dir_name
func fdPrestatDirName(fd, path, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_pwrite
func fdPwrite(fd, iovs, iovsLen uint32, offset uint64, nwritten uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_read
func fdRead(fd, iovs, iovsLen, nread uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_readdir
func fdReaddir(fd, buf, bufLen uint32, cookie uint64, bufused uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_renumber
func fdRenumber(fd, to uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_seek
func fdSeek(fd uint32, offset uint64, whence, newoffset uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_sync
func fdSync(fd uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_tell
func fdTell(fd, offset uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_write
func fdWrite(fd, iovs, iovsLen, nwritten uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_create_directory
func pathCreateDirectory(fd, path, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_filestat_get
func pathFilestatGet(fd, flags, path, pathLen, buf uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_filestat_set_times
func pathFilestatSetTimes(fd, flags, path, pathLen uint32, atim, mtim uint64, fstFlags uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_link
func pathLink(oldFD, oldFlags, oldPath, oldPathLen, newFD, newPath, newPathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_open
func pathOpen(fd, dirflags, path, pathLen, oflags uint32, base, inheriting uint64, fdflags, openedFD uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_readlink
func pathReadlink(fd, path, pathLen, buf, bufLen, bufused uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_remove_directory
func pathRemoveDirectory(fd, path, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_rename
func pathRename(fd, oldPath, oldPathLen, newFD, newPath, newPathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_symlink
func pathSymlink(oldPath, oldPathLen, fd, newPath, newPathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 path_unlink_file
func pathUnlinkFile(fd, path, pathLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 poll_oneoff
func pollOneoff(in, out, nsubscriptions, nevents uint32) uint32

//go:wasmimport wasi_snapshot_preview1 proc_exit
func procExit(rval uint32)

//go:wasmimport wasi_snapshot_preview1 proc_raise
func procRaise(sig uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sched_yield
func schedYield() uint32

//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(buf, bufLen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_accept
func sockAccept(fd, flags, newFD uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_recv
func sockRecv(fd, riData, riDataLen, riFlags, roDatalen, roFlags uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_send
func sockSend(fd, siData, siDataLen, siFlags, soDatalen uint32) uint32

//go:wasmimport wasi_snapshot_preview1 sock_shutdown
func sockShutdown(fd, how uint32) uint32
