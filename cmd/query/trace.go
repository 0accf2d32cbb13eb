package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/timelake/timelake/schemas"
)

// traceTime is the timestamp layout of trace lines (Timecraft's).
const traceTime = "2006/01/02 15:04:05.000000"

// cmdTrace prints a run's network activity as Timecraft's `trace` did:
// `trace network` one line per socket operation, `trace requests` one
// exchange per paragraph.
func (e *environment) cmdTrace(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usagef("trace: want a layer: network or requests (trace network RUN [-v])")
	}
	layer, args := args[0], args[1:]
	switch layer {
	case "network", "net":
		layer = "network"
	case "requests", "request", "http":
		layer = "requests"
	default:
		return usagef("trace: unknown layer %q (want network or requests)", layer)
	}
	fs := e.newFlagSet("trace " + layer)
	verbose := fs.Bool("v", false, "network: add a hex dump of the bytes; requests: add headers and bodies")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	s, id, err := e.oneRun(ctx, "trace "+layer, pos)
	if err != nil {
		return err
	}
	defer s.Close()
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	if layer == "network" {
		if err := s.LoadRuns(ctx, []string{schemas.TableNet}, id); err != nil {
			return err
		}
		if e.common.format != "" {
			return e.printQuery(ctx, s, `SELECT seq, time, protocol, local_addr, peer_addr, op, errno, direction, size, conn, fd
				FROM net WHERE run_id = ? ORDER BY seq`, id)
		}
		err = traceNetwork(ctx, s.DB(), w, id, *verbose)
	} else {
		if err := s.LoadRuns(ctx, []string{schemas.TableHTTP}, id); err != nil {
			return err
		}
		if e.common.format != "" {
			return e.printQuery(ctx, s, `SELECT conn, exchange, time, role, method, host, path, status, reason, latency_ms,
				request_body_size, response_body_size, truncated FROM requests WHERE run_id = ? ORDER BY request_seq NULLS LAST, seq, conn, exchange`, id)
		}
		err = traceRequests(ctx, s.DB(), w, id, *verbose)
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

func orUnknown(s sql.NullString) string {
	if !s.Valid || s.String == "" {
		return "?"
	}
	return s.String
}

// traceNetwork prints one line per socket operation:
//
//	2023/06/28 23:29:05.043455 TCP 127.0.0.1:49152 > 127.0.0.1:8080 SEND 78 bytes
//
// Would-block retries (EAGAIN) are left out: they are in the net table.
func traceNetwork(ctx context.Context, db *sql.DB, w io.Writer, id string, verbose bool) error {
	rows, err := db.QueryContext(ctx, `SELECT time, protocol, local_addr, peer_addr, op, errno, size, data, detail
		FROM net WHERE run_id = ? AND errno <> 'EAGAIN' ORDER BY seq`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			t                time.Time
			proto, op, errno string
			local, peer      sql.NullString
			size             int64
			data             []byte
			detail           string
		)
		if err := rows.Scan(&t, &proto, &local, &peer, &op, &errno, &size, &data, &detail); err != nil {
			return err
		}
		if proto == "" {
			proto = "SOCK"
		}
		if op == "getaddrinfo" {
			proto = "DNS"
		}
		fmt.Fprintf(w, "%s %s %s > %s %s", t.UTC().Format(traceTime), strings.ToUpper(proto), orUnknown(local), orUnknown(peer), strings.ToUpper(op))
		switch {
		case errno != "ESUCCESS":
			fmt.Fprintf(w, " %s", errno)
		case op == "send" || op == "recv" || op == "send_to" || op == "recv_from":
			fmt.Fprintf(w, " %d bytes", size)
		}
		if op == "getaddrinfo" {
			if _, res, ok := strings.Cut(detail, "("); ok {
				fmt.Fprintf(w, " (%s", res)
			}
		}
		fmt.Fprintln(w)
		if verbose && len(data) > 0 {
			io.WriteString(w, hex.Dump(data))
		}
	}
	return rows.Err()
}

// traceRequests prints each HTTP exchange, client > server:
//
//	2023/06/28 23:29:05.043455 HTTP 172.16.0.0:49152 > 44.206.52.165:443
//	> GET / HTTP/1.1
//	> Host: example.com
//	>
//	< HTTP/1.1 200 OK
//	< Content-Length: 14
//	<
//	Hello, World!
//
// Without -v, one line per exchange: the first line followed by the
// request line and the status.
func traceRequests(ctx context.Context, db *sql.DB, w io.Writer, id string, verbose bool) error {
	rows, err := db.QueryContext(ctx, `SELECT coalesce(request_time, response_time) AS time, role, local_addr, peer_addr,
		method, path, proto, status, reason, truncated,
		list_transform(request_headers, h -> h.name || ': ' || h.value),
		list_transform(response_headers, h -> h.name || ': ' || h.value),
		request_body, request_body_size, response_body, response_body_size
		FROM http WHERE run_id = ? ORDER BY request_seq NULLS LAST, seq, conn, exchange`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	first := true
	for rows.Next() {
		var (
			t                       sql.NullTime
			role, method, path      string
			proto, reason           string
			local, peer             sql.NullString
			status                  sql.NullInt64
			truncated               bool
			reqHeaders, respHeaders []any
			reqBody, respBody       []byte
			reqSize, respSize       int64
		)
		if err := rows.Scan(&t, &role, &local, &peer, &method, &path, &proto, &status, &reason, &truncated,
			&reqHeaders, &respHeaders, &reqBody, &reqSize, &respBody, &respSize); err != nil {
			return err
		}
		client, server := orUnknown(local), orUnknown(peer)
		if role == schemas.RoleServer {
			client, server = server, client
		}
		stamp := "?"
		if t.Valid {
			stamp = t.Time.UTC().Format(traceTime)
		}
		if !verbose {
			fmt.Fprintf(w, "%s HTTP %s > %s %s %s", stamp, client, server, orDash(method), orDash(path))
			if status.Valid {
				fmt.Fprintf(w, " %d %s", status.Int64, reason)
			} else {
				io.WriteString(w, " (no response)")
			}
			if truncated {
				io.WriteString(w, " (truncated)")
			}
			fmt.Fprintln(w)
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		fmt.Fprintf(w, "%s HTTP %s > %s\n", stamp, client, server)
		if method != "" {
			fmt.Fprintf(w, "> %s %s %s\n", method, path, proto)
			for _, h := range reqHeaders {
				fmt.Fprintf(w, "> %v\n", h)
			}
			fmt.Fprintln(w, ">")
			writeBody(w, reqBody, reqSize)
		}
		if status.Valid {
			fmt.Fprintf(w, "< %s %d %s\n", proto, status.Int64, reason)
			for _, h := range respHeaders {
				fmt.Fprintf(w, "< %v\n", h)
			}
			fmt.Fprintln(w, "<")
			writeBody(w, respBody, respSize)
		}
		if truncated {
			fmt.Fprintln(w, "(the capture ends before this exchange does)")
		}
	}
	return rows.Err()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeBody prints a body prefix as text, or says what it is when it is
// not text, and how much of it the http table did not keep.
func writeBody(w io.Writer, prefix []byte, size int64) {
	if size == 0 {
		return
	}
	if utf8.Valid(prefix) || int64(len(prefix)) < size && utf8.Valid(trimPartialRune(prefix)) {
		w.Write(prefix)
		if len(prefix) > 0 && prefix[len(prefix)-1] != '\n' {
			fmt.Fprintln(w)
		}
	} else {
		fmt.Fprintf(w, "(%d bytes of binary data)\n", size)
		return
	}
	if rest := size - int64(len(prefix)); rest > 0 {
		fmt.Fprintf(w, "(%d more bytes not kept)\n", rest)
	}
}

// trimPartialRune drops an incomplete UTF-8 sequence cut by the prefix bound.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}
