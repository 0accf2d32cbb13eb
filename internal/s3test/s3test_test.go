package s3test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func put(t *testing.T, c *s3.Client, bucket, key, body string) error {
	t.Helper()
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	return err
}

func get(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}

// TestStopRestart checks the server's life cycle: objects survive a restart
// on the same endpoint, and a stopped server refuses connections.
func TestStopRestart(t *testing.T) {
	s := Start(t)
	c := s.Client()
	if err := put(t, c, s.Bucket, "a/b.txt", "hello"); err != nil {
		t.Fatalf("put: %v", err)
	}
	if got := get(t, c, s.Bucket, "a/b.txt"); got != "hello" {
		t.Fatalf("get = %q, want %q", got, "hello")
	}
	// The data lives in Dir/Bucket as plain files.
	raw, err := os.ReadFile(filepath.Join(s.Dir, s.Bucket, "a", "b.txt"))
	if err != nil || string(raw) != "hello" {
		t.Fatalf("backing file = %q, %v; want %q", raw, err, "hello")
	}

	endpoint := s.Endpoint
	s.Stop()
	if _, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "http://")); err == nil {
		t.Fatal("dial after Stop succeeded; want connection refused")
	}
	err = put(t, c, s.Bucket, "down.txt", "x")
	var opErr *net.OpError
	if err == nil || !errors.As(err, &opErr) {
		t.Fatalf("put while stopped: err = %v, want a network error", err)
	}
	s.Stop() // idempotent

	s.Restart()
	if s.Endpoint != endpoint {
		t.Fatalf("endpoint changed across restart: %s → %s", endpoint, s.Endpoint)
	}
	if got := get(t, c, s.Bucket, "a/b.txt"); got != "hello" {
		t.Fatalf("get after restart = %q, want %q", got, "hello")
	}
}

func TestEnvAndURL(t *testing.T) {
	s := Start(t)
	env := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	want := map[string]string{
		"AWS_ACCESS_KEY_ID":     AccessKey,
		"AWS_SECRET_ACCESS_KEY": SecretKey,
		"AWS_REGION":            Region,
		"AWS_ENDPOINT_URL_S3":   s.Endpoint,
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("Env %s = %q, want %q", k, env[k], v)
		}
	}
	s.Setenv(t)
	if got := os.Getenv("AWS_ENDPOINT_URL_S3"); got != s.Endpoint {
		t.Errorf("after Setenv AWS_ENDPOINT_URL_S3 = %q, want %q", got, s.Endpoint)
	}
	for prefix, want := range map[string]string{
		"":        "s3://" + Bucket + "/",
		"runs":    "s3://" + Bucket + "/runs",
		"/runs/x": "s3://" + Bucket + "/runs/x",
	} {
		if got := s.URL(prefix); got != want {
			t.Errorf("URL(%q) = %q, want %q", prefix, got, want)
		}
	}
}

// TestTwoServers checks that servers started side by side are independent.
func TestTwoServers(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Endpoint == b.Endpoint || a.Dir == b.Dir {
		t.Fatalf("servers share endpoint or dir: %s %s / %s %s", a.Endpoint, a.Dir, b.Endpoint, b.Dir)
	}
	if err := put(t, a.Client(), a.Bucket, "only-a", "1"); err != nil {
		t.Fatal(err)
	}
	_, err := b.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(b.Bucket), Key: aws.String("only-a")})
	if err == nil {
		t.Fatal("object put on server a is visible on server b")
	}
}

func TestMissingBinaryMessage(t *testing.T) {
	t.Setenv("TIMELAKE_VERSITYGW", filepath.Join(t.TempDir(), "nope"))
	_, err := findBinary()
	if err == nil || !strings.Contains(err.Error(), "TIMELAKE_VERSITYGW") {
		t.Fatalf("findBinary with a bad $TIMELAKE_VERSITYGW: err = %v", err)
	}
	t.Setenv("TIMELAKE_VERSITYGW", "")
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOPATH", t.TempDir())
	_, err = findBinary()
	if err == nil || !strings.Contains(err.Error(), InstallHint) {
		t.Fatalf("findBinary with nothing installed: err = %v, want the install hint", err)
	}
}
