package segment

import (
	"encoding/json"
	"fmt"
	"time"
)

// Metadata describes a run; segment 0 carries it as a JSON object (the json
// tags below are part of the format; readers ignore unknown fields, writers
// may add fields). Times are RFC 3339 with nanoseconds.
type Metadata struct {
	RunID          string          `json:"run_id"`                   // the run's UUID, canonical text form; equals the header's
	Module         Module          `json:"module"`                   // the executed module
	Args           []string        `json:"args"`                     // guest argv, argv[0] included
	Env            []string        `json:"env"`                      // guest environment, KEY=VALUE
	Mounts         []Mount         `json:"mounts,omitempty"`         // preopened directories, in fd order
	Policy         json.RawMessage `json:"policy,omitempty"`         // the sandbox policy, as the sandbox encodes it
	Host           Host            `json:"host"`                     // where the run executed
	RuntimeVersion string          `json:"runtime_version"`          // timelake version (and wazero's)
	RecordVersion  uint32          `json:"record_version,omitempty"` // version of the record encoding in frames (docs/records.md)
	StartTime      time.Time       `json:"start_time"`               // wall clock when the guest started
}

// Module identifies the executed module; the lake stores it under
// modules/sha256/<SHA256>.wasm.
type Module struct {
	SHA256 string `json:"sha256"` // lowercase hex digest of the module bytes
	Name   string `json:"name"`   // file name as given on the command line
	Size   int64  `json:"size"`   // module bytes
}

// Mount is a host directory preopened in the guest.
type Mount struct {
	GuestPath string `json:"guest_path"` // path the guest sees
	HostPath  string `json:"host_path"`  // directory on the host
	ReadOnly  bool   `json:"read_only,omitempty"`
}

// Host describes the machine that ran the guest.
type Host struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`   // runtime.GOOS
	Arch     string `json:"arch"` // runtime.GOARCH
}

// Status is how a run ended. Values are part of the format, never change.
type Status string

const (
	StatusExited   Status = "exited"    // proc_exit or return from _start; ExitCode is set
	StatusTrapped  Status = "trapped"   // the guest trapped; Trap says why
	StatusTimedOut Status = "timed_out" // stopped by the runner's timeout
	StatusKilled   Status = "killed"    // stopped by a signal or the runner
)

// Trailer records how a run ended; the last segment carries it as a JSON
// object before the seal. A run whose last segment is torn has no trailer.
type Trailer struct {
	EndTime  time.Time `json:"end_time"`       // wall clock when the guest stopped
	Status   Status    `json:"status"`         // how it stopped
	ExitCode uint32    `json:"exit_code"`      // the guest's exit code (StatusExited)
	Trap     string    `json:"trap,omitempty"` // trap message (StatusTrapped)
	Records  uint64    `json:"records"`        // records in the whole run, every segment
	Segments uint32    `json:"segments"`       // segments in the run, this one included
}

func (s Status) valid() bool {
	switch s {
	case StatusExited, StatusTrapped, StatusTimedOut, StatusKilled:
		return true
	}
	return false
}

func decodeJSON(b []byte, v any, what string) string {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Sprintf("%s JSON: %v", what, err)
	}
	return ""
}
