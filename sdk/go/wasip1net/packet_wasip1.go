//go:build wasip1

package wasip1net

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// PacketConn is an unconnected UDP socket made by ListenPacket. The
// socket is the standard library's *net.UDPConn (Close and deadlines are
// its own); ReadFrom and WriteTo use sock_recv_from and sock_send_to,
// which wasip1's net lacks, waiting in the network poller like any other
// read or write.
type PacketConn struct {
	c       net.Conn // *net.UDPConn from net.FileConn
	raw     syscall.RawConn
	network string
	laddr   net.Addr
}

// ListenPacket binds a UDP socket to address ("udp", "udp4" or "udp6").
// Port 0 asks the host for a free port, which LocalAddr reports. The run
// must allow the bind (run --allow-listen) and every destination written
// to (run --allow-connect).
func ListenPacket(network, address string) (*PacketConn, error) {
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	fd, ap, err := bindSocket(network, sockDgram, address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: stringAddr{network, address}, Err: err}
	}
	f := os.NewFile(uintptr(fd), "socket")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: sockAddr(network, ap), Err: err}
	}
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	if bound, err := sockLocalAddr(fd); err == nil {
		ap = bound
	}
	return &PacketConn{c: c, raw: raw, network: network, laddr: sockAddr(network, ap)}, nil
}

// ReadFromUDPAddrPort reads one datagram into b and returns its length and
// sender. A datagram longer than b is truncated.
func (p *PacketConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	var n int
	var from netip.AddrPort
	var opErr error
	err := p.raw.Read(func(fd uintptr) bool {
		n, from, opErr = sockRecvFrom(int(fd), b)
		return opErr != syscall.EAGAIN
	})
	if err == nil {
		err = opErr
		if err != nil {
			err = os.NewSyscallError("sock_recv_from", err)
		}
	}
	if err != nil {
		return 0, netip.AddrPort{}, p.opError("read", nil, err)
	}
	return n, from, nil
}

// ReadFrom reads one datagram into b and returns its length and sender.
func (p *PacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := p.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteToUDPAddrPort sends b as one datagram to addr.
func (p *PacketConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	var n int
	var opErr error
	err := p.raw.Write(func(fd uintptr) bool {
		n, opErr = sockSendTo(int(fd), b, addr)
		return opErr != syscall.EAGAIN
	})
	if err == nil {
		err = opErr
		if err != nil {
			err = os.NewSyscallError("sock_send_to", err)
		}
	}
	if err != nil {
		return 0, p.opError("write", net.UDPAddrFromAddrPort(addr), err)
	}
	return n, nil
}

// WriteTo sends b as one datagram to addr, a *net.UDPAddr.
func (p *PacketConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, p.opError("write", addr, syscall.EINVAL)
	}
	return p.WriteToUDPAddrPort(b, ua.AddrPort())
}

func (p *PacketConn) opError(op string, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: p.network, Source: p.laddr, Addr: addr, Err: err}
}

// Close closes the socket; blocked reads and writes return an error.
func (p *PacketConn) Close() error { return p.c.Close() }

// LocalAddr is the address the socket is bound to.
func (p *PacketConn) LocalAddr() net.Addr { return p.laddr }

// SetDeadline sets the read and write deadlines.
func (p *PacketConn) SetDeadline(t time.Time) error { return p.c.SetDeadline(t) }

// SetReadDeadline sets the deadline of ReadFrom.
func (p *PacketConn) SetReadDeadline(t time.Time) error { return p.c.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of WriteTo.
func (p *PacketConn) SetWriteDeadline(t time.Time) error { return p.c.SetWriteDeadline(t) }

var _ net.PacketConn = (*PacketConn)(nil)
