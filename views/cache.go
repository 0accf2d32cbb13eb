package views

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/lake"
)

// Cache is a local copy of committed Parquet files of one lake, under
// <dir>/<hash of the lake URL>/<key>, so that DuckDB reads them as local
// Hive-partitioned files. Each file has a sidecar <key>.etag holding the
// ETag it was fetched at; a file is reused only while the lake still
// reports that ETag. The modification time of a cached file is its last use,
// which drives LRU eviction.
type Cache struct {
	store lake.Store
	dir   string // this lake's folder
	max   int64

	// Parallel is how many files are fetched at once; zero means 8.
	Parallel int
	// Progress, if not nil, shows a progress bar of fetched bytes.
	Progress io.Writer

	// Hits and Fetched count files served from the cache and downloaded.
	Hits, Fetched int
	// FetchedBytes counts bytes downloaded.
	FetchedBytes int64
}

// NewCache returns the cache of store's files under dir, bounded to max
// bytes (DefaultCacheMax if max <= 0).
func NewCache(store lake.Store, dir string, max int64) *Cache {
	if max <= 0 {
		max = DefaultCacheMax
	}
	h := sha256.Sum256([]byte(store.URL()))
	return &Cache{store: store, dir: filepath.Join(dir, "lakes", hex.EncodeToString(h[:8])), max: max}
}

// Dir is the folder holding this lake's cached files.
func (c *Cache) Dir() string { return c.dir }

const etagSuffix = ".etag"

// Fetch makes every file local, downloading those missing or stale, and
// returns their local paths in the order of files. Then it evicts the
// least recently used files beyond the size bound, never one of files.
func (c *Cache) Fetch(ctx context.Context, files []compact.File) ([]string, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(c.dir, filepath.FromSlash(f.Key))
	}
	if len(files) == 0 {
		return paths, nil
	}
	parallel := c.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	// First pass: validate what is cached (one HEAD per file, in parallel).
	objs := make([]lake.Object, len(files))
	fresh := make([]bool, len(files))
	err := forEach(ctx, len(files), parallel, func(ctx context.Context, i int) error {
		o, err := c.store.Stat(ctx, files[i].Key)
		if err != nil {
			return fmt.Errorf("stat %s: %w", files[i].Key, err)
		}
		objs[i] = o
		fresh[i] = c.valid(paths[i], o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	var total int64
	var missing []int
	now := time.Now()
	for i := range files {
		if fresh[i] {
			c.Hits++
			os.Chtimes(paths[i], now, now) // a failed touch only weakens LRU order
			continue
		}
		missing = append(missing, i)
		total += objs[i].Size
	}
	var bar *progressbar.ProgressBar
	if c.Progress != nil && len(missing) > 0 {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(c.Progress),
			progressbar.OptionSetDescription(fmt.Sprintf("fetching %d files", len(missing))),
			progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond))
	}
	var mu sync.Mutex
	err = forEach(ctx, len(missing), parallel, func(ctx context.Context, j int) error {
		i := missing[j]
		n, err := c.download(ctx, files[i].Key, paths[i], objs[i], bar)
		mu.Lock()
		c.Fetched++
		c.FetchedBytes += n
		mu.Unlock()
		return err
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return nil, err
	}
	if err := c.evict(paths); err != nil {
		return nil, err
	}
	return paths, nil
}

// valid reports whether the file at path was fetched at o's ETag and has
// its size.
func (c *Cache) valid(path string, o lake.Object) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != o.Size {
		return false
	}
	tag, err := os.ReadFile(path + etagSuffix)
	return err == nil && string(tag) == o.ETag
}

// download copies the object to path through a temporary file, checks its
// size and records its ETag.
func (c *Cache) download(ctx context.Context, key, path string, o lake.Object, bar *progressbar.ProgressBar) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, fmt.Errorf("cache %s: %w", key, err)
	}
	rc, err := c.store.Get(ctx, key)
	if err != nil {
		return 0, fmt.Errorf("fetch %s: %w", key, err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fetch-*")
	if err != nil {
		return 0, fmt.Errorf("cache %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	var w io.Writer = tmp
	if bar != nil {
		w = io.MultiWriter(tmp, bar)
	}
	n, err := io.Copy(w, rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("fetch %s: %w", key, err)
	}
	if n != o.Size {
		return n, fmt.Errorf("fetch %s: got %d bytes, the lake says %d (replaced while reading?)", key, n, o.Size)
	}
	// The sidecar goes first: a crash between the two renames leaves a
	// sidecar without its file, which reads as a miss.
	if err := os.WriteFile(path+etagSuffix, []byte(o.ETag), 0o644); err != nil {
		return n, fmt.Errorf("cache %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return n, fmt.Errorf("cache %s: %w", key, err)
	}
	return n, nil
}

// evict deletes the least recently used cached files until the cache fits
// its bound, sparing keep.
func (c *Cache) evict(keep []string) error {
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".parquet") {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // vanished under a concurrent eviction
		}
		all = append(all, entry{p, fi.Size(), fi.ModTime()})
		total += fi.Size()
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan cache %s: %w", c.dir, err)
	}
	if total <= c.max {
		return nil
	}
	slices.SortFunc(all, func(a, b entry) int { return a.used.Compare(b.used) })
	for _, e := range all {
		if total <= c.max {
			break
		}
		if slices.Contains(keep, e.path) {
			continue
		}
		os.Remove(e.path + etagSuffix)
		if err := os.Remove(e.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("evict %s: %w", e.path, err)
		}
		total -= e.size
	}
	return nil
}

// forEach calls fn(i) for i in [0, n) on up to parallel goroutines and
// returns the first error; after an error, the remaining calls are skipped.
func forEach(ctx context.Context, n, parallel int, fn func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
