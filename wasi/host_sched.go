package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// schedYield is sched_yield: temporarily yield execution of the calling
// thread.
//
// No parameters. Result: errno.
var schedYield = &function{
	id: FuncSchedYield,
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.SchedYield(ctx)
	},
}
