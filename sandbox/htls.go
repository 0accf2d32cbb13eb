package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// Host TLS offload (hTLS, docs/abi.md): the guest sets the option
// (SolTimelake, HTLSServerName) on a connected TCP socket; the host performs
// the TLS handshake on that connection and from then on the guest's fd is
// one end of a socket pair whose other end a tunnel pumps to and from the
// TLS connection. The guest's fd keeps working with fd_read, fd_write,
// sock_recv, sock_send, poll_oneoff and shutdown as any socket, and every
// byte the guest sees (and the recording holds) is clear text.

// handshakeTimeout bounds the TLS handshake of hTLS.
const handshakeTimeout = 30 * time.Second

// tunnel pumps bytes between the guest's end of a socket pair and a TLS
// connection.
type tunnel struct {
	local, peer netip.AddrPort // of the TCP connection, for getlocaladdr/getpeeraddr
	tls         *tls.Conn
	pair        *net.UnixConn // the host's end of the socket pair
	wg          sync.WaitGroup
	once        sync.Once
}

// loadRoots returns the host's system roots plus the certificates of
// caFile (PEM), or nil (the system roots) when caFile is empty.
func loadRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("sandbox: CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("sandbox: CA file %s: no PEM certificates", caFile)
	}
	return pool, nil
}

// startTLS enables hTLS on a socket (see the file comment).
func (s *System) startTLS(ctx context.Context, e *fdEntry, value []byte) wasi.Errno {
	name := strings.TrimRight(string(value), "\x00")
	switch {
	case e.sock.stype != wasi.SockStream || e.sock.listening:
		return wasi.EPROTOTYPE
	case e.sock.tls != nil || e.sock.used:
		return wasi.EISCONN
	case name == "":
		return wasi.EINVAL
	}
	if e.sock.connecting {
		if errno := s.finishConnect(ctx, e); errno != 0 {
			return errno
		}
	}
	local, errno := s.sockname(e.host, false)
	if errno != 0 {
		return errno
	}
	peer, errno := s.sockname(e.host, true)
	if errno != 0 {
		return errno // ENOTCONN
	}
	// The TLS connection runs on a duplicate; the guest's fd stays the TCP
	// socket until the handshake succeeded.
	dup, err := unix.FcntlInt(uintptr(e.host), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return Errno(err)
	}
	f := os.NewFile(uintptr(dup), "htls")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return Errno(err)
	}
	tconn := tls.Client(conn, &tls.Config{ServerName: name, RootCAs: s.roots})
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err = tconn.HandshakeContext(hctx)
	cancel()
	if err != nil {
		conn.Close()
		return wasi.ECONNABORTED
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tconn.Close()
		return Errno(err)
	}
	hostEnd := os.NewFile(uintptr(pair[1]), "htls-pair")
	pc, err := net.FileConn(hostEnd)
	hostEnd.Close()
	if err != nil {
		unix.Close(pair[0])
		tconn.Close()
		return Errno(err)
	}
	t := &tunnel{local: local, peer: peer, tls: tconn, pair: pc.(*net.UnixConn)}
	unix.Close(e.host)
	e.host = pair[0]
	e.sock.tls = t
	t.wg.Add(2)
	go t.up()
	go t.down()
	return wasi.ESUCCESS
}

// up copies what the guest sends to the TLS connection; the guest's
// shutdown or close ends the TLS write side.
func (t *tunnel) up() {
	defer t.wg.Done()
	_, err := io.Copy(t.tls, t.pair)
	if err != nil {
		t.close()
		return
	}
	t.tls.CloseWrite()
}

// down copies what the TLS peer sends to the guest; the peer's close shuts
// the guest's read side.
func (t *tunnel) down() {
	defer t.wg.Done()
	_, err := io.Copy(t.pair, t.tls)
	if err != nil {
		t.close()
		return
	}
	t.pair.CloseWrite()
}

// close tears the tunnel down; wait waits for its goroutines.
func (t *tunnel) close() {
	t.once.Do(func() {
		t.tls.Close()
		t.pair.Close()
	})
}

func (t *tunnel) shutdown() {
	t.close()
	t.wg.Wait()
}
