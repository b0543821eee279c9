package store

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// These tests show what the FUSE mount needs of the store when it hands a
// file's cache file to the kernel (FUSE passthrough): writes then reach the
// cache file without the store seeing them (Handle.CacheFile(true)), and
// every view of the file's size must include them, not only the next
// commit. See fuse/STORE_ISSUES.md.

// externalWrite writes data at off through the cache file, as the kernel
// does for a passthrough handle.
func externalWrite(t *testing.T, h *Handle, data []byte, off int64) {
	t.Helper()
	f, ok, err := h.CacheFile(true)
	if err != nil || !ok {
		t.Fatalf("CacheFile: ok %v, err %v", ok, err)
	}
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

// stat(2) on a file being written through passthrough must show the size
// written so far: the kernel takes our GETATTR size as the truth and would
// shrink the file it shows to the last committed size.
func TestFuseSupportExternalWritesVisibleBeforeCommit(t *testing.T) {
	e := newEnv(t)
	n, h, err := e.s.Create(bg, RootIno, "f", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	data := randBytes(1, 300<<10)
	externalWrite(t, h, data, 0)

	if got := h.Size(); got != int64(len(data)) {
		t.Errorf("Handle.Size after an external write: %d, want %d", got, len(data))
	}
	a, err := e.s.GetAttr(bg, n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size != int64(len(data)) {
		t.Errorf("GetAttr size after an external write: %d, want %d", a.Size, len(data))
	}
}

// A handle served by the daemon beside a passthrough writer (the kernel
// allows direct-I/O opens next to passthrough ones) must append at the
// real end, and truncating up must not cut what passthrough wrote.
func TestFuseSupportExternalWritesSeenByAppendAndTruncate(t *testing.T) {
	e := newEnv(t)
	n, h, err := e.s.Create(bg, RootIno, "f", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	data := randBytes(2, 100<<10)
	externalWrite(t, h, data, 0)

	ha, err := e.s.Open(bg, n.Ino, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ha.Write(bg, []byte("tail"), 0); err != nil {
		t.Fatal(err)
	}
	if err := ha.Release(bg); err != nil {
		t.Fatal(err)
	}
	want := append(append([]byte{}, data...), "tail"...)
	mustEqual(t, e.readAll(n.Ino), want)

	// Grow (fallocate, ftruncate up) after more external writes.
	more := randBytes(3, 50<<10)
	externalWrite(t, h, more, int64(len(want)))
	want = append(want, more...)
	if err := h.Truncate(bg, int64(len(want))+10); err != nil {
		t.Fatal(err)
	}
	want = append(want, make([]byte, 10)...)
	mustEqual(t, e.readAll(n.Ino), want)
}

// A commit point with nothing new to commit must not make a new version:
// close(2) on a passthrough handle that only read, a second close of a dup,
// or the persister's own release would otherwise each commit, upload the
// file again and publish a change (with no origin, from the persister),
// which makes the mount drop its caches.
func TestFuseSupportNoCommitWithoutExternalWrites(t *testing.T) {
	e := newEnv(t)
	n, h, err := e.s.Create(bg, RootIno, "f", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	externalWrite(t, h, []byte("hello"), 0)
	if err := h.Flush(bg); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted()
	a1, err := e.s.GetAttr(bg, n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	sub := e.s.Subscribe()
	defer sub.Close()
	if err := h.Flush(bg); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted()
	a2, err := e.s.GetAttr(bg, n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if a2.Version != a1.Version {
		t.Errorf("version went from %d to %d with no write in between", a1.Version, a2.Version)
	}
	select {
	case ev := <-sub.C:
		t.Errorf("unexpected event %v ino %d origin %q with no write", ev.Kind, ev.Ino, ev.Origin)
	case <-time.After(100 * time.Millisecond):
	}
}

// stat(2) racing a commit by another handle (the persister's release, a
// close) must never see the size from before the writes: GetAttr reads the
// record outside fileData.mu and then finds the file no longer dirty, so
// it returns the record from before the commit (size 0 here). The mount
// turns that into a kernel i_size of 0, and reads come back empty.
func TestFuseSupportGetAttrRacingCommit(t *testing.T) {
	e := newEnv(t)
	for i := range 300 {
		n, h, err := e.s.Create(bg, RootIno, fmt.Sprintf("f%d", i), 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Write(bg, []byte("some bytes"), 1000); err != nil {
			t.Fatal(err)
		}
		other, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			other.Release(bg) // commits h's writes
		}()
		for {
			a, err := e.s.GetAttr(bg, n.Ino)
			if err != nil {
				t.Fatal(err)
			}
			if a.Size != 1010 {
				t.Fatalf("file %d: GetAttr size %d during a commit, want 1010", i, a.Size)
			}
			select {
			case <-done:
			default:
				continue
			}
			break
		}
		h.Release(bg)
	}
}

// A file created and closed through passthrough without a write keeps the
// mtime it was created with: the cache file CacheFile(true) makes is
// younger than the inode, and is no write. (go-fuse's posixtest
// FstatDeleted: stat after close and fstat later must agree.)
func TestFuseSupportNoWriteKeepsMtime(t *testing.T) {
	e := newEnv(t)
	n, h, err := e.s.Create(bg, RootIno, "f", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if _, ok, err := h.CacheFile(true); err != nil || !ok {
		t.Fatalf("CacheFile: %v %v", ok, err)
	}
	if err := h.Flush(bg); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	a, err := e.s.GetAttr(bg, n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mtime != n.Mtime {
		t.Errorf("mtime moved by %v with no write", time.Duration(a.Mtime-n.Mtime))
	}
}

// Create of a new file with O_TRUNC (open(2) with O_CREAT|O_TRUNC, what
// most programs do) returns attributes that the handle's truncate changes
// right after: the mtime moves, and the kernel, which caches the CREATE
// reply, shows a different mtime from the one stat shows later.
func TestFuseSupportCreateTruncReturnsFinalAttrs(t *testing.T) {
	e := newEnv(t)
	n, h, err := e.s.Create(bg, RootIno, "f", 0o644, Cred{}, os.O_WRONLY|os.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	a, err := e.s.GetAttr(bg, n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if a.Mtime != n.Mtime || a.Size != n.Size {
		t.Errorf("Create returned mtime %d size %d; GetAttr right after says mtime %d size %d",
			n.Mtime, n.Size, a.Mtime, a.Size)
	}
}
