package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hoardfs/hoard/gateway"
	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/backends"
	ufsmetrics "github.com/hoardfs/hoard/ufs/metrics"
	"github.com/hoardfs/hoard/ufs/retry"
)

// childEnv is set in the environment of the process that `start --daemon`
// spawns, so that it runs in the foreground of its own session.
const childEnv = "HOARD_DAEMON_CHILD"

func pidPath(c *Config) string { return filepath.Join(c.Home, "hoard.pid") }
func logPath(c *Config) string { return filepath.Join(c.Home, "logs", "hoard.log") }

func cmdStart(args []string, stdout, stderr io.Writer) error {
	fs, conf := newFlags("start", stderr)
	daemon := fs.Bool("daemon", false, "detach: run in the background with a pid file and a log file under hoard.home")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	c, err := LoadConfig(*conf, os.Getenv)
	if err != nil {
		return err
	}
	if pid, ok := runningPid(c); ok {
		return fmt.Errorf("a Hoard daemon already runs with pid %d (pid file %s); stop it with `hoard stop`", pid, pidPath(c))
	}
	if *daemon && os.Getenv(childEnv) == "" {
		return detach(c, *conf, stdout)
	}
	return serve(c, stdout)
}

// detach starts this binary again as a session leader writing to the log
// file, and waits until its health check answers.
func detach(c *Config, conf string, stdout io.Writer) error {
	if err := os.MkdirAll(filepath.Dir(logPath(c)), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(logPath(c), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"start"}
	if conf != "" {
		args = append(args, "--conf", conf)
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if conf == "" && os.Getenv("HOARD_CONF") == "" && c.Source != sourceDefaults {
		cmd.Env = append(cmd.Env, "HOARD_CONF="+c.Source)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("daemon exited during start-up (%v); see %s", err, logPath(c))
		case <-deadline:
			return fmt.Errorf("daemon (pid %d) not healthy after 60s; see %s", cmd.Process.Pid, logPath(c))
		case <-time.After(100 * time.Millisecond):
		}
		if healthy(c) {
			fmt.Fprintf(stdout, "Hoard started, pid %d, log %s\n", cmd.Process.Pid, logPath(c))
			return nil
		}
	}
}

func healthy(c *Config) bool {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get("http://" + c.WebAddress + "/api/v1/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// serve runs the daemon in the foreground until SIGINT or SIGTERM.
func serve(c *Config, stdout io.Writer) error {
	log := newLogger(c, stdout)
	started := time.Now()
	if err := os.MkdirAll(c.Home, 0o755); err != nil {
		return fmt.Errorf("hoard.home %s: %w", c.Home, err)
	}
	if err := writePid(c); err != nil {
		return err
	}
	defer os.Remove(pidPath(c))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	d, err := openDaemon(ctx, c, log)
	if err != nil {
		return err
	}
	defer d.close()

	var ready atomic.Bool
	web := &http.Server{Handler: gateway.NewWeb(d.store, gateway.WebOptions{
		Token: c.WebToken, Ready: ready.Load, Version: version(), Started: started, Logger: log,
		Metrics: d.metrics,
		UI:      gateway.UIInfo{S3Address: c.S3Address, MountPoint: c.FuseMountPoint, WebAddress: c.WebAddress, Config: c.Source},
	}), ReadHeaderTimeout: 10 * time.Second}
	go d.metrics.Run(ctx) // the web UI's graphs: one sample a second
	webLn, err := net.Listen("tcp", c.WebAddress)
	if err != nil {
		return c.KeyErr("hoard.web.address", err)
	}
	go web.Serve(webLn)
	defer shutdown(web)

	if err := d.startDoors(ctx, c, log); err != nil {
		return err
	}
	ready.Store(true)
	log.Info("Hoard is up", "web", "http://"+c.WebAddress, "s3", c.S3Address, "mount", c.FuseMountPoint,
		"ufs", backends.Redact(c.RootUFS), "config", c.Source)
	<-ctx.Done()
	log.Info("stopping")
	ready.Store(false)
	return nil
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

// daemon is everything a running Hoard holds.
type daemon struct {
	store   *store.Store
	rootUFS ufs.UFS
	closers []func() error // run in reverse order
	log     *slog.Logger
	metrics *metrics.Registry // /metrics and the web UI's graphs
}

func openDaemon(ctx context.Context, c *Config, log *slog.Logger) (*daemon, error) {
	reg := metrics.New(metrics.Options{Version: version()})
	openUFS := func(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error) {
		u, err := backends.Open(ctx, uri, opts)
		if err != nil {
			return nil, err
		}
		// Metrics under the retries: every attempt is a request to the object store.
		u = ufsmetrics.New(u, reg, "")
		ro := retry.Defaults()
		ro.Logger = log
		return retry.New(u, ro), nil
	}
	root, err := openUFS(ctx, c.RootUFS, c.UFSOptions)
	if err != nil {
		return nil, c.KeyErr("hoard.root.ufs", err)
	}
	wt, err := store.ParseWriteType(c.WriteType)
	if err != nil {
		return nil, c.KeyErr("hoard.user.file.writetype.default", err)
	}
	rt, err := store.ParseReadType(c.ReadType)
	if err != nil {
		return nil, c.KeyErr("hoard.user.file.readtype.default", err)
	}
	// A nested mount's --option keys override the file's fs.oss.* and
	// fs.s3.* keys for that mount only (CONTRACT.md); only the mount's own
	// options are kept in the mount table.
	openMount := func(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error) {
		merged := maps.Clone(c.UFSOptions)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, opts)
		return openUFS(ctx, uri, merged)
	}
	st, err := store.Open(store.Options{
		MetaDir: c.MetadataDir, CacheDirs: c.CacheDirs, Quota: c.CacheQuota, BlockSize: c.BlockSize,
		RootUFS: root, RootURI: c.RootUFS, OpenUFS: openMount,
		WriteType: wt, ReadType: rt, SyncInterval: c.SyncInterval, Logger: log,
		Observer: reg,
	})
	if err != nil {
		root.Close()
		return nil, err
	}
	reg.WatchStore(st)
	return &daemon{store: st, rootUFS: root, log: log, metrics: reg}, nil
}

// startDoors starts the S3 gateway and the FUSE mount.
func (d *daemon) startDoors(ctx context.Context, c *Config, log *slog.Logger) error {
	if c.S3Address != "" {
		ln, err := net.Listen("tcp", c.S3Address)
		if err != nil {
			return c.KeyErr("hoard.s3.address", err)
		}
		srv := &http.Server{Handler: metrics.WrapS3(newS3Handler(d.store, c, log), d.metrics), ReadHeaderTimeout: 30 * time.Second}
		go srv.Serve(ln)
		d.closers = append(d.closers, func() error { shutdown(srv); return nil })
	}
	if c.FuseMountPoint != "" {
		unmount, err := mountFUSE(d.store, c, d.metrics, log)
		switch {
		case err != nil && c.IsSet("hoard.fuse.mount.point"):
			return c.KeyErr("hoard.fuse.mount.point", fmt.Errorf("%s: %w", c.FuseMountPoint, err))
		case err != nil:
			// The default mount point on a machine that cannot mount (no
			// /dev/fuse, not root): the rest of Hoard still serves, as
			// `make run` on a fresh clone promises.
			log.Warn("no FUSE mount: set hoard.fuse.mount.point to require one, or empty to turn it off",
				"mountpoint", c.FuseMountPoint, "err", err)
		default:
			d.closers = append(d.closers, unmount)
		}
	}
	return nil
}

// close unmounts, stops the gateway and closes the store; queued persists
// stay queued and resume at the next start.
func (d *daemon) close() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		if err := d.closers[i](); err != nil {
			d.log.Error("shutdown", "err", err)
		}
	}
	if err := d.store.Close(); err != nil {
		d.log.Error("close store", "err", err)
	}
	d.rootUFS.Close()
}

func newLogger(c *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func writePid(c *Config) error {
	return os.WriteFile(pidPath(c), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// runningPid returns the pid of a live Hoard daemon for this hoard.home.
func runningPid(c *Config) (int, bool) {
	b, err := os.ReadFile(pidPath(c))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, false // stale pid file
	}
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if !strings.Contains(string(cmdline), "hoard") {
		return 0, false // the pid was reused by something else
	}
	return pid, true
}

func cmdStop(args []string, stdout, stderr io.Writer) error {
	fs, conf := newFlags("stop", stderr)
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	c, err := LoadConfig(*conf, os.Getenv)
	if err != nil {
		return err
	}
	pid, ok := runningPid(c)
	if !ok {
		return fmt.Errorf("no Hoard daemon runs for hoard.home %s", c.Home)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Fprintf(stdout, "Hoard (pid %d) stopped\n", pid)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pid %d still running 60s after SIGTERM", pid)
}

func cmdFormat(args []string, stdout, stderr io.Writer) error {
	fs, conf := newFlags("format", stderr)
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	c, err := LoadConfig(*conf, os.Getenv)
	if err != nil {
		return err
	}
	if pid, ok := runningPid(c); ok {
		return fmt.Errorf("refusing to format: a Hoard daemon runs with pid %d; stop it first with `hoard stop`", pid)
	}
	if healthy(c) {
		return fmt.Errorf("refusing to format: a Hoard daemon answers on %s; stop it first", c.WebAddress)
	}
	dirs := append([]string{c.MetadataDir}, c.CacheDirs...)
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("format: %w", err)
		}
		fmt.Fprintf(stdout, "Formatted %s\n", d)
	}
	return nil
}
