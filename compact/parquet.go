package compact

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

// Output sizing. Row groups are the unit a reader fetches with one ranged
// GET per column chunk; files are the unit of listing and of commit.
const (
	// DefaultRowGroupRows caps the rows of a row group.
	DefaultRowGroupRows = 1 << 20
	// DefaultRowGroupBytes caps the (estimated, uncompressed) bytes a row
	// group buffers before it is flushed; it bounds a writer's memory.
	DefaultRowGroupBytes = 64 << 20
	// DefaultFileBytes is the size after which a file is closed and a new
	// one started.
	DefaultFileBytes = 256 << 20
	// DefaultSmallFileBytes: files below it are merged with their
	// partition's other small files.
	DefaultSmallFileBytes = 32 << 20
)

// sizing holds the output targets of a pass.
type sizing struct {
	rowGroupRows  int64
	rowGroupBytes int64
	fileBytes     int64
}

// tableKey is the key of a new file of table in partition date.
func tableKey(table, date string) string {
	return TablesPrefix + table + "/date=" + date + "/" + uuid.Must(uuid.NewV7()).String() + ".parquet"
}

// partitionPrefix is the key prefix of a partition.
func partitionPrefix(table, date string) string {
	return TablesPrefix + table + "/date=" + date + "/"
}

// rowWriter writes rows of one type to a sequence of Parquet files of one
// partition, each spooled to a local temporary file and uploaded when full
// or closed. Rows must arrive sorted by (run_id, seq).
type rowWriter[T any] struct {
	table, date string
	size        sizing
	tmpDir      string
	rowBytes    func(*T) int64 // estimate of a row's uncompressed size
	runID       func(*T) string
	upload      func(ctx context.Context, f File, body *os.File) error

	f       *os.File
	w       *parquet.GenericWriter[T]
	cur     File  // the file being written
	rgBytes int64 // estimated bytes in the current row group
	rgRows  int64
	files   []File // uploaded
}

func writerOptions(table string, size sizing) []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest, Concurrency: 1}),
		parquet.MaxRowsPerRowGroup(size.rowGroupRows),
		parquet.PageBufferSize(1 << 20),
		parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending("run_id"), parquet.Ascending("seq"))),
		parquet.KeyValueMetadata("timelake.table", table),
		parquet.KeyValueMetadata("timelake.schema_version", strconv.Itoa(schemas.SchemaVersion)),
		parquet.CreatedBy("timelake compact", strconv.Itoa(FormatVersion), ""),
	}
}

// Write appends rows.
func (w *rowWriter[T]) Write(ctx context.Context, rows []T) error {
	if len(rows) == 0 {
		return nil
	}
	if w.w == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	if _, err := w.w.Write(rows); err != nil {
		return fmt.Errorf("write %s rows: %w", w.table, err)
	}
	if w.cur.MinRunID == "" {
		w.cur.MinRunID = w.runID(&rows[0])
	}
	w.cur.MaxRunID = w.runID(&rows[len(rows)-1])
	w.cur.Rows += int64(len(rows))
	w.rgRows += int64(len(rows))
	for i := range rows {
		w.rgBytes += w.rowBytes(&rows[i])
	}
	if w.rgRows >= w.size.rowGroupRows {
		// The writer started a new row group by itself.
		w.rgRows, w.rgBytes = 0, 0
	}
	if w.rgBytes >= w.size.rowGroupBytes {
		if err := w.w.Flush(); err != nil {
			return fmt.Errorf("flush %s row group: %w", w.table, err)
		}
		w.rgRows, w.rgBytes = 0, 0
		if w.w.Size() >= w.size.fileBytes {
			return w.finish(ctx)
		}
	}
	return nil
}

func (w *rowWriter[T]) open() error {
	f, err := os.CreateTemp(w.tmpDir, "timelake-compact-*.parquet")
	if err != nil {
		return fmt.Errorf("create temporary %s file: %w", w.table, err)
	}
	w.f = f
	if w.w == nil {
		w.w = parquet.NewGenericWriter[T](f, writerOptions(w.table, w.size)...)
	} else {
		w.w.Reset(f)
	}
	w.cur = File{Key: tableKey(w.table, w.date), Table: w.table, Date: w.date}
	w.rgBytes, w.rgRows = 0, 0
	return nil
}

// finish completes the current file, if any, and uploads it.
func (w *rowWriter[T]) finish(ctx context.Context) error {
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("close %s file: %w", w.table, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat temporary %s file: %w", w.table, err)
	}
	w.cur.Bytes = st.Size()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind temporary %s file: %w", w.table, err)
	}
	if err := w.upload(ctx, w.cur, f); err != nil {
		return err
	}
	w.files = append(w.files, w.cur)
	return nil
}

// Close completes and uploads the last file and returns every file written.
func (w *rowWriter[T]) Close(ctx context.Context) ([]File, error) {
	if err := w.finish(ctx); err != nil {
		return w.files, err
	}
	return w.files, nil
}

// Abort drops the file being written (uploaded files are the caller's).
func (w *rowWriter[T]) Abort() {
	if w.f != nil {
		w.f.Close()
		os.Remove(w.f.Name())
		w.f = nil
	}
}

// Row size estimates: fixed columns plus the variable-length ones; only the
// order of magnitude matters (it decides when a row group is flushed).
func callBytes(r *schemas.Call) int64   { return 96 + int64(len(r.Args)) + pathLen(r.Path) }
func stdioBytes(r *schemas.Stdio) int64 { return 64 + int64(len(r.Data)) }
func fsBytes(r *schemas.FS) int64 {
	return 128 + pathLen(r.Path) + pathLen(r.Path2) + int64(len(r.Flags))
}
func netBytes(r *schemas.Net) int64 {
	return 128 + int64(len(r.Data)) + int64(len(r.Detail)) + pathLen(r.LocalAddr) + pathLen(r.PeerAddr)
}
func httpBytes(r *schemas.HTTP) int64 {
	n := 256 + int64(len(r.Path)+len(r.Host)+len(r.RequestBody)+len(r.ResponseBody))
	for _, h := range r.RequestHeaders {
		n += int64(len(h.Name) + len(h.Value))
	}
	for _, h := range r.ResponseHeaders {
		n += int64(len(h.Name) + len(h.Value))
	}
	return n
}
func runBytes(r *schemas.Run) int64 {
	n := int64(256)
	for _, a := range r.Args {
		n += int64(len(a))
	}
	for _, e := range r.EnvKeys {
		n += int64(len(e))
	}
	return n
}

func pathLen(p *string) int64 {
	if p == nil {
		return 0
	}
	return int64(len(*p))
}

func callRunID(r *schemas.Call) string   { return r.RunID }
func stdioRunID(r *schemas.Stdio) string { return r.RunID }
func fsRunID(r *schemas.FS) string       { return r.RunID }
func netRunID(r *schemas.Net) string     { return r.RunID }
func httpRunID(r *schemas.HTTP) string   { return r.RunID }
func runRunID(r *schemas.Run) string     { return r.RunID }

// readFile downloads a committed file to a temporary file and opens it as
// Parquet. The caller closes the returned closer (which removes the file).
func readFile(ctx context.Context, store lake.Store, tmpDir string, f File) (*parquet.File, func(), error) {
	rc, err := store.Get(ctx, f.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(tmpDir, "timelake-read-*.parquet")
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, rc)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("read %s: %w", f.Key, err)
	}
	pf, err := parquet.OpenFile(tmp, n)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("open %s as parquet: %w", f.Key, err)
	}
	return pf, cleanup, nil
}
