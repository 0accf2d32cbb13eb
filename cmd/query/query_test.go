package main

// End-to-end tests: guests are recorded by the run binary into a fresh lake
// (a folder, and a real S3 gateway), compacted by compact.Run, and queried
// through the same entry point as the command line. Outputs are compared
// with goldens under testdata/golden (go test -update rewrites them) after
// masking what changes between recordings: run IDs, times, durations, hosts
// and byte sizes of compressed data.

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/internal/guest"
	"github.com/timelake/timelake/internal/s3test"
	"github.com/timelake/timelake/lake"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var (
	runOnce sync.Once
	runPath string
	runErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// runBinary builds cmd/run once per test binary.
func runBinary(t *testing.T) string {
	t.Helper()
	runOnce.Do(func() {
		binDir, runErr = os.MkdirTemp("", "timelake-query-test-")
		if runErr != nil {
			return
		}
		runPath = filepath.Join(binDir, "run")
		out, err := exec.Command("go", "build", "-o", runPath, "../run").CombinedOutput()
		if err != nil {
			runErr = fmt.Errorf("go build ./cmd/run: %v\n%s", err, out)
		}
	})
	if runErr != nil {
		t.Fatal(runErr)
	}
	return runPath
}

// recorded is one guest run recorded into the fixture lake.
type recorded struct {
	name   string // mask of its ID in goldens: <name>
	id     string
	stdout []byte
	stderr []byte // the guest's stderr (run's own first line removed)
	code   int
}

// fixture is a lake holding the recorded runs, compacted.
type fixture struct {
	lakeURL  string
	env      []string // for subprocesses and query
	cacheDir string
	runs     []recorded
}

// guestRuns are the runs every fixture records.
var guestRuns = []struct {
	name  string
	guest string
	flags []string
	args  []string
	dir   bool // mount a fresh directory at /work
	code  int
}{
	{name: "hello", guest: "go/hello"},
	{name: "args", guest: "go/args", flags: []string{"--env", "GREETING=hi"}, args: []string{"one", "two words"}},
	{name: "exit", guest: "go/exit", code: 64},
	{name: "files", guest: "c/files_c", dir: true, args: []string{"/work"}},
}

func record(t *testing.T, lakeURL string, env []string) *fixture {
	t.Helper()
	bin := runBinary(t)
	f := &fixture{lakeURL: lakeURL, env: env, cacheDir: t.TempDir()}
	spool := t.TempDir()
	for _, g := range guestRuns {
		args := []string{"--lake", lakeURL, "--spool", spool}
		if strings.HasPrefix(lakeURL, "s3://") {
			args = append(args, "--s3-path-style")
		}
		args = append(args, g.flags...)
		if g.dir {
			args = append(args, "--dir", t.TempDir()+":/work")
		}
		args = append(args, stableCopy(t, g.guest))
		args = append(args, g.args...)
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		if code != g.code {
			t.Fatalf("run %s: exit %d (%v), want %d\nstderr: %s", g.name, code, err, g.code, stderr.String())
		}
		first, rest, _ := bytes.Cut(stderr.Bytes(), []byte("\n"))
		id := strings.TrimSpace(string(first))
		if !regexp.MustCompile(`^[0-9a-f-]{36}$`).MatchString(id) {
			t.Fatalf("run %s: first stderr line %q is not a run ID", g.name, first)
		}
		f.runs = append(f.runs, recorded{name: g.name, id: id, stdout: stdout.Bytes(), stderr: rest, code: code})
	}
	store, err := lake.Open(context.Background(), lakeURL, lake.Options{S3PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := compact.Run(context.Background(), store, compact.Options{TempDir: t.TempDir()}); err != nil {
		t.Fatalf("compact: %v", err)
	}
	return f
}

// stableCopy copies a built guest to <tmp>/<base>.wasm so that its module
// name does not carry the build cache's hash.
func stableCopy(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(guest.Path(t, name))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), filepath.Base(name)+".wasm")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) run(name string) recorded {
	for _, r := range f.runs {
		if r.name == name {
			return r
		}
	}
	panic(name)
}

// query runs the query command in process.
func (f *fixture) query(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	full := append([]string{"--lake", f.lakeURL, "--cache-dir", f.cacheDir}, args...)
	var out, errOut bytes.Buffer
	code = run(context.Background(), full, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

var (
	timeRE         = regexp.MustCompile(`\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?Z?`)
	describeRE     = regexp.MustCompile(`(?m)^(Start|End|Duration|Host|Segments|Size):( +).*$`)
	offsetRE       = regexp.MustCompile(`(,<time>,)\d+,`)
	runsCSVRE      = regexp.MustCompile(`(?m)^(<\w+>,<time>,[^,]*,[^,]*,[^,]*,)[0-9.]+,`)
	durationRE     = regexp.MustCompile(`"duration_ms":[0-9.]+`)
	goRecordsRE    = regexp.MustCompile(`(?m)^(<(?:hello|args|exit)>,.*,<ms>,)\d+,`)
	jsonRecordsRE  = regexp.MustCompile(`"records":\d+`)
	jsonVolatileRE = regexp.MustCompile(`"(host|runtime_version|duration_ns|segment_bytes|records_raw_bytes|records_stored_bytes|compression_ratio)":("[^"]*"|[^,}]+)`)
	describeGoRE   = regexp.MustCompile(`(?m)^(Records|I/O):( +).*$`)
	// A guest's bytes depend on the toolchain that built it: digests and
	// sizes differ between machines.
	digestRE     = regexp.MustCompile(`\(sha256:[0-9a-f]{64}, [0-9.]+ [KMG]?i?B\)`)
	jsonModuleRE = regexp.MustCompile(`"(module_sha256|module_size)":("[0-9a-f]{64}"|\d+)`)
)

// mask replaces what differs between recordings.
func (f *fixture) mask(s string) string {
	for _, r := range f.runs {
		s = strings.ReplaceAll(s, r.id, "<"+r.name+">")
	}
	s = strings.ReplaceAll(s, f.lakeURL, "<lake>")
	s = timeRE.ReplaceAllString(s, "<time>")
	s = digestRE.ReplaceAllString(s, "(sha256:<digest>, <size>)")
	s = jsonModuleRE.ReplaceAllString(s, `"$1":<masked>`)
	s = describeRE.ReplaceAllString(s, "$1:$2<masked>")
	s = offsetRE.ReplaceAllString(s, "$1<ns>,")
	s = runsCSVRE.ReplaceAllString(s, "$1<ms>,")
	s = durationRE.ReplaceAllString(s, `"duration_ms":<ms>`)
	// Go guests make a varying number of clock calls: their call counts and
	// bytes in differ between recordings; the C guest's do not.
	s = goRecordsRE.ReplaceAllString(s, "$1<n>,")
	s = jsonRecordsRE.ReplaceAllString(s, `"records":<n>`)
	s = jsonVolatileRE.ReplaceAllString(s, `"$1":<masked>`)
	if strings.Contains(s, "\nID:       <files>") {
		return s
	}
	s = describeGoRE.ReplaceAllString(s, "$1:$2<masked>")
	return s
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// goldenCase is one command whose masked stdout, stderr and exit code are
// compared with testdata/golden/<name>.
type goldenCase struct {
	name  string
	args  func(f *fixture) []string
	stdin string
}

func fixed(args ...string) func(*fixture) []string { return func(*fixture) []string { return args } }

func withRun(run string, args ...string) func(*fixture) []string {
	return func(f *fixture) []string {
		out := []string{}
		for _, a := range args {
			out = append(out, strings.ReplaceAll(a, "RUN", f.run(run).id))
		}
		return out
	}
}

var goldenCases = []goldenCase{
	{name: "views.txt", args: fixed("views", "--format", "table")},
	{name: "views.csv", args: fixed("--format", "csv", "views")},
	{name: "runs.csv", args: fixed("runs", "--format", "csv")},
	{name: "runs-status.jsonl", args: fixed("runs", "--status", "exited", "--module", "exit*", "--format", "jsonl")},
	{name: "runs-since.csv", args: fixed("runs", "--since", "1h", "--format", "csv", "--limit", "2")},
	{name: "runs-none.csv", args: fixed("runs", "--since", "1h", "--status", "running", "--format", "csv")},
	{name: "describe-args.txt", args: withRun("args", "describe", "RUN", "--format", "table")},
	{name: "describe-exit.txt", args: withRun("exit", "describe", "RUN", "--format", "table")},
	{name: "describe-files.txt", args: withRun("files", "describe", "RUN", "--format", "table")},
	{name: "describe-files.json", args: withRun("files", "describe", "RUN", "--format", "json")},
	{name: "logs-files.txt", args: withRun("files", "logs", "RUN")},
	{name: "logs-exit.txt", args: withRun("exit", "logs", "RUN")},
	{name: "logs-lines.csv", args: withRun("args", "logs", "RUN", "--format", "csv")},
	{name: "sql-stats.txt", args: withRun("hello", "sql", "--format", "table",
		"SELECT func, calls, errors, bytes_out FROM syscall_stats WHERE run_id = 'RUN' AND func = 'fd_write'")},
	{name: "sql-errors.csv", args: withRun("files", "--format", "csv", "sql",
		"SELECT func, errno, errno_code, errno_message, path FROM errors WHERE run_id = 'RUN' ORDER BY seq")},
	{name: "sql-file-access.json", args: withRun("files", "sql", "--format", "json",
		"SELECT path, ops, opens, writes, bytes_written, errors FROM file_access WHERE run_id = 'RUN' ORDER BY path LIMIT 8")},
	{name: "sql-summary.csv", args: fixed("sql", "--format", "csv",
		"SELECT module_name, status, exit_code, stdout_bytes, stderr_bytes, errors > 0 AS failed_calls FROM run_summary ORDER BY module_name")},
	{name: "sql-timeline.csv", args: withRun("hello", "sql", "--format", "csv",
		"SELECT func, errno, guest_ns >= 0 AS ordered, seq = count(*) OVER (ORDER BY seq) - 1 AS dense FROM timeline WHERE run_id = 'RUN' QUALIFY func IN ('fd_write', 'proc_exit') ORDER BY seq")},
	{name: "sql-stdin.csv", args: fixed("sql", "--format", "csv"), stdin: "SELECT count(*) AS runs FROM runs;\n"},
	{name: "sql-error.txt", args: fixed("sql", "SELECT nope FROM runs")},
	{name: "run-unknown.txt", args: fixed("describe", "ffffffff")},
	{name: "run-ambiguous.txt", args: fixed("logs", "0")},
	{name: "usage-format.txt", args: fixed("runs", "--format", "xml")},
	{name: "usage-command.txt", args: fixed("frobnicate")},
}

func checkGoldens(t *testing.T, f *fixture) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := f.query(t, c.stdin, c.args(f)...)
			got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out, errOut)
			golden(t, c.name, f.mask(got))
		})
	}
}

func checkLogsBytes(t *testing.T, f *fixture) {
	for _, r := range f.runs {
		t.Run(r.name, func(t *testing.T) {
			code, out, errOut := f.query(t, "", "logs", r.id[:13])
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out != string(r.stdout) {
				t.Errorf("stdout differs from what the guest printed:\ngot  %q\nwant %q", out, r.stdout)
			}
			if errOut != string(r.stderr) {
				t.Errorf("stderr differs from what the guest printed:\ngot  %q\nwant %q", errOut, r.stderr)
			}
			_, onlyErr, _ := f.query(t, "", "logs", "--stream", "stderr", r.id)
			if onlyErr != "" {
				t.Errorf("--stream stderr wrote %q to stdout", onlyErr)
			}
		})
	}
}

func checkExports(t *testing.T, f *fixture) {
	dir := t.TempDir()
	want := int64(0)
	for range f.runs {
		want++
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cases := []struct{ format, read string }{
		{"parquet", "read_parquet"}, {"csv", "read_csv"}, {"json", "read_json"}, {"jsonl", "read_json"},
	}
	for _, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			out := filepath.Join(dir, "summary."+c.format)
			code, _, errOut := f.query(t, "", "export", "run_summary", "--format", c.format, "-o", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var n int64
			var modules string
			q := fmt.Sprintf("SELECT count(*), string_agg(module_name, ',' ORDER BY module_name) FROM %s('%s')", c.read, out)
			if err := db.QueryRow(q).Scan(&n, &modules); err != nil {
				t.Fatal(err)
			}
			if n != want || modules != "args.wasm,exit.wasm,files_c.wasm,hello.wasm" {
				t.Errorf("read back %d rows of %s, want %d", n, modules, want)
			}
		})
	}
	t.Run("arrow", func(t *testing.T) {
		out := filepath.Join(dir, "calls.arrow")
		id := f.run("hello").id
		code, _, errOut := f.query(t, "", "export", "--sql", "SELECT seq, func, args, time FROM calls WHERE run_id = '"+id+"' ORDER BY seq", "-o", out, "--format", "arrow")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		_, n, _ := f.query(t, "", "sql", "--format", "csv", "SELECT count(*) AS n FROM calls WHERE run_id = '"+id+"'")
		var want int64
		fmt.Sscanf(strings.TrimPrefix(n, "n\n"), "%d", &want)
		fh, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		r, err := ipc.NewFileReader(fh, ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var names []string
		for _, fl := range r.Schema().Fields() {
			names = append(names, fl.Name)
		}
		if strings.Join(names, ",") != "seq,func,args,time" {
			t.Errorf("arrow columns %v", names)
		}
		var rows int64
		for i := range r.NumRecords() {
			rec, err := r.RecordBatch(i)
			if err != nil {
				t.Fatal(err)
			}
			rows += rec.NumRows()
		}
		if rows != want || rows == 0 {
			t.Errorf("arrow file holds %d rows, the lake %d", rows, want)
		}
	})
}

func TestFileLake(t *testing.T) {
	f := record(t, "file://"+t.TempDir(), nil)
	t.Run("golden", func(t *testing.T) { checkGoldens(t, f) })
	t.Run("logs-bytes", func(t *testing.T) { checkLogsBytes(t, f) })
	t.Run("export", func(t *testing.T) { checkExports(t, f) })
}

func TestS3Lake(t *testing.T) {
	srv := s3test.Start(t)
	srv.Setenv(t)
	t.Setenv("TIMELAKE_S3_PATH_STYLE", "1")
	f := record(t, srv.URL("lake"), srv.Env())
	t.Run("golden", func(t *testing.T) { checkGoldens(t, f) })
	t.Run("logs-bytes", func(t *testing.T) { checkLogsBytes(t, f) })
	// The cache now holds files; a second session validates them by ETag
	// and fetches nothing.
	t.Run("cache", func(t *testing.T) {
		files := cachedFiles(t, f.cacheDir)
		if len(files) == 0 {
			t.Fatal("nothing cached")
		}
		code, _, errOut := f.query(t, "", "logs", f.run("hello").id)
		if code != 0 {
			t.Fatal(errOut)
		}
		if after := cachedFiles(t, f.cacheDir); strings.Join(after, "\n") != strings.Join(files, "\n") {
			t.Errorf("cache changed on a warm query:\nbefore %v\nafter  %v", files, after)
		}
	})
}

func cachedFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func TestEmptyLake(t *testing.T) {
	f := &fixture{lakeURL: "file://" + t.TempDir(), cacheDir: t.TempDir()}
	for _, args := range [][]string{{"runs"}, {"describe", "0190"}, {"logs", "0190"}} {
		code, _, errOut := f.query(t, "", args...)
		if code != exitEmpty || !strings.Contains(errOut, "compact") || !strings.Contains(errOut, "run --lake") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and how to fill the lake", args, code, errOut, exitEmpty)
		}
	}
	code, out, _ := f.query(t, "", "sql", "--format", "csv", "SELECT count(*) AS n FROM calls")
	if code != 0 || out != "n\n0\n" {
		t.Errorf("sql on an empty lake: exit %d, %q", code, out)
	}
}

// TestShell feeds the shell statements as a terminal would: several lines
// per statement, a failing one, dot commands.
func TestShell(t *testing.T) {
	f := &fixture{lakeURL: "file://" + t.TempDir(), cacheDir: t.TempDir()}
	s, err := (&environment{stderr: io.Discard, common: commonFlags{lakeURL: f.lakeURL, cacheDir: f.cacheDir, cacheMax: "1GiB"}}).open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out, errOut bytes.Buffer
	e := &environment{
		stdin:  strings.NewReader("SELECT 1 AS one,\n  'a' AS two;\nSELECT nope;\n.views\nSELECT count(*) AS n FROM logs;\n.quit\nSELECT 3;\n"),
		stdout: &out, stderr: &errOut,
		common: commonFlags{lakeURL: f.lakeURL, cacheDir: f.cacheDir, format: "csv"},
	}
	if err := e.shell(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if want := "one,two\n1,a\nn\n0\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if !strings.Contains(errOut.String(), "Binder Error") || !strings.Contains(errOut.String(), "syscall_stats") {
		t.Errorf("stderr lacks the error or the views:\n%s", errOut.String())
	}
	hist, err := os.ReadFile(filepath.Join(f.cacheDir, "history"))
	if err != nil || string(hist) != "SELECT 1 AS one, 'a' AS two;\nSELECT nope;\nSELECT count(*) AS n FROM logs;\n" {
		t.Errorf("history %q, %v", hist, err)
	}
}
