package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// procExit is proc_exit: terminate the process normally. An exit code of 0
// indicates successful termination of the program.
//
// Parameters: rval (i32) is the exit code returned by the process.
// No result: the function does not return. The System hears the code, then
// the guest module is closed with it and the call unwinds with a
// *sys.ExitError, so mod.Call returns that error and nothing after
// proc_exit (LLVM puts an unreachable there) runs.
var procExit = &function{
	id:       FuncProcExit,
	params:   []param{{"rval", i32}},
	noResult: true,
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		code := uint32(stack[0])
		_ = b.sys.ProcExit(ctx, code) // proc_exit cannot report an error
		_ = mod.CloseWithExitCode(ctx, code)
		panic(sys.NewExitError(code))
	},
}

// procRaise is proc_raise: send a signal to the process of the calling
// thread.
//
// Parameters: sig (i32) is the signal condition to trigger (0 to 30, the
// signal enum of the specification; others are EINVAL).
// Result: errno.
var procRaise = &function{
	id:     FuncProcRaise,
	params: []param{{"sig", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		sig := uint32(stack[0])
		if sig > maxSignal {
			return EINVAL
		}
		return b.sys.ProcRaise(ctx, Signal(sig))
	},
}

// maxSignal is the last value of the WASI preview 1 signal enum (sys).
const maxSignal = 30
