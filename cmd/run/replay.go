package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/replay"
)

// replayRun re-executes the recorded run o.replay from the lake: the module
// (from the lake by digest, or --module), every host call served from the
// record, the guest's stdout and stderr re-emitted byte for byte. It returns
// the recorded exit code, exitTrap for a recorded trap, exitDivergence when
// the guest does not ask what it asked when recorded, and exitIncomplete
// when the record stops before the run's end.
func replayRun(ctx context.Context, o *options, stdout, stderr io.Writer) (int, error) {
	store, err := o.common.openLake(ctx)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	runID, err := replay.Resolve(ctx, store, o.replay)
	var ambiguous *replay.AmbiguousError
	switch {
	case errors.Is(err, replay.ErrUnknownRun), errors.As(err, &ambiguous):
		return 0, badInput("replay: %v in %s", err, store.URL())
	case err != nil:
		return 0, fmt.Errorf("replay: %w", err)
	}
	run, err := replay.Open(ctx, store, runID)
	if err != nil {
		if errors.Is(err, replay.ErrUnknownRun) {
			return 0, badInput("replay: %v", err)
		}
		return 0, fmt.Errorf("replay: %w", err)
	}
	md := run.Metadata()

	src, err := replayModule(ctx, o, store, md, stderr)
	if err != nil {
		run.Close()
		return 0, err
	}
	cfg := engineConfig{CacheDir: o.cacheDir, MaxPages: recordedMaxPages(md), ModuleSrc: src}
	ending, err := replay.Ending(ctx, store, runID)
	if err != nil {
		run.Close()
		return 0, fmt.Errorf("replay: %w", err)
	}
	if ending == nil || (ending.Status != segment.StatusExited && ending.Status != segment.StatusTrapped) {
		// The guest may compute past the last record: OnEnd must be able to
		// stop it, so its compiled code must be interruptible.
		cfg.Interruptible = true
	}
	eng, err := newEngine(ctx, cfg)
	if err != nil {
		run.Close()
		return 0, err
	}
	defer eng.close(ctx)

	// OnEnd cancels guestCtx when the record of a run that was stopped from
	// outside runs out: the guest may compute without calling the host.
	guestCtx, stopGuest := context.WithCancel(ctx)
	defer stopGuest()
	sys := replay.New(guestCtx, run, replay.Options{Stdout: stdout, Stderr: stderr, Trace: o.trace, OnEnd: stopGuest})
	defer sys.Close(ctx)

	out, runErr := eng.run(guestCtx, sys)
	sys.Flush()
	if runErr != nil && ctx.Err() != nil {
		return 0, runErr // interrupted by the user
	}
	var end replay.Outcome
	switch {
	case runErr != nil:
		end.Status = segment.StatusKilled // stopped by OnEnd
	case out.Trapped:
		end.Status, end.Trap = segment.StatusTrapped, out.Trap
	default:
		end.Status, end.ExitCode = segment.StatusExited, out.ExitCode
	}
	if err := sys.Finish(end); err != nil {
		var div *replay.DivergenceError
		var inc *replay.IncompleteError
		switch {
		case errors.As(err, &div):
			fmt.Fprintf(stderr, "run: %s\n", oneLine(div.Error()))
			return exitDivergence, nil
		case errors.As(err, &inc):
			fmt.Fprintf(stderr, "run: %s\n", oneLine(inc.Error()))
			return exitIncomplete, nil
		}
		return 0, fmt.Errorf("replay: %w", err)
	}
	switch t := run.Trailer(); t.Status {
	case segment.StatusTimedOut:
		fmt.Fprintln(stderr, "run: guest stopped: --timeout elapsed")
		return exitTimeout, nil
	case segment.StatusKilled:
		// As the recording reported it: the runner was stopped (a signal).
		reason := t.Trap
		if reason == "" {
			reason = "guest stopped"
		}
		fmt.Fprintf(stderr, "run: %s\n", oneLine(reason))
		return exitInternal, nil
	}
	return report(stderr, out), nil
}

// replayModule returns the module to replay: --module if given (a digest
// other than the recorded one is allowed, with a note), else the module the
// lake stores under the recorded digest, which must match it.
func replayModule(ctx context.Context, o *options, store lake.Store, md *segment.Metadata, stderr io.Writer) ([]byte, error) {
	want := md.Module.SHA256
	if o.moduleFile != "" {
		src, err := os.ReadFile(o.moduleFile)
		if err != nil {
			return nil, badInput("--module: %v", err)
		}
		if got := digest(src); got != want {
			fmt.Fprintf(stderr, "run: --module %s has sha256 %s, the run recorded %s: replaying it anyway\n",
				o.moduleFile, short(got), short(want))
		}
		return src, nil
	}
	key := lake.ModuleKey(want)
	body, err := store.Get(ctx, key)
	if errors.Is(err, lake.ErrNotFound) {
		return nil, badInput("replay: module sha256 %s of run %s is not in the lake: pass --module FILE", want, md.RunID)
	}
	if err != nil {
		return nil, fmt.Errorf("replay: get module: %w", err)
	}
	defer body.Close()
	src, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("replay: read %s: %w", key, err)
	}
	if got := digest(src); got != want {
		return nil, badInput("replay: the lake's %s has sha256 %s, not the recorded %s: pass --module FILE", key, got, want)
	}
	return src, nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func short(hexDigest string) string {
	if len(hexDigest) > 12 {
		return hexDigest[:12]
	}
	return hexDigest
}

// recordedMaxPages is the memory cap the run was recorded with: the guest
// sees memory.grow fail at the same point.
func recordedMaxPages(md *segment.Metadata) uint32 {
	var policy struct {
		MaxMemoryPages uint32 `json:"max_memory_pages"`
	}
	if len(md.Policy) > 0 && json.Unmarshal(md.Policy, &policy) == nil {
		return policy.MaxMemoryPages
	}
	return 0
}
