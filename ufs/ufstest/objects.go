package ufstest

import (
	"bytes"
	"io"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

func testNotExist(t *testing.T, u ufs.UFS) {
	put(t, u, "dir/file", []byte("x"))
	// "dir" is a prefix, not an object; "dir/file/" is no marker of a file.
	for _, key := range []string{"missing", "missing/", "dir/missing", "dir", "dir/file/"} {
		_, err := u.Stat(t.Context(), key)
		wantNotExist(t, "Stat("+key+")", err, key)
	}
	for _, key := range []string{"missing", "dir/missing", "dir"} {
		rc, err := u.ReadRange(t.Context(), key, 0, -1)
		if err == nil {
			rc.Close()
		}
		wantNotExist(t, "ReadRange("+key+")", err, key)
	}
	_, err := u.Copy(t.Context(), "missing", "dst")
	wantNotExist(t, "Copy(missing, dst)", err, "missing")
	wantAbsent(t, u, "dst")
}

func testDelete(t *testing.T, u ufs.UFS) {
	for _, k := range []string{"a", "b", "c", "sub/d"} {
		put(t, u, k, []byte(k))
	}
	if err := u.Delete(t.Context(), "a", "sub/d", "missing", "missing/deep/key"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantAbsent(t, u, "a")
	wantAbsent(t, u, "sub/d")
	wantContent(t, u, "b", []byte("b"))
	if err := u.Delete(t.Context(), "a"); err != nil {
		t.Errorf("Delete of a deleted key: %v", err)
	}
	if err := u.Delete(t.Context()); err != nil {
		t.Errorf("Delete of no keys: %v", err)
	}
	if err := u.Delete(t.Context(), "b", "c"); err != nil {
		t.Fatalf("Delete(b, c): %v", err)
	}
	wantAbsent(t, u, "b")
	wantAbsent(t, u, "c")
}

func testDirMarker(t *testing.T, u ufs.UFS) {
	info, err := u.Put(t.Context(), "d/", bytes.NewReader(nil), 0)
	if err != nil {
		t.Fatalf("Put(d/): %v", err)
	}
	checkInfo(t, "Put(d/)", info, "d/", 0)
	checkInfo(t, "Stat(d/)", stat(t, u, "d/"), "d/", 0)
	wantAbsent(t, u, "d")
	if got := read(t, u, "d/", 0, -1); len(got) != 0 {
		t.Errorf("ReadRange(d/) = %d bytes, want none", len(got))
	}
	if _, err := u.Put(t.Context(), "d/", onlyReader{bytes.NewReader(nil)}, -1); err != nil {
		t.Errorf("Put(d/) again, size unknown: %v", err)
	}

	wantList(t, u, ufs.ListOptions{Delimiter: "/"}, nil, []string{"d/"})
	wantList(t, u, ufs.ListOptions{}, []string{"d/"}, nil)
	wantList(t, u, ufs.ListOptions{Prefix: "d/", Delimiter: "/"}, []string{"d/"}, nil)
	wantList(t, u, ufs.ListOptions{Prefix: "d", Delimiter: "/"}, nil, []string{"d/"})

	if err := u.Delete(t.Context(), "d/"); err != nil {
		t.Fatalf("Delete(d/): %v", err)
	}
	wantAbsent(t, u, "d/")
	wantList(t, u, ufs.ListOptions{}, nil, nil)
}

func testDeleteMarkerKeepsChildren(t *testing.T, u ufs.UFS) {
	put(t, u, "k/", nil)
	put(t, u, "k/child", []byte("c"))
	if err := u.Delete(t.Context(), "k/"); err != nil {
		t.Fatalf("Delete(k/): %v", err)
	}
	wantContent(t, u, "k/child", []byte("c"))
	_, err := u.Stat(t.Context(), "k/")
	if u.Capabilities().ImplicitDirs {
		if err != nil {
			t.Errorf("ImplicitDirs: Stat(k/) after deleting the marker of a non-empty directory: %v", err)
		}
	} else {
		wantNotExist(t, "Stat(k/) after Delete(k/)", err, "k/")
	}
}

func testImplicitDirs(t *testing.T, u ufs.UFS) {
	put(t, u, "x/y/z", []byte("z"))
	implicit := u.Capabilities().ImplicitDirs
	for _, dir := range []string{"x/", "x/y/"} {
		_, err := u.Stat(t.Context(), dir)
		if implicit && err != nil {
			t.Errorf("ImplicitDirs: Stat(%s): %v", dir, err)
		}
		if !implicit {
			wantNotExist(t, "no ImplicitDirs: Stat("+dir+")", err, dir)
		}
	}
	if implicit {
		wantList(t, u, ufs.ListOptions{}, []string{"x/", "x/y/", "x/y/z"}, nil)
	} else {
		wantList(t, u, ufs.ListOptions{}, []string{"x/y/z"}, nil)
	}
	wantList(t, u, ufs.ListOptions{Delimiter: "/"}, nil, []string{"x/"})
	wantList(t, u, ufs.ListOptions{Prefix: "x/", Delimiter: "/"}, keysIf(implicit, "x/"), []string{"x/y/"})
}

// keysIf returns keys when cond holds, else none.
func keysIf(cond bool, keys ...string) []string {
	if cond {
		return keys
	}
	return nil
}

func testCopy(t *testing.T, u ufs.UFS) {
	data := payload(100<<10, 1)
	src := put(t, u, "src", data)
	info, err := u.Copy(t.Context(), "src", "dst/nested/copy")
	if err != nil {
		t.Fatalf("Copy: %v", err)
	}
	checkInfo(t, "Copy", info, "dst/nested/copy", int64(len(data)))
	wantContent(t, u, "dst/nested/copy", data)
	wantContent(t, u, "src", data)
	if st := stat(t, u, "src"); st.ETag != src.ETag {
		t.Errorf("Copy changed the source's ETag from %q to %q", src.ETag, st.ETag)
	}
	if st := stat(t, u, "dst/nested/copy"); st.ETag != info.ETag {
		t.Errorf("Stat ETag %q of the copy differs from Copy's %q", st.ETag, info.ETag)
	}

	put(t, u, "other", payload(10, 2))
	if _, err := u.Copy(t.Context(), "src", "other"); err != nil {
		t.Fatalf("Copy onto an existing key: %v", err)
	}
	wantContent(t, u, "other", data)

	put(t, u, "empty", nil)
	if _, err := u.Copy(t.Context(), "empty", "empty2"); err != nil {
		t.Fatalf("Copy of an empty object: %v", err)
	}
	wantContent(t, u, "empty2", nil)
}

func testSpecialKeys(t *testing.T, u ufs.UFS) {
	keys := []string{
		"with space.txt", "plus+sign", "percent%25", "unicode-日本語.txt",
		"equals=and&amp", "tilde~", "quote'single", "paren(1)", "comma,semi;colon:",
		"dir with space/file", "star*", "dollar$", "at@", "question?mark", "hash#tag",
		"bracket[1]", "caret^", "-leading-dash", ".leading-dot", "_underscore",
	}
	m := newModel(u.Capabilities().ImplicitDirs)
	for i, k := range keys {
		data := payload(i, uint64(i))
		m.add(k, put(t, u, k, data))
		wantContent(t, u, k, data)
	}
	checkListing(t, u, m, ufs.ListOptions{})
	checkListing(t, u, m, ufs.ListOptions{Delimiter: "/"})
	checkListing(t, u, m, ufs.ListOptions{Prefix: "dir with space/", Delimiter: "/"})
	if err := u.Delete(t.Context(), keys...); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, k := range keys {
		wantAbsent(t, u, k)
	}
}

func testStringAndCapabilities(t *testing.T, u ufs.UFS) {
	if u.String() == "" {
		t.Errorf("String() is empty")
	}
	_ = u.Capabilities()
	var _ io.Closer = u
}
