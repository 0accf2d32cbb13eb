// Package wasip1net gives Go programs built with GOOS=wasip1 the sockets of
// the WasmEdge extension to WASI preview 1, as timelake's run serves it (see
// docs/abi.md): Dial, DialContext and Listen for TCP and UDP, ListenPacket
// for unconnected UDP, DialTLSContext for host TLS offload (hTLS: the host
// wraps the connected socket in TLS, the guest speaks clear text, so the
// recording holds the clear text), and PreopenedListeners for the sockets
// `run --listen` opens before the program starts.
//
// Connections are the standard library's own: every socket is made
// non-blocking and handed to net.FileConn or net.FileListener, so reads,
// writes, accepts and deadlines go through Go's network poller (poll_oneoff
// on wasip1) and a goroutine blocked on a socket never blocks the others.
// The package adds what wasip1's net cannot do alone: creating, binding and
// connecting sockets, name resolution by the host (sock_getaddrinfo), the
// addresses of a connection, and datagrams to and from any address.
//
// On any other GOOS the package is empty, so code that imports it still
// builds (and vets) for the host.
//
// Package wasip1net owns the guest side of sockets only; the host side is
// sandbox/, the policy is run's --allow-connect and --allow-listen.
package wasip1net
