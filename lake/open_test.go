package lake_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/timelake/timelake/lake"
)

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// Keep the S3 cases offline: Open does not contact the server.
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tests := []struct {
		url  string
		want string // the store's URL
	}{
		{"file://" + dir + "/abs", "file://" + dir + "/abs"},
		{"file://" + dir + "/abs/", "file://" + dir + "/abs"},
		{"file://rel", "file://" + dir + "/rel"},
		{"file://rel/sub", "file://" + dir + "/rel/sub"},
		{dir + "/bare", "file://" + dir + "/bare"},
		{"bare-rel/x", "file://" + dir + "/bare-rel/x"},
		{".", "file://" + dir},
		{"s3://bucket", "s3://bucket/"},
		{"s3://bucket/", "s3://bucket/"},
		{"s3://my-bucket.v2/lake/prod/", "s3://my-bucket.v2/lake/prod"},
	}
	for _, tc := range tests {
		s, err := lake.Open(context.Background(), tc.url, lake.Options{})
		if err != nil {
			t.Errorf("Open(%q): %v", tc.url, err)
			continue
		}
		if got := s.URL(); got != tc.want {
			t.Errorf("Open(%q).URL() = %q, want %q", tc.url, got, tc.want)
		}
		s.Close()
	}
	// file stores create their folder.
	if fi, err := os.Stat(filepath.Join(dir, "rel", "sub")); err != nil || !fi.IsDir() {
		t.Errorf("file://rel/sub did not create its folder: %v", err)
	}
}

func TestOpenBadURLs(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url, want string // want: a fragment of the error
	}{
		{"", "empty URL"},
		{"ftp://host/x", `unsupported scheme "ftp"`},
		{"gs://bucket/x", `unsupported scheme "gs"`},
		{"file://", "no path"},
		{"s3://", "bucket name"},
		{"s3:///prefix", "bucket name"},
		{"s3://UPPER/x", "bucket name"},
		{"s3://ab/x", "bucket name"},
		{"s3://bucket_underscore", "bucket name"},
		{"s3://bucket/a//b", "empty component"},
		{"s3://bucket/a/../b", `".." component`},
		{"s3://bucket/x?region=eu", "query"},
		{"s3://user@bucket/x", "user info"},
		{"file://" + notDir, "not a directory"},
		{"file://" + notDir + "/below", "not a directory"},
		{"s3://bu%zzcket", "invalid URL escape"},
	}
	for _, tc := range tests {
		s, err := lake.Open(context.Background(), tc.url, lake.Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error containing %q", tc.url, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "lake: open") {
			t.Errorf("Open(%q) = %q, want an error starting \"lake: open\" containing %q", tc.url, err, tc.want)
		}
	}
}
