package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCacheDirsOnTwoFileSystems keeps the cache in two dirs, each its own
// file system, as two SSDs are: files land in both, and multipart uploads
// (whose parts are staged in one dir and whose object may belong in the
// other) complete, however their inodes fall.
func TestCacheDirsOnTwoFileSystems(t *testing.T) {
	dir := t.TempDir()
	var dirs []string
	for _, name := range []string{"ssd0", "ssd1"} {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		// The tests run as root (the FUSE ones need it): failing here is a
		// broken test machine, not a reason to skip.
		if err := unix.Mount("tmpfs", d, "tmpfs", 0, "size=64m"); err != nil {
			t.Fatalf("mount a tmpfs for a cache dir (needs root): %v", err)
		}
		t.Cleanup(func() { unix.Unmount(d, unix.MNT_DETACH) })
		dirs = append(dirs, d)
	}
	e := newEnvAt(t, dir, func(o *Options) { o.CacheDirs = dirs })
	if _, err := e.s.MkdirAll(bg, "/b", Cred{}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 8 {
		p := fmt.Sprintf("/b/obj%d", i)
		u, err := e.s.CreateUpload(bg, p, PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p1, p2 := randBytes(uint64(2*i), 70_000), randBytes(uint64(2*i+1), 30_001)
		e.uploadPart(p, u.ID, 1, p1)
		e.uploadPart(p, u.ID, 2, p2)
		if _, err := e.s.CompleteUpload(bg, p, u.ID, nil); err != nil {
			t.Fatalf("complete %s: %v", p, err)
		}
		want[p] = append(p1, p2...)
	}
	b, _ := e.s.Resolve(bg, "/b")
	for i := range 8 {
		name := fmt.Sprintf("file%d", i)
		want["/b/"+name] = randBytes(uint64(100+i), 5000+i)
		e.writeFile(b.Ino, name, want["/b/"+name])
	}
	for p, data := range want {
		mustEqual(t, e.readPath(p), data)
	}
	used := make([]int, len(dirs))
	if err := e.s.cache.Files(func(ino, id uint64, path string) {
		for i, d := range dirs {
			if bytes.HasPrefix([]byte(path), []byte(d+"/")) {
				used[i]++
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if used[0] == 0 || used[1] == 0 {
		t.Fatalf("cache files per dir: %v; want both dirs used", used)
	}
}
