// Command compact turns the lake's segment logs into partitioned Parquet
// event tables: one pass (for cron) or a pass every interval (--watch).
// docs/commit.md documents the flags, the exit codes (0 ok, 1 error, 2
// usage, 3 a segment was quarantined) and what a pass guarantees.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/timelake/timelake/internal/bytesize"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/lake"
)

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1 // the pass failed: the lake is unchanged or partly compacted, never inconsistent
	exitUsage       = 2
	exitQuarantined = 3 // the pass succeeded but quarantined at least one damaged segment
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// config is the parsed command line.
type config struct {
	lakeURL     string
	s3PathStyle bool
	once        bool
	watch       time.Duration
	dryRun      bool
	grace       time.Duration
	lateWindow  time.Duration
	tempDir     string
	quiet       bool
}

const usageText = `usage: compact [--lake URL] [--once | --watch INTERVAL] [--dry-run] [flags]

compact turns the lake's segments into Parquet tables (runs, calls, stdio, fs, net, http)
under tables/, committed atomically through the log under _lake/.

flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nexit codes: 0 ok, 1 error, 2 usage, 3 a segment was quarantined\n")
	}
	fs.StringVar(&c.lakeURL, "lake", envOr("TIMELAKE_LAKE", lake.DefaultURL()), "lake URL: file:///DIR or s3://BUCKET/PREFIX (env TIMELAKE_LAKE)")
	fs.BoolVar(&c.s3PathStyle, "s3-path-style", os.Getenv("TIMELAKE_S3_PATH_STYLE") != "", "address S3 buckets by path, for S3-compatible servers (env TIMELAKE_S3_PATH_STYLE)")
	fs.BoolVar(&c.once, "once", false, "make one pass and exit (the default)")
	fs.DurationVar(&c.watch, "watch", 0, "make a pass every `INTERVAL` (e.g. 1m) until interrupted")
	fs.BoolVar(&c.dryRun, "dry-run", false, "list what a pass would consume; write nothing")
	fs.DurationVar(&c.grace, "grace", compact.DefaultGrace, "a run with no new segment for this long becomes incomplete; removed files and leftovers are deleted after it")
	fs.DurationVar(&c.lateWindow, "late-window", compact.DefaultLateWindow, "how far back, by run start, new runs are looked for")
	fs.StringVar(&c.tempDir, "temp-dir", "", "where Parquet files are staged before upload (default: the system temporary directory)")
	fs.BoolVar(&c.quiet, "quiet", false, "print only the summary line and errors")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errParse, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.once && c.watch != 0 {
		return nil, errors.New("--once and --watch exclude each other")
	}
	if c.watch < 0 || (c.watch > 0 && c.watch < time.Second) {
		return nil, fmt.Errorf("--watch %v: the interval must be at least 1s", c.watch)
	}
	if c.grace <= 0 || c.lateWindow <= 0 {
		return nil, errors.New("--grace and --late-window must be positive")
	}
	return c, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		if !errors.Is(err, errParse) {
			fmt.Fprintf(stderr, "compact: %v\n", err)
		}
		fmt.Fprintln(stderr, "run 'compact --help' for usage")
		return exitUsage
	}
	store, err := lake.Open(ctx, cfg.lakeURL, lake.Options{S3PathStyle: cfg.s3PathStyle})
	if err != nil {
		fmt.Fprintf(stderr, "compact: %v\n", err)
		return exitError
	}
	defer store.Close()

	if cfg.watch == 0 {
		_, code := pass(ctx, store, cfg, stdout, stderr, tty)
		return code
	}
	quarantined := false
	ticker := time.NewTicker(cfg.watch)
	defer ticker.Stop()
	for {
		_, code := pass(ctx, store, cfg, stdout, stderr, tty)
		if code == exitQuarantined {
			quarantined = true
		}
		select {
		case <-ctx.Done():
			if quarantined {
				return exitQuarantined
			}
			return exitOK
		case <-ticker.C:
		}
	}
}

// errParse marks errors the flag package already printed.
var errParse = errors.New("parse error")

// pass makes one compaction pass and prints its summary.
func pass(ctx context.Context, store lake.Store, cfg *config, stdout, stderr io.Writer, tty bool) (compact.Stats, int) {
	opts := compact.Options{
		Grace:      cfg.grace,
		LateWindow: cfg.lateWindow,
		DryRun:     cfg.dryRun,
		TempDir:    cfg.tempDir,
	}
	var bar *progressbar.ProgressBar
	logf := func(format string, a ...any) {
		if bar != nil {
			bar.Clear()
		}
		fmt.Fprintf(stderr, "compact: "+format+"\n", a...)
	}
	if !cfg.quiet || cfg.dryRun {
		opts.Logf = logf
	}
	if tty && !cfg.quiet {
		opts.Progress = func(p compact.Progress) {
			if bar == nil {
				bar = progressbar.NewOptions64(p.BytesTotal,
					progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription("compacting"),
					progressbar.OptionShowBytes(true),
					progressbar.OptionShowCount(),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			}
			bar.Set64(p.Bytes)
		}
	} else if !cfg.quiet {
		// Plain lines, at most one per 10% of the bytes.
		next := int64(0)
		opts.Progress = func(p compact.Progress) {
			if p.Bytes >= next || p.Segments == p.SegmentsTotal {
				fmt.Fprintf(stderr, "compact: %d/%d segments, %s/%s, %d records\n", p.Segments, p.SegmentsTotal,
					bytesize.Format(p.Bytes), bytesize.Format(p.BytesTotal), p.Records)
				next = p.Bytes + p.BytesTotal/10 + 1
			}
		}
	}
	st, err := compact.Run(ctx, store, opts)
	if bar != nil {
		bar.Finish()
	}
	for _, q := range st.Quarantined {
		fmt.Fprintf(stderr, "compact: quarantined %s: %s\n", q.Key, q.Reason)
	}
	fmt.Fprintln(stdout, summary(st))
	if err != nil {
		if errors.Is(err, compact.ErrNewerFormat) {
			fmt.Fprintf(stderr, "compact: %v\n", err)
		} else {
			fmt.Fprintf(stderr, "compact: pass failed: %v\n", err)
		}
		return st, exitError
	}
	if len(st.Quarantined) > 0 {
		return st, exitQuarantined
	}
	return st, exitOK
}

// summary is the one-line account of a pass.
func summary(st compact.Stats) string {
	secs := st.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(st.Records) / secs
	}
	prefix := "compact:"
	if st.DryRun {
		prefix = "compact (dry run):"
		return fmt.Sprintf("%s %d segments, %s to read", prefix, st.Segments, bytesize.Format(st.BytesIn))
	}
	s := fmt.Sprintf("%s %d segments, %d records, %d files, %s in, %s out, %.2fs, %.0f records/s",
		prefix, st.Segments, st.Records, st.FilesWritten, bytesize.Format(st.BytesIn), bytesize.Format(st.BytesOut), secs, rate)
	if st.FilesMerged > 0 {
		s += fmt.Sprintf(", %d small files merged", st.FilesMerged)
	}
	if st.Incomplete > 0 {
		s += fmt.Sprintf(", %d runs incomplete", st.Incomplete)
	}
	if n := len(st.Quarantined); n > 0 {
		s += fmt.Sprintf(", %d quarantined", n)
	}
	return s
}
