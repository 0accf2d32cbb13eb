package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// fdAdvise is fd_advise: provide file advisory information on a file
// descriptor.
//
// Parameters: fd (i32); offset (i64) is the offset within the file to which
// the advisory applies; len (i64) is the length of the region; advice (i32)
// is the advice (normal, sequential, random, willneed, dontneed, noreuse;
// others are EINVAL).
// Result: errno.
var fdAdvise = &function{
	id:     FuncFDAdvise,
	params: []param{{"fd", i32}, {"offset", i64}, {"len", i64}, {"advice", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		advice := uint32(stack[3])
		if advice > uint32(AdviceNoReuse) {
			return EINVAL
		}
		return b.sys.FDAdvise(ctx, uint32(stack[0]), stack[1], stack[2], Advice(advice))
	},
}

// fdAllocate is fd_allocate: force the allocation of space in a file.
//
// Parameters: fd (i32); offset (i64) is the offset at which to start the
// allocation; len (i64) is the length of the area that is allocated.
// Result: errno.
var fdAllocate = &function{
	id:     FuncFDAllocate,
	params: []param{{"fd", i32}, {"offset", i64}, {"len", i64}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDAllocate(ctx, uint32(stack[0]), stack[1], stack[2])
	},
}

// fdClose is fd_close: close a file descriptor.
//
// Parameters: fd (i32).
// Result: errno.
var fdClose = &function{
	id:     FuncFDClose,
	params: []param{{"fd", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDClose(ctx, uint32(stack[0]))
	},
}

// fdDatasync is fd_datasync: synchronize the data of a file to disk.
//
// Parameters: fd (i32).
// Result: errno.
var fdDatasync = &function{
	id:     FuncFDDataSync,
	params: []param{{"fd", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDDataSync(ctx, uint32(stack[0]))
	},
}

// fdFdstatGet is fd_fdstat_get: get the attributes of a file descriptor.
//
// Parameters: fd (i32); result.stat (i32) receives the fdstat (24 bytes).
// Result: errno.
var fdFdstatGet = &function{
	id:     FuncFDStatGet,
	params: []param{{"fd", i32}, {"result.stat", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		out, ok := region(b.memory(mod), uint32(stack[1]), FDStatSize)
		if !ok {
			return EFAULT
		}
		st, errno := b.sys.FDStatGet(ctx, uint32(stack[0]))
		if errno != ESUCCESS {
			return errno
		}
		putFDStat(out, &st)
		return ESUCCESS
	},
}

// fdFdstatSetFlags is fd_fdstat_set_flags: adjust the flags associated with
// a file descriptor.
//
// Parameters: fd (i32); flags (i32) is the desired fdflags (u16).
// Result: errno.
var fdFdstatSetFlags = &function{
	id:     FuncFDStatSetFlags,
	params: []param{{"fd", i32}, {"flags", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDStatSetFlags(ctx, uint32(stack[0]), FDFlags(stack[1]))
	},
}

// fdFdstatSetRights is fd_fdstat_set_rights: adjust the rights associated
// with a file descriptor; rights can only be removed.
//
// Parameters: fd (i32); fs_rights_base (i64) and fs_rights_inheriting (i64)
// are the desired rights.
// Result: errno.
var fdFdstatSetRights = &function{
	id:     FuncFDStatSetRights,
	params: []param{{"fd", i32}, {"fs_rights_base", i64}, {"fs_rights_inheriting", i64}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDStatSetRights(ctx, uint32(stack[0]), Rights(stack[1]), Rights(stack[2]))
	},
}

// fdFilestatGet is fd_filestat_get: return the attributes of an open file.
//
// Parameters: fd (i32); result.buf (i32) receives the filestat (64 bytes).
// Result: errno.
var fdFilestatGet = &function{
	id:     FuncFDFileStatGet,
	params: []param{{"fd", i32}, {"result.buf", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		out, ok := region(b.memory(mod), uint32(stack[1]), FileStatSize)
		if !ok {
			return EFAULT
		}
		st, errno := b.sys.FDFileStatGet(ctx, uint32(stack[0]))
		if errno != ESUCCESS {
			return errno
		}
		putFileStat(out, &st)
		return ESUCCESS
	},
}

// fdFilestatSetSize is fd_filestat_set_size: adjust the size of an open
// file, zero-filling an extension.
//
// Parameters: fd (i32); size (i64) is the desired file size.
// Result: errno.
var fdFilestatSetSize = &function{
	id:     FuncFDFileStatSetSize,
	params: []param{{"fd", i32}, {"size", i64}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDFileStatSetSize(ctx, uint32(stack[0]), stack[1])
	},
}

// fdFilestatSetTimes is fd_filestat_set_times: adjust the timestamps of an
// open file or directory.
//
// Parameters: fd (i32); atim (i64) is the desired data access timestamp;
// mtim (i64) the desired data modification timestamp; fst_flags (i32) is a
// bitmask selecting which timestamps to adjust.
// Result: errno.
var fdFilestatSetTimes = &function{
	id:     FuncFDFileStatSetTimes,
	params: []param{{"fd", i32}, {"atim", i64}, {"mtim", i64}, {"fst_flags", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDFileStatSetTimes(ctx, uint32(stack[0]), stack[1], stack[2], FSTFlags(stack[3]))
	},
}

// fdPread is fd_pread: read from a file descriptor without using and
// updating its offset.
//
// Parameters: fd (i32); iovs (i32) and iovs_len (i32) are the list of
// iovecs (buf u32, buf_len u32) in which to store data; offset (i64) is the
// offset within the file at which to read; result.nread (i32) receives the
// number of bytes read (u32).
// Result: errno.
var fdPread = &function{
	id:     FuncFDPread,
	params: []param{{"fd", i32}, {"iovs", i32}, {"iovs_len", i32}, {"offset", i64}, {"result.nread", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.transfer(ctx, mod, uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), stack[3], uint32(stack[4]), xferPread)
	},
}

// fdPrestatGet is fd_prestat_get: return a description of the given
// preopened file descriptor.
//
// Parameters: fd (i32); result.prestat (i32) receives the prestat (8
// bytes).
// Result: errno (EBADF past the last preopen).
var fdPrestatGet = &function{
	id:     FuncFDPrestatGet,
	params: []param{{"fd", i32}, {"result.prestat", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		out, ok := region(b.memory(mod), uint32(stack[1]), PrestatSize)
		if !ok {
			return EFAULT
		}
		ps, errno := b.sys.FDPrestatGet(ctx, uint32(stack[0]))
		if errno != ESUCCESS {
			return errno
		}
		putPrestat(out, &ps)
		return ESUCCESS
	},
}

// fdPrestatDirName is fd_prestat_dir_name: return the path of a preopened
// directory.
//
// Parameters: fd (i32); path (i32) and path_len (i32) are the buffer
// receiving the name (not NUL terminated); a name longer than path_len is
// ENAMETOOLONG.
// Result: errno.
var fdPrestatDirName = &function{
	id:     FuncFDPrestatDirName,
	params: []param{{"fd", i32}, {"path", i32}, {"path_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		out, ok := region(b.memory(mod), uint32(stack[1]), uint32(stack[2]))
		if !ok {
			return EFAULT
		}
		name, errno := b.sys.FDPrestatDirName(ctx, uint32(stack[0]))
		if errno != ESUCCESS {
			return errno
		}
		if len(name) > len(out) {
			return ENAMETOOLONG
		}
		copy(out, name)
		return ESUCCESS
	},
}

// fdPwrite is fd_pwrite: write to a file descriptor without using and
// updating its offset.
//
// Parameters: fd (i32); iovs (i32) and iovs_len (i32) are the list of
// ciovecs (buf u32, buf_len u32) to write; offset (i64) is the offset within
// the file at which to write; result.nwritten (i32) receives the number of
// bytes written (u32).
// Result: errno.
var fdPwrite = &function{
	id:     FuncFDPwrite,
	params: []param{{"fd", i32}, {"iovs", i32}, {"iovs_len", i32}, {"offset", i64}, {"result.nwritten", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.transfer(ctx, mod, uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), stack[3], uint32(stack[4]), xferPwrite)
	},
}

// fdRead is fd_read: read from a file descriptor.
//
// Parameters: fd (i32); iovs (i32) and iovs_len (i32) are the list of
// iovecs in which to store data; result.nread (i32) receives the number of
// bytes read (u32).
// Result: errno.
var fdRead = &function{
	id:     FuncFDRead,
	params: []param{{"fd", i32}, {"iovs", i32}, {"iovs_len", i32}, {"result.nread", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.transfer(ctx, mod, uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), 0, uint32(stack[3]), xferRead)
	},
}

// fdReaddir is fd_readdir: read directory entries from a directory.
//
// Parameters: fd (i32); buf (i32) and buf_len (i32) are the buffer
// receiving dirents (a 24-byte header, then the name), the last one
// truncated if it does not fit; cookie (i64) is the location within the
// directory to start reading; result.bufused (i32) receives the number of
// bytes stored (u32): less than buf_len means the end of the directory was
// reached.
// Result: errno.
var fdReaddir = &function{
	id:     FuncFDReadDir,
	params: []param{{"fd", i32}, {"buf", i32}, {"buf_len", i32}, {"cookie", i64}, {"result.bufused", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		buf, ok := region(mem, uint32(stack[1]), uint32(stack[2]))
		if !ok {
			return EFAULT
		}
		out, ok := region(mem, uint32(stack[4]), 4)
		if !ok {
			return EFAULT
		}
		used, errno := b.readdir(ctx, uint32(stack[0]), buf, stack[3])
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, uint32(used))
		return ESUCCESS
	},
}

// readdir fills buf with the entries of fd from cookie on, asking the
// System for batches of entries until buf is full or the directory ends.
// An error after some entries were stored ends the call successfully: the
// guest sees it on its next call, which starts after those entries.
func (b *binding) readdir(ctx context.Context, fd FD, buf []byte, cookie DirCookie) (int, Errno) {
	used := 0
	for used < len(buf) {
		n, errno := b.sys.FDReadDir(ctx, fd, b.entries, cookie, len(buf)-used)
		if errno != ESUCCESS {
			if used == 0 {
				return 0, errno
			}
			return used, ESUCCESS
		}
		n = min(n, len(b.entries))
		for i := range n {
			e := &b.entries[i]
			used += putDirent(buf[used:], e)
			cookie = e.Next
			if used == len(buf) {
				return used, ESUCCESS
			}
		}
		if n < len(b.entries) {
			break // the end of the directory
		}
	}
	return used, ESUCCESS
}

// fdRenumber is fd_renumber: atomically replace a file descriptor by
// renumbering another file descriptor.
//
// Parameters: fd (i32) is the descriptor to renumber; to (i32) is the
// descriptor to overwrite.
// Result: errno.
var fdRenumber = &function{
	id:     FuncFDRenumber,
	params: []param{{"fd", i32}, {"to", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDRenumber(ctx, uint32(stack[0]), uint32(stack[1]))
	},
}

// fdSeek is fd_seek: move the offset of a file descriptor.
//
// Parameters: fd (i32); offset (i64) is the number of bytes to move; whence
// (i32) is the base from which the offset is relative (set, cur, end;
// others are EINVAL); result.newoffset (i32) receives the new offset of the
// file descriptor, relative to the start of the file (u64).
// Result: errno.
var fdSeek = &function{
	id:     FuncFDSeek,
	params: []param{{"fd", i32}, {"offset", i64}, {"whence", i32}, {"result.newoffset", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		whence := uint32(stack[2])
		if whence > uint32(WhenceEnd) {
			return EINVAL
		}
		out, ok := region(b.memory(mod), uint32(stack[3]), 8)
		if !ok {
			return EFAULT
		}
		off, errno := b.sys.FDSeek(ctx, uint32(stack[0]), int64(stack[1]), Whence(whence))
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint64(out, off)
		return ESUCCESS
	},
}

// fdSync is fd_sync: synchronize the data and metadata of a file to disk.
//
// Parameters: fd (i32).
// Result: errno.
var fdSync = &function{
	id:     FuncFDSync,
	params: []param{{"fd", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.FDSync(ctx, uint32(stack[0]))
	},
}

// fdTell is fd_tell: return the current offset of a file descriptor.
//
// Parameters: fd (i32); result.offset (i32) receives the current offset of
// the file descriptor, relative to the start of the file (u64).
// Result: errno.
var fdTell = &function{
	id:     FuncFDTell,
	params: []param{{"fd", i32}, {"result.offset", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		out, ok := region(b.memory(mod), uint32(stack[1]), 8)
		if !ok {
			return EFAULT
		}
		off, errno := b.sys.FDTell(ctx, uint32(stack[0]))
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint64(out, off)
		return ESUCCESS
	},
}

// fdWrite is fd_write: write to a file descriptor.
//
// Parameters: fd (i32); iovs (i32) and iovs_len (i32) are the list of
// ciovecs to write; result.nwritten (i32) receives the number of bytes
// written (u32).
// Result: errno.
var fdWrite = &function{
	id:     FuncFDWrite,
	params: []param{{"fd", i32}, {"iovs", i32}, {"iovs_len", i32}, {"result.nwritten", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.transfer(ctx, mod, uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), 0, uint32(stack[3]), xferWrite)
	},
}

// xfer selects the System method behind transfer.
type xfer uint8

const (
	xferRead xfer = iota
	xferWrite
	xferPread
	xferPwrite
)

// transfer implements fd_read, fd_write, fd_pread and fd_pwrite: it checks
// the result pointer and decodes the iovecs into the reusable scratch slice
// before the System sees anything, so a bad pointer never costs a side
// effect.
func (b *binding) transfer(ctx context.Context, mod api.Module, fd FD, iovsPtr, iovsLen uint32, offset Filesize, resultPtr uint32, op xfer) Errno {
	mem := b.memory(mod)
	out, ok := region(mem, resultPtr, 4)
	if !ok {
		return EFAULT
	}
	iovs, ok := readIOVecs(mem, b.iovs, iovsPtr, iovsLen)
	b.iovs = iovs
	if !ok {
		return EFAULT
	}
	var n Size
	var errno Errno
	switch op {
	case xferRead:
		n, errno = b.sys.FDRead(ctx, fd, iovs)
	case xferWrite:
		n, errno = b.sys.FDWrite(ctx, fd, iovs)
	case xferPread:
		n, errno = b.sys.FDPread(ctx, fd, iovs, offset)
	case xferPwrite:
		n, errno = b.sys.FDPwrite(ctx, fd, iovs, offset)
	}
	clear(iovs) // drop references to guest memory between calls
	if errno != ESUCCESS {
		return errno
	}
	le.PutUint32(out, n)
	return ESUCCESS
}
