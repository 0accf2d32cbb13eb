package schemas

// SchemaVersion is the version of the table definitions below. It is written
// in the key/value metadata of every Parquet file ("timelake.schema_version")
// and in the lake's commit log. Bump it when a column is added, removed or
// changes meaning, and document the change in docs/tables.md.
const SchemaVersion = 2

// Table names; part of the lake layout (tables/<name>/date=YYYY-MM-DD/).
const (
	TableRuns  = "runs"
	TableCalls = "calls"
	TableStdio = "stdio"
	TableFS    = "fs"
	TableNet   = "net"  // socket operations (schema version 2)
	TableHTTP  = "http" // HTTP/1.x exchanges derived from net bytes (schema version 2)
)

// EventTables are the tables written from records, in the order compact
// writes them. The runs table is written from run metadata instead.
var EventTables = []string{TableCalls, TableStdio, TableFS, TableNet, TableHTTP}

// Tables lists every table that exists in this schema version.
var Tables = []string{TableRuns, TableCalls, TableStdio, TableFS, TableNet, TableHTTP}

// Run statuses, the values of runs.status.
const (
	StatusRunning    = "running"    // segments still arriving, no trailer yet
	StatusExited     = "exited"     // the guest exited (proc_exit or return from _start)
	StatusTrapped    = "trapped"    // the guest trapped
	StatusTimedOut   = "timed_out"  // the runner's timeout stopped it
	StatusKilled     = "killed"     // a signal or the runner stopped it
	StatusIncomplete = "incomplete" // no trailer after the grace period, or a last segment without one
)

// Run is a row of the runs table: one per run, rewritten whenever the run's
// state changes (new segments, its end, incomplete after the grace period).
// Times are UTC microseconds.
type Run struct {
	RunID          string   `parquet:"run_id"`                            // UUIDv7, canonical text form
	ModuleSHA256   string   `parquet:"module_sha256,dict"`                // lowercase hex; the module is at modules/sha256/<hex>.wasm
	ModuleName     string   `parquet:"module_name,dict"`                  // file name given on the command line
	ModuleSize     int64    `parquet:"module_size"`                       // module bytes
	Args           []string `parquet:"args,list"`                         // guest argv, argv[0] included
	EnvKeys        []string `parquet:"env_keys,list"`                     // names of the guest's environment variables (values are not copied)
	Host           string   `parquet:"host,dict"`                         // hostname of the ingestion host
	OS             string   `parquet:"os,dict"`                           // GOOS of the runner
	Arch           string   `parquet:"arch,dict"`                         // GOARCH of the runner
	RuntimeVersion string   `parquet:"runtime_version,dict"`              // timelake (and wazero) version
	StartedAt      int64    `parquet:"started_at,timestamp(microsecond)"` // wall clock at guest start
	EndedAt        *int64   `parquet:"ended_at,timestamp(microsecond)"`   // wall clock at guest stop; null while running or incomplete
	DurationNS     *int64   `parquet:"duration_ns,optional"`              // ended_at - started_at in ns; null when ended_at is
	ExitCode       *int64   `parquet:"exit_code,optional"`                // exit status when status is exited
	Status         string   `parquet:"status,dict"`                       // one of the Status* constants
	TrapMessage    *string  `parquet:"trap_message,optional"`             // why the guest trapped
	Records        int64    `parquet:"records"`                           // records compacted so far (rows of calls)
	Segments       int64    `parquet:"segments"`                          // segments consumed so far
	SegmentBytes   int64    `parquet:"segment_bytes"`                     // bytes of those segments in the lake
	Quarantined    int64    `parquet:"quarantined_segments"`              // segments that were damaged (see the commit log)
	LostRecords    int64    `parquet:"lost_records"`                      // gaps in the sequence numbers (damaged or missing frames)
	UpdatedAt      int64    `parquet:"updated_at,timestamp(microsecond)"` // when compact wrote this version of the row

	ended, duration, exit int64  // backing storage of the pointers above
	trap                  string // backing storage of TrapMessage
}

// SetEnded sets EndedAt and DurationNS from the end time (UTC microseconds)
// and duration.
func (r *Run) SetEnded(endedAtMicros, durationNS int64) {
	r.ended, r.duration = endedAtMicros, durationNS
	r.EndedAt, r.DurationNS = &r.ended, &r.duration
}

// SetExitCode sets ExitCode.
func (r *Run) SetExitCode(code int64) { r.exit = code; r.ExitCode = &r.exit }

// SetTrap sets TrapMessage.
func (r *Run) SetTrap(msg string) { r.trap = msg; r.TrapMessage = &r.trap }

// Call is a row of the calls table: one per recorded host call. Every record
// becomes exactly one calls row, whatever its function (see RowsFor).
type Call struct {
	RunID      string  `parquet:"run_id,dict"`                       // the run
	Seq        int64   `parquet:"seq,delta"`                         // position of the call in the run, from 0
	Time       int64   `parquet:"time,timestamp(microsecond),delta"` // wall clock when the call started
	OffsetNS   int64   `parquet:"offset_ns,delta"`                   // ns since the run started (monotonic)
	DurationNS int64   `parquet:"duration_ns"`                       // ns spent in the host
	Func       string  `parquet:"func,dict"`                         // WASI name, e.g. fd_write
	FD         *int64  `parquet:"fd,optional"`                       // the fd the call acts on, when it has one
	Errno      string  `parquet:"errno,dict"`                        // ESUCCESS or the error name
	Result     *int64  `parquet:"result,optional"`                   // the call's main result (bytes, new fd, offset, time...)
	BytesIn    int64   `parquet:"bytes_in"`                          // bytes the host gave the guest (reads, random, names)
	BytesOut   int64   `parquet:"bytes_out"`                         // bytes the guest gave the host and the host accepted
	Path       *string `parquet:"path,optional"`                     // the path argument, as the guest passed it
	Args       string  `parquet:"args"`                              // strace-style rendering of arguments and result

	fd, result int64
	path       string
}

// Stdio is a row of the stdio table: bytes the guest read from stdin or
// wrote to stdout or stderr.
type Stdio struct {
	RunID    string `parquet:"run_id,dict"`
	Seq      int64  `parquet:"seq,delta"`
	Time     int64  `parquet:"time,timestamp(microsecond),delta"`
	OffsetNS int64  `parquet:"offset_ns,delta"`
	FD       int64  `parquet:"fd"`          // 0, 1 or 2 (or what the guest renumbered them to)
	Stream   string `parquet:"stream,dict"` // stdin, stdout or stderr
	Data     []byte `parquet:"data"`        // the bytes transferred
	Size     int64  `parquet:"size"`        // len(data)
}

// FS is a row of the fs table: one per file-system operation, that is every
// path_* call and every fd_* call on an fd that names a file or directory.
type FS struct {
	RunID      string  `parquet:"run_id,dict"`
	Seq        int64   `parquet:"seq,delta"`
	Time       int64   `parquet:"time,timestamp(microsecond),delta"`
	OffsetNS   int64   `parquet:"offset_ns,delta"`
	Func       string  `parquet:"func,dict"`
	Op         string  `parquet:"op,dict"`       // open, read, write, seek, stat, close, mkdir, ...
	FD         *int64  `parquet:"fd,optional"`   // the fd acted on (the directory fd for path_* calls)
	Path       *string `parquet:"path,optional"` // guest path: the argument resolved against the directory fd, or the path the fd was opened with
	Path2      *string `parquet:"path2,optional"`
	Flags      string  `parquet:"flags,dict"` // oflags, fdflags, lookup flags or whence, rendered as NAME|NAME
	Errno      string  `parquet:"errno,dict"`
	Size       *int64  `parquet:"size,optional"`        // bytes read or written, or the file size a stat returned / set
	FileOffset *int64  `parquet:"file_offset,optional"` // offset of a pread/pwrite/seek result/tell
	NewFD      *int64  `parquet:"new_fd,optional"`      // fd returned by path_open
	Filetype   *string `parquet:"filetype,optional"`    // type returned by a stat

	fd, size, offset, newFD int64
	path, path2, filetype   string
}
