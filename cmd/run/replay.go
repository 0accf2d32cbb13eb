package main

import (
	"context"
	"errors"
	"io"
)

// replayRun re-executes a recorded run. The replay helper owns this file.
func replayRun(ctx context.Context, o *options, stdout, stderr io.Writer) (int, error) {
	return 0, errors.New("replay is not available yet")
}
