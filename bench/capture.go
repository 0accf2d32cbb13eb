package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/timelake/timelake/capture/segment"
)

// captureSection: run with capture on vs --no-capture, plus bytes per record
// on disk and the peak RSS capture adds.
func (b *bench) captureSection() {
	fmt.Printf("## capture on vs --no-capture (median of %d, wall time)\n\n", b.runs)
	lakeDir := filepath.Join(b.scratch, "lake")
	spoolDir := filepath.Join(b.scratch, "spool")
	off := variant{"--no-capture", func(b *bench, w workload) []string {
		return b.runArgv(w, "--no-capture")
	}}
	on := variant{"capture", func(b *bench, w workload) []string {
		return b.runArgv(w, "--lake", "file://"+lakeDir, "--spool", spoolDir)
	}}
	b.compare(off, on, standardWorkloads())

	fmt.Printf("### bytes on disk per recorded call\n\n| workload | records | segment bytes | bytes/record | raw bytes/record |\n|---|---|---|---|---|\n")
	for _, w := range standardWorkloads() {
		os.RemoveAll(lakeDir)
		b.measure(on.cmd(b, w))
		records, stored, raw := lakeFigures(lakeDir)
		fmt.Printf("| %s | %d | %d | %.2f | %.2f |\n", w.name, records, stored, float64(stored)/float64(records), float64(raw)/float64(records))
	}
	fmt.Println()
}

func (b *bench) runArgv(w workload, flags ...string) []string {
	argv := append([]string{"bin/run", "--cache-dir", b.cache}, flags...)
	if w.mount {
		argv = append(argv, "--dir", filepath.Join(b.scratch, "data")+":/data")
	}
	return append(append(argv, b.wasm(w)), w.args...)
}

// lakeFigures sums the records, segment bytes and uncompressed record bytes
// of every segment in a file lake.
func lakeFigures(lakeDir string) (records uint64, stored, raw int64) {
	filepath.WalkDir(filepath.Join(lakeDir, "segments"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".seg") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		st, _ := f.Stat()
		stored += st.Size()
		r, err := segment.NewReader(f)
		if err != nil {
			return nil
		}
		for {
			fr, err := r.Next()
			if err != nil {
				break
			}
			records += uint64(fr.Records)
			raw += int64(len(fr.Payload))
		}
		return nil
	})
	return records, stored, raw
}
