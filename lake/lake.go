// Package lake owns timelake's object store: a small key/value interface over
// immutable objects (Store) with two backends, a local folder (file://) and S3
// (s3://bucket/prefix), plus the key layout shared by every writer and reader of
// the lake. It does not know what the objects contain: segment framing belongs
// to capture, tables and the commit log to compact.
//
// # URLs
//
//	file:///abs/dir     a folder, created on Open if missing
//	file://rel/dir      a folder relative to the working directory
//	/abs/dir, rel/dir   a bare path is a folder too
//	s3://bucket         a whole bucket
//	s3://bucket/prefix  keys live under "prefix/" in the bucket
//
// # Key layout
//
// Keys are slash-separated relative paths: no empty, "." or ".." component,
// no leading or trailing slash, no NUL, and no component beginning with
// ".lake-" (the file backend's temporary files). The lake's keys are:
//
//	modules/sha256/<hex>.wasm        a module, content-addressed (ModuleKey)
//	segments/<run-id>/<n:08d>.seg    segment n of a run (SegmentKey, SegmentPrefix)
//	tables/<table>/date=YYYY-MM-DD/  Parquet files (owned by compact)
//	_lake/                           commit log and checkpoints (owned by compact)
//
// Segment numbers are zero-padded to eight digits so that key order is segment
// order in List.
//
// # Guarantees
//
// Put is atomic on both backends: a reader sees the previous object or the
// whole new one, never a prefix. Put with CreateOnly succeeds for exactly one
// of any number of concurrent writers of a key; the others get ErrExists. On
// the file backend this is link(2) of a fully written, fsynced temporary file;
// on S3 it is a conditional write (If-None-Match: *). A create-only S3 put whose
// first attempt landed but whose response was lost is recognised on retry by a
// per-put token stored in the object's metadata, so the writer that won is
// told it won. See docs/lake.md for the per-backend details.
package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors; backends wrap them with the operation and key, so test them
// with errors.Is.
var (
	ErrNotFound = errors.New("lake: object not found")
	ErrExists   = errors.New("lake: object already exists") // create-only put lost the race
)

// Object describes a stored object.
type Object struct {
	Key      string    // key relative to the store's root, as passed to Put
	Size     int64     // length in bytes
	ETag     string    // opaque; changes whenever the content is replaced (no quotes)
	Modified time.Time // last write time as reported by the backend
}

// PutOptions tune a Put.
type PutOptions struct {
	CreateOnly  bool   // fail with ErrExists instead of replacing an existing object
	ContentType string // stored by S3, ignored by the file backend
}

// Store is an object store rooted at a URL. Implementations are safe for
// concurrent use.
type Store interface {
	// Get opens the whole object. A missing key yields an error matching ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// GetRange opens bytes [off, off+n) of the object, clipped to its end; a
	// range starting at or past the end reads as empty. off >= 0, n > 0.
	GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Stat describes the object.
	Stat(ctx context.Context, key string) (Object, error)
	// Put stores body (read from offset 0; it may be re-read on retry) under key atomically:
	// readers never see a partial object. With CreateOnly it fails with ErrExists if the key exists.
	Put(ctx context.Context, key string, body io.ReadSeeker, opts PutOptions) (Object, error)
	// List returns up to limit objects whose keys start with prefix and sort
	// after startAfter, in key order. limit <= 0 means no limit.
	List(ctx context.Context, prefix, startAfter string, limit int) ([]Object, error)
	// Delete removes the object; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL is the canonical URL of the store's root.
	URL() string
	// Close releases resources; the store must not be used afterwards.
	Close() error
}

// Options tune Open.
type Options struct {
	// S3PathStyle addresses buckets as http://host/bucket/key rather than
	// http://bucket.host/key, as most S3-compatible servers need.
	S3PathStyle bool
}

// Open parses "file:///abs/dir", "file://rel" or a bare path (→ file), and "s3://bucket/prefix".
func Open(ctx context.Context, rawURL string, opts Options) (Store, error) {
	if rawURL == "" {
		return nil, errors.New("lake: open: empty URL")
	}
	if !strings.Contains(rawURL, "://") {
		return openFile(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("lake: open %q: %w", rawURL, err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("lake: open %q: query, fragment and user info are not supported", rawURL)
	}
	switch u.Scheme {
	case "file":
		// file:///abs has an empty host; file://rel/dir puts "rel" in the host.
		p := u.Host + u.Path
		if p == "" {
			return nil, fmt.Errorf("lake: open %q: no path", rawURL)
		}
		return openFile(p)
	case "s3":
		return openS3(ctx, u.Host, u.Path, opts)
	default:
		return nil, fmt.Errorf("lake: open %q: unsupported scheme %q (want file:// or s3://)", rawURL, u.Scheme)
	}
}

// ModuleKey is the key of a module stored by content: "modules/sha256/<hex>.wasm".
func ModuleKey(sha256hex string) string {
	return "modules/sha256/" + sha256hex + ".wasm"
}

// SegmentKey is the key of segment n of a run: "segments/<run-id>/<n as %08d>.seg".
func SegmentKey(runID string, n int) string {
	return fmt.Sprintf("segments/%s/%08d.seg", runID, n)
}

// SegmentPrefix is the prefix of every segment of a run: "segments/<run-id>/".
func SegmentPrefix(runID string) string {
	return "segments/" + runID + "/"
}

// tempPrefix starts the names of the file backend's temporary files; keys may
// not use it so that List can skip them and a key never collides with one.
const tempPrefix = ".lake-"

// checkKey rejects keys that are not clean relative slash paths.
func checkKey(key string) error {
	if key == "" {
		return errors.New("empty key")
	}
	if strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("key %q contains NUL", key)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("key %q is absolute", key)
	}
	for c := range strings.SplitSeq(key, "/") {
		switch {
		case c == "":
			return fmt.Errorf("key %q has an empty component", key)
		case c == "." || c == "..":
			return fmt.Errorf("key %q has a %q component", key, c)
		case strings.HasPrefix(c, tempPrefix):
			return fmt.Errorf("key %q has a component starting with the reserved %q", key, tempPrefix)
		}
	}
	return nil
}

// checkPrefix rejects list prefixes whose directory part (up to the last "/")
// is not a clean key; the last, partial component is only a name filter.
func checkPrefix(prefix string) error {
	if strings.IndexByte(prefix, 0) >= 0 {
		return fmt.Errorf("list prefix %q contains NUL", prefix)
	}
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return nil
	}
	if err := checkKey(prefix[:i]); err != nil {
		return fmt.Errorf("list prefix %q: %w", prefix, err)
	}
	return nil
}

func checkRange(off, n int64) error {
	if off < 0 || n <= 0 {
		return fmt.Errorf("invalid range off=%d n=%d (want off >= 0, n > 0)", off, n)
	}
	return nil
}
