// Command wazerorun is the benchmark baseline: it runs a WASI module with
// wazero's own wasi_snapshot_preview1 implementation, configured like
// timelake's run (compilation cache, stdio passthrough, optional mount).
//
//	wazerorun [--dir HOST:GUEST] [--cache-dir DIR] module.wasm [args...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"
	wasip1 "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

func main() {
	dir := flag.String("dir", "", "mount HOST:GUEST")
	cacheDir := flag.String("cache-dir", "", "compilation cache")
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: wazerorun [--dir HOST:GUEST] [--cache-dir DIR] module.wasm [args...]")
		os.Exit(2)
	}
	ctx := context.Background()
	src, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rc := wazero.NewRuntimeConfig()
	if *cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(*cacheDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	defer rt.Close(ctx)
	wasip1.MustInstantiate(ctx, rt)
	mc := wazero.NewModuleConfig().
		WithArgs(append([]string{filepath.Base(flag.Arg(0))}, flag.Args()[1:]...)...).
		WithStdin(os.Stdin).WithStdout(os.Stdout).WithStderr(os.Stderr).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().WithRandSource(cryptoRand{})
	if *dir != "" {
		host, guest, _ := strings.Cut(*dir, ":")
		if guest == "" {
			guest = host
		}
		mc = mc.WithFSConfig(wazero.NewFSConfig().WithDirMount(host, guest))
	}
	_, err = rt.InstantiateWithConfig(ctx, src, mc)
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		os.Exit(int(exit.ExitCode()))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(134)
	}
}
