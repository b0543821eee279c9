package fuse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
)

// s3 is the context of a change made through the S3 gateway.
var s3 = store.WithOrigin(context.Background(), "s3")

func put(t testing.TB, st *store.Store, path string, data []byte) {
	t.Helper()
	if _, err := st.PutObject(s3, path, bytes.NewReader(data), store.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
}

// contentIs checks that path reads as want, opening it anew.
func contentIs(path string, want []byte) error {
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("read %d bytes %.20q..., want %d bytes %.20q...", len(got), got, len(want), want)
	}
	return nil
}

// TestCoherence changes the namespace through the store's object API (the
// S3 path) and checks that the mount shows every change at once, although
// the kernel caches attributes, entries and pages.
func TestCoherence(t *testing.T) {
	e := newEnv(t)

	t.Run("ReplaceWhileCached", func(t *testing.T) {
		p := e.p("obj")
		v1 := bytes.Repeat([]byte("1"), 100<<10)
		mustWrite(t, p, v1)
		mustEqual(t, "v1", mustRead(t, p), v1)
		if _, err := os.Stat(p); err != nil { // attributes cached
			t.Fatal(err)
		}
		for i, size := range []int{300 << 10, 10, 2 << 20, 0, 5000} {
			v := bytes.Repeat([]byte{byte('a' + i)}, size)
			put(t, e.st, "/obj", v)
			// A new open serves the new cache file at once; the size
			// the kernel caches follows with the invalidation.
			eventually(t, fmt.Sprintf("version %d", i), func() error { return contentIs(p, v) })
			eventually(t, "size", func() error {
				fi, err := os.Stat(p)
				if err == nil && fi.Size() != int64(size) {
					err = fmt.Errorf("size %d, want %d", fi.Size(), size)
				}
				return err
			})
		}
	})

	t.Run("ReplaceWhileOpen", func(t *testing.T) {
		// A put over a file makes a new inode, as a rename over it does:
		// the open handle keeps reading the version it opened (through
		// passthrough, from the old cache file), while new readers and
		// writers get the new one at once.
		p := e.p("held")
		v1 := randBytes(10, 1<<20)
		mustWrite(t, p, v1)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		v2 := randBytes(11, 1<<20)
		put(t, e.st, "/held", v2)
		got, _ := io.ReadAll(f)
		mustEqual(t, "the open handle", got, v1)
		eventually(t, "a new reader while the old version is open", func() error { return contentIs(p, v2) })
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatalf("writer while the old version is open: %v", err)
		}
		if _, err := w.WriteAt([]byte("new"), 0); err != nil {
			t.Fatal(err)
		}
		w.Close()
		copy(v2, "new")
		mustEqual(t, "after writing the new version", mustRead(t, p), v2)
		if _, err := f.ReadAt(got[:3], 0); err != nil || string(got[:3]) == "new" {
			t.Errorf("the old handle sees the new version's write: %q %v", got[:3], err)
		}
	})

	t.Run("CreateVisible", func(t *testing.T) {
		p := e.p("later")
		_, err := os.Stat(p)
		wantErrno(t, "before", err, syscall.ENOENT) // negative entry cached now
		put(t, e.st, "/later", []byte("appeared"))
		eventually(t, "created through S3", func() error { return contentIs(p, []byte("appeared")) })
		// In a new directory too, and in a listing.
		put(t, e.st, "/newdir/sub/x", []byte("deep"))
		eventually(t, "deep", func() error { return contentIs(e.p("newdir/sub/x"), []byte("deep")) })
		eventually(t, "listed", func() error {
			names, err := readNames(e.mnt)
			if err != nil {
				return err
			}
			for _, n := range names {
				if n == "newdir" {
					return nil
				}
			}
			return fmt.Errorf("newdir not in %v", names)
		})
	})

	t.Run("RemoveVisible", func(t *testing.T) {
		p := e.p("doomed")
		mustWrite(t, p, []byte("x"))
		os.Stat(p)
		if err := e.st.Remove(s3, "/doomed"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "removed through S3", func() error {
			_, err := os.Stat(p)
			return wantErr(err, syscall.ENOENT)
		})
		// A hard link's other name keeps the file, with one link less.
		mustWrite(t, e.p("l1"), []byte("x"))
		os.Link(e.p("l1"), e.p("l2"))
		os.Stat(e.p("l2"))
		if err := e.st.Remove(s3, "/l1"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "other link", func() error {
			var st syscall.Stat_t
			err := syscall.Stat(e.p("l2"), &st)
			if err == nil && st.Nlink != 1 {
				err = fmt.Errorf("nlink %d", st.Nlink)
			}
			return err
		})
	})

	t.Run("RenameVisible", func(t *testing.T) {
		mustWrite(t, e.p("from"), []byte("moved"))
		os.Stat(e.p("from"))
		os.Stat(e.p("to"))
		root, _ := e.st.Resolve(s3, "/")
		if err := e.st.Rename(s3, root.Ino, "from", root.Ino, "to", 0); err != nil {
			t.Fatal(err)
		}
		eventually(t, "new name", func() error { return contentIs(e.p("to"), []byte("moved")) })
		eventually(t, "old name", func() error {
			_, err := os.Stat(e.p("from"))
			return wantErr(err, syscall.ENOENT)
		})
	})

	t.Run("AttrsVisible", func(t *testing.T) {
		p := e.p("attr")
		mustWrite(t, p, []byte("x"))
		os.Stat(p)
		n, _ := e.st.Resolve(s3, "/attr")
		mode := uint32(0o4711)
		mt := time.Unix(1234567890, 0)
		if _, err := e.st.SetAttr(s3, n.Ino, store.SetAttrIn{Mode: &mode, Mtime: &mt}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "chmod through the store", func() error {
			var st syscall.Stat_t
			err := syscall.Stat(p, &st)
			if err == nil && (st.Mode&0o7777 != mode || st.Mtim.Sec != mt.Unix()) {
				err = fmt.Errorf("mode %o mtime %d", st.Mode, st.Mtim.Sec)
			}
			return err
		})
	})

	t.Run("UFSChangeVisible", func(t *testing.T) {
		// An object changed in the UFS behind the store's back, found at
		// the next directory sync.
		p := e.p("ufsobj")
		mustWrite(t, p, []byte("old"))
		e.waitPersisted()
		mustEqual(t, "before", mustRead(t, p), []byte("old"))
		time.Sleep(20 * time.Millisecond) // a different mtime
		if err := os.WriteFile(filepath.Join(e.ufsDir, "ufsobj"), []byte("changed outside"), 0o644); err != nil {
			t.Fatal(err)
		}
		root, _ := e.st.Resolve(s3, "/")
		if err := e.st.SyncDir(store.WithOrigin(bg, "admin"), root.Ino); err != nil {
			t.Fatal(err)
		}
		eventually(t, "after sync", func() error { return contentIs(p, []byte("changed outside")) })
	})

	if st := e.srv.Stats(); st.Invalidations == 0 {
		t.Errorf("no invalidations sent: %+v", st)
	}
}

// TestInvalidationLatency measures how long after PutObject returns the
// mount shows the new content, over many replacements.
func TestInvalidationLatency(t *testing.T) {
	e := newEnv(t)
	p := e.p("hot")
	mustWrite(t, p, []byte("v0"))
	var worst time.Duration
	for i := range 200 {
		v := []byte(fmt.Sprintf("version %d", i))
		put(t, e.st, "/hot", v)
		start := time.Now()
		for contentIs(p, v) != nil {
			if time.Since(start) > time.Second {
				t.Fatalf("version %d not visible after 1s", i)
			}
		}
		worst = max(worst, time.Since(start))
	}
	t.Logf("worst delay between PutObject and the mount reading the new bytes: %v", worst)
}
