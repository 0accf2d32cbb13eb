package wasi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// functions is the single table of host functions exported by the binding,
// in the order of the Func table. Extensions (sockets) append here.
var functions = []*function{
	argsGet, argsSizesGet, environGet, environSizesGet,
	clockResGet, clockTimeGet,
	fdAdvise, fdAllocate, fdClose, fdDatasync, fdFdstatGet, fdFdstatSetFlags,
	fdFdstatSetRights, fdFilestatGet, fdFilestatSetSize, fdFilestatSetTimes,
	fdPread, fdPrestatGet, fdPrestatDirName, fdPwrite, fdRead, fdReaddir,
	fdRenumber, fdSeek, fdSync, fdTell, fdWrite,
	pathCreateDirectory, pathFilestatGet, pathFilestatSetTimes, pathLink,
	pathOpen, pathReadlink, pathRemoveDirectory, pathRename, pathSymlink,
	pathUnlinkFile,
	pollOneoff,
	procExit, procRaise,
	schedYield,
	randomGet,
	sockAccept, sockRecv, sockSend, sockShutdown,
	sockOpen, sockBind, sockConnect, sockListen, sockRecvFrom, sockSendTo,
	sockGetsockopt, sockSetsockopt, sockGetlocaladdr, sockGetpeeraddr, sockGetaddrinfo,
}

// variants are other signatures of functions above, exported instead when
// the guest imports them (see WithGuest): the WasmEdge 0.11 forms the Rust
// crate wasmedge_wasi_socket still calls.
var variants = []*function{sockAcceptV1, sockGetlocaladdrV1, sockGetpeeraddrV1}

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// param is one parameter of a host function, named as in the WASI
// specification; pointers to results are named "result.<name>".
type param struct {
	name string
	typ  api.ValueType
}

// function defines one host function. Every function but proc_exit returns
// a single i32 errno, which call returns and the wrapper stores.
type function struct {
	id     Func
	params []param
	// noResult is set for proc_exit, which has no result and never returns.
	noResult bool
	// call decodes stack (the parameters) and guest memory, calls the
	// System, and encodes results into memory.
	call func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno
}

func (f *function) name() string { return f.id.String() }

func (f *function) paramTypes() []api.ValueType {
	ts := make([]api.ValueType, len(f.params))
	for i, p := range f.params {
		ts[i] = p.typ
	}
	return ts
}

func (f *function) resultTypes() []api.ValueType {
	if f.noResult {
		return nil
	}
	return []api.ValueType{i32}
}

// binding is the per-instance state of the host module: the System and the
// scratch slices that let hot functions run without allocating. The guest is
// single threaded, so no locking is needed.
type binding struct {
	sys System
	// mod and mem cache the memory of the last calling module.
	mod     api.Module
	mem     api.Memory
	iovs    [][]byte
	subs    []Subscription
	events  []Event
	entries []DirEntry
	// sock is sys as Sockets, nil when sys does not implement them.
	sock     Sockets
	addrinfo []AddrInfo
}

// Option configures Instantiate.
type Option func(*options)

type options struct {
	guest wazero.CompiledModule
}

// WithGuest makes Instantiate export, for functions with several
// signatures (sock_accept, sock_getlocaladdr, sock_getpeeraddr; see
// docs/abi.md), the variant the guest imports. Without it the WASI preview
// 1 and 3-parameter forms are exported.
func WithGuest(mod wazero.CompiledModule) Option {
	return func(o *options) { o.guest = mod }
}

// direntBatch is how many entries fd_readdir asks the System for at once.
const direntBatch = 64

// Instantiate defines and instantiates the host module "wasi_snapshot_preview1"
// in rt, backed by sys. Closing the result removes the host module from rt;
// it does not close sys.
//
// The host module keeps per-instance scratch state (decoded iovecs,
// subscriptions, dirents) so hot calls do not allocate: it serves one guest
// module calling from one goroutine at a time, which is the WASI preview 1
// model. Run concurrent guests in separate runtimes, each with its own
// Instantiate.
//
// The socket extension functions call sys's Sockets methods when sys
// implements Sockets, and return ENOSYS otherwise.
func Instantiate(ctx context.Context, rt wazero.Runtime, sys System, opts ...Option) (api.Closer, error) {
	if sys == nil {
		return nil, errors.New("instantiate " + ModuleName + ": nil System")
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	b := &binding{sys: sys, entries: make([]DirEntry, direntBatch)}
	b.sock, _ = sys.(Sockets)
	builder := rt.NewHostModuleBuilder(ModuleName)
	for _, f := range functions {
		f = o.variant(f)
		names := make([]string, len(f.params))
		for i, p := range f.params {
			names[i] = p.name
		}
		fb := builder.NewFunctionBuilder().
			WithGoModuleFunction(b.goFunc(f), f.paramTypes(), f.resultTypes()).
			WithParameterNames(names...)
		if !f.noResult {
			fb = fb.WithResultNames("errno")
		}
		fb.Export(f.name())
	}
	mod, err := builder.Instantiate(ctx)
	if err != nil {
		return nil, fmt.Errorf("instantiate %s host module: %w", ModuleName, err)
	}
	return mod, nil
}

// variant returns the variant of f the guest imports, or f.
func (o *options) variant(f *function) *function {
	if o.guest == nil {
		return f
	}
	for _, def := range o.guest.ImportedFunctions() {
		module, name, _ := def.Import()
		if module != ModuleName || name != f.name() {
			continue
		}
		for _, v := range variants {
			if v.id == f.id && v.matches(def) {
				return v
			}
		}
	}
	return f
}

func (f *function) matches(def api.FunctionDefinition) bool {
	return slices.Equal(def.ParamTypes(), f.paramTypes()) && slices.Equal(def.ResultTypes(), f.resultTypes())
}

func (b *binding) goFunc(f *function) api.GoModuleFunc {
	call := f.call
	if f.noResult {
		return func(ctx context.Context, mod api.Module, stack []uint64) {
			call(b, ctx, mod, stack)
		}
	}
	return func(ctx context.Context, mod api.Module, stack []uint64) {
		stack[0] = uint64(call(b, ctx, mod, stack))
	}
}

// ErrUnsupportedImports is wrapped by the error of CheckImports.
var ErrUnsupportedImports = errors.New("unsupported imports")

// CheckImports returns an error naming every import of mod that the host
// module does not provide, such as
// "unsupported imports: env.foo, wasi_snapshot_preview1.nonexistent". A
// function imported from wasi_snapshot_preview1 under a known name but with
// another signature (and none of its variants, see WithGuest) is named with
// "(signature mismatch)". Imported memories are always reported: the
// binding provides none. (wazero's CompiledModule
// does not list table and global imports; instantiation rejects them.)
func CheckImports(mod wazero.CompiledModule) error {
	var bad []string
	for _, def := range mod.ImportedFunctions() {
		module, name, _ := def.Import()
		if module != ModuleName {
			bad = append(bad, module+"."+name)
			continue
		}
		i := slices.IndexFunc(functions, func(f *function) bool { return f.name() == name })
		if i < 0 {
			bad = append(bad, module+"."+name)
			continue
		}
		f := functions[i]
		if !f.matches(def) && !slices.ContainsFunc(variants, func(v *function) bool { return v.id == f.id && v.matches(def) }) {
			bad = append(bad, module+"."+name+" (signature mismatch)")
		}
	}
	for _, def := range mod.ImportedMemories() {
		module, name, _ := def.Import()
		bad = append(bad, module+"."+name+" (memory)")
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrUnsupportedImports, strings.Join(bad, ", "))
}
