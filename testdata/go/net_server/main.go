// Command net_server is an HTTP server: net_server [-listen ADDR]. Without
// -listen it serves on the first socket the host opened for it (run
// --listen ADDR, found with wasip1net.PreopenedListeners); with -listen it
// binds ADDR itself (sock_bind, sock_listen: run --allow-listen). Built for
// the host OS, -listen uses net.Listen, so the same program runs natively
// for comparison.
//
// It prints "listening on ADDR" once it accepts connections, then serves:
//
//	GET  /      "hello from net_server\n"
//	POST /echo  the request body
//	GET  /quit  "bye\n", then shuts down
//
// On shutdown it prints "served N requests" and exits 0. A listener it
// cannot get prints "net_server: listen: ERRNO" and exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"

	"github.com/timelake/timelake/testdata/go/internal/errname"
)

func main() {
	addr := flag.String("listen", "", "address to bind (default: the listener the host opened)")
	flag.Parse()

	l, err := listen(*addr)
	if err != nil {
		// The errno name only: the message is the same on every runtime.
		fmt.Fprintln(os.Stderr, "net_server: listen:", errname.Of(err))
		os.Exit(1)
	}
	var served atomic.Int64
	quit := make(chan struct{})
	var quitOnce atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from net_server\n")
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		// Read it all first: an HTTP/1 handler may not read the request
		// once it has started the response.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	})
	mux.HandleFunc("GET /quit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "bye\n")
		if quitOnce.CompareAndSwap(false, true) {
			close(quit)
		}
	})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		mux.ServeHTTP(w, r)
	})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	fmt.Printf("listening on %s\n", l.Addr())

	select {
	case err := <-done:
		fmt.Fprintln(os.Stderr, "net_server:", err)
		os.Exit(1)
	case <-quit:
	}
	// Finish the requests in flight, /quit's response included.
	if err := srv.Shutdown(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "net_server: shutdown:", err)
		os.Exit(1)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "net_server:", err)
		os.Exit(1)
	}
	fmt.Printf("served %d requests\n", served.Load())
}
