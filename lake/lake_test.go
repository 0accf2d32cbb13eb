package lake_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/timelake/timelake/internal/s3test"
	"github.com/timelake/timelake/lake"
)

// backend opens a fresh, empty store for one test.
type backend struct {
	name string
	open func(t *testing.T) lake.Store
}

// backends returns the file backend and an S3 backend on a versitygw started
// for this test run, each store under its own prefix of the one bucket. It
// sets the AWS environment for the test, so callers cannot be parallel.
func backends(t *testing.T) []backend {
	srv := s3test.Start(t)
	srv.Setenv(t)
	n := 0
	return []backend{
		{"file", func(t *testing.T) lake.Store {
			return mustOpen(t, t.TempDir(), lake.Options{})
		}},
		{"s3", func(t *testing.T) lake.Store {
			n++
			return mustOpen(t, srv.URL(fmt.Sprintf("t%03d", n)), lake.Options{S3PathStyle: true})
		}},
	}
}

func mustOpen(t *testing.T, url string, opts lake.Options) lake.Store {
	t.Helper()
	s, err := lake.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s lake.Store, key string, body []byte) lake.Object {
	t.Helper()
	o, err := s.Put(context.Background(), key, bytes.NewReader(body), lake.PutOptions{})
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return o
}

func readAll(t *testing.T, rc io.ReadCloser, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

func get(t *testing.T, s lake.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	return readAll(t, rc, err)
}

func keys(objs []lake.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}

// TestStore runs every behaviour against both backends.
func TestStore(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lake.Store)
	}{
		{"PutGetStat", testPutGetStat},
		{"GetRange", testGetRange},
		{"List", testList},
		{"ListPaging", testListPaging},
		{"CreateOnly", testCreateOnly},
		{"CreateOnlyRace", testCreateOnlyRace},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"Atomicity", testAtomicity},
		{"Faults", testFaults},
		{"BadKeys", testBadKeys},
		{"Canceled", testCanceled},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, b.open(t)) })
			}
		})
	}
}

func testPutGetStat(t *testing.T, s lake.Store) {
	ctx := context.Background()
	for _, body := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("0123456789abcdef"), 70000)} {
		key := fmt.Sprintf("objs/%d.bin", len(body))
		// A body not positioned at 0 is still stored whole.
		r := bytes.NewReader(body)
		r.Seek(int64(len(body)/2), io.SeekStart)
		o, err := s.Put(ctx, key, r, lake.PutOptions{ContentType: "application/x-test"})
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		if o.Key != key || o.Size != int64(len(body)) || o.ETag == "" || o.Modified.IsZero() {
			t.Fatalf("put %s returned %+v", key, o)
		}
		if got := get(t, s, key); !bytes.Equal(got, body) {
			t.Fatalf("get %s: %d bytes, want %d", key, len(got), len(body))
		}
		st, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatalf("stat %s: %v", key, err)
		}
		if st.Key != key || st.Size != int64(len(body)) || st.ETag != o.ETag || st.Modified.IsZero() {
			t.Fatalf("stat %s = %+v, put returned %+v", key, st, o)
		}
	}
	// Replacing content changes the ETag; a plain Put overwrites.
	a := put(t, s, "k", []byte("version one"))
	b := put(t, s, "k", []byte("version two"))
	if a.ETag == b.ETag {
		t.Fatalf("ETag unchanged across content change: %q", a.ETag)
	}
	if got := get(t, s, "k"); string(got) != "version two" {
		t.Fatalf("get after overwrite = %q", got)
	}
	if st, _ := s.Stat(ctx, "k"); st.ETag != b.ETag {
		t.Fatalf("stat ETag %q, want the last put's %q", st.ETag, b.ETag)
	}
}

func testGetRange(t *testing.T, s lake.Store) {
	ctx := context.Background()
	body := []byte("0123456789")
	put(t, s, "r", body)
	put(t, s, "empty", nil)
	tests := []struct {
		key    string
		off, n int64
		want   string
	}{
		{"r", 0, 10, "0123456789"},
		{"r", 0, 1, "0"},
		{"r", 3, 4, "3456"},
		{"r", 9, 1, "9"},
		{"r", 8, 100, "89"},             // clipped at the end
		{"r", 10, 5, ""},                // at the end
		{"r", 50, 5, ""},                // past the end
		{"r", 2, 1<<63 - 1, "23456789"}, // no overflow
		{"empty", 0, 1, ""},
	}
	for _, tc := range tests {
		rc, err := s.GetRange(ctx, tc.key, tc.off, tc.n)
		if got := readAll(t, rc, err); string(got) != tc.want {
			t.Errorf("GetRange(%s, %d, %d) = %q, want %q", tc.key, tc.off, tc.n, got, tc.want)
		}
	}
	for _, bad := range [][2]int64{{-1, 5}, {0, 0}, {3, -2}} {
		if rc, err := s.GetRange(ctx, "r", bad[0], bad[1]); err == nil || errors.Is(err, lake.ErrNotFound) {
			rc.Close()
			t.Errorf("GetRange(r, %d, %d): err = %v, want an invalid range error", bad[0], bad[1], err)
		}
	}
}

// listKeys are chosen so that naive per-directory name order differs from
// key order ("a.b" < "a/x" because '.' < '/', but "a" < "a.b").
var listKeys = []string{
	"a.b", "a/x", "a/y/z", "a/y0", "a0", "b",
	"segments/0193aaaa/00000000.seg", "segments/0193aaaa/00000001.seg",
	"segments/0193bbbb/00000000.seg", "segments/0193bbbb/00000010.seg",
	"modules/sha256/ff.wasm",
}

// model is what List must return: the reference definition.
func model(all []string, prefix, startAfter string, limit int) []string {
	var out []string
	for _, k := range slices.Sorted(slices.Values(all)) {
		if strings.HasPrefix(k, prefix) && k > startAfter && (limit <= 0 || len(out) < limit) {
			out = append(out, k)
		}
	}
	return out
}

func testList(t *testing.T, s lake.Store) {
	ctx := context.Background()
	for _, k := range listKeys {
		put(t, s, k, []byte(k))
	}
	tests := []struct {
		prefix, startAfter string
		limit              int
	}{
		{"", "", 0},
		{"", "", 3},
		{"a", "", 0},
		{"a/", "", 0},
		{"a/y", "", 0},
		{"a/y/", "", 0},
		{"a.", "", 0},
		{"segments/", "", 0},
		{"segments/0193bbbb/", "", 0},
		{"segments/0193", "segments/0193aaaa/00000000.seg", 2},
		{"segments/0193aaaa/", "segments/0193aaaa/00000001.seg", 0},
		{"", "a/x", 0},
		{"", "a/", 2},
		{"", "a/y", 0},
		{"", "a/y/z", 0},
		{"", "zzz", 0},
		{"nothing/", "", 0},
		{"b", "", 0},
		{"b/", "", 0},
		{"modules/sha256/", "", 1},
	}
	for _, tc := range tests {
		objs, err := s.List(ctx, tc.prefix, tc.startAfter, tc.limit)
		if err != nil {
			t.Fatalf("List(%q, %q, %d): %v", tc.prefix, tc.startAfter, tc.limit, err)
		}
		want := model(listKeys, tc.prefix, tc.startAfter, tc.limit)
		if got := keys(objs); !slices.Equal(got, want) {
			t.Errorf("List(%q, %q, %d) = %q, want %q", tc.prefix, tc.startAfter, tc.limit, got, want)
		}
		for _, o := range objs {
			if o.Size != int64(len(o.Key)) || o.ETag == "" || o.Modified.IsZero() {
				t.Errorf("List entry %+v: want size %d, an ETag and a time", o, len(o.Key))
			}
		}
	}
	// List and Stat agree on metadata.
	objs, _ := s.List(ctx, "a/x", "", 0)
	st, err := s.Stat(ctx, "a/x")
	if err != nil || len(objs) != 1 || objs[0].ETag != st.ETag || objs[0].Size != st.Size {
		t.Errorf("List a/x = %+v, Stat = %+v, %v", objs, st, err)
	}
}

// testListPaging lists more keys than one S3 ListObjectsV2 page (1000).
func testListPaging(t *testing.T, s lake.Store) {
	ctx := context.Background()
	const n = 1234
	all := make([]string, n)
	for i := range all {
		all[i] = lake.SegmentKey("0193cccc", i)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan string)
	for range 8 {
		wg.Go(func() {
			for k := range work {
				if _, err := s.Put(ctx, k, strings.NewReader(k), lake.PutOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, k := range all {
		work <- k
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	put(t, s, "segments/0193dddd/00000000.seg", []byte("other run"))
	tests := []struct {
		startAfter string
		limit      int
	}{
		{"", 0},
		{"", 1001},
		{"", 1234},
		{lake.SegmentKey("0193cccc", 5), 1100},
		{lake.SegmentKey("0193cccc", 998), 3},
		{lake.SegmentKey("0193cccc", 1233), 0},
	}
	for _, tc := range tests {
		objs, err := s.List(ctx, lake.SegmentPrefix("0193cccc"), tc.startAfter, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		want := model(all, "", tc.startAfter, tc.limit)
		if got := keys(objs); !slices.Equal(got, want) {
			t.Errorf("List(after %q, limit %d): got %d keys, want %d", tc.startAfter, tc.limit, len(got), len(want))
		}
	}
	// Walk the run page by page as a caller would.
	var walked []string
	for after := ""; ; {
		objs, err := s.List(ctx, "segments/", after, 400)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) == 0 {
			break
		}
		walked = append(walked, keys(objs)...)
		after = objs[len(objs)-1].Key
	}
	if want := append(slices.Clone(all), "segments/0193dddd/00000000.seg"); !slices.Equal(walked, want) {
		t.Errorf("paged walk returned %d keys, want %d", len(walked), len(want))
	}
}

func testCreateOnly(t *testing.T, s lake.Store) {
	ctx := context.Background()
	co := lake.PutOptions{CreateOnly: true}
	o, err := s.Put(ctx, "_lake/log/00000001.json", strings.NewReader("first"), co)
	if err != nil {
		t.Fatalf("first create-only put: %v", err)
	}
	if o.Size != 5 {
		t.Fatalf("first put size %d", o.Size)
	}
	_, err = s.Put(ctx, "_lake/log/00000001.json", strings.NewReader("second"), co)
	if !errors.Is(err, lake.ErrExists) {
		t.Fatalf("second create-only put: err = %v, want ErrExists", err)
	}
	if got := get(t, s, "_lake/log/00000001.json"); string(got) != "first" {
		t.Fatalf("after lost create-only put, object = %q, want %q", got, "first")
	}
	// A plain put still replaces it, and a deleted key can be created again.
	put(t, s, "_lake/log/00000001.json", []byte("third"))
	if err := s.Delete(ctx, "_lake/log/00000001.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "_lake/log/00000001.json", strings.NewReader("fourth"), co); err != nil {
		t.Fatalf("create-only put after delete: %v", err)
	}
	if got := get(t, s, "_lake/log/00000001.json"); string(got) != "fourth" {
		t.Fatalf("object = %q, want %q", got, "fourth")
	}
}

// testCreateOnlyRace has 8 writers race to create each of several keys with
// different bodies: exactly one wins each key, and the key holds its body.
func testCreateOnlyRace(t *testing.T, s lake.Store) {
	ctx := context.Background()
	const writers, rounds = 8, 5
	for round := range rounds {
		key := fmt.Sprintf("_lake/log/%08d.json", round)
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			errs   [writers]error
			bodies [writers]string
		)
		for w := range writers {
			bodies[w] = fmt.Sprintf("commit %d by writer %d %s", round, w, strings.Repeat("x", 1000*w))
			wg.Go(func() {
				<-start
				_, errs[w] = s.Put(ctx, key, strings.NewReader(bodies[w]), lake.PutOptions{CreateOnly: true})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: writers %d and %d both won", round, winner, w)
				}
				winner = w
			case !errors.Is(err, lake.ErrExists):
				t.Fatalf("round %d: writer %d: %v, want nil or ErrExists", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won: %v", round, errs)
		}
		if got := get(t, s, key); string(got) != bodies[winner] {
			t.Fatalf("round %d: object holds %.30q, want the winner's %.30q", round, got, bodies[winner])
		}
	}
}

func testDelete(t *testing.T, s lake.Store) {
	ctx := context.Background()
	put(t, s, "d/1", []byte("one"))
	put(t, s, "d/2", []byte("two"))
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "d/1"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("stat after delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "d/1"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.Delete(ctx, "never/was"); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	objs, err := s.List(ctx, "d/", "", 0)
	if err != nil || !slices.Equal(keys(objs), []string{"d/2"}) {
		t.Fatalf("list after delete = %q, %v", keys(objs), err)
	}
	if err := s.Delete(ctx, "d/2"); err != nil {
		t.Fatal(err)
	}
	objs, err = s.List(ctx, "", "", 0)
	if err != nil || len(objs) != 0 {
		t.Fatalf("list of emptied store = %q, %v", keys(objs), err)
	}
	// The emptied prefix is usable again.
	put(t, s, "d/3", []byte("three"))
	if got := get(t, s, "d/3"); string(got) != "three" {
		t.Fatalf("get d/3 = %q", got)
	}
}

func testNotFound(t *testing.T, s lake.Store) {
	ctx := context.Background()
	put(t, s, "file", []byte("x"))
	put(t, s, "dir/child", []byte("y"))
	for _, key := range []string{"missing", "no/such/dir/obj", "file/below", "dir"} {
		if _, err := s.Get(ctx, key); !errors.Is(err, lake.ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", key, err)
		}
		if _, err := s.GetRange(ctx, key, 0, 1); !errors.Is(err, lake.ErrNotFound) {
			t.Errorf("GetRange(%q): %v, want ErrNotFound", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, lake.ErrNotFound) {
			t.Errorf("Stat(%q): %v, want ErrNotFound", key, err)
		} else if !strings.Contains(err.Error(), key) {
			t.Errorf("Stat(%q) error %q does not name the key", key, err)
		}
	}
}

// testAtomicity has readers fetch a key while a writer keeps replacing it
// with bodies of different bytes and lengths: every read is one whole body.
func testAtomicity(t *testing.T, s lake.Store) {
	ctx := context.Background()
	bodies := [][]byte{
		bytes.Repeat([]byte("a"), 1<<20),
		bytes.Repeat([]byte("b"), 3<<19),
		bytes.Repeat([]byte("c"), 1<<19),
	}
	check := func(got []byte) error {
		for _, b := range bodies {
			if bytes.Equal(got, b) {
				return nil
			}
		}
		return fmt.Errorf("read %d bytes starting %.8q: not any whole body", len(got), got)
	}
	put(t, s, "hot", bodies[0])
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				rc, err := s.Get(ctx, "hot")
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err == nil {
					err = check(got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	// Create-only puts of fresh keys: a reader sees nothing or everything.
	wg.Go(func() {
		for i := range 20 {
			key := fmt.Sprintf("fresh/%d", i)
			for {
				rc, err := s.Get(ctx, key)
				if errors.Is(err, lake.ErrNotFound) {
					select {
					case <-done:
						return
					default:
						continue
					}
				}
				if err == nil {
					var got []byte
					got, err = io.ReadAll(rc)
					rc.Close()
					if err == nil {
						err = check(got)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", key, err)
					return
				}
				break
			}
		}
	})
	for i := range 20 {
		put(t, s, "hot", bodies[i%len(bodies)])
		if _, err := s.Put(ctx, fmt.Sprintf("fresh/%d", i), bytes.NewReader(bodies[i%len(bodies)]), lake.PutOptions{CreateOnly: true}); err != nil {
			t.Error(err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testFaults(t *testing.T, s lake.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	var seen []string
	f := lake.WithFaults(s, func(op lake.Op, key string) error {
		seen = append(seen, string(op)+" "+key)
		if strings.HasPrefix(key, "bad") {
			return boom
		}
		return nil
	})
	if f.URL() != s.URL() {
		t.Fatalf("URL %q, want %q", f.URL(), s.URL())
	}
	if _, err := f.Put(ctx, "good", strings.NewReader("g"), lake.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Put(ctx, "bad", strings.NewReader("b"), lake.PutOptions{}); !errors.Is(err, boom) {
		t.Fatalf("put bad: %v, want the injected error", err)
	}
	// The aborted put did not reach the store.
	if _, err := s.Stat(ctx, "bad"); !errors.Is(err, lake.ErrNotFound) {
		t.Fatalf("stat of aborted put: %v, want ErrNotFound", err)
	}
	rc, err := f.Get(ctx, "good")
	if got := readAll(t, rc, err); string(got) != "g" {
		t.Fatalf("get good = %q", got)
	}
	rc, err = f.GetRange(ctx, "good", 0, 1)
	readAll(t, rc, err)
	if _, err := f.Stat(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.List(ctx, "", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.List(ctx, "bad/", "", 0); !errors.Is(err, boom) {
		t.Fatalf("list bad/: %v", err)
	}
	if err := f.Delete(ctx, "bad"); !errors.Is(err, boom) {
		t.Fatalf("delete bad: %v", err)
	}
	if _, err := f.Get(ctx, "bad"); !errors.Is(err, boom) {
		t.Fatalf("get bad: %v", err)
	}
	if err := f.Delete(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	want := []string{"put good", "put bad", "get good", "getrange good", "stat good", "list ", "list bad/", "delete bad", "get bad", "delete good"}
	if !slices.Equal(seen, want) {
		t.Fatalf("hook saw %q, want %q", seen, want)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func testBadKeys(t *testing.T, s lake.Store) {
	ctx := context.Background()
	bad := []string{"", "/abs", "a//b", "a/", "..", "a/../b", "./a", "a/.", "x\x00y", ".lake-tmp", "d/.lake-1234"}
	for _, key := range bad {
		checks := map[string]error{}
		_, checks["put"] = s.Put(ctx, key, strings.NewReader("x"), lake.PutOptions{})
		_, checks["get"] = s.Get(ctx, key)
		_, checks["getrange"] = s.GetRange(ctx, key, 0, 1)
		_, checks["stat"] = s.Stat(ctx, key)
		checks["delete"] = s.Delete(ctx, key)
		for op, err := range checks {
			if err == nil || errors.Is(err, lake.ErrNotFound) || !strings.Contains(err.Error(), "key") {
				t.Errorf("%s(%q): err = %v, want an invalid key error", op, key, err)
			}
		}
	}
	for _, prefix := range []string{"/", "/abs", "a//", "../", "a/../"} {
		if _, err := s.List(ctx, prefix, "", 0); err == nil {
			t.Errorf("List(%q): no error", prefix)
		}
	}
	// Nothing was written anywhere.
	if objs, err := s.List(ctx, "", "", 0); err != nil || len(objs) != 0 {
		t.Fatalf("store after bad keys: %q, %v", keys(objs), err)
	}
}

func testCanceled(t *testing.T, s lake.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "c", strings.NewReader("x"), lake.PutOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("put: %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "c"); !errors.Is(err, context.Canceled) {
		t.Errorf("get: %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx, "", "", 0); !errors.Is(err, context.Canceled) {
		t.Errorf("list: %v, want context.Canceled", err)
	}
	if _, err := s.Stat(context.Background(), "c"); !errors.Is(err, lake.ErrNotFound) {
		t.Errorf("canceled put left an object: %v", err)
	}
}

func TestKeyLayout(t *testing.T) {
	tests := []struct{ got, want string }{
		{lake.ModuleKey("ab12"), "modules/sha256/ab12.wasm"},
		{lake.SegmentKey("0193f0e2-7d4a-7cc3-a1b2-0123456789ab", 0), "segments/0193f0e2-7d4a-7cc3-a1b2-0123456789ab/00000000.seg"},
		{lake.SegmentKey("r", 123), "segments/r/00000123.seg"},
		{lake.SegmentPrefix("r"), "segments/r/"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	// Zero padding makes key order segment order.
	if !(lake.SegmentKey("r", 9) < lake.SegmentKey("r", 10)) {
		t.Error("segment keys do not sort numerically")
	}
	if !strings.HasPrefix(lake.SegmentKey("r", 7), lake.SegmentPrefix("r")) {
		t.Error("SegmentKey does not start with SegmentPrefix")
	}
}
