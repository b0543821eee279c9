package store

// An fsync with nothing left to commit, and a cache file cut short while
// the store was stopped.

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"
)

// TestFsyncAfterFlushSyncs: fsync(2) makes every write to the file
// durable, including writes a close or flush of another descriptor has
// already committed (FUSE sends FLUSH on every close: a dup'd descriptor, a
// child that exits, `sync FILE` after `cp`). Were Fsync to return at once
// when nothing is uncommitted, those writes would stay Unsynced (in the
// kernel only) until the background sync, and a crash of the machine in
// between would lose them although fsync said they were safe.
func TestFsyncAfterFlushSyncs(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.BackgroundSync = time.Hour })
	e.faults.SetDown(true) // the cache holds the only copy
	data := randBytes(35, 100_000)
	n := e.writeFile(RootIno, "f", data) // write, close (a flush): committed, not synced
	h, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	if err := h.Fsync(bg); err != nil {
		t.Fatal(err)
	}
	cs, err := e.s.DB().CacheState(n.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Unsynced {
		t.Fatal("fsync returned with the file's committed blocks still recorded as in the kernel only (Unsynced)")
	}
}

// TestReconcileShortCacheFile: a cache file cut short while the store was
// stopped (another tool, a disk that lost the end of it) holds fewer bytes
// than its record says are present. The start must not trust the record
// past the file's end (readLocked reads what is past the end of the cache
// file as zeros): a persisted file reads its bytes from the UFS; a file
// whose only copy it was fails with EIO where bytes are lost. Zeros are
// never served in their place.
func TestReconcileShortCacheFile(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs })
	p, u, pData, uData := e.persistedAndLocal(43, bs)
	pPath, uPath := e.cachePath(p.Ino), e.cachePath(u.Ino)
	e.reopenAfter(func() {
		// Cut each mid-block, well before its end.
		if err := os.Truncate(pPath, 2*bs+100); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(uPath, bs+100); err != nil {
			t.Fatal(err)
		}
	})
	if got, err := e.readErr(p.Ino); err != nil || !bytes.Equal(got, pData) {
		i := 0
		for i < len(got) && i < len(pData) && got[i] == pData[i] {
			i++
		}
		t.Errorf("p, persisted, cache file cut short: %v; first byte wrong at %d of %d (the cut is at %d)", err, i, len(pData), 2*bs+100)
	}
	got, err := e.readErr(u.Ino)
	if err == nil {
		mustEqual(t, got, uData) // only acceptable without an error
	}
	if !errors.Is(err, ErrIO) {
		t.Fatalf("u, cut short: read %d bytes, err %v; want EIO", len(got), err)
	}
	// What is left whole of u (its first block) still reads.
	h, err := e.s.Open(bg, u.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	buf := make([]byte, bs)
	if n, err := h.Read(bg, buf, 0); err != nil || n != bs {
		t.Fatalf("first block of u: %d, %v", n, err)
	}
	mustEqual(t, buf, uData[:bs])
}
