// Command query answers questions about recorded runs: SQL over the lake's
// tables and derived views in an in-process DuckDB, and ready-made commands
// for one run (describe, logs, trace network, trace requests) or many
// (runs), plus exports for notebooks.
// It is wiring only: views owns the session, the cache and the views.
//
// Exit codes (docs/query.md): 0 success, 1 a query or the lake failed,
// 2 bad usage or an unknown or ambiguous run, 3 the lake has no compacted
// runs yet.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/timelake/timelake/views"
)

const (
	exitFailure = 1 // a SQL error, or the lake or the cache could not be read
	exitUsage   = 2 // bad flags or arguments, unknown or ambiguous run
	exitEmpty   = 3 // the lake holds no compacted run yet
)

const usage = `usage: query [flags] COMMAND [args]

commands:
  sql [QUERY]            run SQL (from the argument, else stdin; a shell on a terminal)
  runs                   list runs   [--since DURATION] [--status S] [--module NAME] [--limit N]
  describe RUN           what a run was: module, args, env keys, times, exit, records, sizes
  logs RUN               the run's stdout and stderr bytes, in order   [--stream stdout|stderr]
  trace network RUN      each socket operation: time, protocol, local > peer, op, bytes   [-v: hex dump]
  trace requests RUN     each HTTP exchange rebuilt from the socket bytes   [-v: headers and bodies]
  export (VIEW | --sql QUERY) -o FILE [--format parquet|csv|json|arrow]
  views                  list tables and views with a one-line description

RUN is a run ID or a unique prefix of one.

flags (before or after the command):
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is bad input: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &environment{stdin: stdin, stdout: stdout, stderr: stderr}
	err := env.dispatch(ctx, args)
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	var runErr *views.RunError
	switch {
	case errors.As(err, &runErr):
		fmt.Fprintf(stderr, "query: %v\n", runErr)
		if len(runErr.Candidates) > 0 {
			if runErr.Ambiguous {
				fmt.Fprintln(stderr, "matching runs:")
			} else {
				fmt.Fprintln(stderr, "latest runs:")
			}
			for _, id := range runErr.Candidates {
				fmt.Fprintf(stderr, "  %s\n", id)
			}
		}
		return exitUsage
	case errors.Is(err, views.ErrEmptyLake):
		fmt.Fprintf(stderr, "query: %s\n", emptyHint(env.common.lakeURL))
		return exitEmpty
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "query: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "query: %s\n", strings.TrimSpace(err.Error()))
	return exitFailure
}

func emptyHint(lakeURL string) string {
	return fmt.Sprintf("the lake %s has no compacted runs yet; fill it with\n  run --lake %s app.wasm\n  compact --lake %s --once", lakeURL, lakeURL, lakeURL)
}
