// Package guest builds the test guests kept as sources under testdata/:
// Go programs in testdata/go/<name>/ (GOOS=wasip1 GOARCH=wasm) and C
// programs in testdata/c/<name>.c (clang --target=wasm32-wasi against
// Debian's wasi-libc). Tests ask for a guest by name ("go/hello",
// "c/files_c") and get the path of a .wasm built on demand.
//
// Built modules live in a cache directory shared by every test binary and
// run: $TIMELAKE_GUEST_CACHE, or timelake/guests under os.UserCacheDir().
// A module's file name carries a hash of everything its bytes depend on —
// the guest's source files, the module-local packages it imports (followed
// transitively), go.mod and go.sum when it imports third-party packages,
// the toolchain version and the build flags — so a source change always
// leads to a rebuild and a stale module is never returned. Builds write to
// a temporary directory and rename into place, so parallel test binaries
// may build the same guest at once.
//
// Package guest owns building guests only; running them is the job of the
// tests that ask for them.
package guest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cacheVersion is mixed into every key; bump it when the build procedure
// changes in a way the key does not otherwise capture.
const cacheVersion = "timelake-guest-cache v1"

// goBuildFlags and clangFlags are part of every cache key.
var (
	goBuildFlags = []string{"-trimpath", "-buildvcs=false"} // the same bytes from any checkout and commit
	clangFlags   = []string{"--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-Wall", "-Wextra", "-Werror"}
)

// aptHint is appended to every C build failure: these are the Debian
// packages that provide a working wasm32-wasi C toolchain.
const aptHint = "C guests need Debian's wasm32-wasi toolchain: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32"

// staleAge is how old a cached build of a guest with an out-of-date key must
// be before a fresh build of the same guest removes it. Builds younger than
// this may still be in use by another checkout sharing the cache.
const staleAge = time.Hour

// maxParallelBuilds bounds concurrent toolchain runs within one process.
const maxParallelBuilds = 2

// Builder builds guests of one source tree into one cache directory. Its
// methods are safe for concurrent use; concurrent requests for the same
// guest share one build.
type Builder struct {
	root       string // module root: holds go.mod and testdata/
	modulePath string // module path declared in root/go.mod
	cacheDir   string // where built modules are kept

	// lookPath finds a tool on PATH; tests replace it to simulate a
	// missing toolchain.
	lookPath func(string) (string, error)

	sem chan struct{} // bounds concurrent toolchain runs

	mu       sync.Mutex
	inflight map[string]*build // by guest name

	toolsOnce sync.Once
	goEnv     string // `go env` facts that change the output, or ""
	goErr     error
	clangOnce sync.Once
	clangVer  string
	clangErr  error

	builds int // toolchain runs that produced a module, for tests
}

type build struct {
	done chan struct{}
	path string
	err  error
}

// NewBuilder returns a Builder for the module rooted at root, caching into
// cacheDir.
func NewBuilder(root, cacheDir string) (*Builder, error) {
	modPath, err := readModulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	return &Builder{
		root:       root,
		modulePath: modPath,
		cacheDir:   cacheDir,
		lookPath:   exec.LookPath,
		sem:        make(chan struct{}, maxParallelBuilds),
		inflight:   map[string]*build{},
	}, nil
}

var (
	defaultOnce    sync.Once
	defaultBuilder *Builder
	defaultErr     error
)

// Default returns the Builder for the timelake source tree this process
// runs in (found from the working directory, as under `go test`), caching
// into CacheDir().
func Default() (*Builder, error) {
	defaultOnce.Do(func() {
		root, err := findRoot()
		if err != nil {
			defaultErr = err
			return
		}
		cache, err := CacheDir()
		if err != nil {
			defaultErr = err
			return
		}
		defaultBuilder, defaultErr = NewBuilder(root, cache)
	})
	return defaultBuilder, defaultErr
}

// CacheDir is where built guests are kept: $TIMELAKE_GUEST_CACHE if set,
// else timelake/guests under the user's cache directory.
func CacheDir() (string, error) {
	if dir := os.Getenv("TIMELAKE_GUEST_CACHE"); dir != "" {
		return dir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("guest cache directory: %w (set TIMELAKE_GUEST_CACHE)", err)
	}
	return filepath.Join(dir, "timelake", "guests"), nil
}

// Path builds the guest called name ("go/hello", "c/files_c") if needed and
// returns the path of its .wasm file. It fails the test if the guest cannot
// be built.
func Path(tb testing.TB, name string) string {
	tb.Helper()
	b, err := Default()
	if err != nil {
		tb.Fatalf("guest %s: %v", name, err)
	}
	path, err := b.Build(name)
	if err != nil {
		tb.Fatalf("guest %s: %v", name, err)
	}
	return path
}

// All lists every guest of the timelake source tree, sorted: "c/<name>"
// for each testdata/c/<name>.c and "go/<name>" for each package directory
// under testdata/go (but internal/, which holds packages guests share).
// It returns nil if the source tree cannot be found.
func All() []string {
	b, err := Default()
	if err != nil {
		return nil
	}
	names, err := b.All()
	if err != nil {
		return nil
	}
	return names
}

// BuildAll builds every guest of the timelake source tree and copies each
// into outDir/<go|c>/<name>.wasm.
func BuildAll(outDir string) error {
	b, err := Default()
	if err != nil {
		return err
	}
	return b.BuildAll(outDir)
}

// All lists the guests of b's source tree (see the package function All).
func (b *Builder) All() ([]string, error) {
	var names []string
	goDir := filepath.Join(b.root, "testdata", "go")
	entries, err := os.ReadDir(goDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list Go guests: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "internal" || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(goDir, e.Name(), "*.go"))
		if len(files) > 0 {
			names = append(names, "go/"+e.Name())
		}
	}
	cFiles, err := filepath.Glob(filepath.Join(b.root, "testdata", "c", "*.c"))
	if err != nil {
		return nil, fmt.Errorf("list C guests: %w", err)
	}
	for _, f := range cFiles {
		names = append(names, "c/"+strings.TrimSuffix(filepath.Base(f), ".c"))
	}
	slices.Sort(names)
	return names, nil
}

// BuildAll builds every guest and copies each into outDir/<go|c>/<name>.wasm.
// It builds them all even if some fail and reports every failure.
func (b *Builder) BuildAll(outDir string) error {
	names, err := b.All()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		path, err := b.Build(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("guest %s: %w", name, err))
			continue
		}
		if err := copyFile(path, filepath.Join(outDir, filepath.FromSlash(name)+".wasm")); err != nil {
			errs = append(errs, fmt.Errorf("guest %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Build returns the path of the built guest name, building it unless the
// cache already holds a module built from the same inputs.
func (b *Builder) Build(name string) (string, error) {
	b.mu.Lock()
	if bl, ok := b.inflight[name]; ok {
		b.mu.Unlock()
		<-bl.done
		return bl.path, bl.err
	}
	bl := &build{done: make(chan struct{})}
	b.inflight[name] = bl
	b.mu.Unlock()

	bl.path, bl.err = b.build(name)
	close(bl.done)
	if bl.err != nil {
		// Forget failures so a later call (after a fix) tries again.
		b.mu.Lock()
		delete(b.inflight, name)
		b.mu.Unlock()
	}
	return bl.path, bl.err
}

func (b *Builder) build(name string) (string, error) {
	kind, base, ok := strings.Cut(name, "/")
	if !ok || base == "" || strings.ContainsAny(base, `/\`) || base == "." || base == ".." {
		return "", fmt.Errorf("bad guest name %q: want go/<name> or c/<name>", name)
	}
	var key string
	var err error
	switch kind {
	case "go":
		key, err = b.goKey(base)
	case "c":
		key, err = b.cKey(base)
	default:
		return "", fmt.Errorf("bad guest name %q: kind must be go or c", name)
	}
	if err != nil {
		return "", err
	}
	prefix := kind + "-" + base + "-"
	final := filepath.Join(b.cacheDir, prefix+key+".wasm")
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() && st.Size() > 0 {
		return final, nil
	}

	b.sem <- struct{}{}
	defer func() { <-b.sem }()
	if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("guest cache: %w", err)
	}
	tmpDir, err := os.MkdirTemp(b.cacheDir, ".build-"+prefix)
	if err != nil {
		return "", fmt.Errorf("guest cache: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	out := filepath.Join(tmpDir, base+".wasm")
	switch kind {
	case "go":
		err = b.runGo(base, out)
	case "c":
		err = b.runClang(base, out)
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(out, final); err != nil {
		return "", fmt.Errorf("guest cache: %w", err)
	}
	b.mu.Lock()
	b.builds++
	b.mu.Unlock()
	b.pruneStale(prefix, final)
	return final, nil
}

// pruneStale removes older builds of the same guest (other keys) that are
// old enough not to be in use by a concurrent run of another checkout.
func (b *Builder) pruneStale(prefix, keep string) {
	old, _ := filepath.Glob(filepath.Join(b.cacheDir, prefix+"*.wasm"))
	for _, p := range old {
		if p == keep || strings.Contains(strings.TrimPrefix(filepath.Base(p), prefix), "-") {
			continue // the current build, or a guest whose name extends this one
		}
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > staleAge {
			os.Remove(p)
		}
	}
}

// goTool returns the go command: the one on PATH (go test puts its own
// GOROOT/bin first), else $GOROOT/bin/go.
func (b *Builder) goTool() (string, error) {
	if p, err := b.lookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("go command not found on PATH or in $GOROOT/bin")
}

// goEnvFacts returns the toolchain facts that change what `go build`
// produces, read once per Builder.
func (b *Builder) goEnvFacts() (string, error) {
	b.toolsOnce.Do(func() {
		gocmd, err := b.goTool()
		if err != nil {
			b.goErr = err
			return
		}
		cmd := exec.Command(gocmd, "env", "GOVERSION", "GOFLAGS", "GOEXPERIMENT", "GOWASM")
		cmd.Dir = b.root
		cmd.Env = guestGoEnv()
		out, err := cmd.Output()
		if err != nil {
			b.goErr = fmt.Errorf("go env: %w", err)
			return
		}
		b.goEnv = string(out)
	})
	return b.goEnv, b.goErr
}

func guestGoEnv() []string {
	return append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
}

// goKey hashes everything a Go guest's module depends on.
func (b *Builder) goKey(base string) (string, error) {
	dir := filepath.Join(b.root, "testdata", "go", base)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("no Go guest %q (want a package in %s)", base, dir)
	}
	facts, err := b.goEnvFacts()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\ngo %s\nflags %q\n", cacheVersion, facts, goBuildFlags)

	// Hash the guest's package and, transitively, every package of this
	// module it imports. Third-party imports pull in go.mod and go.sum.
	seen := map[string]bool{}
	queue := []string{dir}
	external := false
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		rel, _ := filepath.Rel(b.root, d)
		imports, err := hashDir(h, filepath.ToSlash(rel), d)
		if err != nil {
			return "", err
		}
		for _, imp := range imports {
			switch {
			case imp == b.modulePath || strings.HasPrefix(imp, b.modulePath+"/"):
				sub := strings.TrimPrefix(strings.TrimPrefix(imp, b.modulePath), "/")
				queue = append(queue, filepath.Join(b.root, filepath.FromSlash(sub)))
			case isStdlib(imp):
			default:
				external = true
			}
		}
	}
	if external {
		for _, f := range []string{"go.mod", "go.sum"} {
			if err := hashFile(h, f, filepath.Join(b.root, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

// hashDir feeds every regular file of dir (not recursing) into h, named by
// rel, and returns the import paths of its non-test Go files.
func hashDir(h io.Writer, rel, dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read guest sources: %w", err)
	}
	var imports []string
	fset := token.NewFileSet()
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if err := hashFile(h, rel+"/"+e.Name(), path); err != nil {
			return nil, err
		}
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return nil, fmt.Errorf("parse guest source: %w", err)
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err == nil {
				imports = append(imports, p)
			}
		}
	}
	return imports, nil
}

func hashFile(h io.Writer, name, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("hash guest source: %w", err)
	}
	fmt.Fprintf(h, "file %q %d\n", name, len(data))
	h.Write(data)
	return nil
}

// isStdlib reports whether an import path belongs to the standard library
// (whose first element has no dot), "C" included.
func isStdlib(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func (b *Builder) runGo(base, out string) error {
	gocmd, err := b.goTool()
	if err != nil {
		return err
	}
	args := append([]string{"build"}, goBuildFlags...)
	args = append(args, "-o", out, "./testdata/go/"+base)
	cmd := exec.Command(gocmd, args...)
	cmd.Dir = b.root
	cmd.Env = guestGoEnv()
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./testdata/go/%s: %w\n%s", base, err, bytes.TrimSpace(output))
	}
	return nil
}

// clangFacts returns the clang version and the identity of the wasi-libc it
// links against, read once per Builder.
func (b *Builder) clangFacts() (string, error) {
	b.clangOnce.Do(func() {
		clang, err := b.lookPath("clang")
		if err != nil {
			b.clangErr = fmt.Errorf("clang not found on PATH; %s", aptHint)
			return
		}
		version, err := exec.Command(clang, "--version").Output()
		if err != nil {
			b.clangErr = fmt.Errorf("clang --version: %w; %s", err, aptHint)
			return
		}
		libc, err := exec.Command(clang, append(clangFlags, "-print-file-name=libc.a")...).Output()
		libcPath := strings.TrimSpace(string(libc))
		if err != nil || !filepath.IsAbs(libcPath) {
			b.clangErr = fmt.Errorf("wasm32-wasi libc.a not found by clang; %s", aptHint)
			return
		}
		st, err := os.Stat(libcPath)
		if err != nil {
			b.clangErr = fmt.Errorf("wasi-libc: %w; %s", err, aptHint)
			return
		}
		b.clangVer = fmt.Sprintf("%s\nlibc %s %d %d", version, libcPath, st.Size(), st.ModTime().UnixNano())
	})
	return b.clangVer, b.clangErr
}

// cKey hashes the C guest's source, the headers beside it, the compiler
// and libc identity, and the flags.
func (b *Builder) cKey(base string) (string, error) {
	dir := filepath.Join(b.root, "testdata", "c")
	src := filepath.Join(dir, base+".c")
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("no C guest %q (want %s)", base, src)
	}
	facts, err := b.clangFacts()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nclang %s\nflags %q\n", cacheVersion, facts, clangFlags)
	if err := hashFile(h, base+".c", src); err != nil {
		return "", err
	}
	headers, _ := filepath.Glob(filepath.Join(dir, "*.h"))
	for _, hdr := range headers {
		if err := hashFile(h, filepath.Base(hdr), hdr); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20], nil
}

func (b *Builder) runClang(base, out string) error {
	clang, err := b.lookPath("clang")
	if err != nil {
		return fmt.Errorf("clang not found on PATH; %s", aptHint)
	}
	args := append(slices.Clone(clangFlags), "-o", out, filepath.Join("testdata", "c", base+".c"))
	cmd := exec.Command(clang, args...)
	cmd.Dir = b.root
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("clang %s: %w\n%s\n%s", strings.Join(args, " "), err, bytes.TrimSpace(output), aptHint)
	}
	return nil
}

// readModulePath returns the module path declared in a go.mod file.
func readModulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("guest source tree: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			p := strings.TrimSpace(rest)
			if unq, err := strconv.Unquote(p); err == nil {
				p = unq
			}
			return p, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read %s: %w", gomod, err)
	}
	return "", fmt.Errorf("%s declares no module", gomod)
}

// timelakeModule is the module whose testdata Default builds.
const timelakeModule = "github.com/timelake/timelake"

// findRoot locates the timelake module root: up from the working directory,
// else from this source file's location.
func findRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if p, err := readModulePath(filepath.Join(dir, "go.mod")); err == nil && p == timelakeModule {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("timelake source tree not found (run from inside it)")
}

// copyFile copies src to dst atomically (temporary file, then rename).
func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy guest: %w", err)
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy guest: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst))
	if err != nil {
		return fmt.Errorf("copy guest: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return fmt.Errorf("copy guest %s: %w", dst, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("copy guest %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("copy guest %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("copy guest: %w", err)
	}
	return nil
}
