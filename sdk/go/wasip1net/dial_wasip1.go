//go:build wasip1

package wasip1net

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it wakes every waiter.
var aLongTimeAgo = time.Unix(1, 0)

// Dial connects to address on the named network: "tcp", "tcp4", "tcp6",
// "udp", "udp4" or "udp6". A host name is resolved by the host, which
// checks every address against the run's policy; each address is tried in
// turn until one connects.
func Dial(network, address string) (net.Conn, error) {
	return DialContext(context.Background(), network, address)
}

// DialContext is Dial bounded by ctx: a deadline or cancellation of ctx
// aborts a connection in progress. Once connected, ctx has no effect.
func DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	sotype, err := socketType(network)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	addrs, err := resolve(ctx, network, address, false)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: stringAddr{network, address}, Err: err}
	}
	var first error
	for _, ap := range addrs {
		c, err := dialAddr(ctx, network, sotype, ap)
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &net.OpError{Op: "dial", Net: network, Addr: sockAddr(network, addrs[0]), Err: first}
}

// dialAddr connects one socket to ap. The socket is non-blocking from the
// start, so a connection in progress (EINPROGRESS) is waited for by the
// network poller, where ctx can interrupt it.
func dialAddr(ctx context.Context, network string, sotype int, ap netip.AddrPort) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, mapContextErr(err)
	}
	fd, err := sockOpen(family(ap.Addr()), sotype)
	if err != nil {
		return nil, os.NewSyscallError("sock_open", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	inProgress := false
	switch err := sockConnect(fd, ap); err {
	case nil:
	case syscall.EINPROGRESS, syscall.EAGAIN:
		inProgress = true
	default:
		syscall.Close(fd)
		return nil, os.NewSyscallError("sock_connect", err)
	}
	// The os.File owns fd until net.FileConn takes its own reference
	// (wasip1 has no dup: the two share a reference count).
	f := os.NewFile(uintptr(fd), "socket")
	defer f.Close()
	if inProgress {
		if err := waitConnected(ctx, f); err != nil {
			return nil, err
		}
	}
	if sotype == sockStream {
		setNoDelay(fd)
	}
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	laddr, _ := sockLocalAddr(fd)
	raddr, err := sockPeerAddr(fd)
	if err != nil {
		raddr = ap // a connected UDP socket of a host that does not know its peer
	}
	return newConn(c, sockAddr(network, laddr), sockAddr(network, raddr)), nil
}

// waitConnected waits until the connection in progress on f is established
// or has failed, or ctx ends.
func waitConnected(ctx context.Context, f *os.File) error {
	if deadline, ok := ctx.Deadline(); ok {
		if err := f.SetWriteDeadline(deadline); err != nil {
			return err
		}
		defer f.SetWriteDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(aLongTimeAgo) })
	defer stop()
	raw, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var connectErr error
	first := true
	waitErr := raw.Write(func(fd uintptr) bool {
		if first {
			// Just started: nothing to learn before the socket turns
			// writable.
			first = false
			return false
		}
		soerr, err := sockGetoptInt(int(fd), solSocket, soError)
		if err != nil {
			connectErr = os.NewSyscallError("sock_getsockopt", err)
			return true
		}
		switch e := syscall.Errno(soerr); e {
		case 0, syscall.EISCONN:
			// The poller may wake early: connected means a peer is known.
			if _, err := sockPeerAddr(int(fd)); errors.Is(err, syscall.ENOTCONN) {
				return false
			}
			return true
		case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
			return false
		default:
			connectErr = os.NewSyscallError("sock_connect", e)
			return true
		}
	})
	if err := ctx.Err(); err != nil {
		return mapContextErr(err)
	}
	if waitErr != nil {
		return waitErr
	}
	return connectErr
}

// mapContextErr turns the end of a context into the error net.Dialer
// returns for it.
func mapContextErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return os.ErrDeadlineExceeded
	}
	return err
}

func socketType(network string) (int, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return sockStream, nil
	case "udp", "udp4", "udp6":
		return sockDgram, nil
	}
	return 0, net.UnknownNetworkError(network)
}

func family(ip netip.Addr) int {
	if ip.Is4() {
		return afInet4
	}
	return afInet6
}

// setNoDelay turns Nagle's algorithm off, as net does for every TCP
// connection: a request or response written in pieces must not wait for
// the peer's delayed acknowledgement. A host without the option is left
// as it is.
func setNoDelay(fd int) {
	sockSetoptInt(fd, ipprotoTCP, tcpNodelay, 1)
}
