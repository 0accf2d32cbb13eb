package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// replaySection: `run --replay` of a recorded run vs recording it, for the
// standard workloads and a guest that sleeps 2 s in total (virtual time:
// the replay does not wait).
func (b *bench) replaySection() {
	fmt.Printf("## replay vs record (median of %d, wall time)\n\n", b.runs)
	lakeURL := "file://" + filepath.Join(b.scratch, "replay-lake")
	spoolDir := filepath.Join(b.scratch, "replay-spool")
	ids := map[string]string{} // workload name → the run replayed
	rec := variant{"record", func(b *bench, w workload) []string {
		return b.runArgv(w, "--lake", lakeURL, "--spool", spoolDir)
	}}
	rep := variant{"replay", func(b *bench, w workload) []string {
		return []string{"bin/run", "--cache-dir", b.cache, "--lake", lakeURL, "--replay", ids[w.name]}
	}}
	ws := append(standardWorkloads(),
		workload{name: "sleep 2 s (200 x 10 ms)", guest: "go/sleep", args: []string{"2000"}})
	for _, w := range ws {
		ids[w.name] = recordRunID(rec.cmd(b, w))
	}
	b.compare(rec, rep, ws)
}

// recordRunID runs a recording and returns the run ID it prints first on
// stderr.
func recordRunID(argv []string) string {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	must(err)
	defer devnull.Close()
	cmd.Stdout = devnull
	if err := cmd.Run(); err != nil {
		fatal(fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String()))
	}
	id, _, _ := strings.Cut(stderr.String(), "\n")
	if len(id) != 36 {
		fatal(fmt.Errorf("%s: no run ID on the first stderr line: %q", strings.Join(argv, " "), stderr.String()))
	}
	return id
}
