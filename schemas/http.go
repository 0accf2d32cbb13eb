package schemas

import (
	"bytes"
	"strconv"
	"strings"
)

// The HTTP derivation: HTTP/1.x exchanges rebuilt from the two byte streams
// of a TCP connection. It is incremental (bytes arrive call by call, a
// connection may span segments and compaction passes) and its state is plain
// JSON, kept with the run's fd table between passes. The same code serves
// compact (through Builder) and re-derivation over net rows (DeriveHTTP).
//
// What it handles: keep-alive (several exchanges per connection),
// pipelining (requests sent before earlier responses arrived; responses are
// matched to requests in order), Content-Length, chunked transfer encoding
// (bodies are stored de-chunked, trailers dropped), bodies delimited by the
// close of the connection, responses without a body (HEAD, 1xx, 204, 304),
// interim 1xx responses (100 Continue is skipped, the final response
// counts), and captures cut short (the exchanges open when the connection
// or the run ends are emitted with truncated set). A connection whose bytes
// are not HTTP/1.x (TLS, another protocol, garbage) stops the derivation
// for that connection; exchanges already complete are kept. Content codings
// (gzip) are not decoded: body prefixes are the bytes on the wire after
// de-chunking.

// HTTPBodyPrefix is the number of body bytes an http row keeps of each
// request and response body; the *_body_size columns give the full size.
const HTTPBodyPrefix = 4096

// Bounds that keep the derivation's state small whatever the bytes are.
const (
	maxHTTPHeader  = 64 << 10 // a request or response head (start line and headers)
	maxChunkLine   = 1 << 10  // a chunk-size line
	maxHTTPPending = 256      // exchanges waiting for their response (pipelining)
)

// Header is one header field of an HTTP message, as sent (name case kept,
// value trimmed of surrounding white space), in message order.
type Header struct {
	Name  string `parquet:"name" json:"n"`
	Value string `parquet:"value" json:"v"`
}

// HTTP is a row of the http table: one HTTP/1.x request/response exchange
// rebuilt from a connection's bytes, seen from the recorded program's side
// (role client: it sent the request; role server: it received it).
type HTTP struct {
	RunID            string   `parquet:"run_id,dict" json:"-"`
	Seq              int64    `parquet:"seq,delta" json:"-"`                        // the call that completed the row: the response's last byte, or the close or run end that cut the exchange
	Conn             int64    `parquet:"conn" json:"conn"`                          // the connection (net.conn)
	Exchange         int64    `parquet:"exchange" json:"ex"`                        // position of the exchange on its connection, from 0
	Role             string   `parquet:"role,dict" json:"role"`                     // client or server
	LocalAddr        *string  `parquet:"local_addr,optional" json:"-"`              // the program's end of the connection, ip:port
	PeerAddr         *string  `parquet:"peer_addr,optional" json:"-"`               // the other end
	RequestSeq       *int64   `parquet:"request_seq,optional" json:"rqs,omitempty"` // the call that moved the request's first byte; null when no request was seen
	RequestTime      *int64   `parquet:"request_time,timestamp(microsecond),optional" json:"rqt,omitempty"`
	ResponseSeq      *int64   `parquet:"response_seq,optional" json:"rss,omitempty"`                         // the call that moved the response's first byte; null when none came
	ResponseTime     *int64   `parquet:"response_time,timestamp(microsecond),optional" json:"rst,omitempty"` // when the response's last byte moved (null when it did not)
	LatencyNS        *int64   `parquet:"latency_ns,optional" json:"lat,omitempty"`                           // from the request's first byte to the response's last, in ns
	Method           string   `parquet:"method,dict" json:"m,omitempty"`                                     // GET, POST, ...; empty when no request was seen
	Host             string   `parquet:"host,dict" json:"h,omitempty"`                                       // the Host header, or the authority of an absolute target
	Path             string   `parquet:"path" json:"p,omitempty"`                                            // the request target as sent (path and query)
	Proto            string   `parquet:"proto,dict" json:"v,omitempty"`                                      // HTTP/1.1 or HTTP/1.0, as the request (else the response) said
	Status           *int64   `parquet:"status,optional" json:"s,omitempty"`                                 // final status code; null when no response head was seen
	Reason           string   `parquet:"reason,dict" json:"r,omitempty"`                                     // the reason phrase
	RequestHeaders   []Header `parquet:"request_headers,list" json:"rqh,omitempty"`
	ResponseHeaders  []Header `parquet:"response_headers,list" json:"rsh,omitempty"`
	RequestBodySize  int64    `parquet:"request_body_size" json:"rqn,omitempty"`  // body bytes (de-chunked) seen
	ResponseBodySize int64    `parquet:"response_body_size" json:"rsn,omitempty"` // body bytes (de-chunked) seen
	RequestBody      []byte   `parquet:"request_body" json:"rqb,omitempty"`       // the first HTTPBodyPrefix bytes of the request body
	ResponseBody     []byte   `parquet:"response_body" json:"rsb,omitempty"`      // the first HTTPBodyPrefix bytes of the response body
	Truncated        bool     `parquet:"truncated" json:"t,omitempty"`            // the capture ended before the exchange did (connection closed or run ended mid-message)
}

// httpAt is where a byte chunk was in the run.
type httpAt struct {
	Seq    int64 `json:"q"`
	Micros int64 `json:"t"` // wall clock, UTC microseconds
	NS     int64 `json:"o"` // ns since the run started
}

// Parser states of one direction.
const (
	hsHead       uint8 = iota // reading a start line and headers
	hsBody                    // reading Left body bytes
	hsChunkSize               // reading a chunk-size line
	hsChunkData               // reading Left chunk bytes
	hsChunkCRLF               // reading the line end after chunk data
	hsTrailer                 // reading trailer fields up to the empty line
	hsUntilClose              // the body runs to the end of the stream
)

// httpSide is the parser of one direction of a connection.
type httpSide struct {
	State uint8  `json:"s,omitempty"`
	Buf   []byte `json:"b,omitempty"` // the head, chunk line or trailer read so far
	Left  int64  `json:"n,omitempty"` // body or chunk bytes still to come
	Start httpAt `json:"a"`           // where the current head started
	EOF   bool   `json:"e,omitempty"` // the stream ended
}

// httpExchange is an exchange in progress.
type httpExchange struct {
	Row      HTTP  `json:"row"`
	ReqDone  bool  `json:"qd,omitempty"`
	RespDone bool  `json:"sd,omitempty"`
	StartNS  int64 `json:"ns,omitempty"` // the request's first byte, ns since the run started
	HasReq   bool  `json:"hq,omitempty"`
	Tunnel   bool  `json:"tn,omitempty"` // 101 or a successful CONNECT: the bytes after it are not HTTP
}

// HTTPConn is the state of the HTTP derivation on one connection. Its
// fields are exported for JSON only (compact keeps it with the run's state
// between passes); they are not an API.
type HTTPConn struct {
	Dead    bool            `json:"dead,omitempty"` // not HTTP (or tunneled): nothing more is derived
	ReqDir  string          `json:"dir,omitempty"`  // the direction requests travel: "out" (client) or "in" (server)
	Req     httpSide        `json:"q"`
	Resp    httpSide        `json:"s"`
	Pending []*httpExchange `json:"p,omitempty"` // in request order
	Next    int64           `json:"x,omitempty"` // index of the next exchange
}

// clone returns a deep copy of c.
func (c *HTTPConn) clone() *HTTPConn {
	if c == nil {
		return nil
	}
	d := *c
	d.Req.Buf = bytes.Clone(c.Req.Buf)
	d.Resp.Buf = bytes.Clone(c.Resp.Buf)
	d.Pending = make([]*httpExchange, len(c.Pending))
	for i, e := range c.Pending {
		x := *e
		x.Row.RequestHeaders = append([]Header(nil), e.Row.RequestHeaders...)
		x.Row.ResponseHeaders = append([]Header(nil), e.Row.ResponseHeaders...)
		x.Row.RequestBody = bytes.Clone(e.Row.RequestBody)
		x.Row.ResponseBody = bytes.Clone(e.Row.ResponseBody)
		d.Pending[i] = &x
	}
	return &d
}

// httpEmit receives the exchanges a connection completes.
type httpEmit func(*HTTP)

// feed adds bytes that moved in direction dir ("in" or "out") at at.
func (c *HTTPConn) feed(dir string, at httpAt, data []byte, emit httpEmit) {
	if c.Dead || len(data) == 0 {
		return
	}
	if c.ReqDir == "" {
		c.ReqDir = dir // in HTTP the client speaks first
	}
	if dir == c.ReqDir {
		c.feedSide(&c.Req, true, at, data, emit)
	} else {
		c.feedSide(&c.Resp, false, at, data, emit)
	}
}

// eof marks the end of the stream in direction dir (a read of 0 bytes).
func (c *HTTPConn) eof(dir string, at httpAt, emit httpEmit) {
	if c.Dead || c.ReqDir == "" {
		return
	}
	if dir != c.ReqDir {
		c.Resp.EOF = true
		if c.Resp.State == hsUntilClose {
			if e := c.respTarget(); e != nil {
				c.respDone(e, at)
				c.flush(at, emit)
			}
			c.Resp.State = hsHead
		}
	} else {
		c.Req.EOF = true
	}
}

// close ends the connection: every exchange still open is emitted,
// truncated (a body delimited by the close counts as complete when the
// stream's end was seen).
func (c *HTTPConn) close(at httpAt, emit httpEmit) {
	if c.Resp.State == hsUntilClose && c.Resp.EOF {
		if e := c.respTarget(); e != nil {
			c.respDone(e, at)
		}
	}
	for _, e := range c.Pending {
		if !e.ReqDone || !e.RespDone {
			e.Row.Truncated = true
		}
		c.emit(e, at, emit)
	}
	c.Pending = nil
	c.Dead = true
}

func (c *HTTPConn) emit(e *httpExchange, at httpAt, emit httpEmit) {
	row := e.Row
	row.Seq = at.Seq
	if len(row.RequestBody) == 0 {
		row.RequestBody = nil
	}
	if len(row.ResponseBody) == 0 {
		row.ResponseBody = nil
	}
	emit(&row)
}

// flush emits the complete exchanges at the front of the queue.
func (c *HTTPConn) flush(at httpAt, emit httpEmit) {
	n := 0
	for n < len(c.Pending) && c.Pending[n].ReqDone && c.Pending[n].RespDone {
		c.emit(c.Pending[n], at, emit)
		if c.Pending[n].Tunnel {
			c.Dead = true
		}
		n++
	}
	if n > 0 {
		clear(c.Pending[:n])
		c.Pending = append(c.Pending[:0], c.Pending[n:]...)
	}
	if c.Dead {
		c.close(at, emit)
	}
}

// respTarget is the exchange the response direction is filling: the first
// without a complete response.
func (c *HTTPConn) respTarget() *httpExchange {
	for _, e := range c.Pending {
		if !e.RespDone {
			return e
		}
	}
	return nil
}

// reqTarget is the exchange whose request is being read.
func (c *HTTPConn) reqTarget() *httpExchange {
	if n := len(c.Pending); n > 0 && !c.Pending[n-1].ReqDone {
		return c.Pending[n-1]
	}
	return nil
}

func (c *HTTPConn) respDone(e *httpExchange, at httpAt) {
	e.RespDone = true
	t, ns := at.Micros, at.NS
	e.Row.ResponseTime = &t
	if e.HasReq {
		lat := ns - e.StartNS
		e.Row.LatencyNS = &lat
	}
}

func (c *HTTPConn) fail(at httpAt, emit httpEmit) {
	c.close(at, emit)
}

// feedSide runs the parser of one direction over data.
func (c *HTTPConn) feedSide(s *httpSide, isReq bool, at httpAt, data []byte, emit httpEmit) {
	for len(data) > 0 && !c.Dead {
		switch s.State {
		case hsHead:
			if len(s.Buf) == 0 {
				// Line ends between messages are tolerated (RFC 9112 2.2).
				for len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
					data = data[1:]
				}
				if len(data) == 0 {
					return
				}
				s.Start = at
				if !plausibleStart(data[0], isReq) {
					c.fail(at, emit)
					return
				}
			}
			end, found := headEnd(s.Buf, data)
			if !found {
				if len(s.Buf)+len(data) > maxHTTPHeader {
					c.fail(at, emit)
					return
				}
				s.Buf = append(s.Buf, data...)
				return
			}
			take := end - len(s.Buf)
			head := append(s.Buf, data[:take]...)
			data = data[take:]
			s.Buf = nil
			var ok bool
			if isReq {
				ok = c.request(head)
			} else {
				ok = c.response(head, at)
			}
			if !ok {
				c.fail(at, emit)
				return
			}
			c.flush(at, emit)
		case hsBody, hsChunkData, hsUntilClose:
			n := int64(len(data))
			if s.State != hsUntilClose {
				n = min(n, s.Left)
			}
			c.body(isReq, data[:n])
			data = data[n:]
			if s.State == hsUntilClose {
				continue
			}
			s.Left -= n
			if s.Left > 0 {
				continue
			}
			if s.State == hsChunkData {
				s.State = hsChunkCRLF
				continue
			}
			c.messageDone(s, isReq, at, emit)
		case hsChunkCRLF:
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				data = nil
				continue
			}
			data = data[i+1:]
			s.State = hsChunkSize
		case hsChunkSize:
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				if len(s.Buf)+len(data) > maxChunkLine {
					c.fail(at, emit)
					return
				}
				s.Buf = append(s.Buf, data...)
				return
			}
			line := append(s.Buf, data[:i]...)
			data = data[i+1:]
			s.Buf = nil
			size, ok := chunkSize(line)
			if !ok {
				c.fail(at, emit)
				return
			}
			if size == 0 {
				s.State = hsTrailer
				s.Buf = append(s.Buf[:0], "\r\n"...)
				continue
			}
			s.State, s.Left = hsChunkData, size
		case hsTrailer:
			end, found := headEnd(s.Buf, data)
			if !found {
				if len(s.Buf)+len(data) > maxHTTPHeader {
					c.fail(at, emit)
					return
				}
				s.Buf = append(s.Buf, data...)
				return
			}
			data = data[end-len(s.Buf):]
			s.Buf = nil
			c.messageDone(s, isReq, at, emit)
		default:
			c.fail(at, emit)
			return
		}
	}
}

// messageDone ends the body of the current message of a direction.
func (c *HTTPConn) messageDone(s *httpSide, isReq bool, at httpAt, emit httpEmit) {
	s.State, s.Left, s.Buf = hsHead, 0, nil
	if isReq {
		if e := c.reqTarget(); e != nil {
			e.ReqDone = true
		}
	} else if e := c.respTarget(); e != nil {
		c.respDone(e, at)
	}
	c.flush(at, emit)
}

// body appends body bytes to the message being read.
func (c *HTTPConn) body(isReq bool, data []byte) {
	if isReq {
		if e := c.reqTarget(); e != nil {
			e.Row.RequestBodySize += int64(len(data))
			e.Row.RequestBody = appendPrefix(e.Row.RequestBody, data)
		}
		return
	}
	if e := c.respTarget(); e != nil {
		e.Row.ResponseBodySize += int64(len(data))
		e.Row.ResponseBody = appendPrefix(e.Row.ResponseBody, data)
	}
}

func appendPrefix(dst, data []byte) []byte {
	if room := HTTPBodyPrefix - len(dst); room > 0 {
		dst = append(dst, data[:min(room, len(data))]...)
	}
	return dst
}

// request starts an exchange from a request head.
func (c *HTTPConn) request(head []byte) bool {
	line, fields, ok := parseHead(head)
	if !ok {
		return false
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 || !isToken(method) || target == "" || strings.ContainsAny(target, " \t") || !isHTTP1(proto) {
		return false
	}
	if len(c.Pending) >= maxHTTPPending {
		return false
	}
	e := &httpExchange{HasReq: true, StartNS: c.Req.Start.NS}
	seq, t := c.Req.Start.Seq, c.Req.Start.Micros
	e.Row = HTTP{Exchange: c.Next, RequestSeq: &seq, RequestTime: &t, Method: method, Path: target, Proto: proto,
		RequestHeaders: fields}
	c.Next++
	if h, ok := headerValue(fields, "Host"); ok {
		e.Row.Host = h
	} else if _, after, ok := strings.Cut(target, "://"); ok {
		e.Row.Host, _, _ = strings.Cut(after, "/")
	} else if method == "CONNECT" {
		e.Row.Host = target
	}
	c.Pending = append(c.Pending, e)
	chunked, length, ok := framing(fields)
	switch {
	case !ok:
		return false
	case chunked:
		c.Req.State = hsChunkSize
	case length > 0:
		c.Req.State, c.Req.Left = hsBody, length
	default:
		e.ReqDone = true
	}
	return true
}

// response applies a response head to the first exchange awaiting one.
func (c *HTTPConn) response(head []byte, at httpAt) bool {
	line, fields, ok := parseHead(head)
	if !ok {
		return false
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, reason, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if !isHTTP1(proto) || len(code) != 3 || err != nil || status < 100 {
		return false
	}
	if status < 200 && status != 101 {
		return true // interim (100 Continue, 103 Early Hints): the final response follows
	}
	e := c.respTarget()
	if e == nil {
		// A response to a request the capture does not hold.
		if len(c.Pending) >= maxHTTPPending {
			return false
		}
		e = &httpExchange{ReqDone: true}
		e.Row.Exchange = c.Next
		c.Next++
		c.Pending = append(c.Pending, e)
	}
	st := int64(status)
	seq := c.Resp.Start.Seq
	e.Row.Status, e.Row.Reason, e.Row.ResponseHeaders, e.Row.ResponseSeq = &st, reason, fields, &seq
	if e.Row.Proto == "" {
		e.Row.Proto = proto
	}
	noBody := e.Row.Method == "HEAD" || status == 204 || status == 304 || status == 101 ||
		(e.Row.Method == "CONNECT" && status < 300)
	e.Tunnel = status == 101 || (e.Row.Method == "CONNECT" && status < 300)
	chunked, length, ok := framing(fields)
	switch {
	case noBody:
		c.respDone(e, at)
	case !ok:
		return false
	case chunked:
		c.Resp.State = hsChunkSize
	case length >= 0:
		if length == 0 {
			c.respDone(e, at)
		} else {
			c.Resp.State, c.Resp.Left = hsBody, length
		}
	default:
		c.Resp.State = hsUntilClose
	}
	return true
}

// framing reads how a message's body is delimited: chunked, or a length
// (-1: none given).
func framing(fields []Header) (chunked bool, length int64, ok bool) {
	length = -1
	for _, h := range fields {
		switch {
		case strings.EqualFold(h.Name, "Transfer-Encoding"):
			codings := strings.Split(h.Value, ",")
			chunked = strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked")
		case strings.EqualFold(h.Name, "Content-Length"):
			n, err := strconv.ParseInt(strings.TrimSpace(h.Value), 10, 64)
			if err != nil || n < 0 || (length >= 0 && n != length) {
				return false, 0, false
			}
			length = n
		}
	}
	if chunked {
		length = -1
	}
	return chunked, length, true
}

// parseHead splits a message head into its start line and header fields.
func parseHead(head []byte) (string, []Header, bool) {
	text := string(head)
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return "", nil, false
	}
	var fields []Header
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			// Obsolete line folding: a continuation of the previous value.
			if len(fields) == 0 {
				return "", nil, false
			}
			fields[len(fields)-1].Value += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !isToken(name) {
			return "", nil, false
		}
		fields = append(fields, Header{Name: name, Value: strings.TrimSpace(value)})
	}
	return lines[0], fields, true
}

func headerValue(fields []Header, name string) (string, bool) {
	for _, h := range fields {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// headEnd finds the end of a head (just past the empty line) in buf+data
// and returns its length counted from the start of buf.
func headEnd(buf, data []byte) (int, bool) {
	// Look at the last 3 bytes of buf with data: a terminator may straddle.
	from := max(0, len(buf)-3)
	window := append(append(make([]byte, 0, len(buf)-from+min(len(data), maxHTTPHeader)), buf[from:]...), data[:min(len(data), maxHTTPHeader)]...)
	best := -1
	if i := bytes.Index(window, []byte("\r\n\r\n")); i >= 0 {
		best = i + 4
	}
	if i := bytes.Index(window, []byte("\n\n")); i >= 0 && (best < 0 || i+2 < best) {
		best = i + 2
	}
	if best < 0 {
		return 0, false
	}
	return from + best, true
}

func chunkSize(line []byte) (int64, bool) {
	s := strings.TrimSpace(string(line))
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "" || len(s) > 15 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 16, 64)
	return n, err == nil && n >= 0
}

// plausibleStart rejects streams that cannot be HTTP/1.x from their first
// byte: requests start with a method token, responses with "HTTP/".
func plausibleStart(b byte, isReq bool) bool {
	if isReq {
		return b >= 'A' && b <= 'Z'
	}
	return b == 'H'
}

func isHTTP1(proto string) bool { return proto == "HTTP/1.1" || proto == "HTTP/1.0" }

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
