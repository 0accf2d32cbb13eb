package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// randomGet is random_get: write high-quality random data into a buffer.
//
// Parameters: buf (i32) and buf_len (i32) are the buffer to fill with
// random data. The System fills guest memory directly.
// Result: errno.
var randomGet = &function{
	id:     FuncRandomGet,
	params: []param{{"buf", i32}, {"buf_len", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		buf, ok := region(b.memory(mod), uint32(stack[0]), uint32(stack[1]))
		if !ok {
			return EFAULT
		}
		return b.sys.RandomGet(ctx, buf)
	},
}
