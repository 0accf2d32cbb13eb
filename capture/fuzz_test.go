package capture

import (
	"errors"
	"io"
	"reflect"
	"testing"
)

// FuzzDecoder feeds arbitrary bytes to the Decoder. It must never panic; it
// either reaches io.EOF or returns an error wrapping ErrCorrupt; and every
// record it decodes must encode back to bytes that decode to the same record.
func FuzzDecoder(f *testing.F) {
	recs := sampleRecords(0)
	f.Add(encodeAll(recs))
	for i := range recs {
		f.Add(AppendRecord(nil, &recs[i]))
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, buf []byte) {
		d := NewDecoder(buf, 7)
		var got []Record
		var err error
		for {
			var rec Record
			if err = d.Next(&rec); err != nil {
				break
			}
			got = append(got, rec)
		}
		if err != io.EOF && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Next returned %v, want io.EOF or ErrCorrupt", err)
		}
		if err == io.EOF && d.Offset() != len(buf) {
			t.Fatalf("EOF at offset %d of %d", d.Offset(), len(buf))
		}
		again := decodeAll(t, encodeAll(got), 7)
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoding changed the records:\n%#v\n%#v", got, again)
		}
	})
}
