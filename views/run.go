package views

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/timelake/timelake/capture/segment"
	"github.com/timelake/timelake/compact"
	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

// RunError says a run name matched no run or several.
type RunError struct {
	Name       string
	Candidates []string // runs matching the name (ambiguous), or the latest runs (unknown)
	Ambiguous  bool
}

func (e *RunError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("run %q is ambiguous: it is a prefix of %d runs", e.Name, len(e.Candidates))
	}
	return fmt.Sprintf("no run matches %q", e.Name)
}

// maxCandidates bounds the runs a RunError lists.
const maxCandidates = 10

// ResolveRun returns the full ID of the run named by a unique prefix of its
// ID (the whole ID included). It loads only the runs-table files whose
// run-ID range overlaps the prefix. A name matching nothing or several runs
// yields a *RunError.
func (s *Session) ResolveRun(ctx context.Context, name string) (string, error) {
	if err := s.Require(); err != nil {
		return "", err
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		return "", &RunError{Name: name}
	}
	hi := name + "\uffff"
	if err := s.load(ctx, []string{schemas.TableRuns}, func(f compact.File) bool { return inRange(f, name, hi) }); err != nil {
		return "", err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id LIMIT ?`, name, maxCandidates+1)
	if err != nil {
		return "", fmt.Errorf("look up run %q: %w", name, err)
	}
	ids, err := scanStrings(rows)
	if err != nil {
		return "", fmt.Errorf("look up run %q: %w", name, err)
	}
	switch {
	case len(ids) == 1:
		return ids[0], nil
	case len(ids) > 1:
		return "", &RunError{Name: name, Candidates: ids, Ambiguous: true}
	}
	// Unknown: suggest the latest runs, which needs the whole runs table.
	if err := s.LoadAll(ctx, schemas.TableRuns); err != nil {
		return "", err
	}
	rows, err = s.db.QueryContext(ctx, `SELECT run_id FROM runs ORDER BY started_at DESC, run_id LIMIT ?`, maxCandidates)
	if err != nil {
		return "", fmt.Errorf("list latest runs: %w", err)
	}
	if ids, err = scanStrings(rows); err != nil {
		return "", fmt.Errorf("list latest runs: %w", err)
	}
	return "", &RunError{Name: name, Candidates: ids}
}

type rowScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func scanStrings(rows rowScanner) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SegmentSizes reads the segments of a run from the lake and returns the
// bytes its records take decoded (raw) and as stored in frames, for a
// compression ratio. Damaged segments count up to the damage.
func SegmentSizes(ctx context.Context, store lake.Store, runID string, segments int) (raw, stored int64, err error) {
	for i := range segments {
		key := lake.SegmentKey(runID, i)
		r, s, err := segmentSizes(ctx, store, key)
		if err != nil {
			return raw, stored, err
		}
		raw, stored = raw+r, stored+s
	}
	return raw, stored, nil
}

func segmentSizes(ctx context.Context, store lake.Store, key string) (raw, stored int64, err error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return 0, 0, fmt.Errorf("read segment %s: %w", key, err)
	}
	defer rc.Close()
	sr, err := segment.NewReader(rc)
	if err != nil {
		return 0, 0, fmt.Errorf("read segment %s: %w", key, err)
	}
	for {
		f, err := sr.Next()
		if err != nil {
			var damage *segment.DamageError
			if errors.Is(err, io.EOF) || errors.As(err, &damage) {
				return raw, stored, nil
			}
			return raw, stored, fmt.Errorf("read segment %s: %w", key, err)
		}
		raw += int64(len(f.Payload))
		stored += int64(f.Stored)
	}
}
