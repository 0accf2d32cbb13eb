package schemas

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/wasi"
)

// Net is a row of the net table: one per socket operation — every sock_*
// call, and fd_read, fd_write and fd_close on an fd that is a socket. Data
// holds every byte sent or received (the HTTP derivation and `query trace
// network -v` need them whole), so the table is as large as the traffic.
type Net struct {
	RunID     string  `parquet:"run_id,dict"`
	Seq       int64   `parquet:"seq,delta"`
	Time      int64   `parquet:"time,timestamp(microsecond),delta"`
	OffsetNS  int64   `parquet:"offset_ns,delta"`
	Func      string  `parquet:"func,dict"`
	Op        string  `parquet:"op,dict"`             // open, bind, connect, listen, accept, send, recv, send_to, recv_from, shutdown, close, getsockopt, setsockopt, getlocaladdr, getpeeraddr, getaddrinfo
	FD        *int64  `parquet:"fd,optional"`         // the socket acted on (the listener for accept); null for getaddrinfo
	Conn      *int64  `parquet:"conn,optional"`       // the connection: the seq of the call that created the socket (sock_open, sock_accept), or -1-fd for a socket the run started with; null when the fd is not a known socket
	Protocol  string  `parquet:"protocol,dict"`       // tcp or udp; empty when unknown
	Family    string  `parquet:"family,dict"`         // inet or inet6; empty when unknown
	LocalAddr *string `parquet:"local_addr,optional"` // the socket's address as known at this call (bind, getlocaladdr, the listener's), ip:port
	PeerAddr  *string `parquet:"peer_addr,optional"`  // the remote address: the connection's, or the datagram's for send_to and recv_from, or the connect target
	Direction string  `parquet:"direction,dict"`      // out (send), in (recv), or empty for other operations
	Size      int64   `parquet:"size"`                // bytes moved: sent (accepted by the host) or received
	Data      []byte  `parquet:"data"`                // the bytes moved, all of them
	Errno     string  `parquet:"errno,dict"`          // ESUCCESS or the error name
	NewFD     *int64  `parquet:"new_fd,optional"`     // the fd sock_open or sock_accept returned
	Detail    string  `parquet:"detail"`              // for operations that move no data: the call rendered strace-style (options, getaddrinfo results, shutdown flags)

	fd, conn, newFD int64
	local, peer     string
}

func (r *Net) link() {
	if r.FD != nil {
		r.FD = &r.fd
	}
	if r.Conn != nil {
		r.Conn = &r.conn
	}
	if r.NewFD != nil {
		r.NewFD = &r.newFD
	}
	if r.LocalAddr != nil {
		r.LocalAddr = &r.local
	}
	if r.PeerAddr != nil {
		r.PeerAddr = &r.peer
	}
}

// Socket roles.
const (
	RoleClient   = "client"   // connected by the guest (sock_connect)
	RoleServer   = "server"   // accepted by the guest (sock_accept)
	RoleListener = "listener" // listening (sock_listen, or a --listen socket)
)

// SockInfo describes a socket fd of a run, as far as its calls tell. It is
// part of FDTable, hence of compact's run state (JSON).
type SockInfo struct {
	Conn   int64     `json:"c"`            // net.conn
	Proto  string    `json:"pr,omitempty"` // tcp or udp
	Family string    `json:"f,omitempty"`  // inet or inet6
	Local  string    `json:"l,omitempty"`  // ip:port
	Peer   string    `json:"r,omitempty"`  // ip:port
	Role   string    `json:"ro,omitempty"` // one of the Role* constants
	HTTP   *HTTPConn `json:"h,omitempty"`  // the HTTP derivation's state (TCP only)
}

// Clone returns a deep copy of t: rows built from the copy leave t as it was.
func (t FDTable) Clone() FDTable {
	if t == nil {
		return nil
	}
	c := maps.Clone(t)
	for fd, fi := range c {
		if fi.Sock != nil {
			s := *fi.Sock
			s.HTTP = fi.Sock.HTTP.clone()
			fi.Sock = &s
			c[fd] = fi
		}
	}
	return c
}

// AddListeners records the listening TCP sockets a run started with (the
// runner's --listen), which take fds first, first+1, ... in order.
func (t FDTable) AddListeners(first uint32, addrs []string) {
	for i, a := range addrs {
		fd := first + uint32(i)
		s := &SockInfo{Conn: -1 - int64(fd), Proto: "tcp", Role: RoleListener}
		if ap, err := netip.ParseAddrPort(a); err == nil {
			s.Local, s.Family = ap.String(), wasi.FamilyOf(ap.Addr()).String()
		}
		t[fd] = FDInfo{Kind: FDSocket, Sock: s}
	}
}

// ListenAddrs reads the listening addresses a run started with from its
// recorded policy (segment.Metadata.Policy): the "listen" list, when the
// runner wrote one.
func ListenAddrs(policy []byte) []string {
	var p struct {
		Listen []string `json:"listen"`
	}
	if len(policy) == 0 || json.Unmarshal(policy, &p) != nil {
		return nil
	}
	return p.Listen
}

// sock returns the socket at fd. A socket the records did not open (the
// run started with it) is learnt when a call on it succeeds.
func (b *Builder) sock(fd wasi.FD, ok bool) *SockInfo {
	fi, known := b.FDs[fd]
	if known && fi.Sock != nil {
		return fi.Sock
	}
	if !ok || known && fi.Kind != FDUnknown && fi.Kind != FDSocket {
		return nil
	}
	s := &SockInfo{Conn: -1 - int64(fd)}
	b.FDs[fd] = FDInfo{Kind: FDSocket, Sock: s}
	return s
}

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func protoOf(t wasi.SocketType) string {
	if t == wasi.SockDgram {
		return "udp"
	}
	return "tcp"
}

// netRow appends the net row of a socket operation, updates what the fd
// table knows of the socket, and feeds the HTTP derivation.
func (b *Builder) netRow(rec *capture.Record, ok bool) {
	var (
		s        *SockInfo
		fd       wasi.FD
		hasFD    = true
		op, dir  string
		data     []byte
		moved    bool // a data operation (send or receive)
		newFD    = int64(-1)
		rowPeer  string
		closeNow bool
	)
	switch c := rec.Call.(type) {
	case *capture.SockOpen:
		op, hasFD = "open", ok
		if ok {
			fd, newFD = c.NewFD, int64(c.NewFD)
			s = &SockInfo{Conn: int64(rec.Seq), Proto: protoOf(c.SockType), Family: c.Family.String()}
			b.FDs[c.NewFD] = FDInfo{Kind: FDSocket, Sock: s}
		}
	case *capture.SockBind:
		fd, op = c.FD, "bind"
		if s = b.sock(fd, ok); s != nil && ok {
			s.Local = addrString(c.Addr)
		}
	case *capture.SockConnect:
		fd, op, rowPeer = c.FD, "connect", addrString(c.Addr)
		started := ok || rec.Errno == wasi.EINPROGRESS
		if s = b.sock(fd, started); s != nil && started {
			s.Peer, s.Role = rowPeer, RoleClient
		}
	case *capture.SockListen:
		fd, op = c.FD, "listen"
		if s = b.sock(fd, ok); s != nil && ok {
			s.Role = RoleListener
		}
	case *capture.SockAccept:
		fd, op = c.FD, "accept"
		if s = b.sock(fd, ok); s != nil && ok {
			if s.Role == "" {
				s.Role = RoleListener
			}
			ns := &SockInfo{Conn: int64(rec.Seq), Proto: s.Proto, Family: s.Family, Role: RoleServer}
			if ns.Proto == "" {
				ns.Proto = "tcp"
			}
			if ap, err := netip.ParseAddrPort(s.Local); err == nil && !ap.Addr().IsUnspecified() {
				ns.Local = s.Local
			}
			newFD = int64(c.NewFD)
			b.FDs[c.NewFD] = FDInfo{Kind: FDSocket, Sock: ns}
			s = ns // the row belongs to the new connection
		}
	case *capture.SockRecv:
		fd, op, dir, moved = c.FD, "recv", "in", true
		s, data = b.sock(fd, ok), okData(ok, c.Data)
	case *capture.SockSend:
		fd, op, dir, moved = c.FD, "send", "out", true
		s, data = b.sock(fd, ok), okData(ok, c.Data[:min(int(c.N), len(c.Data))])
	case *capture.SockRecvFrom:
		fd, op, dir, moved = c.FD, "recv_from", "in", true
		s, data = b.sock(fd, ok), okData(ok, c.Data)
		if ok {
			rowPeer = addrString(c.Addr)
		}
	case *capture.SockSendTo:
		fd, op, dir, moved = c.FD, "send_to", "out", true
		s, data, rowPeer = b.sock(fd, ok), okData(ok, c.Data[:min(int(c.N), len(c.Data))]), addrString(c.Addr)
	case *capture.SockShutdown:
		fd, op = c.FD, "shutdown"
		s = b.sock(fd, ok)
	case *capture.SockGetOpt:
		fd, op = c.FD, "getsockopt"
		s = b.sock(fd, ok)
	case *capture.SockSetOpt:
		fd, op = c.FD, "setsockopt"
		s = b.sock(fd, ok)
	case *capture.SockGetLocalAddr:
		fd, op = c.FD, "getlocaladdr"
		if s = b.sock(fd, ok); s != nil && ok {
			s.Local = addrString(c.Addr)
			if s.Family == "" {
				s.Family = wasi.FamilyOf(c.Addr.Addr()).String()
			}
		}
	case *capture.SockGetPeerAddr:
		fd, op = c.FD, "getpeeraddr"
		if s = b.sock(fd, ok); s != nil && ok {
			s.Peer = addrString(c.Addr)
		}
	case *capture.SockGetAddrInfo:
		op, hasFD = "getaddrinfo", false
	case *capture.FDRead:
		if s = b.FDs[c.FD].Sock; s == nil {
			return
		}
		fd, op, dir, moved, data = c.FD, "recv", "in", true, okData(ok, c.Data)
	case *capture.FDWrite:
		if s = b.FDs[c.FD].Sock; s == nil {
			return
		}
		fd, op, dir, moved, data = c.FD, "send", "out", true, okData(ok, c.Data[:min(int(c.N), len(c.Data))])
	case *capture.FDClose:
		if s = b.FDs[c.FD].Sock; s == nil {
			return
		}
		fd, op, closeNow = c.FD, "close", ok
	case *capture.FDStatGet:
		// A socket the run started with shows itself by its file type.
		if fi, known := b.FDs[c.FD]; ok && (!known || fi.Kind == FDUnknown) &&
			(c.Stat.Filetype == wasi.FiletypeSocketStream || c.Stat.Filetype == wasi.FiletypeSocketDgram) {
			s := &SockInfo{Conn: -1 - int64(c.FD), Proto: "tcp"}
			if c.Stat.Filetype == wasi.FiletypeSocketDgram {
				s.Proto = "udp"
			}
			b.FDs[c.FD] = FDInfo{Kind: FDSocket, Sock: s}
		}
		return
	default:
		return
	}

	b.Net = append(b.Net, Net{
		RunID:     b.RunID,
		Seq:       int64(rec.Seq),
		Time:      (b.StartNS + rec.Time) / 1000,
		OffsetNS:  rec.Time,
		Func:      rec.Func.String(),
		Op:        op,
		Direction: dir,
		Size:      int64(len(data)),
		Data:      data,
		Errno:     rec.Errno.Name(),
	})
	r := &b.Net[len(b.Net)-1]
	if hasFD {
		r.fd, r.FD = int64(fd), present
	}
	if newFD >= 0 {
		r.newFD, r.NewFD = newFD, present
	}
	if !moved {
		r.Detail = b.Calls[len(b.Calls)-1].Args
	}
	if s != nil {
		r.conn, r.Conn = s.Conn, present
		r.Protocol, r.Family = s.Proto, s.Family
		if s.Local != "" {
			r.local, r.LocalAddr = s.Local, presentStr
		}
		if s.Peer != "" {
			r.peer, r.PeerAddr = s.Peer, presentStr
		}
	}
	if rowPeer != "" {
		r.peer, r.PeerAddr = rowPeer, presentStr
	}

	if s == nil || s.Proto == "udp" {
		return
	}
	at := httpAt{Seq: int64(rec.Seq), Micros: r.Time, NS: rec.Time}
	switch {
	case moved && ok && len(data) > 0:
		if s.HTTP == nil {
			s.HTTP = &HTTPConn{}
			if s.Role == RoleServer {
				s.HTTP.ReqDir = "in"
			} else if s.Role == RoleClient {
				s.HTTP.ReqDir = "out"
			}
		}
		b.cur = s
		s.HTTP.feed(dir, at, data, b.emitHTTP)
	case moved && ok && dir == "in" && s.HTTP != nil:
		b.cur = s
		s.HTTP.eof(dir, at, b.emitHTTP) // a read of 0 bytes: the peer closed
	case closeNow && s.HTTP != nil:
		b.cur = s
		s.HTTP.close(at, b.emitHTTP)
		s.HTTP = nil
	}
}

func okData(ok bool, d []byte) []byte {
	if !ok {
		return nil
	}
	return d
}

// emitHTTP appends an exchange of the connection b.cur.
func (b *Builder) emitHTTP(h *HTTP) {
	s := b.cur
	h.RunID, h.Conn = b.RunID, s.Conn
	h.Role = s.Role
	if h.Role != RoleServer {
		h.Role = RoleClient
		if s.HTTP != nil && s.HTTP.ReqDir == "in" {
			h.Role = RoleServer
		}
	}
	if s.Local != "" {
		l := s.Local
		h.LocalAddr = &l
	}
	if s.Peer != "" {
		p := s.Peer
		h.PeerAddr = &p
	}
	b.HTTP = append(b.HTTP, *h)
}

// Finish ends the run: the exchanges still open on its sockets become http
// rows flagged truncated, stamped with seq and offsetNS (the run's last call
// and its end). Call it once the run's last record was added.
func (b *Builder) Finish(seq, offsetNS int64) {
	at := httpAt{Seq: seq, Micros: (b.StartNS + offsetNS) / 1000, NS: offsetNS}
	fds := slices.Sorted(maps.Keys(b.FDs))
	for _, fd := range fds {
		s := b.FDs[fd].Sock
		if s == nil || s.HTTP == nil {
			continue
		}
		b.cur = s
		s.HTTP.close(at, b.emitHTTP)
		s.HTTP = nil
	}
}

// DeriveHTTP rebuilds the http rows of a run from its net rows, which must
// be in seq order (as the net table sorts them). It is the derivation
// compact runs, usable over net rows written by any version; rows are
// stamped with runID.
func DeriveHTTP(runID string, rows []Net) []HTTP {
	b := &Builder{RunID: runID}
	conns := map[int64]*SockInfo{}
	var last httpAt
	for i := range rows {
		r := &rows[i]
		last = httpAt{Seq: r.Seq, Micros: r.Time, NS: r.OffsetNS}
		if r.Conn == nil || r.Protocol == "udp" {
			continue
		}
		s := conns[*r.Conn]
		if s == nil {
			s = &SockInfo{Conn: *r.Conn, Proto: r.Protocol, Family: r.Family}
			conns[*r.Conn] = s
		}
		if r.LocalAddr != nil {
			s.Local = *r.LocalAddr
		}
		if r.PeerAddr != nil && r.Op != "send_to" && r.Op != "recv_from" {
			s.Peer = *r.PeerAddr
		}
		ok := r.Errno == wasi.ESUCCESS.Name()
		switch {
		case r.Op == "connect" && (ok || r.Errno == wasi.EINPROGRESS.Name()):
			s.Role = RoleClient
		case r.Op == "accept" && ok:
			s.Role = RoleServer
		}
		b.cur = s
		switch {
		case (r.Op == "send" || r.Op == "recv") && ok && len(r.Data) > 0:
			if s.HTTP == nil {
				s.HTTP = &HTTPConn{}
				if s.Role == RoleServer {
					s.HTTP.ReqDir = "in"
				} else if s.Role == RoleClient {
					s.HTTP.ReqDir = "out"
				}
			}
			s.HTTP.feed(r.Direction, last, r.Data, b.emitHTTP)
		case r.Op == "recv" && ok && s.HTTP != nil:
			s.HTTP.eof("in", last, b.emitHTTP)
		case r.Op == "close" && ok && s.HTTP != nil:
			s.HTTP.close(last, b.emitHTTP)
			s.HTTP = nil
		}
	}
	for _, c := range slices.Sorted(maps.Keys(conns)) {
		if s := conns[c]; s.HTTP != nil {
			b.cur = s
			s.HTTP.close(last, b.emitHTTP)
		}
	}
	return b.HTTP
}
