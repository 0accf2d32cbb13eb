package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/internal/guest"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

// invoke runs the command in-process.
func invoke(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb, false)
	return code, out.String(), errb.String()
}

var summaryLine = regexp.MustCompile(`^compact: (\d+) segments, (\d+) records, (\d+) files, [\d.]+ (B|[KMG]iB) in, [\d.]+ (B|[KMG]iB) out, [\d.]+s, \d+ records/s`)

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"--once", "--watch", "1m"}, exitUsage, "exclude each other"},
		{[]string{"--watch", "1ms"}, exitUsage, "at least 1s"},
		{[]string{"extra"}, exitUsage, `unexpected argument "extra"`},
		{[]string{"--grace", "0s"}, exitUsage, "must be positive"},
		{[]string{"--lake", "ftp://x"}, exitError, "unsupported scheme"},
		{[]string{"--help"}, exitOK, "exit codes: 0 ok, 1 error, 2 usage, 3 a segment was quarantined"},
	}
	for _, tc := range tests {
		code, _, stderr := invoke(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("compact %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
}

// recorded counts the records in a lake's segments by reading them back.
func recorded(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	segs, _ := filepath.Glob(filepath.Join(dir, "segments", "*", "*.seg"))
	for _, p := range segs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := segment.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for {
			fr, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			dec := capture.NewDecoder(fr.Payload, fr.FirstSeq)
			var rec capture.Record
			for dec.Next(&rec) == nil {
				counts[rd.RunID().String()]++
			}
		}
		f.Close()
	}
	return counts
}

// TestGuestsEndToEnd records the testdata guests with the run command, makes
// one compact pass, and checks with DuckDB that the committed tables hold
// every recorded call exactly once, and how each run ended.
func TestGuestsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	runBin := filepath.Join(dir, "run")
	if out, err := exec.Command("go", "build", "-o", runBin, "../run").CombinedOutput(); err != nil {
		t.Fatalf("go build ../run: %v\n%s", err, out)
	}
	lakeDir := filepath.Join(dir, "lake")
	guests := []struct {
		name   string
		args   []string
		status string
		exit   int64
	}{
		{"go/hello", nil, schemas.StatusExited, 0},
		{"go/args", []string{"a", "b c"}, schemas.StatusExited, 0},
		{"go/exit", []string{"7"}, schemas.StatusExited, 7},
		{"go/clock", nil, schemas.StatusExited, 0},
		{"go/random", nil, schemas.StatusExited, 0},
		{"c/hello_c", nil, schemas.StatusExited, 0},
		{"c/trap_c", nil, schemas.StatusTrapped, -1},
	}
	wantStatus := map[string]string{}
	wantExit := map[string]int64{}
	for _, g := range guests {
		cmd := exec.Command(runBin, append([]string{guest.Path(t, g.name)}, g.args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
			"TIMELAKE_LAKE=file://" + lakeDir, "TIMELAKE_SPOOL=" + filepath.Join(dir, "spool"),
			"XDG_DATA_HOME=" + filepath.Join(dir, "data")}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("run %s: %v", g.name, err)
		}
		id, _, _ := strings.Cut(stderr.String(), "\n")
		wantStatus[id] = g.status
		wantExit[id] = g.exit
	}
	want := recorded(t, lakeDir)
	if len(want) != len(guests) {
		t.Fatalf("%d runs in the lake, want %d", len(want), len(guests))
	}

	code, stdout, stderr := invoke(t, "--lake", "file://"+lakeDir)
	if code != exitOK {
		t.Fatalf("compact: exit %d\n%s%s", code, stdout, stderr)
	}
	m := summaryLine.FindStringSubmatch(stdout)
	var total int64
	for _, n := range want {
		total += n
	}
	if m == nil || m[1] != fmt.Sprint(len(guests)) || m[2] != fmt.Sprint(total) {
		t.Errorf("summary %q, want %d segments and %d records", stdout, len(guests), total)
	}

	store, err := lake.Open(context.Background(), lakeDir, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := compact.ReadSnapshot(context.Background(), store)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files := func(table string) string {
		var p []string
		for _, k := range snap.Keys(table) {
			p = append(p, "'"+filepath.Join(lakeDir, k)+"'")
		}
		return "read_parquet([" + strings.Join(p, ",") + "], hive_partitioning = true)"
	}
	rows, err := db.Query("SELECT run_id, count(*), count(DISTINCT seq), max(seq) FROM " + files(schemas.TableCalls) + " GROUP BY run_id")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for rows.Next() {
		var id string
		var n, distinct, maxSeq int64
		if err := rows.Scan(&id, &n, &distinct, &maxSeq); err != nil {
			t.Fatal(err)
		}
		if n != distinct || maxSeq != n-1 {
			t.Errorf("run %s: %d rows, %d distinct seqs, max seq %d", id, n, distinct, maxSeq)
		}
		got[id] = n
	}
	rows.Close()
	for id, n := range want {
		if got[id] != n {
			t.Errorf("run %s: DuckDB sees %d calls, the segments hold %d", id, got[id], n)
		}
	}
	rows, err = db.Query("SELECT run_id, status, coalesce(exit_code, -1), records FROM " + files(schemas.TableRuns))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, status string
		var exit, records int64
		if err := rows.Scan(&id, &status, &exit, &records); err != nil {
			t.Fatal(err)
		}
		if status != wantStatus[id] || exit != wantExit[id] || records != want[id] {
			t.Errorf("runs row %s: status %s exit %d records %d; want %s %d %d", id, status, exit, records, wantStatus[id], wantExit[id], want[id])
		}
	}
	rows.Close()
	var hello string
	if err := db.QueryRow("SELECT string_agg(decode(data), '' ORDER BY seq) FROM " + files(schemas.TableStdio) +
		" s JOIN " + files(schemas.TableRuns) + " r USING (run_id) WHERE r.module_name LIKE '%hello_c%' AND stream = 'stdout'").Scan(&hello); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hello, "hello from C\n") {
		t.Errorf("stdout of hello_c: %q", hello)
	}

	// A second pass has nothing to do.
	code, stdout, _ = invoke(t, "--lake", "file://"+lakeDir)
	if code != exitOK || !strings.HasPrefix(stdout, "compact: 0 segments, 0 records, 0 files") {
		t.Errorf("second pass: exit %d, %q", code, stdout)
	}
}

// TestExitCodes covers a quarantined segment (3), a dry run and a lake of a
// newer format (1).
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	runDir := filepath.Join(dir, "segments", "01a21804-3096-70be-ab18-6759f938e37d")
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, "00000000.seg"), []byte("TLSEG garbage, not a segment at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := invoke(t, "--lake", dir, "--dry-run")
	if code != exitOK || !strings.Contains(stdout, "dry run") || !strings.Contains(stderr, "would consume segments/01a21804") {
		t.Errorf("dry run: exit %d, %q, %q", code, stdout, stderr)
	}
	code, stdout, stderr = invoke(t, "--lake", dir)
	if code != exitQuarantined || !strings.Contains(stderr, "quarantined segments/01a21804-3096-70be-ab18-6759f938e37d/00000000.seg: ") ||
		!strings.Contains(stdout, "1 quarantined") {
		t.Errorf("corrupt segment: exit %d, %q, %q", code, stdout, stderr)
	}
	// Once quarantined, a segment is not read again.
	if code, _, _ = invoke(t, "--lake", dir); code != exitOK {
		t.Errorf("next pass: exit %d", code)
	}
	if err := os.WriteFile(filepath.Join(dir, "_lake", "format.json"), []byte(`{"format_version": 99}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = invoke(t, "--lake", dir)
	if code != exitError || !strings.Contains(stderr, "newer") {
		t.Errorf("newer lake: exit %d, %q", code, stderr)
	}
}
