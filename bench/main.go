// Command bench measures timelake side by side with its baselines, in one
// run, and prints medians and ratios as Markdown tables (make bench).
//
// Every measurement is a whole process (bin/run or the baseline harness)
// timed from fork to exit; the variants of a workload are interleaved so
// that noise on the shared machine hits them alike.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/timelake/timelake/internal/guest"
)

// workload is one guest invocation.
type workload struct {
	name  string
	guest string   // e.g. "go/write1m"
	args  []string // guest args; "$DIR" is replaced by the guest mount path
	mount bool     // mount the scratch dir at /data
}

// variant is one way of running a workload.
type variant struct {
	name string
	cmd  func(b *bench, w workload) []string
}

type sample struct {
	wall time.Duration
	rss  int64 // KiB
}

type bench struct {
	root    string // repo root
	guests  string // built guests
	scratch string // mounted data dir
	cache   string // compilation cache
	runs    int
}

func main() {
	runs := flag.Int("n", 5, "runs per variant (the median is reported)")
	only := flag.String("only", "", "comma-separated sections to run (runtime)")
	flag.Parse()
	b := &bench{root: ".", runs: *runs}
	var err error
	if b.scratch, err = os.MkdirTemp("", "timelake-bench-"); err != nil {
		fatal(err)
	}
	defer os.RemoveAll(b.scratch)
	b.cache = filepath.Join(b.scratch, "cache")
	b.guests = filepath.Join(b.scratch, "guests")
	must(guest.BuildAll(b.guests))
	must(run("go", "build", "-o", filepath.Join(b.scratch, "wazerorun"), "./bench/wazerorun"))
	must(makeFile(filepath.Join(b.scratch, "data", "input.bin"), 64<<20))
	debug.FreeOSMemory()

	sections := map[string]func(){
		"runtime": b.runtimeSection,
		"capture": b.captureSection,
		"replay":  b.replaySection,
		"net":     b.netSection,
	}
	for _, name := range []string{"runtime", "capture", "replay", "net"} {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), name) {
			continue
		}
		sections[name]()
	}
}

// runtimeSection: timelake run (no capture) vs wazero's built-in WASI.
func (b *bench) runtimeSection() {
	fmt.Printf("## run vs wazero's built-in WASI (median of %d, wall time)\n\n", b.runs)
	baseline := variant{"wazero wasi", func(b *bench, w workload) []string {
		argv := []string{filepath.Join(b.scratch, "wazerorun"), "--cache-dir", b.cache}
		if w.mount {
			argv = append(argv, "--dir", filepath.Join(b.scratch, "data")+":/data")
		}
		return append(append(argv, b.wasm(w)), w.args...)
	}}
	timelake := variant{"timelake run", func(b *bench, w workload) []string {
		argv := []string{"bin/run", "--cache-dir", b.cache}
		argv = append(argv, runFlags()...)
		if w.mount {
			argv = append(argv, "--dir", filepath.Join(b.scratch, "data")+":/data")
		}
		return append(append(argv, b.wasm(w)), w.args...)
	}}
	b.compare(baseline, timelake, standardWorkloads())
}

func standardWorkloads() []workload {
	return []workload{
		{name: "1M x 17-byte writes", guest: "go/write1m"},
		{name: "64 MiB in 4 KiB reads", guest: "go/read64m", args: []string{"/data/input.bin"}, mount: true},
		{name: "sha256 of 256 MiB", guest: "go/sha256"},
		{name: "hello (warm cache)", guest: "go/hello"},
	}
}

// runFlags are the flags of bin/run in the runtime comparison: no capture,
// as wazero's WASI records nothing.
func runFlags() []string { return []string{"--no-capture"} }

func (b *bench) wasm(w workload) string {
	return filepath.Join(b.guests, w.guest+".wasm")
}

// compare runs every workload under both variants, interleaved, and prints
// one table row per workload.
func (b *bench) compare(base, cand variant, ws []workload) {
	fmt.Printf("| workload | %s | %s | ratio | rss %s | rss %s |\n|---|---|---|---|---|---|\n",
		base.name, cand.name, base.name, cand.name)
	for _, w := range ws {
		// One warm-up of each fills the compilation cache and the page cache.
		b.measure(base.cmd(b, w))
		b.measure(cand.cmd(b, w))
		var bs, cs []sample
		for i := 0; i < b.runs; i++ {
			bs = append(bs, b.measure(base.cmd(b, w)))
			cs = append(cs, b.measure(cand.cmd(b, w)))
		}
		bm, cm := median(bs), median(cs)
		fmt.Printf("| %s | %s | %s | %.3fx | %d MiB | %d MiB |\n", w.name, fmtDur(bm.wall), fmtDur(cm.wall),
			float64(cm.wall)/float64(bm.wall), bm.rss>>10, cm.rss>>10)
	}
	fmt.Println()
}

func (b *bench) measure(argv []string) sample {
	cmd := exec.Command(argv[0], argv[1:]...)
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	must(err)
	defer devnull.Close()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = devnull, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fatal(fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String()))
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return sample{wall: wall, rss: ru.Maxrss}
}

func median(s []sample) sample {
	walls := make([]time.Duration, len(s))
	rss := make([]int64, len(s))
	for i := range s {
		walls[i], rss[i] = s[i].wall, s[i].rss
	}
	slices.Sort(walls)
	slices.Sort(rss)
	return sample{wall: walls[len(walls)/2], rss: rss[len(rss)/2]}
}

func fmtDur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.3f s", d.Seconds())
}

// makeFile writes size bytes of a fixed pattern in small chunks, so the
// harness itself stays small: a child's peak RSS (ru_maxrss) starts from
// its parent's resident size at fork.
func makeFile(path string, size int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	chunk := make([]byte, 1<<20)
	for off := 0; off < size; off += len(chunk) {
		for i := range chunk {
			chunk[i] = byte((off + i) * 7)
		}
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func must(err error) {
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
