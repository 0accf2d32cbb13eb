package lake

import (
	"os"
	"path/filepath"
)

// DataDir is timelake's directory under the user's data dir:
// $XDG_DATA_HOME/timelake, else ~/.local/share/timelake. The embedded default
// lake and the default spool live there.
func DataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "timelake")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "timelake")
	}
	return filepath.Join(home, ".local", "share", "timelake")
}

// DefaultURL is the embedded default lake: a folder under DataDir. Every
// command uses it when neither --lake nor TIMELAKE_LAKE is given.
func DefaultURL() string { return "file://" + filepath.Join(DataDir(), "lake") }
