//go:build wasip1

package wasip1net

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
)

// Conn is a connection made by Dial, DialContext, DialTLSContext or
// accepted by a Listener of this package. It is the standard library's
// *net.TCPConn or *net.UDPConn (reads, writes and deadlines are theirs)
// with the local and remote addresses wasip1's net cannot learn.
type Conn struct {
	net.Conn
	laddr, raddr net.Addr
}

func newConn(c net.Conn, laddr, raddr net.Addr) *Conn {
	return &Conn{Conn: c, laddr: laddr, raddr: raddr}
}

// LocalAddr returns the address of the local end.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the address of the peer.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// Read reads from the connection; errors name the connection's addresses.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	return n, c.fixErr(err)
}

// Write writes to the connection; errors name the connection's addresses.
func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	return n, c.fixErr(err)
}

// CloseWrite shuts down the sending side of a TCP connection.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return c.fixErr(cw.CloseWrite())
	}
	return &net.OpError{Op: "close", Net: c.laddr.Network(), Source: c.laddr, Addr: c.raddr, Err: syscall.ENOTSUP}
}

// CloseRead shuts down the receiving side of a TCP connection.
func (c *Conn) CloseRead() error {
	if cr, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return c.fixErr(cr.CloseRead())
	}
	return &net.OpError{Op: "close", Net: c.laddr.Network(), Source: c.laddr, Addr: c.raddr, Err: syscall.ENOTSUP}
}

// SyscallConn gives access to the socket's file descriptor.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, syscall.ENOTSUP
}

// fixErr puts the connection's addresses into the errors of the standard
// library's conn, which only knows empty ones. Only error paths allocate.
func (c *Conn) fixErr(err error) error {
	var op *net.OpError
	if err == nil || !errors.As(err, &op) {
		return err
	}
	fixed := *op
	fixed.Source, fixed.Addr = c.laddr, c.raddr
	return &fixed
}

// fd runs f with the socket's descriptor.
func (c *Conn) fd(f func(fd int) error) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// sockAddr is the net.Addr of ap on network: *net.TCPAddr or *net.UDPAddr.
func sockAddr(network string, ap netip.AddrPort) net.Addr {
	switch network {
	case "udp", "udp4", "udp6":
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}

// stringAddr is an address that could not be parsed or resolved.
type stringAddr struct{ net, addr string }

func (a stringAddr) Network() string { return a.net }
func (a stringAddr) String() string  { return a.addr }
