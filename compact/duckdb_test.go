package compact

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/timelake/timelake/schemas"
)

// TestDuckDBReadsCommittedTables: DuckDB, the engine behind query, reads the
// committed Parquet files and sees every recorded call exactly once, with
// the Hive partition column and the documented types.
func TestDuckDBReadsCommittedTables(t *testing.T) {
	ctx := context.Background()
	store := openFileLake(t)
	clk := newClock()
	base := clk.Now().Add(-time.Hour)
	runs := []*synthResult{
		writeRun(t, ctx, store, synthRun{start: base, segments: 2, frames: 3, recordsPerFrame: 200, ended: true, seed: 61}),
		writeRun(t, ctx, store, synthRun{start: base.Add(time.Minute), segments: 1, frames: 2, recordsPerFrame: 150, seed: 62}),
	}
	mustRun(t, store, testOptions(t, clk))
	var want, wantStdio int64
	wantStdout := ""
	for _, r := range runs {
		want += r.records
		wantStdio += r.stdio
	}
	wantStdout = runs[0].stdout.String()

	snap, err := ReadSnapshot(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	root := strings.TrimPrefix(store.URL(), "file://")
	list := func(table string) string {
		var paths []string
		for _, k := range snap.Keys(table) {
			paths = append(paths, "'"+filepath.Join(root, k)+"'")
		}
		return "read_parquet([" + strings.Join(paths, ", ") + "], hive_partitioning = true)"
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	queries := []struct {
		name string
		sql  string
		want string
	}{
		{"calls", "SELECT count(*) FROM " + list(schemas.TableCalls), fmt.Sprint(want)},
		{"distinct calls", "SELECT count(*) FROM (SELECT DISTINCT run_id, seq FROM " + list(schemas.TableCalls) + ")", fmt.Sprint(want)},
		{"per run", "SELECT string_agg(n::VARCHAR, ',' ORDER BY run_id) FROM (SELECT run_id, count(*) n FROM " + list(schemas.TableCalls) + " GROUP BY run_id)",
			fmt.Sprintf("%d,%d", runs[0].records, runs[1].records)},
		{"stdio", "SELECT count(*) FROM " + list(schemas.TableStdio), fmt.Sprint(wantStdio)},
		{"stdout bytes", "SELECT string_agg(decode(data), '' ORDER BY seq) FROM " + list(schemas.TableStdio) +
			" WHERE run_id = '" + runs[0].id + "' AND stream = 'stdout'", wantStdout},
		{"partition", "SELECT DISTINCT date::VARCHAR FROM " + list(schemas.TableCalls), base.Format(time.DateOnly)},
		{"fs paths", "SELECT count(*) FROM " + list(schemas.TableFS) + " WHERE path = '/data/input.txt' AND op = 'read'", fmt.Sprint(countFunc(runs, "fd_read"))},
		{"runs", "SELECT string_agg(status, ',' ORDER BY run_id) FROM " + list(schemas.TableRuns), "exited,running"},
		{"types", "SELECT typeof(time) || ' ' || typeof(fd) || ' ' || typeof(seq) FROM " + list(schemas.TableCalls) + " LIMIT 1",
			"TIMESTAMP WITH TIME ZONE BIGINT BIGINT"},
	}
	for _, q := range queries {
		var got sql.NullString
		if err := db.QueryRowContext(ctx, q.sql).Scan(&got); err != nil {
			t.Errorf("%s: %v", q.name, err)
			continue
		}
		if got.String != q.want {
			t.Errorf("%s: got %q, want %q", q.name, got.String, q.want)
		}
	}
}

func countFunc(runs []*synthResult, fn string) int {
	n := 0
	for _, r := range runs {
		n += r.byFunc[fn]
	}
	return n
}
