//go:build wasip1

package wasip1net

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// maxAddrs bounds the addresses one name resolves to.
const maxAddrs = 16

// wellKnownPorts are the service names a guest may use for a port without
// a services database (wasip1 has no /etc/services).
var wellKnownPorts = map[string]uint16{"http": 80, "https": 443}

// LookupHost resolves host with the host's resolver (sock_getaddrinfo),
// which the run's policy may refuse.
func LookupHost(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ips, err := getaddrinfo(host, afUnspec, sockStream)
	if err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: host, IsNotFound: errors.Is(err, errNoSuchHost), UnwrapErr: err}
	}
	return ips, nil
}

// resolve turns a "host:port" address on network into the addresses to
// connect to (passive false) or the one to bind (passive true).
func resolve(ctx context.Context, network, address string, passive bool) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := parsePort(portStr)
	if err != nil {
		return nil, err
	}
	want4 := strings.HasSuffix(network, "4")
	want6 := strings.HasSuffix(network, "6")
	var ips []netip.Addr
	switch {
	case host == "" && passive:
		ips = []netip.Addr{netip.IPv4Unspecified()}
		if want6 {
			ips = []netip.Addr{netip.IPv6Unspecified()}
		}
	case host == "":
		// As net.Dial: no host means this machine.
		ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1})}
		if want6 {
			ips = []netip.Addr{netip.IPv6Loopback()}
		}
	default:
		if strings.Contains(host, "%") {
			return nil, &net.AddrError{Err: "IPv6 zones are not supported", Addr: host}
		}
		if ips, err = LookupHost(ctx, host); err != nil {
			return nil, err
		}
	}
	var out []netip.AddrPort
	for _, ip := range ips {
		ip = ip.Unmap()
		if (want4 && !ip.Is4()) || (want6 && !ip.Is6()) {
			continue
		}
		out = append(out, netip.AddrPortFrom(ip, port))
	}
	if len(out) == 0 {
		return nil, &net.AddrError{Err: "no suitable address found", Addr: host}
	}
	return out, nil
}

func parsePort(s string) (uint16, error) {
	if p, ok := wellKnownPorts[s]; ok {
		return p, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, &net.AddrError{Err: "invalid port", Addr: s}
	}
	return uint16(n), nil
}
