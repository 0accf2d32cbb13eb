package main

// Replay end to end: guests are recorded through the run binary into a lake
// (file:// or a real S3 server), everything they saw of the host is removed,
// and `run --replay` must reproduce their stdout, stderr and exit code byte
// for byte. Records are tampered with, modules rebuilt and segments torn or
// dropped to get divergences and incomplete runs.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/internal/guest"
	"github.com/timelake/timelake/internal/s3test"
	"github.com/timelake/timelake/lake"
)

// testLake is a lake the CLI records into and replays from.
type testLake struct {
	flags []string   // --lake URL, and --s3-path-style for S3
	env   []string   // environment the CLI needs to reach it
	store lake.Store // the lake opened in process (file lakes only), to inspect and tamper
}

func newFileLake(t *testing.T) testLake {
	t.Helper()
	dir := t.TempDir()
	store, err := lake.Open(context.Background(), dir, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return testLake{flags: []string{"--lake", "file://" + dir}, store: store}
}

func newS3Lake(srv *s3test.Server, prefix string) testLake {
	return testLake{flags: []string{"--lake", srv.URL(prefix), "--s3-path-style"}, env: srv.Env()}
}

// cli runs the run binary with env added to a minimal environment: no
// variable of the test process reaches it.
func cli(t *testing.T, env []string, stdin []byte, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, runBinary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
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

// recordCLI runs inv through the CLI, recording into l with a fresh spool, and
// returns the run ID (the first stderr line) and the outcome without it.
func recordCLI(t *testing.T, l testLake, inv invocation) (string, result) {
	t.Helper()
	// Wait as long as it takes for the segments to reach the lake, however
	// loaded the machine is: the replay reads them there.
	args := append(slices.Clone(l.flags), "--spool", t.TempDir(), "--upload-timeout", "5m")
	args = append(args, inv.flags...)
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
	r := cli(t, l.env, inv.stdin, args...)
	if r.runID == "" {
		t.Fatalf("recorded run printed no run ID first (exit %d):\n%s", r.code, r.stderr)
	}
	id := r.runID
	r.runID = ""
	return id, r
}

// replayCLI replays run id (or a prefix) from l with extra flags.
func replayCLI(t *testing.T, l testLake, id string, flags ...string) result {
	t.Helper()
	args := append(slices.Clone(l.flags), flags...)
	return cli(t, l.env, nil, append(args, "--replay", id)...)
}

// sameRun asserts a replay reproduced a recording exactly.
func sameRun(t *testing.T, replayed, recorded result) {
	t.Helper()
	if replayed.code != recorded.code {
		t.Errorf("replay exit code %d, recorded %d\nreplay stderr:\n%s", replayed.code, recorded.code, clip(replayed.stderr))
	}
	if replayed.stdout != recorded.stdout {
		t.Errorf("replay stdout differs (%d bytes, recorded %d)\nreplay:\n%s\nrecorded:\n%s",
			len(replayed.stdout), len(recorded.stdout), clip(replayed.stdout), clip(recorded.stdout))
	}
	if replayed.stderr != recorded.stderr {
		t.Errorf("replay stderr differs\nreplay:\n%s\nrecorded:\n%s", clip(replayed.stderr), clip(recorded.stderr))
	}
}

// TestReplayEveryGuest records every guest of the CLI table into a file
// lake and into S3, then deletes the directories it was given (and passes
// no --env, no stdin) before replaying it: the replay touches nothing of
// the host and still matches byte for byte.
func TestReplayEveryGuest(t *testing.T) {
	srv := s3test.Start(t)
	lakes := []struct {
		name string
		open func(t *testing.T) testLake
	}{
		{"file", newFileLake},
		{"s3", func(t *testing.T) testLake { return newS3Lake(srv, "lake-"+strings.ReplaceAll(t.Name(), "/", "-")) }},
	}
	cases := guestCases()
	cases = append(cases,
		guestCase{name: "traced hello", guest: "go/hello", code: 0},
		guestCase{name: "timed out sleep", guest: "go/sleep", args: []string{"600000", "10"}, code: exitTimeout},
		guestCase{name: "timed out busy guest", guest: "go/sha256", args: []string{"100000"}, code: exitTimeout},
		// memory.grow fails at the same point: the recorded cap applies.
		guestCase{name: "max-memory", guest: "go/alloc", args: []string{"256"}, code: 2},
	)
	flags := map[string][]string{
		"traced hello":         {"--trace"},
		"timed out sleep":      {"--timeout", "300ms"},
		"timed out busy guest": {"--timeout", "300ms"},
		"max-memory":           {"--max-memory", "64MiB"},
	}
	for _, l := range lakes {
		t.Run(l.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					lk := l.open(t)
					root := t.TempDir()
					inv := c.invocation(t, root)
					inv.flags = flags[c.name]
					id, recorded := recordCLI(t, lk, inv)
					if recorded.code != c.code {
						t.Fatalf("recording exit code %d, want %d\nstderr:\n%s", recorded.code, c.code, recorded.stderr)
					}
					if err := os.RemoveAll(root); err != nil {
						t.Fatal(err)
					}
					var replayFlags []string
					if c.name == "traced hello" {
						replayFlags = []string{"--trace"}
					}
					sameRun(t, replayCLI(t, lk, id, replayFlags...), recorded)
				})
			}
		})
	}
}

// TestReplaySleepsVirtually: a guest that slept replays from the record's
// poll_oneoff events (its trace shows them) rather than waiting; how long
// that takes is the benchmark's business, not a test's.
func TestReplaySleepsVirtually(t *testing.T) {
	l := newFileLake(t)
	id, recorded := recordCLI(t, l, invocation{module: guest.Path(t, "go/sleep"), args: []string{"300", "100"}})
	r := replayCLI(t, l, id, "--trace")
	if r.code != 0 || r.stdout != recorded.stdout {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "poll_oneoff("); n < 3 {
		t.Errorf("the trace shows %d poll_oneoff calls, want the recorded sleeps (>= 3):\n%s", n, clip(r.stderr))
	}
}

// buildVariant builds a Go guest from source in a module of its own.
func buildVariant(t *testing.T, source string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"go.mod": "module variant\n\ngo 1.26\n", "main.go": source})
	out := filepath.Join(dir, "variant.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build variant guest: %v\n%s", err, output)
	}
	return out
}

// divergenceLine asserts stderr ends with one divergence line holding want.
func divergenceLine(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != exitDivergence {
		t.Errorf("exit code %d, want %d (divergence)\nstderr:\n%s", r.code, exitDivergence, r.stderr)
	}
	t.Logf("replay stderr:\n%s", r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "run: replay diverged at record ") {
		t.Errorf("last stderr line %q is not a divergence report\nstderr:\n%s", last, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("divergence line %q does not say %q", last, w)
		}
	}
}

func TestReplayDivergence(t *testing.T) {
	t.Run("rebuilt module writes differently", func(t *testing.T) {
		t.Parallel()
		l := newFileLake(t)
		id, _ := recordCLI(t, l, invocation{module: guest.Path(t, "go/hello")})
		variant := buildVariant(t, "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hullo, world\")\n}\n")
		r := replayCLI(t, l, id, "--module", variant)
		divergenceLine(t, r, `recorded fd_write(fd=1, "hello, world\n") = 13`,
			`guest called fd_write(fd=1, "hullo, world\n")`, "bytes differ from offset 1")
		if r.stdout != "" {
			t.Errorf("the diverging write reached stdout: %q", r.stdout)
		}
		if !strings.HasPrefix(r.stderr, "run: --module "+variant+" has sha256 ") {
			t.Errorf("no note that --module differs from the recorded module:\n%s", r.stderr)
		}
		// The same module under --module replays as recorded, with no note.
		r = replayCLI(t, l, id, "--module", guest.Path(t, "go/hello"))
		if r.code != 0 || r.stdout != "hello, world\n" || r.stderr != "" {
			t.Errorf("replay with the recorded module as --module: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("tampered record", func(t *testing.T) {
		t.Parallel()
		l := newFileLake(t)
		id, _ := recordCLI(t, l, invocation{module: guest.Path(t, "go/args"), args: []string{"one"}})
		var index uint64
		rewriteRun(t, l.store, id, 0, func(rec *capture.Record) {
			if w, ok := rec.Call.(*capture.FDWrite); ok && w.FD == 1 && string(w.Data) == "arg[1]=\"one\"\n" {
				w.Data = []byte("arg[1]=\"ONE\"\n")
				index = rec.Seq
			}
		})
		if index == 0 {
			t.Fatal("the record has no fd_write of arg[1]")
		}
		r := replayCLI(t, l, id)
		divergenceLine(t, r, fmt.Sprintf("at record %d:", index), `recorded fd_write(fd=1, "arg[1]=\"ONE\"\n") = 13`,
			`guest called fd_write(fd=1, "arg[1]=\"one\"\n")`)
		if r.stdout != "argc=1\n" {
			t.Errorf("stdout %q, want what was written before the divergence", r.stdout)
		}
	})
	t.Run("tampered exit code", func(t *testing.T) {
		t.Parallel()
		l := newFileLake(t)
		id, _ := recordCLI(t, l, invocation{module: guest.Path(t, "go/exit"), args: []string{"3"}})
		rewriteRun(t, l.store, id, 0, func(rec *capture.Record) {
			if e, ok := rec.Call.(*capture.ProcExit); ok {
				e.Code = 4
			}
		})
		r := replayCLI(t, l, id)
		divergenceLine(t, r, "recorded proc_exit(code=4) = 0", "guest called proc_exit(code=3)")
	})
}

// segmentFrame is one frame of a run read back for rewriting.
type segmentFrame struct {
	payload  []byte
	records  int
	firstSeq uint64
}

// rewriteRun reads every segment of run id, applies edit to each record,
// and writes the run again: one segment, or, with split > 0, its first
// split frames in segment 0 and the rest in segment 1.
func rewriteRun(t *testing.T, store lake.Store, id string, split int, edit func(*capture.Record)) {
	t.Helper()
	ctx := context.Background()
	objs, err := store.List(ctx, lake.SegmentPrefix(id), "", 0)
	if err != nil || len(objs) == 0 {
		t.Fatalf("list segments of %s: %d, %v", id, len(objs), err)
	}
	var md *segment.Metadata
	var trailer *segment.Trailer
	var frames []segmentFrame
	for _, obj := range objs {
		body, err := store.Get(ctx, obj.Key)
		if err != nil {
			t.Fatal(err)
		}
		rd, err := segment.NewReader(body)
		if err != nil {
			t.Fatal(err)
		}
		if m := rd.Metadata(); m != nil {
			md = m
		}
		for {
			fr, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			dec := capture.NewDecoder(fr.Payload, fr.FirstSeq)
			var enc capture.Encoder
			var payload []byte
			var rec capture.Record
			for {
				err := dec.Next(&rec)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				edit(&rec)
				payload = enc.Append(payload, &rec)
				rec.Call = nil // the payload aliases nothing of rec; decode afresh
			}
			frames = append(frames, segmentFrame{payload: payload, records: int(fr.Records), firstSeq: fr.FirstSeq})
		}
		if tr := rd.Trailer(); tr != nil {
			trailer = tr
		}
		body.Close()
		if err := store.Delete(ctx, obj.Key); err != nil {
			t.Fatal(err)
		}
	}
	groups := [][]segmentFrame{frames}
	if split > 0 {
		if split >= len(frames) {
			t.Fatalf("cannot split %d frames after frame %d", len(frames), split)
		}
		groups = [][]segmentFrame{frames[:split], frames[split:]}
	}
	for n, group := range groups {
		var file bytes.Buffer
		var segMD *segment.Metadata
		if n == 0 {
			segMD = md
		}
		w, err := segment.NewWriter(&file, uuid.MustParse(id), uint32(n), segMD, segment.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range group {
			if _, err := w.WriteFrame(f.payload, f.records, f.firstSeq); err != nil {
				t.Fatal(err)
			}
		}
		last := n == len(groups)-1
		var tr *segment.Trailer
		if last && trailer != nil {
			tr = trailer
			tr.Segments = uint32(len(groups))
		}
		if err := w.Seal(segment.Seal{Last: last}, tr); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Put(ctx, lake.SegmentKey(id, n), bytes.NewReader(file.Bytes()), lake.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReplayIncomplete(t *testing.T) {
	// 200k writes make several 1 MiB frames of records.
	const writes = "200000"
	incomplete := func(t *testing.T, r result, recorded result, reason string) {
		t.Helper()
		t.Logf("replay stderr:\n%s", r.stderr)
		if r.code != exitIncomplete {
			t.Errorf("exit code %d, want %d (incomplete)\nstderr:\n%s", r.code, exitIncomplete, r.stderr)
		}
		if r.stdout == "" || len(r.stdout) >= len(recorded.stdout) || !strings.HasPrefix(recorded.stdout, r.stdout) {
			t.Errorf("replayed stdout (%d bytes) is not a strict, non-empty prefix of the recorded one (%d bytes)",
				len(r.stdout), len(recorded.stdout))
		}
		if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "run: run ") ||
			!strings.Contains(r.stderr, "is incomplete (") || !strings.Contains(r.stderr, reason) {
			t.Errorf("stderr is not one line saying the run is incomplete (%s): %q", reason, r.stderr)
		}
	}
	t.Run("torn last segment", func(t *testing.T) {
		t.Parallel()
		l := newFileLake(t)
		id, recorded := recordCLI(t, l, invocation{module: guest.Path(t, "go/write1m"), args: []string{writes}})
		key := lake.SegmentKey(id, 0)
		b := readObject(t, l.store, key)
		putBytes(t, l.store, key, b[:len(b)/2])
		incomplete(t, replayCLI(t, l, id), recorded, "segment 0: segment torn")
	})
	t.Run("missing last segment", func(t *testing.T) {
		t.Parallel()
		l := newFileLake(t)
		id, recorded := recordCLI(t, l, invocation{module: guest.Path(t, "go/write1m"), args: []string{writes}})
		rewriteRun(t, l.store, id, 2, func(*capture.Record) {})
		// Split in two segments, the run replays whole.
		sameRun(t, replayCLI(t, l, id), recorded)
		if err := l.store.Delete(context.Background(), lake.SegmentKey(id, 1)); err != nil {
			t.Fatal(err)
		}
		incomplete(t, replayCLI(t, l, id), recorded, "segment 1 is missing")
	})
}

func readObject(t *testing.T, store lake.Store, key string) []byte {
	t.Helper()
	body, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func putBytes(t *testing.T, store lake.Store, key string, b []byte) {
	t.Helper()
	if _, err := store.Put(context.Background(), key, bytes.NewReader(b), lake.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestReplayRefusals: bad run references and modules get one line and exit 2.
func TestReplayRefusals(t *testing.T) {
	l := newFileLake(t)
	hello := guest.Path(t, "go/hello")
	id1, _ := recordCLI(t, l, invocation{module: hello})
	id2, _ := recordCLI(t, l, invocation{module: guest.Path(t, "go/exit"), args: []string{"0"}})
	common := 0
	for common < len(id1) && id1[common] == id2[common] {
		common++
	}
	if common == 0 {
		t.Fatalf("run IDs %s and %s share no prefix", id1, id2)
	}

	t.Run("prefix", func(t *testing.T) {
		r := replayCLI(t, l, id1[:common+1])
		if r.code != 0 || r.stdout != "hello, world\n" || r.stderr != "" {
			t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("ambiguous prefix", func(t *testing.T) {
		r := replayCLI(t, l, id1[:common])
		if r.code != exitUsage {
			t.Errorf("exit %d, want %d", r.code, exitUsage)
		}
		oneLineError(t, r, "ambiguous", id1, id2)
	})
	t.Run("unknown run", func(t *testing.T) {
		r := replayCLI(t, l, "ffffffff")
		if r.code != exitUsage {
			t.Errorf("exit %d, want %d", r.code, exitUsage)
		}
		oneLineError(t, r, `"ffffffff"`, "no such run")
	})
	t.Run("arguments after --replay", func(t *testing.T) {
		r := cli(t, nil, nil, append(slices.Clone(l.flags), "--replay", id1, hello)...)
		if r.code != exitUsage {
			t.Errorf("exit %d, want %d", r.code, exitUsage)
		}
		oneLineError(t, r, "--replay")
	})
	t.Run("module not in the lake", func(t *testing.T) {
		l := newFileLake(t)
		id, _ := recordCLI(t, l, invocation{module: hello})
		objs, err := l.store.List(context.Background(), "modules/", "", 0)
		if err != nil || len(objs) != 1 {
			t.Fatalf("modules in the lake: %v, %v", objs, err)
		}
		if err := l.store.Delete(context.Background(), objs[0].Key); err != nil {
			t.Fatal(err)
		}
		r := replayCLI(t, l, id)
		if r.code != exitUsage || r.stdout != "" {
			t.Errorf("exit %d stdout %q, want %d and nothing", r.code, r.stdout, exitUsage)
		}
		oneLineError(t, r, "not in the lake", "--module")
		r = replayCLI(t, l, id, "--module", hello)
		if r.code != 0 || r.stdout != "hello, world\n" {
			t.Errorf("with --module: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("module in the lake does not match its digest", func(t *testing.T) {
		l := newFileLake(t)
		id, _ := recordCLI(t, l, invocation{module: hello})
		objs, err := l.store.List(context.Background(), "modules/", "", 0)
		if err != nil || len(objs) != 1 {
			t.Fatalf("modules in the lake: %v, %v", objs, err)
		}
		putBytes(t, l.store, objs[0].Key, readFileBytes(t, guest.Path(t, "go/exit")))
		r := replayCLI(t, l, id)
		if r.code != exitUsage || r.stdout != "" {
			t.Errorf("exit %d stdout %q, want %d and nothing", r.code, r.stdout, exitUsage)
		}
		oneLineError(t, r, "sha256", "--module")
	})
}

func readFileBytes(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReplayInterruptedRecordings: a runner interrupted (SIGINT: it flushes
// what it recorded to the spool) or killed outright (SIGKILL: the spool keeps
// a torn segment) leaves a run with no trailer; `run sync` ships it, and it
// replays to the end of its record, then says it is incomplete.
func TestReplayInterruptedRecordings(t *testing.T) {
	tests := []struct {
		name  string
		sig   os.Signal
		guest string
		args  []string
		want  int // stdout bytes to read before signalling
	}{
		// The guest sleeps in poll_oneoff when signalled.
		{name: "SIGINT", sig: os.Interrupt, guest: "go/sleep", args: []string{"600000", "10"}, want: len("sleeping\n")},
		// The guest blocks writing to the full pipe when killed.
		{name: "SIGKILL", sig: os.Kill, guest: "go/write1m", args: []string{"100000000"}, want: 4 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := newFileLake(t)
			spool := t.TempDir()
			argv := append(slices.Clone(l.flags), "--spool", spool, guest.Path(t, tt.guest))
			cmd := exec.Command(runBinary(t), append(argv, tt.args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			idLine := make([]byte, 37)
			if _, err := io.ReadFull(stderr, idLine); err != nil || !runIDLine.Match(idLine) {
				t.Fatalf("no run ID on stderr: %q, %v", idLine, err)
			}
			id := strings.TrimSpace(string(idLine))
			seen := make([]byte, tt.want)
			if _, err := io.ReadFull(stdout, seen); err != nil {
				t.Fatalf("read the guest's first %d bytes: %v", tt.want, err)
			}
			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			go io.Copy(io.Discard, stdout)
			go io.Copy(io.Discard, stderr)
			cmd.Wait()
			if r := cli(t, nil, nil, append(slices.Clone(l.flags), "sync", "--spool", spool)...); r.code != 0 {
				t.Fatalf("run sync: exit %d\n%s%s", r.code, r.stdout, r.stderr)
			}

			r := replayCLI(t, l, id)
			t.Logf("replayed %d bytes of stdout; %s", len(r.stdout), r.stderr)
			if r.code != exitIncomplete {
				t.Errorf("exit %d, want %d\nstderr: %s", r.code, exitIncomplete, r.stderr)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "run "+id+" is incomplete (") {
				t.Errorf("stderr is not one line saying the run is incomplete: %q", r.stderr)
			}
			switch tt.guest {
			case "go/sleep":
				// Everything before the interrupt was flushed.
				if r.stdout != string(seen) {
					t.Errorf("stdout %q, want %q", r.stdout, seen)
				}
			case "go/write1m":
				// What the killed runner had written out: whole lines.
				if len(r.stdout)%len(line17) != 0 || strings.ReplaceAll(r.stdout, line17, "") != "" {
					t.Errorf("replayed stdout (%d bytes) is not whole lines of the guest's", len(r.stdout))
				}
			}
		})
	}
}

const line17 = "0123456789abcdef\n"

// TestReplayNetwork: runs that talked to servers replay with the servers
// gone: every socket call is answered from the record.
func TestReplayNetwork(t *testing.T) {
	type netCase struct {
		name  string
		guest string
		args  []string
		flags []string
		code  int
		after func() // run after the recording: shut the servers down
	}
	srv := helloServer(t)
	allowed := "127.0.0.1:" + hostPort(t, srv.URL)
	echo := echoServer(t)
	udp := udpServer(t)
	cases := []netCase{
		{name: "http get", guest: "go/net_get", args: []string{srv.URL + "/", srv.URL + "/two"},
			flags: []string{"--allow-connect", allowed}, after: srv.Close},
		{name: "denied", guest: "go/net_get", args: []string{"http://10.1.2.3:8080/"}, code: 1},
		{name: "tcp echo 1 MiB", guest: "go/net_echo", args: []string{"dial", echo, strconv.Itoa(1 << 20)},
			flags: []string{"--allow-connect", echo}},
		{name: "udp", guest: "go/net_udp", args: []string{udp},
			flags: []string{"--allow-connect", udp, "--allow-listen", "127.0.0.1:0"}},
		{name: "nettest", guest: "go/net_nettest", args: []string{"-test.v"},
			flags: []string{"--allow-listen", "127.0.0.1:0", "--allow-connect", "127.0.0.1/32"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newFileLake(t)
			id, recorded := recordCLI(t, l, invocation{module: guest.Path(t, c.guest), args: c.args, flags: c.flags})
			if recorded.code != c.code {
				t.Fatalf("recording exit %d, want %d\nstdout:\n%s\nstderr:\n%s", recorded.code, c.code, clip(recorded.stdout), recorded.stderr)
			}
			if c.after != nil {
				c.after()
			}
			sameRun(t, replayCLI(t, l, id), recorded)
		})
	}
}
