package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/lake"
)

// netServer answers /hello with a fixed body (Content-Length) and /chunked
// with a body sent in two flushed parts (chunked transfer encoding).
func netServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			io.WriteString(w, "first part\n")
			w.(http.Flusher).Flush()
			io.WriteString(w, "second part\n")
		default:
			io.WriteString(w, "hello from the lake\n")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

var (
	traceTimeRE  = regexp.MustCompile(`\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{6}`)
	httpDateRE   = regexp.MustCompile(`Date: [A-Z][a-z]{2}, .* GMT`)
	loopbackRE   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	sendRecvRE   = regexp.MustCompile(`(?m)^<time> TCP <client> > <server> (SEND|RECV) (\d+) bytes$`)
	connectRE    = regexp.MustCompile(`(?m)^<time> TCP \S+ > <server> CONNECT( EINPROGRESS)?$`)
	netRequestRE = regexp.MustCompile(`(?m)^<time> HTTP <client> > <server> GET /\w+ 200 OK$`)
)

// TestTraceNetwork records testdata/go/net_get fetching two URLs from a
// loopback server (keep-alive on one connection, the second response
// chunked), compacts, and checks trace requests (golden), trace network
// (the connect, and bytes that add up to the connections view) and the
// requests view.
func TestTraceNetwork(t *testing.T) {
	srv := netServer(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	lakeURL := "file://" + t.TempDir()
	cmd := exec.Command(runBinary(t), "--lake", lakeURL, "--spool", t.TempDir(), "--allow-connect", "127.0.0.1:"+port,
		stableCopy(t, "go/net_get"), srv.URL+"/hello", srv.URL+"/chunked")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run net_get: %v\n%s", err, stderr.String())
	}
	if want := "hello from the lake\nfirst part\nsecond part\n"; stdout.String() != want {
		t.Fatalf("net_get printed %q, want %q", stdout.String(), want)
	}
	id := strings.TrimSpace(strings.SplitN(stderr.String(), "\n", 2)[0])
	store, err := lake.Open(context.Background(), lakeURL, lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := compact.Run(context.Background(), store, compact.Options{TempDir: t.TempDir()}); err != nil {
		t.Fatalf("compact: %v", err)
	}
	f := &fixture{lakeURL: lakeURL, cacheDir: t.TempDir(), runs: []recorded{{name: "net_get", id: id}}}
	server := "127.0.0.1:" + port
	mask := func(s string) string {
		s = strings.ReplaceAll(s, id, "<net_get>")
		s = traceTimeRE.ReplaceAllString(s, "<time>")
		s = httpDateRE.ReplaceAllString(s, "Date: <date>")
		s = strings.ReplaceAll(s, server, "<server>")
		return loopbackRE.ReplaceAllString(s, "<client>")
	}
	query := func(args ...string) string {
		t.Helper()
		code, out, errOut := f.query(t, "", args...)
		if code != 0 {
			t.Fatalf("query %v: exit %d: %s", args, code, errOut)
		}
		return out
	}

	for _, c := range []struct{ golden, verbose string }{{"trace-requests.txt", ""}, {"trace-requests-v.txt", "-v"}} {
		args := []string{"trace", "requests", id[:13]}
		if c.verbose != "" {
			args = append(args, c.verbose)
		}
		golden(t, c.golden, mask(query(args...)))
	}
	golden(t, "sql-requests.csv", mask(query("sql", "--format", "csv", `SELECT conn = min(conn) OVER () AS same_conn, exchange,
		role, method, host, path, status, reason, response_body_size, content_type, truncated, latency_ms > 0 AS timed
		FROM requests WHERE run_id = '`+id+`' ORDER BY exchange`)))

	// trace network: the connect, then sends and receives whose bytes add
	// up to what the connections view counts.
	network := mask(query("trace", "network", id))
	if !connectRE.MatchString(network) {
		t.Errorf("trace network shows no connect to the server:\n%s", network)
	}
	var sent, received int64
	for _, m := range sendRecvRE.FindAllStringSubmatch(network, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "SEND" {
			sent += n
		} else {
			received += n
		}
	}
	conns := query("sql", "--format", "csv", `SELECT protocol, role, peer_addr, bytes_out, bytes_in, exchanges
		FROM connections WHERE run_id = '`+id+`'`)
	want := fmt.Sprintf("protocol,role,peer_addr,bytes_out,bytes_in,exchanges\ntcp,client,%s,%d,%d,2\n", server, sent, received)
	if sent == 0 || received == 0 || conns != want {
		t.Errorf("connections view:\n%s\nwant (from trace network):\n%s\ntrace:\n%s", conns, want, network)
	}
	verbose := query("trace", "network", id, "-v")
	if dump := hex.Dump([]byte("GET /hello HTTP/1.1\r\n")); !strings.Contains(verbose, strings.SplitN(dump, "\n", 2)[0]) {
		t.Errorf("trace network -v lacks the hex dump of the request line %q:\n%s", strings.SplitN(dump, "\n", 2)[0], verbose)
	}
	if short := mask(query("trace", "requests", id)); len(netRequestRE.FindAllString(short, -1)) != 2 {
		t.Errorf("trace requests: want two exchanges:\n%s", short)
	}

	// Bad usage is exit 2 with a message.
	for _, args := range [][]string{{"trace"}, {"trace", "disk", id}, {"trace", "network"}} {
		if code, _, errOut := f.query(t, "", args...); code != exitUsage || !strings.Contains(errOut, "trace") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	os.Stdout.Sync()
}
