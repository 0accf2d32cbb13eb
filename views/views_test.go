package views

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
	"github.com/timelake/timelake/wasi"
)

func TestCatalog(t *testing.T) {
	want := []string{"runs", "calls", "stdio", "fs", "net", "http", "connections", "errors", "file_access", "logs",
		"requests", "run_summary", "syscall_stats", "timeline"}
	var got []string
	for _, e := range Catalog() {
		got = append(got, e.Name)
		if e.Description == "" || strings.HasSuffix(e.Description, ".") {
			t.Errorf("%s: description %q", e.Name, e.Description)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("catalog %v, want %v", got, want)
	}
}

func TestTablesFor(t *testing.T) {
	cases := []struct {
		query string
		want  []string
	}{
		{"SELECT 1", nil},
		{"select * from CALLS", []string{"calls"}},
		{"SELECT * FROM run_summary", []string{"calls", "runs", "stdio"}},
		{"SELECT * FROM logs JOIN fs USING (run_id)", []string{"fs", "stdio"}},
		{"SELECT errors FROM syscall_stats", []string{"calls"}},
		{"SELECT * FROM callsx", nil},
	}
	for _, c := range cases {
		if got := TablesFor(c.query); !slices.Equal(got, c.want) {
			t.Errorf("TablesFor(%q) = %v, want %v", c.query, got, c.want)
		}
	}
}

func emptySession(t *testing.T) *Session {
	t.Helper()
	store, err := lake.Open(context.Background(), t.TempDir(), lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), store, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEmptyLakeHasEveryView(t *testing.T) {
	s := emptySession(t)
	if err := s.Require(); err != ErrEmptyLake {
		t.Errorf("Require on an empty lake: %v", err)
	}
	for _, e := range Catalog() {
		var n int64
		if err := s.DB().QueryRow("SELECT count(*) FROM " + e.Name).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows, %v", e.Name, n, err)
		}
	}
	// The empty tables have the schema's columns, the partition included.
	var cols string
	if err := s.DB().QueryRow(`SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'stdio'`).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if cols != "run_id,seq,time,offset_ns,fd,stream,data,size,date" {
		t.Errorf("stdio columns %s", cols)
	}
}

// TestLogsLines checks how the logs view cuts writes into lines: lines
// spanning writes, writes holding several lines, empty lines, a last line
// without a newline, and streams kept apart.
func TestLogsLines(t *testing.T) {
	s := emptySession(t)
	_, err := s.DB().Exec(`CREATE OR REPLACE VIEW stdio AS SELECT * FROM (VALUES
		('r', 0, TIMESTAMP '2025-01-01 00:00:00', 10, 1, 'stdout', encode('hel')),
		('r', 1, TIMESTAMP '2025-01-01 00:00:01', 20, 1, 'stdout', encode('lo' || chr(10) || 'wor')),
		('r', 2, TIMESTAMP '2025-01-01 00:00:02', 30, 2, 'stderr', encode('oops' || chr(10))),
		('r', 3, TIMESTAMP '2025-01-01 00:00:03', 40, 1, 'stdout', encode('ld' || chr(10) || chr(10) || 'last')),
		('r', 4, TIMESTAMP '2025-01-01 00:00:04', 50, 0, 'stdin',  encode('ignored' || chr(10))),
		('q', 0, TIMESTAMP '2025-01-01 00:00:05', 60, 1, 'stdout', encode(chr(10)))
	) AS t(run_id, seq, time, offset_ns, fd, stream, data)`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB().Query(`SELECT run_id || ' ' || stream || ' ' || line || ' ' || seq || ' ' || offset_ns || ' ' || text FROM logs ORDER BY run_id DESC, stream DESC, line`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanStrings(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"r stdout 1 0 10 hello",
		"r stdout 2 1 20 world",
		"r stdout 3 3 40 ",
		"r stdout 4 3 40 last",
		"r stderr 1 2 30 oops",
		"q stdout 1 0 60 ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("logs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrorsView(t *testing.T) {
	s := emptySession(t)
	_, err := s.DB().Exec(`CREATE OR REPLACE VIEW calls AS SELECT * FROM (VALUES
		('r', 0, 'path_open', 'ENOENT', 'a'), ('r', 1, 'fd_write', 'ESUCCESS', NULL), ('r', 2, 'fd_read', 'EBADF', NULL)
	) AS t(run_id, seq, func, errno, path), (SELECT NULL::TIMESTAMP AS time, 0 AS offset_ns, 0 AS fd, 0 AS duration_ns, '' AS args)`)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.DB().Query(`SELECT func || ' ' || errno || ' ' || errno_code || ' ' || errno_message FROM errors ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanStrings(rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"path_open ENOENT 44 no such file or directory", "fd_read EBADF 8 bad file descriptor"}
	if !slices.Equal(got, want) {
		t.Errorf("errors %q, want %q", got, want)
	}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	store, err := lake.Open(ctx, t.TempDir(), lake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) compact.File {
		if _, err := store.Put(ctx, key, bytes.NewReader(data), lake.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		return compact.File{Key: key, Bytes: int64(len(data))}
	}
	a := put("tables/calls/date=2025-01-01/a.parquet", bytes.Repeat([]byte("a"), 1000))
	b := put("tables/calls/date=2025-01-01/b.parquet", bytes.Repeat([]byte("b"), 1000))
	c := NewCache(store, t.TempDir(), 1500)
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data[:1])
	}

	paths, err := c.Fetch(ctx, []compact.File{a})
	if err != nil {
		t.Fatal(err)
	}
	if c.Fetched != 1 || c.Hits != 0 || read(paths[0]) != "a" || !strings.HasSuffix(filepath.ToSlash(paths[0]), a.Key) {
		t.Fatalf("first fetch: fetched %d hits %d path %s", c.Fetched, c.Hits, paths[0])
	}
	if _, err := c.Fetch(ctx, []compact.File{a}); err != nil || c.Hits != 1 || c.Fetched != 1 {
		t.Fatalf("second fetch: fetched %d hits %d err %v", c.Fetched, c.Hits, err)
	}
	// Replaced in the lake: the ETag changes, the copy is refreshed.
	put(a.Key, bytes.Repeat([]byte("A"), 1000))
	if paths, err = c.Fetch(ctx, []compact.File{a}); err != nil || c.Fetched != 2 || read(paths[0]) != "A" {
		t.Fatalf("fetch after replace: fetched %d err %v", c.Fetched, err)
	}
	// Fetching b overflows the bound: a, least recently used, goes.
	if paths, err = c.Fetch(ctx, []compact.File{b}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), filepath.FromSlash(a.Key))); !os.IsNotExist(err) {
		t.Errorf("a was not evicted: %v", err)
	}
	if read(paths[0]) != "b" {
		t.Error("b missing")
	}
	// Files in use are never evicted, even beyond the bound.
	if paths, err = c.Fetch(ctx, []compact.File{a, b}); err != nil {
		t.Fatal(err)
	}
	if read(paths[0]) != "A" || read(paths[1]) != "b" {
		t.Error("files in use were evicted")
	}
	// A missing object is an error naming it.
	if _, err := c.Fetch(ctx, []compact.File{{Key: "tables/calls/date=2025-01-01/gone.parquet"}}); err == nil || !strings.Contains(err.Error(), "gone.parquet") {
		t.Errorf("missing object: %v", err)
	}
}

// writeParquet writes rows to a Parquet file under dir.
func writeParquet[T any](t *testing.T, dir, name string, rows []T) string {
	t.Helper()
	p := filepath.Join(dir, name+".parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

// TestNetViews builds net and http rows from the calls of an HTTP client
// (keep-alive, two exchanges, then a close) and a UDP socket, and reads
// them through the connections and requests views.
func TestNetViews(t *testing.T) {
	server := netip.MustParseAddrPort("127.0.0.1:8080")
	req := func(p string) string { return "GET " + p + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n" }
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nhi\n"
	calls := []capture.Call{
		&capture.SockOpen{Family: wasi.AFInet, SockType: wasi.SockStream, NewFD: 3},
		&capture.SockConnect{FD: 3, Addr: server},
		&capture.SockGetLocalAddr{FD: 3, Addr: netip.MustParseAddrPort("127.0.0.1:40000")},
		&capture.FDWrite{FD: 3, IOVecLens: []uint32{64}, Data: []byte(req("/a")), N: wasi.Size(len(req("/a")))},
		&capture.FDRead{FD: 3, IOVecLens: []uint32{4096}, Data: []byte(resp), N: wasi.Size(len(resp))},
		&capture.FDWrite{FD: 3, IOVecLens: []uint32{64}, Data: []byte(req("/b")), N: wasi.Size(len(req("/b")))},
		&capture.FDRead{FD: 3, IOVecLens: []uint32{4096}, Data: []byte(resp), N: wasi.Size(len(resp))},
		&capture.FDClose{FD: 3},
		&capture.SockOpen{Family: wasi.AFInet, SockType: wasi.SockDgram, NewFD: 3},
		&capture.SockSendTo{FD: 3, Addr: netip.MustParseAddrPort("127.0.0.1:53"), IOVecLens: []uint32{4}, Data: []byte("ping"), N: 4},
		// A server on a socket the run started with (fd 5, --listen).
		&capture.FDStatGet{FD: 5, Stat: wasi.FDStat{Filetype: wasi.FiletypeSocketStream}},
		&capture.SockGetLocalAddr{FD: 5, Addr: netip.MustParseAddrPort("0.0.0.0:9000")},
		&capture.SockAccept{FD: 5, NewFD: 6},
		&capture.SockRecv{FD: 6, IOVecLens: []uint32{4096}, Data: []byte(req("/s")), N: wasi.Size(len(req("/s")))},
		&capture.SockSend{FD: 6, IOVecLens: []uint32{4096}, Data: []byte(resp), N: wasi.Size(len(resp))},
		&capture.FDClose{FD: 6},
	}
	b := schemas.Builder{RunID: "r", StartNS: 1_700_000_000_000_000_000, FDs: schemas.NewFDTable(nil)}
	for i, c := range calls {
		b.Add(&capture.Record{Seq: uint64(i), Func: c.Func(), Time: int64(i) * 1_000_000, Call: c})
	}
	b.Finish(int64(len(calls)-1), int64(len(calls))*1_000_000)
	b.Link()
	dir := t.TempDir()
	netPath := writeParquet(t, dir, "net", b.Net)
	httpPath := writeParquet(t, dir, "http", b.HTTP)
	s := emptySession(t)
	for _, q := range []string{
		"CREATE OR REPLACE VIEW net AS SELECT * FROM read_parquet('" + netPath + "')",
		"CREATE OR REPLACE VIEW http AS SELECT * FROM read_parquet('" + httpPath + "')",
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := s.DB().Query(`SELECT concat_ws(' ', conn, protocol, role, local_addr, peer_addr, closed IS NOT NULL,
		bytes_out, bytes_in, sends, recvs, errors, exchanges) FROM connections ORDER BY conn`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanStrings(rows)
	if err != nil {
		t.Fatal(err)
	}
	n := len(req("/a"))
	want := []string{
		"-6 tcp listener 0.0.0.0:9000 false 0 0 0 0 0 0",
		fmt.Sprintf("0 tcp client 127.0.0.1:40000 127.0.0.1:8080 true %d %d 2 2 0 2", 2*n, 2*len(resp)),
		"8 udp  false 4 0 1 0 0 0",
		fmt.Sprintf("12 tcp server true %d %d 1 1 0 1", len(resp), n),
	}
	if !slices.Equal(got, want) {
		t.Errorf("connections:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	rows, err = s.DB().Query(`SELECT concat_ws(' ', conn, exchange, role, method, host, path, status, latency_ms,
		response_body_size, content_type, truncated) FROM requests ORDER BY conn, exchange`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = scanStrings(rows); err != nil {
		t.Fatal(err)
	}
	want = []string{
		"0 0 client GET 127.0.0.1:8080 /a 200 1.0 3 text/plain false",
		"0 1 client GET 127.0.0.1:8080 /b 200 1.0 3 text/plain false",
		"12 0 server GET 127.0.0.1:8080 /s 200 1.0 3 text/plain false",
	}
	if !slices.Equal(got, want) {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
