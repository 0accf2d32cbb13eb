package capture

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/netip"
	"reflect"
	"testing"

	"github.com/timelake/timelake/wasi"
)

var sampleStat = wasi.FileStat{
	Dev: 2049, Ino: 1 << 40, Filetype: wasi.FiletypeRegularFile, NLink: 1, Size: 12345,
	ATim: 1_700_000_000_000_000_001, MTim: 1_700_000_000_000_000_002, CTim: math.MaxUint64,
}

// sampleCalls holds one representative call per function, with values that
// exercise every field (large, zero and boundary values, multi-byte varints).
func sampleCalls() []Call {
	return []Call{
		&ArgsGet{Args: []string{"app.wasm", "-v", "", "ünïcode"}},
		&ArgsSizesGet{Argc: 4, BufSize: 25},
		&EnvironGet{Environ: []string{"HOME=/", "TZ=UTC"}},
		&EnvironSizesGet{Count: 2, BufSize: 14},
		&ClockResGet{ID: wasi.ClockMonotonic, Resolution: 1},
		&ClockTimeGet{ID: wasi.ClockRealtime, Precision: 1000, Time: 1_700_000_000_123_456_789},
		&FDAdvise{FD: 3, Offset: 4096, Length: 1 << 33, Advice: wasi.AdviceDontNeed},
		&FDAllocate{FD: 4, Offset: 0, Length: math.MaxUint64},
		&FDClose{FD: math.MaxUint32},
		&FDDataSync{FD: 5},
		&FDStatGet{FD: 1, Stat: wasi.FDStat{Filetype: wasi.FiletypeCharacterDevice, Flags: wasi.FDFlagAppend | wasi.FDFlagNonBlock, RightsBase: wasi.FileRights, RightsInheriting: wasi.AllRights}},
		&FDStatSetFlags{FD: 1, Flags: wasi.FDFlagNonBlock},
		&FDStatSetRights{FD: 6, Base: wasi.RightFDRead | wasi.RightFDSeek, Inheriting: 0},
		&FDFileStatGet{FD: 7, Stat: sampleStat},
		&FDFileStatSetSize{FD: 7, Size: 1 << 50},
		&FDFileStatSetTimes{FD: 7, ATim: 1, MTim: 2, Flags: wasi.FSTFlagAtim | wasi.FSTFlagMtimNow},
		&FDPread{FD: 8, Offset: 100, IOVecLens: []uint32{3, 4096}, Data: []byte("hello"), N: 5},
		&FDPrestatGet{FD: 3, Prestat: wasi.Prestat{Type: wasi.PreopenDir, NameLen: 4}},
		&FDPrestatDirName{FD: 3, Name: "/tmp"},
		&FDPwrite{FD: 8, Offset: 1 << 40, IOVecLens: []uint32{2, 3}, Data: []byte("ab\x00\xffc"), N: 4},
		&FDRead{FD: 0, IOVecLens: []uint32{4096}, Data: []byte("line one\nline two\n"), N: 18},
		&FDReadDir{FD: 3, Cookie: 2, BufLen: 4096, Capacity: 170, Entries: []wasi.DirEntry{
			{Next: 3, Ino: 11, Type: wasi.FiletypeDirectory, Name: []byte("sub")},
			{Next: math.MaxUint64, Ino: 0, Type: wasi.FiletypeSymbolicLink, Name: []byte("a link")},
		}},
		&FDRenumber{From: 9, To: 3},
		&FDSeek{FD: 8, Offset: -42, Whence: wasi.WhenceEnd, NewOffset: 958},
		&FDSync{FD: 8},
		&FDTell{FD: 8, Offset: 958},
		&FDWrite{FD: 1, IOVecLens: []uint32{17}, Data: []byte("hello, timelake!\n"), N: 17},
		&PathCreateDirectory{FD: 3, Path: "a/b"},
		&PathFileStatGet{FD: 3, Flags: wasi.LookupSymlinkFollow, Path: "a/b/c.txt", Stat: sampleStat},
		&PathFileStatSetTimes{FD: 3, Flags: 0, Path: "c.txt", ATim: 10, MTim: 20, FSTFlags: wasi.FSTFlagAtimNow},
		&PathLink{OldFD: 3, OldFlags: wasi.LookupSymlinkFollow, OldPath: "x", NewFD: 4, NewPath: "y"},
		&PathOpen{FD: 3, DirFlags: wasi.LookupSymlinkFollow, Path: "data/out.log", OFlags: wasi.OFlagCreat | wasi.OFlagTrunc,
			RightsBase: wasi.FileRights, RightsInheriting: 0, FDFlags: wasi.FDFlagAppend, NewFD: 10},
		&PathReadLink{FD: 3, Path: "lnk", BufLen: 8, Data: []byte("target/f"), N: 8},
		&PathRemoveDirectory{FD: 3, Path: "a/b"},
		&PathRename{FD: 3, OldPath: "old", NewFD: 4, NewPath: "new"},
		&PathSymlink{OldPath: "../target", FD: 3, NewPath: "lnk"},
		&PathUnlinkFile{FD: 3, Path: "gone.txt"},
		&PollOneOff{
			Subs: []wasi.Subscription{
				{UserData: 1, EventType: wasi.EventTypeClock, ClockID: wasi.ClockMonotonic, Timeout: 5_000_000, Precision: 1000, Flags: wasi.SubclockAbstime},
				{UserData: math.MaxUint64, EventType: wasi.EventTypeFDRead, FD: 0},
				{UserData: 3, EventType: wasi.EventTypeFDWrite, FD: 1},
			},
			Events: []wasi.Event{
				{UserData: math.MaxUint64, Errno: wasi.ESUCCESS, EventType: wasi.EventTypeFDRead, NBytes: 12, Flags: wasi.EventFDReadWriteHangup},
				{UserData: 3, Errno: wasi.EBADF, EventType: wasi.EventTypeFDWrite},
			},
		},
		&ProcExit{Code: 3},
		&ProcRaise{Signal: 9},
		&SchedYield{},
		&RandomGet{Data: []byte{0, 1, 2, 0xfe, 0xff, 0x80, 0x7f}},
		&SockAccept{FD: 5, Flags: wasi.FDFlagNonBlock, NewFD: 11},
		&SockRecv{FD: 11, Flags: wasi.RecvPeek, IOVecLens: []uint32{8, 8}, Data: []byte("GET / HTTP/1.1\r\n"), N: 16, OutFlags: wasi.RecvDataTruncated},
		&SockSend{FD: 11, Flags: 0, IOVecLens: []uint32{19}, Data: []byte("HTTP/1.1 200 OK\r\n\r\n"), N: 10},
		&SockShutdown{FD: 11, Flags: wasi.ShutdownRD | wasi.ShutdownWR},
		&SockOpen{Family: wasi.AFInet6, SockType: wasi.SockStream, Protocol: wasi.ProtoTCP, NewFD: 12},
		&SockBind{FD: 12, Addr: netip.MustParseAddrPort("[::]:8080")},
		&SockConnect{FD: 12, Addr: netip.MustParseAddrPort("93.184.216.34:443")},
		&SockListen{FD: 12, Backlog: -1},
		&SockRecvFrom{FD: 13, Flags: wasi.RecvWaitAll, IOVecLens: []uint32{512}, Data: []byte("\x12\x34 dns answer"), N: 13,
			OutFlags: wasi.RecvDataTruncated, Addr: netip.MustParseAddrPort("[2001:db8::53]:53")},
		&SockSendTo{FD: 13, Addr: netip.MustParseAddrPort("10.0.0.2:65535"), IOVecLens: []uint32{0, 5}, Data: []byte("query"), N: 5},
		&SockGetOpt{FD: 12, Level: wasi.SolSocket, Name: wasi.SoRcvBuf, BufLen: 8, Value: []byte{0, 0, 2, 0}},
		&SockSetOpt{FD: 12, Level: wasi.SolTimelake, Name: wasi.HTLSServerName, Value: []byte("example.com")},
		&SockGetLocalAddr{FD: 12, Addr: netip.MustParseAddrPort("127.0.0.1:0")},
		&SockGetPeerAddr{FD: 14},
		&SockGetAddrInfo{Node: "localhost", Service: "http",
			Hints:    wasi.AddrInfo{Flags: wasi.AINumericServ | wasi.AIPassive, Family: wasi.AFInet, SockType: wasi.SockStream, Protocol: wasi.ProtoTCP},
			Capacity: 64,
			Results: []wasi.AddrInfo{
				{Family: wasi.AFInet, SockType: wasi.SockStream, Protocol: wasi.ProtoTCP, Addr: netip.MustParseAddrPort("127.0.0.1:80")},
				{Family: wasi.AFInet6, SockType: wasi.SockDgram, Protocol: wasi.ProtoUDP, Addr: netip.MustParseAddrPort("[::1]:80")},
			}},
	}
}

// sampleRecords returns sampleCalls as records with sequence numbers from
// firstSeq, increasing times and assorted errnos.
func sampleRecords(firstSeq uint64) []Record {
	calls := sampleCalls()
	recs := make([]Record, len(calls))
	for i, c := range calls {
		recs[i] = Record{
			Seq:      firstSeq + uint64(i),
			Func:     c.Func(),
			Time:     int64(i)*1_000_003 + 17,
			Duration: int64(i * 250),
			Errno:    wasi.Errno(i % 3 * 20), // ESUCCESS, EEXIST, ENOMEM
			Call:     c,
		}
	}
	return recs
}

func encodeAll(recs []Record) []byte {
	var enc Encoder
	var buf []byte
	for i := range recs {
		buf = enc.Append(buf, &recs[i])
	}
	return buf
}

func decodeAll(t testing.TB, buf []byte, firstSeq uint64) []Record {
	t.Helper()
	d := NewDecoder(buf, firstSeq)
	var recs []Record
	for {
		var rec Record
		err := d.Next(&rec)
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		recs = append(recs, rec)
	}
}

func TestSampleCallsCoverEveryFunc(t *testing.T) {
	seen := make(map[wasi.Func]bool)
	for _, c := range sampleCalls() {
		if seen[c.Func()] {
			t.Errorf("%v appears twice", c.Func())
		}
		seen[c.Func()] = true
		if got := newCall(c.Func()); reflect.TypeOf(got) != reflect.TypeOf(c) {
			t.Errorf("newCall(%v) = %T, want %T", c.Func(), got, c)
		}
	}
	for f := wasi.Func(0); f < wasi.FuncCount; f++ {
		if !seen[f] {
			t.Errorf("no sample call for %v", f)
		}
	}
}

func TestRoundTripEveryFunc(t *testing.T) {
	for _, want := range sampleRecords(0) {
		t.Run(want.Func.String(), func(t *testing.T) {
			buf := AppendRecord(nil, &want)
			got := decodeAll(t, buf, want.Seq)
			if len(got) != 1 {
				t.Fatalf("decoded %d records, want 1", len(got))
			}
			if !reflect.DeepEqual(got[0], want) {
				t.Errorf("round trip:\n got %#v\n     %#v\nwant %#v\n     %#v", got[0], got[0].Call, want, want.Call)
			}
		})
	}
}

func TestRoundTripSequence(t *testing.T) {
	want := sampleRecords(1000)
	// A negative time delta and a negative duration must survive too.
	want[5].Time = -7
	want[6].Duration = -1
	got := decodeAll(t, encodeAll(want), 1000)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("sequence round trip differs")
	}
}

func TestDecoderReusesCall(t *testing.T) {
	recs := []Record{
		{Call: &FDWrite{FD: 1, IOVecLens: []uint32{3}, Data: []byte("abc"), N: 3}},
		{Time: 5, Call: &FDWrite{FD: 2, IOVecLens: []uint32{2}, Data: []byte("de"), N: 2}},
	}
	d := NewDecoder(encodeAll(recs), 0)
	var rec Record
	if err := d.Next(&rec); err != nil {
		t.Fatal(err)
	}
	first := rec.Call.(*FDWrite)
	if err := d.Next(&rec); err != nil {
		t.Fatal(err)
	}
	if rec.Call != Call(first) {
		t.Errorf("second decode allocated a new call instead of reusing the first")
	}
	if got := rec.Call.(*FDWrite); got.FD != 2 || string(got.Data) != "de" || rec.Time != 5 || rec.Seq != 1 {
		t.Errorf("second record = %+v %+v", rec, got)
	}
	one := encodeAll(recs[:1])
	d = NewDecoder(nil, 0)
	allocs := testing.AllocsPerRun(100, func() {
		d.Reset(one, 0)
		_ = d.Next(&rec)
	})
	if allocs != 0 {
		t.Errorf("decoding into a reused record allocates %v times", allocs)
	}
}

func TestDecoderErrors(t *testing.T) {
	valid := AppendRecord(nil, &Record{Call: &FDWrite{FD: 1, IOVecLens: []uint32{5}, Data: []byte("hello"), N: 5}})
	tests := []struct {
		name string
		buf  []byte
	}{
		{"unknown function", []byte{byte(wasi.FuncCount), 0, 0, 0}},
		{"function id beyond uint16", []byte{0x80, 0x80, 0x04, 0, 0, 0}},
		{"truncated header", []byte{byte(wasi.FuncFDClose), 0}},
		{"truncated varint", []byte{byte(wasi.FuncFDClose), 0, 0, 0, 0x80}},
		{"overlong varint", append([]byte{byte(wasi.FuncFDClose), 0, 0, 0}, bytes.Repeat([]byte{0xff}, 11)...)},
		{"fd beyond uint32", []byte{byte(wasi.FuncFDClose), 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10}},
		{"errno beyond uint16", []byte{byte(wasi.FuncFDClose), 0, 0, 0x80, 0x80, 0x04, 1}},
		{"filetype beyond uint8", []byte{byte(wasi.FuncFDStatGet), 0, 0, 0, 1, 0x80, 0x02, 0, 0, 0}},
		{"data length overruns input", []byte{byte(wasi.FuncRandomGet), 0, 0, 0, 10, 1, 2, 3}},
		{"huge data length", []byte{byte(wasi.FuncRandomGet), 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"huge list length", []byte{byte(wasi.FuncArgsGet), 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0}},
		{"list longer than input can hold", []byte{byte(wasi.FuncPollOneOff), 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"trailing garbage", append(append([]byte{}, valid...), byte(wasi.FuncFDWrite))},
		{"truncated record", valid[:len(valid)-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.buf, 0)
			var rec Record
			var err error
			for err == nil {
				err = d.Next(&rec)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Next = %v, want ErrCorrupt", err)
			}
			if again := d.Next(&rec); again != err {
				t.Errorf("error not sticky: then %v", again)
			}
		})
	}
}

// TestDecoderEveryPrefix checks that cutting a valid buffer anywhere but at a
// record boundary is reported, and that the records before the cut decode.
func TestDecoderEveryPrefix(t *testing.T) {
	recs := sampleRecords(0)
	buf := encodeAll(recs)
	boundaries := map[int]int{0: 0} // offset -> records before it
	var enc Encoder
	var b []byte
	for i := range recs {
		b = enc.Append(b, &recs[i])
		boundaries[len(b)] = i + 1
	}
	for cut := 0; cut <= len(buf); cut++ {
		d := NewDecoder(buf[:cut], 0)
		var rec Record
		n := 0
		var err error
		for {
			if err = d.Next(&rec); err != nil {
				break
			}
			n++
		}
		if whole, ok := boundaries[cut]; ok {
			if err != io.EOF || n != whole {
				t.Fatalf("cut at boundary %d: %d records, %v; want %d, EOF", cut, n, err, whole)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: %d records then %v, want ErrCorrupt", cut, n, err)
		}
	}
}

func TestEncodingIsCompact(t *testing.T) {
	rec := Record{Time: 90, Duration: 300, Call: &FDWrite{FD: 1, IOVecLens: []uint32{17}, Data: []byte("hello, timelake!\n"), N: 17}}
	buf := AppendRecord(nil, &rec)
	// func, time(2), duration(2), errno, fd, iovec count, iovec len, data len, data(17), n
	if len(buf) != 28 {
		t.Errorf("17-byte fd_write encodes to %d bytes, want 28: % x", len(buf), buf)
	}
}

// TestEncodingExamples pins the worked examples of docs/records.md.
func TestEncodingExamples(t *testing.T) {
	var enc Encoder
	var buf []byte
	buf = enc.Append(buf, &Record{Time: 90, Duration: 300, Call: &FDWrite{FD: 1, IOVecLens: []uint32{6}, Data: []byte("hello\n"), N: 6}})
	buf = enc.Append(buf, &Record{Time: 1190, Duration: 2500, Errno: wasi.ENOENT, Call: &PathOpen{FD: 3, DirFlags: wasi.LookupSymlinkFollow, Path: "a.txt", OFlags: wasi.OFlagCreat, RightsBase: 0x42}})
	want := []byte{
		0x1a, 0xb4, 0x01, 0xac, 0x02, 0x00, 0x01, 0x01, 0x06, 0x06, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0a, 0x06,
		0x1f, 0x98, 0x11, 0xc4, 0x13, 0x2c, 0x03, 0x01, 0x05, 0x61, 0x2e, 0x74, 0x78, 0x74, 0x01, 0x42, 0x00, 0x00, 0x00,
	}
	if !bytes.Equal(buf, want) {
		t.Errorf("encoding\n got % x\nwant % x", buf, want)
	}
}
