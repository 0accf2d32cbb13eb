package guest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// tree is a throwaway source tree with the layout the builder expects.
type tree struct {
	t    *testing.T
	root string
}

func newTree(t *testing.T) *tree {
	t.Helper()
	tr := &tree{t: t, root: t.TempDir()}
	tr.write("go.mod", "module example.com/guests\n\ngo 1.26\n")
	tr.write("testdata/go/internal/msg/msg.go", "package msg\n\nconst Text = \"v1\"\n")
	tr.write("testdata/go/greet/main.go", `package main

import (
	"fmt"

	"example.com/guests/testdata/go/internal/msg"
)

func main() { fmt.Println("greet", msg.Text) }
`)
	tr.write("testdata/c/hi.c", `#include <stdio.h>
#include "word.h"
int main(void) { printf("hi %s\n", WORD); return 0; }
`)
	tr.write("testdata/c/word.h", "#define WORD \"one\"\n")
	return tr
}

func (tr *tree) write(rel, content string) {
	tr.t.Helper()
	p := filepath.Join(tr.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) builder(cache string) *Builder {
	tr.t.Helper()
	b, err := NewBuilder(tr.root, cache)
	if err != nil {
		tr.t.Fatal(err)
	}
	return b
}

// runWasm runs a built guest under wazero's own WASI and returns its stdout.
func runWasm(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	var stdout, stderr bytes.Buffer
	_, err = rt.InstantiateWithConfig(ctx, src, wazero.NewModuleConfig().WithStdout(&stdout).WithStderr(&stderr))
	var exit *sys.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 0) {
		t.Fatalf("run %s: %v\nstderr: %s", path, err, stderr.String())
	}
	return stdout.String()
}

func buildOK(t *testing.T, b *Builder, name string) string {
	t.Helper()
	p, err := b.Build(name)
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return p
}

func TestCacheHitAndInvalidation(t *testing.T) {
	tr := newTree(t)
	cache := t.TempDir()

	type step struct {
		name      string
		edit      func()
		guest     string
		wantOut   string
		wantBuild int    // toolchain runs by a fresh builder (a new test process)
		samePath  string // step whose path this one must equal ("" = a new path)
	}
	steps := []step{
		{name: "go first build", guest: "go/greet", wantOut: "greet v1\n", wantBuild: 1},
		{name: "go cache hit", guest: "go/greet", wantOut: "greet v1\n", samePath: "go first build"},
		{name: "go imported package changed", guest: "go/greet", wantOut: "greet v2\n", wantBuild: 1,
			edit: func() { tr.write("testdata/go/internal/msg/msg.go", "package msg\n\nconst Text = \"v2\"\n") }},
		{name: "go main changed", guest: "go/greet", wantOut: "greet! v2\n", wantBuild: 1,
			edit: func() {
				tr.write("testdata/go/greet/main.go", `package main

import (
	"fmt"

	"example.com/guests/testdata/go/internal/msg"
)

func main() { fmt.Println("greet!", msg.Text) }
`)
			}},
		{name: "c first build", guest: "c/hi", wantOut: "hi one\n", wantBuild: 1},
		{name: "c cache hit", guest: "c/hi", wantOut: "hi one\n", samePath: "c first build"},
		{name: "c header changed", guest: "c/hi", wantOut: "hi two\n", wantBuild: 1,
			edit: func() { tr.write("testdata/c/word.h", "#define WORD \"two\"\n") }},
		{name: "c header reverted", guest: "c/hi", wantOut: "hi one\n", samePath: "c first build",
			edit: func() { tr.write("testdata/c/word.h", "#define WORD \"one\"\n") }},
	}
	paths := map[string]string{}
	seen := map[string]string{}
	for _, s := range steps {
		if s.edit != nil {
			s.edit()
		}
		b := tr.builder(cache)
		p := buildOK(t, b, s.guest)
		if b.builds != s.wantBuild {
			t.Errorf("%s: %d toolchain runs, want %d", s.name, b.builds, s.wantBuild)
		}
		if s.samePath != "" {
			if p != paths[s.samePath] {
				t.Errorf("%s: path %s, want the cached %s", s.name, p, paths[s.samePath])
			}
		} else if prev, ok := seen[p]; ok {
			t.Errorf("%s: reused the module of %q after a source change", s.name, prev)
		}
		paths[s.name], seen[p] = p, s.name
		if got := runWasm(t, p); got != s.wantOut {
			t.Errorf("%s: guest printed %q, want %q", s.name, got, s.wantOut)
		}
		// A second request in the same process never reruns the toolchain.
		if p2 := buildOK(t, b, s.guest); p2 != p || b.builds != s.wantBuild {
			t.Errorf("%s: second Build gave %s after %d runs", s.name, p2, b.builds)
		}
	}
}

func TestConcurrentBuilds(t *testing.T) {
	tr := newTree(t)
	cache := t.TempDir()
	// Three builders stand for three test binaries sharing the cache; each
	// gets two concurrent requests, which it must serve with one build.
	builders := []*Builder{tr.builder(cache), tr.builder(cache), tr.builder(cache)}
	var wg sync.WaitGroup
	paths := make([]string, 2*len(builders))
	errs := make([]error, len(paths))
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = builders[i/2].Build("go/greet")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if paths[i] != paths[0] {
			t.Errorf("build %d: path %s, want %s", i, paths[i], paths[0])
		}
	}
	for i, b := range builders {
		if b.builds > 1 {
			t.Errorf("builder %d ran the toolchain %d times for one guest", i, b.builds)
		}
	}
	if got := runWasm(t, paths[0]); got != "greet v1\n" {
		t.Errorf("guest printed %q", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(cache, ".build-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary build directories left behind: %v", leftovers)
	}
}

func TestBuildErrors(t *testing.T) {
	tr := newTree(t)
	tr.write("testdata/go/broken/main.go", "package main\n\nfunc main() { undefinedThing() }\n")
	tr.write("testdata/c/broken.c", "int main(void) { return undefined_thing; }\n")
	noClang := func(name string) (string, error) {
		if name == "clang" {
			return "", exec.ErrNotFound
		}
		return exec.LookPath(name)
	}
	tests := []struct {
		name     string
		guest    string
		lookPath func(string) (string, error)
		want     []string // substrings of the error
	}{
		{name: "no kind", guest: "greet", want: []string{`bad guest name "greet"`}},
		{name: "unknown kind", guest: "rust/greet", want: []string{"kind must be go or c"}},
		{name: "path escape", guest: "go/..", want: []string{"bad guest name"}},
		{name: "nested name", guest: "go/a/b", want: []string{"bad guest name"}},
		{name: "missing go guest", guest: "go/nothere", want: []string{`no Go guest "nothere"`}},
		{name: "missing c guest", guest: "c/nothere", want: []string{`no C guest "nothere"`}},
		{name: "go compile error", guest: "go/broken", want: []string{"go build ./testdata/go/broken", "undefined: undefinedThing"}},
		{name: "c compile error", guest: "c/broken", want: []string{"undefined_thing", "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"}},
		{name: "clang missing", guest: "c/hi", lookPath: noClang, want: []string{"clang not found", "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tr.builder(t.TempDir())
			if tt.lookPath != nil {
				b.lookPath = tt.lookPath
			}
			p, err := b.Build(tt.guest)
			if err == nil {
				t.Fatalf("Build(%q) = %s, want an error", tt.guest, p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestFailedBuildIsRetried(t *testing.T) {
	tr := newTree(t)
	tr.write("testdata/go/greet/main.go", "package main\n\nfunc main() { nope() }\n")
	b := tr.builder(t.TempDir())
	if _, err := b.Build("go/greet"); err == nil {
		t.Fatal("broken guest built")
	}
	tr.write("testdata/go/greet/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"fixed\") }\n")
	if got := runWasm(t, buildOK(t, b, "go/greet")); got != "fixed\n" {
		t.Errorf("guest printed %q", got)
	}
}

func TestAllAndBuildAll(t *testing.T) {
	tr := newTree(t)
	tr.write("testdata/go/.hidden/main.go", "package main\n\nfunc main() {}\n")
	tr.write("testdata/go/notes/README", "not a guest\n")
	b := tr.builder(t.TempDir())
	names, err := b.All()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"c/hi", "go/greet"}; !slices.Equal(names, want) {
		t.Fatalf("All() = %v, want %v", names, want)
	}
	out := t.TempDir()
	if err := b.BuildAll(out); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"go/greet": "greet v1\n", "c/hi": "hi one\n"} {
		if got := runWasm(t, filepath.Join(out, name+".wasm")); got != want {
			t.Errorf("%s printed %q, want %q", name, got, want)
		}
	}
}

func TestAllListsTheRealGuests(t *testing.T) {
	names := All()
	for _, want := range []string{"go/hello", "go/files", "go/escape", "c/files_c", "c/trap_c"} {
		if !slices.Contains(names, want) {
			t.Errorf("All() lacks %s: %v", want, names)
		}
	}
	for _, n := range names {
		if strings.Contains(n, "internal") {
			t.Errorf("All() lists the shared package dir: %s", n)
		}
	}
}

func TestCacheDirOverride(t *testing.T) {
	t.Setenv("TIMELAKE_GUEST_CACHE", "/some/where")
	if dir, err := CacheDir(); err != nil || dir != "/some/where" {
		t.Errorf("CacheDir() = %q, %v", dir, err)
	}
}

func TestPathBuildsRealGuest(t *testing.T) {
	t.Setenv("TIMELAKE_GUEST_CACHE", t.TempDir())
	// Default() is computed once per process; build through a fresh builder
	// on the real tree so the override above applies.
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	cache, _ := CacheDir()
	b, err := NewBuilder(root, cache)
	if err != nil {
		t.Fatal(err)
	}
	if got := runWasm(t, buildOK(t, b, "go/hello")); got != "hello, world\n" {
		t.Errorf("hello printed %q", got)
	}
	if got := runWasm(t, Path(t, "c/hello_c")); !strings.HasPrefix(got, "hello from C\n") {
		t.Errorf("hello_c printed %q", got)
	}
}
