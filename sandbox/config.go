package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// Config is the policy of one sandboxed run: what the guest sees of the host.
// Nothing of the host is visible unless it is named here.
type Config struct {
	// Args is the guest's argv; Args[0] is the program name.
	Args []string
	// Env holds "KEY=VALUE" strings; the host environment is never inherited.
	Env []string
	// Stdin is read by fd 0; nil makes every read return end of file.
	Stdin *os.File
	// Stdout and Stderr receive fds 1 and 2; nil discards writes (they
	// still count as written). The System never closes these files.
	Stdout, Stderr *os.File
	// Mounts are the preopened directories, given fds 3, 4, ... in order.
	Mounts []Mount
	// MaxOpenFiles bounds the guest's fd table, stdio and preopens included;
	// 0 means DefaultMaxOpenFiles. Opening beyond it returns EMFILE.
	MaxOpenFiles int
	// Listen are TCP addresses (HOST:PORT, port 0 for any) on which the host
	// opens listening sockets before the guest starts. They get the fds
	// after the mounts, in order, and are reported as non-blocking stream
	// sockets, which Go's net.FileListener accepts. They need no policy rule.
	Listen []string
	// Net is the network policy; the zero value denies all networking.
	Net NetPolicy
	// CAFile names a PEM file of certificates trusted, in addition to the
	// host's system roots, by host TLS offload.
	CAFile string
}

// DefaultMaxOpenFiles is the fd table bound when Config.MaxOpenFiles is 0.
const DefaultMaxOpenFiles = 1024

// Mount exposes a host directory to the guest as a preopened directory.
type Mount struct {
	// HostPath is the directory on the host; it must exist.
	HostPath string
	// GuestPath is the name the guest sees in fd_prestat_dir_name.
	GuestPath string
	// ReadOnly withholds every right that would change the mounted tree.
	ReadOnly bool
}

// ErrBadMount reports a --dir value that ParseMount cannot read.
var ErrBadMount = errors.New("bad mount")

// ParseMount parses a --dir flag value of the form HOST[:GUEST][:ro|:rw].
// GUEST defaults to HOST. A two-part value whose second part is "ro" or "rw"
// is HOST:MODE, so a guest directory cannot be called plainly "ro"; write it
// "./ro" or "/ro". Host paths containing ':' are not supported.
func ParseMount(spec string) (Mount, error) {
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return Mount{}, fmt.Errorf("%w %q: want HOST[:GUEST][:ro]", ErrBadMount, spec)
	}
	m := Mount{HostPath: parts[0]}
	if m.HostPath == "" {
		return Mount{}, fmt.Errorf("%w %q: empty host path", ErrBadMount, spec)
	}
	rest := parts[1:]
	if n := len(rest); n > 0 {
		switch mode := rest[n-1]; {
		case mode == "ro" || mode == "rw":
			m.ReadOnly = mode == "ro"
			rest = rest[:n-1]
		case n == 2:
			return Mount{}, fmt.Errorf("%w %q: mode %q is neither ro nor rw", ErrBadMount, spec, mode)
		}
	}
	if len(rest) == 1 {
		m.GuestPath = rest[0]
	}
	if m.GuestPath == "" {
		m.GuestPath = m.HostPath
	}
	m.GuestPath = path.Clean(m.GuestPath)
	return m, nil
}
