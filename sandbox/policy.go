package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// NetPolicy says which network operations the guest may perform. The zero
// value denies every bind, listen, connect and send_to; sockets opened with
// Config.Listen need no rule.
//
// Connect rules (sock_connect, sock_send_to, sock_getaddrinfo results):
//
//   - any public address, any port
//     *:PORT        any public address, that port
//     IP, IP:PORT   one address ([v6]:PORT for IPv6), any port or that port
//     CIDR, CIDR:PORT ("[v6/n]:PORT" for IPv6)
//     HOST:PORT     the addresses HOST resolves to when the sandbox is created
//
// PORT may be "*" (any). Loopback, private (10/8, 172.16/12, 192.168/16,
// fc00::/7), carrier-grade NAT (100.64/10), link-local (169.254/16,
// fe80::/10), multicast, reserved and unspecified addresses, and the cloud
// metadata endpoints (169.254.169.254, 100.100.100.200, fd00:ec2::254), are
// special: "*" never covers them, and a rule covers a special address only
// if the rule lies wholly inside the narrowest special range holding it. So
// 127.0.0.1:8080 or 10.0.0.0/8 allow what they name, 0.0.0.0/0 allows only
// public addresses, and a metadata endpoint needs a rule naming exactly it.
// IPv4-mapped IPv6 addresses are checked as the IPv4 address.
//
// Listen rules (sock_bind, sock_listen) are ADDR = HOST:PORT: HOST empty or
// "*" is any local address (including the wildcard), otherwise one IP (or
// the addresses of a name); PORT 0 or "*" is any port.
type NetPolicy struct {
	Connect []string
	Listen  []string
}

// ErrBadRule reports a network rule that cannot be parsed.
var ErrBadRule = errors.New("bad network rule")

type connectRule struct {
	public bool         // "*": any public address
	prefix netip.Prefix // otherwise: addresses covered
	port   uint16       // 0: any
}

type listenRule struct {
	anyHost bool
	addr    netip.Addr
	port    uint16 // 0: any
}

// netPolicy is NetPolicy parsed.
type netPolicy struct {
	connect []connectRule
	listen  []listenRule
}

// special lists the address ranges "*" does not cover (see NetPolicy).
var special = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
		"100.64.0.0/10", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
		"169.254.169.254/32", "100.100.100.200/32",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "fd00:ec2::254/128",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// specialRange returns the narrowest special range holding ip.
func specialRange(ip netip.Addr) (netip.Prefix, bool) {
	var best netip.Prefix
	found := false
	for _, p := range special {
		if p.Contains(ip) && (!found || p.Bits() > best.Bits()) {
			best, found = p, true
		}
	}
	return best, found
}

// resolveTimeout bounds the lookups of host names in rules.
const resolveTimeout = 10 * time.Second

func parsePolicy(p NetPolicy) (*netPolicy, error) {
	np := &netPolicy{}
	for _, s := range p.Connect {
		rules, err := parseConnectRule(s)
		if err != nil {
			return nil, fmt.Errorf("%w: allow-connect %q: %v", ErrBadRule, s, err)
		}
		np.connect = append(np.connect, rules...)
	}
	for _, s := range p.Listen {
		rules, err := parseListenRule(s)
		if err != nil {
			return nil, fmt.Errorf("%w: allow-listen %q: %v", ErrBadRule, s, err)
		}
		np.listen = append(np.listen, rules...)
	}
	return np, nil
}

func parsePort(s string) (uint16, error) {
	if s == "*" || s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q is not a number in 0..65535 or *", s)
	}
	return uint16(n), nil
}

func hostPrefix(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	return netip.PrefixFrom(ip, ip.BitLen())
}

func parseConnectRule(s string) ([]connectRule, error) {
	if s == "*" {
		return []connectRule{{public: true}}, nil
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return []connectRule{{prefix: unmapPrefix(p)}}, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return []connectRule{{prefix: hostPrefix(ip)}}, nil
	}
	host, portStr, err := splitHostPort(s)
	if err != nil {
		return nil, err
	}
	port, err := parsePort(portStr)
	if err != nil {
		return nil, err
	}
	switch {
	case host == "*":
		return []connectRule{{public: true, port: port}}, nil
	case host == "":
		return nil, errors.New("empty host")
	}
	if p, err := netip.ParsePrefix(host); err == nil {
		return []connectRule{{prefix: unmapPrefix(p), port: port}}, nil
	}
	ips, err := lookupRuleHost(host)
	if err != nil {
		return nil, err
	}
	var rules []connectRule
	for _, ip := range ips {
		rules = append(rules, connectRule{prefix: hostPrefix(ip), port: port})
	}
	return rules, nil
}

func parseListenRule(s string) ([]listenRule, error) {
	host, portStr, err := splitHostPort(s)
	if err != nil {
		return nil, err
	}
	port, err := parsePort(portStr)
	if err != nil {
		return nil, err
	}
	if host == "" || host == "*" {
		return []listenRule{{anyHost: true, port: port}}, nil
	}
	ips, err := lookupRuleHost(host)
	if err != nil {
		return nil, err
	}
	var rules []listenRule
	for _, ip := range ips {
		rules = append(rules, listenRule{addr: ip.Unmap(), port: port})
	}
	return rules, nil
}

// splitHostPort splits HOST:PORT, accepting "[v6/n]:PORT" for prefixes.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || !strings.HasPrefix(s[end+1:], ":") {
			return "", "", errors.New("want [IPv6]:PORT")
		}
		return s[1:end], s[end+2:], nil
	}
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", "", errors.New("want HOST:PORT, CIDR[:PORT], IP or *")
	}
	return s[:i], s[i+1:], nil
}

// lookupRuleHost resolves a host of a rule: an IP, or a name.
func lookupRuleHost(host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	return ips, nil
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if ip := p.Addr(); ip.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(ip.Unmap(), p.Bits()-96)
	}
	return p
}

// allowConnect reports whether the guest may connect or send to addr. With
// anyPort, the port is ignored (a resolved name has no port yet).
func (np *netPolicy) allowConnect(addr netip.AddrPort, anyPort bool) bool {
	ip := addr.Addr().Unmap()
	sp, isSpecial := specialRange(ip)
	for _, r := range np.connect {
		if !anyPort && r.port != 0 && r.port != addr.Port() {
			continue
		}
		if r.public {
			if !isSpecial {
				return true
			}
			continue
		}
		if r.prefix.Contains(ip) && (!isSpecial || r.prefix.Bits() >= sp.Bits()) {
			return true
		}
	}
	return false
}

// allowListen reports whether the guest may bind or listen on addr.
func (np *netPolicy) allowListen(addr netip.AddrPort) bool {
	ip := addr.Addr().Unmap()
	for _, r := range np.listen {
		if r.port != 0 && r.port != addr.Port() {
			continue
		}
		if r.anyHost || r.addr == ip {
			return true
		}
	}
	return false
}
