//go:build wasip1

package wasip1http

import (
	"net/http"

	"github.com/timelake/timelake/sdk/go/wasip1net"
)

func init() {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		configure(t)
	}
}

// NewTransport returns a clone of net/http's default transport that dials
// through wasip1net, with host TLS for https URLs.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	configure(t)
	return t
}

func configure(t *http.Transport) {
	t.DialContext = wasip1net.DialContext
	// With a TLS dialer that returns a plain connection, the transport
	// writes HTTP/1.1 to it as is: the host encrypts.
	t.DialTLSContext = wasip1net.DialTLSContext
	t.ForceAttemptHTTP2 = false
}
