package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Names in the spool directory.
const (
	lockName    = "lock"
	openExt     = ".seg.open"
	sealedExt   = ".seg"
	tmpExt      = ".seg.tmp"
	modulesDir  = "modules"
	newPrefix   = ".new-"
	uploadedExt = ".uploaded"
)

// createRunDir creates <spool>/<run-id> with a held lock: the directory is
// built under a temporary name and renamed, so it never exists unlocked
// while its writer lives.
func createRunDir(spool, runID string) (*os.File, error) {
	final := filepath.Join(spool, runID)
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("spool: run %s already has a spool directory", runID)
	}
	tmp := filepath.Join(spool, newPrefix+runID)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("spool: create run directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(tmp, lockName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		err = flock(lock)
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err == nil {
			err = syncDir(spool)
		}
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("spool: create run directory %s: %w", final, err)
	}
	return lock, nil
}

// flock takes an exclusive lock on f without waiting; errLocked means a live
// process holds it. The kernel releases it when the holder dies.
func flock(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return errLocked
		}
		return fmt.Errorf("flock %s: %w", f.Name(), err)
	}
}

var errLocked = errors.New("locked by a live process")

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// writeFileAtomic writes data to path through a fsynced temporary file and a
// rename, so path is absent or complete.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(dir)
}

// saveModule keeps the module in the spool until it is known to be in the
// lake, so a crashed run's Sync can still upload it.
func saveModule(spool, digest string, module []byte) error {
	dir := filepath.Join(spool, modulesDir)
	if _, err := os.Stat(filepath.Join(dir, digest+uploadedExt)); err == nil {
		return nil
	}
	path := filepath.Join(dir, digest+".wasm")
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("spool: save module: %w", err)
	}
	if err := writeFileAtomic(path, module); err != nil {
		return fmt.Errorf("spool: save module %s: %w", digest, err)
	}
	return nil
}

// markModuleUploaded records that the lake holds the module and drops the
// spool's copy.
func markModuleUploaded(spool, digest string) error {
	dir := filepath.Join(spool, modulesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, digest+uploadedExt), os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	if err := os.Remove(filepath.Join(dir, digest+".wasm")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(dir)
}

func moduleUploaded(spool, digest string) bool {
	_, err := os.Stat(filepath.Join(spool, modulesDir, digest+uploadedExt))
	return err == nil
}

// segmentNumber parses "<n:08d><ext>".
func segmentNumber(name, ext string) (int, bool) {
	base, ok := strings.CutSuffix(name, ext)
	if !ok || len(base) != 8 {
		return 0, false
	}
	n, err := strconv.Atoi(base)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
