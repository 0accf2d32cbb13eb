package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/timelake/timelake/capture/spool"
)

// syncMain is `run sync`: upload what earlier or crashed runs left in the
// spool. Exit code 0 when the spool is empty afterwards, 1 when some
// segments could not be uploaded (they stay for the next try).
func syncMain(ctx context.Context, o *options, args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("run sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: run sync [--lake URL] [--spool DIR] [--s3-path-style]\n\nUploads the segments that earlier or crashed runs left in the spool.\nExit codes: 0 all shipped, 1 some left in the spool, 2 bad usage.\n\nflags:")
		fs.PrintDefaults()
	}
	o.common.registerAgain(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, nil
		}
		return exitUsage, nil
	}
	if fs.NArg() > 0 {
		return 0, badInput("sync takes no arguments, got %q", fs.Args())
	}
	store, err := o.common.openLake(ctx)
	if err != nil {
		return 0, err
	}
	defer store.Close()
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "sync: "+format+"\n", a...) }
	sum, err := spool.Sync(ctx, o.common.spool, store, logf)
	fmt.Fprintf(stdout, "sync: %d run(s), %d segment(s) uploaded (%d rebuilt from torn files, %d records kept, %d bytes lost), %d module(s), %d live run(s) skipped, %d failed\n",
		sum.Runs, sum.Segments, sum.Rebuilt, sum.Records, sum.BytesLost, sum.Modules, sum.Live, sum.Failed)
	if err != nil {
		fmt.Fprintf(stderr, "sync: %v\n", oneLine(err.Error()))
		return 1, nil
	}
	if sum.Failed > 0 {
		return 1, nil
	}
	return 0, nil
}
