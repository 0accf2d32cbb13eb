package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// pathCreateDirectory is path_create_directory: create a directory.
//
// Parameters: fd (i32) is the directory the path is relative to; path (i32)
// and path_len (i32) are the path at which to create the directory.
// Result: errno.
var pathCreateDirectory = &function{
	id:     FuncPathCreateDirectory,
	params: []param{{"fd", i32}, {"path", i32}, {"path_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		path, ok := readString(b.memory(mod), uint32(stack[1]), uint32(stack[2]))
		if !ok {
			return EFAULT
		}
		return b.sys.PathCreateDirectory(ctx, uint32(stack[0]), path)
	},
}

// pathFilestatGet is path_filestat_get: return the attributes of a file or
// directory.
//
// Parameters: fd (i32); flags (i32) are the lookupflags (symlink_follow);
// path (i32) and path_len (i32) are the path of the file or directory to
// inspect; result.buf (i32) receives the filestat (64 bytes).
// Result: errno.
var pathFilestatGet = &function{
	id:     FuncPathFileStatGet,
	params: []param{{"fd", i32}, {"flags", i32}, {"path", i32}, {"path_len", i32}, {"result.buf", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		path, ok := readString(mem, uint32(stack[2]), uint32(stack[3]))
		if !ok {
			return EFAULT
		}
		out, ok := region(mem, uint32(stack[4]), FileStatSize)
		if !ok {
			return EFAULT
		}
		st, errno := b.sys.PathFileStatGet(ctx, uint32(stack[0]), LookupFlags(stack[1]), path)
		if errno != ESUCCESS {
			return errno
		}
		putFileStat(out, &st)
		return ESUCCESS
	},
}

// pathFilestatSetTimes is path_filestat_set_times: adjust the timestamps of
// a file or directory.
//
// Parameters: fd (i32); flags (i32) are the lookupflags; path (i32) and
// path_len (i32) are the path of the file or directory to operate on; atim
// (i64) and mtim (i64) are the desired access and modification timestamps;
// fst_flags (i32) selects which timestamps to adjust.
// Result: errno.
var pathFilestatSetTimes = &function{
	id: FuncPathFileStatSetTimes,
	params: []param{{"fd", i32}, {"flags", i32}, {"path", i32}, {"path_len", i32},
		{"atim", i64}, {"mtim", i64}, {"fst_flags", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		path, ok := readString(b.memory(mod), uint32(stack[2]), uint32(stack[3]))
		if !ok {
			return EFAULT
		}
		return b.sys.PathFileStatSetTimes(ctx, uint32(stack[0]), LookupFlags(stack[1]), path,
			stack[4], stack[5], FSTFlags(stack[6]))
	},
}

// pathLink is path_link: create a hard link.
//
// Parameters: old_fd (i32) and old_flags (i32) are the directory and
// lookupflags for the source; old_path (i32) and old_path_len (i32) its
// path; new_fd (i32) is the directory of the destination, new_path (i32)
// and new_path_len (i32) its path.
// Result: errno.
var pathLink = &function{
	id: FuncPathLink,
	params: []param{{"old_fd", i32}, {"old_flags", i32}, {"old_path", i32}, {"old_path_len", i32},
		{"new_fd", i32}, {"new_path", i32}, {"new_path_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		oldPath, ok := readString(mem, uint32(stack[2]), uint32(stack[3]))
		if !ok {
			return EFAULT
		}
		newPath, ok := readString(mem, uint32(stack[5]), uint32(stack[6]))
		if !ok {
			return EFAULT
		}
		return b.sys.PathLink(ctx, uint32(stack[0]), LookupFlags(stack[1]), oldPath, uint32(stack[4]), newPath)
	},
}

// pathOpen is path_open: open a file or directory.
//
// Parameters: fd (i32) is the directory the path is relative to; dirflags
// (i32) are the lookupflags; path (i32) and path_len (i32) are the relative
// path of the file or directory to open; oflags (i32) are the method by
// which to open the file (creat, directory, excl, trunc); fs_rights_base
// (i64) and fs_rights_inheriting (i64) are the initial rights of the new
// descriptor; fdflags (i32) are its flags; result.opened_fd (i32) receives
// the new file descriptor (u32).
// Result: errno.
var pathOpen = &function{
	id: FuncPathOpen,
	params: []param{{"fd", i32}, {"dirflags", i32}, {"path", i32}, {"path_len", i32}, {"oflags", i32},
		{"fs_rights_base", i64}, {"fs_rights_inheriting", i64}, {"fdflags", i32}, {"result.opened_fd", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		path, ok := readString(mem, uint32(stack[2]), uint32(stack[3]))
		if !ok {
			return EFAULT
		}
		out, ok := region(mem, uint32(stack[8]), 4)
		if !ok {
			return EFAULT
		}
		fd, errno := b.sys.PathOpen(ctx, uint32(stack[0]), LookupFlags(stack[1]), path, OFlags(stack[4]),
			Rights(stack[5]), Rights(stack[6]), FDFlags(stack[7]))
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, fd)
		return ESUCCESS
	},
}

// pathReadlink is path_readlink: read the contents of a symbolic link.
//
// Parameters: fd (i32); path (i32) and path_len (i32) are the path of the
// symbolic link; buf (i32) and buf_len (i32) are the buffer receiving the
// contents (truncated, not NUL terminated); result.bufused (i32) receives
// the number of bytes placed in buf (u32).
// Result: errno.
var pathReadlink = &function{
	id: FuncPathReadLink,
	params: []param{{"fd", i32}, {"path", i32}, {"path_len", i32}, {"buf", i32}, {"buf_len", i32},
		{"result.bufused", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		path, ok := readString(mem, uint32(stack[1]), uint32(stack[2]))
		if !ok {
			return EFAULT
		}
		buf, ok := region(mem, uint32(stack[3]), uint32(stack[4]))
		if !ok {
			return EFAULT
		}
		out, ok := region(mem, uint32(stack[5]), 4)
		if !ok {
			return EFAULT
		}
		n, errno := b.sys.PathReadLink(ctx, uint32(stack[0]), path, buf)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, min(n, uint32(len(buf))))
		return ESUCCESS
	},
}

// pathRemoveDirectory is path_remove_directory: remove a directory; ENOTEMPTY
// if it is not empty.
//
// Parameters: fd (i32); path (i32) and path_len (i32) are the path of the
// directory to remove.
// Result: errno.
var pathRemoveDirectory = &function{
	id:     FuncPathRemoveDirectory,
	params: []param{{"fd", i32}, {"path", i32}, {"path_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		path, ok := readString(b.memory(mod), uint32(stack[1]), uint32(stack[2]))
		if !ok {
			return EFAULT
		}
		return b.sys.PathRemoveDirectory(ctx, uint32(stack[0]), path)
	},
}

// pathRename is path_rename: rename a file or directory.
//
// Parameters: fd (i32) is the source directory; old_path (i32) and
// old_path_len (i32) the source path; new_fd (i32) the target directory;
// new_path (i32) and new_path_len (i32) the target path.
// Result: errno.
var pathRename = &function{
	id: FuncPathRename,
	params: []param{{"fd", i32}, {"old_path", i32}, {"old_path_len", i32}, {"new_fd", i32},
		{"new_path", i32}, {"new_path_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		oldPath, ok := readString(mem, uint32(stack[1]), uint32(stack[2]))
		if !ok {
			return EFAULT
		}
		newPath, ok := readString(mem, uint32(stack[4]), uint32(stack[5]))
		if !ok {
			return EFAULT
		}
		return b.sys.PathRename(ctx, uint32(stack[0]), oldPath, uint32(stack[3]), newPath)
	},
}

// pathSymlink is path_symlink: create a symbolic link.
//
// Parameters: old_path (i32) and old_path_len (i32) are the contents of the
// link; fd (i32) is the directory the new path is relative to; new_path
// (i32) and new_path_len (i32) are the destination path of the link.
// Result: errno.
var pathSymlink = &function{
	id: FuncPathSymlink,
	params: []param{{"old_path", i32}, {"old_path_len", i32}, {"fd", i32}, {"new_path", i32},
		{"new_path_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		oldPath, ok := readString(mem, uint32(stack[0]), uint32(stack[1]))
		if !ok {
			return EFAULT
		}
		newPath, ok := readString(mem, uint32(stack[3]), uint32(stack[4]))
		if !ok {
			return EFAULT
		}
		return b.sys.PathSymlink(ctx, oldPath, uint32(stack[2]), newPath)
	},
}

// pathUnlinkFile is path_unlink_file: unlink a file; EISDIR if the path
// refers to a directory.
//
// Parameters: fd (i32); path (i32) and path_len (i32) are the path of the
// file to unlink.
// Result: errno.
var pathUnlinkFile = &function{
	id:     FuncPathUnlinkFile,
	params: []param{{"fd", i32}, {"path", i32}, {"path_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		path, ok := readString(b.memory(mod), uint32(stack[1]), uint32(stack[2]))
		if !ok {
			return EFAULT
		}
		return b.sys.PathUnlinkFile(ctx, uint32(stack[0]), path)
	},
}
