package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// netLoad is one load the generator puts on the guest HTTP server.
type netLoad struct {
	name     string
	method   string
	path     string
	bodySize int // bytes of fresh noise sent with each request (and echoed)
}

// netVariant is one way of running the server: natively, or a guest under
// bin/run with capture off or on.
type netVariant struct {
	name  string
	argv  func(b *bench, lakeDir string) []string
	lake  bool // records into a fresh lake, measured afterwards
	guest bool
}

const (
	netRequests = 4000             // requests per measurement, after the warm-up
	netWarmup   = 300              // requests before the clock starts
	netWorkers  = 8                // concurrent keep-alive clients
	netMaxTime  = 30 * time.Second // a measurement stops here whatever its count
)

// netSection: requests per second of the HTTP server guest (testdata/go/
// net_server) under a local load generator, natively vs under run with
// capture off and on, plus the recorded bytes per request.
func (b *bench) netSection() {
	native := filepath.Join(b.scratch, "net_server_native")
	must(run("go", "build", "-o", native, "./testdata/go/net_server"))
	wasm := filepath.Join(b.guests, "go", "net_server.wasm")
	variants := []netVariant{
		{name: "native", argv: func(b *bench, _ string) []string {
			return []string{native, "-listen", "127.0.0.1:0"}
		}},
		{name: "run --no-capture", guest: true, argv: func(b *bench, _ string) []string {
			return []string{"bin/run", "--cache-dir", b.cache, "--listen", "127.0.0.1:0", "--no-capture", wasm}
		}},
		{name: "run (capture)", guest: true, lake: true, argv: func(b *bench, lakeDir string) []string {
			return []string{"bin/run", "--cache-dir", b.cache, "--listen", "127.0.0.1:0",
				"--lake", "file://" + lakeDir, "--spool", filepath.Join(b.scratch, "net-spool"), wasm}
		}},
	}
	loads := []netLoad{
		{name: "GET / (22-byte body)", method: "GET", path: "/"},
		{name: "POST /echo 16 KiB of noise", method: "POST", path: "/echo", bodySize: 16 << 10},
	}

	fmt.Printf("## HTTP server guest under load (median of %d, %d requests after %d warm-up, %d keep-alive clients)\n\n",
		b.runs, netRequests, netWarmup, netWorkers)
	fmt.Printf("| load | native req/s | run --no-capture req/s | run (capture) req/s | capture / no-capture | capture / native | recorded bytes/request | records/request |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|\n")
	for _, load := range loads {
		rates := make([][]float64, len(variants))
		var bytesPerReq, recordsPerReq float64
		// Interleave the variants so that noise hits them alike.
		for i := 0; i < b.runs; i++ {
			for v, variant := range variants {
				lakeDir := filepath.Join(b.scratch, "net-lake")
				os.RemoveAll(lakeDir)
				rate, served := b.serveLoad(variant, lakeDir, load)
				rates[v] = append(rates[v], rate)
				if variant.lake {
					records, stored, _ := lakeFigures(lakeDir)
					bytesPerReq = float64(stored) / float64(served)
					recordsPerReq = float64(records) / float64(served)
				}
			}
		}
		nat, off, on := medianOf(rates[0]), medianOf(rates[1]), medianOf(rates[2])
		fmt.Printf("| %s | %.0f | %.0f | %.0f | %.3fx | %.3fx | %.0f | %.1f |\n",
			load.name, nat, off, on, on/off, on/nat, bytesPerReq, recordsPerReq)
	}
	fmt.Println()
}

// serveLoad starts the server, waits for its "listening on ADDR" line,
// drives load against it, stops it with /quit and returns the measured
// requests per second and the number of requests it served in all.
func (b *bench) serveLoad(v netVariant, lakeDir string, load netLoad) (float64, int) {
	argv := v.argv(b, lakeDir)
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	must(err)
	must(cmd.Start())
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		cmd.Wait()
		fatal(fmt.Errorf("%s: no listening line: %s", strings.Join(argv, " "), stderr.String()))
	}
	addr, ok := strings.CutPrefix(lines.Text(), "listening on ")
	if !ok {
		fatal(fmt.Errorf("%s: first line %q", strings.Join(argv, " "), lines.Text()))
	}
	base := "http://" + addr
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: netWorkers, DisableCompression: true}}

	drive(client, base, load, netWarmup, netMaxTime)
	start := time.Now()
	n := drive(client, base, load, netRequests, netMaxTime)
	rate := float64(n) / time.Since(start).Seconds()

	res, err := client.Get(base + "/quit")
	must(err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	client.CloseIdleConnections()
	for lines.Scan() {
	}
	if err := cmd.Wait(); err != nil {
		fatal(fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String()))
	}
	return rate, netWarmup + n + 1
}

// drive sends up to count requests from netWorkers clients at once, for at
// most maxTime, and returns how many completed.
func drive(client *http.Client, base string, load netLoad, count int, maxTime time.Duration) int {
	var next, done atomic.Int64
	deadline := time.Now().Add(maxTime)
	var wg sync.WaitGroup
	for w := range netWorkers {
		wg.Go(func() {
			// A body of its own for each request: the same bytes every time
			// would let the recording's compression hide what they cost.
			rng := rand.New(rand.NewPCG(uint64(w), uint64(count)))
			body := make([]byte, load.bodySize)
			for next.Add(1) <= int64(count) && time.Now().Before(deadline) {
				for i := range body {
					body[i] = byte(rng.Uint32())
				}
				req, err := http.NewRequest(load.method, base+load.path, bytes.NewReader(body))
				must(err)
				res, err := client.Do(req)
				must(err)
				n, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				must(err)
				if res.StatusCode != 200 || (load.bodySize > 0 && n != int64(load.bodySize)) {
					fatal(fmt.Errorf("%s %s: status %d, %d bytes", load.method, load.path, res.StatusCode, n))
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return int(done.Load())
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
