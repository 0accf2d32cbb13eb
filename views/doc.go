// Package views owns the read side of the lake: a DuckDB session (Session)
// in which the committed tables of a lake appear as views, and the derived
// views written as embedded .sql files under sql/ (logs, syscall_stats,
// errors, run_summary, file_access, timeline, connections, requests),
// documented in docs/tables.md.
//
// A session reads only files named by the lake's commit log
// (compact.ReadSnapshot), never a listing of tables/, so a half-written
// compaction is invisible. file:// lakes are read in place. Other lakes (S3)
// are read through a local cache of Parquet files (Cache): a session fetches
// only the files a question needs, pruned by run ID with the per-file run
// ranges the commit log records, in parallel, validated by ETag, and evicts
// the least recently used files beyond a size bound.
//
// Package views does not write the lake, and does not format results:
// cmd/query prints them.
package views
