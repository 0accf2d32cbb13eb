// Command net_nettest runs golang.org/x/net/nettest.TestConn inside the
// guest, over TCP connections made by sdk/go/wasip1net: each test gets a
// fresh pair, one end dialed (sock_connect) and the other accepted from a
// listener on 127.0.0.1:0 (sock_bind, sock_listen, sock_accept). The
// tests run under the testing package's own runner, so flags such as
// -test.v and -test.run work; it prints PASS or the failures and exits 0
// or 1 as `go test` would.
package main

import (
	"net"
	"testing"

	"golang.org/x/net/nettest"

	"github.com/timelake/timelake/sdk/go/wasip1net"
)

func main() {
	tests := []testing.InternalTest{
		{Name: "TestConn", F: func(t *testing.T) { nettest.TestConn(t, makePipe) }},
	}
	testing.Main(matchAll, tests, nil, nil)
}

// matchAll is the pattern matcher testing.Main asks for; -test.run still
// filters through it.
func matchAll(pat, str string) (bool, error) { return true, nil }

// makePipe returns a connected TCP pair through the host's sockets.
func makePipe() (c1, c2 net.Conn, stop func(), err error) {
	l, err := wasip1net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, nil, err
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	acceptErr := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			acceptErr <- err
			return
		}
		accepted <- c
	}()
	c1, err = wasip1net.Dial("tcp", l.Addr().String())
	if err != nil {
		return nil, nil, nil, err
	}
	select {
	case c2 = <-accepted:
	case err = <-acceptErr:
		c1.Close()
		return nil, nil, nil, err
	}
	stop = func() {
		c1.Close()
		c2.Close()
	}
	return c1, c2, stop, nil
}
