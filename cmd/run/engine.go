package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/timelake/timelake/wasi"
)

// usageError marks a failure caused by the user's input (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// engineConfig configures the wazero side of a run.
type engineConfig struct {
	CacheDir string        // compilation cache; empty disables it
	MaxPages uint32        // 0: wazero's default (4 GiB)
	Timeout  time.Duration // 0: none
	// Interruptible makes compiled code stop when the run's context is
	// done, even in a loop that never calls the host. Implied by Timeout.
	Interruptible bool
	ModuleSrc     []byte
}

// outcome is how a guest ended.
type outcome struct {
	ExitCode uint32
	Trapped  bool
	TimedOut bool
	Trap     string // one-line reason when Trapped
	Stack    string // wasm stack trace when Trapped
}

// engine is a compiled module ready to run against a wasi.System.
type engine struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	timeout  time.Duration
}

// newEngine validates and compiles the module. Every error it returns for a
// bad module is a usageError.
func newEngine(ctx context.Context, cfg engineConfig) (*engine, error) {
	src := cfg.ModuleSrc
	if len(src) < 8 || !bytes.Equal(src[:4], []byte("\x00asm")) {
		return nil, badInput("not a WebAssembly module (missing \\0asm magic)")
	}
	rc := wazero.NewRuntimeConfig()
	if cfg.Timeout > 0 || cfg.Interruptible {
		// Interrupting compiled code costs a check on every loop and call:
		// about 3x on call-heavy guests. Pay it only when a timeout or a
		// signal must be able to stop a guest that never calls the host.
		rc = rc.WithCloseOnContextDone(true)
	}
	if cfg.MaxPages > 0 {
		rc = rc.WithMemoryLimitPages(cfg.MaxPages)
	}
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.CacheDir, err)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	compiled, err := rt.CompileModule(ctx, src)
	if err != nil {
		rt.Close(ctx)
		msg := firstLine(err.Error())
		if cfg.MaxPages > 0 && strings.Contains(msg, "over limit of") {
			return nil, badInput("module needs more memory at start than --max-memory %d pages (%d KiB) allows: %s",
				cfg.MaxPages, uint64(cfg.MaxPages)*wasmPageSize>>10, msg)
		}
		return nil, badInput("invalid module: %s", msg)
	}
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok {
		rt.Close(ctx)
		return nil, badInput("module has no _start function (only WASI commands can run)")
	}
	if err := wasi.CheckImports(compiled); err != nil {
		rt.Close(ctx)
		return nil, usageError{err}
	}
	return &engine{rt: rt, compiled: compiled, timeout: cfg.Timeout}, nil
}

// run instantiates the module against system and runs _start to the end.
func (e *engine) run(ctx context.Context, system wasi.System) (outcome, error) {
	if e.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.timeout)
		defer cancel()
	}
	host, err := wasi.Instantiate(ctx, e.rt, system, wasi.WithGuest(e.compiled))
	if err != nil {
		return outcome{}, fmt.Errorf("instantiate host module: %w", err)
	}
	defer host.Close(ctx)
	mod, err := e.rt.InstantiateModule(ctx, e.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return classify(ctx, err)
	}
	defer mod.Close(ctx)
	_, err = mod.ExportedFunction("_start").Call(ctx)
	if err == nil {
		return outcome{}, nil
	}
	return classify(ctx, err)
}

// classify turns the error that ended a guest into an outcome.
func classify(ctx context.Context, err error) (outcome, error) {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return outcome{TimedOut: true}, nil
		case sys.ExitCodeContextCanceled:
			return outcome{}, fmt.Errorf("run canceled: %w", ctx.Err())
		}
		return outcome{ExitCode: exit.ExitCode()}, nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		return outcome{TimedOut: true}, nil
	}
	msg := err.Error()
	reason, stack, _ := strings.Cut(msg, "\n")
	return outcome{Trapped: true, Trap: reason, Stack: strings.TrimSpace(stack)}, nil
}

func (e *engine) close(ctx context.Context) { e.rt.Close(ctx) }

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// defaultCacheDir is the compilation cache under the user's cache dir.
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "timelake", "wazero")
}
