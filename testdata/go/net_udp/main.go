// Command net_udp exchanges datagrams with a UDP server that answers each
// datagram with its upper-cased payload: net_udp ADDR.
//
// First over a connected socket (Dial "udp": sock_connect, fd_write,
// fd_read), then over an unconnected one (ListenPacket on 127.0.0.1:0:
// sock_bind, sock_send_to, sock_recv_from), then a read deadline on the
// unconnected socket with nothing to read. It prints each reply, whether
// the unconnected reply came from ADDR, and "read deadline: timeout".
// Failures print "net_udp: STEP: ERRNO" and exit 1.
package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/timelake/timelake/sdk/go/wasip1net"
	"github.com/timelake/timelake/testdata/go/internal/errname"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: net_udp ADDR")
		os.Exit(64)
	}
	server, err := netip.ParseAddrPort(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "net_udp: ADDR must be IP:PORT")
		os.Exit(64)
	}

	c, err := wasip1net.Dial("udp", server.String())
	if err != nil {
		fail("dial", err)
	}
	buf := make([]byte, 2048)
	for i := 1; i <= 3; i++ {
		if _, err := fmt.Fprintf(c, "ping %d", i); err != nil {
			fail("write", err)
		}
		n, err := c.Read(buf)
		if err != nil {
			fail("read", err)
		}
		fmt.Printf("connected reply: %s\n", buf[:n])
	}
	c.Close()

	p, err := wasip1net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fail("listen", err)
	}
	defer p.Close()
	if _, err := p.WriteToUDPAddrPort([]byte("hello, datagram"), server); err != nil {
		fail("write to", err)
	}
	n, from, err := p.ReadFromUDPAddrPort(buf)
	if err != nil {
		fail("read from", err)
	}
	fmt.Printf("unconnected reply: %s (from the server: %t)\n", buf[:n], from == server)

	p.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := p.ReadFromUDPAddrPort(buf); errors.Is(err, os.ErrDeadlineExceeded) {
		fmt.Println("read deadline: timeout")
	} else {
		fail("read deadline", err)
	}
}

func fail(step string, err error) {
	fmt.Printf("net_udp: %s: %s\n", step, errname.Of(err))
	os.Exit(1)
}
