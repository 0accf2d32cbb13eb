//go:build wasip1

package wasip1net

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// listenBacklog is the queue of pending connections asked of the host.
const listenBacklog = 128

// Listener is a TCP listener of this package: the standard library's
// *net.TCPListener over the socket, with the bound address and accepted
// connections that know their addresses.
type Listener struct {
	l    net.Listener
	addr net.Addr
}

// Listen binds a TCP socket to address ("tcp", "tcp4" or "tcp6") and
// listens on it. An empty host listens on every IPv4 address; port 0 asks
// the host for a free port, which Addr reports. The run must allow it
// (run --allow-listen).
func Listen(network, address string) (net.Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "listen", Net: network, Err: net.UnknownNetworkError(network)}
	}
	fd, ap, err := bindSocket(network, sockStream, address)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: stringAddr{network, address}, Err: err}
	}
	if err := sockListen(fd, listenBacklog); err != nil {
		syscall.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: network, Addr: sockAddr(network, ap), Err: os.NewSyscallError("sock_listen", err)}
	}
	l, err := fileListener(fd)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: sockAddr(network, ap), Err: err}
	}
	return l, nil
}

// bindSocket opens a non-blocking socket of sotype and binds it to the
// address, returning the descriptor and the address it was bound to.
func bindSocket(network string, sotype int, address string) (int, netip.AddrPort, error) {
	addrs, err := resolve(context.Background(), network, address, true)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	ap := addrs[0]
	fd, err := sockOpen(family(ap.Addr()), sotype)
	if err != nil {
		return -1, ap, os.NewSyscallError("sock_open", err)
	}
	if sotype == sockStream {
		// As net.Listen does: a restarted server rebinds its port at once.
		if err := sockSetoptInt(fd, solSocket, soReuseaddr, 1); err != nil && !errors.Is(err, syscall.ENOPROTOOPT) {
			syscall.Close(fd)
			return -1, ap, os.NewSyscallError("sock_setsockopt", err)
		}
	}
	if err := sockBind(fd, ap); err != nil {
		syscall.Close(fd)
		return -1, ap, os.NewSyscallError("sock_bind", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return -1, ap, os.NewSyscallError("setnonblock", err)
	}
	return fd, ap, nil
}

// fileListener hands a listening socket to net.FileListener. It makes the
// socket non-blocking first so accepts wait in the network poller.
func fileListener(fd int) (*Listener, error) {
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	laddr, _ := sockLocalAddr(fd)
	return &Listener{l: l, addr: net.TCPAddrFromAddrPort(laddr)}, nil
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			fixed := *op
			fixed.Addr = l.addr
			return nil, &fixed
		}
		return nil, err
	}
	conn := newConn(c, l.addr, &net.TCPAddr{})
	conn.fd(func(fd int) error {
		setNoDelay(fd)
		if ap, err := sockLocalAddr(fd); err == nil {
			conn.laddr = net.TCPAddrFromAddrPort(ap)
		}
		if ap, err := sockPeerAddr(fd); err == nil {
			conn.raddr = net.TCPAddrFromAddrPort(ap)
		}
		return nil
	})
	return conn, nil
}

// Close stops listening; a blocked Accept returns an error.
func (l *Listener) Close() error { return l.l.Close() }

// Addr is the address the listener is bound to, with the port the host
// chose when it was asked for port 0.
func (l *Listener) Addr() net.Addr { return l.addr }

// PreopenedListeners returns a listener for each listening socket the host
// opened before the program started (run --listen ADDR), in descriptor
// order. They follow the preopened directories in the descriptor table,
// so the scan starts after standard error and ends at the first unused
// descriptor.
func PreopenedListeners() ([]net.Listener, error) {
	var ls []net.Listener
	for fd := 3; ; fd++ {
		ft, err := fdFiletype(fd)
		if errors.Is(err, syscall.EBADF) {
			return ls, nil
		}
		if err != nil {
			return ls, os.NewSyscallError("fd_fdstat_get", err)
		}
		if ft != syscall.FILETYPE_SOCKET_STREAM {
			continue
		}
		if v, err := sockGetoptInt(fd, solSocket, soAcceptconn); err == nil && v == 0 {
			continue // a stream socket, but not a listening one
		}
		l, err := fileListener(fd)
		if err != nil {
			return ls, err
		}
		ls = append(ls, l)
	}
}
