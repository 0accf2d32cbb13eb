package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// fileStore keeps each object as a regular file at root/<key>.
//
// Put writes a temporary file named ".lake-*" in the object's directory,
// fsyncs it, then renames it into place (or, for CreateOnly, links it: link(2)
// fails with EEXIST when the name is taken, which makes the race between
// writers exactly-once), and fsyncs the directory. ETags are derived from the
// inode number, modification time and size (see fileETag): every Put creates
// a new inode, so the ETag changes whenever content is replaced.
type fileStore struct {
	root string // absolute, cleaned
}

func openFile(p string) (*fileStore, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("lake: open %s: %w", p, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("lake: open %s: %w", abs, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("lake: open %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("lake: open %s: not a directory", abs)
	}
	return &fileStore{root: abs}, nil
}

func (s *fileStore) URL() string  { return "file://" + filepath.ToSlash(s.root) }
func (s *fileStore) Close() error { return nil }

func (s *fileStore) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// fileETag identifies one version of a file. Every Put produces a new inode
// (a fresh temporary file renamed or linked into place), so the ETag changes
// with content; it is not a content hash and differs from S3's.
func fileETag(fi fs.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	b := make([]byte, 0, 48)
	b = strconv.AppendUint(b, ino, 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 16)
	b = append(b, '-')
	b = strconv.AppendInt(b, fi.Size(), 16)
	return string(b)
}

func fileObject(key string, fi fs.FileInfo) Object {
	return Object{Key: key, Size: fi.Size(), ETag: fileETag(fi), Modified: fi.ModTime()}
}

// notFound reports whether a filesystem error means "no such object": the
// file is missing, or a path component is a file rather than a directory.
func notFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// open opens the object's file for reading.
func (s *fileStore) open(ctx context.Context, op, key string) (*os.File, fs.FileInfo, error) {
	if err := checkKey(key); err != nil {
		return nil, nil, fmt.Errorf("lake: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("lake: %s %s: %w", op, key, err)
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		if notFound(err) {
			return nil, nil, fmt.Errorf("lake: %s %s: %w", op, key, ErrNotFound)
		}
		return nil, nil, fmt.Errorf("lake: %s %s: %w", op, key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("lake: %s %s: %w", op, key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("lake: %s %s: %w", op, key, ErrNotFound)
	}
	return f, fi, nil
}

func (s *fileStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	f, _, err := s.open(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (s *fileStore) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := checkRange(off, n); err != nil {
		return nil, fmt.Errorf("lake: getrange %s: %w", key, err)
	}
	f, _, err := s.open(ctx, "getrange", key)
	if err != nil {
		return nil, err
	}
	return &sectionFile{SectionReader: io.NewSectionReader(f, off, n), f: f}, nil
}

// sectionFile reads a range of an open file and closes the file.
type sectionFile struct {
	*io.SectionReader
	f *os.File
}

func (r *sectionFile) Close() error { return r.f.Close() }

func (s *fileStore) Stat(ctx context.Context, key string) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, fmt.Errorf("lake: stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("lake: stat %s: %w", key, err)
	}
	fi, err := os.Stat(s.path(key))
	if err != nil {
		if notFound(err) {
			return Object{}, fmt.Errorf("lake: stat %s: %w", key, ErrNotFound)
		}
		return Object{}, fmt.Errorf("lake: stat %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Object{}, fmt.Errorf("lake: stat %s: %w", key, ErrNotFound)
	}
	return fileObject(key, fi), nil
}

func (s *fileStore) Put(ctx context.Context, key string, body io.ReadSeeker, opts PutOptions) (Object, error) {
	if err := checkKey(key); err != nil {
		return Object{}, fmt.Errorf("lake: put: %w", err)
	}
	obj, err := s.put(ctx, key, body, opts)
	if err != nil {
		return Object{}, fmt.Errorf("lake: put %s: %w", key, err)
	}
	return obj, nil
}

func (s *fileStore) put(ctx context.Context, key string, body io.ReadSeeker, opts PutOptions) (Object, error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return Object{}, fmt.Errorf("rewind body: %w", err)
	}
	final := s.path(key)
	dir := filepath.Dir(final)
	tmp, err := s.createTemp(dir)
	if err != nil {
		return Object{}, err
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := io.Copy(tmp, ctxReader{ctx, body}); err != nil {
		return Object{}, fmt.Errorf("write %s: %w", tmpName, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return Object{}, err
	}
	if err := tmp.Sync(); err != nil {
		return Object{}, fmt.Errorf("fsync %s: %w", tmpName, err)
	}
	fi, err := tmp.Stat()
	if err != nil {
		return Object{}, err
	}
	if err := tmp.Close(); err != nil {
		return Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	if opts.CreateOnly {
		if err := os.Link(tmpName, final); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return Object{}, ErrExists
			}
			return Object{}, err
		}
		// The object is live under its key; the temporary name is only a
		// second link to it now.
		committed = true
		// Best effort: the object is already published, so failing the Put
		// here would make a retry report ErrExists for our own write. A
		// leftover ".lake-" file is invisible to List.
		_ = os.Remove(tmpName)
	} else {
		if err := os.Rename(tmpName, final); err != nil {
			return Object{}, err
		}
		committed = true
	}
	if err := syncDir(dir); err != nil {
		return Object{}, err
	}
	return fileObject(key, fi), nil
}

// createTemp creates a temporary file in dir, creating dir (and fsyncing the
// parents of new directories) as needed. A concurrent Delete may remove an
// empty directory between the two steps, so it retries a few times.
func (s *fileStore) createTemp(dir string) (*os.File, error) {
	var err error
	for range 8 {
		if err = s.mkdirs(dir); err != nil {
			return nil, err
		}
		var f *os.File
		f, err = os.CreateTemp(dir, tempPrefix+"*")
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return nil, err
}

// mkdirs creates dir and its missing parents below the root, fsyncing each
// parent whose entries changed so that the new path survives a crash.
func (s *fileStore) mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: %w", dir, syscall.ENOTDIR)
		}
		return nil
	}
	if dir == s.root || len(dir) <= len(s.root) {
		return os.MkdirAll(dir, 0o755)
	}
	parent := filepath.Dir(dir)
	if err := s.mkdirs(parent); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a copy when the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (s *fileStore) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("lake: delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("lake: delete %s: %w", key, err)
	}
	p := s.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		if notFound(err) {
			return nil
		}
		return fmt.Errorf("lake: delete %s: %w", key, err)
	}
	if fi.IsDir() {
		// A directory is a prefix, not an object: nothing to delete.
		return nil
	}
	if err := os.Remove(p); err != nil && !notFound(err) {
		return fmt.Errorf("lake: delete %s: %w", key, err)
	}
	// Prune directories left empty so that listing does not wade through
	// the husks of deleted runs. Failure (not empty, raced) is harmless.
	for dir := filepath.Dir(p); len(dir) > len(s.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

func (s *fileStore) List(ctx context.Context, prefix, startAfter string, limit int) ([]Object, error) {
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("lake: list: %w", err)
	}
	l := &fileLister{ctx: ctx, s: s, prefix: prefix, startAfter: startAfter, limit: limit}
	// Only the directory named by the prefix's complete components is read;
	// its last, partial component filters that directory's entries.
	dirKey, namePrefix := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey, namePrefix = prefix[:i+1], prefix[i+1:]
	}
	if err := l.walk(dirKey, namePrefix); err != nil {
		return nil, fmt.Errorf("lake: list %q after %q: %w", prefix, startAfter, err)
	}
	return l.out, nil
}

// readDir is os.ReadDir; tests replace it to see which folders List reads.
var readDir = os.ReadDir

type fileLister struct {
	ctx        context.Context
	s          *fileStore
	prefix     string
	startAfter string
	limit      int
	out        []Object
}

func (l *fileLister) full() bool { return l.limit > 0 && len(l.out) >= l.limit }

// walk appends, in key order, the objects below the directory whose key
// prefix is dirKey ("" or ending in "/") and whose next component starts with
// namePrefix.
func (l *fileLister) walk(dirKey, namePrefix string) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	entries, err := readDir(filepath.Join(l.s.root, filepath.FromSlash(dirKey)))
	if err != nil {
		if notFound(err) {
			return nil // no such prefix, or it raced with a Delete
		}
		return err
	}
	type entry struct {
		key string // full key, with a trailing "/" for directories
		d   fs.DirEntry
	}
	list := make([]entry, 0, len(entries))
	for _, d := range entries {
		name := d.Name()
		if !strings.HasPrefix(name, namePrefix) || strings.HasPrefix(name, tempPrefix) {
			continue
		}
		k := dirKey + name
		switch {
		case d.IsDir():
			k += "/"
			// Every key below k is greater than k; skip the subtree when
			// startAfter is past all of it.
			if k <= l.startAfter && !strings.HasPrefix(l.startAfter, k) {
				continue
			}
		case d.Type().IsRegular():
			if k <= l.startAfter {
				continue
			}
		default:
			continue // symlinks, sockets: not objects
		}
		list = append(list, entry{k, d})
	}
	// Sorting directories by name+"/" makes the depth-first walk emit keys in
	// byte order: "a.b" < "a/x" because '.' < '/'.
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range list {
		if l.full() {
			return nil
		}
		if e.d.IsDir() {
			if err := l.walk(e.key, ""); err != nil {
				return err
			}
			continue
		}
		fi, err := e.d.Info()
		if err != nil {
			if notFound(err) {
				continue // deleted since the directory was read
			}
			return err
		}
		l.out = append(l.out, fileObject(e.key, fi))
	}
	return nil
}
