package wasi

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
)

// FuzzSubscription checks that any 48 guest bytes decode without panic into
// either EINVAL (unknown tag or clock) or a subscription whose fields are
// the bytes at their specified offsets.
func FuzzSubscription(f *testing.F) {
	f.Add(make([]byte, SubscriptionSize))
	clock := make([]byte, SubscriptionSize)
	binary.LittleEndian.PutUint64(clock, 7)
	binary.LittleEndian.PutUint32(clock[16:], 3)
	binary.LittleEndian.PutUint64(clock[24:], 1e9)
	f.Add(clock)
	fd := make([]byte, SubscriptionSize)
	fd[8] = 2
	binary.LittleEndian.PutUint32(fd[16:], 5)
	f.Add(fd)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) < SubscriptionSize {
			raw = append(raw, make([]byte, SubscriptionSize-len(raw))...)
		}
		var s Subscription
		errno := getSubscription(raw, &s)
		le := binary.LittleEndian
		tag, id := raw[8], le.Uint32(raw[16:])
		switch {
		case tag > 2 || tag == 0 && id > 3:
			if errno != EINVAL {
				t.Fatalf("tag %d clock %d: errno %s, want EINVAL", tag, id, errno.Name())
			}
		case errno != ESUCCESS:
			t.Fatalf("tag %d: errno %s", tag, errno.Name())
		case s.UserData != le.Uint64(raw) || s.EventType != EventType(tag):
			t.Fatalf("header decoded as %+v", s)
		case tag == 0 && (s.ClockID != ClockID(id) || s.Timeout != le.Uint64(raw[24:]) ||
			s.Precision != le.Uint64(raw[32:]) || s.Flags != SubclockFlags(le.Uint16(raw[40:]))):
			t.Fatalf("clock decoded as %+v", s)
		case tag != 0 && s.FD != id:
			t.Fatalf("fd decoded as %+v", s)
		}
	})
}

// FuzzReaddir checks the fd_readdir buffer for any cookie, buffer size and
// batch size: it is the encoding of the directory from cookie on, cut at
// buf_len, and it is shorter than buf_len only when the directory ended.
func FuzzReaddir(f *testing.F) {
	f.Add(uint8(0), uint16(4096), uint8(64))
	f.Add(uint8(3), uint16(60), uint8(1))
	f.Add(uint8(99), uint16(10), uint8(2))
	f.Add(uint8(120), uint16(100), uint8(7))
	f.Fuzz(func(t *testing.T, cookie uint8, bufLen uint16, batch uint8) {
		s := newFakeSystem()
		dir := s.dirs[78]
		b := &binding{sys: s, entries: make([]DirEntry, max(int(batch), 1))}
		buf := bytes.Repeat([]byte{0xAA}, int(bufLen)+8)
		used, errno := b.readdir(context.Background(), 78, buf[:bufLen], DirCookie(cookie))
		if errno != ESUCCESS {
			t.Fatalf("errno %s", errno.Name())
		}
		var want []byte
		if int(cookie) < len(dir) {
			want = direntHex(dir[cookie:])
		}
		if len(want) > int(bufLen) {
			want = want[:bufLen]
		}
		if !bytes.Equal(buf[:used], want) {
			t.Fatalf("buffer\n got %x\nwant %x", buf[:used], want)
		}
		if !bytes.Equal(buf[used:], bytes.Repeat([]byte{0xAA}, len(buf)-used)) {
			t.Fatalf("bytes past bufused were written: %x", buf[used:])
		}
	})
}
