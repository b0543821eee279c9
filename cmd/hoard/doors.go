package main

import (
	"log/slog"
	"net/http"

	"github.com/hoardfs/hoard/store"
)

// The S3 gateway and the FUSE mount are wired here once their packages
// exist; until then the daemon serves neither and says so.

func newS3Handler(st *store.Store, c *Config, log *slog.Logger) http.Handler {
	log.Warn("the S3 gateway is not built into this binary yet", "hoard.s3.address", c.S3Address)
	return http.NotFoundHandler()
}

func mountFUSE(st *store.Store, c *Config, log *slog.Logger) (func() error, error) {
	log.Warn("the FUSE mount is not built into this binary yet", "hoard.fuse.mount.point", c.FuseMountPoint)
	return func() error { return nil }, nil
}
