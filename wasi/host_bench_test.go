package wasi

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// hotFunctions are the exports of testdata/bench, one loop per host
// function that must not allocate in steady state.
var hotFunctions = []string{
	"bench_fd_read", "bench_fd_write", "bench_fd_pread", "bench_fd_pwrite",
	"bench_clock_time_get", "bench_poll_oneoff", "bench_random_get",
}

// benchModule instantiates the bench reactor against a quiet fakeSystem.
func benchModule(tb testing.TB) api.Module {
	tb.Helper()
	ctx := context.Background()
	rt := newRuntime(tb)
	if _, err := Instantiate(ctx, rt, newFakeSystem("bench")); err != nil {
		tb.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, guest(tb, "bench", "-buildmode=c-shared"))
	if err != nil {
		tb.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		tb.Fatal(err)
	}
	return mod
}

// callLoop runs one bench export for n host calls and fails if any call
// returned an errno.
func callLoop(tb testing.TB, fn api.Function, stack []uint64, n int) {
	stack[0] = uint64(n)
	if err := fn.CallWithStack(context.Background(), stack); err != nil {
		tb.Fatal(err)
	}
	if stack[0] != 0 {
		tb.Fatalf("%d of %d calls failed", stack[0], n)
	}
}

// TestHotPathsDoNotAllocate proves the steady state of the hot host
// functions allocates nothing: 100 guest calls per run, zero allocations.
func TestHotPathsDoNotAllocate(t *testing.T) {
	mod := benchModule(t)
	for _, name := range hotFunctions {
		t.Run(name, func(t *testing.T) {
			fn := mod.ExportedFunction(name)
			stack := make([]uint64, 1)
			callLoop(t, fn, stack, 10) // warm up: scratch slices reach their size
			allocs := testing.AllocsPerRun(20, func() { callLoop(t, fn, stack, 100) })
			if allocs != 0 {
				t.Errorf("%s: %.1f allocations per 100 host calls, want 0", name, allocs)
			}
		})
	}
}

// BenchmarkHostCall measures one guest call of each hot host function
// through the binding (guest loop, wazero transition, decode, fakeSystem,
// encode). Run with -benchmem: allocs/op must be 0.
func BenchmarkHostCall(b *testing.B) {
	mod := benchModule(b)
	for _, name := range hotFunctions {
		b.Run(name[len("bench_"):], func(b *testing.B) {
			fn := mod.ExportedFunction(name)
			stack := make([]uint64, 1)
			callLoop(b, fn, stack, 10)
			b.ReportAllocs()
			b.ResetTimer()
			callLoop(b, fn, stack, b.N)
		})
	}
}
