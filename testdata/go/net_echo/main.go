// Command net_echo exercises TCP byte streams both ways:
//
//	net_echo dial ADDR SIZE   send SIZE bytes to an echo server at ADDR,
//	                          half-close, read the echo back to EOF, then
//	                          check a read deadline on an idle connection
//	net_echo serve ADDR N     listen on ADDR (sock_listen), print
//	                          "listening on ADDR", echo N connections, one
//	                          at a time, until each peer half-closes
//
// dial prints "sent N bytes", "echoed N bytes, same: true|false",
// "local A remote B" on two lines naming the addresses' kinds, and
// "read deadline: timeout"; serve prints "echoed N bytes" per connection.
// Failures print "net_echo: STEP: ERRNO" and exit 1.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/timelake/timelake/sdk/go/wasip1net"
	"github.com/timelake/timelake/testdata/go/internal/errname"
)

func main() {
	if len(os.Args) != 4 {
		usage()
	}
	n, err := strconv.Atoi(os.Args[3])
	if err != nil || n < 0 {
		usage()
	}
	switch os.Args[1] {
	case "dial":
		dial(os.Args[2], n)
	case "serve":
		serve(os.Args[2], n)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: net_echo dial ADDR SIZE | net_echo serve ADDR N")
	os.Exit(64)
}

func fail(step string, err error) {
	fmt.Printf("net_echo: %s: %s\n", step, errname.Of(err))
	os.Exit(1)
}

// payload is SIZE deterministic bytes, every value included.
func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func dial(addr string, size int) {
	c, err := wasip1net.Dial("tcp", addr)
	if err != nil {
		fail("dial", err)
	}
	fmt.Printf("local %s remote %s\n", c.LocalAddr().Network(), c.RemoteAddr())
	want := payload(size)
	sent := make(chan error, 1)
	go func() {
		n, err := c.Write(want)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		fmt.Printf("sent %d bytes\n", n)
		sent <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		fail("read", err)
	}
	if err := <-sent; err != nil {
		fail("write", err)
	}
	fmt.Printf("echoed %d bytes, same: %t\n", len(got), bytes.Equal(got, want))
	c.Close()

	// A connection the server never writes to: the deadline ends the read.
	idle, err := wasip1net.Dial("tcp", addr)
	if err != nil {
		fail("dial", err)
	}
	defer idle.Close()
	idle.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = idle.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded):
		fmt.Println("read deadline: timeout")
	default:
		fail("read deadline", err)
	}
}

func serve(addr string, n int) {
	l, err := wasip1net.Listen("tcp", addr)
	if err != nil {
		fail("listen", err)
	}
	defer l.Close()
	fmt.Printf("listening on %s\n", l.Addr())
	for range n {
		c, err := l.Accept()
		if err != nil {
			fail("accept", err)
		}
		m, err := io.Copy(c, c)
		if err != nil {
			fail("echo", err)
		}
		c.Close()
		fmt.Printf("echoed %d bytes\n", m)
	}
}
