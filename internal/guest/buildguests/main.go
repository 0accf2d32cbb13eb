// Command buildguests builds every test guest under testdata/ into
// OUTDIR/<go|c>/<name>.wasm, using the shared guest cache. `make testdata`
// runs it with OUTDIR testdata/build.
//
//	go run ./internal/guest/buildguests [OUTDIR]
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/timelake/timelake/internal/guest"
)

func main() {
	out := filepath.Join("testdata", "build")
	switch len(os.Args) {
	case 1:
	case 2:
		out = os.Args[1]
	default:
		fmt.Fprintln(os.Stderr, "usage: buildguests [OUTDIR]")
		os.Exit(2)
	}
	if err := guest.BuildAll(out); err != nil {
		fmt.Fprintln(os.Stderr, "buildguests:", err)
		os.Exit(1)
	}
	fmt.Printf("built %d guests into %s\n", len(guest.All()), out)
}
