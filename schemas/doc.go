// Package schemas owns the lake's event tables: their definitions as Go
// structs with parquet tags (the single source of truth, documented column by
// column in docs/tables.md), their version (SchemaVersion), and the decoding
// of recorded host calls into rows (Builder). Every record becomes one row of
// calls; records that move standard-stream bytes or touch the file system
// also become a row of stdio or fs (FuncTables states the mapping).
//
// Package schemas does not read segments or write Parquet files: compact
// streams records through a Builder and writes the rows; query reads them.
package schemas
