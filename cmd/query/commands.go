package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/timelake/timelake/schemas"
	"github.com/timelake/timelake/views"
)

// query runs q and prints its result.
func (e *environment) printQuery(ctx context.Context, s *views.Session, q string, args ...any) error {
	format, err := e.outputFormat()
	if err != nil {
		return err
	}
	rows, err := s.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return err // DuckDB's message as it is
	}
	res, err := readResult(rows)
	if err != nil {
		return err
	}
	return res.write(e.stdout, format)
}

func (e *environment) cmdSQL(ctx context.Context, args []string) error {
	fs := e.newFlagSet("sql")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Require(); err != nil {
		fmt.Fprintf(e.stderr, "query: note: %s\n", emptyHint(e.common.lakeURL))
	}
	if len(pos) > 0 {
		return e.runSQL(ctx, s, strings.Join(pos, " "))
	}
	if isTerminal(e.stdin) {
		return e.shell(ctx, s)
	}
	data, err := io.ReadAll(e.stdin)
	if err != nil {
		return fmt.Errorf("read SQL from stdin: %w", err)
	}
	if strings.TrimSpace(string(data)) == "" {
		return usagef("sql: no query given (pass it as an argument or on stdin)")
	}
	return e.runSQL(ctx, s, string(data))
}

// runSQL loads the tables the query names, then runs it.
func (e *environment) runSQL(ctx context.Context, s *views.Session, q string) error {
	if err := s.LoadQuery(ctx, q); err != nil {
		return err
	}
	return e.printQuery(ctx, s, q)
}

// shell reads statements ending with ';' from a terminal, runs each and
// keeps a history file under the cache directory.
func (e *environment) shell(ctx context.Context, s *views.Session) error {
	hist := filepath.Join(e.common.cacheDir, "history")
	var hf *os.File
	if err := os.MkdirAll(e.common.cacheDir, 0o755); err == nil {
		hf, _ = os.OpenFile(hist, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	}
	if hf != nil {
		defer hf.Close()
	}
	fmt.Fprintf(e.stderr, "timelake query shell on %s: end statements with ';', .views lists views, .quit or ^D leaves\n", s.Store().URL())
	in := bufio.NewScanner(e.stdin)
	in.Buffer(make([]byte, 64<<10), 16<<20)
	var stmt strings.Builder
	for {
		if stmt.Len() == 0 {
			fmt.Fprint(e.stderr, "query> ")
		} else {
			fmt.Fprint(e.stderr, "  ...> ")
		}
		if !in.Scan() {
			fmt.Fprintln(e.stderr)
			return in.Err()
		}
		line := in.Text()
		if stmt.Len() == 0 {
			switch strings.TrimSpace(line) {
			case "":
				continue
			case ".quit", ".exit", "\\q":
				return nil
			case ".views", "\\d":
				catalogResult().write(e.stderr, "table")
				continue
			}
		}
		stmt.WriteString(line)
		stmt.WriteByte('\n')
		if !strings.HasSuffix(strings.TrimSpace(line), ";") {
			continue
		}
		q := stmt.String()
		stmt.Reset()
		if hf != nil {
			fmt.Fprintln(hf, strings.Join(strings.Fields(q), " "))
		}
		if err := e.runSQL(ctx, s, q); err != nil {
			fmt.Fprintf(e.stderr, "error: %v\n", err)
		}
	}
}

func (e *environment) cmdRuns(ctx context.Context, args []string) error {
	fs := e.newFlagSet("runs")
	since := fs.Duration("since", 0, "only runs started within this long before now (e.g. 1h, 30m)")
	status := fs.String("status", "", "only runs with this status: "+strings.Join(statuses, ", "))
	module := fs.String("module", "", "only runs of this module name (glob patterns * and ? allowed)")
	limit := fs.Int("limit", 0, "at most this many runs, the latest (0: all)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("runs: unexpected argument %q", pos[0])
	}
	if *status != "" && !contains(statuses, *status) {
		return usagef("runs: --status %q: want one of %s", *status, strings.Join(statuses, ", "))
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Require(); err != nil {
		return err
	}
	if err := s.LoadAll(ctx, schemas.TableRuns); err != nil {
		return err
	}
	var where []string
	var qargs []any
	if *since > 0 {
		where = append(where, "started_at >= ?")
		qargs = append(qargs, time.Now().Add(-*since).UTC())
	}
	if *status != "" {
		where = append(where, "status = ?")
		qargs = append(qargs, *status)
	}
	if *module != "" {
		where = append(where, "module_name GLOB ?")
		qargs = append(qargs, *module)
	}
	q := `SELECT run_id, started_at, module_name AS module, status, exit_code,
	        round(duration_ns / 1e6, 3) AS duration_ms, records, segments
	      FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if *limit > 0 {
		q = fmt.Sprintf("SELECT * FROM (%s ORDER BY started_at DESC, run_id DESC LIMIT %d)", q, *limit)
	}
	q += " ORDER BY started_at, run_id"
	return e.printQuery(ctx, s, q, qargs...)
}

var statuses = []string{schemas.StatusRunning, schemas.StatusExited, schemas.StatusTrapped,
	schemas.StatusTimedOut, schemas.StatusKilled, schemas.StatusIncomplete}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// oneRun parses a command taking exactly one RUN argument, opens the
// session and resolves the run.
func (e *environment) oneRun(ctx context.Context, name string, pos []string) (*views.Session, string, error) {
	if len(pos) != 1 {
		return nil, "", usagef("%s: want exactly one RUN (an ID or a unique prefix)", name)
	}
	s, err := e.open(ctx)
	if err != nil {
		return nil, "", err
	}
	id, err := s.ResolveRun(ctx, pos[0])
	if err != nil {
		s.Close()
		return nil, "", err
	}
	return s, id, nil
}

func (e *environment) cmdLogs(ctx context.Context, args []string) error {
	fs := e.newFlagSet("logs")
	stream := fs.String("stream", "", "only this stream: stdout or stderr (default both, each to its own)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *stream != "" && *stream != "stdout" && *stream != "stderr" {
		return usagef("logs: --stream %q: want stdout or stderr", *stream)
	}
	s, id, err := e.oneRun(ctx, "logs", pos)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.LoadRuns(ctx, []string{schemas.TableStdio}, id); err != nil {
		return err
	}
	streams := []string{"stdout", "stderr"}
	if *stream != "" {
		streams = []string{*stream}
	}
	// --format asks for the logs view's lines; without it, the exact bytes.
	if e.common.format != "" {
		return e.printQuery(ctx, s, `SELECT stream, line, time, offset_ns, text FROM logs
			WHERE run_id = ? AND list_contains(?, stream) ORDER BY seq, stream, line`, id, streams)
	}
	rows, err := s.DB().QueryContext(ctx, `SELECT stream, data FROM stdio
		WHERE run_id = ? AND list_contains(?, stream) ORDER BY seq`, id, streams)
	if err != nil {
		return err
	}
	defer rows.Close()
	out, errOut := bufio.NewWriterSize(e.stdout, 64<<10), bufio.NewWriterSize(e.stderr, 64<<10)
	for rows.Next() {
		var st string
		var data []byte
		if err := rows.Scan(&st, &data); err != nil {
			return err
		}
		// Keep the interleaving on a shared terminal: flush the other stream first.
		if st == "stderr" {
			if err := out.Flush(); err != nil {
				return err
			}
			errOut.Write(data)
		} else {
			if err := errOut.Flush(); err != nil {
				return err
			}
			out.Write(data)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return errors.Join(out.Flush(), errOut.Flush())
}

func (e *environment) cmdViews(ctx context.Context, args []string) error {
	fs := e.newFlagSet("views")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("views: unexpected argument %q", pos[0])
	}
	format, err := e.outputFormat()
	if err != nil {
		return err
	}
	return catalogResult().write(e.stdout, format)
}

func catalogResult() *result {
	res := &result{columns: []string{"name", "kind", "description"}, types: []string{"VARCHAR", "VARCHAR", "VARCHAR"}}
	for _, v := range views.Catalog() {
		res.rows = append(res.rows, []any{v.Name, string(v.Kind), v.Description})
	}
	return res
}
