package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/timelake/timelake/wasi"
)

var bg = context.Background()

// Preopen fd numbers of the fixtures below.
const (
	mnt   wasi.FD = 3 // read-write mount
	roMnt wasi.FD = 4 // read-only mount (withRO)
)

// fixture is a System over a temporary tree:
//
//	root/
//	  m/          mounted read-write at /data (fd 3)
//	  ro/         mounted read-only at /ro (fd 4) when withRO
//	  outside.txt "secret", must never be reached or changed
//	  outdir/     a directory outside every mount
type fixture struct {
	s       *System
	root    string
	dir     string // host path of the rw mount
	roDir   string
	outside string
}

func newFixture(t *testing.T, withRO bool) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{root: root, dir: filepath.Join(root, "m"), roDir: filepath.Join(root, "ro"), outside: filepath.Join(root, "outside.txt")}
	for _, d := range []string{f.dir, f.roDir, filepath.Join(root, "outdir")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, f.outside, "secret")
	cfg := Config{Mounts: []Mount{{HostPath: f.dir, GuestPath: "/data"}}}
	if withRO {
		cfg.Mounts = append(cfg.Mounts, Mount{HostPath: f.roDir, GuestPath: "/ro", ReadOnly: true})
	}
	f.s = newSystem(t, cfg)
	return f
}

func newSystem(t *testing.T, cfg Config) *System {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(bg); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantErrno(t *testing.T, what string, got, want wasi.Errno) {
	t.Helper()
	if got != want {
		t.Errorf("%s: errno %s, want %s", what, got.Name(), want.Name())
	}
}

// The rights wasi-libc asks for when opening O_RDONLY and O_RDWR.
const (
	readRights = wasi.AllRights &^ (wasi.RightFDDataSync | wasi.RightFDWrite | wasi.RightFDAllocate | wasi.RightFDFileStatSetSize)
	rwRights   = wasi.AllRights
)

// open opens path under fd and fails the test on error.
func (f *fixture) open(t *testing.T, fd wasi.FD, path string, oflags wasi.OFlags, base wasi.Rights, fdflags wasi.FDFlags) wasi.FD {
	t.Helper()
	nfd, errno := f.s.PathOpen(bg, fd, wasi.LookupSymlinkFollow, path, oflags, base, wasi.AllRights, fdflags)
	if errno != 0 {
		t.Fatalf("path_open %q: %s", path, errno.Name())
	}
	return nfd
}

func (f *fixture) outsideIntact(t *testing.T) {
	t.Helper()
	if got := readFile(t, f.outside); got != "secret" {
		t.Errorf("outside file changed: %q", got)
	}
	entries, err := os.ReadDir(f.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case "m", "ro", "outside.txt", "outdir":
		default:
			t.Errorf("new entry outside the mount: %s", e.Name())
		}
	}
	if sub, _ := os.ReadDir(filepath.Join(f.root, "outdir")); len(sub) != 0 {
		t.Errorf("outdir gained %d entries", len(sub))
	}
}
