package segment

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, must
// end every input with io.EOF or a classified error, and the frames it
// returns must agree with their headers and with the seal.
func FuzzReader(f *testing.F) {
	seeds := []built{
		build(f, testMetadata(), []frameSpec{{records(1, 3), 3, 1}, {records(4, 30), 30, 4}}, Seal{Last: true}, testTrailer(33)),
		build(f, nil, []frameSpec{{randomBytes(64), 2, 9}}, Seal{}, nil),
		build(f, nil, nil, Seal{Last: true, Torn: true, BytesLost: 12}, nil),
	}
	for _, s := range seeds {
		f.Add(s.data)
		f.Add(s.data[:len(s.data)-7])
		f.Add(s.data[:HeaderSize+10])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			checkDamage(t, err, int64(len(data)))
			return
		}
		var recs uint64
		for {
			fr, err := r.Next()
			if err == io.EOF {
				s, ok := r.Seal()
				if !ok || s.Records != recs || r.ValidSize() != int64(len(data)) {
					t.Fatalf("EOF with seal %+v %v, %d records read, valid %d of %d", s, ok, recs, r.ValidSize(), len(data))
				}
				return
			}
			if err != nil {
				checkDamage(t, err, int64(len(data)))
				if de := (*DamageError)(nil); errors.As(err, &de) && de.Offset != r.ValidSize() {
					t.Fatalf("damage at %d, valid size %d", de.Offset, r.ValidSize())
				}
				return
			}
			if fr.Records == 0 || len(fr.Payload) == 0 || len(fr.Payload) > MaxPayload {
				t.Fatalf("frame %+v", fr)
			}
			recs += uint64(fr.Records)
		}
	})
}

func checkDamage(t *testing.T, err error, size int64) {
	t.Helper()
	var de *DamageError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *DamageError", err)
	}
	if !errors.Is(err, ErrTorn) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
		t.Fatalf("error %v has no kind", err)
	}
	if de.Offset < 0 || de.Offset+de.BytesLost != size {
		t.Fatalf("damage at %d losing %d in %d bytes", de.Offset, de.BytesLost, size)
	}
}
