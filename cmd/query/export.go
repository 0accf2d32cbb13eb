package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/timelake/timelake/views"
)

var exportFormats = []string{"parquet", "csv", "json", "jsonl", "arrow"}

// cmdExport writes a view, table or query result to a file.
func (e *environment) cmdExport(ctx context.Context, args []string) error {
	fs := e.newFlagSet("export")
	query := fs.String("sql", "", "export the result of this query instead of a view")
	out := fs.String("o", "", "output file (required)")
	// --format is a common flag; for export it names the file format.
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	format := strings.ToLower(e.common.format)
	if format == "" {
		format = strings.TrimPrefix(filepath.Ext(*out), ".")
		if format == "ndjson" {
			format = "jsonl"
		}
		if !slices.Contains(exportFormats, format) {
			format = "parquet"
		}
	}
	if !slices.Contains(exportFormats, format) {
		return usagef("export: --format %q: want %s", format, strings.Join(exportFormats, ", "))
	}
	if *out == "" {
		return usagef("export: -o FILE is required")
	}
	var q string
	switch {
	case *query != "" && len(pos) == 0:
		q = *query
	case *query == "" && len(pos) == 1:
		name := pos[0]
		if !known(name) {
			return usagef("export: no table or view %q (see `query views`)", name)
		}
		q = "SELECT * FROM " + name
	default:
		return usagef("export: give one VIEW or --sql QUERY")
	}
	s, err := e.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Require(); err != nil {
		fmt.Fprintf(e.stderr, "query: note: %s\n", emptyHint(e.common.lakeURL))
	}
	if err := s.LoadQuery(ctx, q); err != nil {
		return err
	}
	dst, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	n, err := export(ctx, s, q, format, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "query: wrote %d rows to %s (%s)\n", n, *out, format)
	return nil
}

func known(name string) bool {
	for _, v := range views.Catalog() {
		if v.Name == name {
			return true
		}
	}
	return false
}

// export writes the result of q to dst through DuckDB's COPY, or for Arrow
// IPC through a temporary Parquet file read back with arrow-go. The file
// appears whole or not at all.
func export(ctx context.Context, s *views.Session, q, format, dst string) (int64, error) {
	tmp := filepath.Join(filepath.Dir(dst), ".query-export-"+filepath.Base(dst))
	defer os.Remove(tmp)
	var opts string
	switch format {
	case "parquet", "arrow":
		opts = "FORMAT parquet, COMPRESSION zstd"
	case "csv":
		opts = "FORMAT csv, HEADER true"
	case "json":
		opts = "FORMAT json, ARRAY true"
	case "jsonl":
		opts = "FORMAT json"
	}
	copyTo := tmp
	if format == "arrow" {
		copyTo = tmp + ".parquet"
		defer os.Remove(copyTo)
	}
	res, err := s.DB().ExecContext(ctx, fmt.Sprintf("COPY (%s) TO '%s' (%s)",
		strings.TrimRight(strings.TrimSpace(q), ";"), strings.ReplaceAll(copyTo, "'", "''"), opts))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if format == "arrow" {
		if err := parquetToArrow(ctx, copyTo, tmp); err != nil {
			return 0, err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return n, nil
}

// parquetToArrow rewrites a Parquet file as an Arrow IPC file (Feather v2).
func parquetToArrow(ctx context.Context, src, dst string) error {
	pf, err := file.OpenParquetFile(src, false)
	if err != nil {
		return fmt.Errorf("export arrow: %w", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("export arrow: %w", err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("export arrow: %w", err)
	}
	defer rr.Release()
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("export arrow: %w", err)
	}
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(rr.Schema()), ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		f.Close()
		return fmt.Errorf("export arrow: %w", err)
	}
	for rr.Next() {
		if err := w.Write(rr.RecordBatch()); err != nil {
			w.Close()
			f.Close()
			return fmt.Errorf("export arrow: %w", err)
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, context.Canceled) {
		w.Close()
		f.Close()
		return fmt.Errorf("export arrow: %w", err)
	}
	return errors.Join(w.Close(), f.Close())
}
