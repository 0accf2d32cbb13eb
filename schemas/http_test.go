package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// chunk is bytes moved on one connection: "out" sent, "in" received; op
// "close" closes the connection, "eof" is a read of 0 bytes.
type chunk struct {
	dir  string
	data string
	op   string
}

func out(s string) chunk { return chunk{dir: "out", data: s} }
func in(s string) chunk  { return chunk{dir: "in", data: s} }

var (
	closeConn = chunk{op: "close"}
	eof       = chunk{op: "eof"}
)

// netRows turns chunks into the net rows of one TCP connection opened by
// connect (client) or accept (server), from seq 1 on.
func netRows(role string, chunks []chunk) []Net {
	conn := int64(0)
	local, peer := "10.0.0.1:40000", "10.0.0.2:80"
	first := Net{Seq: 0, Op: "connect", Errno: "EINPROGRESS", Conn: &conn, Protocol: "tcp", Family: "inet", PeerAddr: &peer}
	if role == RoleServer {
		first = Net{Seq: 0, Op: "accept", Errno: "ESUCCESS", Conn: &conn, Protocol: "tcp", Family: "inet", LocalAddr: &local}
	}
	rows := []Net{first}
	for i, c := range chunks {
		seq := int64(i + 1)
		r := Net{Seq: seq, Time: 1000 * seq, OffsetNS: 1_000_000 * seq, Conn: &conn, Protocol: "tcp", Errno: "ESUCCESS",
			LocalAddr: &local, PeerAddr: &peer}
		switch c.op {
		case "close":
			r.Op = "close"
		case "eof":
			r.Op, r.Direction = "recv", "in"
		default:
			r.Direction, r.Data, r.Size = c.dir, []byte(c.data), int64(len(c.data))
			r.Op = map[string]string{"out": "send", "in": "recv"}[c.dir]
		}
		rows = append(rows, r)
	}
	return rows
}

// summary renders the columns tests compare.
func summary(h HTTP) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s %s %s host=%q", h.Exchange, h.Role, h.Method, h.Path, h.Proto, h.Host)
	if h.Status != nil {
		fmt.Fprintf(&b, " -> %d %s", *h.Status, h.Reason)
	} else {
		b.WriteString(" -> none")
	}
	fmt.Fprintf(&b, " req=%d:%q resp=%d:%q", h.RequestBodySize, h.RequestBody, h.ResponseBodySize, h.ResponseBody)
	if h.Truncated {
		b.WriteString(" TRUNCATED")
	}
	return b.String()
}

func summaries(rows []HTTP) []string {
	var out []string
	for _, r := range rows {
		out = append(out, summary(r))
	}
	return out
}

const (
	get1  = "GET /a HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t\r\n\r\n"
	get2  = "GET /b?q=1 HTTP/1.1\r\nHost: example.test\r\n\r\n"
	resp1 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
	resp2 = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nnop"
)

var httpCases = []struct {
	name   string
	role   string
	chunks []chunk
	want   []string
}{
	{name: "one exchange", chunks: []chunk{out(get1), in(resp1)},
		want: []string{`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`}},
	{name: "keep-alive", chunks: []chunk{out(get1), in(resp1), out(get2), in(resp2), closeConn},
		want: []string{
			`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`,
			`#1 client GET /b?q=1 HTTP/1.1 host="example.test" -> 404 Not Found req=0:"" resp=3:"nop"`,
		}},
	{name: "pipelining", chunks: []chunk{out(get1 + get2), in(resp1 + resp2)},
		want: []string{
			`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`,
			`#1 client GET /b?q=1 HTTP/1.1 host="example.test" -> 404 Not Found req=0:"" resp=3:"nop"`,
		}},
	{name: "responses split anywhere", chunks: []chunk{out(get1[:7]), out(get1[7:] + get2[:3]), out(get2[3:]),
		in(resp1[:17]), in(resp1[17:40]), in(resp1[40:] + resp2[:2]), in(resp2[2:])},
		want: []string{
			`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`,
			`#1 client GET /b?q=1 HTTP/1.1 host="example.test" -> 404 Not Found req=0:"" resp=3:"nop"`,
		}},
	{name: "chunked response with extension and trailer", chunks: []chunk{out(get1),
		in("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Sum: 1\r\n\r\n"), out(get2), in(resp2)},
		want: []string{
			`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=12:"hello, world"`,
			`#1 client GET /b?q=1 HTTP/1.1 host="example.test" -> 404 Not Found req=0:"" resp=3:"nop"`,
		}},
	{name: "chunked request", chunks: []chunk{
		out("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n"), out("0\r\n\r\n"),
		in("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")},
		want: []string{`#0 client POST /up HTTP/1.1 host="h" -> 201 Created req=3:"abc" resp=0:""`}},
	{name: "HEAD has no body", chunks: []chunk{out("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n"),
		in("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), out(get1), in(resp1)},
		want: []string{
			`#0 client HEAD / HTTP/1.1 host="h" -> 200 OK req=0:"" resp=0:""`,
			`#1 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`,
		}},
	{name: "204 and 304 have no body", chunks: []chunk{out(get1 + get2),
		in("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n")},
		want: []string{
			`#0 client GET /a HTTP/1.1 host="example.test" -> 204 No Content req=0:"" resp=0:""`,
			`#1 client GET /b?q=1 HTTP/1.1 host="example.test" -> 304 Not Modified req=0:"" resp=0:""`,
		}},
	{name: "100-continue", chunks: []chunk{out("PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"),
		in("HTTP/1.1 100 Continue\r\n\r\n"), out("data"), in("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
		want: []string{`#0 client PUT /f HTTP/1.1 host="h" -> 200 OK req=4:"data" resp=2:"ok"`}},
	{name: "body until close", chunks: []chunk{out("GET / HTTP/1.0\r\n\r\n"), in("HTTP/1.0 200 OK\r\n\r\nall of"), in(" it"), eof, closeConn},
		want: []string{`#0 client GET / HTTP/1.0 host="" -> 200 OK req=0:"" resp=9:"all of it"`}},
	{name: "body until close cut by the run's end", chunks: []chunk{out("GET / HTTP/1.0\r\n\r\n"), in("HTTP/1.0 200 OK\r\n\r\npart")},
		want: []string{`#0 client GET / HTTP/1.0 host="" -> 200 OK req=0:"" resp=4:"part" TRUNCATED`}},
	{name: "truncated body", chunks: []chunk{out(get1), in("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"), closeConn},
		want: []string{`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=9:"only this" TRUNCATED`}},
	{name: "no response", chunks: []chunk{out(get1), in(resp1), out(get2)},
		want: []string{
			`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`,
			`#1 client GET /b?q=1 HTTP/1.1 host="example.test" -> none req=0:"" resp=0:"" TRUNCATED`,
		}},
	{name: "absolute target", chunks: []chunk{out("GET http://proxy.test:8080/x HTTP/1.1\r\n\r\n"), in(resp2)},
		want: []string{`#0 client GET http://proxy.test:8080/x HTTP/1.1 host="proxy.test:8080" -> 404 Not Found req=0:"" resp=3:"nop"`}},
	{name: "server side", role: RoleServer, chunks: []chunk{in(get1), out(resp1), in(get2), out(resp2), closeConn},
		want: []string{
			`#0 server GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`,
			`#1 server GET /b?q=1 HTTP/1.1 host="example.test" -> 404 Not Found req=0:"" resp=3:"nop"`,
		}},
	{name: "TLS is not HTTP", chunks: []chunk{out("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), in("\x16\x03\x03\x00\x7a")}},
	{name: "garbage after an exchange", chunks: []chunk{out(get1), in(resp1), out("\x00\x01binary"), in(resp2)},
		want: []string{`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=5:"hello"`}},
	{name: "bad content length", chunks: []chunk{out(get1), in("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n")},
		want: []string{`#0 client GET /a HTTP/1.1 host="example.test" -> 200 OK req=0:"" resp=0:"" TRUNCATED`}},
	{name: "switching protocols", chunks: []chunk{out("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"),
		in("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"), out("\x81\x85")},
		want: []string{`#0 client GET /ws HTTP/1.1 host="h" -> 101 Switching Protocols req=0:"" resp=0:""`}},
	{name: "response without a request", chunks: []chunk{in(resp1)},
		want: []string{`#0 client   HTTP/1.1 host="" -> 200 OK req=0:"" resp=5:"hello"`}},
}

func TestDeriveHTTP(t *testing.T) {
	for _, tc := range httpCases {
		t.Run(tc.name, func(t *testing.T) {
			role := tc.role
			if role == "" {
				role = RoleClient
			}
			got := summaries(DeriveHTTP("r", netRows(role, tc.chunks)))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestHTTPIncremental feeds every case one byte at a time, saving and
// restoring the state as JSON between bytes (as compact does between
// passes): the exchanges must not change.
func TestHTTPIncremental(t *testing.T) {
	for _, tc := range httpCases {
		t.Run(tc.name, func(t *testing.T) {
			role := tc.role
			if role == "" {
				role = RoleClient
			}
			want := summaries(DeriveHTTP("r", netRows(role, tc.chunks)))
			var got []HTTP
			b := &Builder{RunID: "r"}
			c := &HTTPConn{ReqDir: map[string]string{RoleClient: "out", RoleServer: "in"}[role]}
			s := &SockInfo{Role: role}
			b.cur = s
			emit := func(h *HTTP) { got = append(got, *h) }
			for i, ch := range tc.chunks {
				at := httpAt{Seq: int64(i)}
				switch ch.op {
				case "close":
					c.close(at, emit)
				case "eof":
					c.eof("in", at, emit)
				default:
					for j := range len(ch.data) {
						c.feed(ch.dir, at, []byte{ch.data[j]}, emit)
						data, err := json.Marshal(c)
						if err != nil {
							t.Fatal(err)
						}
						c = new(HTTPConn)
						if err := json.Unmarshal(data, c); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			c.close(httpAt{Seq: int64(len(tc.chunks))}, emit)
			for i := range got {
				got[i].Role = role
			}
			if g := summaries(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
				t.Errorf("byte by byte\n%s\nwhole chunks\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestHTTPColumns(t *testing.T) {
	rows := DeriveHTTP("run-9", netRows(RoleClient, []chunk{out(get1), in(resp1[:20]), in(resp1[20:])}))
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	h := rows[0]
	if h.RunID != "run-9" || h.Conn != 0 || h.Seq != 3 || deref(h.RequestSeq) != 1 || deref(h.ResponseSeq) != 2 ||
		deref(h.RequestTime) != 1000 || deref(h.ResponseTime) != 3000 || deref(h.LatencyNS) != 2_000_000 {
		t.Errorf("seq=%d req_seq=%v resp_seq=%v req_time=%v resp_time=%v latency=%v", h.Seq, deref(h.RequestSeq),
			deref(h.ResponseSeq), deref(h.RequestTime), deref(h.ResponseTime), deref(h.LatencyNS))
	}
	if deref(h.LocalAddr) != "10.0.0.1:40000" || deref(h.PeerAddr) != "10.0.0.2:80" {
		t.Errorf("addresses %v > %v", deref(h.LocalAddr), deref(h.PeerAddr))
	}
	wantReq := []Header{{"Host", "example.test"}, {"User-Agent", "t"}}
	wantResp := []Header{{"Content-Length", "5"}, {"Content-Type", "text/plain"}}
	if fmt.Sprint(h.RequestHeaders) != fmt.Sprint(wantReq) || fmt.Sprint(h.ResponseHeaders) != fmt.Sprint(wantResp) {
		t.Errorf("headers %v / %v", h.RequestHeaders, h.ResponseHeaders)
	}
}

func TestHTTPBodyPrefix(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1000)
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	rows := DeriveHTTP("r", netRows(RoleClient, []chunk{out(get1), in(resp[:3000]), in(resp[3000:])}))
	if len(rows) != 1 || rows[0].ResponseBodySize != int64(len(body)) || !bytes.Equal(rows[0].ResponseBody, body[:HTTPBodyPrefix]) || rows[0].Truncated {
		t.Fatalf("rows %d, size %d, prefix %d bytes", len(rows), rows[0].ResponseBodySize, len(rows[0].ResponseBody))
	}
}

func TestHTTPBounds(t *testing.T) {
	huge := "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", maxHTTPHeader) + "\r\n\r\n"
	if rows := DeriveHTTP("r", netRows(RoleClient, []chunk{out(huge), in(resp1)})); len(rows) != 0 {
		t.Errorf("a head beyond %d bytes gave rows: %v", maxHTTPHeader, summaries(rows))
	}
	var many []chunk
	for range maxHTTPPending + 10 {
		many = append(many, out(get1))
	}
	rows := DeriveHTTP("r", netRows(RoleClient, many))
	if len(rows) != maxHTTPPending {
		t.Errorf("%d rows for %d unanswered requests, want the first %d", len(rows), len(many), maxHTTPPending)
	}
}

// FuzzHTTP feeds arbitrary bytes in both directions, split arbitrarily:
// the derivation must never panic, and stays within its bounds.
func FuzzHTTP(f *testing.F) {
	f.Add([]byte(get1+get2), []byte(resp1+resp2), uint8(5), false)
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
		[]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\nuntil close"), uint8(3), true)
	f.Add([]byte("HEAD / HTTP/1.0\n\n"), []byte("HTTP/1.0 304 x\nContent-Length: 1\n\n"), uint8(1), false)
	f.Fuzz(func(t *testing.T, req, resp []byte, step uint8, server bool) {
		n := int(step%64) + 1
		role := RoleClient
		reqDir, respDir := "out", "in"
		if server {
			role, reqDir, respDir = RoleServer, "in", "out"
		}
		var chunks []chunk
		for len(req) > 0 || len(resp) > 0 {
			a, b := min(n, len(req)), min(n+1, len(resp))
			if a > 0 {
				chunks = append(chunks, chunk{dir: reqDir, data: string(req[:a])})
			}
			if b > 0 {
				chunks = append(chunks, chunk{dir: respDir, data: string(resp[:b])})
			}
			req, resp = req[a:], resp[b:]
		}
		chunks = append(chunks, eof)
		for _, h := range DeriveHTTP("r", netRows(role, chunks)) {
			if len(h.RequestBody) > HTTPBodyPrefix || len(h.ResponseBody) > HTTPBodyPrefix ||
				h.RequestBodySize < int64(len(h.RequestBody)) || h.ResponseBodySize < int64(len(h.ResponseBody)) {
				t.Fatalf("bounds broken: %s", summary(h))
			}
		}
	})
}

// BenchmarkHTTPDerive measures the derivation over keep-alive exchanges
// with 16 KiB bodies received in 4 KiB reads.
func BenchmarkHTTPDerive(b *testing.B) {
	body := strings.Repeat("x", 16<<10)
	resp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	var chunks []chunk
	for range 100 {
		chunks = append(chunks, out(get1))
		for i := 0; i < len(resp); i += 4096 {
			chunks = append(chunks, in(resp[i:min(i+4096, len(resp))]))
		}
	}
	rows := netRows(RoleClient, chunks)
	var n int64
	for _, r := range rows {
		n += r.Size
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		if got := DeriveHTTP("r", rows); len(got) != 100 {
			b.Fatalf("%d exchanges", len(got))
		}
	}
}
