package store

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs/faults"
)

// replaceUFS replaces the UFS object key with a new file of content, as a
// tool that writes a temporary file and renames it into place does, and
// gives it the mtime mtime.
func (e *env) replaceUFS(key string, content []byte, mtime time.Time) {
	e.t.Helper()
	tmp := filepath.Join(e.dir, "replace.tmp") // same file system, outside the UFS root
	if err := os.WriteFile(tmp, content, 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.ufsDir, key)); err != nil {
		e.t.Fatal(err)
	}
}

// TestSyncSeesETagOnlyChange: an object replaced outside Hoard by one of
// the same size and the same mtime (to the nanosecond) differs from what
// the store recorded only in its ETag. The fingerprint compares ETags when
// both sides have one (the local backend's is the MD5 Hoard stored with
// the object, or else one derived from the file's inode, mtime and size),
// so the sync sees the change and serves the new bytes, for an object
// Hoard wrote and for one it found.
func TestSyncSeesETagOnlyChange(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SyncInterval = 0 }) // merge on every access
	e.writeFile(RootIno, "mine", []byte("written by hoard"))
	e.waitPersisted()
	e.putUFS("found", []byte("found in the UFS"))
	for _, c := range []struct{ key, old, new string }{
		{"mine", "written by hoard", "WRITTEN BY HOARD"},
		{"found", "found in the UFS", "FOUND IN THE UFS"},
	} {
		mustEqual(t, e.readPath("/"+c.key), []byte(c.old)) // cached now
		before, err := e.s.Resolve(bg, "/"+c.key)
		if err != nil {
			t.Fatal(err)
		}
		if before.State != Persisted || !before.DataInUFS || before.UFS.ETag == "" {
			t.Fatalf("%s: %+v; want persisted, with an ETag in its fingerprint", c.key, before)
		}
		st, err := os.Stat(filepath.Join(e.ufsDir, c.key))
		if err != nil {
			t.Fatal(err)
		}
		e.replaceUFS(c.key, []byte(c.new), st.ModTime())
		// The test is only worth anything if size and mtime are the same.
		info, err := e.faults.Stat(bg, c.key)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != before.UFS.Size || info.ModTime.UnixNano() != before.UFS.Mtime || info.ETag == before.UFS.ETag {
			t.Fatalf("%s: UFS now %+v, recorded %+v: want only the ETag changed", c.key, info, before.UFS)
		}
		mustEqual(t, e.readPath("/"+c.key), []byte(c.new))
		after, err := e.s.Resolve(bg, "/"+c.key)
		if err != nil {
			t.Fatal(err)
		}
		if after.UFS.ETag != info.ETag || after.ETag == before.ETag {
			t.Fatalf("%s after the sync: fingerprint %+v, ETag %q; want the new object's %q", c.key, after.UFS, after.ETag, info.ETag)
		}
	}
}

// TestFailedFirstSyncRetried: when the UFS fails the first listing of a
// directory, the access that needed it fails with EIO (the store knows
// nothing of the directory to go on with), nothing is recorded as listed,
// and the next access after the UFS recovers lists it.
func TestFailedFirstSyncRetried(t *testing.T) {
	e := newEnv(t) // SyncInterval < 0: a directory is listed once
	e.putUFS("d/x", []byte("x content"))
	e.putUFS("d/sub/y", []byte("y"))
	if err := e.s.SyncDir(bg, RootIno); err != nil {
		t.Fatal(err)
	}
	d, err := e.s.Lookup(bg, RootIno, "d")
	if err != nil {
		t.Fatal(err)
	}
	e.faults.SetDown(true)
	lists := e.faults.Calls(faults.MethodList)
	failed := func(op string, err error) {
		t.Helper()
		if err == nil || Errno(err) != syscall.EIO || !errors.Is(err, faults.ErrInjected) {
			t.Fatalf("%s in a never-listed directory with the UFS down: %v; want EIO carrying the UFS error", op, err)
		}
	}
	_, err = e.s.Lookup(bg, d.Ino, "x")
	failed("lookup", err)
	var rerr error
	for _, err := range e.s.ReadDir(bg, d.Ino, "") {
		rerr = err
		break
	}
	failed("readdir", rerr)
	_, err = e.s.Resolve(bg, "/d/x")
	failed("resolve", err)
	_, _, err = e.s.Create(bg, d.Ino, "new", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	failed("create", err)
	if e.faults.Calls(faults.MethodList) <= lists {
		t.Fatal("the failed accesses did not try to list")
	}
	if n, _ := e.s.GetAttr(bg, d.Ino); n.SyncedAt != 0 {
		t.Fatalf("a failed listing was recorded as done at %d", n.SyncedAt)
	}
	if got := names(t, e.s, RootIno); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("root = %v", got)
	}

	e.faults.SetDown(false)
	n, err := e.s.Lookup(bg, d.Ino, "x")
	if err != nil {
		t.Fatalf("lookup once the UFS is back: %v", err)
	}
	if got := names(t, e.s, d.Ino); !slices.Equal(got, []string{"sub", "x"}) {
		t.Fatalf("d after recovery = %v", got)
	}
	mustEqual(t, e.readAll(n.Ino), []byte("x content"))
	// Listed now: with the interval at "never", no more listing.
	lists = e.faults.Calls(faults.MethodList)
	names(t, e.s, d.Ino)
	if _, err := e.s.Lookup(bg, d.Ino, "x"); err != nil {
		t.Fatal(err)
	}
	if e.faults.Calls(faults.MethodList) != lists {
		t.Fatal("a directory listed successfully was listed again")
	}
}

// TestFailedResyncServesLastListing: a directory listed before goes on
// with its last listing while the UFS fails (lookups, listings, reads of
// cached files, new files all work), and the first access after the UFS
// recovers merges what changed meanwhile.
func TestFailedResyncServesLastListing(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SyncInterval = 0 }) // merge on every access
	e.putUFS("d/x", []byte("x content"))
	mustEqual(t, e.readPath("/d/x"), []byte("x content"))
	d, err := e.s.Resolve(bg, "/d")
	if err != nil {
		t.Fatal(err)
	}
	synced := d.SyncedAt

	e.faults.SetDown(true)
	e.putUFS("d/y", []byte("appeared while down"))
	lists := e.faults.Calls(faults.MethodList)
	if got := names(t, e.s, d.Ino); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("listing while the UFS is down = %v, want the last one", got)
	}
	if e.faults.Calls(faults.MethodList) == lists {
		t.Fatal("no listing was tried: the test proves nothing")
	}
	mustEqual(t, e.readPath("/d/x"), []byte("x content"))
	_, err = e.s.Lookup(bg, d.Ino, "y")
	wantErr(t, err, ErrNotExist)
	e.writeFile(d.Ino, "local", []byte("made while down"))
	if n, _ := e.s.GetAttr(bg, d.Ino); n.SyncedAt != synced {
		t.Fatalf("a failed re-sync moved the listing time from %d to %d", synced, n.SyncedAt)
	}

	e.faults.SetDown(false)
	if got := names(t, e.s, d.Ino); !slices.Equal(got, []string{"local", "x", "y"}) {
		t.Fatalf("listing after recovery = %v", got)
	}
	mustEqual(t, e.readPath("/d/y"), []byte("appeared while down"))
	e.waitPersisted()
	if b, err := e.ufsBytes("d/local"); err != nil || string(b) != "made while down" {
		t.Fatalf("UFS d/local = %q, %v", b, err)
	}
}
