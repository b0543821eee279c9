package fuse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/local"
)

// env is a store over a local UFS, mounted: every directory under one
// temp dir, so that a test can unmount, reopen the store and mount again.
type env struct {
	t      testing.TB
	dir    string
	ufsDir string
	mnt    string
	sopts  store.Options
	opts   Options
	st     *store.Store
	srv    *Server
	// wrap, when set, decorates the UFS (fault injection).
	wrap func(ufs.UFS) ufs.UFS
}

var bg = context.Background()

// requireFUSE fails the test loudly when the machine cannot mount: these
// tests must run, never skip.
func requireFUSE(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("/dev/fuse is missing (%v): the FUSE tests need the fuse kernel module and fuse3 (apt-get install fuse3; modprobe fuse)", err)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("the FUSE tests mount directly and need root (euid %d)", os.Geteuid())
	}
}

func newEnv(t testing.TB, mod ...func(*env)) *env {
	t.Helper()
	dir := t.TempDir()
	// The test's temp dirs are 0700: let tests running as another user
	// reach the mount point.
	os.Chmod(filepath.Dir(dir), 0o755)
	return newEnvIn(t, dir, mod...)
}

// memDir is a directory in memory (tmpfs), for tests whose point is the
// logic and not the disk: a commit there costs no fsync. It falls back to
// a temp dir on disk when /dev/shm is missing or small (containers).
func memDir(t testing.TB) string {
	var s syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &s); err != nil || s.Type != 0x01021994 || s.Bavail*uint64(s.Bsize) < 512<<20 {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("/dev/shm", "hoard-fuse-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func newEnvIn(t testing.TB, dir string, mod ...func(*env)) *env {
	t.Helper()
	requireFUSE(t)
	os.Chmod(dir, 0o755)
	e := &env{t: t, dir: dir, ufsDir: filepath.Join(dir, "ufs"), mnt: filepath.Join(dir, "mnt")}
	e.sopts = store.Options{
		MetaDir:        filepath.Join(dir, "meta"),
		CacheDirs:      []string{filepath.Join(dir, "cache")},
		Quota:          4 << 30,
		BlockSize:      1 << 20,
		RetryBase:      10 * time.Millisecond,
		RetryMax:       100 * time.Millisecond,
		SyncInterval:   -1,
		PersistWorkers: 2,
	}
	e.opts = DefaultOptions()
	e.opts.AllowOther = true
	if testing.Verbose() && os.Getenv("HOARD_FUSE_LOG") != "" {
		e.opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e.opts.Debug = os.Getenv("HOARD_FUSE_LOG") == "debug"
	}
	for _, m := range mod {
		m(e)
	}
	e.open()
	e.mount()
	t.Cleanup(e.close)
	return e
}

func (e *env) open() {
	e.t.Helper()
	u, err := local.New(e.ufsDir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.sopts.RootUFS = u
	if e.wrap != nil {
		e.sopts.RootUFS = e.wrap(u)
	}
	e.sopts.RootURI = "file://" + e.ufsDir
	st, err := store.Open(e.sopts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.st = st
}

func (e *env) mount() {
	e.t.Helper()
	srv, err := Mount(e.st, e.mnt, e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
}

func (e *env) unmount() {
	e.t.Helper()
	if e.srv == nil {
		return
	}
	if err := e.srv.Unmount(); err != nil {
		e.t.Errorf("unmount: %v", err)
	}
	e.srv = nil
}

func (e *env) close() {
	e.unmount()
	if e.st != nil {
		if err := e.st.Close(); err != nil {
			e.t.Errorf("close store: %v", err)
		}
		e.st = nil
	}
}

// restart unmounts, closes the store, and opens and mounts it again.
func (e *env) restart() {
	e.t.Helper()
	e.close()
	e.open()
	e.mount()
}

// p is the path of name inside the mount.
func (e *env) p(name string) string { return filepath.Join(e.mnt, name) }

func (e *env) waitPersisted() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	if err := e.st.WaitPersisted(ctx); err != nil {
		e.t.Fatalf("persist queue did not drain: %v", err)
	}
}

// waitReleases waits until the daemon has seen n releases in all: the
// kernel sends RELEASE after close(2) has returned.
func (e *env) waitReleases(n uint64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.Stats().Releases < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("the daemon saw %d releases, want %d", e.srv.Stats().Releases, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustWrite(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: content differs: got %d bytes, want %d; first difference at %d", what, len(got), len(want), i)
	}
}

// wantErrno checks that err carries errno want.
func wantErrno(t testing.TB, what string, err error, want syscall.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v (%d)", what, err, want, int(want))
	}
}

// sh runs a shell command line in dir, as root unless uid is set, and
// returns its combined output. Commands run through sh so that the child
// enters the mount after exec, never between fork and exec (see go-fuse's
// package comment, Deadlocks).
func sh(t testing.TB, dir, script string) string {
	t.Helper()
	out, err := shErr(dir, script, nil)
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return out
}

func shErr(dir, script string, cred *syscall.Credential) (string, error) {
	cmd := exec.Command("/bin/sh", "-c", "cd "+shellQuote(dir)+" && "+script)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "HOME=/tmp")
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// nobody runs a shell command as an unprivileged user.
var nobody = &syscall.Credential{Uid: 65534, Gid: 65534}

// eventually retries check until it passes or a second went by: kernel
// invalidations for changes made through other doors are pushed by the
// notify goroutine, microseconds after the store call returned.
func eventually(t testing.TB, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %v", what, err)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// wantErr is nil when err carries errno want.
func wantErr(err error, want syscall.Errno) error {
	if errors.Is(err, want) {
		return nil
	}
	return fmt.Errorf("got %v, want %v", err, want)
}
