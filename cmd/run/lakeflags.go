package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"

	"github.com/timelake/timelake/lake"
)

// commonFlags are accepted by every command and before or after a
// subcommand: `run sync --lake URL` and `run --lake URL sync` both work.
type commonFlags struct {
	lakeURL     string
	s3PathStyle bool
	spool       string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.lakeURL, "lake", envOr("TIMELAKE_LAKE", lake.DefaultURL()),
		"lake URL: file:///DIR or s3://BUCKET/PREFIX (env TIMELAKE_LAKE)")
	fs.BoolVar(&c.s3PathStyle, "s3-path-style", os.Getenv("TIMELAKE_S3_PATH_STYLE") != "",
		"address S3 buckets by path, for S3-compatible servers (env TIMELAKE_S3_PATH_STYLE)")
	fs.StringVar(&c.spool, "spool", envOr("TIMELAKE_SPOOL", defaultDataPath("spool")),
		"local spool directory for segments not yet uploaded (env TIMELAKE_SPOOL)")
}

func (c *commonFlags) openLake(ctx context.Context) (lake.Store, error) {
	store, err := lake.Open(ctx, c.lakeURL, lake.Options{S3PathStyle: c.s3PathStyle})
	if err != nil {
		return nil, usageError{err}
	}
	return store, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func defaultDataPath(name string) string { return filepath.Join(lake.DataDir(), name) }

// registerAgain registers the common flags on a subcommand's flag set with
// the values parsed so far as defaults, so a flag given before the
// subcommand is kept unless repeated after it.
func (c *commonFlags) registerAgain(fs *flag.FlagSet) {
	fs.StringVar(&c.lakeURL, "lake", c.lakeURL, "lake URL: file:///DIR or s3://BUCKET/PREFIX (env TIMELAKE_LAKE)")
	fs.BoolVar(&c.s3PathStyle, "s3-path-style", c.s3PathStyle, "address S3 buckets by path (env TIMELAKE_S3_PATH_STYLE)")
	fs.StringVar(&c.spool, "spool", c.spool, "local spool directory (env TIMELAKE_SPOOL)")
}
