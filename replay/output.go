package replay

import "io"

// outBufSize is how many bytes of one stream are held before a flush.
const outBufSize = 64 << 10

// The streams of an output.
const (
	streamStdout = 0
	streamStderr = 1
)

// output re-emits the guest's stdout and stderr. Each stream is buffered, and
// one is flushed before the other is written to, so a reader of both (as with
// 2>&1) sees the writes in the order the guest made them. Write errors are
// kept (the first one) rather than returned: the recorded write succeeded, so
// the replay goes on.
type output struct {
	w    [2]io.Writer
	buf  [2][]byte
	last int
	err  error
}

func newOutput(stdout, stderr io.Writer) *output {
	o := &output{w: [2]io.Writer{stdout, stderr}}
	for i, w := range o.w {
		if w == nil {
			o.w[i] = io.Discard
		}
	}
	return o
}

func (o *output) write(stream int, p []byte) {
	if len(p) == 0 {
		return
	}
	if stream != o.last {
		o.flushStream(o.last)
		o.last = stream
	}
	b := o.buf[stream]
	if len(b)+len(p) > outBufSize {
		o.flushStream(stream)
		b = o.buf[stream]
		if len(p) >= outBufSize {
			o.emit(stream, p)
			return
		}
	}
	if b == nil {
		b = make([]byte, 0, outBufSize)
	}
	o.buf[stream] = append(b, p...)
}

func (o *output) flushStream(stream int) {
	if b := o.buf[stream]; len(b) > 0 {
		o.emit(stream, b)
		o.buf[stream] = b[:0]
	}
}

func (o *output) emit(stream int, p []byte) {
	if _, err := o.w[stream].Write(p); err != nil && o.err == nil {
		o.err = err
	}
}

// flush writes out both streams, the one written last at the end.
func (o *output) flush() error {
	o.flushStream(1 - o.last)
	o.flushStream(o.last)
	return o.err
}

// streamWriter is an io.Writer appending to one stream of an output (the
// --trace lines go to stderr this way, in order with the guest's writes).
type streamWriter struct {
	o      *output
	stream int
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.o.write(w.stream, p)
	return len(p), nil
}
