package main

// End-to-end network tests: the guests of testdata/go/net_* run through the
// run binary against servers of this test on loopback only. Asserted are
// the bytes that crossed (bodies, echoes, datagrams), exit codes, and the
// errno a guest sees when the network policy refuses it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/timelake/timelake/internal/guest"
)

// netGuests are the guests this file runs (TestEveryGuestIsRun counts them).
var netGuests = []string{
	"go/net_get", "go/net_server", "go/net_echo", "go/net_udp",
	"go/net_nettest", "go/net_concurrent", "go/net_https",
}

// helloServer is an HTTP server on loopback answering every GET with a
// fixed body, and /echo with the request body.
func helloServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(serveHello))
	t.Cleanup(srv.Close)
	return srv
}

const helloBody = "hello from the host's loopback\n"

func serveHello(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/echo":
		io.Copy(w, r.Body)
	case "/two":
		io.WriteString(w, "second body\n")
	default:
		io.WriteString(w, helloBody)
	}
}

// hostPort is the port of a server URL or address.
func hostPort(t *testing.T, addr string) string {
	t.Helper()
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := hostPort(t, l.Addr().String())
	l.Close()
	return port
}

func TestNetGet(t *testing.T) {
	srv := helloServer(t)
	port := hostPort(t, srv.URL)
	allowed := "127.0.0.1:" + port
	dead := closedPort(t)
	denied := func(url string) string { return "net_get: " + url + ": EACCES\n" }
	cases := []struct {
		name   string
		flags  []string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "one URL", flags: []string{"--allow-connect", allowed},
			args: []string{srv.URL + "/"}, stdout: helloBody},
		{name: "two URLs", flags: []string{"--allow-connect", allowed},
			args: []string{srv.URL + "/", srv.URL + "/two"}, stdout: helloBody + "second body\n"},
		{name: "allowed by CIDR", flags: []string{"--allow-connect", "127.0.0.0/8"},
			args: []string{srv.URL + "/"}, stdout: helloBody},
		{name: "allowed by any port of the IP", flags: []string{"--allow-connect", "127.0.0.1"},
			args: []string{srv.URL + "/"}, stdout: helloBody},
		{name: "name resolved by the host", flags: []string{"--allow-connect", allowed},
			args: []string{"http://localhost:" + port + "/"}, stdout: helloBody},
		{name: "no policy", args: []string{srv.URL + "/"},
			code: 1, stderr: denied(srv.URL + "/")},
		{name: "another port allowed", flags: []string{"--allow-connect", "127.0.0.1:" + dead},
			args: []string{srv.URL + "/"}, code: 1, stderr: denied(srv.URL + "/")},
		{name: "star covers no loopback", flags: []string{"--allow-connect", "*"},
			args: []string{srv.URL + "/"}, code: 1, stderr: denied(srv.URL + "/")},
		{name: "public CIDR covers no loopback", flags: []string{"--allow-connect", "0.0.0.0/0"},
			args: []string{srv.URL + "/"}, code: 1, stderr: denied(srv.URL + "/")},
		{name: "name resolving to loopback", flags: []string{"--allow-connect", "*"},
			args: []string{"http://localhost:" + port + "/"}, code: 1, stderr: denied("http://localhost:" + port + "/")},
		{name: "metadata endpoint", flags: []string{"--allow-connect", "*"},
			args: []string{"http://169.254.169.254/latest/meta-data/"}, code: 1,
			stderr: denied("http://169.254.169.254/latest/meta-data/")},
		{name: "metadata endpoint under link-local CIDR", flags: []string{"--allow-connect", "169.254.0.0/16"},
			args: []string{"http://169.254.169.254/"}, code: 1, stderr: denied("http://169.254.169.254/")},
		{name: "private range", flags: []string{"--allow-connect", "*"},
			args: []string{"http://10.1.2.3:8080/"}, code: 1, stderr: denied("http://10.1.2.3:8080/")},
		{name: "connection refused", flags: []string{"--allow-connect", "127.0.0.1:" + dead},
			args: []string{"http://127.0.0.1:" + dead + "/"}, code: 1,
			stderr: "net_get: http://127.0.0.1:" + dead + "/: ECONNREFUSED\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, invocation{module: guest.Path(t, "go/net_get"), args: c.args, flags: c.flags})
			if r.runID == "" {
				t.Errorf("the run was not announced as recorded; stderr %q", r.stderr)
			}
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
					r.code, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
			}
		})
	}
}

func TestNetConcurrent(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, "i="+r.URL.Query().Get("i"))
	}))
	defer srv.Close()
	r := runCLI(t, invocation{
		module: guest.Path(t, "go/net_concurrent"),
		args:   []string{"100", srv.URL + "/"},
		flags:  []string{"--allow-connect", "127.0.0.1:" + hostPort(t, srv.URL)},
	})
	if r.code != 0 || r.stdout != "100 requests, 100 ok\n" {
		t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if n := requests.Load(); n != 100 {
		t.Errorf("the server saw %d requests, want 100", n)
	}
}

// tlsServer is an HTTPS server on loopback and a PEM file of its
// self-signed certificate for --ca-file.
func tlsServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(serveHello))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

func TestNetHTTPS(t *testing.T) {
	srv, caFile := tlsServer(t)
	allow := []string{"--allow-connect", "127.0.0.1:" + hostPort(t, srv.URL)}
	withCA := append([]string{"--ca-file", caFile}, allow...)
	const postBody = "sealed by the host, clear to the guest"
	cases := []struct {
		name   string
		guest  string
		arg    string
		flags  []string
		code   int
		stdout string
		stderr string
	}{
		{name: "client of its own", guest: "go/net_https", arg: srv.URL, flags: withCA,
			stdout: "GET 200 OK: " + helloBody + "\nPOST 200 OK: " + postBody + "\n"},
		{name: "default transport", guest: "go/net_get", arg: srv.URL + "/", flags: withCA, stdout: helloBody},
		{name: "unknown certificate authority", guest: "go/net_https", arg: srv.URL, flags: allow,
			code: 1, stderr: "net_https: ECONNABORTED\n"},
		{name: "wrong server name", guest: "go/net_get", arg: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/",
			flags: withCA, code: 1, stderr: "net_get: " + strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/: ECONNABORTED\n"},
		{name: "no policy", guest: "go/net_https", arg: srv.URL, flags: []string{"--ca-file", caFile},
			code: 1, stderr: "net_https: EACCES\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, invocation{module: guest.Path(t, c.guest), args: []string{c.arg}, flags: c.flags})
			if r.code != c.code || r.stdout != c.stdout || r.stderr != c.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q",
					r.code, r.stdout, r.stderr, c.code, c.stdout, c.stderr)
			}
		})
	}
}

// liveRun is a run of the CLI in the background whose stdout is read line
// by line while it runs: a server guest.
type liveRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer
	done   chan struct{}
}

// lineWait bounds how long a test waits for a line of a live run: a safety
// net against a hung guest, never a synchronisation.
const lineWait = 2 * time.Minute

// startRun starts the CLI with args; it is killed when the test ends.
func startRun(t *testing.T, args ...string) *liveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, runBinary(t), args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"TIMELAKE_LAKE=file://" + filepath.Join(cliDir, "lake"),
		"TIMELAKE_SPOOL=" + filepath.Join(cliDir, "spool"),
		"XDG_DATA_HOME=" + filepath.Join(cliDir, "data"),
	}
	lr := &liveRun{t: t, cmd: cmd, lines: make(chan string, 64), done: make(chan struct{})}
	cmd.Stderr = &lr.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lr.lines <- sc.Text()
		}
		close(lr.lines)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-lr.done:
		default:
			cmd.Wait()
		}
	})
	return lr
}

// line returns the next line of stdout.
func (lr *liveRun) line() string {
	lr.t.Helper()
	select {
	case l, ok := <-lr.lines:
		if !ok {
			lr.t.Fatalf("the run ended before printing a line; stderr:\n%s", lr.stderr.String())
		}
		return l
	case <-time.After(lineWait):
		lr.t.Fatalf("no line from the run in %v; stderr:\n%s", lineWait, lr.stderr.String())
	}
	return ""
}

var listeningLine = regexp.MustCompile(`^listening on (127\.0\.0\.1:[0-9]+)$`)

// listening reads the guest's "listening on ADDR" line.
func (lr *liveRun) listening() string {
	lr.t.Helper()
	l := lr.line()
	m := listeningLine.FindStringSubmatch(l)
	if m == nil || m[1] == "127.0.0.1:0" {
		lr.t.Fatalf("first line %q, want listening on 127.0.0.1:PORT; stderr:\n%s", l, lr.stderr.String())
	}
	return m[1]
}

// wait waits for the run to end and returns its exit code and the rest
// of its stdout.
func (lr *liveRun) wait() (int, string) {
	lr.t.Helper()
	var rest strings.Builder
	for l := range lr.lines {
		rest.WriteString(l + "\n")
	}
	err := lr.cmd.Wait()
	close(lr.done)
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), rest.String()
		}
		lr.t.Fatal(err)
	}
	return 0, rest.String()
}

func httpDo(t *testing.T, method, url string, body []byte) string {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("%s %s: status %d, %v", method, url, res.StatusCode, err)
	}
	return string(got)
}

// echoPayload is n deterministic bytes.
func echoPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + i>>9)
	}
	return b
}

func TestNetServer(t *testing.T) {
	cases := []struct {
		name  string
		flags []string
		args  []string
	}{
		{name: "listener opened by run --listen", flags: []string{"--listen", "127.0.0.1:0"}},
		{name: "sock_listen under --allow-listen", flags: []string{"--allow-listen", "127.0.0.1:0"},
			args: []string{"-listen", "127.0.0.1:0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := append(append(c.flags, "--", guest.Path(t, "go/net_server")), c.args...)
			lr := startRun(t, args...)
			base := "http://" + lr.listening()
			if got := httpDo(t, "GET", base+"/", nil); got != "hello from net_server\n" {
				t.Errorf("GET /: %q", got)
			}
			body := echoPayload(256 << 10)
			if got := httpDo(t, "POST", base+"/echo", body); got != string(body) {
				t.Errorf("POST /echo: %d bytes back, want the %d sent", len(got), len(body))
			}
			// Ten clients at once, each on its own connection.
			var wg sync.WaitGroup
			for i := range 10 {
				wg.Go(func() {
					client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
					msg := fmt.Sprintf("client %d", i)
					res, err := client.Post(base+"/echo", "text/plain", strings.NewReader(msg))
					if err != nil {
						t.Errorf("client %d: %v", i, err)
						return
					}
					got, _ := io.ReadAll(res.Body)
					res.Body.Close()
					if string(got) != msg {
						t.Errorf("client %d got %q", i, got)
					}
				})
			}
			wg.Wait()
			if got := httpDo(t, "GET", base+"/quit", nil); got != "bye\n" {
				t.Errorf("GET /quit: %q", got)
			}
			code, rest := lr.wait()
			if code != 0 || rest != "served 13 requests\n" {
				t.Errorf("exit %d, rest of stdout %q; stderr:\n%s", code, rest, lr.stderr.String())
			}
		})
	}
}

func TestNetServerDenied(t *testing.T) {
	port := closedPort(t)
	n, _ := strconv.Atoi(port)
	other := strconv.Itoa(1024 + (n-1024+1)%(65536-1024))
	cases := []struct {
		name  string
		flags []string
	}{
		{name: "no policy"},
		{name: "another port", flags: []string{"--allow-listen", "127.0.0.1:" + other}},
		{name: "another address", flags: []string{"--allow-listen", "127.0.0.2:0"}},
		{name: "connect rules do not allow listening", flags: []string{"--allow-connect", "127.0.0.0/8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, invocation{module: guest.Path(t, "go/net_server"),
				args: []string{"-listen", "127.0.0.1:" + port}, flags: c.flags})
			if r.code != 1 || r.stdout != "" || r.stderr != "net_server: listen: EACCES\n" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and EACCES", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// echoServer is a TCP server on loopback echoing every connection until
// the peer half-closes.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return l.Addr().String()
}

func TestNetEchoDial(t *testing.T) {
	addr := echoServer(t)
	const size = 1 << 20
	r := runCLI(t, invocation{module: guest.Path(t, "go/net_echo"),
		args: []string{"dial", addr, strconv.Itoa(size)}, flags: []string{"--allow-connect", addr}})
	lines := strings.Split(r.stdout, "\n")
	want := []string{
		"local tcp remote " + addr,
		fmt.Sprintf("sent %d bytes", size),
		fmt.Sprintf("echoed %d bytes, same: true", size),
		"read deadline: timeout",
		"",
	}
	if r.code != 0 || strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("exit %d, stdout:\n%s\nwant:\n%s\nstderr:\n%s", r.code, r.stdout, strings.Join(want, "\n"), r.stderr)
	}
}

func TestNetEchoServe(t *testing.T) {
	lr := startRun(t, "--allow-listen", "127.0.0.1:0", "--", guest.Path(t, "go/net_echo"), "serve", "127.0.0.1:0", "2")
	addr := lr.listening()
	for i, size := range []int{0, 3 << 20} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		sent := echoPayload(size)
		go func() {
			c.Write(sent)
			c.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.Equal(got, sent) {
			t.Fatalf("connection %d: %d bytes back (%v), want the %d sent", i, len(got), err, size)
		}
		if l := lr.line(); l != fmt.Sprintf("echoed %d bytes", size) {
			t.Errorf("connection %d: guest said %q", i, l)
		}
	}
	if code, rest := lr.wait(); code != 0 || rest != "" {
		t.Errorf("exit %d, rest of stdout %q; stderr:\n%s", code, rest, lr.stderr.String())
	}
}

// udpServer answers each datagram with its payload upper-cased.
func udpServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(bytes.ToUpper(buf[:n]), from)
		}
	}()
	return pc.LocalAddr().String()
}

func TestNetUDP(t *testing.T) {
	addr := udpServer(t)
	cases := []struct {
		name   string
		flags  []string
		code   int
		stdout string
	}{
		{name: "allowed", flags: []string{"--allow-connect", addr, "--allow-listen", "127.0.0.1:0"},
			stdout: "connected reply: PING 1\nconnected reply: PING 2\nconnected reply: PING 3\n" +
				"unconnected reply: HELLO, DATAGRAM (from the server: true)\nread deadline: timeout\n"},
		{name: "no policy", code: 1, stdout: "net_udp: dial: EACCES\n"},
		{name: "bind denied", flags: []string{"--allow-connect", addr}, code: 1,
			stdout: "connected reply: PING 1\nconnected reply: PING 2\nconnected reply: PING 3\nnet_udp: listen: EACCES\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, invocation{module: guest.Path(t, "go/net_udp"), args: []string{addr}, flags: c.flags})
			if r.code != c.code || r.stdout != c.stdout {
				t.Errorf("exit %d, stdout:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, c.code, c.stdout, r.stderr)
			}
		})
	}
}

func TestNetNettest(t *testing.T) {
	r := runCLI(t, invocation{
		module: guest.Path(t, "go/net_nettest"),
		args:   []string{"-test.v"},
		flags:  []string{"--allow-listen", "127.0.0.1:0", "--allow-connect", "127.0.0.1/32"},
	})
	if r.code != 0 || !strings.HasSuffix(r.stdout, "\nPASS\n") {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, sub := range []string{"BasicIO", "PingPong", "RacyRead", "RacyWrite", "ReadTimeout",
		"WriteTimeout", "PastTimeout", "PresentTimeout", "FutureTimeout", "CloseTimeout", "ConcurrentMethods"} {
		if !strings.Contains(r.stdout, "--- PASS: TestConn/"+sub+" ") {
			t.Errorf("TestConn/%s did not pass:\n%s", sub, r.stdout)
		}
	}
}

// TestNetReplay records network guests against live servers, stops the
// servers, and replays: the recorded socket calls answer the guest, so
// the output is the same with no network at all.
func TestNetReplay(t *testing.T) {
	cases := []struct {
		name  string
		guest string
		// start starts the servers and returns the guest's args, the run's
		// flags and a function stopping the servers.
		start func(t *testing.T) (args, flags []string, stop func())
	}{
		{name: "get", guest: "go/net_get", start: func(t *testing.T) ([]string, []string, func()) {
			srv := httptest.NewServer(http.HandlerFunc(serveHello))
			return []string{srv.URL + "/", srv.URL + "/two"}, []string{"--allow-connect", "127.0.0.1:" + hostPort(t, srv.URL)}, srv.Close
		}},
		{name: "https", guest: "go/net_https", start: func(t *testing.T) ([]string, []string, func()) {
			srv := httptest.NewTLSServer(http.HandlerFunc(serveHello))
			caFile := filepath.Join(t.TempDir(), "ca.pem")
			os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
			return []string{srv.URL}, []string{"--ca-file", caFile, "--allow-connect", "127.0.0.1:" + hostPort(t, srv.URL)}, srv.Close
		}},
		{name: "concurrent", guest: "go/net_concurrent", start: func(t *testing.T) ([]string, []string, func()) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "i="+r.URL.Query().Get("i"))
			}))
			return []string{"20", srv.URL + "/"}, []string{"--allow-connect", "127.0.0.1:" + hostPort(t, srv.URL)}, srv.Close
		}},
		{name: "udp", guest: "go/net_udp", start: func(t *testing.T) ([]string, []string, func()) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				buf := make([]byte, 2048)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(bytes.ToUpper(buf[:n]), from)
				}
			}()
			addr := pc.LocalAddr().String()
			return []string{addr}, []string{"--allow-connect", addr, "--allow-listen", "127.0.0.1:0"}, func() { pc.Close() }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			lk := newFileLake(t)
			args, flags, stop := c.start(t)
			id, recorded := recordCLI(t, lk, invocation{module: guest.Path(t, c.guest), args: args, flags: flags})
			stop()
			if recorded.code != 0 || recorded.stdout == "" {
				t.Fatalf("recording exit code %d\nstdout:\n%s\nstderr:\n%s", recorded.code, recorded.stdout, recorded.stderr)
			}
			sameRun(t, replayCLI(t, lk, id), recorded)
		})
	}
}
