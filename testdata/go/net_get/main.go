// Command net_get fetches each URL it is given with http.Get and prints the
// body, as Timecraft's get.wasm does: net_get URL... Importing
// sdk/go/wasip1http is all it takes for http.Get to dial through the host's
// sockets (and host TLS for https URLs). A failed request prints
// "net_get: URL: ERRNO" on stderr (the WASI errno name, or "error") and
// exits 1.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/timelake/timelake/testdata/go/internal/errname"

	_ "github.com/timelake/timelake/sdk/go/wasip1http"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: net_get URL...")
		os.Exit(64)
	}
	for _, url := range os.Args[1:] {
		if err := get(url); err != nil {
			fmt.Fprintf(os.Stderr, "net_get: %s: %s\n", url, errname.Of(err))
			os.Exit(1)
		}
	}
}

func get(url string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(os.Stdout, res.Body)
	return err
}
