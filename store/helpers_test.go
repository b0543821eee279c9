package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/faults"
	"github.com/hoardfs/hoard/ufs/local"
)

// env is a store over a local UFS wrapped in fault injection, with every
// directory under one temp dir so that a test can reopen it.
type env struct {
	t      *testing.T
	dir    string
	ufsDir string
	faults *faults.FS
	opts   Options
	s      *Store
	// wrap, when set, wraps the UFS (after fault injection) at every open.
	wrap func(ufs.UFS) ufs.UFS
}

func newEnv(t *testing.T, mod ...func(*Options)) *env {
	t.Helper()
	return newEnvAt(t, t.TempDir(), mod...)
}

// newEnvAt is newEnv over the directories under dir, which may hold a store
// already.
func newEnvAt(t *testing.T, dir string, mod ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, dir: dir, ufsDir: filepath.Join(dir, "ufs")}
	e.opts = Options{
		MetaDir:        filepath.Join(dir, "meta"),
		CacheDirs:      []string{filepath.Join(dir, "cache")},
		Quota:          1 << 30,
		BlockSize:      64 << 10,
		RetryBase:      10 * time.Millisecond,
		RetryMax:       100 * time.Millisecond,
		SyncInterval:   -1,
		PersistWorkers: 2,
	}
	for _, m := range mod {
		m(&e.opts)
	}
	e.open()
	t.Cleanup(func() {
		if e.s != nil {
			e.s.Close()
		}
	})
	return e
}

func (e *env) open() {
	e.t.Helper()
	u, err := local.New(e.ufsDir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.faults = faults.New(u)
	e.opts.RootUFS = e.faults
	if e.wrap != nil {
		e.opts.RootUFS = e.wrap(e.faults)
	}
	e.opts.RootURI = "file://" + e.ufsDir
	s, err := Open(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.s = s
	// List the root once, as any first access does, so that tests which
	// take the UFS down have a listing to go on with.
	for _, err := range s.ReadDir(bg, RootIno, "") {
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

// restart closes the store and opens it again on the same directories.
func (e *env) restart() {
	e.t.Helper()
	if err := e.s.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.s = nil
	e.open()
}

var bg = context.Background()

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeFile creates path's file through handles, as the FUSE layer does.
func (e *env) writeFile(parent uint64, name string, data []byte) *Inode {
	e.t.Helper()
	return e.writeFileCtx(bg, parent, name, data)
}

// writeFileCtx is writeFile with the caller's context (a write type).
func (e *env) writeFileCtx(ctx context.Context, parent uint64, name string, data []byte) *Inode {
	e.t.Helper()
	n, h, err := e.s.Create(ctx, parent, name, 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(data) > 0 {
		if _, err := h.Write(ctx, data, 0); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := h.Release(ctx); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// writeEvicted writes a file, waits for it to reach the UFS and frees its
// cached blocks: a file whose bytes are only in the UFS.
func (e *env) writeEvicted(parent uint64, name string, data []byte) *Inode {
	e.t.Helper()
	n := e.writeFile(parent, name, data)
	e.waitPersisted()
	p, err := e.s.PathOf(n.Ino)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.s.Free(bg, p); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// readAll reads file ino through a handle.
func (e *env) readAll(ino uint64) []byte {
	e.t.Helper()
	h, err := e.s.Open(bg, ino, os.O_RDONLY)
	if err != nil {
		e.t.Fatal(err)
	}
	defer h.Release(bg)
	b, err := io.ReadAll(io.NewSectionReader(h, 0, h.Size()))
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) readPath(p string) []byte {
	e.t.Helper()
	n, err := e.s.Resolve(bg, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.readAll(n.Ino)
}

// ufsBytes reads an object straight from the UFS directory.
func (e *env) ufsBytes(key string) ([]byte, error) {
	return os.ReadFile(filepath.Join(e.ufsDir, key))
}

func (e *env) waitPersisted() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	if err := e.s.WaitPersisted(ctx); err != nil {
		e.t.Fatalf("persist queue did not drain: %v (%+v)", err, e.s.Queue())
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func mustEqual(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("content differs: got %d bytes, want %d; first difference at %d", len(got), len(want), i)
	}
}
