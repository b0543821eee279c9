package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWriteReadTruncateSparse(t *testing.T) {
	e := newEnv(t)
	bs := int(e.s.BlockSize())
	n, h, err := e.s.Create(bg, RootIno, "f", 0o644, Cred{}, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	model := []byte{}
	write := func(off int, p []byte) {
		t.Helper()
		if _, err := h.Write(bg, p, int64(off)); err != nil {
			t.Fatal(err)
		}
		if need := off + len(p); need > len(model) {
			model = append(model, make([]byte, need-len(model))...)
		}
		copy(model[off:], p)
	}
	check := func() {
		t.Helper()
		got := make([]byte, len(model)+10)
		k, err := h.Read(bg, got, 0)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		mustEqual(t, got[:k], model)
	}
	write(0, []byte("hello"))
	write(3*bs+17, randBytes(1, bs)) // sparse: a hole of three blocks
	check()
	if h.Size() != int64(4*bs+17) {
		t.Fatalf("size %d", h.Size())
	}
	// Truncate down into the middle of a block, then up again: the tail
	// reads as zeros.
	if err := h.Truncate(bg, int64(bs+5)); err != nil {
		t.Fatal(err)
	}
	model = model[:bs+5]
	check()
	if err := h.Truncate(bg, int64(2*bs)); err != nil {
		t.Fatal(err)
	}
	model = append(model, make([]byte, bs-5)...)
	check()
	// O_APPEND writes land at the end.
	ha, err := e.s.Open(bg, n.Ino, os.O_WRONLY|os.O_APPEND)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ha.Write(bg, []byte("tail"), 0); err != nil {
		t.Fatal(err)
	}
	model = append(model, "tail"...)
	check()
	ha.Release(bg)
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	// Reading past the end.
	hr, _ := e.s.Open(bg, n.Ino, os.O_RDONLY)
	if k, err := hr.Read(bg, make([]byte, 4), int64(len(model))); k != 0 || err != io.EOF {
		t.Fatalf("read at EOF: %d %v", k, err)
	}
	_, err = hr.Write(bg, []byte("x"), 0)
	wantErr(t, err, ErrBadFD)
	hr.Release(bg)

	// Through SetAttr, the way truncate(2) arrives.
	sz := int64(3)
	if _, err := e.s.SetAttr(bg, n.Ino, SetAttrIn{Size: &sz}); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, e.readAll(n.Ino), []byte("hel"))
	e.waitPersisted()
	if b, err := e.ufsBytes("f"); err != nil || string(b) != "hel" {
		t.Fatalf("UFS f = %q %v", b, err)
	}
}

// TestConcurrentWritersAndReaders has several goroutines write disjoint
// regions of one file through their own handles while others read: every
// read returns either zeros or a writer's bytes for each region, never
// anything else, and the final content is exact.
func TestConcurrentWritersAndReaders(t *testing.T) {
	e := newEnv(t)
	const writers, chunk, rounds = 4, 10_000, 20
	n := e.writeFile(RootIno, "shared", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := e.s.Open(bg, n.Ino, os.O_RDWR)
			if err != nil {
				errs <- err
				return
			}
			defer h.Release(bg)
			p := bytes.Repeat([]byte{byte('a' + w)}, chunk)
			for r := range rounds {
				if _, err := h.Write(bg, p, int64((r*writers+w)*chunk)); err != nil {
					errs <- err
					return
				}
				if r%5 == 0 {
					if err := h.Flush(bg); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
			if err != nil {
				errs <- err
				return
			}
			defer h.Release(bg)
			buf := make([]byte, chunk)
			for i := range 200 {
				off := int64((i % (rounds * writers)) * chunk)
				k, err := h.Read(bg, buf, off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				for _, c := range buf[:k] {
					if c != 0 && (c < 'a' || c >= 'a'+writers) {
						errs <- fmt.Errorf("read garbage byte %q at %d", c, off)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := e.readAll(n.Ino)
	if len(got) != writers*rounds*chunk {
		t.Fatalf("size %d", len(got))
	}
	for i := 0; i < len(got); i += chunk {
		want := byte('a' + (i/chunk)%writers)
		if got[i] != want || got[i+chunk-1] != want {
			t.Fatalf("chunk at %d has %q, want %q", i, got[i], want)
		}
	}
	e.waitPersisted()
	b, _ := e.ufsBytes("shared")
	mustEqual(t, b, got)
}

// TestLargeFileManyBlocks writes 256 MiB through a handle, in 1 MiB
// writes, and reads it back from the cache and, after the cache is
// dropped, from the UFS.
func TestLargeFileManyBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB")
	}
	e := newEnv(t, func(o *Options) { o.BlockSize = 4 << 20 })
	const size = 256 << 20
	chunk := randBytes(7, 1<<20)
	pattern := func(i int) []byte { // each MiB differs
		p := bytes.Clone(chunk)
		copy(p, fmt.Sprintf("MiB %06d", i))
		return p
	}
	n, h, err := e.s.Create(bg, RootIno, "big", 0o644, Cred{}, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	for i := range size >> 20 {
		if _, err := h.Write(bg, pattern(i), int64(i)<<20); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	verify := func() {
		t.Helper()
		h, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Release(bg)
		buf := make([]byte, 1<<20)
		for i := range size >> 20 {
			if _, err := h.Read(bg, buf, int64(i)<<20); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !bytes.Equal(buf, pattern(i)) {
				t.Fatalf("MiB %d differs", i)
			}
		}
	}
	verify()
	e.waitPersisted()
	if st, err := os.Stat(e.ufsDir + "/big"); err != nil || st.Size() != size {
		t.Fatalf("UFS big: %v %v", st, err)
	}
	// Background work (the persister marking blocks clean) may hold the
	// file a moment after the queue drained.
	deadline := time.Now().Add(10 * time.Second)
	for e.s.dropCache(n.Ino); e.s.CacheStats().Used != 0; e.s.dropCache(n.Ino) {
		if time.Now().After(deadline) {
			t.Fatalf("cache still holds %d bytes", e.s.CacheStats().Used)
		}
		time.Sleep(20 * time.Millisecond)
	}
	verify() // now fetched from the UFS
}

// TestEvictionUnderTinyQuota fills a cache of a few blocks: dirty blocks are
// pinned until persisted, clean blocks are evicted least recently used first
// and come back from the UFS with identical bytes.
func TestEvictionUnderTinyQuota(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.Quota = 8 * bs; o.BlockSize = bs })
	e.faults.SetDown(true) // nothing persists: everything stays pinned
	data := map[string][]byte{}
	for i := range 3 {
		name := fmt.Sprintf("f%d", i)
		data[name] = randBytes(uint64(i), 2*bs)
		e.writeFile(RootIno, name, data[name])
	}
	// 6 of 8 blocks pinned; a 3-block file cannot fit.
	_, h, err := e.s.Create(bg, RootIno, "toobig", 0o644, Cred{}, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Write(bg, randBytes(9, 3*bs), 0)
	wantErr(t, err, ErrNoSpace)
	h.Release(bg)
	e.s.Unlink(bg, RootIno, "toobig")
	if st := e.s.CacheStats(); st.Pinned != 6*bs || st.Dirty != 6*bs {
		t.Fatalf("pinned %d, dirty %d, want %d", st.Pinned, st.Dirty, 6*bs)
	}
	e.faults.SetDown(false)
	e.waitPersisted()
	if st := e.s.CacheStats(); st.Clean != 6*bs {
		t.Fatalf("clean %d after persist, want %d", st.Clean, 6*bs)
	}
	// Now a new 4-block file fits only by evicting clean blocks.
	data["g"] = randBytes(42, 4*bs)
	e.faults.SetDown(true)
	e.writeFile(RootIno, "g", data["g"])
	st := e.s.CacheStats()
	if st.Evictions < 2 || st.Used > 8*bs {
		t.Fatalf("after overfill: %+v", st)
	}
	// g is pinned: reading the others back needs the UFS, which is down:
	// the read fails cleanly...
	f0, _ := e.s.Resolve(bg, "/f0")
	hf, _ := e.s.Open(bg, f0.Ino, os.O_RDONLY)
	_, err = io.ReadAll(io.NewSectionReader(hf, 0, hf.Size()))
	hf.Release(bg)
	if err == nil {
		// f0 may have kept its blocks if others were evicted first.
		t.Log("f0 was still cached")
	} else if !errors.Is(err, ErrIO) {
		t.Fatalf("read with UFS down: %v, want EIO", err)
	}
	// ...and once it is back, every file reads back identical.
	e.faults.SetDown(false)
	for name, want := range data {
		mustEqual(t, e.readPath("/"+name), want)
	}
	e.waitPersisted()
	if st := e.s.CacheStats(); st.Used > 8*bs {
		t.Fatalf("over quota: %+v", st)
	}
}

// TestRestartKeepsCommittedAndResumesQueue closes the store with persists
// queued (the UFS is down) and reopens it: committed data is there and the
// queue drains once the UFS is back.
func TestRestartKeepsCommittedAndResumesQueue(t *testing.T) {
	e := newEnv(t)
	e.faults.SetDown(true)
	want := randBytes(3, 300_000)
	e.writeFile(RootIno, "a", want)
	d, _ := e.s.Mkdir(bg, RootIno, "d", 0o700, Cred{})
	if _, err := e.s.PutObject(bg, "/d/obj", strings.NewReader("object"), PutOptions{Size: -1, ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	if q := e.s.Queue(); q.Depth < 3 {
		t.Fatalf("queue depth %d", q.Depth)
	}
	e.restart() // a fresh fault injector: the UFS is up again
	mustEqual(t, e.readPath("/a"), want)
	o, err := e.s.Resolve(bg, "/d/obj")
	if err != nil || o.ContentType != "text/plain" || o.ETag == "" {
		t.Fatalf("obj after restart: %+v %v", o, err)
	}
	if dd, _ := e.s.Resolve(bg, "/d"); dd.Ino != d.Ino || dd.Mode != 0o700 {
		t.Fatalf("d after restart: %+v", dd)
	}
	e.waitPersisted()
	if b, err := e.ufsBytes("a"); err != nil || !bytes.Equal(b, want) {
		t.Fatalf("UFS a after restart: %d bytes, %v", len(b), err)
	}
	if b, err := e.ufsBytes("d/obj"); err != nil || string(b) != "object" {
		t.Fatalf("UFS d/obj: %q %v", b, err)
	}
	n, _ := e.s.Resolve(bg, "/a")
	if n.State != Persisted {
		t.Fatalf("state %v", n.State)
	}
}

// TestUFSFaultsLoseNothing persists many files through a UFS that fails a
// third of its calls: everything arrives intact, the queue retries.
func TestUFSFaultsLoseNothing(t *testing.T) {
	e := newEnv(t)
	e.faults.SetErrorRate(0.33)
	want := map[string][]byte{}
	for i := range 30 {
		name := fmt.Sprintf("f%02d", i)
		want[name] = randBytes(uint64(i), 1000+i*5000)
		e.writeFile(RootIno, name, want[name])
	}
	e.waitPersisted()
	e.faults.SetErrorRate(0)
	for name, w := range want {
		b, err := e.ufsBytes(name)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, b, w)
	}
	if e.faults.Calls("Put") <= 30 {
		t.Fatalf("only %d puts: the faults did not bite", e.faults.Calls("Put"))
	}
}

func TestWriteTypes(t *testing.T) {
	e := newEnv(t)
	for _, wt := range []WriteType{MustCache, CacheThrough, Through, AsyncThrough} {
		ctx := WithWriteType(bg, wt)
		name := "f_" + wt.String()
		n, err := e.s.PutObject(ctx, "/"+name, strings.NewReader(name), PutOptions{Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, uerr := e.ufsBytes(name)
		n, _ = e.s.GetAttr(bg, n.Ino)
		switch wt {
		case MustCache:
			if uerr == nil || n.State != NotPersisted {
				t.Fatalf("%v: in UFS (%v) or state %v", wt, uerr, n.State)
			}
		case CacheThrough, Through:
			if uerr != nil || n.State != Persisted {
				t.Fatalf("%v: not in UFS at return: %v, state %v", wt, uerr, n.State)
			}
		}
		// THROUGH keeps nothing in the cache (until a read promotes it).
		_, cerr := e.s.db.CacheState(n.Ino)
		if (wt == Through) != (cerr != nil) {
			t.Fatalf("%v: cache state %v", wt, cerr)
		}
		mustEqual(t, e.readAll(n.Ino), []byte(name))
	}
	e.waitPersisted()
	if b, err := e.ufsBytes("f_ASYNC_THROUGH"); err != nil || string(b) != "f_ASYNC_THROUGH" {
		t.Fatalf("async: %q %v", b, err)
	}
	// A THROUGH commit with the UFS down fails, and says so.
	e.faults.SetDown(true)
	_, err := e.s.PutObject(WithWriteType(bg, Through), "/down", strings.NewReader("x"), PutOptions{Size: -1})
	wantErr(t, err, ErrIO)
}

// TestThroughExposedCacheFile: a THROUGH file written through its cache
// file (as the FUSE mount's passthrough does) is uploaded at the flush, and
// its cache is dropped when the last handle goes, not kept.
func TestThroughExposedCacheFile(t *testing.T) {
	e := newEnv(t)
	ctx := WithWriteType(bg, Through)
	n, h, err := e.s.Create(ctx, RootIno, "t", 0o644, Cred{}, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f, ok, err := h.CacheFile(true)
	if err != nil || !ok {
		t.Fatalf("cache file of a new file: %v %v", ok, err)
	}
	data := randBytes(3, 100_000)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := e.ufsBytes("t"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("UFS after the flush: %d bytes, %v", len(got), err)
	}
	if c := e.s.CachedBytes(n); c != int64(len(data)) {
		t.Fatalf("cached while the file is exposed: %d", c)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted()
	n, _ = e.s.GetAttr(bg, n.Ino)
	if c := e.s.CachedBytes(n); c != 0 || n.State != Persisted {
		t.Fatalf("after the last release: %d bytes cached, state %v; THROUGH keeps nothing", c, n.State)
	}
	mustEqual(t, e.readAll(n.Ino), data) // read back from the UFS
}

// TestExposedWriterKeepsDirtyMark: while a handle lets the kernel write
// the cache file, commits leave the record marked dirty, so that a crash
// after an upload cannot leave a cache file that silently disagrees with
// the UFS; the last such handle's release clears the mark.
func TestExposedWriterKeepsDirtyMark(t *testing.T) {
	e := newEnv(t)
	n := e.writeFile(RootIno, "f", []byte("persisted"))
	e.waitPersisted()
	h, err := e.s.Open(bg, n.Ino, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	f, ok, err := h.CacheFile(true)
	if err != nil || !ok {
		t.Fatalf("cache file: %v %v", ok, err)
	}
	mark := func() bool {
		cs, err := e.s.db.CacheState(n.Ino)
		if err != nil {
			t.Fatal(err)
		}
		return cs.Dirty
	}
	if !mark() {
		t.Fatal("a persisted file opened for kernel writes is not marked dirty")
	}
	f.WriteAt([]byte("P"), 0)
	if err := h.Flush(bg); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted()
	if !mark() {
		t.Error("the mark was cleared by a commit while the kernel may still write")
	}
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	if mark() {
		t.Error("the mark outlived the last kernel writer")
	}
	mustEqual(t, e.readPath("/f"), []byte("Persisted"))
}

func TestCacheDiskFull(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.Quota = 4 * bs; o.BlockSize = bs })
	e.faults.SetDown(true)
	keep := randBytes(5, 3*bs)
	e.writeFile(RootIno, "keep", keep)
	_, err := e.s.PutObject(bg, "/overflow", bytes.NewReader(randBytes(6, 2*bs)), PutOptions{Size: -1})
	wantErr(t, err, ErrNoSpace)
	if _, err := e.s.Resolve(bg, "/overflow"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("failed put left %v", err)
	}
	mustEqual(t, e.readPath("/keep"), keep)
	if st := e.s.CacheStats(); st.Used != 3*bs {
		t.Fatalf("accounting after failed put: %+v", st)
	}
}

// TestConcurrentPutsOfOneNewKey races PUTs of one new key, and of a key
// being renamed away: each makes a new file that replaces the one before.
// The key ends with one whole body, the cache holds exactly the files
// that are left, and no cache file of a replaced one is left over.
func TestConcurrentPutsOfOneNewKey(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.WriteType = MustCache })
	const writers = 8
	bodies := make([][]byte, writers)
	for i := range bodies {
		bodies[i] = randBytes(uint64(100+i), 50_000+i)
	}
	for round := range 10 {
		key := fmt.Sprintf("/k%d", round)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.s.PutObject(bg, key, bytes.NewReader(bodies[i]), PutOptions{Size: -1}); err != nil {
					t.Error(err)
				}
				if i == 0 {
					// Take the name away under the others' feet.
					if err := e.s.Rename(bg, RootIno, key[1:], RootIno, key[1:]+".old", 0); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if _, err := e.s.Resolve(bg, key); err != nil {
			key += ".old" // the rename came last
		}
		got := e.readPath(key)
		if !slices.ContainsFunc(bodies, func(b []byte) bool { return bytes.Equal(b, got) }) {
			t.Fatalf("%s: %d bytes, not one of the bodies", key, len(got))
		}
	}
	var want int64
	files := 0
	for de, err := range e.s.ReadDir(bg, RootIno, "") {
		if err != nil {
			t.Fatal(err)
		}
		n, _ := e.s.GetAttr(bg, de.Ino)
		want += n.Size
		files++
	}
	if st := e.s.CacheStats(); st.Used != want {
		t.Errorf("cache holds %d bytes, the %d files %d", st.Used, files, want)
	}
	// Replaced files' cache files are removed in the background.
	deadline := time.Now().Add(10 * time.Second)
	for {
		onDisk := 0
		if err := e.s.cache.Files(func(ino, id uint64, path string) { onDisk++ }); err != nil {
			t.Fatal(err)
		}
		if onDisk == files {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d cache files for %d files", onDisk, files)
		}
		time.Sleep(time.Millisecond)
	}
}
