package lake

import "testing"

func TestDefaultURL(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if got := DefaultURL(); got != "file:///xdg/timelake/lake" {
		t.Errorf("with XDG_DATA_HOME: %s", got)
	}
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := DefaultURL(); got != "file:///home/u/.local/share/timelake/lake" {
		t.Errorf("without XDG_DATA_HOME: %s", got)
	}
}
