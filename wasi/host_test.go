package wasi

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// guestDir holds the guests built by this test binary; TestMain removes it.
var guestDir string

// compilationCache is shared by every runtime of the test binary, so each
// guest is compiled to machine code once.
var compilationCache = wazero.NewCompilationCache()

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "timelake-wasi-guests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	guestDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type guestBuild struct {
	once sync.Once
	wasm []byte
	err  error
}

var guests sync.Map // package dir -> *guestBuild

// guest builds the Go program in testdata/<name> for wasip1 once per test
// binary run and returns the module bytes.
func guest(t testing.TB, name string, extraFlags ...string) []byte {
	t.Helper()
	v, _ := guests.LoadOrStore(name, &guestBuild{})
	g := v.(*guestBuild)
	g.once.Do(func() {
		out := filepath.Join(guestDir, name+".wasm")
		args := append([]string{"build"}, extraFlags...)
		args = append(args, "-o", out, "./testdata/"+name)
		cmd := exec.Command("go", args...) // go test puts its own GOROOT/bin first in PATH
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			g.err = fmt.Errorf("build guest %s: %w\n%s", name, err, msg)
			return
		}
		g.wasm, g.err = os.ReadFile(out)
	})
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g.wasm
}

func newRuntime(t testing.TB) wazero.Runtime {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(compilationCache))
	t.Cleanup(func() { rt.Close(ctx) })
	return rt
}

// runGuest runs the abi guest's _start against s and returns the error of
// the call (a *sys.ExitError when the guest exits).
func runGuest(t *testing.T, s *fakeSystem) error {
	t.Helper()
	ctx := context.Background()
	rt := newRuntime(t)
	if _, err := Instantiate(ctx, rt, s); err != nil {
		t.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, guest(t, "abi"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = mod.ExportedFunction("_start").Call(ctx)
	return err
}

func exitCode(t *testing.T, err error) uint32 {
	t.Helper()
	var exit *sys.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("guest did not exit: %v", err)
	}
	return exit.ExitCode()
}

// Helpers building the expected bytes independently of the binding.
var (
	aa = func(n int) string { return strings.Repeat("aa", n) }
	u8 = func(v byte) string { return hex.EncodeToString([]byte{v}) }
	h  = func(v any) string {
		b, err := binary.Append(nil, binary.LittleEndian, v)
		if err != nil {
			panic(err)
		}
		return hex.EncodeToString(b)
	}
	zero = func(n int) string { return strings.Repeat("00", n) }
)

func fileStatHex(st FileStat) string {
	return h(st.Dev) + h(st.Ino) + u8(byte(st.Filetype)) + zero(7) + h(st.NLink) + h(st.Size) +
		h(st.ATim) + h(st.MTim) + h(st.CTim)
}

func direntHex(entries []DirEntry) []byte {
	var b []byte
	for _, e := range entries {
		b = binary.LittleEndian.AppendUint64(b, e.Next)
		b = binary.LittleEndian.AppendUint64(b, e.Ino)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Name)))
		b = append(b, byte(e.Type), 0, 0, 0)
		b = append(b, e.Name...)
	}
	return b
}

// TestABI runs each scenario of testdata/abi and checks what the System
// received, what the guest saw in its memory, and the errnos.
func TestABI(t *testing.T) {
	dirent := direntHex(testDir)
	many := direntHex(newFakeSystem().dirs[78])
	tests := []struct {
		scenario string
		calls    []string
		stdout   []string
	}{{
		scenario: "args",
		calls:    []string{"args_sizes_get()", "args_get()", "args_get()", "args_get()"},
		stdout: []string{
			"errnos [0 0 21 21 21 21]",
			"count 4 size 16",
			"offsets 0 4 9 13",
			`buf "abi\x00args\x00x y\x00é\x00\xaa"`,
		},
	}, {
		scenario: "environ",
		calls:    []string{"environ_sizes_get()", "environ_get()", "environ_get()", "environ_get()"},
		stdout: []string{
			"errnos [0 0 21 21 21 21]",
			"count 3 size 30",
			"offsets 0 4 23",
			`buf "A=1\x00PATH=/bin:/usr/bin\x00EMPTY=\x00\xaa"`,
		},
	}, {
		scenario: "clock",
		calls:    []string{"clock_res_get(id=1)", "clock_time_get(id=2 precision=0x8000000000000001)"},
		stdout: []string{
			"errnos [0 0 28 28 21 21]",
			"mem " + h(uint64(1001)) + h(uint64(0x0102030405060708)) + aa(8),
		},
	}, {
		scenario: "fd_read",
		calls:    []string{"fd_read(fd=77 iovs=[3 4])"},
		stdout:   []string{"errnos [0 21 21 21 21]", `nread 7 data "abc...defg......"`},
	}, {
		scenario: "fd_write",
		calls:    []string{`fd_write(fd=77 iovs=["hello" " " "world" ""])`, `fd_write(fd=7 iovs=["hello"])`},
		stdout:   []string{"errnos [0 21 21 8]", "nwritten 11 mem " + aa(4)},
	}, {
		scenario: "fd_pread_pwrite",
		calls: []string{"fd_pread(fd=77 iovs=[6] offset=0x123456789ab)",
			`fd_pwrite(fd=77 iovs=["data"] offset=0xfedcba9876543210)`},
		stdout: []string{"errnos [0 0 21 21]", `nread 6 nwritten 4 data "PREAD!"`},
	}, {
		scenario: "fd_seek_tell",
		calls:    []string{"fd_seek(fd=77 offset=-5 whence=2)", "fd_tell(fd=77)"},
		stdout: []string{
			"errnos [0 28 21 0 21]",
			"mem " + h(uint64(0x0a0b0c0d0e0f1011)) + h(uint64(0x99)) + aa(8),
		},
	}, {
		scenario: "stat",
		calls: []string{"fd_fdstat_get(fd=77)", "fd_filestat_get(fd=77)", "fd_prestat_get(fd=77)",
			"fd_prestat_dir_name(fd=77)", "fd_prestat_dir_name(fd=77)", "fd_fdstat_get(fd=5)"},
		stdout: []string{
			"errnos [0 0 0 0 37 21 21 21 21 8]",
			// filetype u8, pad, flags u16, pad u32, rights_base u64, rights_inheriting u64
			"fdstat " + "04" + "00" + h(uint16(5)) + zero(4) + h(uint64(0x0102030405060708)) +
				h(uint64(0x1112131415161718)) + aa(8),
			"filestat " + fileStatHex(testFileStat),
			"prestat " + "00" + zero(3) + h(uint32(5)) + aa(8),
			"name " + hex.EncodeToString([]byte("/data")) + aa(3) + aa(8),
			"untouched " + aa(24),
		},
	}, {
		scenario: "fd_misc",
		calls: []string{
			"fd_advise(fd=77 offset=8589934592 len=100 advice=4)",
			"fd_allocate(fd=77 offset=1099511627776 len=2199023255552)",
			"fd_close(fd=78)",
			"fd_datasync(fd=77)",
			"fd_sync(fd=77)",
			"fd_fdstat_set_flags(fd=77 flags=0x15)",
			"fd_fdstat_set_rights(fd=77 base=0x1fffffff inheriting=0x3)",
			"fd_filestat_set_size(fd=77 size=1099511627776)",
			"fd_filestat_set_times(fd=77 atim=111 mtim=222 flags=0xf)",
			"fd_renumber(from=77 to=78)",
			"proc_raise(sig=9)",
			"sched_yield()",
		},
		stdout: []string{"errnos [0 28 0 8 0 0 0 0 0 0 0 58 28 0]"},
	}, {
		scenario: "readdir",
		calls: []string{
			"fd_readdir(fd=77 cookie=0 buflen=200)",
			"fd_readdir(fd=77 cookie=0 buflen=60)",
			"fd_readdir(fd=77 cookie=2 buflen=200)",
			"fd_readdir(fd=77 cookie=0 buflen=40)",
			// 100 entries of 28 bytes, asked for in batches of 64
			"fd_readdir(fd=78 cookie=0 buflen=4096)",
			fmt.Sprintf("fd_readdir(fd=78 cookie=64 buflen=%d)", 4096-64*28),
			"fd_readdir(fd=5 cookie=0 buflen=100)",
		},
		stdout: []string{
			"errnos [0 0 0 0 21 21 0 8 0]",
			"bufused 82 60 30 40 2800 0",
			"full " + hex.EncodeToString(dirent) + aa(2),
			"trunc60 " + hex.EncodeToString(dirent[:60]) + aa(2),
			"cookie2 " + hex.EncodeToString(dirent[52:]) + aa(2),
			"trunc40 " + hex.EncodeToString(dirent[:40]) + aa(2),
			"many " + hex.EncodeToString(many) + aa(2),
		},
	}, {
		scenario: "path",
		calls: []string{
			`path_open(fd=77 dirflags=1 path="dir/file.txt" oflags=0x9 base=0x1234567890 inheriting=0x42 fdflags=0x11)`,
			`path_create_directory(fd=77 path="mk")`,
			`path_filestat_get(fd=77 flags=1 path="x")`,
			`path_filestat_set_times(fd=77 flags=0 path="y" atim=5 mtim=6 fst_flags=0xa)`,
			`path_link(old_fd=77 old_flags=1 old_path="old" new_fd=78 new_path="new")`,
			`path_readlink(fd=77 path="link" buflen=4)`,
			`path_readlink(fd=77 path="link" buflen=16)`,
			`path_remove_directory(fd=77 path="mk")`,
			`path_rename(fd=77 old_path="a" new_fd=78 new_path="b")`,
			`path_symlink(old_path="tgt" fd=77 new_path="lnk")`,
			`path_unlink_file(fd=77 path="gone")`,
		},
		stdout: []string{
			"errnos [0 21 21 0 0 21 0 0 21 0 0 21 0 0 0 0 21 21]",
			"opened 123",
			"filestat " + fileStatHex(testFileStat),
			`readlink 4 "targ" 6 "target` + strings.Repeat(`\xaa`, 10) + `"`,
		},
	}, {
		scenario: "poll",
		calls: []string{"poll_oneoff(clock(ud=0x1111 id=1 timeout=5000 precision=10 flags=0x1) " +
			"fd_read(ud=0x2222 fd=77) fd_write(ud=0x3333 fd=78))"},
		stdout: []string{
			"errnos [0 28 28 28 21 21 21 21]",
			"nevents 2 untouched " + aa(4),
			// userdata u64, error u16, type u8, pad, nbytes u64, flags u16, pad
			"events " +
				h(uint64(0x2222)) + h(uint16(0)) + "01" + zero(5) + h(uint64(42)) + h(uint16(1)) + zero(6) +
				h(uint64(0x3333)) + h(uint16(8)) + "02" + zero(5) + h(uint64(0)) + h(uint16(0)) + zero(6) +
				aa(32),
		},
	}, {
		scenario: "random",
		calls:    []string{"random_get(len=16)", "random_get(len=0)"},
		stdout:   []string{"errnos [0 21 0 21]", "mem 01080f161d242b323940474e555c636a" + aa(4)},
	}, {
		scenario: "sock",
		calls: []string{"sock_accept(fd=77 flags=0x4)", "sock_recv(fd=77 iovs=[3 5] flags=0x3)",
			`sock_send(fd=77 iovs=["ping"] flags=0x0)`, "sock_shutdown(fd=77 how=3)"},
		stdout: []string{
			"errnos [0 21 0 21 21 0 21 0]",
			"accepted 124 recv " + h(uint32(8)) + h(uint16(1)) + aa(2) + ` data "rec.....v-dat..." sent 4`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s := newFakeSystem("abi", tt.scenario, "x y", "é")
			err := runGuest(t, s)
			if code := exitCode(t, err); code != 0 {
				t.Fatalf("exit code %d, stderr:\n%s", code, s.stderr.String())
			}
			if !slices.Equal(s.log, tt.calls) {
				t.Errorf("System calls:\n got %s\nwant %s", strings.Join(s.log, "\n     "), strings.Join(tt.calls, "\n     "))
			}
			got := strings.Split(strings.TrimSuffix(s.stdout.String(), "\n"), "\n")
			if !slices.Equal(got, tt.stdout) {
				t.Errorf("guest output:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.stdout, "\n     "))
			}
			if !slices.Equal(s.exitCodes, []ExitCode{0}) {
				t.Errorf("ProcExit calls %v, want [0]", s.exitCodes)
			}
		})
	}
}

// TestProcExit checks that proc_exit reaches the System and stops the guest
// with a *sys.ExitError carrying the code.
func TestProcExit(t *testing.T) {
	for _, code := range []uint32{0, 3, 255, 1 << 20} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			s := newFakeSystem("abi", "exit", fmt.Sprint(code))
			err := runGuest(t, s)
			if got := exitCode(t, err); got != code {
				t.Errorf("exit code %d, want %d", got, code)
			}
			if !slices.Equal(s.exitCodes, []ExitCode{code}) {
				t.Errorf("ProcExit calls %v, want [%d]", s.exitCodes, code)
			}
			if got := s.stdout.String(); got != "exiting\n" {
				t.Errorf("stdout %q: the guest ran past proc_exit", got)
			}
		})
	}
}

// TestImportsMatchFuncTable checks the host module exports exactly the Func
// table, with the parameter and result types the binding declares.
func TestImportsMatchFuncTable(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	closer, err := Instantiate(ctx, rt, newFakeSystem())
	if err != nil {
		t.Fatal(err)
	}
	mod := closer.(api.Module)
	defs := mod.ExportedFunctionDefinitions()
	if len(defs) != int(FuncCount) {
		t.Errorf("%d host functions, want %d", len(defs), FuncCount)
	}
	want := map[string]string{
		"clock_time_get": "(id i32, precision i64, result.time i32) -> (errno i32)",
		"fd_pread":       "(fd i32, iovs i32, iovs_len i32, offset i64, result.nread i32) -> (errno i32)",
		"path_open": "(fd i32, dirflags i32, path i32, path_len i32, oflags i32, fs_rights_base i64, " +
			"fs_rights_inheriting i64, fdflags i32, result.opened_fd i32) -> (errno i32)",
		"proc_exit":   "(rval i32) -> ()",
		"sched_yield": "() -> (errno i32)",
	}
	for f := range FuncCount {
		def, ok := defs[f.String()]
		if !ok {
			t.Errorf("%s not exported", f)
			continue
		}
		if sig, ok := want[f.String()]; ok {
			if got := signature(def); got != sig {
				t.Errorf("%s%s, want %s", f, got, sig)
			}
		}
	}
}

func signature(def api.FunctionDefinition) string {
	list := func(names []string, types []api.ValueType) string {
		s := make([]string, len(types))
		for i, typ := range types {
			s[i] = names[i] + " " + api.ValueTypeName(typ)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return list(def.ParamNames(), def.ParamTypes()) + " -> " + list(def.ResultNames(), def.ResultTypes())
}

func TestInstantiateNilSystem(t *testing.T) {
	if _, err := Instantiate(context.Background(), newRuntime(t), nil); err == nil {
		t.Fatal("Instantiate accepted a nil System")
	}
}

// A module without memory gets EFAULT for any pointer instead of a panic.
// The module is written by hand: (func (export "run") (result i32)
// (call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 0))).
func TestNoMemory(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	if _, err := Instantiate(ctx, rt, newFakeSystem()); err != nil {
		t.Fatal(err)
	}
	bin := wasmModule(
		section(1, 2, 0x60, 3, 0x7f, 0x7e, 0x7f, 1, 0x7f, 0x60, 0, 1, 0x7f),
		section(2, append(append([]byte{1}, importName(ModuleName, "clock_time_get")...), 0, 0)...),
		section(3, 1, 1),
		section(7, 1, 3, 'r', 'u', 'n', 0, 1),
		section(10, 1, 10, 0, 0x41, 0, 0x42, 0, 0x41, 0, 0x10, 0, 0x0b),
	)
	mod, err := rt.Instantiate(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	res, err := mod.ExportedFunction("run").Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if Errno(res[0]) != EFAULT {
		t.Errorf("errno %s, want EFAULT", Errno(res[0]).Name())
	}
}

func wasmModule(sections ...[]byte) []byte {
	return bytes.Join(append([][]byte{{0, 'a', 's', 'm', 1, 0, 0, 0}}, sections...), nil)
}

// section encodes a section whose content is shorter than 128 bytes.
func section(id byte, content ...byte) []byte {
	return append([]byte{id, byte(len(content))}, content...)
}

func importName(module, name string) []byte {
	b := append([]byte{byte(len(module))}, module...)
	return append(append(b, byte(len(name))), name...)
}
