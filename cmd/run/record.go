package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/capture/spool"
	"github.com/timelake/timelake/sandbox"
	"github.com/timelake/timelake/wasi"
)

// record runs the module in the sandbox and, unless --no-capture, records
// every host call into the spool and ships the segments to the lake.
func record(ctx context.Context, o *options, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	src, err := os.ReadFile(o.module)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, badInput("module %s: no such file", o.module)
		}
		return 0, badInput("read module: %v", err)
	}
	eng, err := newEngine(ctx, engineConfig{
		CacheDir: o.cacheDir, MaxPages: o.maxMemory.pages, Timeout: o.timeout, ModuleSrc: src,
	})
	if err != nil {
		return 0, err
	}
	defer eng.close(ctx)

	var env []string
	if o.envInherit {
		env = append(env, os.Environ()...)
	}
	env = append(env, o.env...)
	args := append([]string{filepath.Base(o.module)}, o.args...)
	box, err := sandbox.New(sandbox.Config{
		Args:         args,
		Env:          env,
		Stdin:        asFile(stdin),
		Stdout:       asFile(stdout),
		Stderr:       asFile(stderr),
		Mounts:       o.mounts,
		MaxOpenFiles: o.maxOpenFiles,
		Listen:       o.listen,
		Net:          sandbox.NetPolicy{Connect: o.allowConnect, Listen: o.allowListen},
		CAFile:       o.caFile,
	})
	if err != nil {
		return 0, usageError{err}
	}

	if o.noCapture {
		defer box.Close(ctx)
		var sys wasi.System = box
		if o.trace {
			rec := capture.NewRecorder(box, discardSink{}, capture.RecorderOptions{Trace: stderr, FlushInterval: -1})
			defer rec.Close(ctx)
			sys = rec
		}
		out, err := eng.run(ctx, sys)
		if err != nil {
			return 0, err
		}
		return report(stderr, out), nil
	}

	runID, err := uuid.NewV7()
	if err != nil {
		box.Close(ctx)
		return 0, fmt.Errorf("run ID: %w", err)
	}
	fmt.Fprintln(stderr, runID)

	store, err := o.common.openLake(ctx)
	if err != nil {
		box.Close(ctx)
		return 0, err
	}
	defer store.Close()

	// Ship what earlier or crashed runs left in the spool while this one runs.
	syncCtx, stopSync := context.WithCancel(context.Background())
	syncDone := make(chan struct{})
	go func() {
		defer close(syncDone)
		spool.Sync(syncCtx, o.common.spool, store, nil)
	}()

	start := time.Now()
	writer, err := spool.Create(ctx, spool.Options{
		Dir:           o.common.spool,
		RunID:         runID,
		Metadata:      runMetadata(o, runID, args, env, start),
		Module:        src,
		Store:         store,
		FlushInterval: o.flushInterval,
		UploadTimeout: o.uploadTimeout,
		Logf:          func(format string, a ...any) { fmt.Fprintf(stderr, "run: "+format+"\n", a...) },
	})
	if err != nil {
		box.Close(ctx)
		stopSync()
		return 0, fmt.Errorf("start recording: %w", err)
	}
	ropts := capture.RecorderOptions{FlushInterval: o.flushInterval}
	if o.trace {
		ropts.Trace = stderr
	}
	rec := capture.NewRecorder(box, writer, ropts)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := onSignal(func(sig os.Signal) {
		if o.timeout > 0 {
			cancel() // the engine can interrupt the guest: end the run cleanly, status killed
			return
		}
		// Compiled code cannot be interrupted without --timeout's checks:
		// make everything recorded so far durable, then leave. The run stays
		// in the spool without a trailer; `run sync` ships it as torn.
		rec.Flush()
		flushCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
		err := writer.Flush(flushCtx)
		done()
		fmt.Fprintf(stderr, "run: %v: recorded calls flushed to the spool (%v); `run sync` ships them\n", sig, errOrOK(err))
		os.Exit(128 + int(sig.(syscall.Signal)))
	})
	out, runErr := eng.run(ctx, rec)
	stopSignals()
	trailer := &segment.Trailer{EndTime: time.Now().UTC(), Records: rec.Records()}
	switch {
	case runErr != nil:
		trailer.Status = segment.StatusKilled
		trailer.Trap = runErr.Error()
	case out.TimedOut:
		trailer.Status = segment.StatusTimedOut
	case out.Trapped:
		trailer.Status, trailer.Trap = segment.StatusTrapped, out.Trap
	default:
		trailer.Status, trailer.ExitCode = segment.StatusExited, out.ExitCode
	}
	if err := rec.Close(ctx); err != nil && runErr == nil {
		fmt.Fprintf(stderr, "run: close sandbox: %v\n", err)
	}
	trailer.Records = rec.Records()
	sum, closeErr := writer.Close(context.Background(), trailer)
	stopSync()
	<-syncDone
	if closeErr != nil {
		fmt.Fprintf(stderr, "run: recording: %v\n", closeErr)
	}
	if sum.Spooled > 0 {
		fmt.Fprintf(stderr, "run: %d segment(s) of run %s left in %s: `run sync` uploads them\n",
			sum.Spooled, runID, o.common.spool)
	}
	if runErr != nil {
		return 0, runErr
	}
	code := report(stderr, out)
	if closeErr != nil && code == 0 {
		return exitInternal, nil
	}
	return code, nil
}

// runMetadata describes the run for segment 0.
func runMetadata(o *options, runID uuid.UUID, args, env []string, start time.Time) *segment.Metadata {
	host, _ := os.Hostname()
	md := &segment.Metadata{
		RunID:          runID.String(),
		Module:         segment.Module{Name: filepath.Base(o.module)},
		Args:           args,
		Env:            env,
		Host:           segment.Host{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH},
		RuntimeVersion: runtimeVersion(),
		StartTime:      start.UTC(),
	}
	for _, m := range o.mounts {
		md.Mounts = append(md.Mounts, segment.Mount{GuestPath: m.GuestPath, HostPath: m.HostPath, ReadOnly: m.ReadOnly})
	}
	policy := map[string]any{
		"max_open_files":   o.maxOpenFiles,
		"max_memory_pages": o.maxMemory.pages,
		"timeout":          o.timeout.String(),
		"env_inherit":      o.envInherit,
		"listen":           []string(o.listen),
		"allow_connect":    []string(o.allowConnect),
		"allow_listen":     []string(o.allowListen),
	}
	md.Policy, _ = json.Marshal(policy)
	return md
}

// runtimeVersion names this build of timelake and its wazero.
func runtimeVersion() string {
	version, wazeroVersion := "devel", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				version += "+" + s.Value[:12]
			}
		}
		for _, dep := range bi.Deps {
			if dep.Path == "github.com/tetratelabs/wazero" {
				wazeroVersion = dep.Version
			}
		}
	}
	return fmt.Sprintf("timelake %s (wazero %s)", version, wazeroVersion)
}

// discardSink drops record buffers: --trace without capture.
type discardSink struct{}

func (discardSink) Submit(buf []byte, _ int, _ uint64) []byte { return buf[:0] }

// onSignal calls fn on the first SIGINT or SIGTERM until the returned stop
// function is called.
func onSignal(fn func(os.Signal)) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fn(sig)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}
