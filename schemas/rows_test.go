package schemas

import (
	"bytes"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/wasi"
)

// zeroRecord decodes a record of function f whose fields are all zero: the
// header followed by zero bytes, each of which reads as a zero varint, an
// empty string or an empty list. It yields the concrete call type the codec
// uses for f without this test naming it.
func zeroRecord(t *testing.T, f wasi.Func) *capture.Record {
	t.Helper()
	buf := []byte{byte(f), 0, 0, 0} // func (< 128), time delta, duration, errno
	buf = append(buf, make([]byte, 256)...)
	var rec capture.Record
	if err := capture.NewDecoder(buf, 7).Next(&rec); err != nil {
		t.Fatalf("decode zero record of %v: %v", f, err)
	}
	if rec.Func != f || rec.Call.Func() != f {
		t.Fatalf("decoded %v (call %v), want %v", rec.Func, rec.Call.Func(), f)
	}
	return &rec
}

// TestMappingTotal proves that every function of the table maps to rows:
// describe knows its call type, FuncTables names its tables (calls first),
// and a record of it yields exactly one calls row.
func TestMappingTotal(t *testing.T) {
	for f := wasi.Func(0); f < wasi.FuncCount; f++ {
		t.Run(f.String(), func(t *testing.T) {
			rec := zeroRecord(t, f)
			if info := describe(rec.Call, true); info.unknown {
				t.Errorf("describe has no case for %T", rec.Call)
			}
			tables := FuncTables(f)
			if len(tables) == 0 || tables[0] != TableCalls {
				t.Errorf("FuncTables(%v) = %v, want calls first", f, tables)
			}
			for _, errno := range []wasi.Errno{wasi.ESUCCESS, wasi.EBADF} {
				rec.Errno = errno
				b := Builder{RunID: "r", StartNS: 1_000_000_000}
				b.Add(rec)
				b.Link()
				if len(b.Calls) != 1 {
					t.Fatalf("%d calls rows, want 1", len(b.Calls))
				}
				c := b.Calls[0]
				if c.Func != f.String() || c.Seq != 7 || c.Errno != errno.Name() || c.RunID != "r" {
					t.Errorf("calls row %+v", c)
				}
				if c.Args == "" || bytes.ContainsRune([]byte(c.Args), '\n') {
					t.Errorf("args %q", c.Args)
				}
				if len(b.Stdio) > 0 && !slices.Contains(tables, TableStdio) {
					t.Errorf("stdio row for %v, which FuncTables does not list", f)
				}
				if len(b.FS) > 0 && !slices.Contains(tables, TableFS) {
					t.Errorf("fs row for %v, which FuncTables does not list", f)
				}
				if len(b.Net) > 0 && !slices.Contains(tables, TableNet) {
					t.Errorf("net row for %v, which FuncTables does not list", f)
				}
				if len(b.HTTP) > 0 && !slices.Contains(tables, TableHTTP) {
					t.Errorf("http row for %v, which FuncTables does not list", f)
				}
			}
		})
	}
	if FuncTables(wasi.FuncCount) != nil {
		t.Error("FuncTables of an unknown function is not nil")
	}
}

func rec(seq uint64, errno wasi.Errno, call capture.Call) *capture.Record {
	return &capture.Record{Seq: seq, Func: call.Func(), Time: int64(seq) * 1000, Duration: 10, Errno: errno, Call: call}
}

func ptr[T any](v T) *T { return &v }

func TestBuilderRows(t *testing.T) {
	b := Builder{RunID: "run-1", StartNS: 1_700_000_000_000_000_000, FDs: NewFDTable([]string{"/data"})}
	recs := []*capture.Record{
		rec(0, 0, &capture.FDWrite{FD: 1, IOVecLens: []uint32{6}, Data: []byte("hello\n"), N: 6}),
		rec(1, 0, &capture.FDWrite{FD: 2, IOVecLens: []uint32{5}, Data: []byte("oops!"), N: 3}),
		rec(2, 0, &capture.FDRead{FD: 0, IOVecLens: []uint32{8}, Data: []byte("in"), N: 2}),
		rec(3, 0, &capture.PathOpen{FD: 3, Path: "a/b.txt", OFlags: wasi.OFlagCreat | wasi.OFlagTrunc, FDFlags: wasi.FDFlagAppend, NewFD: 4}),
		rec(4, 0, &capture.FDWrite{FD: 4, IOVecLens: []uint32{3}, Data: []byte("xyz"), N: 3}),
		rec(5, 0, &capture.FDSeek{FD: 4, Offset: 0, Whence: wasi.WhenceSet, NewOffset: 0}),
		rec(6, 0, &capture.FDRenumber{From: 4, To: 1}),
		rec(7, 0, &capture.FDWrite{FD: 1, IOVecLens: []uint32{2}, Data: []byte("ok"), N: 2}), // fd 1 is now the file
		rec(8, 0, &capture.FDClose{FD: 1}),
		rec(9, wasi.EBADF, &capture.FDWrite{FD: 1, IOVecLens: []uint32{1}, Data: []byte("!")}),
		rec(10, wasi.ENOENT, &capture.PathUnlinkFile{FD: 3, Path: "gone"}),
		rec(11, 0, &capture.ClockTimeGet{ID: wasi.ClockRealtime, Time: 42}),
		rec(12, 0, &capture.RandomGet{Data: make([]byte, 16)}),
	}
	for _, r := range recs {
		b.Add(r)
	}
	b.Link()

	if len(b.Calls) != len(recs) {
		t.Fatalf("%d calls rows for %d records", len(b.Calls), len(recs))
	}
	callTests := []struct {
		seq             int
		fd, result      *int64
		in, out         int64
		path            *string
		errno, funcName string
	}{
		{0, ptr[int64](1), ptr[int64](6), 0, 6, nil, "ESUCCESS", "fd_write"},
		{1, ptr[int64](2), ptr[int64](3), 0, 3, nil, "ESUCCESS", "fd_write"},
		{2, ptr[int64](0), ptr[int64](2), 2, 0, nil, "ESUCCESS", "fd_read"},
		{3, ptr[int64](3), ptr[int64](4), 0, 0, ptr("a/b.txt"), "ESUCCESS", "path_open"},
		{9, ptr[int64](1), nil, 0, 0, nil, "EBADF", "fd_write"},
		{11, nil, ptr[int64](42), 0, 0, nil, "ESUCCESS", "clock_time_get"},
		{12, nil, ptr[int64](16), 16, 0, nil, "ESUCCESS", "random_get"},
	}
	for _, tc := range callTests {
		c := b.Calls[tc.seq]
		if c.Func != tc.funcName || c.Errno != tc.errno || !eqPtr(c.FD, tc.fd) || !eqPtr(c.Result, tc.result) ||
			c.BytesIn != tc.in || c.BytesOut != tc.out || !eqPtr(c.Path, tc.path) {
			t.Errorf("calls[%d] = %s fd=%v result=%v in=%d out=%d path=%v errno=%s", tc.seq, c.Func,
				deref(c.FD), deref(c.Result), c.BytesIn, c.BytesOut, deref(c.Path), c.Errno)
		}
		if want := (b.StartNS + int64(tc.seq)*1000) / 1000; c.Time != want || c.OffsetNS != int64(tc.seq)*1000 {
			t.Errorf("calls[%d] time %d offset %d", tc.seq, c.Time, c.OffsetNS)
		}
	}

	wantStdio := []struct {
		seq    int64
		stream string
		data   string
	}{{0, "stdout", "hello\n"}, {1, "stderr", "oop"}, {2, "stdin", "in"}}
	if len(b.Stdio) != len(wantStdio) {
		t.Fatalf("stdio rows %+v", b.Stdio)
	}
	for i, w := range wantStdio {
		s := b.Stdio[i]
		if s.Seq != w.seq || s.Stream != w.stream || string(s.Data) != w.data || s.Size != int64(len(w.data)) {
			t.Errorf("stdio[%d] = %d %s %q", i, s.Seq, s.Stream, s.Data)
		}
	}

	wantFS := []struct {
		seq         int64
		op, path    string
		path2       string
		flags       string
		size, offst *int64
		errno       string
	}{
		{3, "open", "/data/a/b.txt", "", "CREAT|TRUNC|APPEND", nil, nil, "ESUCCESS"},
		{4, "write", "/data/a/b.txt", "", "", ptr[int64](3), nil, "ESUCCESS"},
		{5, "seek", "/data/a/b.txt", "", "SET", nil, ptr[int64](0), "ESUCCESS"},
		{6, "renumber", "/data/a/b.txt", "fd 1", "", nil, nil, "ESUCCESS"},
		{7, "write", "/data/a/b.txt", "", "", ptr[int64](2), nil, "ESUCCESS"},
		{8, "close", "/data/a/b.txt", "", "", nil, nil, "ESUCCESS"},
		{10, "unlink", "/data/gone", "", "", nil, nil, "ENOENT"},
	}
	if len(b.FS) != len(wantFS) {
		for _, r := range b.FS {
			t.Logf("fs row seq=%d op=%s", r.Seq, r.Op)
		}
		t.Fatalf("%d fs rows, want %d", len(b.FS), len(wantFS))
	}
	for i, w := range wantFS {
		r := b.FS[i]
		if r.Seq != w.seq || r.Op != w.op || deref(r.Path) != w.path || deref(r.Path2) != w.path2 ||
			r.Flags != w.flags || !eqPtr(r.Size, w.size) || !eqPtr(r.FileOffset, w.offst) || r.Errno != w.errno {
			t.Errorf("fs[%d] = seq=%d op=%s path=%q path2=%q flags=%q size=%v off=%v errno=%s", i, r.Seq, r.Op,
				deref(r.Path), deref(r.Path2), r.Flags, deref(r.Size), deref(r.FileOffset), r.Errno)
		}
	}
	if r := b.FS[0]; r.NewFD == nil || *r.NewFD != 4 {
		t.Errorf("open new_fd = %v", deref(r.NewFD))
	}
	if _, open := b.FDs[1]; open {
		t.Error("fd 1 still in the table after close")
	}

	b.Reset()
	if len(b.Calls)+len(b.Stdio)+len(b.FS) != 0 {
		t.Error("Reset left rows")
	}
}

func TestPrestatTracking(t *testing.T) {
	b := Builder{RunID: "r", FDs: NewFDTable(nil)}
	b.Add(rec(0, 0, &capture.FDPrestatGet{FD: 3, Prestat: wasi.Prestat{NameLen: 4}}))
	b.Add(rec(1, 0, &capture.FDPrestatDirName{FD: 3, Name: "/tmp"}))
	b.Add(rec(2, wasi.EBADF, &capture.FDPrestatGet{FD: 4}))
	b.Add(rec(3, 0, &capture.PathFileStatGet{FD: 3, Path: "x", Stat: wasi.FileStat{Size: 9, Filetype: wasi.FiletypeRegularFile}}))
	b.Link()
	if len(b.FS) != 4 {
		t.Fatalf("%d fs rows", len(b.FS))
	}
	if got := deref(b.FS[1].Path); got != "/tmp" {
		t.Errorf("prestat dir name path %q", got)
	}
	if got := deref(b.FS[3].Path); got != "/tmp/x" || deref(b.FS[3].Size) != 9 || deref(b.FS[3].Filetype) != "regular_file" {
		t.Errorf("stat row path=%q size=%v type=%v", got, deref(b.FS[3].Size), deref(b.FS[3].Filetype))
	}
	if fi := b.FDs[3]; fi.Kind != FDDir || fi.Path != "/tmp" {
		t.Errorf("fd 3 = %+v", fi)
	}
}

// TestSchemas checks that every table struct is a valid Parquet schema with
// the documented column names in order.
func TestSchemas(t *testing.T) {
	tests := []struct {
		table string
		row   any
		cols  []string
	}{
		{TableRuns, Run{}, []string{"run_id", "module_sha256", "module_name", "module_size", "args", "env_keys", "host", "os", "arch",
			"runtime_version", "started_at", "ended_at", "duration_ns", "exit_code", "status", "trap_message", "records",
			"segments", "segment_bytes", "quarantined_segments", "lost_records", "updated_at"}},
		{TableCalls, Call{}, []string{"run_id", "seq", "time", "offset_ns", "duration_ns", "func", "fd", "errno", "result",
			"bytes_in", "bytes_out", "path", "args"}},
		{TableStdio, Stdio{}, []string{"run_id", "seq", "time", "offset_ns", "fd", "stream", "data", "size"}},
		{TableFS, FS{}, []string{"run_id", "seq", "time", "offset_ns", "func", "op", "fd", "path", "path2", "flags", "errno",
			"size", "file_offset", "new_fd", "filetype"}},
		{TableNet, Net{}, []string{"run_id", "seq", "time", "offset_ns", "func", "op", "fd", "conn", "protocol", "family",
			"local_addr", "peer_addr", "direction", "size", "data", "errno", "new_fd", "detail"}},
		{TableHTTP, HTTP{}, []string{"run_id", "seq", "conn", "exchange", "role", "local_addr", "peer_addr", "request_seq",
			"request_time", "response_seq", "response_time", "latency_ns", "method", "host", "path", "proto", "status", "reason",
			"request_headers", "response_headers", "request_body_size", "response_body_size", "request_body", "response_body",
			"truncated"}},
	}
	for _, tc := range tests {
		s := parquet.SchemaOf(tc.row)
		var got []string
		for _, f := range s.Fields() {
			got = append(got, f.Name())
		}
		if !slices.Equal(got, tc.cols) {
			t.Errorf("%s columns\n got %v\nwant %v", tc.table, got, tc.cols)
		}
	}
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func BenchmarkBuilderAdd(b *testing.B) {
	recs := []*capture.Record{
		rec(0, 0, &capture.FDWrite{FD: 1, IOVecLens: []uint32{17}, Data: []byte("hello, world 123\n"), N: 17}),
		rec(1, 0, &capture.ClockTimeGet{ID: wasi.ClockMonotonic, Time: 123456789}),
		rec(2, 0, &capture.FDRead{FD: 5, IOVecLens: []uint32{4096}, Data: make([]byte, 64), N: 64}),
	}
	bd := Builder{RunID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", FDs: NewFDTable(nil)}
	bd.FDs[5] = FDInfo{Kind: FDFile, Path: "/data/x"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		bd.Add(recs[i%len(recs)])
		if len(bd.Calls) == 1024 {
			bd.Link()
			bd.Reset()
		}
	}
}
