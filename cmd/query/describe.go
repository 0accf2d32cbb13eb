package main

import (
	"context"
	"fmt"
	"github.com/timelake/timelake/internal/bytesize"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/timelake/timelake/schemas"
	"github.com/timelake/timelake/views"
)

// cmdDescribe prints what Timecraft's `describe process` shows for a run.
func (e *environment) cmdDescribe(ctx context.Context, args []string) error {
	fs := e.newFlagSet("describe")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	format, err := e.outputFormat()
	if err != nil {
		return err
	}
	s, id, err := e.oneRun(ctx, "describe", pos)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.LoadRuns(ctx, []string{schemas.TableCalls, schemas.TableStdio}, id); err != nil {
		return err
	}
	rows, err := s.DB().QueryContext(ctx, `
		SELECT r.run_id, r.module_name, r.module_sha256, r.module_size, r.args, r.env_keys,
		       r.host, r.os || '/' || r.arch AS platform, r.runtime_version,
		       r.started_at, r.ended_at, r.duration_ns, r.status, r.exit_code, r.trap_message,
		       r.records, r.lost_records, r.segments, r.segment_bytes, r.quarantined_segments,
		       sm.calls, sm.errors, sm.bytes_in, sm.bytes_out,
		       sm.stdin_bytes, sm.stdout_bytes, sm.stderr_bytes
		FROM runs r JOIN run_summary sm USING (run_id)
		WHERE r.run_id = ?`, id)
	if err != nil {
		return err
	}
	res, err := readResult(rows)
	if err != nil {
		return err
	}
	if len(res.rows) != 1 {
		return fmt.Errorf("describe %s: the runs table has %d rows for it", id, len(res.rows))
	}
	// The compression ratio needs the raw size of the records, which only
	// the segments' frame headers know.
	row := res.rows[0]
	segments := asInt(row[col(res, "segments")])
	raw, stored, serr := views.SegmentSizes(ctx, s.Store(), id, int(segments))
	res.columns = append(res.columns, "records_raw_bytes", "records_stored_bytes", "compression_ratio")
	res.types = append(res.types, "BIGINT", "BIGINT", "DOUBLE")
	if serr != nil || stored == 0 {
		row = append(row, nil, nil, nil)
	} else {
		row = append(row, raw, stored, float64(int64(float64(raw)/float64(stored)*100+0.5))/100)
	}
	res.rows[0] = row
	if format != "table" {
		return res.write(e.stdout, format)
	}
	writeDescribe(e.stdout, res)
	if serr != nil {
		fmt.Fprintf(e.stderr, "query: note: segment sizes unknown: %v\n", serr)
	}
	return nil
}

func col(r *result, name string) int {
	for i, c := range r.columns {
		if c == name {
			return i
		}
	}
	panic("no column " + name)
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case *big.Int:
		return x.Int64()
	}
	return 0
}

// writeDescribe prints the run as "Field: value" lines.
func writeDescribe(w io.Writer, r *result) {
	v := func(name string) any { return r.rows[0][col(r, name)] }
	str := func(name string) string { return text(v(name), r.types[col(r, name)]) }
	list := func(name string) string {
		l, _ := v(name).([]any)
		if len(l) == 0 {
			return "(none)"
		}
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = quoteArg(fmt.Sprint(x))
		}
		return strings.Join(parts, " ")
	}
	var lines [][2]string
	add := func(k, val string) { lines = append(lines, [2]string{k, val}) }
	add("ID", str("run_id"))
	add("Module", fmt.Sprintf("%s (sha256:%s, %s)", str("module_name"), str("module_sha256"), bytesize.Format(asInt(v("module_size")))))
	add("Args", list("args"))
	add("Env", list("env_keys"))
	add("Host", fmt.Sprintf("%s (%s, %s)", str("host"), str("platform"), str("runtime_version")))
	add("Start", str("started_at")+" UTC")
	if v("ended_at") != nil {
		add("End", str("ended_at")+" UTC")
		add("Duration", time.Duration(asInt(v("duration_ns"))).String())
	} else {
		add("End", "(not ended)")
	}
	exit := str("status")
	switch {
	case v("exit_code") != nil:
		exit += fmt.Sprintf(", exit code %s", str("exit_code"))
	case v("trap_message") != nil:
		exit += ": " + str("trap_message")
	}
	add("Status", exit)
	rec := fmt.Sprintf("%s calls, %s %s", str("calls"), str("errors"), plural(int(asInt(v("errors"))), "error", "errors"))
	if n := asInt(v("lost_records")); n > 0 {
		rec += fmt.Sprintf(", %d lost", n)
	}
	add("Records", rec)
	add("I/O", fmt.Sprintf("%s in, %s out; stdin %s, stdout %s, stderr %s",
		bytesize.Format(asInt(v("bytes_in"))), bytesize.Format(asInt(v("bytes_out"))),
		bytesize.Format(asInt(v("stdin_bytes"))), bytesize.Format(asInt(v("stdout_bytes"))), bytesize.Format(asInt(v("stderr_bytes")))))
	seg := fmt.Sprintf("%s, %s", str("segments"), bytesize.Format(asInt(v("segment_bytes"))))
	if q := asInt(v("quarantined_segments")); q > 0 {
		seg += fmt.Sprintf(", %d quarantined", q)
	}
	add("Segments", seg)
	if v("compression_ratio") != nil {
		add("Size", fmt.Sprintf("%s of records stored in %s (compression ratio %.2fx)",
			bytesize.Format(asInt(v("records_raw_bytes"))), bytesize.Format(asInt(v("records_stored_bytes"))), v("compression_ratio")))
	} else {
		add("Size", "(segments unavailable)")
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%-9s %s\n", l[0]+":", l[1])
	}
}

func quoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
