// Package replay owns re-execution of a recorded run: it resolves a run ID
// (or a unique prefix) in the lake, streams the run's records from its
// segments (Run), and serves a wasi.System from them (System), checking that
// the guest asks exactly the questions it asked when it was recorded.
//
// # Serving calls from the record
//
// A System answers every host call with the next record: it checks that the
// function and the guest's inputs match (fds, flags, offsets, paths, the
// iovec lengths offered, the bytes written, the subscriptions, ...) and
// returns what was recorded (bytes read are copied into the guest's iovecs;
// fds, stats, clock values, random bytes, dirents, poll events, socket
// addresses and errnos are returned as recorded; System implements
// wasi.Sockets too). It touches nothing on the host: no file, socket,
// clock or random source. poll_oneoff returns the recorded events at once, so
// a guest that slept replays without waiting (virtual time). Writes to the
// guest's stdout and stderr fds are re-emitted to the writers given in
// Options, byte for byte (only the bytes the record says were accepted), in
// the order the guest wrote them.
//
// # Stopping the guest
//
// When the guest's call does not match the record (a divergence), when it
// calls past the end of the record, or when the record of an incomplete run
// runs out, the System stops the guest at once: it keeps the reason and
// panics with it. wazero recovers panics of host functions and returns them,
// wrapped, from the guest's exported function call, so nothing after the
// diverging call runs; the caller then asks Finish for the reason, a
// *DivergenceError, an *IncompleteError or nil. A guest whose record ends
// because it was stopped from outside (timed out or killed) may compute
// without calling the host; Options.OnEnd tells the caller when to stop it
// (cancel the context of a runtime built WithCloseOnContextDone).
//
// # Streaming
//
// A Run reads one segment at a time from the lake, one frame at a time
// (segment.Reader), and decodes one record at a time into reused call
// structs: replay memory does not grow with the length of the run, and
// serving a call allocates nothing in steady state.
//
// Package replay does not compile or run modules (cmd/run does), write
// anything to the lake, or define the record and segment formats (capture
// and capture/segment do).
package replay
