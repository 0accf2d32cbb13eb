// Package wasip1http makes net/http's default client work in Go programs
// built with GOOS=wasip1 under timelake's run. Import it for its side
// effect:
//
//	import _ "github.com/timelake/timelake/sdk/go/wasip1http"
//
// http.DefaultTransport then dials with wasip1net.DialContext, and https
// URLs with wasip1net.DialTLSContext: the host runs TLS (hTLS) and the
// program speaks HTTP/1.1 in clear text over the socket, so the run records
// the requests and responses themselves. http.Get, http.Post and clients
// whose Transport is nil all follow.
//
// NewTransport returns a fresh transport configured the same way, for
// clients that want their own. On any other GOOS the package does nothing.
//
// Package wasip1http owns the wiring of net/http to wasip1net only.
package wasip1http
