package lake

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func newFileStore(t *testing.T) *fileStore {
	t.Helper()
	s, err := openFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func filePut(t *testing.T, s *fileStore, key, body string, opts PutOptions) error {
	t.Helper()
	_, err := s.Put(context.Background(), key, strings.NewReader(body), opts)
	return err
}

// TestFileListReadsOnlyNeededDirs checks that List reads the folder its
// prefix names and prunes subtrees wholly before startAfter, rather than
// walking the lake.
func TestFileListReadsOnlyNeededDirs(t *testing.T) {
	s := newFileStore(t)
	for _, k := range []string{
		"modules/sha256/aa.wasm",
		"segments/run1/00000000.seg", "segments/run1/00000001.seg",
		"segments/run2/00000000.seg", "segments/run2/00000001.seg",
		"segments/run3/00000000.seg",
		"tables/logs/date=2025-01-01/a.parquet",
	} {
		if err := filePut(t, s, k, k, PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var read []string
	readDir = func(name string) ([]os.DirEntry, error) {
		rel, _ := filepath.Rel(s.root, name)
		read = append(read, filepath.ToSlash(rel))
		return os.ReadDir(name)
	}
	t.Cleanup(func() { readDir = os.ReadDir })
	tests := []struct {
		prefix, startAfter string
		limit              int
		wantKeys           []string
		wantRead           []string
	}{
		{"segments/run2/", "", 0,
			[]string{"segments/run2/00000000.seg", "segments/run2/00000001.seg"},
			[]string{"segments/run2"}},
		{"segments/run2/0000000", "segments/run2/00000000.seg", 0,
			[]string{"segments/run2/00000001.seg"},
			[]string{"segments/run2"}},
		{"segments/", "segments/run2/00000000.seg", 0,
			[]string{"segments/run2/00000001.seg", "segments/run3/00000000.seg"},
			[]string{"segments", "segments/run2", "segments/run3"}},
		{"segments/", "", 1,
			[]string{"segments/run1/00000000.seg"},
			[]string{"segments", "segments/run1"}},
		{"segments/run9/", "", 0, nil, []string{"segments/run9"}},
		{"tab", "", 0,
			[]string{"tables/logs/date=2025-01-01/a.parquet"},
			[]string{".", "tables", "tables/logs", "tables/logs/date=2025-01-01"}},
	}
	for _, tc := range tests {
		read = nil
		objs, err := s.List(context.Background(), tc.prefix, tc.startAfter, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range objs {
			got = append(got, o.Key)
		}
		if !slices.Equal(got, tc.wantKeys) {
			t.Errorf("List(%q, %q, %d) = %q, want %q", tc.prefix, tc.startAfter, tc.limit, got, tc.wantKeys)
		}
		if !slices.Equal(read, tc.wantRead) {
			t.Errorf("List(%q, %q, %d) read folders %q, want %q", tc.prefix, tc.startAfter, tc.limit, read, tc.wantRead)
		}
	}
}

// tempFiles returns the ".lake-" files left anywhere under root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestFileTempFiles(t *testing.T) {
	s := newFileStore(t)
	ctx := context.Background()
	co := PutOptions{CreateOnly: true}
	if err := filePut(t, s, "d/k", "one", co); err != nil {
		t.Fatal(err)
	}
	if err := filePut(t, s, "d/k", "two", co); err == nil {
		t.Fatal("second create-only put succeeded")
	}
	if err := filePut(t, s, "d/k", "three", PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// Neither winning nor losing puts leave temporary files behind.
	if left := tempFiles(t, s.root); len(left) != 0 {
		t.Fatalf("temporary files left: %q", left)
	}
	// A crashed writer's temporary file is invisible to List.
	if err := os.WriteFile(filepath.Join(s.root, "d", tempPrefix+"crashed"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := s.List(ctx, "d/", "", 0)
	if err != nil || len(objs) != 1 || objs[0].Key != "d/k" {
		t.Fatalf("List(d/) = %+v, %v; want only d/k", objs, err)
	}
	// Objects are readable by others (0644), not the temp files' 0600.
	fi, err := os.Stat(filepath.Join(s.root, "d", "k"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("object mode %v, %v; want 0644", fi.Mode(), err)
	}
}

func TestFileDeletePrunesEmptyDirs(t *testing.T) {
	s := newFileStore(t)
	ctx := context.Background()
	for _, k := range []string{SegmentKey("r1", 0), SegmentKey("r1", 1), SegmentKey("r2", 0)} {
		if err := filePut(t, s, k, "x", PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{SegmentKey("r1", 0), SegmentKey("r1", 1)} {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(s.root, "segments", "r1")); !os.IsNotExist(err) {
		t.Fatalf("segments/r1 still exists after its last object went: %v", err)
	}
	if err := s.Delete(ctx, SegmentKey("r2", 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.root, "segments")); !os.IsNotExist(err) {
		t.Fatalf("segments still exists: %v", err)
	}
	if _, err := os.Stat(s.root); err != nil {
		t.Fatalf("root removed: %v", err)
	}
	// Deleting a prefix's folder name is a no-op, not a recursive delete.
	if err := filePut(t, s, "p/q", "x", PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "p/q"); err != nil {
		t.Fatalf("p/q after Delete(p): %v", err)
	}
}

// TestFileKeyIsAlsoPrefix documents the file backend's one departure from
// S3: a key cannot be both an object and a folder of other keys.
func TestFileKeyIsAlsoPrefix(t *testing.T) {
	s := newFileStore(t)
	if err := filePut(t, s, "a", "x", PutOptions{}); err != nil {
		t.Fatal(err)
	}
	err := filePut(t, s, "a/b", "y", PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("put a/b under object a: %v, want a not-a-directory error", err)
	}
}
