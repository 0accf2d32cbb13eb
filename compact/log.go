package compact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/timelake/timelake/lake"
	"github.com/timelake/timelake/schemas"
)

// FormatVersion is the version of the lake's table layout and commit
// protocol (docs/commit.md). It is stored in _lake/format.json, in every
// commit and checkpoint. A compactor or reader refuses a lake whose version is
// newer than its own (ErrNewerFormat).
const FormatVersion = 1

// Keys of the protocol objects. Part of the format, never change.
const (
	FormatKey         = "_lake/format.json"
	CommitPrefix      = "_lake/commits/"
	CheckpointPrefix  = "_lake/checkpoints/"
	LastCheckpointKey = "_lake/last_checkpoint.json"
	PendingPrefix     = "_lake/pending/"
	TablesPrefix      = "tables/"
)

// ErrNewerFormat is returned for a lake written by a newer timelake.
var ErrNewerFormat = errors.New("lake format is newer than this compact understands")

// CommitKey is the key of commit seq: _lake/commits/<seq as %020d>.json.
func CommitKey(seq uint64) string { return fmt.Sprintf("%s%020d.json", CommitPrefix, seq) }

// CheckpointKey is the key of the checkpoint taken after commit seq.
func CheckpointKey(seq uint64) string { return fmt.Sprintf("%s%020d.json", CheckpointPrefix, seq) }

func parseSeqKey(prefix, key string) (uint64, bool) {
	s, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".json")
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// File is a live (committed) Parquet file of a table.
type File struct {
	Key      string `json:"key"`              // tables/<table>/date=<date>/<uuid>.parquet
	Table    string `json:"table"`            // runs, calls, stdio, fs
	Date     string `json:"date"`             // partition, YYYY-MM-DD (UTC date of the run's start)
	Rows     int64  `json:"rows"`             // rows in the file
	Bytes    int64  `json:"bytes"`            // file size
	MinRunID string `json:"min_run_id"`       // smallest run_id in the file
	MaxRunID string `json:"max_run_id"`       // largest run_id in the file
	Commit   uint64 `json:"commit,omitempty"` // the commit that added it (set when applied)
}

// SegmentRef names a segment a commit consumed.
type SegmentRef struct {
	Key     string `json:"key"`
	Run     string `json:"run"`
	Index   int    `json:"index"`
	Records int64  `json:"records"` // records turned into calls rows
	Bytes   int64  `json:"bytes"`   // object size
}

// Quarantine records a damaged segment: its readable prefix was compacted,
// the rest is described by Reason.
type Quarantine struct {
	Key         string    `json:"key"`
	Run         string    `json:"run"`
	Index       int       `json:"index"`
	Reason      string    `json:"reason"`
	RecordsKept int64     `json:"records_kept"`
	BytesLost   int64     `json:"bytes_lost"`
	Time        time.Time `json:"time"`
}

// Tombstone is a file removed from the table set, deleted from the store
// once the grace period has passed (so readers of older snapshots finish).
type Tombstone struct {
	Key     string    `json:"key"`
	Removed time.Time `json:"removed"`
}

// Commit is one entry of the commit log, stored create-only at CommitKey(Seq).
type Commit struct {
	FormatVersion int          `json:"format_version"`
	SchemaVersion int          `json:"schema_version"`
	Seq           uint64       `json:"seq"`
	Pass          string       `json:"pass"` // UUID of the attempt that wrote it
	Time          time.Time    `json:"time"`
	Watermark     string       `json:"watermark,omitempty"` // new run-ID listing watermark (monotonic)
	Added         []File       `json:"added,omitempty"`
	Removed       []string     `json:"removed,omitempty"`
	Segments      []SegmentRef `json:"segments,omitempty"`
	Quarantined   []Quarantine `json:"quarantined,omitempty"`
	Runs          []*RunState  `json:"runs,omitempty"`    // new state of each run the commit touched
	Dropped       []string     `json:"dropped,omitempty"` // runs no longer tracked
	Purged        []string     `json:"purged,omitempty"`  // tombstoned files deleted from the store
}

// RunState is what compact remembers about a run between passes.
type RunState struct {
	ID          string          `json:"id"`
	Date        string          `json:"date"`           // partition date of every row of the run
	StartNS     int64           `json:"start_ns"`       // wall clock of the run's start, Unix ns
	NextSegment int             `json:"next_segment"`   // index of the next segment to consume
	NextSeq     uint64          `json:"next_seq"`       // seq the next frame should start at
	Records     int64           `json:"records"`        // records compacted
	Segments    int64           `json:"segments"`       // segments consumed
	Bytes       int64           `json:"bytes"`          // bytes of those segments
	Quarantined int64           `json:"quarantined"`    // damaged segments among them
	Lost        int64           `json:"lost"`           // records missing from the seq sequence
	LastSeen    time.Time       `json:"last_seen"`      // when a segment of the run was last seen or consumed
	Meta        *RunMeta        `json:"meta,omitempty"` // from segment 0
	End         *RunEnd         `json:"end,omitempty"`  // from the trailer
	Done        bool            `json:"done,omitempty"` // the last segment was consumed: nothing more will come
	Incomplete  bool            `json:"incomplete,omitempty"`
	FDs         schemas.FDTable `json:"fds,omitempty"` // open fds, while the run is not done
}

// RunMeta is the part of a run's metadata the runs table shows.
type RunMeta struct {
	ModuleSHA256   string   `json:"module_sha256"`
	ModuleName     string   `json:"module_name"`
	ModuleSize     int64    `json:"module_size"`
	Args           []string `json:"args"`
	EnvKeys        []string `json:"env_keys"`
	Host           string   `json:"host"`
	OS             string   `json:"os"`
	Arch           string   `json:"arch"`
	RuntimeVersion string   `json:"runtime_version"`
}

// RunEnd is how a run ended, from its trailer.
type RunEnd struct {
	Time     time.Time `json:"time"`
	Status   string    `json:"status"`
	ExitCode uint32    `json:"exit_code"`
	Trap     string    `json:"trap,omitempty"`
}

// Status is the runs.status value of the run.
func (r *RunState) Status() string {
	switch {
	case r.End != nil:
		return r.End.Status
	case r.Done || r.Incomplete:
		return schemas.StatusIncomplete
	}
	return schemas.StatusRunning
}

// State is the lake's table state after commit Seq: the live files and the
// runs being tracked. A checkpoint stores it whole.
type State struct {
	FormatVersion int                  `json:"format_version"`
	Seq           uint64               `json:"seq"`
	Watermark     string               `json:"watermark,omitempty"`
	Files         map[string]File      `json:"files"`
	Runs          map[string]*RunState `json:"runs"`
	Tombstones    []Tombstone          `json:"tombstones,omitempty"`
	Quarantined   int64                `json:"quarantined"` // segments quarantined since the lake was created
}

func newState() *State {
	return &State{FormatVersion: FormatVersion, Files: map[string]File{}, Runs: map[string]*RunState{}}
}

// apply advances s by commit c, which must be commit s.Seq+1.
func (s *State) apply(c *Commit) error {
	if c.Seq != s.Seq+1 {
		return fmt.Errorf("commit %d does not follow %d", c.Seq, s.Seq)
	}
	if c.FormatVersion > FormatVersion {
		return fmt.Errorf("commit %d: format version %d: %w (this is %d)", c.Seq, c.FormatVersion, ErrNewerFormat, FormatVersion)
	}
	for _, k := range c.Removed {
		if _, ok := s.Files[k]; ok {
			delete(s.Files, k)
			s.Tombstones = append(s.Tombstones, Tombstone{Key: k, Removed: c.Time})
		}
	}
	for _, f := range c.Added {
		f.Commit = c.Seq
		s.Files[f.Key] = f
	}
	if len(c.Purged) > 0 {
		purged := make(map[string]bool, len(c.Purged))
		for _, k := range c.Purged {
			purged[k] = true
		}
		s.Tombstones = slices.DeleteFunc(s.Tombstones, func(t Tombstone) bool { return purged[t.Key] })
	}
	for _, r := range c.Runs {
		s.Runs[r.ID] = r
	}
	for _, id := range c.Dropped {
		delete(s.Runs, id)
	}
	if c.Watermark > s.Watermark {
		s.Watermark = c.Watermark
	}
	s.Quarantined += int64(len(c.Quarantined))
	s.Seq = c.Seq
	return nil
}

// clone returns a deep enough copy of s for a pass to modify run states.
func (s *State) clone() *State {
	c := *s
	c.Files = maps.Clone(s.Files)
	c.Runs = make(map[string]*RunState, len(s.Runs))
	for k, r := range s.Runs {
		c.Runs[k] = r.clone()
	}
	c.Tombstones = slices.Clone(s.Tombstones)
	return &c
}

func (r *RunState) clone() *RunState {
	c := *r
	c.FDs = r.FDs.Clone()
	return &c
}

// Snapshot is a consistent view of the committed tables.
type Snapshot struct {
	Seq   uint64 // the last commit included (0: nothing committed yet)
	state *State
}

// Files returns the live files of table, in key order.
func (s *Snapshot) Files(table string) []File {
	var out []File
	for _, f := range s.state.Files {
		if f.Table == table {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Keys returns the keys of the live files of table, in key order.
func (s *Snapshot) Keys(table string) []string {
	files := s.Files(table)
	keys := make([]string, len(files))
	for i, f := range files {
		keys[i] = f.Key
	}
	return keys
}

// Tables returns the names of the tables that have live files, sorted.
func (s *Snapshot) Tables() []string {
	seen := map[string]bool{}
	for _, f := range s.state.Files {
		seen[f.Table] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// Quarantined is the number of segments quarantined in the lake's history.
func (s *Snapshot) Quarantined() int64 { return s.state.Quarantined }

// Snapshot reads the latest committed state of the lake at store: the last
// checkpoint and the commits after it. Only files named by a commit are
// part of it. A lake with no commits yields an empty snapshot; a lake of a
// newer format version yields ErrNewerFormat.
func ReadSnapshot(ctx context.Context, store lake.Store) (*Snapshot, error) {
	st, err := loadState(ctx, store)
	if err != nil {
		return nil, err
	}
	return &Snapshot{Seq: st.Seq, state: st}, nil
}

// formatDoc is the content of _lake/format.json.
type formatDoc struct {
	FormatVersion int       `json:"format_version"`
	SchemaVersion int       `json:"schema_version"`
	Created       time.Time `json:"created"`
}

// checkFormat reads _lake/format.json; exists reports whether it was there.
func checkFormat(ctx context.Context, store lake.Store) (exists bool, err error) {
	var doc formatDoc
	if err := getJSON(ctx, store, FormatKey, &doc); err != nil {
		if errors.Is(err, lake.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	if doc.FormatVersion > FormatVersion {
		return true, fmt.Errorf("%s says format version %d: %w (this is %d); upgrade timelake", FormatKey, doc.FormatVersion, ErrNewerFormat, FormatVersion)
	}
	return true, nil
}

// ensureFormat creates _lake/format.json if missing and checks it otherwise.
func ensureFormat(ctx context.Context, store lake.Store, now time.Time) error {
	exists, err := checkFormat(ctx, store)
	if err != nil || exists {
		return err
	}
	doc := formatDoc{FormatVersion: FormatVersion, SchemaVersion: schemas.SchemaVersion, Created: now.UTC()}
	if err := putJSON(ctx, store, FormatKey, doc, true); err != nil && !errors.Is(err, lake.ErrExists) {
		return err
	}
	_, err = checkFormat(ctx, store)
	return err
}

// lastCheckpoint is the content of _lake/last_checkpoint.json, a hint.
type lastCheckpoint struct {
	Seq uint64 `json:"seq"`
}

// loadState rebuilds the state of the latest commit. Checkpoints and old
// commits may be deleted concurrently by a compactor; when the log does not
// line up with the checkpoint read, it starts over.
func loadState(ctx context.Context, store lake.Store) (*State, error) {
	if _, err := checkFormat(ctx, store); err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		st, err := loadStateOnce(ctx, store)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, errLogMoved) {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

var errLogMoved = errors.New("commit log changed while being read")

func loadStateOnce(ctx context.Context, store lake.Store) (*State, error) {
	st := newState()
	var hint lastCheckpoint
	if err := getJSON(ctx, store, LastCheckpointKey, &hint); err != nil && !errors.Is(err, lake.ErrNotFound) {
		return nil, err
	}
	if hint.Seq > 0 {
		cp := newState()
		if err := getJSON(ctx, store, CheckpointKey(hint.Seq), cp); err != nil {
			if errors.Is(err, lake.ErrNotFound) {
				return nil, fmt.Errorf("checkpoint %d: %w", hint.Seq, errLogMoved)
			}
			return nil, err
		}
		if cp.FormatVersion > FormatVersion {
			return nil, fmt.Errorf("checkpoint %d: format version %d: %w (this is %d)", hint.Seq, cp.FormatVersion, ErrNewerFormat, FormatVersion)
		}
		if cp.Files == nil {
			cp.Files = map[string]File{}
		}
		if cp.Runs == nil {
			cp.Runs = map[string]*RunState{}
		}
		st = cp
	}
	if err := catchUp(ctx, store, st, nil); err != nil {
		return nil, err
	}
	return st, nil
}

// catchUp applies the commits after st.Seq, calling visit (if not nil) with
// each once it is applied; an error from visit stops it there.
func catchUp(ctx context.Context, store lake.Store, st *State, visit func(*Commit) error) error {
	for {
		objs, err := store.List(ctx, CommitPrefix, CommitKey(st.Seq), 1000)
		if err != nil {
			return fmt.Errorf("list commits after %d: %w", st.Seq, err)
		}
		if len(objs) == 0 {
			return nil
		}
		for _, o := range objs {
			seq, ok := parseSeqKey(CommitPrefix, o.Key)
			if !ok {
				continue
			}
			if seq != st.Seq+1 {
				return fmt.Errorf("commit log jumps from %d to %d: %w", st.Seq, seq, errLogMoved)
			}
			c, err := readCommit(ctx, store, seq)
			if err != nil {
				if errors.Is(err, lake.ErrNotFound) {
					return fmt.Errorf("commit %d vanished: %w", seq, errLogMoved)
				}
				return err
			}
			if err := st.apply(c); err != nil {
				return err
			}
			if visit != nil {
				if err := visit(c); err != nil {
					return err
				}
			}
		}
	}
}

func readCommit(ctx context.Context, store lake.Store, seq uint64) (*Commit, error) {
	c := new(Commit)
	if err := getJSON(ctx, store, CommitKey(seq), c); err != nil {
		return nil, err
	}
	if c.Seq != seq {
		return nil, fmt.Errorf("commit %s holds seq %d", CommitKey(seq), c.Seq)
	}
	return c, nil
}

func getJSON(ctx context.Context, store lake.Store, key string, v any) error {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

func putJSON(ctx context.Context, store lake.Store, key string, v any, createOnly bool) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if _, err := store.Put(ctx, key, bytes.NewReader(data), lake.PutOptions{CreateOnly: createOnly, ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}
