package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/backends"
	"github.com/hoardfs/hoard/ufs/faults"
)

// mountFaults holds the fault injector of every UFS a test mounted, by URI.
var mountFaults sync.Map

func withBackends(o *Options) {
	o.OpenUFS = func(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error) {
		u, err := backends.Open(ctx, uri, opts)
		if err != nil {
			return nil, err
		}
		f := faults.New(u)
		mountFaults.Store(uri, f)
		return f, nil
	}
}

func TestNestedMount(t *testing.T) {
	e := newEnv(t, withBackends)
	second := filepath.Join(e.dir, "second")
	os.MkdirAll(filepath.Join(second, "existing"), 0o755)
	os.WriteFile(filepath.Join(second, "existing/obj"), []byte("was there"), 0o644)

	if err := e.s.Mount(bg, "/mnt2", "file://"+second, MountOptions{WriteType: CacheThrough}); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, e.readPath("/mnt2/existing/obj"), []byte("was there"))
	n, err := e.s.PutObject(bg, "/mnt2/new/file", strings.NewReader("through the mount"), PutOptions{Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	if n.WriteType != CacheThrough || n.State != Persisted {
		t.Fatalf("per-mount write type: %v %v", n.WriteType, n.State)
	}
	if b, err := os.ReadFile(filepath.Join(second, "new/file")); err != nil || string(b) != "through the mount" {
		t.Fatalf("second UFS: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(e.ufsDir, "mnt2")); !os.IsNotExist(err) {
		t.Fatalf("the root UFS got the mount's data: %v", err)
	}
	// Bad input changes nothing.
	wantErr(t, e.s.Mount(bg, "/mnt2/inner", "file://"+t.TempDir(), MountOptions{}), ErrInvalid)
	e.writeFile(RootIno, "file", []byte("x"))
	wantErr(t, e.s.Mount(bg, "/file", "file://"+t.TempDir(), MountOptions{}), ErrNotDir)
	d, _ := e.s.Mkdir(bg, RootIno, "full", 0o755, Cred{})
	e.writeFile(d.Ino, "x", nil)
	wantErr(t, e.s.Mount(bg, "/full", "file://"+t.TempDir(), MountOptions{}), ErrNotEmpty)
	if err := e.s.Mount(bg, "/bad", "ftp://nowhere/x", MountOptions{}); err == nil || !strings.Contains(err.Error(), "ftp") {
		t.Fatalf("bad URI: %v", err)
	}
	if _, err := e.s.Resolve(bg, "/bad"); err == nil {
		t.Fatal("a failed mount left its directory")
	}
	// Locations that share objects with a mount already there: the same
	// one again, one under it, one above it, one inside the root's UFS.
	for _, uri := range []string{"file://" + second, "file://" + second + "/existing/",
		"file://" + e.dir, "file://" + e.ufsDir + "/sub"} {
		err := e.s.Mount(bg, "/overlap", uri, MountOptions{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "overlaps") {
			t.Fatalf("mount of %s: %v, want an overlap refused", uri, err)
		}
		if _, err := e.s.Resolve(bg, "/overlap"); err == nil {
			t.Fatalf("the refused mount of %s left its directory", uri)
		}
	}
	if err := e.s.Mount(bg, "/beside", "file://"+second+"x", MountOptions{}); err != nil {
		t.Fatalf("a sibling directory whose name extends the other's: %v", err)
	}
	if err := e.s.Unmount(bg, "/beside", false); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.s.Rename(bg, RootIno, "mnt2", RootIno, "moved", 0), ErrCrossMount)
	mnt2, _ := e.s.Resolve(bg, "/mnt2")
	wantErr(t, e.s.Rename(bg, mnt2.Ino, "new", RootIno, "out", 0), ErrCrossMount)
	wantErr(t, e.s.Rmdir(bg, RootIno, "mnt2"), ErrPerm)

	// The table survives a restart.
	e.restart()
	ms := e.s.Mounts()
	if len(ms) != 2 || ms[1].Path != "/mnt2" || ms[1].WriteType != "CACHE_THROUGH" {
		t.Fatalf("mounts after restart: %+v", ms)
	}
	mustEqual(t, e.readPath("/mnt2/new/file"), []byte("through the mount"))

	// Unmount refuses while uploads are queued, unless forced; never
	// deletes UFS data.
	e.s.mounts.mu.RLock()
	e.s.mounts.byID[ms[1].ID].WriteType = AsyncThrough
	e.s.mounts.mu.RUnlock()
	f, _ := mountFaults.Load("file://" + second)
	f.(*faults.FS).SetDown(true)
	if _, err := e.s.PutObject(bg, "/mnt2/pending", strings.NewReader("p"), PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.s.Unmount(bg, "/mnt2", false), ErrBusy)
	if err := e.s.Unmount(bg, "/mnt2", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Resolve(bg, "/mnt2"); err == nil {
		t.Fatal("mount point still there")
	}
	if b, err := os.ReadFile(filepath.Join(second, "existing/obj")); err != nil || string(b) != "was there" {
		t.Fatalf("unmount touched the UFS: %q %v", b, err)
	}
	if got := e.s.Mounts(); len(got) != 1 {
		t.Fatalf("mounts after unmount: %+v", got)
	}
	wantErr(t, e.s.Unmount(bg, "/full", false), ErrInvalid)
}

func TestMountOptionsRedacted(t *testing.T) {
	got := redactOptions(map[string]string{"fs.oss.accessKeyId": "id", "fs.oss.accessKeySecret": "s3cr3t", "fs.s3.secretKey": "k"})
	if got["fs.oss.accessKeySecret"] == "s3cr3t" || got["fs.s3.secretKey"] == "k" || got["fs.oss.accessKeyId"] != "id" {
		t.Fatalf("redacted: %v", got)
	}
}

func TestLoadFreePinChecksumDu(t *testing.T) {
	e := newEnv(t)
	data := randBytes(31, 700_000)
	e.putUFS("dir/a", data)
	e.putUFS("dir/sub/b", data[:1000])
	if err := e.s.SyncDir(bg, RootIno); err != nil {
		t.Fatal(err)
	}
	u, err := e.s.Du(bg, "/dir")
	if err != nil || u.Files != 2 || u.Bytes != 701_000 || u.Cached != 0 {
		t.Fatalf("du before load: %+v %v", u, err)
	}
	var calls []int64
	if err := e.s.Load(bg, "/dir", func(done, total int64) { calls = append(calls, done) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) < 2 || calls[len(calls)-1] != 701_000 || !slices.IsSorted(calls) {
		t.Fatalf("progress: %v", calls)
	}
	if u, _ := e.s.Du(bg, "/dir"); u.Cached != 701_000 {
		t.Fatalf("du after load: %+v", u)
	}
	e.faults.SetDown(true)
	mustEqual(t, e.readPath("/dir/a"), data) // all from the cache
	sum, err := e.s.Checksum(bg, "/dir/a")
	if err != nil || len(sum) != 32 {
		t.Fatalf("checksum %q %v", sum, err)
	}
	e.faults.SetDown(false)
	if err := e.s.SetPinned(bg, "/dir/sub", true); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.s.Free(bg, "/dir"), ErrBusy) // b is pinned
	if u, _ := e.s.Du(bg, "/dir"); u.Cached != 1000 || u.Pinned != 1000 {
		t.Fatalf("du after free: %+v", u)
	}
	// A pinned file's blocks are kept, not dirty: they are in the UFS.
	if st := e.s.CacheStats(); st.Kept != 1000 || st.Dirty != 0 || st.Pinned != 1000 {
		t.Fatalf("cache with a pinned file: %+v", st)
	}
	if err := e.s.SetPinned(bg, "/dir/sub", false); err != nil {
		t.Fatal(err)
	}
	if st := e.s.CacheStats(); st.Kept != 0 || st.Dirty != 0 || st.Clean != 1000 {
		t.Fatalf("cache after unpinning: %+v", st)
	}
	if err := e.s.Free(bg, "/dir"); err != nil {
		t.Fatal(err)
	}
	if st := e.s.CacheStats(); st.Used != 0 {
		t.Fatalf("cache after free: %+v", st)
	}
	mustEqual(t, e.readPath("/dir/a"), data)
	// A file not yet persisted is never freed.
	e.faults.SetDown(true)
	e.writeFile(RootIno, "local", data[:5000])
	wantErr(t, e.s.Free(bg, "/local"), ErrBusy)
	if st := e.s.CacheStats(); st.Dirty != 5000 || st.Kept != 0 {
		t.Fatalf("cache with a file not yet persisted: %+v", st)
	}
	mustEqual(t, e.readPath("/local"), data[:5000])
	if err := e.s.Persist(bg, mustResolve(t, e.s, "/local").Ino); err == nil {
		t.Fatal("persist with the UFS down succeeded")
	}
	e.faults.SetDown(false)
	if err := e.s.PersistPath(bg, "/", nil); err != nil {
		t.Fatal(err)
	}
	if n := mustResolve(t, e.s, "/local"); n.State != Persisted {
		t.Fatalf("state after persist: %v", n.State)
	}
}

func mustResolve(t *testing.T, s *Store, p string) *Inode {
	t.Helper()
	n, err := s.Resolve(bg, p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTTL(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.TTLCheckInterval = 20 * time.Millisecond })
	d, _ := e.s.Mkdir(bg, RootIno, "tmp", 0o755, Cred{})
	e.writeFile(d.Ino, "a", []byte("a"))
	sub, _ := e.s.Mkdir(bg, d.Ino, "sub", 0o755, Cred{})
	e.writeFile(sub.Ino, "b", []byte("b"))
	keep := e.writeFile(RootIno, "keep", randBytes(1, 10_000))
	e.waitPersisted()
	if err := e.s.SetTTL(bg, "/tmp", 50*time.Millisecond, TTLDelete); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetTTL(bg, "/keep", 50*time.Millisecond, TTLFree); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.s.SetTTL(bg, "/keep", -time.Second, TTLFree), ErrInvalid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.s.Resolve(bg, "/tmp")
		if err != nil && e.s.CachedBytes(mustResolve(t, e.s, "/keep")) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TTL not applied: /tmp %v, keep cached %d", err, e.s.CachedBytes(mustResolve(t, e.s, "/keep")))
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.waitPersisted()
	if _, err := os.Stat(filepath.Join(e.ufsDir, "tmp")); !os.IsNotExist(err) {
		t.Fatalf("deleted dir still in UFS: %v", err)
	}
	mustEqual(t, e.readAll(keep.Ino), randBytes(1, 10_000))
	if n := mustResolve(t, e.s, "/keep"); n.TTL != 0 {
		t.Fatalf("free TTL not cleared: %+v", n)
	}
}

// TestRemoveAllSparesMounts: removing a mount point, or a tree that holds
// one, is refused before anything goes, so the mounted UFS keeps its
// objects; after the unmount it goes.
func TestRemoveAllSparesMounts(t *testing.T) {
	e := newEnv(t, withBackends)
	second := filepath.Join(e.dir, "second")
	os.MkdirAll(filepath.Join(second, "d"), 0o755)
	os.WriteFile(filepath.Join(second, "d/obj"), []byte("theirs"), 0o644)
	if _, err := e.s.MkdirAll(bg, "/top", Cred{}); err != nil {
		t.Fatal(err)
	}
	e.writeFile(RootIno, "keep", []byte("k"))
	top, _ := e.s.Resolve(bg, "/top")
	e.writeFile(top.Ino, "local", []byte("l"))
	if err := e.s.Mount(bg, "/top/m", "file://"+second, MountOptions{}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.s.RemoveAll(bg, "/top/m"), ErrBusy)
	wantErr(t, e.s.RemoveAll(bg, "/top"), ErrBusy)
	mustEqual(t, e.readPath("/top/local"), []byte("l"))
	mustEqual(t, e.readPath("/top/m/d/obj"), []byte("theirs"))
	e.waitPersisted()
	if b, err := os.ReadFile(filepath.Join(second, "d/obj")); err != nil || string(b) != "theirs" {
		t.Fatalf("the mounted UFS lost its object: %q %v", b, err)
	}
	if err := e.s.Unmount(bg, "/top/m", false); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RemoveAll(bg, "/top"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Resolve(bg, "/top"); err == nil {
		t.Error("/top still there after RemoveAll")
	}
	mustEqual(t, e.readPath("/keep"), []byte("k"))
}

// TestMountReadType mounts a UFS with NO_CACHE: reads under it cache
// nothing, while the same bytes read under the root are cached; a read type
// asked for by the request still wins; the mount keeps it across a restart.
func TestMountReadType(t *testing.T) {
	e := newEnv(t, withBackends)
	dir := filepath.Join(e.dir, "nocache")
	data := randBytes(9, 300<<10)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "obj"), data, 0o644)
	e.writeEvicted(RootIno, "obj", data)
	if err := e.s.Mount(bg, "/nc", "file://"+dir, MountOptions{ReadType: NoCache}); err != nil {
		t.Fatal(err)
	}
	cachedAfter := func(ctx context.Context, p string) int64 {
		t.Helper()
		before := e.s.CacheStats().Used
		n, err := e.s.Resolve(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		h, err := e.s.Open(ctx, n.Ino, os.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release(ctx)
		got := make([]byte, len(data))
		if _, err := h.Read(ctx, got, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		mustEqual(t, got, data)
		return e.s.CacheStats().Used - before
	}
	if n := cachedAfter(bg, "/nc/obj"); n != 0 {
		t.Fatalf("a read under a NO_CACHE mount cached %d bytes", n)
	}
	if n := cachedAfter(bg, "/obj"); n != int64(len(data)) {
		t.Fatalf("a read under the root cached %d bytes, want %d", n, len(data))
	}
	if n := cachedAfter(WithReadType(bg, CachePromote), "/nc/obj"); n != int64(len(data)) {
		t.Fatalf("a CACHE_PROMOTE request under the NO_CACHE mount cached %d bytes", n)
	}
	e.restart()
	for _, m := range e.s.Mounts() {
		want := "CACHE_PROMOTE"
		if m.Path == "/nc" {
			want = "NO_CACHE"
		}
		if m.ReadType != want {
			t.Fatalf("mount %s after restart: read type %q, want %q", m.Path, m.ReadType, want)
		}
	}
}
