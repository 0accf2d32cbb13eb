package views

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/parquet-go/parquet-go"

	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
	"github.com/timelake/timelake/wasi"
)

// ErrEmptyLake is returned by Session.Require when the lake has no
// committed runs yet.
var ErrEmptyLake = errors.New("the lake has no compacted runs yet: record some with `run app.wasm`, then `compact --once`")

// Options configure a Session.
type Options struct {
	// CacheDir holds the Parquet files fetched from a lake that is not a
	// local folder. Required for such lakes; unused for file:// lakes.
	CacheDir string
	// CacheMax bounds the cache's size in bytes: after each fetch the least
	// recently used files beyond it are deleted (never those the session is
	// using). Zero means DefaultCacheMax.
	CacheMax int64
	// Parallel is how many files are fetched at once; zero means 8.
	Parallel int
	// Progress, if not nil, receives a progress bar while files are fetched
	// (a terminal).
	Progress io.Writer
}

// DefaultCacheMax is the default bound of the local Parquet cache.
const DefaultCacheMax = 4 << 30

// Session is a DuckDB database in which the lake's tables and the derived
// views are defined. Tables start empty; Load makes files visible. Not safe
// for concurrent Load calls.
type Session struct {
	store  lake.Store
	snap   *compact.Snapshot
	root   string // local folder of a file:// lake, "" otherwise
	cache  *Cache // nil for a file:// lake
	tmp    string // empty Parquet files standing for tables with no files
	conn   *duckdb.Connector
	db     *sql.DB
	loaded map[string]map[string]string // table → key → local path
}

// Open reads the lake's latest snapshot and prepares a DuckDB session over
// it in which every table and derived view exists (the tables empty until
// Load).
func Open(ctx context.Context, store lake.Store, opts Options) (*Session, error) {
	snap, err := compact.ReadSnapshot(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("read lake snapshot of %s: %w", store.URL(), err)
	}
	s := &Session{store: store, snap: snap, loaded: map[string]map[string]string{}}
	if root, ok := strings.CutPrefix(store.URL(), "file://"); ok {
		s.root = filepath.FromSlash(root)
	} else {
		if opts.CacheDir == "" {
			return nil, fmt.Errorf("lake %s is not a local folder: a cache directory is needed", store.URL())
		}
		s.cache = NewCache(store, opts.CacheDir, opts.CacheMax)
		s.cache.Parallel, s.cache.Progress = opts.Parallel, opts.Progress
	}
	if err := s.init(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) init(ctx context.Context) error {
	var err error
	if s.tmp, err = os.MkdirTemp("", "timelake-query-"); err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	if err := writeEmptyTables(s.tmp); err != nil {
		return err
	}
	if s.conn, err = duckdb.NewConnector("", nil); err != nil {
		return fmt.Errorf("start duckdb: %w", err)
	}
	s.db = sql.OpenDB(s.conn)
	if _, err := s.db.ExecContext(ctx, errnoTable()); err != nil {
		return fmt.Errorf("create errnos table: %w", err)
	}
	for _, t := range schemas.Tables {
		if err := s.defineTable(ctx, t); err != nil {
			return err
		}
	}
	for _, v := range viewEntries() {
		if _, err := s.db.ExecContext(ctx, v.sql); err != nil {
			return fmt.Errorf("create view %s: %w", v.Name, err)
		}
	}
	return nil
}

// DB is the DuckDB database; run queries on it.
func (s *Session) DB() *sql.DB { return s.db }

// Connector is the DuckDB connector behind DB.
func (s *Session) Connector() *duckdb.Connector { return s.conn }

// Snapshot is the lake state the session reads.
func (s *Session) Snapshot() *compact.Snapshot { return s.snap }

// Store is the lake the session reads.
func (s *Session) Store() lake.Store { return s.store }

// Require returns ErrEmptyLake when the lake holds no compacted run.
func (s *Session) Require() error {
	if len(s.snap.Files(schemas.TableRuns)) == 0 {
		return ErrEmptyLake
	}
	return nil
}

// Close releases DuckDB and deletes the session's temporary files.
func (s *Session) Close() error {
	var errs []error
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	if s.tmp != "" {
		errs = append(errs, os.RemoveAll(s.tmp))
	}
	return errors.Join(errs...)
}

// LoadAll makes every committed file of tables visible.
func (s *Session) LoadAll(ctx context.Context, tables ...string) error {
	return s.load(ctx, tables, nil)
}

// LoadRuns makes visible the files of tables that may hold rows of the
// given runs (by the run-ID range of each file); other files are neither
// fetched nor read.
func (s *Session) LoadRuns(ctx context.Context, tables []string, runIDs ...string) error {
	return s.load(ctx, tables, func(f compact.File) bool {
		for _, id := range runIDs {
			if inRange(f, id, id) {
				return true
			}
		}
		return false
	})
}

// LoadQuery makes visible every file of the tables query may read
// (TablesFor).
func (s *Session) LoadQuery(ctx context.Context, query string) error {
	return s.LoadAll(ctx, TablesFor(query)...)
}

// inRange reports whether f may hold a run ID in [lo, hi]; a file without
// recorded bounds may hold anything.
func inRange(f compact.File, lo, hi string) bool {
	if f.MinRunID == "" || f.MaxRunID == "" {
		return true
	}
	return f.MinRunID <= hi && lo <= f.MaxRunID
}

func (s *Session) load(ctx context.Context, tables []string, keep func(compact.File) bool) error {
	var want []compact.File
	for _, t := range tables {
		if !slices.Contains(schemas.Tables, t) {
			return fmt.Errorf("unknown table %q", t)
		}
		for _, f := range s.snap.Files(t) {
			if _, ok := s.loaded[t][f.Key]; ok || keep != nil && !keep(f) {
				continue
			}
			want = append(want, f)
		}
	}
	paths := make([]string, len(want))
	if s.cache != nil {
		var err error
		if paths, err = s.cache.Fetch(ctx, want); err != nil {
			return err
		}
	} else {
		for i, f := range want {
			paths[i] = filepath.Join(s.root, filepath.FromSlash(f.Key))
		}
	}
	changed := map[string]bool{}
	for i, f := range want {
		if s.loaded[f.Table] == nil {
			s.loaded[f.Table] = map[string]string{}
		}
		s.loaded[f.Table][f.Key] = paths[i]
		changed[f.Table] = true
	}
	for _, t := range tables {
		if changed[t] {
			if err := s.defineTable(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// defineTable (re)creates the view of table t over its loaded files, or
// over an empty file of the same schema when none is loaded.
func (s *Session) defineTable(ctx context.Context, t string) error {
	var paths []string
	for _, p := range s.loaded[t] {
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		paths = []string{emptyPath(s.tmp, t)}
	}
	slices.Sort(paths)
	quoted := make([]string, len(paths))
	for i, p := range paths {
		quoted[i] = sqlString(filepath.ToSlash(p))
	}
	q := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet([%s], hive_partitioning = true, union_by_name = true)",
		t, strings.Join(quoted, ", "))
	if _, err := s.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create view %s over %d files: %w", t, len(paths), err)
	}
	return nil
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func emptyPath(dir, table string) string {
	return filepath.Join(dir, table, "date=1970-01-01", "empty.parquet")
}

// writeEmptyTables writes, for every table, a Parquet file with its schema
// and no rows, in a date partition so that the view has the same columns
// (date included) as over real files.
func writeEmptyTables(dir string) error {
	for _, t := range schemas.Tables {
		p := emptyPath(dir, t)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("empty %s table: %w", t, err)
		}
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("empty %s table: %w", t, err)
		}
		var w interface{ Close() error }
		switch t {
		case schemas.TableRuns:
			w = parquet.NewGenericWriter[schemas.Run](f)
		case schemas.TableCalls:
			w = parquet.NewGenericWriter[schemas.Call](f)
		case schemas.TableStdio:
			w = parquet.NewGenericWriter[schemas.Stdio](f)
		case schemas.TableFS:
			w = parquet.NewGenericWriter[schemas.FS](f)
		case schemas.TableNet:
			w = parquet.NewGenericWriter[schemas.Net](f)
		case schemas.TableHTTP:
			w = parquet.NewGenericWriter[schemas.HTTP](f)
		default:
			f.Close()
			return fmt.Errorf("empty %s table: no schema known", t)
		}
		if err := errors.Join(w.Close(), f.Close()); err != nil {
			return fmt.Errorf("empty %s table: %w", t, err)
		}
	}
	return nil
}

// errnoTable creates the errnos table: WASI errno numbers and names.
func errnoTable() string {
	var b strings.Builder
	b.WriteString("CREATE TABLE errnos (code INTEGER, name VARCHAR, message VARCHAR); INSERT INTO errnos VALUES ")
	for i := range wasi.ErrnoCount {
		if i > 0 {
			b.WriteString(", ")
		}
		e := wasi.Errno(i)
		fmt.Fprintf(&b, "(%d, %s, %s)", i, sqlString(e.Name()), sqlString(errnoMessages[e.Name()]))
	}
	return b.String()
}
