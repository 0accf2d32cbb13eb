// Package compact owns the batch stage of the lake: it turns the segment
// logs under segments/ into the Parquet tables under tables/ (schemas
// defines them) and owns the commit log under _lake/ that makes the tables'
// content exact: every recorded call becomes exactly one calls row, whatever
// crashes, retries or concurrent compactors happen along the way.
//
// A pass (Run) lists the segments it has not consumed, decodes them record
// by record into rows, writes Parquet files (zstd, sorted by run_id and
// seq, with statistics and page indexes) under unique names, and then
// claims the next number of the commit log with a create-only put naming the
// files it added and removed and the segments it consumed. Readers
// (ReadSnapshot) trust only files named by the log. The protocol, the key
// layout and the failure cases are specified in docs/commit.md; the tables
// in docs/tables.md.
//
// Memory is bounded by the open row groups (RowGroupBytes per table being
// written, three event tables at a time), one segment frame (at most 64
// MiB decoded), and the runs of one runs-table partition when it is
// rewritten; it does not grow with the number or size of segments.
//
// Package compact does not record, upload or query: capture writes the
// segments, lake stores the objects, views reads the tables.
package compact
