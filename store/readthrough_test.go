package store

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestChangeOfEvictedFile changes in place persisted files whose blocks
// were all evicted: rewriting one block, appending, truncating. A commit
// makes the file's UFS object stale, so the blocks not cached must come
// back first; with the UFS down the change fails and changes nothing.
func TestChangeOfEvictedFile(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs })
	old := randBytes(1, 4*bs+100)
	patch := randBytes(2, bs)
	cases := []struct {
		name   string
		change func(h *Handle) error
		want   []byte
	}{
		{"rewrite", func(h *Handle) error { _, err := h.Write(bg, patch, bs); return err },
			append(append(bytes.Clone(old[:bs]), patch...), old[2*bs:]...)},
		{"append", func(h *Handle) error { _, err := h.Write(bg, patch, int64(len(old))); return err },
			append(bytes.Clone(old), patch...)},
		{"truncate", func(h *Handle) error { return h.Truncate(bg, 2*bs+10) }, old[:2*bs+10]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := e.writeEvicted(RootIno, c.name, old)
			change := func() error {
				h, err := e.s.Open(bg, n.Ino, os.O_RDWR)
				if err != nil {
					t.Fatal(err)
				}
				err = c.change(h)
				if rerr := h.Release(bg); err == nil {
					err = rerr
				}
				return err
			}
			e.faults.SetDown(true)
			wantErr(t, change(), ErrIO)
			e.faults.SetDown(false)
			mustEqual(t, e.readPath("/"+c.name), old)

			if err := change(); err != nil {
				t.Fatal(err)
			}
			mustEqual(t, e.readPath("/"+c.name), c.want)
			e.waitPersisted()
			got, err := e.ufsBytes(c.name)
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, got, c.want)
		})
	}
}

// TestNoCacheReadOfPartlyCachedFile reads with NO_CACHE a persisted file
// of which one block is cached: that block comes from the cache, the rest
// from the UFS, and nothing more is cached.
func TestNoCacheReadOfPartlyCachedFile(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs })
	data := randBytes(3, 4*bs)
	n := e.writeEvicted(RootIno, "f", data)
	h, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Read(bg, make([]byte, 10), 2*bs); err != nil {
		t.Fatal(err)
	}
	h.Release(bg)
	cached := e.s.CacheStats().Used
	if cached != bs {
		t.Fatalf("%d bytes cached after reading in one block, want %d", cached, bs)
	}
	reads := e.faults.Calls("ReadRange")
	r, err := e.s.Open(WithReadType(bg, NoCache), n.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release(bg)
	got := make([]byte, len(data)) // in one call: one UFS read per block missing
	if _, err := r.Read(bg, got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	mustEqual(t, got, data)
	if after := e.s.CacheStats().Used; after != cached {
		t.Fatalf("a NO_CACHE read cached %d bytes", after-cached)
	}
	if n := e.faults.Calls("ReadRange") - reads; n != 3 {
		t.Fatalf("%d ranged reads for the 3 blocks not cached", n)
	}
}

// TestObjectChangedUnderRead replaces a file's object in the UFS behind
// Hoard's back after one of its blocks was read: the next block is not
// taken from the new object (that would mix two versions), the read fails
// with ESTALE; once the directory is synced the path reads the new object.
func TestObjectChangedUnderRead(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs })
	old, repl := randBytes(5, 4*bs), randBytes(6, 4*bs)
	n := e.writeEvicted(RootIno, "f", old)
	h, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	buf := make([]byte, bs)
	if _, err := h.Read(bg, buf, 3*bs); err != nil && err != io.EOF { // not sequential: no readahead
		t.Fatal(err)
	}
	mustEqual(t, buf, old[3*bs:])
	if err := os.WriteFile(filepath.Join(e.ufsDir, "f"), repl, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Read(bg, buf, 2*bs); !errors.Is(err, ErrStale) {
		t.Fatalf("read of a block after the object changed: %v, want ESTALE (first bytes %x, old %x, new %x)",
			err, buf[:4], old[2*bs:2*bs+4], repl[2*bs:2*bs+4])
	}
	if err := e.s.SyncDir(bg, RootIno); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, e.readPath("/f"), repl)
}

// TestChangeOfEvictedFileLargerThanTheCache: a change in place needs the
// whole file cached (see TestChangeOfEvictedFile); when the cache cannot
// hold it, the change fails with ENOSPC (its fetches find no room, or
// fetchRounds runs out) instead of fetching for ever, and the file still
// reads whole.
func TestChangeOfEvictedFileLargerThanTheCache(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs; o.Quota = 16 * bs })
	old := randBytes(9, 40*bs)
	// Put in the UFS behind the store's back: too big to write through it.
	if err := os.WriteFile(filepath.Join(e.ufsDir, "big"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SyncDir(bg, RootIno); err != nil {
		t.Fatal(err)
	}
	n, err := e.s.Resolve(bg, "/big")
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.s.Open(bg, n.Ino, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := h.Write(bg, []byte("x"), 3*bs+5)
	terr := h.Truncate(bg, 30*bs)
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	wantErr(t, werr, ErrNoSpace)
	wantErr(t, terr, ErrNoSpace)
	mustEqual(t, e.readPath("/big"), old)
}
