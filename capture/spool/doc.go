// Package spool owns the write path of a recording between the Recorder and
// the lake: a background writer that turns record buffers into segment files
// in a local spool directory, the uploader that ships sealed segments (and the
// module, once per digest) to a lake.Store, and Sync, which ships what earlier
// or crashed runs left behind. It does not encode records (capture does; they
// are opaque bytes here), define the segment format (capture/segment) or talk
// to storage backends (lake).
//
// # Spool layout
//
//	<spool>/<run-id>/lock               flock(2)ed by the live writer for the run's lifetime
//	<spool>/<run-id>/<n:08d>.seg.open   the segment being written
//	<spool>/<run-id>/<n:08d>.seg        sealed, waiting for upload
//	<spool>/<run-id>/<n:08d>.seg.tmp    a torn segment being rebuilt by Sync
//	<spool>/modules/<sha256>.wasm       a module not yet known to be in the lake
//	<spool>/modules/<sha256>.uploaded   marker: the module is in the lake
//	<spool>/.new-<run-id>/              a run directory being set up
//
// A run directory is created under a temporary name, locked, then renamed
// into place, so a run directory that exists always has a lock file; a run
// whose lock is not held has a dead writer. A segment file is removed only
// after the lake holds an identical object, and a run directory only once it
// holds no segment. A module file is removed only after the lake holds it.
//
// # Writing and backpressure
//
// Writer.Submit only enqueues the buffer and hands back an empty one from a
// fixed pool of Options.Buffers buffers of Options.BufferSize bytes; one
// background goroutine compresses each buffer into a frame and appends it to
// the open segment. Record memory is bounded by (Buffers+1) x BufferSize: the
// pool plus the buffer the Recorder is filling. When every buffer is queued
// because the disk is slower than the guest, Submit blocks the guest until
// the writer frees one: records are never dropped to keep the guest running.
// The object store never blocks the guest: uploads run on their own goroutine
// from sealed files, so a slow or unreachable lake only makes sealed segments
// accumulate in the spool, on disk, until it comes back (or Sync runs).
//
// Each frame reaches the file with one write(2) as soon as the writer
// goroutine takes its buffer, so a kill -9 of the runner loses only the
// buffers still queued in memory and the one the Recorder was filling; the
// file is fsynced at least every Options.FlushInterval, which bounds what a
// machine crash can lose. A segment is sealed when it reaches
// Options.SegmentSize bytes, when it has held frames for Options.SegmentAge,
// and at Close; sealing writes the seal, fsyncs, creates the next segment's
// .seg.open (so a dead run always leaves its last segment behind as an open
// file), renames the sealed one to .seg and queues it for upload. If the disk
// fails, the writer stops writing, keeps consuming buffers so the guest is
// never stuck, counts the records it could not store, and Close reports them.
//
// # Upload
//
// Each sealed segment is PUT to lake.SegmentKey(run, n) with CreateOnly. An
// ErrExists answer means an earlier attempt landed (or someone else wrote the
// key): the object's size and content are compared with the local file, and
// only an identical object counts as uploaded; a different one is a conflict,
// logged, and the file stays in the spool. A successful PUT is checked for
// size. Failures are retried with exponential backoff until Close's upload
// timeout, after which the remaining segments stay in the spool for Sync.
// The module goes first, to lake.ModuleKey(digest) with CreateOnly; ErrExists
// means it is already there. A short run therefore costs exactly one segment
// PUT, plus one module PUT the first time this spool sees the module.
//
// # Recovery
//
// Sync takes every run directory whose lock it can get (its writer is gone),
// rebuilds each .seg.open into a sealed segment (a complete but unrenamed one
// is renamed; a torn one has its complete frames copied into a new segment
// sealed Last and Torn with the lost byte count, and no trailer), uploads
// every sealed segment and removes what it shipped. Runs still being written
// are skipped.
package spool
