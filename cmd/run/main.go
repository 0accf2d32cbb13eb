// Command run executes a WebAssembly (WASI preview 1) module in a sandbox
// and records every host call into the lake.
//
//	run [flags] module.wasm [args...]
//
// Flags come before the module; everything after it (or after "--") goes to
// the guest. See docs/cli.md for every flag and exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// options are the parsed flags of a run.
type options struct {
	mounts       mountFlag
	env          envFlag
	envInherit   bool
	maxMemory    memoryFlag
	timeout      time.Duration
	maxOpenFiles int
	cacheDir     string
	listen       listFlag // --listen: pre-opened listening sockets
	allowConnect listFlag // --allow-connect rules
	allowListen  listFlag // --allow-listen addresses
	caFile       string   // --ca-file: extra roots for host TLS offload
	module       string
	args         []string

	common        commonFlags
	noCapture     bool
	trace         bool
	flushInterval time.Duration
	uploadTimeout time.Duration
	replay        string // run ID or unique prefix to replay
	moduleFile    string // --module: replay this file even if its digest differs
}

const usageHead = `usage: run [flags] module.wasm [args...]
       run [flags] --replay RUN
       run sync [--lake URL] [--spool DIR]

Runs a WASI preview 1 module in a sandbox and records every host call into
the lake (the run ID is the first line on stderr). Flags come before the
module; everything after it (or after --) is passed to the guest.

exit codes: the guest's exit code (above 255 reported as 255); 2 bad usage or
module; 120 replay diverged; 121 replayed run is incomplete; 124 --timeout
hit; 125 internal error; 134 the guest trapped. See docs/cli.md.

flags:
`

func newFlagSet(stderr io.Writer, o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	fs.Var(&o.mounts, "dir", "preopen a host directory: HOST[:GUEST][:ro] (repeatable)")
	fs.Var(&o.env, "env", "set a guest variable K=V, or copy host variable K (repeatable)")
	fs.BoolVar(&o.envInherit, "env-inherit", false, "pass the whole host environment to the guest")
	fs.Var(&o.maxMemory, "max-memory", "cap guest memory: bytes (64MiB, 1GiB) or wasm pages (1024p)")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop the guest after this long (exit code 124)")
	fs.Var(&o.listen, "listen", "pre-open a listening TCP socket on ADDR (HOST:PORT) for the guest, as fd 3+ after the --dir fds (repeatable)")
	fs.Var(&o.allowConnect, "allow-connect", "let the guest connect to HOST:PORT, CIDR[:PORT], IP or * (any public address) (repeatable)")
	fs.Var(&o.allowListen, "allow-listen", "let the guest bind and listen on ADDR (HOST:PORT; empty HOST or port 0 = any) (repeatable)")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM certificates trusted by host TLS offload, besides the system roots")
	fs.IntVar(&o.maxOpenFiles, "max-open-files", 1024, "most fds the guest may hold open, stdio and preopens included")
	fs.StringVar(&o.cacheDir, "cache-dir", defaultCacheDir(), "compilation cache directory (empty disables it)")
	fs.BoolVar(&o.noCapture, "no-capture", false, "run without recording")
	fs.BoolVar(&o.trace, "trace", false, "print each host call to stderr as it happens, strace-style")
	fs.DurationVar(&o.flushInterval, "flush-interval", time.Second, "hand recorded calls to disk at least this often: bounds what a crash can lose")
	fs.DurationVar(&o.uploadTimeout, "upload-timeout", 10*time.Second, "how long a finished run waits for its segments to reach the lake before leaving them in the spool")
	fs.StringVar(&o.replay, "replay", "", "replay the recorded run RUN (full ID or unique prefix) instead of running a module")
	fs.StringVar(&o.moduleFile, "module", "", "with --replay: use this module file even if its digest differs from the recorded one")
	o.common.register(fs)
	return fs
}

func realMain(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if path := os.Getenv("TIMELAKE_CPUPROFILE"); path != "" {
		// For developers: a CPU profile of the whole run (go tool pprof).
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	var o options
	fs := newFlagSet(stderr, &o)
	if err := fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	rest := fs.Args()
	ctx := context.Background()
	if o.replay != "" {
		if len(rest) > 0 {
			fmt.Fprintln(stderr, "run: --replay takes no module or arguments (the run's own are used)")
			return exitUsage
		}
		code, err := replayRun(ctx, &o, stdout, stderr)
		return exitFor(stderr, code, err)
	}
	if len(rest) > 0 && rest[0] == "sync" {
		code, err := syncMain(ctx, &o, rest[1:], stdout, stderr)
		return exitFor(stderr, code, err)
	}
	if len(rest) == 0 {
		fmt.Fprintln(stderr, "run: missing module: usage: run [flags] module.wasm [args...]")
		return exitUsage
	}
	o.module, o.args = rest[0], rest[1:]
	code, err := record(ctx, &o, stdin, stdout, stderr)
	return exitFor(stderr, code, err)
}

// exitFor prints err, if any, as one line and maps it to an exit code.
func exitFor(stderr io.Writer, code int, err error) int {
	if err == nil {
		return code
	}
	fmt.Fprintf(stderr, "run: %s\n", oneLine(err.Error()))
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitInternal
}

// report prints how the guest ended when it did not simply exit, and returns
// the process exit code.
func report(stderr io.Writer, out outcome) int {
	switch {
	case out.TimedOut:
		fmt.Fprintln(stderr, "run: guest stopped: --timeout elapsed")
		return exitTimeout
	case out.Trapped:
		fmt.Fprintf(stderr, "run: guest trapped: %s\n", out.Trap)
		if out.Stack != "" {
			fmt.Fprintln(stderr, out.Stack)
		}
		return exitTrap
	case out.ExitCode > exitMaxGuest:
		return exitMaxGuest
	}
	return int(out.ExitCode)
}

func asFile(v any) *os.File {
	if f, ok := v.(*os.File); ok {
		return f
	}
	return nil
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }
