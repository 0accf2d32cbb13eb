package wasi

import (
	"context"
	"errors"
	"testing"
)

func TestCheckImports(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t)
	tests := []struct {
		name string
		wasm func(t *testing.T) []byte
		want string // "" for no error
	}{{
		name: "abi guest uses only provided functions",
		wasm: func(t *testing.T) []byte { return guest(t, "abi") },
	}, {
		name: "unknown functions and a signature mismatch",
		wasm: func(t *testing.T) []byte { return guest(t, "badimports") },
		want: "unsupported imports: env.foo, wasi_snapshot_preview1.nonexistent, " +
			"wasi_snapshot_preview1.fd_close (signature mismatch)",
	}, {
		name: "imported memory",
		// (import "env" "memory" (memory 1)) (import "wasi_snapshot_preview1" "sock_open" (func))
		wasm: func(t *testing.T) []byte {
			imports := append([]byte{2}, importName("env", "memory")...)
			imports = append(imports, 2, 0, 1)
			imports = append(imports, importName(ModuleName, "sock_open")...)
			imports = append(imports, 0, 0)
			return wasmModule(section(1, 1, 0x60, 0, 0), section(2, imports...))
		},
		want: "unsupported imports: wasi_snapshot_preview1.sock_open (signature mismatch), env.memory (memory)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compiled, err := rt.CompileModule(ctx, tt.wasm(t))
			if err != nil {
				t.Fatal(err)
			}
			err = CheckImports(compiled)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckImports: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("CheckImports: %v\nwant %s", err, tt.want)
			case tt.want != "" && !errors.Is(err, ErrUnsupportedImports):
				t.Fatalf("error %v does not wrap ErrUnsupportedImports", err)
			}
		})
	}
}
