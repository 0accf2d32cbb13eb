package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/timelake/timelake/wasi"
)

// readAll lists a directory the way a guest does through the binding: each
// call gets a bufLen-byte buffer; an entry that does not fit whole is cut
// off by the binding, so the guest resumes at the cookie of the last whole
// entry; a buffer not filled to the end means the end of the directory.
func readAll(t *testing.T, s *System, fd wasi.FD, bufLen, maxEntries int) map[string]wasi.DirEntry {
	t.Helper()
	seen := map[string]wasi.DirEntry{}
	entries := make([]wasi.DirEntry, maxEntries)
	var cookie wasi.DirCookie
	for calls := 0; ; calls++ {
		if calls > 100000 {
			t.Fatal("readdir does not end")
		}
		n, errno := s.FDReadDir(bg, fd, entries, cookie, bufLen)
		if errno != 0 {
			t.Fatalf("readdir at cookie %d: %s", cookie, errno.Name())
		}
		used, whole := 0, 0
		for i := range n {
			size := entries[i].SizeInBuffer()
			if used+size > bufLen {
				break
			}
			used += size
			whole++
		}
		if whole == 0 && n > 0 {
			t.Fatalf("an entry larger than the %d-byte buffer", bufLen)
		}
		for _, e := range entries[:whole] {
			name := string(e.Name)
			if _, dup := seen[name]; dup {
				t.Fatalf("%q listed twice", name)
			}
			seen[name] = e
			cookie = e.Next
		}
		if n < len(entries) && used < bufLen && whole == n {
			return seen // the buffer was not filled: end of directory
		}
	}
}

func TestReadDirSmall(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	writeFile(t, filepath.Join(f.dir, "file"), "x")
	os.Mkdir(filepath.Join(f.dir, "sub"), 0o755)
	os.Symlink("file", filepath.Join(f.dir, "link"))

	got := readAll(t, s, mnt, 4096, 16)
	want := map[string]wasi.Filetype{
		".": wasi.FiletypeDirectory, "..": wasi.FiletypeDirectory, "file": wasi.FiletypeRegularFile,
		"sub": wasi.FiletypeDirectory, "link": wasi.FiletypeSymbolicLink,
	}
	if len(got) != len(want) {
		t.Errorf("listed %d entries, want %d: %v", len(got), len(want), keys(got))
	}
	for name, ft := range want {
		e, ok := got[name]
		if !ok || e.Type != ft || e.Ino == 0 {
			t.Errorf("entry %q = %+v (present %v), want type %s", name, e, ok, ft)
		}
	}
	if st, _ := s.PathFileStatGet(bg, mnt, 0, "file"); got["file"].Ino != st.Ino {
		t.Errorf("file inode %d, stat says %d", got["file"].Ino, st.Ino)
	}

	// Rewinding (cookie 0) sees entries created since.
	writeFile(t, filepath.Join(f.dir, "later"), "")
	if got := readAll(t, s, mnt, 4096, 16); len(got) != 6 {
		t.Errorf("after rewind listed %v", keys(got))
	}
	// A cookie at the end gives nothing.
	var last wasi.DirCookie
	entries := make([]wasi.DirEntry, 16)
	n, _ := s.FDReadDir(bg, mnt, entries, 0, 4096)
	last = entries[n-1].Next
	if n, errno := s.FDReadDir(bg, mnt, entries, last, 4096); n != 0 || errno != 0 {
		t.Errorf("readdir at the end = %d, %s", n, errno.Name())
	}
	// Degenerate calls.
	if n, errno := s.FDReadDir(bg, mnt, entries, 0, 0); n != 0 || errno != 0 {
		t.Errorf("readdir with no buffer = %d, %s", n, errno.Name())
	}
	_, errno := s.FDReadDir(bg, 77, entries, 0, 100)
	wantErrno(t, "readdir bad fd", errno, wasi.EBADF)
	_, errno = s.FDReadDir(bg, 1, entries, 0, 100)
	wantErrno(t, "readdir stdout", errno, wasi.ENOTDIR)
}

func TestReadDirLarge(t *testing.T) {
	f := newFixture(t, false)
	s := f.s
	const count = 5000
	dir := filepath.Join(f.dir, "big")
	os.Mkdir(dir, 0o755)
	want := map[string]bool{".": true, "..": true}
	for i := range count {
		// Names of varied length so that entries straddle buffer ends.
		name := fmt.Sprintf("entry-%d-%s", i, strings.Repeat("x", i%23))
		writeFile(t, filepath.Join(dir, name), "")
		want[name] = true
	}
	fd := f.open(t, mnt, "big", wasi.OFlagDirectory, readRights, 0)
	for _, tc := range []struct{ bufLen, maxEntries int }{
		{128, 64},    // a few entries per call, the last one usually cut
		{1000, 8},    // bounded by the entries slice
		{8192, 1024}, // Go's os.ReadDir buffer
		{1 << 20, 8192},
	} {
		t.Run(fmt.Sprintf("buf%d_max%d", tc.bufLen, tc.maxEntries), func(t *testing.T) {
			got := readAll(t, s, fd, tc.bufLen, tc.maxEntries)
			if len(got) != len(want) {
				t.Errorf("listed %d names, want %d", len(got), len(want))
			}
			for name := range want {
				if _, ok := got[name]; !ok {
					t.Errorf("%q missing", name)
					break
				}
			}
		})
	}
	// Resuming from an arbitrary earlier cookie, as a guest that seekdir()s
	// back, lists exactly the rest.
	all := make([]wasi.DirEntry, count+2)
	n, _ := s.FDReadDir(bg, fd, all, 0, 1<<30)
	if n != count+2 {
		t.Fatalf("one big readdir gave %d entries", n)
	}
	order := make([]string, n)
	cookies := make([]wasi.DirCookie, n)
	for i, e := range all[:n] {
		order[i], cookies[i] = string(e.Name), e.Next
	}
	for _, from := range []int{0, 1, 2, 1234, count - 1, count} {
		rest := make([]wasi.DirEntry, count+2)
		m, errno := s.FDReadDir(bg, fd, rest, cookies[from], 1<<30)
		if errno != 0 || m != n-from-1 {
			t.Fatalf("resume after entry %d: %d entries, %s; want %d", from, m, errno.Name(), n-from-1)
		}
		if string(rest[0].Name) != order[from+1] && m > 0 {
			t.Errorf("resume after entry %d starts at %q, want %q", from, rest[0].Name, order[from+1])
		}
	}
}

func keys(m map[string]wasi.DirEntry) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
