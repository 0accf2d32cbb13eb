//go:build wasip1

package wasip1net

import (
	"context"
	"net"
	"os"
)

// DialTLSContext connects to address over TCP and asks the host to run TLS
// on the connection (host TLS offload, hTLS): the host verifies the
// server's certificate for the address's host name against its own roots
// (plus run --ca-file) and encrypts; the returned connection carries clear
// text, which is what the run records. A failed handshake or certificate
// check is ECONNABORTED.
func DialTLSContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Addr: stringAddr{network, address}, Err: err}
	}
	return DialTLSWithServerName(ctx, network, address, host)
}

// DialTLSWithServerName is DialTLSContext with the name the certificate
// must be valid for given explicitly.
func DialTLSWithServerName(ctx context.Context, network, address, serverName string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	c, err := DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	conn := c.(*Conn)
	err = conn.fd(func(fd int) error {
		return sockSetoptBytes(fd, timelakeLevel, htlsServerName, []byte(serverName))
	})
	if err != nil {
		conn.Close()
		return nil, &net.OpError{Op: "tls", Net: network, Source: conn.laddr, Addr: conn.raddr, Err: os.NewSyscallError("sock_setsockopt", err)}
	}
	return conn, nil
}
