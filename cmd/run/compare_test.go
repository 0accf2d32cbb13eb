package main

// The comparison runs every guest of guestCases twice — through the run
// binary and in-process under wazero's own WASI implementation
// (imports/wasi_snapshot_preview1) with the same args, env, mounts and
// stdin — and requires the same exit code and stdout. Where timelake
// differs on purpose, the case's expectedDiff says why and what wazero
// does instead, and that is asserted.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

var (
	wazeroCacheOnce sync.Once
	wazeroCache     wazero.CompilationCache
)

// runWazero runs inv in-process under wazero's WASI, configured as the
// wazero CLI does: real clocks, real sleep, crypto random, one directory
// mount per --dir.
func runWazero(t *testing.T, inv invocation) result {
	t.Helper()
	wazeroCacheOnce.Do(func() {
		// Compiling a Go guest takes wazero seconds; keep the reference
		// runtime's compilations across runs, apart from the run command's.
		wazeroCache = wazero.NewCompilationCache()
		if dir, err := os.UserCacheDir(); err == nil {
			if c, err := wazero.NewCompilationCacheWithDir(filepath.Join(dir, "timelake", "wazero-reference")); err == nil {
				wazeroCache = c
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	src, err := os.ReadFile(inv.module)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(wazeroCache).WithCloseOnContextDone(true))
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)

	fsConfig := wazero.NewFSConfig()
	for _, m := range inv.mounts {
		if m.readOnly {
			fsConfig = fsConfig.WithReadOnlyDirMount(m.host, m.guest)
		} else {
			fsConfig = fsConfig.WithDirMount(m.host, m.guest)
		}
	}
	var stdout, stderr bytes.Buffer
	config := wazero.NewModuleConfig().
		WithArgs(append([]string{filepath.Base(inv.module)}, inv.args...)...).
		WithFSConfig(fsConfig).
		WithStdin(bytes.NewReader(inv.stdin)).
		WithStdout(&stdout).WithStderr(&stderr).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, kv := range inv.env {
		k, v, _ := strings.Cut(kv, "=")
		config = config.WithEnv(k, v)
	}
	_, err = rt.InstantiateWithConfig(ctx, src, config)
	r := result{}
	var exit *sys.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = int(exit.ExitCode())
	case ctx.Err() != nil:
		t.Fatalf("wazero run did not finish: %v", err)
	default:
		// A trap: reported in process as an error.
		r.code = exitTrap
		stderr.WriteString(err.Error())
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	return r
}

func TestCompareWithWazeroWASI(t *testing.T) {
	for _, c := range guestCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// Guests change their directories: each runtime gets its own.
			ours := t.TempDir()
			theirs := t.TempDir()
			// TestGuests covers recorded runs; here the sandbox alone is compared.
			inv := c.invocation(t, ours)
			inv.flags = append(inv.flags, "--no-capture")
			got := runCLI(t, inv)
			ref := runWazero(t, c.invocation(t, theirs))

			if d := c.wazero; d != nil {
				if d.why == "" {
					t.Fatal("an expected difference must say why")
				}
				if ref.code != d.code {
					t.Errorf("wazero exit code %d, want %d (%s)\nstdout:\n%s", ref.code, d.code, d.why, ref.stdout)
				}
				d.check(t, ref)
				c.assert(t, ours, got)
				return
			}
			if got.code != ref.code {
				t.Errorf("exit code: run %d, wazero %d", got.code, ref.code)
			}
			if got.stdout != ref.stdout {
				t.Errorf("stdout differs\nrun:\n%s\nwazero:\n%s", clip(got.stdout), clip(ref.stdout))
			}
			// Both must also be right, not merely alike.
			c.assert(t, theirs, ref)
		})
	}
}

// clip shortens long outputs in failure messages.
func clip(s string) string {
	const max = 4000
	if len(s) <= max {
		return s
	}
	return s[:max] + "\n... (" + strconv.Itoa(len(s)-max) + " more bytes)"
}
