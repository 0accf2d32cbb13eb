package main

// End-to-end tests: every guest under testdata/ runs through the run binary,
// built once per test binary, exactly as a user types it. Outcomes asserted
// are the guest's stdout, stderr and exit code, and the state of the host
// directories it was given. compare_test.go runs the same table under
// wazero's own WASI implementation.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/timelake/timelake/internal/guest"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
	cliDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cliDir != "" {
		os.RemoveAll(cliDir)
	}
	os.Exit(code)
}

// runBinary builds this package's command once per test binary.
func runBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		cliDir, cliErr = os.MkdirTemp("", "timelake-run-cli-")
		if cliErr != nil {
			return
		}
		cliPath = filepath.Join(cliDir, "run")
		out, err := exec.Command("go", "build", "-o", cliPath, ".").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("go build ./cmd/run: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// result is how one run ended.
type result struct {
	code           int
	stdout, stderr string // stderr without the run ID line
	runID          string // the recorded run's ID; "" if none was announced
}

// runIDLine is the UUIDv7 a recorded run prints first on stderr.
var runIDLine = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\n`)

// mount is one directory given to a guest.
type mount struct {
	host, guest string
	readOnly    bool
}

// invocation is one run of a guest, independent of the runtime.
type invocation struct {
	module string
	args   []string
	env    []string // KEY=VALUE
	mounts []mount
	stdin  []byte
	flags  []string // extra run flags (CLI only)
}

// runCLI runs inv through the run binary.
func runCLI(t *testing.T, inv invocation) result {
	t.Helper()
	args := slices.Clone(inv.flags)
	for _, e := range inv.env {
		args = append(args, "--env", e)
	}
	for _, m := range inv.mounts {
		spec := m.host + ":" + m.guest
		if m.readOnly {
			spec += ":ro"
		}
		args = append(args, "--dir", spec)
	}
	args = append(args, "--", inv.module)
	args = append(args, inv.args...)
	return execRun(t, inv.stdin, args...)
}

// execRun runs the CLI with raw arguments.
func execRun(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runBinary(t), args...)
	// Runs are recorded into a lake and spool private to this test binary.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"TIMELAKE_LAKE=file://" + filepath.Join(cliDir, "lake"),
		"TIMELAKE_SPOOL=" + filepath.Join(cliDir, "spool"),
		"XDG_DATA_HOME=" + filepath.Join(cliDir, "data"),
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	// A recorded run announces its ID as the first line of stderr.
	if m := runIDLine.FindString(r.stderr); m != "" {
		r.runID, r.stderr = strings.TrimSpace(m), r.stderr[len(m):]
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		r.code = exit.ExitCode()
	default:
		t.Fatalf("run %q: %v\nstderr: %s", args, err, r.stderr)
	}
	return r
}

// guestCase is one guest run and what must come of it. The same table
// drives the CLI tests here and the comparison with wazero's WASI.
type guestCase struct {
	name  string
	guest string // as internal/guest names it: go/hello, c/files_c
	args  []string
	env   []string
	stdin []byte
	// prepare lays out a fresh host directory root for one run and returns
	// the host directory to mount at guestMount. "$ROOT" in args is replaced
	// by root.
	prepare    func(t *testing.T, root string) string
	guestMount string

	code   int
	stdout string // exact stdout, unless check is set
	// check makes further assertions on the outcome and on root.
	check func(t *testing.T, root string, r result)

	// wazero, when set, is how wazero's own WASI differs on purpose; the
	// comparison asserts this instead of identical outcomes.
	wazero *expectedDiff
}

// expectedDiff documents a deliberate difference from wazero's WASI.
type expectedDiff struct {
	why   string
	code  int
	check func(t *testing.T, r result)
}

// invocation lays out the case's files under root and returns the run.
func (c guestCase) invocation(t *testing.T, root string) invocation {
	t.Helper()
	inv := invocation{module: guest.Path(t, c.guest), env: c.env, stdin: c.stdin}
	for _, a := range c.args {
		inv.args = append(inv.args, strings.ReplaceAll(a, "$ROOT", root))
	}
	if c.prepare != nil {
		inv.mounts = []mount{{host: c.prepare(t, root), guest: c.guestMount}}
	}
	return inv
}

// assert checks a run's outcome against the case.
func (c guestCase) assert(t *testing.T, root string, r result) {
	t.Helper()
	if r.code != c.code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, c.code, r.stdout, r.stderr)
	}
	if c.check != nil {
		c.check(t, root, r)
	} else if r.stdout != c.stdout {
		t.Errorf("stdout:\n%s\nwant:\n%s\nstderr:\n%s", r.stdout, c.stdout, r.stderr)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func emptyDir(t *testing.T, root string) string { return root }

// sha256Blocks recomputes what the sha256 guest hashes.
func sha256Blocks(mib int) string {
	h := sha256.New()
	block := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		for j := range block {
			block[j] = byte((i*31 + j*7) & 0xff)
		}
		h.Write(block)
	}
	return fmt.Sprintf("%x\n", h.Sum(nil))
}

// catInput is stdin for the cat guests: text plus every byte value.
func catInput() []byte {
	var b bytes.Buffer
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "line %d of the cat test\n", i)
	}
	for i := 0; i < 256; i++ {
		b.WriteByte(byte(i))
	}
	return b.Bytes()
}

const secret = "TOPSECRET-3f1a9c: nothing of this may reach the guest's output"

// prepareEscape lays out root/secret.txt beside the mounted root/mnt.
func prepareEscape(t *testing.T, root string) string {
	writeFiles(t, root, map[string]string{"secret.txt": secret, "mnt/inside.txt": "inside\n"})
	return filepath.Join(root, "mnt")
}

// escapeAttempts is every line the escape guest prints for an attempt that
// must fail, in order.
var escapeAttempts = []string{
	"open ../secret.txt", "open sub/../../secret.txt", "open ../../../../../../../../etc/passwd",
	"open /etc/passwd under mount fd", "open absolute host path under mount fd", "open .. as directory",
	"open ../.. from sub", "create ../planted.txt", "os.ReadFile /etc/passwd",
	"open through absolute symlink", "open through absolute host-path symlink",
	"open through relative symlink", "open up/secret.txt", "open up as directory",
	"create up/planted.txt", "open sub/deep/secret.txt", "symlink ../outlink (create outside)",
	"stat ../secret.txt", "stat through relative symlink", "hard link ../secret.txt -> hl",
	"hard link following rel -> hl2", "hard link inside.txt -> ../hl3",
	"rename inside.txt -> ../moved.txt", "rename ../secret.txt -> stolen.txt",
	"rename sub -> ../movedsub", "mkdir ../newdir", "unlink ../secret.txt", "rmdir ..",
}

// escapeLines maps each attempt the escape guest reported to its outcome.
func escapeLines(t *testing.T, stdout string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if op, res, ok := strings.Cut(line, ": "); ok {
			got[op] = res
		}
	}
	for _, op := range escapeAttempts {
		if _, ok := got[op]; !ok {
			t.Errorf("escape guest did not report %q:\n%s", op, stdout)
		}
	}
	return got
}

// checkNoLeak asserts nothing of the host outside the mount reached the
// guest's output, and that the outside was left as it was.
func checkNoLeak(t *testing.T, root string, r result) {
	t.Helper()
	out := r.stdout + r.stderr
	for _, leak := range []string{root, filepath.Dir(root), "TOPSECRET", "root:x:0:0"} {
		if strings.Contains(out, leak) {
			t.Errorf("guest output leaks %q:\n%s", leak, out)
		}
	}
	got, err := os.ReadFile(filepath.Join(root, "secret.txt"))
	if err != nil || string(got) != secret {
		t.Errorf("secret.txt outside the mount changed: %q, %v", got, err)
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"mnt", "secret.txt"}) {
		t.Errorf("the guest changed the directory above its mount: %v", names)
	}
	if _, err := os.Stat(filepath.Join(root, "mnt", "inside.txt")); err != nil {
		t.Errorf("inside.txt moved out of the mount: %v", err)
	}
}

func fileLines(n int) string { return strings.Repeat("0123456789abcdef\n", n) }

// guestCases is the table both the CLI tests and the comparison run.
func guestCases() []guestCase {
	return []guestCase{
		{name: "hello", guest: "go/hello", stdout: "hello, world\n"},
		{
			name: "args and env", guest: "go/args",
			args: []string{"one", "two words", "", "ünïcode"},
			env:  []string{"ZED=last", "ALPHA=1", "EQUALS=a=b"},
			stdout: "argc=4\narg[1]=\"one\"\narg[2]=\"two words\"\narg[3]=\"\"\narg[4]=\"ünïcode\"\n" +
				"envc=3\nenv \"ALPHA=1\"\nenv \"EQUALS=a=b\"\nenv \"ZED=last\"\n",
		},
		{name: "exit 0", guest: "go/exit", args: []string{"0"}, stdout: "exiting with 0\n"},
		{name: "exit 3", guest: "go/exit", args: []string{"3"}, code: 3, stdout: "exiting with 3\n"},
		{name: "exit 255", guest: "go/exit", args: []string{"255"}, code: 255, stdout: "exiting with 255\n"},
		{
			name: "cat stdin to stdout", guest: "go/cat", stdin: catInput(),
			check: func(t *testing.T, _ string, r result) {
				if r.stdout != string(catInput()) {
					t.Errorf("stdout differs from stdin: %d bytes, want %d", len(r.stdout), len(catInput()))
				}
				if want := fmt.Sprintf("cat: %d bytes\n", len(catInput())); r.stderr != want {
					t.Errorf("stderr %q, want %q", r.stderr, want)
				}
			},
		},
		{name: "cat empty stdin", guest: "go/cat", stdin: []byte{}, stdout: ""},
		{
			name: "files", guest: "go/files", args: []string{"/work"},
			prepare: emptyDir, guestMount: "/work",
			check: func(t *testing.T, root string, r result) {
				if strings.Contains(r.stdout, "FAIL") || !strings.HasSuffix(r.stdout, "all checks passed\n") {
					t.Errorf("files guest reported failures:\n%s", r.stdout)
				}
				// What the guest did is on the host, where the guest put it.
				entries, err := os.ReadDir(filepath.Join(root, "files", "many"))
				if err != nil || len(entries) != 2000 {
					t.Errorf("host sees %d entries in files/many (%v), want 2000", len(entries), err)
				}
				if got, err := os.Readlink(filepath.Join(root, "files", "sym")); err != nil || got != "target" {
					t.Errorf("host symlink files/sym = %q, %v", got, err)
				}
				if got, err := os.ReadFile(filepath.Join(root, "files", "hard")); err != nil || string(got) != "changed" {
					t.Errorf("host file files/hard = %q, %v", got, err)
				}
				st, err := os.Stat(filepath.Join(root, "files", "stat.txt"))
				if err != nil || !st.ModTime().Equal(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)) {
					t.Errorf("host mtime of files/stat.txt: %v, %v", st, err)
				}
			},
		},
		{
			name: "clock", guest: "go/clock",
			stdout: "monotonic never goes back: ok\nwall clock after 2020: ok\nsleep 3x100ms lasts >= 300ms: ok\ntwo reads ordered: ok\n",
		},
		{name: "random", guest: "go/random", stdout: "random: 32 bytes\n"},
		{
			name: "fstest", guest: "go/fstest",
			args: []string{"/data", "a.txt", "sub/b.txt", "sub/deep/c.txt", "empty"},
			prepare: func(t *testing.T, root string) string {
				writeFiles(t, root, map[string]string{
					"a.txt": "alpha\n", "sub/b.txt": "bravo\n", "sub/deep/c.txt": strings.Repeat("charlie\n", 1000),
				})
				if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
					t.Fatal(err)
				}
				return root
			},
			guestMount: "/data", stdout: "ok\n",
		},
		{
			name: "fstest missing file", guest: "go/fstest", args: []string{"/data", "a.txt", "nothere"},
			prepare: func(t *testing.T, root string) string {
				writeFiles(t, root, map[string]string{"a.txt": "alpha\n"})
				return root
			},
			guestMount: "/data", code: 1,
			stdout: "TestFS found errors:\nexpected but not found: nothere\n",
		},
		{
			name: "escape", guest: "go/escape", args: []string{"/mnt", "$ROOT/secret.txt"},
			prepare: prepareEscape, guestMount: "/mnt",
			check: func(t *testing.T, root string, r result) {
				got := escapeLines(t, r.stdout)
				for _, op := range escapeAttempts {
					if got[op] == "ESCAPED" || got[op] == "ok" {
						t.Errorf("%s: the host let it through", op)
					}
				}
				for _, control := range []string{"open inside.txt (control)", "mkdir sub (control)", "open sub (control)", "readdir mount root (control)"} {
					if got[control] != "ok" {
						t.Errorf("%s: %s, want ok (the mount itself must work)", control, got[control])
					}
				}
				if !strings.HasSuffix(r.stdout, "all escape attempts failed\n") {
					t.Errorf("escape guest did not confirm:\n%s", r.stdout)
				}
				checkNoLeak(t, root, r)
			},
			wazero: &expectedDiff{
				why: "wazero's WithDirMount is documented as not a sandbox: it follows symlinks " +
					"that lead out of the mount, so seven attempts through symlinks escape there " +
					"(timelake resolves every path beneath the mount in the kernel)",
				code: 1,
				check: func(t *testing.T, r result) {
					got := escapeLines(t, r.stdout)
					var escaped []string
					for _, op := range escapeAttempts {
						if got[op] == "ESCAPED" {
							escaped = append(escaped, op)
						}
					}
					want := []string{
						"open through relative symlink", "open up/secret.txt", "open up as directory",
						"create up/planted.txt", "open sub/deep/secret.txt", "stat through relative symlink",
						"hard link following rel -> hl2",
					}
					if !slices.Equal(escaped, want) {
						t.Errorf("attempts escaping under wazero: %q, want %q", escaped, want)
					}
				},
			},
		},
		{name: "write1m (100k writes)", guest: "go/write1m", args: []string{"100000"}, stdout: fileLines(100000)},
		{
			name: "read64m (1 MiB + 123 bytes)", guest: "go/read64m", args: []string{"/data/input.bin"},
			prepare: func(t *testing.T, root string) string {
				writeFiles(t, root, map[string]string{"input.bin": strings.Repeat("x", 1<<20+123)})
				return root
			},
			guestMount: "/data", stdout: "read 1048699 bytes\n",
		},
		{name: "sha256 of 8 MiB", guest: "go/sha256", args: []string{"8"}, stdout: sha256Blocks(8)},
		{name: "sleep", guest: "go/sleep", args: []string{"50", "10"}, stdout: "sleeping\nslept 50 ms\n"},
		{
			name: "go panic exits 2", guest: "go/panic", code: 2,
			check: func(t *testing.T, _ string, r result) {
				if r.stdout != "about to panic\n" {
					t.Errorf("stdout %q", r.stdout)
				}
				if !strings.Contains(r.stderr, "panic: assignment to entry in nil map") {
					t.Errorf("stderr lacks the panic message:\n%s", r.stderr)
				}
			},
		},
		{
			name: "many open files", guest: "go/manyfiles", args: []string{"/work", "64"},
			prepare: emptyDir, guestMount: "/work", stdout: "opened 64 files\n",
		},
		{name: "alloc 32 MiB", guest: "go/alloc", args: []string{"32"}, stdout: "allocated 32 MiB\n"},
		{
			name: "hello_c", guest: "c/hello_c", args: []string{"a", "b c"}, env: []string{"K=V", "EMPTY="},
			stdout: "hello from C\nargc=2\narg[1]=a\narg[2]=b c\nenv K=V\nenv EMPTY=\n",
		},
		{
			name: "files_c", guest: "c/files_c", args: []string{"/work"},
			prepare: emptyDir, guestMount: "/work",
			check: func(t *testing.T, root string, r result) {
				if strings.Contains(r.stdout, "FAIL") || !strings.HasSuffix(r.stdout, "all checks passed\n") {
					t.Errorf("files_c reported failures:\n%s", r.stdout)
				}
				if got, err := os.ReadFile(filepath.Join(root, "files_c", "hard")); err != nil || string(got) != "moved" {
					t.Errorf("host file files_c/hard = %q, %v", got, err)
				}
			},
		},
		{
			name: "stdin_c", guest: "c/stdin_c", stdin: []byte("hello\nwasi world\n"),
			check: func(t *testing.T, _ string, r result) {
				if r.stdout != "HELLO\nWASI WORLD\n" || r.stderr != "stdin_c: 17 bytes 2 lines\n" {
					t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
				}
			},
		},
		{
			name: "trap_c", guest: "c/trap_c", code: exitTrap,
			check: func(t *testing.T, _ string, r result) {
				if r.stdout != "about to trap\n" {
					t.Errorf("stdout %q", r.stdout)
				}
				checkTrapReport(t, r.stderr)
			},
			wazero: &expectedDiff{
				why: "in process, wazero returns the trap as an error; run reports it as exit 134 " +
					"with the reason and the wasm stack on stderr",
				code: exitTrap,
				check: func(t *testing.T, r result) {
					if r.stdout != "about to trap\n" || !strings.Contains(r.stderr, "unreachable") {
						t.Errorf("stdout %q stderr %q", r.stdout, r.stderr)
					}
				},
			},
		},
	}
}

// checkTrapReport asserts run's report of a trap: one line with the reason,
// then the wasm stack naming the frames of trap_c.
func checkTrapReport(t *testing.T, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if !strings.HasPrefix(lines[0], "run: guest trapped:") || !strings.Contains(lines[0], "unreachable") {
		t.Errorf("first stderr line %q, want the trap reason", lines[0])
	}
	stack := strings.Join(lines[1:], "\n")
	for _, frame := range []string{"crash_here", "call_crash", "_start"} {
		if !strings.Contains(stack, frame) {
			t.Errorf("stack trace lacks %s:\n%s", frame, stderr)
		}
	}
}

func TestGuests(t *testing.T) {
	for _, c := range guestCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			r := runCLI(t, c.invocation(t, root))
			if r.runID == "" {
				t.Errorf("the run was not announced as recorded; stderr %q", r.stderr)
			}
			c.assert(t, root, r)
		})
	}
}

// TestEveryGuestIsRun keeps the table honest: a guest added under testdata
// must be exercised here.
func TestEveryGuestIsRun(t *testing.T) {
	used := map[string]bool{"go/nosuch": true} // TestBadModules
	for _, g := range netGuests {
		used[g] = true // net_test.go
	}
	for _, c := range guestCases() {
		used[c.guest] = true
	}
	for _, g := range guest.All() {
		if !used[g] {
			t.Errorf("guest %s is not run by any test", g)
		}
	}
}

// oneLineError asserts stderr is exactly one line mentioning every want.
func oneLineError(t *testing.T, r result, want ...string) {
	t.Helper()
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not mention %q", r.stderr, w)
		}
	}
}

func TestBadModules(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The smallest valid module: magic and version, no sections at all.
	noStart := write("empty.wasm", []byte("\x00asm\x01\x00\x00\x00"))
	// A module exporting a function that is not _start:
	// type section: one type () -> (); function section: one function of
	// type 0; export section: "main" as function 0; code section: a body
	// with no locals and just `end`.
	otherExport := write("main-only.wasm", []byte("\x00asm\x01\x00\x00\x00"+
		"\x01\x04\x01\x60\x00\x00"+
		"\x03\x02\x01\x00"+
		"\x07\x08\x01\x04main\x00\x00"+
		"\x0a\x04\x01\x02\x00\x0b"))
	truncated := write("truncated.wasm", []byte("\x00asm\x01\x00\x00\x00\x01\x04\x01\x60"))
	text := write("notwasm.wasm", []byte("#!/bin/sh\necho this is not wasm\n"))
	nosuch := guest.Path(t, "go/nosuch")

	tests := []struct {
		name string
		args []string
		want []string // substrings of the one stderr line
	}{
		{name: "missing file", args: []string{filepath.Join(dir, "nothere.wasm")}, want: []string{"nothere.wasm", "no such file"}},
		{name: "directory", args: []string{dir}, want: []string{"is a directory"}},
		{name: "not wasm", args: []string{text}, want: []string{"not a WebAssembly module"}},
		{name: "truncated", args: []string{truncated}, want: []string{"invalid module"}},
		{name: "no exports", args: []string{noStart}, want: []string{"_start"}},
		{name: "no _start", args: []string{otherExport}, want: []string{"_start"}},
		{name: "unsupported import", args: []string{nosuch}, want: []string{"env", "nosuch"}},
		{name: "no module", args: nil, want: []string{"missing module"}},
		{name: "bad --max-memory", args: []string{"--max-memory", "lots", noStart}, want: []string{"lots"}},
		{name: "missing mount", args: []string{"--dir", filepath.Join(dir, "nodir") + ":/x", guest.Path(t, "go/hello")}, want: []string{"nodir"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := execRun(t, nil, tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if tt.name == "bad --max-memory" {
				// The flag package prints its own usage after the error line.
				if !strings.Contains(r.stderr, "lots") {
					t.Errorf("stderr does not name the bad value: %q", r.stderr)
				}
				return
			}
			oneLineError(t, r, tt.want...)
		})
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name  string
		guest string
		flags []string
		args  []string
		work  bool // mount a fresh directory at /work
		ro    bool // ... read-only
		check func(t *testing.T, r result)
	}{
		{
			name: "timeout stops a sleeping guest", guest: "go/sleep",
			flags: []string{"--timeout", "300ms"}, args: []string{"600000", "10"},
			check: func(t *testing.T, r result) {
				if r.code != exitTimeout || r.stdout != "sleeping\n" {
					t.Errorf("exit %d stdout %q, want %d and no \"slept\"", r.code, r.stdout, exitTimeout)
				}
				oneLineError(t, r, "timeout")
			},
		},
		{
			name: "timeout stops a busy guest", guest: "go/sha256",
			flags: []string{"--timeout", "300ms"}, args: []string{"100000"},
			check: func(t *testing.T, r result) {
				if r.code != exitTimeout || r.stdout != "" {
					t.Errorf("exit %d stdout %q, want %d and no digest", r.code, r.stdout, exitTimeout)
				}
			},
		},
		{
			name: "max-memory below the module's initial memory", guest: "go/hello",
			flags: []string{"--max-memory", "1MiB"},
			check: func(t *testing.T, r result) {
				if r.code != exitUsage || r.stdout != "" {
					t.Errorf("exit %d stdout %q, want %d", r.code, r.stdout, exitUsage)
				}
				oneLineError(t, r, "--max-memory", "pages")
			},
		},
		{
			name: "max-memory stops a growing guest", guest: "go/alloc",
			flags: []string{"--max-memory", "64MiB"}, args: []string{"256"},
			check: func(t *testing.T, r result) {
				// memory.grow fails; the Go runtime reports it and exits 2.
				if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "out of memory") {
					t.Errorf("exit %d stdout %q stderr %q, want the Go runtime's out of memory", r.code, r.stdout, r.stderr)
				}
			},
		},
		{
			name: "max-memory leaves room to grow", guest: "go/alloc",
			flags: []string{"--max-memory", "256MiB"}, args: []string{"64"},
			check: func(t *testing.T, r result) {
				if r.code != 0 || r.stdout != "allocated 64 MiB\n" {
					t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
			},
		},
		{
			name: "max-open-files 8 gives EMFILE", guest: "go/manyfiles",
			flags: []string{"--max-open-files", "8"}, args: []string{"/work", "64"}, work: true,
			check: func(t *testing.T, r result) {
				// stdio and the preopen hold 4 of the 8 fds.
				if r.code != 0 || r.stdout != "opened 4 files, then EMFILE\n" {
					t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
			},
		},
		{
			name: "exit codes above 255 are reported as 255", guest: "go/exit", args: []string{"300"},
			check: func(t *testing.T, r result) {
				if r.code != 255 || r.stdout != "exiting with 300\n" {
					t.Errorf("exit %d stdout %q", r.code, r.stdout)
				}
			},
		},
		{
			name: "read-only mount refuses writes", guest: "go/files",
			args: []string{"/work"}, work: true, ro: true,
			check: func(t *testing.T, r result) {
				if r.code != 1 || !strings.HasPrefix(r.stdout, "mkdir root: FAIL ") {
					t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inv := invocation{module: guest.Path(t, tt.guest), args: tt.args, flags: tt.flags}
			work := t.TempDir()
			if tt.work {
				inv.mounts = []mount{{host: work, guest: "/work", readOnly: tt.ro}}
			}
			tt.check(t, runCLI(t, inv))
			if tt.ro {
				if entries, _ := os.ReadDir(work); len(entries) != 0 {
					t.Errorf("a read-only mount was written to: %d entries", len(entries))
				}
			}
		})
	}
}

// TestReadOnlyMountReads checks a read-only mount still serves reads.
func TestReadOnlyMountReads(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"input.bin": strings.Repeat("r", 70000)})
	r := runCLI(t, invocation{
		module: guest.Path(t, "go/read64m"), args: []string{"/ro/input.bin"},
		mounts: []mount{{host: dir, guest: "/ro", readOnly: true}},
	})
	if r.code != 0 || r.stdout != "read 70000 bytes\n" {
		t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}
