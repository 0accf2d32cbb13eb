// Package schemas owns the lake's event tables: their definitions as Go
// structs with parquet tags (the single source of truth, documented column by
// column in docs/tables.md), their version (SchemaVersion), and the decoding
// of recorded host calls into rows (Builder). Every record becomes one row of
// calls; records that move standard-stream bytes, touch the file system or
// act on a socket also become a row of stdio, fs or net (FuncTables states
// the mapping). It also owns the derivations: the http table, HTTP/1.x
// exchanges rebuilt incrementally from each TCP connection's bytes (the
// Builder feeds it as records arrive; DeriveHTTP re-runs it over net rows).
//
// Package schemas does not read segments or write Parquet files: compact
// streams records through a Builder and writes the rows; query reads them.
package schemas
