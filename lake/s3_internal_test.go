package lake

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/timelake/timelake/internal/s3test"
)

// transport lets a test watch and disturb the S3 client's requests.
type transport struct {
	mu   sync.Mutex
	puts []http.Header // headers (and trailers) of every PUT sent
	// corrupt flips one byte of each PUT body in flight.
	corrupt bool
	// dropPutResponses is how many PUT responses to lose after the server
	// has handled the request, as if the connection broke.
	dropPutResponses int
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut {
		return http.DefaultTransport.RoundTrip(req)
	}
	tr.mu.Lock()
	h := req.Header.Clone()
	for k, v := range req.Trailer {
		h["Trailer-"+k] = v
	}
	tr.puts = append(tr.puts, h)
	corrupt := tr.corrupt
	drop := tr.dropPutResponses > 0
	if drop {
		tr.dropPutResponses--
	}
	tr.mu.Unlock()
	if corrupt && req.Body != nil {
		req.Body = &flipper{rc: req.Body, at: 2000}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !drop {
		return resp, err
	}
	resp.Body.Close()
	return nil, errors.New("read tcp 127.0.0.1: connection reset by peer (injected after the server answered)")
}

func (tr *transport) putCount() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.puts)
}

// flipper changes the byte at stream offset at, if it is an 'x'.
type flipper struct {
	rc  io.ReadCloser
	off int64
	at  int64
}

func (f *flipper) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	if i := f.at - f.off; i >= 0 && i < int64(n) && p[i] == 'x' {
		p[i] = 'y'
	}
	f.off += int64(n)
	return n, err
}

func (f *flipper) Close() error { return f.rc.Close() }

func openTestS3(t *testing.T, srv *s3test.Server, prefix string, tr *transport) *s3Store {
	t.Helper()
	srv.Setenv(t)
	s, err := openS3(context.Background(), srv.Bucket, "/"+prefix, Options{S3PathStyle: true}, func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: tr}
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	body := bytes.Repeat([]byte("x"), 4096)

	// The endpoint comes from AWS_ENDPOINT_URL_S3 alone, and the prefix maps
	// to a folder of the bucket on the gateway's disk.
	t.Run("EndpointFromEnv", func(t *testing.T) {
		s := openTestS3(t, srv, "env/p", &transport{})
		if _, err := s.Put(ctx, "a/b.seg", bytes.NewReader(body), PutOptions{}); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(srv.Dir, srv.Bucket, "env", "p", "a", "b.seg"))
		if err != nil || !bytes.Equal(raw, body) {
			t.Fatalf("object on the gateway's disk: %d bytes, %v", len(raw), err)
		}
	})

	// Every PUT carries a CRC32C of the body, and the server checks it: a
	// byte flipped in flight makes the upload fail and stores nothing.
	t.Run("ChecksumVerified", func(t *testing.T) {
		tr := &transport{}
		s := openTestS3(t, srv, "sum", tr)
		if _, err := s.Put(ctx, "ok", bytes.NewReader(body), PutOptions{}); err != nil {
			t.Fatal(err)
		}
		h := tr.puts[0]
		if h.Get("X-Amz-Checksum-Crc32c") == "" && h.Get("Trailer-X-Amz-Checksum-Crc32c") == "" {
			t.Fatalf("PUT without a CRC32C checksum; headers: %v", h)
		}
		tr.corrupt = true
		_, err := s.Put(ctx, "corrupt", bytes.NewReader(body), PutOptions{})
		if err == nil {
			t.Fatal("put with a corrupted body succeeded")
		}
		if errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) {
			t.Fatalf("corrupted put: %v, want a checksum error", err)
		}
		t.Logf("corrupted put rejected: %v", err)
		if _, err := s.Stat(ctx, "corrupt"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("stat after rejected put: %v, want ErrNotFound", err)
		}
	})

	// A create-only PUT that landed but whose response was lost is retried
	// by the SDK, gets 412, and is recognised as this call's own write.
	t.Run("CreateOnlyLostResponse", func(t *testing.T) {
		tr := &transport{dropPutResponses: 1}
		s := openTestS3(t, srv, "lost", tr)
		o, err := s.Put(ctx, "commit", bytes.NewReader(body), PutOptions{CreateOnly: true})
		if err != nil {
			t.Fatalf("create-only put with a lost response: %v", err)
		}
		if n := tr.putCount(); n != 2 {
			t.Fatalf("%d PUTs sent, want 2 (the lost one and the retry)", n)
		}
		if o.Size != int64(len(body)) || o.ETag == "" {
			t.Fatalf("put returned %+v", o)
		}
		// Another writer still loses.
		_, err = s.Put(ctx, "commit", strings.NewReader("other"), PutOptions{CreateOnly: true})
		if !errors.Is(err, ErrExists) {
			t.Fatalf("second writer: %v, want ErrExists", err)
		}
	})

	t.Run("NoSuchBucket", func(t *testing.T) {
		srv.Setenv(t)
		s, err := openS3(ctx, "no-such-bucket", "/x", Options{S3PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(ctx, "k")
		if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "NoSuchBucket") {
			t.Fatalf("get in a missing bucket: %v, want NoSuchBucket and not ErrNotFound", err)
		}
		if err := s.Delete(ctx, "k"); err == nil {
			t.Fatal("delete in a missing bucket succeeded")
		}
	})

	// With the server down, operations fail with errors that are neither
	// ErrNotFound nor ErrExists; after a restart the same store works.
	t.Run("ServerDown", func(t *testing.T) {
		s := openTestS3(t, srv, "down", &transport{})
		if _, err := s.Put(ctx, "before", bytes.NewReader(body), PutOptions{}); err != nil {
			t.Fatal(err)
		}
		srv.Stop()
		_, err := s.Put(ctx, "during", bytes.NewReader(body), PutOptions{CreateOnly: true})
		if err == nil || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) {
			t.Fatalf("put while down: %v", err)
		}
		if _, err := s.Stat(ctx, "before"); err == nil || errors.Is(err, ErrNotFound) {
			t.Fatalf("stat while down: %v", err)
		}
		srv.Restart()
		if _, err := s.Put(ctx, "during", bytes.NewReader(body), PutOptions{CreateOnly: true}); err != nil {
			t.Fatalf("put after restart: %v", err)
		}
		if _, err := s.Stat(ctx, "before"); err != nil {
			t.Fatalf("stat after restart: %v", err)
		}
	})
}
