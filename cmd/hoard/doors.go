package main

import (
	"log/slog"
	"net/http"

	"github.com/hoardfs/hoard/fuse"
	"github.com/hoardfs/hoard/gateway"
	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
)

// newS3Handler is the S3 gateway on hoard.s3.address.
func newS3Handler(st *store.Store, c *Config, log *slog.Logger) http.Handler {
	return gateway.New(st, gateway.Options{
		AccessKey: c.S3AccessKey,
		SecretKey: c.S3SecretKey,
		Logger:    log.With("door", "s3"),
		AccessLog: c.S3AccessLog, // hoard.s3.accesslog
	})
}

// mountFUSE mounts the namespace at hoard.fuse.mount.point (clearing a
// stale mount a killed daemon left there), recording its requests into reg,
// and returns its unmount.
func mountFUSE(st *store.Store, c *Config, reg *metrics.Registry, log *slog.Logger) (func() error, error) {
	opts := fuse.DefaultOptions()
	opts.Metrics = reg
	opts.Logger = log.With("door", "fuse")
	var err error
	if c.FuseWriteType != "" {
		if opts.WriteType, err = store.ParseWriteType(c.FuseWriteType); err != nil {
			return nil, err
		}
	}
	if c.FuseReadType != "" {
		if opts.ReadType, err = store.ParseReadType(c.FuseReadType); err != nil {
			return nil, err
		}
	}
	// The kernel keeps entries and attributes for the timeouts without
	// asking; keep them within one metadata sync interval, so that a change
	// made directly in the UFS shows through the mount as soon as the store
	// looks again.
	if c.SyncInterval >= 0 {
		opts.AttrTimeout = min(opts.AttrTimeout, c.SyncInterval)
		opts.EntryTimeout = min(opts.EntryTimeout, c.SyncInterval)
		opts.NegativeTimeout = min(opts.NegativeTimeout, c.SyncInterval)
	}
	srv, err := fuse.Mount(st, c.FuseMountPoint, opts)
	if err != nil {
		return nil, err
	}
	return srv.Unmount, nil
}
