package fuse

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/faults"
	"github.com/hoardfs/hoard/ufs/local"
)

// TestDurability writes a tree through the mount and checks it after
// unmounting and reopening the store (same content, modes, times and inode
// numbers), and in the UFS once the persist queue drained: every regular
// file is a plain object under its path.
func TestDurability(t *testing.T) {
	e := newEnv(t)
	makeTree(t, e.p("tree"))
	want := treeDigest(t, e.p("tree"))
	inos := map[string]uint64{}
	filepath.Walk(e.p("tree"), func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			inos[p] = fi.Sys().(*syscall.Stat_t).Ino
		}
		return nil
	})

	e.restart()
	if got := treeDigest(t, e.p("tree")); got != want {
		t.Fatalf("after restart:\n%s", diffLines(got, want))
	}
	filepath.Walk(e.p("tree"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && inos[p] != fi.Sys().(*syscall.Stat_t).Ino {
			t.Errorf("%s: inode %d became %d across a restart", p, inos[p], fi.Sys().(*syscall.Stat_t).Ino)
		}
		return nil
	})

	e.waitPersisted()
	n := 0
	filepath.Walk(e.p("tree"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(e.mnt, p)
		obj, err := os.ReadFile(filepath.Join(e.ufsDir, rel))
		if err != nil {
			t.Errorf("%s is not in the UFS: %v", rel, err)
			return nil
		}
		if !bytes.Equal(obj, mustRead(t, p)) {
			t.Errorf("%s: the UFS object differs from the file", rel)
		}
		n++
		return nil
	})
	if n < 40 {
		t.Errorf("only %d files checked in the UFS", n)
	}
}

// TestCommitErrors checks that a failed upload surfaces where POSIX
// reports errors: close(2) and fsync(2), with CACHE_THROUGH; and that a
// read of data only the UFS holds fails with EIO while it is down.
func TestCommitErrors(t *testing.T) {
	var fs *faults.FS
	e := newEnv(t, func(e *env) {
		e.opts.WriteType = store.CacheThrough
		e.wrap = func(u ufs.UFS) ufs.UFS { fs = faults.New(u); return fs }
	})
	mustWrite(t, e.p("ok"), []byte("fine"))
	if b, err := os.ReadFile(filepath.Join(e.ufsDir, "ok")); err != nil || string(b) != "fine" {
		t.Fatalf("CACHE_THROUGH: not in the UFS at close: %q %v", b, err)
	}

	fs.SetDown(true)
	f, err := os.Create(e.p("bad"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("lost?"))
	wantErrno(t, "fsync with the UFS down", f.Sync(), syscall.EIO)
	f.Write([]byte(" no"))
	wantErrno(t, "close with the UFS down", f.Close(), syscall.EIO)
	fs.SetDown(false)
	// The data stayed in the cache and reaches the UFS once it is back.
	mustEqual(t, "kept", mustRead(t, e.p("bad")), []byte("lost? no"))
	e.waitPersisted()
	if b, err := os.ReadFile(filepath.Join(e.ufsDir, "bad")); err != nil || string(b) != "lost? no" {
		t.Errorf("after the UFS came back: %q %v", b, err)
	}

	// A file whose bytes only the UFS holds: put there behind the store's
	// back, found by a directory sync.
	data := bytes.Repeat([]byte("u"), 3<<20)
	if err := os.WriteFile(filepath.Join(e.ufsDir, "far"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SyncDir(bg, store.RootIno); err != nil {
		t.Fatal(err)
	}
	fs.SetDown(true)
	_, err = os.ReadFile(e.p("far"))
	wantErrno(t, "read with the UFS down", err, syscall.EIO)
	fs.SetDown(false)
	f, err = os.Open(e.p("far"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("read after the UFS came back: %d bytes, %v", len(got), err)
	}
	if st := e.srv.Stats(); st.CachedOpens == 0 || st.Reads == 0 {
		t.Errorf("a file not in the cache should be read through the daemon: %+v", st)
	}
}

// TestNestedMounts checks the errnos a nested UFS mount brings: EXDEV for
// renames and links across mounts, EROFS inside a read-only one, EPERM for
// removing a mount point.
func TestNestedMounts(t *testing.T) {
	e := newEnv(t, func(e *env) {
		e.sopts.OpenUFS = func(ctx context.Context, uri string, _ map[string]string) (ufs.UFS, error) {
			return local.New(strings.TrimPrefix(uri, "file://"))
		}
	})
	for _, m := range []struct {
		path string
		ro   bool
	}{{"/nested", false}, {"/ro", true}} {
		if err := e.st.Mount(bg, m.path, "file://"+filepath.Join(e.dir, "mounted"+m.path), store.MountOptions{ReadOnly: m.ro}); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(e.dir, "mounted/ro/inside"), []byte("ro"), 0o644)

	mustWrite(t, e.p("top"), []byte("x"))
	mustWrite(t, e.p("nested/in"), []byte("y"))
	wantErrno(t, "rename into a nested mount", syscall.Rename(e.p("top"), e.p("nested/top")), syscall.EXDEV)
	wantErrno(t, "rename out of a nested mount", syscall.Rename(e.p("nested/in"), e.p("in")), syscall.EXDEV)
	wantErrno(t, "link across mounts", os.Link(e.p("top"), e.p("nested/link")), syscall.EXDEV)
	if err := os.Rename(e.p("nested/in"), e.p("nested/in2")); err != nil {
		t.Errorf("rename inside a nested mount: %v", err)
	}
	mustEqual(t, "read-only mount reads", mustRead(t, e.p("ro/inside")), []byte("ro"))
	wantErrno(t, "create in a read-only mount", os.WriteFile(e.p("ro/new"), nil, 0o644), syscall.EROFS)
	_, err := os.OpenFile(e.p("ro/inside"), os.O_WRONLY, 0)
	wantErrno(t, "write in a read-only mount", err, syscall.EROFS)
	wantErrno(t, "rmdir a mount point", syscall.Rmdir(e.p("nested")), syscall.EPERM)
	wantErrno(t, "rmdir a read-only mount point", syscall.Rmdir(e.p("ro")), syscall.EROFS)
}
