package store

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store/meta"
)

// fsyncChildEnv makes TestFsyncCrashChild, run by TestFsyncSurvivesMachineCrash
// in a separate process, do its work in the directory it names and die.
const fsyncChildEnv = "HOARD_STORE_FSYNC_CHILD_DIR"

var (
	fsyncNew       = randBytes(31, 200_000)
	fsyncPersisted = randBytes(32, 150_000)
	fsyncPatch     = randBytes(33, 70_000) // over blocks 0 and 1 of p
)

// TestFsyncCrashChild is not a test of its own: it is the process that
// crashes for TestFsyncSurvivesMachineCrash. It fsyncs two files without
// ever closing them, in boot "boot-F", with the background sync an hour
// away, and exits without closing anything.
func TestFsyncCrashChild(t *testing.T) {
	dir := os.Getenv(fsyncChildEnv)
	if dir == "" {
		return
	}
	e := newEnvAt(t, dir, func(o *Options) {
		o.BootID = "boot-F"
		o.BackgroundSync = time.Hour // only the fsync can put anything on the disk
	})
	fail := childFail("fsync child")
	// p reaches the UFS first, so that the machine crash would drop an
	// unsynced cache of it; then it is rewritten with the UFS down.
	p := e.writeFile(RootIno, "p", fsyncPersisted)
	fail(e.s.WaitPersisted(bg))
	e.faults.SetDown(true)
	hp, err := e.s.Open(bg, p.Ino, os.O_RDWR)
	fail(err)
	_, err = hp.Write(bg, fsyncPatch, 0)
	fail(err)
	fail(hp.Fsync(bg))
	// n is new and only here.
	_, hn, err := e.s.Create(bg, RootIno, "n", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	fail(err)
	_, err = hn.Write(bg, fsyncNew, 0)
	fail(err)
	fail(hn.Fsync(bg))
	os.Exit(3) // "the machine went down": no release, no Close
}

// TestFsyncSurvivesMachineCrash: what Handle.Fsync returned for is on the
// disk, records and bytes, when the machine goes down with the handles
// still open and the background sync never ran: the records do not say
// Unsynced, a start under another boot keeps every byte, and the queued
// persist of both files resumes.
func TestFsyncSurvivesMachineCrash(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFsyncCrashChild$")
	cmd.Env = append(os.Environ(), fsyncChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("fsync child: %v\n%s", err, out)
	}
	wantP := append(append([]byte{}, fsyncPatch...), fsyncPersisted[len(fsyncPatch):]...)

	// The records as the crash left them.
	db, err := meta.Open(filepath.Join(dir, "meta"))
	if err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"p": len(wantP), "n": len(fsyncNew)} {
		de, err := db.Lookup(RootIno, name)
		if err != nil {
			t.Fatalf("%s after the crash: %v", name, err)
		}
		n, err := db.Inode(de.Ino)
		if err != nil || n.Size != int64(size) {
			t.Fatalf("%s after the crash: %+v %v; want the fsynced size %d", name, n, err, size)
		}
		cs, err := db.CacheState(de.Ino)
		if err != nil || cs.Unsynced || cs.Dirty {
			t.Errorf("%s: cache record after fsync %+v, %v: want synced and clean", name, cs, err)
		}
	}
	db.Close()

	e := newEnvAt(t, dir, func(o *Options) { o.BootID = "boot-G" }) // another boot: the machine crashed
	for name, want := range map[string][]byte{"p": wantP, "n": fsyncNew} {
		n, err := e.s.Resolve(bg, "/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if c := e.s.CachedBytes(n); c != int64(len(want)) {
			t.Errorf("%s: %d bytes cached after a crash of the machine, want the %d fsynced", name, c, len(want))
		}
		e.faults.SetDown(true) // served from the cache, not the UFS
		mustEqual(t, e.readPath("/"+name), want)
		e.faults.SetDown(false)
	}
	e.waitPersisted()
	for name, want := range map[string][]byte{"p": wantP, "n": fsyncNew} {
		got, err := e.ufsBytes(name)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, got, want)
	}
}

// TestFsyncSyncsRecordAtOnce: in one process, with the background sync an
// hour away, the record of a file is synced when Fsync returns and not
// before (a Flush leaves it Unsynced): Fsync is what does it.
func TestFsyncSyncsRecordAtOnce(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.BackgroundSync = time.Hour })
	e.faults.SetDown(true)
	n, h, err := e.s.Create(bg, RootIno, "f", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	unsynced := func() bool {
		t.Helper()
		cs, err := e.s.DB().CacheState(n.Ino)
		if err != nil {
			t.Fatal(err)
		}
		return cs.Unsynced
	}
	data := randBytes(34, 100_000)
	if _, err := h.Write(bg, data[:50_000], 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(bg); err != nil {
		t.Fatal(err)
	}
	if !unsynced() {
		t.Fatal("a flush recorded its blocks as synced: the background sync is an hour away")
	}
	if _, err := h.Write(bg, data[50_000:], 50_000); err != nil {
		t.Fatal(err)
	}
	if err := h.Fsync(bg); err != nil {
		t.Fatal(err)
	}
	if unsynced() {
		t.Fatal("the record says Unsynced after Fsync returned")
	}
	if got, _ := e.s.GetAttr(bg, n.Ino); got.Size != int64(len(data)) {
		t.Fatalf("size after fsync %d", got.Size)
	}
	mustEqual(t, e.readAll(n.Ino), data)
}

// reopenAfter closes e's store, runs fn on the closed directories and
// opens the store again.
func (e *env) reopenAfter(fn func()) {
	e.t.Helper()
	if err := e.s.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.s = nil
	fn()
	e.open()
}

// cachePath is the path of file ino's cache file, and its record.
func (e *env) cachePath(ino uint64) string {
	e.t.Helper()
	cs, err := e.s.DB().CacheState(ino)
	if err != nil {
		e.t.Fatalf("no cache record for inode %d: %v", ino, err)
	}
	return e.s.cache.Path(ino, cs.CacheID)
}

// readErr reads file ino whole and returns the bytes read and the error.
func (e *env) readErr(ino uint64) ([]byte, error) {
	h, err := e.s.Open(bg, ino, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer h.Release(bg)
	return io.ReadAll(io.NewSectionReader(h, 0, h.Size()))
}

// persistedAndLocal writes two files of several blocks of bs: p, in the
// UFS too, and u, MUST_CACHE, whose only copy is the cache.
func (e *env) persistedAndLocal(seed uint64, bs int) (p, u *Inode, pData, uData []byte) {
	e.t.Helper()
	pData = randBytes(seed, 5*bs+123)
	uData = randBytes(seed+1, 3*bs+7)
	p = e.writeFile(RootIno, "p", pData)
	e.waitPersisted()
	u = e.writeFileCtx(WithWriteType(bg, MustCache), RootIno, "u", uData)
	return p, u, pData, uData
}

// TestReconcileMissingCacheFile: a cache file gone while the store was
// stopped is noticed at the start: a persisted file reads its bytes from
// the UFS again; a file whose only copy it was reads as an I/O error, never
// as zeros.
func TestReconcileMissingCacheFile(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs })
	p, u, pData, _ := e.persistedAndLocal(41, bs)
	pPath, uPath := e.cachePath(p.Ino), e.cachePath(u.Ino)
	e.reopenAfter(func() {
		for _, p := range []string{pPath, uPath} {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
	})
	pn, _ := e.s.GetAttr(bg, p.Ino)
	if c := e.s.CachedBytes(pn); c != 0 {
		t.Errorf("p: %d bytes counted as cached with no cache file", c)
	}
	if st := e.s.CacheStats(); st.Used != 0 {
		t.Errorf("cache accounting counts the missing files: %+v", st)
	}
	mustEqual(t, e.readPath("/p"), pData)
	got, err := e.readErr(u.Ino)
	if !errors.Is(err, ErrIO) {
		t.Fatalf("u, whose only copy is gone: read %d bytes, err %v; want EIO", len(got), err)
	}
}
