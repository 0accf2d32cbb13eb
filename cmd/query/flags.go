package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/views"
)

var errHelp = errors.New("help requested")

// commonFlags are accepted by every command, before or after it:
// `query --lake X sql ...` and `query sql --lake X ...` both work.
type commonFlags struct {
	lakeURL     string
	s3PathStyle bool
	cacheDir    string
	cacheMax    string
	format      string
}

// environment is one invocation: its streams and parsed common flags.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	common         commonFlags
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.lakeURL, "lake", c.lakeURL, "lake URL: file:///DIR or s3://BUCKET/PREFIX (env TIMELAKE_LAKE)")
	fs.BoolVar(&c.s3PathStyle, "s3-path-style", c.s3PathStyle, "address S3 buckets by path, for S3-compatible servers (env TIMELAKE_S3_PATH_STYLE)")
	fs.StringVar(&c.cacheDir, "cache-dir", c.cacheDir, "local cache of Parquet files fetched from S3 lakes (env TIMELAKE_QUERY_CACHE)")
	fs.StringVar(&c.cacheMax, "cache-max", c.cacheMax, "size bound of the cache, e.g. 512MiB, 4GiB")
	fs.StringVar(&c.format, "format", c.format, "output: table, csv, json or jsonl (default: table on a terminal, csv otherwise)")
}

func (c *commonFlags) defaults() {
	c.lakeURL = envOr("TIMELAKE_LAKE", lake.DefaultURL())
	c.s3PathStyle = os.Getenv("TIMELAKE_S3_PATH_STYLE") != ""
	c.cacheDir = envOr("TIMELAKE_QUERY_CACHE", defaultCacheDir())
	c.cacheMax = "4GiB"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func defaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "timelake", "query")
}

// parseInterleaved parses flags and positional arguments in any order
// ("--" ends the flags) and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, usageError{err}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest) - 1; i >= 0 && args[i] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (e *environment) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.common.register(fs)
	return fs
}

// dispatch parses the common flags, then the command and its flags.
func (e *environment) dispatch(ctx context.Context, args []string) error {
	e.common.defaults()
	top := flag.NewFlagSet("query", flag.ContinueOnError)
	top.SetOutput(e.stderr)
	e.common.register(top)
	top.Usage = func() {
		fmt.Fprint(e.stderr, usage)
		top.PrintDefaults()
	}
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err}
	}
	if top.NArg() == 0 {
		top.Usage()
		return usagef("no command given")
	}
	cmd, rest := top.Arg(0), top.Args()[1:]
	switch cmd {
	case "sql":
		return e.cmdSQL(ctx, rest)
	case "runs":
		return e.cmdRuns(ctx, rest)
	case "describe":
		return e.cmdDescribe(ctx, rest)
	case "logs":
		return e.cmdLogs(ctx, rest)
	case "export":
		return e.cmdExport(ctx, rest)
	case "views":
		return e.cmdViews(ctx, rest)
	case "trace":
		return e.cmdTrace(ctx, rest)
	case "help":
		top.Usage()
		return errHelp
	}
	return usagef("unknown command %q (want sql, runs, describe, logs, trace, export or views)", cmd)
}

// outputFormat is the --format value, defaulting by whether stdout is a
// terminal.
func (e *environment) outputFormat() (string, error) {
	switch f := strings.ToLower(e.common.format); f {
	case "":
		if isTerminal(e.stdout) {
			return "table", nil
		}
		return "csv", nil
	case "table", "csv", "json", "jsonl":
		return f, nil
	default:
		return "", usagef("--format %q: want table, csv, json or jsonl", e.common.format)
	}
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// open opens the lake and a session over it.
func (e *environment) open(ctx context.Context) (*views.Session, error) {
	max, err := parseSize(e.common.cacheMax)
	if err != nil {
		return nil, usagef("--cache-max: %v", err)
	}
	store, err := lake.Open(ctx, e.common.lakeURL, lake.Options{S3PathStyle: e.common.s3PathStyle})
	if err != nil {
		return nil, usageError{err}
	}
	opts := views.Options{CacheDir: e.common.cacheDir, CacheMax: max}
	if isTerminal(e.stderr) {
		opts.Progress = e.stderr
	}
	s, err := views.Open(ctx, store, opts)
	if err != nil {
		store.Close()
		return nil, err
	}
	return s, nil
}

// parseSize reads "4GiB", "512MiB", "1000000" (bytes), "2G".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(t[len(num):], "B"), "b"))
	unit = strings.TrimSuffix(unit, "i")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 512MiB or 4GiB)", s)
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40}
	sh, ok := shift[unit]
	if !ok {
		return 0, fmt.Errorf("bad size unit in %q (want KiB, MiB, GiB or TiB)", s)
	}
	return n << sh, nil
}
