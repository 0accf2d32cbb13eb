package main

// BenchmarkQuery measures the single-run commands (logs, describe) and a
// full-scan aggregate on a generated lake of 10,000 runs and 10,000,000
// calls, on a file:// lake and on the S3 gateway, cold (empty cache) and
// warm. The lake is written directly as committed Parquet files (the shape
// compact writes: sorted by run_id and seq, zstd, 64k-row groups, per-file
// run ranges in the commit), because compacting 10M recorded calls would
// dominate the benchmark. Figures are in docs/performance.md ("Query").
//
//	go test ./cmd/query -run '^$' -bench Query -benchtime 5x

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/internal/s3test"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

const (
	benchRuns        = 10_000
	benchCallsPerRun = 1_000
	benchRunsPerFile = 250
	benchStdioEvery  = 20 // every 20th call writes a line to stdout
)

// genLake writes the synthetic lake into store and returns its run IDs.
func genLake(b *testing.B, store lake.Store) []string {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	ids := make([]string, benchRuns)
	for i := range ids {
		t := start.Add(time.Duration(i) * 8 * time.Second)
		var u uuid.UUID
		binary.BigEndian.PutUint64(u[0:8], rng.Uint64())
		binary.BigEndian.PutUint64(u[8:16], rng.Uint64())
		ms := uint64(t.UnixMilli())
		u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
		u[6] = u[6]&0x0f | 0x70
		u[8] = u[8]&0x3f | 0x80
		ids[i] = u.String()
	}
	date := start.Format("2006-01-02")
	var added []compact.File
	write := func(table string, lo, hi int, rows int64, fill func(w io.Writer) error) {
		key := fmt.Sprintf("tables/%s/date=%s/%s.parquet", table, date, uuid.NewString())
		var buf bytes.Buffer
		if err := fill(&buf); err != nil {
			b.Fatal(err)
		}
		n := int64(buf.Len())
		if _, err := store.Put(ctx, key, bytes.NewReader(buf.Bytes()), lake.PutOptions{}); err != nil {
			b.Fatal(err)
		}
		added = append(added, compact.File{Key: key, Table: table, Date: date, Rows: rows, Bytes: n, MinRunID: ids[lo], MaxRunID: ids[hi-1]})
	}
	opts := []parquet.WriterOption{parquet.Compression(&zstd.Codec{Level: zstd.SpeedDefault}), parquet.MaxRowsPerRowGroup(64 << 10)}
	funcs := []string{"clock_time_get", "fd_write", "fd_read", "path_open", "random_get"}
	one := int64(1)
	for lo := 0; lo < benchRuns; lo += benchRunsPerFile {
		hi := lo + benchRunsPerFile
		write(schemas.TableCalls, lo, hi, int64((hi-lo)*benchCallsPerRun), func(out io.Writer) error {
			w := parquet.NewGenericWriter[schemas.Call](out, opts...)
			batch := make([]schemas.Call, benchCallsPerRun)
			for r := lo; r < hi; r++ {
				base := start.Add(time.Duration(r) * 8 * time.Second).UnixMicro()
				off := int64(0)
				for s := range batch {
					f := funcs[s%len(funcs)]
					if s%benchStdioEvery == 0 {
						f = "fd_write"
					}
					errno := "ESUCCESS"
					if f == "path_open" && s%7 == 0 {
						errno = "ENOENT"
					}
					// Realistic entropy: jittered offsets and latencies, sizes
					// and argument renderings that vary per call.
					off += 1_000 + rng.Int64N(20_000)
					n := rng.Int64N(4096)
					batch[s] = schemas.Call{RunID: ids[r], Seq: int64(s), Time: base + off/1000, OffsetNS: off,
						DurationNS: 200 + rng.Int64N(5_000), Func: f, FD: &one, Errno: errno, BytesOut: n,
						Args: fmt.Sprintf("fd=1 iovs=0x%x n=%d", rng.Uint32()&0xffff0, n)}
				}
				if _, err := w.Write(batch); err != nil {
					return err
				}
			}
			return w.Close()
		})
	}
	for lo := 0; lo < benchRuns; lo += 4 * benchRunsPerFile {
		hi := lo + 4*benchRunsPerFile
		per := benchCallsPerRun / benchStdioEvery
		write(schemas.TableStdio, lo, hi, int64((hi-lo)*per), func(out io.Writer) error {
			w := parquet.NewGenericWriter[schemas.Stdio](out, opts...)
			batch := make([]schemas.Stdio, per)
			for r := lo; r < hi; r++ {
				base := start.Add(time.Duration(r) * 8 * time.Second).UnixMicro()
				for i := range batch {
					line := []byte(fmt.Sprintf("run %05d line %04d\n", r, i))
					s := i * benchStdioEvery
					batch[i] = schemas.Stdio{RunID: ids[r], Seq: int64(s), Time: base + int64(s)*10, OffsetNS: int64(s) * 10_000,
						FD: 1, Stream: "stdout", Data: line, Size: int64(len(line))}
				}
				if _, err := w.Write(batch); err != nil {
					return err
				}
			}
			return w.Close()
		})
	}
	write(schemas.TableRuns, 0, benchRuns, benchRuns, func(out io.Writer) error {
		w := parquet.NewGenericWriter[schemas.Run](out, opts...)
		rows := make([]schemas.Run, benchRuns)
		for r := range rows {
			st := start.Add(time.Duration(r) * 8 * time.Second)
			rows[r] = schemas.Run{RunID: ids[r], ModuleSHA256: "00", ModuleName: "svc.wasm", Args: []string{"svc.wasm"},
				Host: "bench", OS: "linux", Arch: "amd64", StartedAt: st.UnixMicro(), Status: schemas.StatusExited,
				Records: benchCallsPerRun, Segments: 0, UpdatedAt: st.UnixMicro()}
			rows[r].SetEnded(st.Add(time.Second).UnixMicro(), int64(time.Second))
			rows[r].SetExitCode(0)
		}
		if _, err := w.Write(rows); err != nil {
			return err
		}
		return w.Close()
	})
	var total int64
	for _, f := range added {
		total += f.Bytes
	}
	b.Logf("generated lake: %d runs, %d calls, %d files, %.1f MiB of Parquet", benchRuns, benchRuns*benchCallsPerRun, len(added), float64(total)/(1<<20))
	format, _ := json.Marshal(map[string]any{"format_version": compact.FormatVersion, "schema_version": schemas.SchemaVersion, "created": start})
	commit, _ := json.Marshal(compact.Commit{FormatVersion: compact.FormatVersion, SchemaVersion: schemas.SchemaVersion, Seq: 1, Time: start, Added: added})
	for key, data := range map[string][]byte{compact.FormatKey: format, compact.CommitKey(1): commit} {
		if _, err := store.Put(ctx, key, bytes.NewReader(data), lake.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func BenchmarkQuery(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	fileURL := "file://" + filepath.Join(dir, "lake")
	fileStore, err := lake.Open(ctx, fileURL, lake.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ids := genLake(b, fileStore)
	srv := s3test.Start(b)
	srv.Setenv(b)
	s3URL := srv.URL("lake")
	s3Store, err := lake.Open(ctx, s3URL, lake.Options{S3PathStyle: true})
	if err != nil {
		b.Fatal(err)
	}
	// Copy the generated lake to S3 object by object.
	objs, err := fileStore.List(ctx, "", "", 0)
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range objs {
		rc, err := fileStore.Get(ctx, o.Key)
		if err != nil {
			b.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if _, err := s3Store.Put(ctx, o.Key, bytes.NewReader(data), lake.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	runID := ids[len(ids)/2]
	cases := []struct {
		name string
		args []string
	}{
		{"logs", []string{"logs", runID[:13]}},
		{"describe", []string{"describe", runID[:13], "--format", "csv"}},
		{"scan", []string{"sql", "--format", "csv", "SELECT func, count(*), sum(duration_ns), quantile_disc(duration_ns, 0.99) FROM calls GROUP BY func"}},
	}
	for _, lk := range []struct{ name, url string }{{"file", fileURL}, {"s3", s3URL}} {
		for _, c := range cases {
			for _, warm := range []bool{false, true} {
				name := fmt.Sprintf("%s/%s/cold", lk.name, c.name)
				if warm {
					name = fmt.Sprintf("%s/%s/warm", lk.name, c.name)
				}
				b.Run(name, func(b *testing.B) {
					cache := b.TempDir()
					query := func() {
						args := append([]string{"--lake", lk.url, "--s3-path-style", "--cache-dir", cache}, c.args...)
						if code := run(ctx, args, bytes.NewReader(nil), io.Discard, io.Discard); code != 0 {
							b.Fatalf("%v: exit %d", args, code)
						}
					}
					if warm {
						query()
					}
					b.ResetTimer()
					for range b.N {
						if !warm {
							b.StopTimer()
							os.RemoveAll(cache)
							b.StartTimer()
						}
						query()
					}
				})
			}
		}
	}
}
