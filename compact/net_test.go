package compact

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/timelake/timelake/capture"
	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
	"github.com/timelake/timelake/wasi"
)

// putSegment writes segment index of run id holding calls from seq first.
func putSegment(t *testing.T, store lake.Store, id uuid.UUID, start time.Time, index int, first uint64, calls []capture.Call, last bool) {
	t.Helper()
	var md *segment.Metadata
	if index == 0 {
		md = &segment.Metadata{RunID: id.String(), Module: segment.Module{SHA256: "ab12", Name: "get.wasm", Size: 1},
			Args: []string{"get.wasm"}, StartTime: start, Policy: []byte(`{"listen":["127.0.0.1:9000"]}`)}
	}
	var buf bytes.Buffer
	w, err := segment.NewWriter(&buf, id, uint32(index), md, segment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var enc capture.Encoder
	var payload []byte
	for i, c := range calls {
		seq := first + uint64(i)
		payload = enc.Append(payload, &capture.Record{Seq: seq, Func: c.Func(), Time: int64(seq) * 1000, Call: c})
	}
	if _, err := w.WriteFrame(payload, len(calls), first); err != nil {
		t.Fatal(err)
	}
	var trailer *segment.Trailer
	if last {
		trailer = &segment.Trailer{EndTime: start.Add(time.Second), Status: segment.StatusExited,
			Records: first + uint64(len(calls)), Segments: uint32(index + 1)}
	}
	if err := w.Seal(segment.Seal{Last: last}, trailer); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Put(context.Background(), lake.SegmentKey(id.String(), index), bytes.NewReader(buf.Bytes()), lake.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestNetAndHTTPAcrossPasses: an HTTP client run whose response arrives
// in the run's second segment, compacted by a pass per segment. The
// exchange is rebuilt across the passes (the parser state travels in the
// run state); a second request left unanswered at the run's end is a
// truncated row; the --listen socket of the metadata is known.
func TestNetAndHTTPAcrossPasses(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	opts := testOptions(t, clk)
	start := clk.Now().Add(-time.Minute)
	id := uuid.Must(uuid.NewV7())
	server := netip.MustParseAddrPort("127.0.0.1:8080")
	req := "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	putSegment(t, store, id, start, 0, 0, []capture.Call{
		&capture.SockOpen{Family: wasi.AFInet, SockType: wasi.SockStream, NewFD: 4},
		&capture.SockConnect{FD: 4, Addr: server},
		&capture.FDWrite{FD: 4, IOVecLens: []uint32{64}, Data: []byte(req), N: wasi.Size(len(req))},
		&capture.FDRead{FD: 4, IOVecLens: []uint32{64}, Data: []byte(resp[:10]), N: 10},
	}, false)
	mustRun(t, store, opts)
	putSegment(t, store, id, start, 1, 4, []capture.Call{
		&capture.FDRead{FD: 4, IOVecLens: []uint32{64}, Data: []byte(resp[10:]), N: wasi.Size(len(resp) - 10)},
		&capture.FDWrite{FD: 4, IOVecLens: []uint32{64}, Data: []byte(req), N: wasi.Size(len(req))},
		&capture.SockAccept{FD: 3, NewFD: 5},
	}, true)
	mustRun(t, store, opts)

	snap, err := ReadSnapshot(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	var nets []schemas.Net
	for _, f := range snap.Files(schemas.TableNet) {
		if err := readRows(ctx, store, t.TempDir(), f, func(r *schemas.Net) { nets = append(nets, *r) }); err != nil {
			t.Fatal(err)
		}
	}
	var https []schemas.HTTP
	for _, f := range snap.Files(schemas.TableHTTP) {
		if err := readRows(ctx, store, t.TempDir(), f, func(r *schemas.HTTP) { https = append(https, *r) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(nets) != 7 {
		t.Fatalf("%d net rows, want 7", len(nets))
	}
	var in, out int64
	for _, r := range nets {
		if r.RunID != id.String() {
			t.Errorf("net row of run %s", r.RunID)
		}
		switch r.Direction {
		case "in":
			in += r.Size
		case "out":
			out += r.Size
		}
	}
	if in != int64(len(resp)) || out != 2*int64(len(req)) {
		t.Errorf("net bytes in %d out %d", in, out)
	}
	if a := nets[6]; a.Op != "accept" || a.Conn == nil || *a.Conn != 6 || a.LocalAddr == nil || *a.LocalAddr != "127.0.0.1:9000" {
		t.Errorf("accept on the --listen socket: %+v", a)
	}
	if len(https) != 2 {
		t.Fatalf("%d http rows, want 2", len(https))
	}
	h := https[0]
	if h.Method != "GET" || h.Status == nil || *h.Status != 200 || string(h.ResponseBody) != "hello" || h.Truncated ||
		h.Seq != 4 || *h.RequestSeq != 2 || h.Conn != 0 || *h.PeerAddr != "127.0.0.1:8080" {
		t.Errorf("exchange across passes: %+v", h)
	}
	if h := https[1]; h.Exchange != 1 || h.Status != nil || !h.Truncated || h.Seq != 6 {
		t.Errorf("unanswered exchange: %+v", h)
	}
	st, err := loadState(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	if rs := st.Runs[id.String()]; rs == nil || !rs.Done || rs.FDs != nil {
		t.Errorf("run state after its end: %+v", rs)
	}
}
