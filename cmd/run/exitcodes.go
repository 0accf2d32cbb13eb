package main

// Exit codes of the run command besides the guest's own exit code. They are
// documented in docs/cli.md; keep the two in sync.
const (
	exitUsage    = 2   // bad flags, or a module that cannot run (missing, not wasm, no _start, unsupported import)
	exitTimeout  = 124 // --timeout elapsed and the guest was stopped (as coreutils timeout(1))
	exitInternal = 125 // timelake itself failed (as docker run)
	exitTrap     = 134 // the guest trapped (128 + SIGABRT, as a native program that aborted)
	// Replay outcomes.
	exitDivergence = 120 // the guest asked something the record does not hold
	exitIncomplete = 121 // the recorded run is torn or incomplete; replayed up to its last record
	exitMaxGuest   = 255 // guest exit codes above this are reported as 255
)
