package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCacheDiskReallyFull puts the cache on a real file system that fills
// long before the quota (an 8 MiB tmpfs under a 1 GiB quota), as a disk
// shared with other files does. Writes first evict clean blocks to make
// room, then fail with ENOSPC once only unpersisted data is left; a failed
// put leaves nothing; every committed file still reads back whole, the
// evicted ones from the UFS even though the disk has no room to cache them.
func TestCacheDiskReallyFull(t *testing.T) {
	const bs = 256 << 10
	dir := t.TempDir()
	cacheDir := filepath.Join(dir, "cache")
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The tests run as root (the FUSE tests need it too); a failure here is
	// a broken test machine, not a reason to skip.
	if err := unix.Mount("tmpfs", cacheDir, "tmpfs", 0, "size=8m"); err != nil {
		t.Fatalf("mount an 8 MiB tmpfs for the cache (needs root): %v", err)
	}
	t.Cleanup(func() { unix.Unmount(cacheDir, unix.MNT_DETACH) })
	e := newEnvAt(t, dir, func(o *Options) { o.BlockSize = bs; o.Quota = 1 << 30 })

	want := map[string][]byte{}
	put := func(name string, data []byte, wt WriteType) error {
		_, err := e.s.PutObject(WithWriteType(bg, wt), "/"+name, bytes.NewReader(data), PutOptions{Size: -1})
		if err == nil {
			want[name] = data
		}
		return err
	}
	// 6 MiB persisted: clean blocks the next writes can take.
	for i := range 6 {
		if err := put(fmt.Sprintf("clean%d", i), randBytes(uint64(i), 1<<20), AsyncThrough); err != nil {
			t.Fatal(err)
		}
	}
	e.waitPersisted()
	// 4 MiB more through a handle does not fit beside them.
	big := randBytes(100, 4<<20)
	e.writeFile(RootIno, "big", big)
	want["big"] = big
	if st := e.s.CacheStats(); st.Evictions == 0 {
		t.Fatalf("10 MiB written to an 8 MiB disk without evicting: %+v", st)
	}
	e.waitPersisted()

	// Data that is never persisted fills the disk until writes fail.
	var full error
	for i := 0; i < 20 && full == nil; i++ {
		full = put(fmt.Sprintf("pinned%d", i), randBytes(uint64(200+i), 1<<20), MustCache)
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("20 MiB of MUST_CACHE data on an 8 MiB disk: got %v, want ENOSPC", full)
	}
	for name := range want {
		if _, err := e.s.Resolve(bg, "/"+name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	n := 0
	for _, err := range e.s.ReadDir(bg, RootIno, "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("%d files listed, %d committed: the failed put left something", n, len(want))
	}
	for name, data := range want {
		if got := e.readPath("/" + name); !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes read back, not the %d committed", name, len(got), len(data))
		}
	}
}
