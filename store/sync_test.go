package store

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// putUFS writes an object into the UFS directory behind the store's back.
func (e *env) putUFS(key string, data []byte) {
	e.t.Helper()
	p := filepath.Join(e.ufsDir, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func TestUFSObjectsAppear(t *testing.T) {
	e := newEnv(t)
	// Before the first listing of /pre: objects put behind Hoard's back.
	e.putUFS("pre/a.txt", []byte("alpha"))
	e.putUFS("pre/sub/b.txt", []byte("beta"))
	e.putUFS("pre/a-b", []byte("x")) // sorts between "a" things and "sub/"
	big := randBytes(11, 300_000)
	e.putUFS("pre/big", big)
	// The root was listed before these existed, and the interval is
	// "never": a forced sync brings them in.
	if err := e.s.SyncDir(bg, RootIno); err != nil {
		t.Fatal(err)
	}
	pre, err := e.s.Resolve(bg, "/pre")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, e.s, pre.Ino); !slices.Equal(got, []string{"a-b", "a.txt", "big", "sub"}) {
		t.Fatalf("listing = %v", got)
	}
	n, err := e.s.Resolve(bg, "/pre/sub/b.txt") // lookup in a never-listed dir
	if err != nil || n.Size != 4 || n.State != Persisted {
		t.Fatalf("b.txt: %+v %v", n, err)
	}
	mustEqual(t, e.readPath("/pre/sub/b.txt"), []byte("beta"))
	mustEqual(t, e.readPath("/pre/big"), big)
	if e.s.CacheStats().Used < int64(len(big)) {
		t.Fatalf("reading did not cache: %+v", e.s.CacheStats())
	}
}

func TestSyncPicksUpOutsideChanges(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SyncInterval = 0 }) // every access
	e.putUFS("d/keep", []byte("keep"))
	e.putUFS("d/change", []byte("old content"))
	e.putUFS("d/gone", []byte("gone"))
	d, err := e.s.Resolve(bg, "/d")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, e.s, d.Ino); !slices.Equal(got, []string{"change", "gone", "keep"}) {
		t.Fatalf("listing = %v", got)
	}
	mustEqual(t, e.readPath("/d/change"), []byte("old content")) // now cached
	before, err := e.s.Resolve(bg, "/d/change")
	if err != nil {
		t.Fatal(err)
	}
	local := e.writeFile(d.Ino, "local", []byte("mine")) // not in the UFS yet... or already
	sub := e.s.Subscribe()
	defer sub.Close()

	time.Sleep(10 * time.Millisecond) // a visible mtime change on coarse clocks
	e.putUFS("d/change", []byte("new content, longer"))
	e.putUFS("d/new", []byte("new"))
	os.Remove(filepath.Join(e.ufsDir, "d/gone"))

	got := names(t, e.s, d.Ino)
	if !slices.Equal(got, []string{"change", "keep", "local", "new"}) {
		t.Fatalf("after outside changes: %v", got)
	}
	mustEqual(t, e.readPath("/d/change"), []byte("new content, longer"))
	mustEqual(t, e.readPath("/d/local"), []byte("mine"))
	// The changed object is a new file in the old one's place, as a put
	// makes one: Removed for the old inode, Created for the new.
	after, err := e.s.Resolve(bg, "/d/change")
	if err != nil || after.Ino == before.Ino || after.Mode != before.Mode {
		t.Fatalf("changed object: %+v (%v), was inode %d", after, err, before.Ino)
	}
	want := map[Event]bool{
		{Kind: Removed, Ino: before.Ino, Parent: d.Ino, Name: "change", Origin: "sync"}: true,
		{Kind: Created, Ino: after.Ino, Parent: d.Ino, Name: "change", Origin: "sync"}:  true,
	}
	newIno, _ := e.s.Resolve(bg, "/d/new")
	want[Event{Kind: Created, Ino: newIno.Ino, Parent: d.Ino, Name: "new", Origin: "sync"}] = true
	for len(want) > 0 {
		select {
		case ev := <-sub.C:
			delete(want, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("sync events not seen: %v", want)
		}
	}
	if _, err := e.s.GetAttr(bg, before.Ino); err == nil {
		t.Error("the replaced inode outlived its last name with nobody holding it")
	}
	_ = local
}

func TestDeletedLocallyNotResurrected(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SyncInterval = 0 })
	e.putUFS("x", []byte("x"))
	if _, err := e.s.Resolve(bg, "/x"); err != nil {
		t.Fatal(err)
	}
	e.faults.SetDown(true) // the delete cannot reach the UFS yet
	if err := e.s.Unlink(bg, RootIno, "x"); err != nil {
		t.Fatal(err)
	}
	e.faults.SetDown(false)
	e.faults.FailNext(0)
	// The listing still shows x in the UFS, but its delete is queued.
	for range 3 {
		if got := names(t, e.s, RootIno); slices.Contains(got, "x") {
			t.Fatalf("deleted file came back: %v", got)
		}
	}
	e.waitPersisted()
	if _, err := e.ufsBytes("x"); !os.IsNotExist(err) {
		t.Fatalf("x still in UFS: %v", err)
	}
}

func TestObjectPutReplaceIsAtomicForOpenReaders(t *testing.T) {
	e := newEnv(t)
	n, err := e.s.PutObject(bg, "/b/k", strings.NewReader("version one"), PutOptions{Size: -1, ContentType: "text/plain", Meta: map[string]string{"x-amz-meta-a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := md5hex([]byte("version one")); n.ETag != want {
		t.Fatalf("etag %q, want the MD5 of the content %q", n.ETag, want)
	}
	h, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	buf := make([]byte, 64)
	k, _ := h.Read(bg, buf, 0)
	if string(buf[:k]) != "version one" {
		t.Fatalf("first read %q", buf[:k])
	}
	n2, err := e.s.PutObject(bg, "/b/k", strings.NewReader("version two!"), PutOptions{Size: 12})
	if err != nil {
		t.Fatal(err)
	}
	// A new object, as S3 and rename(2) have it: the open handle keeps the
	// version it opened, whole; the name reads the new one.
	if n2.Ino == n.Ino || n2.ETag != md5hex([]byte("version two!")) || n2.Meta != nil {
		t.Fatalf("replace: %+v", n2)
	}
	k, _ = h.Read(bg, buf, 0)
	if string(buf[:k]) != "version one" {
		t.Fatalf("open handle reads %q after replace", buf[:k])
	}
	mustEqual(t, e.readPath("/b/k"), []byte("version two!"))
	// A body that does not match its digest, or its length, changes nothing.
	_, err = e.s.PutObject(bg, "/b/k", strings.NewReader("evil"), PutOptions{Size: -1, MD5: bytes.Repeat([]byte{1}, 16)})
	wantErr(t, err, ErrBadDigest)
	_, err = e.s.PutObject(bg, "/b/k", strings.NewReader("short"), PutOptions{Size: 100})
	wantErr(t, err, ErrInvalid)
	mustEqual(t, e.readPath("/b/k"), []byte("version two!"))
	// A path through a file, or onto a directory, is refused.
	_, err = e.s.PutObject(bg, "/b/k/x", strings.NewReader("x"), PutOptions{Size: -1})
	wantErr(t, err, ErrNotDir)
	_, err = e.s.PutObject(bg, "/b", strings.NewReader("x"), PutOptions{Size: -1})
	wantErr(t, err, ErrIsDir)
	if err := e.s.Remove(bg, "/b/k"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Remove(bg, "/b"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, e.s, RootIno); len(got) != 0 {
		t.Fatalf("root = %v", got)
	}
}
