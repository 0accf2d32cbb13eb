package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// clockResGet is clock_res_get: return the resolution of a clock.
//
// Parameters: id (i32) is the clock (realtime, monotonic,
// process_cputime_id, thread_cputime_id; others are EINVAL);
// result.resolution (i32) receives the resolution in nanoseconds (u64).
// Result: errno.
var clockResGet = &function{
	id:     FuncClockResGet,
	params: []param{{"id", i32}, {"result.resolution", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		id, errno := clockID(stack[0])
		if errno != ESUCCESS {
			return errno
		}
		out, ok := region(b.memory(mod), uint32(stack[1]), 8)
		if !ok {
			return EFAULT
		}
		res, errno := b.sys.ClockResGet(ctx, id)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint64(out, res)
		return ESUCCESS
	},
}

// clockTimeGet is clock_time_get: return the time value of a clock.
//
// Parameters: id (i32) is the clock to query; precision (i64) is the
// maximum lag (exclusive) that the returned time value may have compared to
// its actual value; result.time (i32) receives the time value in
// nanoseconds (u64).
// Result: errno.
var clockTimeGet = &function{
	id:     FuncClockTimeGet,
	params: []param{{"id", i32}, {"precision", i64}, {"result.time", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		id, errno := clockID(stack[0])
		if errno != ESUCCESS {
			return errno
		}
		out, ok := region(b.memory(mod), uint32(stack[2]), 8)
		if !ok {
			return EFAULT
		}
		t, errno := b.sys.ClockTimeGet(ctx, id, stack[1])
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint64(out, t)
		return ESUCCESS
	},
}

func clockID(v uint64) (ClockID, Errno) {
	if uint32(v) > uint32(ClockThreadCPUTimeID) {
		return 0, EINVAL
	}
	return ClockID(uint32(v)), ESUCCESS
}
