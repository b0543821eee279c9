package local

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// xattrsWork skips the test when the file system of dir keeps no user
// xattrs: ETags are then always derived.
func xattrsWork(t *testing.T, u *FS) {
	t.Helper()
	if info := put(t, u, "probe", "p"); info.ETag != md5hex("p") {
		t.Skipf("no user xattrs on %s: ETag %q", u.dir, info.ETag)
	}
}

func TestPutETagIsMD5(t *testing.T) {
	u := newFS(t)
	xattrsWork(t, u)
	info := put(t, u, "a/b", "hello")
	if info.ETag != md5hex("hello") {
		t.Errorf("Put ETag = %q, want MD5 %q", info.ETag, md5hex("hello"))
	}
	st, err := u.Stat(t.Context(), "a/b")
	if err != nil || st.ETag != info.ETag || !st.ModTime.Equal(info.ModTime) {
		t.Errorf("Stat = %+v, %v; want Put's %+v", st, err, info)
	}
	cp, err := u.Copy(t.Context(), "a/b", "c")
	if err != nil || cp.ETag != info.ETag {
		t.Errorf("Copy = %+v, %v; want the source's ETag %q", cp, err, info.ETag)
	}
	if info := put(t, u, "e", ""); info.ETag != emptyMD5 {
		t.Errorf("ETag of an empty Put = %q, want %q", info.ETag, emptyMD5)
	}
}

// TestExternalWritesChangeETag covers files that Hoard did not write, and
// files rewritten in place after Hoard wrote them.
func TestExternalWritesChangeETag(t *testing.T) {
	u := newFS(t)
	path := filepath.Join(u.dir, "ext")
	if err := os.WriteFile(path, []byte("aaaa"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, err := u.Stat(t.Context(), "ext")
	if err != nil || first.Size != 4 || !strings.Contains(first.ETag, "-") {
		t.Fatalf("Stat of an external file = %+v, %v; want a derived ETag", first, err)
	}
	again, _ := u.Stat(t.Context(), "ext")
	if again.ETag != first.ETag {
		t.Errorf("derived ETag not stable: %q then %q", first.ETag, again.ETag)
	}
	rewrite := func(content string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	rewrite("bbbb", time.Now().Add(time.Second)) // same size, same inode
	second, _ := u.Stat(t.Context(), "ext")
	if second.ETag == first.ETag {
		t.Errorf("ETag %q unchanged after an in-place rewrite", first.ETag)
	}

	put(t, u, "ext", "cccc") // now Hoard's, with an MD5 if xattrs work
	rewrite("dddd", time.Now().Add(2*time.Second))
	third, _ := u.Stat(t.Context(), "ext")
	if third.ETag == md5hex("cccc") {
		t.Errorf("stale MD5 %q kept after an in-place rewrite", third.ETag)
	}
}
