// Package s3test runs a real S3 server for tests: versitygw (a Versity S3
// gateway over a local folder) on a loopback port, with fixed credentials and
// one bucket. It owns the gateway process: finding the binary, starting it,
// waiting until it answers, stopping and restarting it on the same port over
// the same data (for "S3 goes down mid-run" tests), and cleaning up.
//
// The binary is taken from $TIMELAKE_VERSITYGW, else PATH, else
// $(go env GOPATH)/bin. Install it with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// A test that needs S3 fails (never skips) when the binary is missing.
package s3test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Fixed test credentials and names; they only ever reach a loopback server.
const (
	AccessKey = "timelake-test-access"
	SecretKey = "timelake-test-secret"
	Region    = "us-east-1"
	Bucket    = "timelake-test"
)

// InstallHint is the command that installs the gateway.
const InstallHint = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// startTimeout bounds how long a start may take before the test fails.
const startTimeout = 30 * time.Second

// Server is a running versitygw. Its methods are safe for concurrent use.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Bucket    string // an existing, empty-at-start bucket
	AccessKey string
	SecretKey string
	Dir       string // the gateway's root folder; the bucket is Dir/Bucket

	tb   testing.TB
	bin  string
	addr string // 127.0.0.1:PORT, kept across Restart

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the gateway binary.
type process struct {
	cmd  *exec.Cmd
	out  *syncBuffer   // combined output, for failure messages
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

// Start launches a gateway on a free loopback port over a fresh folder,
// creates the bucket and registers the gateway's shutdown with tb.Cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin, err := findBinary()
	if err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	dir := filepath.Join(tb.TempDir(), "vgw")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	s := &Server{Bucket: Bucket, AccessKey: AccessKey, SecretKey: SecretKey, Dir: dir, tb: tb, bin: bin}
	tb.Cleanup(s.Stop)
	// A free port found by binding :0 may be taken by someone else before
	// the gateway binds it; try a few.
	for attempt := 0; ; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			tb.Fatalf("s3test: %v", err)
		}
		s.addr, s.Endpoint = addr, "http://"+addr
		err = s.start()
		if err == nil {
			break
		}
		if attempt == 2 || !errors.Is(err, errAddrInUse) {
			tb.Fatalf("s3test: start versitygw: %v", err)
		}
	}
	if err := s.createBucket(); err != nil {
		tb.Fatalf("s3test: %v", err)
	}
	return s
}

// findBinary looks for versitygw where the package comment says.
func findBinary() (string, error) {
	if p := os.Getenv("TIMELAKE_VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$TIMELAKE_VERSITYGW=%s: %w", p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, gp := range filepath.SplitList(gopath) {
		p := filepath.Join(gp, "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("versitygw not found in $TIMELAKE_VERSITYGW, PATH or $(go env GOPATH)/bin; install it with: %s", InstallHint)
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

var errAddrInUse = errors.New("address already in use")

// start runs the gateway on s.addr and returns once it answers HTTP.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	cmd := exec.Command(s.bin,
		"--access", s.AccessKey, "--secret", s.SecretKey, "--region", Region,
		"--port", s.addr, "--quiet",
		"posix", s.Dir)
	// Die with the test binary even if it is killed before cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", s.bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	if err := waitHTTP(s.Endpoint, p.done, timer.C); err != nil {
		select {
		case <-p.done:
			return s.exitError(p)
		default:
		}
		cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("versitygw at %s: %w; output:\n%s", s.Endpoint, err, p.out.String())
	}
	s.proc = p
	return nil
}

func (s *Server) exitError(p *process) error {
	out := p.out.String()
	if strings.Contains(out, "address already in use") {
		return fmt.Errorf("%s: %w", s.addr, errAddrInUse)
	}
	return fmt.Errorf("versitygw exited early (%v); output:\n%s", p.err, out)
}

// waitHTTP polls until the gateway answers HTTP (with --quiet it prints
// nothing to wait for), the process dies, or the deadline passes.
func waitHTTP(endpoint string, died <-chan struct{}, deadline <-chan time.Time) error {
	client := &http.Client{Timeout: 5 * time.Second}
	backoff := time.Millisecond
	for {
		resp, err := client.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil // any status, typically 403 for an unsigned request
		}
		select {
		case <-died:
			return errors.New("process exited")
		case <-deadline:
			return fmt.Errorf("not answering: %w", err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 100*time.Millisecond)
	}
}

func (s *Server) createBucket() error {
	client := s.Client()
	_, err := client.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
	if err != nil {
		return fmt.Errorf("create bucket %s at %s: %w", s.Bucket, s.Endpoint, err)
	}
	return nil
}

// Client returns an S3 client for the server, for tests that inspect or
// tamper with the bucket directly.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// URL is the lake URL of prefix in the bucket: s3://bucket/prefix.
func (s *Server) URL(prefix string) string {
	return "s3://" + s.Bucket + "/" + strings.TrimPrefix(prefix, "/")
}

// Env is the environment a subprocess needs to reach the server through the
// AWS SDK's standard chain. Lake URLs for it also need path-style addressing.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + Region,
		"AWS_ENDPOINT_URL_S3=" + s.Endpoint,
	}
}

// Setenv sets Env in the current process for the rest of the test (so it
// cannot be used by parallel tests, as with testing.T.Setenv).
func (s *Server) Setenv(tb testing.TB) {
	tb.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		tb.Setenv(k, v)
	}
}

// Stop shuts the gateway down and waits for it to exit; the data stays. It
// is a no-op when already stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Restart stops the gateway if it runs and starts it again on the same port
// over the same data, returning once it answers.
func (s *Server) Restart() {
	s.tb.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.tb.Fatalf("s3test: restart versitygw: %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers, capped so a
// chatty gateway cannot grow it without bound.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

const maxLog = 1 << 20

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.b.Len() < maxLog {
		b.b.Write(p[:min(len(p), maxLog-b.b.Len())])
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
