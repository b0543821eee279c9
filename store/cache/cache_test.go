package cache

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

func open(t *testing.T, quota int64, evict Evictor) *Cache {
	t.Helper()
	c, err := Open(Options{Dirs: []string{t.TempDir(), t.TempDir()}, Quota: quota, BlockSize: 10, Evict: evict})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func wantStats(t *testing.T, c *Cache, want Stats) {
	t.Helper()
	got := c.Stats()
	want.Capacity, want.Evictions, want.EvictedBytes = got.Capacity, got.Evictions, got.EvictedBytes
	if got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}

// TestStates walks a block through dirty, clean, kept (pinned) and back,
// checking that Used = Clean + Kept + Dirty throughout.
func TestStates(t *testing.T) {
	c := open(t, 100, nil)
	a, b := Block{Ino: 1, CacheID: 1, Index: 0}, Block{Ino: 2, CacheID: 1, Index: 0}
	if err := c.Reserve(20); err != nil {
		t.Fatal(err)
	}
	wantStats(t, c, Stats{Used: 20, Pinned: 20, Dirty: 20})
	c.AddClean(a, 10)
	c.AddClean(a, 10) // twice is once
	wantStats(t, c, Stats{Used: 20, Clean: 10, Pinned: 10, Dirty: 10})
	c.AddKept(b, 10)
	wantStats(t, c, Stats{Used: 20, Clean: 10, Pinned: 10, Kept: 10})
	c.AddKept(a, 10) // pinned: leaves the LRU
	wantStats(t, c, Stats{Used: 20, Pinned: 20, Kept: 20})
	c.AddClean(b, 10) // unpinned
	wantStats(t, c, Stats{Used: 20, Clean: 10, Pinned: 10, Kept: 10})
	if c.Forget(a) {
		t.Error("Forget of a kept block says it was clean")
	}
	if !c.Forget(b) {
		t.Error("Forget of a clean block says it was not")
	}
	wantStats(t, c, Stats{Used: 20, Pinned: 20, Dirty: 20})
	c.Release(20)
	wantStats(t, c, Stats{})
}

// TestEviction: Reserve evicts clean blocks least recently used first,
// skips busy ones (keeping them), never touches kept or dirty blocks, and
// fails with ENOSPC when only those are left.
func TestEviction(t *testing.T) {
	var evicted []Block
	busy := Block{Ino: 9}
	var c *Cache
	c = open(t, 40, func(b Block) bool {
		if b == busy {
			return false
		}
		evicted = append(evicted, b)
		return true
	})
	blocks := []Block{busy, {Ino: 1}, {Ino: 2}, {Ino: 3}} // busy is the least recent
	if err := c.Reserve(40); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		c.AddClean(b, 10)
	}
	c.Touch(blocks[1]) // now the most recent: evicted last
	if err := c.Reserve(20); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(evicted, []Block{{Ino: 2}, {Ino: 3}}) {
		t.Fatalf("evicted %v, want inodes 2 then 3 (busy 9 skipped, 1 touched)", evicted)
	}
	if st := c.Stats(); st.Used != 40 || st.Clean != 20 || st.Evictions != 2 || st.EvictedBytes != 20 {
		t.Fatalf("after eviction: %+v", st)
	}
	c.AddKept(blocks[1], 10)
	c.Forget(busy) // written again: dirty
	err := c.Reserve(1)
	if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Reserve with only kept and dirty blocks: %v", err)
	}
	if st := c.Stats(); st.Used != 40 || st.Kept != 10 || st.Dirty != 30 {
		t.Fatalf("a failed Reserve changed the accounting: %+v", st)
	}
}

// TestFiles: cache files are spread over the dirs, listed back by name,
// removed in the background, and the removals still queued are done by
// Close.
func TestFiles(t *testing.T) {
	c, err := Open(Options{Dirs: []string{t.TempDir(), t.TempDir()}, Quota: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{}
	for ino := uint64(1); ino <= 20; ino++ {
		f, err := c.OpenFile(ino, ino*100, true)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("x")
		f.Close()
		dirs[filepath.Dir(filepath.Dir(c.Path(ino, ino*100)))] = true
	}
	if len(dirs) != 2 {
		t.Errorf("20 files landed in %d cache dirs, want both", len(dirs))
	}
	if err := c.SyncAll(); err != nil {
		t.Fatal(err)
	}
	listed := 0
	if err := c.Files(func(ino, id uint64, path string) {
		listed++
		if id != ino*100 || path != c.Path(ino, id) {
			t.Errorf("listed (%d, %d) at %s", ino, id, path)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if listed != 20 {
		t.Errorf("listed %d files, want 20", listed)
	}
	for ino := uint64(1); ino <= 20; ino++ {
		c.Remove(ino, ino*100)
	}
	c.Close()
	for ino := uint64(1); ino <= 20; ino++ {
		if _, err := os.Stat(c.Path(ino, ino*100)); !os.IsNotExist(err) {
			t.Fatalf("file %d still there after Remove and Close: %v", ino, err)
		}
	}
	c.Remove(1, 1) // after Close: done at once, no panic
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(Options{Quota: 1}); err == nil {
		t.Error("no dirs accepted")
	}
	if _, err := Open(Options{Dirs: []string{t.TempDir()}}); err == nil {
		t.Error("zero quota accepted")
	}
}

// TestPool: new cache files come from a pool of unnamed files made in the
// background once a dir has made its first one; they are empty, land at
// their path and are listed as the cache files they are.
func TestPool(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(Options{Dirs: []string{dir}, Quota: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.pools[0]
	ready := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.broken {
			t.Fatal("the pool gave up: O_TMPFILE or linkat failed here")
		}
		return len(p.ready)
	}
	if n := ready(); n != 0 {
		t.Fatalf("%d pooled files before any create", n)
	}
	newFile := func(ino uint64) {
		t.Helper()
		f, err := c.OpenFile(ino, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if st, err := f.Stat(); err != nil || st.Size() != 0 || f.Name() != c.Path(ino, 1) {
			t.Fatalf("new file %s: %v %v", f.Name(), st, err)
		}
		if _, err := f.WriteString("data"); err != nil {
			t.Fatal(err)
		}
	}
	waitReady := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for ready() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%d pooled files, want %d", ready(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	newFile(1) // made directly; the pool starts filling
	waitReady(poolInitial)
	for ino := uint64(2); ino < 2+poolInitial; ino++ {
		newFile(ino) // from the pool
	}
	listed := 0
	c.Files(func(ino, id uint64, path string) {
		listed++
		if b, err := os.ReadFile(path); err != nil || string(b) != "data" {
			t.Errorf("%s holds %q, %v", path, b, err)
		}
	})
	if listed != 1+poolInitial {
		t.Errorf("listed %d cache files, want %d", listed, 1+poolInitial)
	}
	p.mu.Lock()
	taken := p.taken
	p.mu.Unlock()
	if taken < poolInitial {
		t.Errorf("%d creates took a pooled file, want all %d made after it filled", taken, poolInitial)
	}
}
