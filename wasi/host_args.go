package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// argsGet is args_get: read command-line argument data.
//
// Parameters: argv (i32) points to an array of argc pointers, one per
// argument; argv_buf (i32) points to the buffer receiving the NUL-terminated
// argument strings, of the size args_sizes_get returned.
// Result: errno.
var argsGet = &function{
	id:     FuncArgsGet,
	params: []param{{"argv", i32}, {"argv_buf", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		args, errno := b.sys.ArgsGet(ctx)
		if errno != ESUCCESS {
			return errno
		}
		return writeStrings(b.memory(mod), uint32(stack[0]), uint32(stack[1]), args)
	},
}

// argsSizesGet is args_sizes_get: return command-line argument data sizes.
//
// Parameters: result.argc (i32) receives the number of arguments (u32);
// result.argv_buf_size (i32) receives the size of the argument string data
// (u32).
// Result: errno.
var argsSizesGet = &function{
	id:     FuncArgsSizesGet,
	params: []param{{"result.argc", i32}, {"result.argv_buf_size", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return writeSizes(b.memory(mod), uint32(stack[0]), uint32(stack[1]), func() (Size, Size, Errno) {
			return b.sys.ArgsSizesGet(ctx)
		})
	},
}

// environGet is environ_get: read environment variable data.
//
// Parameters: environ (i32) points to an array of pointers, one per
// variable; environ_buf (i32) points to the buffer receiving the
// NUL-terminated "KEY=VALUE" strings.
// Result: errno.
var environGet = &function{
	id:     FuncEnvironGet,
	params: []param{{"environ", i32}, {"environ_buf", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		env, errno := b.sys.EnvironGet(ctx)
		if errno != ESUCCESS {
			return errno
		}
		return writeStrings(b.memory(mod), uint32(stack[0]), uint32(stack[1]), env)
	},
}

// environSizesGet is environ_sizes_get: return environment variable data
// sizes.
//
// Parameters: result.environc (i32) receives the number of variables (u32);
// result.environ_buf_size (i32) receives the size of the string data (u32).
// Result: errno.
var environSizesGet = &function{
	id:     FuncEnvironSizesGet,
	params: []param{{"result.environc", i32}, {"result.environ_buf_size", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return writeSizes(b.memory(mod), uint32(stack[0]), uint32(stack[1]), func() (Size, Size, Errno) {
			return b.sys.EnvironSizesGet(ctx)
		})
	},
}

// writeSizes checks both result pointers, then calls get and stores its two
// u32 results.
func writeSizes(mem api.Memory, countPtr, sizePtr uint32, get func() (Size, Size, Errno)) Errno {
	countOut, ok := region(mem, countPtr, 4)
	if !ok {
		return EFAULT
	}
	sizeOut, ok := region(mem, sizePtr, 4)
	if !ok {
		return EFAULT
	}
	count, size, errno := get()
	if errno != ESUCCESS {
		return errno
	}
	le.PutUint32(countOut, count)
	le.PutUint32(sizeOut, size)
	return ESUCCESS
}

// writeStrings stores strs as NUL-terminated strings packed at bufPtr and
// their addresses in the u32 array at ptrsPtr.
func writeStrings(mem api.Memory, ptrsPtr, bufPtr uint32, strs []string) Errno {
	var size uint64
	for _, s := range strs {
		size += uint64(len(s)) + 1
	}
	if size > 1<<32-1 {
		return EFAULT
	}
	ptrs, ok := array(mem, ptrsPtr, uint32(len(strs)), 4)
	if !ok {
		return EFAULT
	}
	buf, ok := region(mem, bufPtr, uint32(size))
	if !ok {
		return EFAULT
	}
	off := 0
	for i, s := range strs {
		le.PutUint32(ptrs[4*i:], bufPtr+uint32(off))
		off += copy(buf[off:], s)
		buf[off] = 0
		off++
	}
	return ESUCCESS
}
