package store

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func names(t *testing.T, s *Store, dir uint64) []string {
	t.Helper()
	var out []string
	for de, err := range s.ReadDir(bg, dir, "") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, de.Name)
	}
	return out
}

func TestMkdirLookupReadDir(t *testing.T) {
	e := newEnv(t)
	d, err := e.s.Mkdir(bg, RootIno, "dir", 0o750, Cred{Uid: 1000, Gid: 1000, Owner: "alice", Group: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != TypeDir || d.Mode != 0o750 || d.Owner != "alice" || d.Nlink != 2 {
		t.Fatalf("mkdir attrs: %+v", d)
	}
	for _, n := range []string{"b", "a", "c-1", "c"} {
		e.writeFile(d.Ino, n, []byte(n))
	}
	if _, err := e.s.Mkdir(bg, d.Ino, "sub", 0o755, Cred{}); err != nil {
		t.Fatal(err)
	}
	got := names(t, e.s, d.Ino)
	if want := []string{"a", "b", "c", "c-1", "sub"}; !slices.Equal(got, want) {
		t.Fatalf("readdir = %v, want %v", got, want)
	}
	// Resuming after a name.
	var rest []string
	for de, err := range e.s.ReadDir(bg, d.Ino, "c") {
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, de.Name)
	}
	if want := []string{"c-1", "sub"}; !slices.Equal(rest, want) {
		t.Fatalf("readdir after c = %v, want %v", rest, want)
	}
	n, err := e.s.Lookup(bg, d.Ino, "b")
	if err != nil || n.Size != 1 {
		t.Fatalf("lookup b: %+v %v", n, err)
	}
	r, err := e.s.Resolve(bg, "/dir/sub")
	if err != nil || r.Type != TypeDir {
		t.Fatalf("resolve: %+v %v", r, err)
	}
	root, _ := e.s.GetAttr(bg, RootIno)
	if root.Nlink != 3 {
		t.Fatalf("root nlink = %d, want 3", root.Nlink)
	}
	_, err = e.s.Lookup(bg, d.Ino, "missing")
	wantErr(t, err, ErrNotExist)
	_, err = e.s.Mkdir(bg, d.Ino, "a", 0o755, Cred{})
	wantErr(t, err, ErrExist)
	_, err = e.s.Lookup(bg, n.Ino, "x")
	wantErr(t, err, ErrNotDir)
}

func TestBadNames(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("x", 256)
	cases := []struct {
		name string
		want error
	}{
		{"", ErrInvalid}, {".", ErrInvalid}, {"..", ErrInvalid},
		{"a/b", ErrInvalid}, {"a\x00b", ErrInvalid}, {long, ErrNameTooLong},
	}
	for _, c := range cases {
		_, err := e.s.Mkdir(bg, RootIno, c.name, 0o755, Cred{})
		wantErr(t, err, c.want)
		_, _, err = e.s.Create(bg, RootIno, c.name, 0o644, Cred{}, os.O_RDWR)
		wantErr(t, err, c.want)
		if c.name != "" && c.name != "a/b" { // as paths, these are other (valid) paths
			_, err = e.s.PutObject(bg, "/b/"+c.name, strings.NewReader("x"), PutOptions{Size: -1})
			wantErr(t, err, c.want)
		}
	}
	for _, p := range []string{"/../etc/passwd", "/a/../../x", "relative", "/a//b", "/a/./b"} {
		_, err := e.s.PutObject(bg, p, strings.NewReader("x"), PutOptions{Size: -1})
		wantErr(t, err, ErrInvalid)
		_, err = e.s.Resolve(bg, p)
		wantErr(t, err, ErrInvalid)
	}
	if got := names(t, e.s, RootIno); len(got) != 0 {
		t.Fatalf("bad input changed the namespace: %v", got)
	}
	ok := strings.Repeat("y", 255)
	if _, err := e.s.Mkdir(bg, RootIno, ok, 0o755, Cred{}); err != nil {
		t.Fatalf("255-byte name: %v", err)
	}
}

func TestUnlinkRmdir(t *testing.T) {
	e := newEnv(t)
	d, _ := e.s.Mkdir(bg, RootIno, "d", 0o755, Cred{})
	e.writeFile(d.Ino, "f", []byte("hello"))
	wantErr(t, e.s.Rmdir(bg, RootIno, "d"), ErrNotEmpty)
	wantErr(t, e.s.Unlink(bg, RootIno, "d"), ErrIsDir)
	wantErr(t, e.s.Rmdir(bg, d.Ino, "f"), ErrNotDir)
	wantErr(t, e.s.Unlink(bg, d.Ino, "nope"), ErrNotExist)
	if err := e.s.Unlink(bg, d.Ino, "f"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Rmdir(bg, RootIno, "d"); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.GetAttr(bg, d.Ino)
	wantErr(t, err, ErrStale)
}

func TestOpenUnlinkedFileStaysReadable(t *testing.T) {
	e := newEnv(t)
	n := e.writeFile(RootIno, "f", []byte("still here"))
	h, err := e.s.Open(bg, n.Ino, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Unlink(bg, RootIno, "f"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := h.Read(bg, buf, 0); err != nil || string(buf) != "still here" {
		t.Fatalf("read after unlink: %q %v", buf, err)
	}
	if _, err := h.Write(bg, []byte("S"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted() // the persist workers may hold it open a moment longer
	_, err = e.s.GetAttr(bg, n.Ino)
	wantErr(t, err, ErrStale)
	if _, err := e.ufsBytes("f"); !os.IsNotExist(err) {
		t.Fatalf("unlinked file still in UFS: %v", err)
	}
}

func TestRenameSemantics(t *testing.T) {
	e := newEnv(t)
	a := e.writeFile(RootIno, "a", []byte("A"))
	b := e.writeFile(RootIno, "b", []byte("B"))
	d, _ := e.s.Mkdir(bg, RootIno, "d", 0o755, Cred{})
	e.writeFile(d.Ino, "inner", []byte("I"))
	empty, _ := e.s.Mkdir(bg, RootIno, "empty", 0o755, Cred{})

	// Over an existing file: atomic replace.
	if err := e.s.Rename(bg, RootIno, "a", RootIno, "b", 0); err != nil {
		t.Fatal(err)
	}
	n, err := e.s.Lookup(bg, RootIno, "b")
	if err != nil || n.Ino != a.Ino {
		t.Fatalf("b is %+v (%v), want inode %d", n, err, a.Ino)
	}
	mustEqual(t, e.readPath("/b"), []byte("A"))
	e.waitPersisted() // a persist worker may hold the replaced file open
	if _, err := e.s.GetAttr(bg, b.Ino); err == nil {
		t.Fatal("replaced inode still exists")
	}

	// Errors.
	wantErr(t, e.s.Rename(bg, RootIno, "empty", RootIno, "d", 0), ErrNotEmpty)
	wantErr(t, e.s.Rename(bg, RootIno, "b", RootIno, "empty", 0), ErrIsDir)
	wantErr(t, e.s.Rename(bg, RootIno, "d", RootIno, "b", 0), ErrNotDir)
	wantErr(t, e.s.Rename(bg, RootIno, "d", d.Ino, "x", 0), ErrInvalid)
	wantErr(t, e.s.Rename(bg, RootIno, "nope", RootIno, "x", 0), ErrNotExist)
	e.writeFile(RootIno, "c", []byte("C"))
	wantErr(t, e.s.Rename(bg, RootIno, "b", RootIno, "c", RenameNoReplace), ErrExist)

	// Directory over an empty directory; then exchange.
	if err := e.s.Rename(bg, RootIno, "d", RootIno, "empty", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.GetAttr(bg, empty.Ino); err == nil {
		t.Fatal("replaced directory still exists")
	}
	mustEqual(t, e.readPath("/empty/inner"), []byte("I"))
	if err := e.s.Rename(bg, RootIno, "b", RootIno, "c", RenameExchange); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, e.readPath("/b"), []byte("C"))
	mustEqual(t, e.readPath("/c"), []byte("A"))
	if got := names(t, e.s, RootIno); !slices.Equal(got, []string{"b", "c", "empty"}) {
		t.Fatalf("root = %v", got)
	}

	// The UFS follows: old keys gone, new ones present.
	e.waitPersisted()
	for key, want := range map[string]string{"b": "C", "c": "A", "empty/inner": "I"} {
		got, err := e.ufsBytes(key)
		if err != nil || string(got) != want {
			t.Fatalf("UFS %s = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"a", "d/inner", "d"} {
		if _, err := e.ufsBytes(key); !os.IsNotExist(err) {
			t.Fatalf("UFS still has %s (%v)", key, err)
		}
	}
}

func TestSymlinkAndHardLink(t *testing.T) {
	e := newEnv(t)
	f := e.writeFile(RootIno, "f", []byte("data"))
	l, err := e.s.Symlink(bg, RootIno, "l", "f", Cred{})
	if err != nil {
		t.Fatal(err)
	}
	if target, err := e.s.Readlink(bg, l.Ino); err != nil || target != "f" {
		t.Fatalf("readlink = %q %v", target, err)
	}
	_, err = e.s.Readlink(bg, f.Ino)
	wantErr(t, err, ErrInvalid)
	d, _ := e.s.Mkdir(bg, RootIno, "d", 0o755, Cred{})
	h, err := e.s.Link(bg, f.Ino, d.Ino, "hard")
	if err != nil {
		t.Fatal(err)
	}
	if h.Nlink != 2 || h.Ino != f.Ino {
		t.Fatalf("link: %+v", h)
	}
	_, err = e.s.Link(bg, d.Ino, RootIno, "dirlink")
	wantErr(t, err, ErrPerm)
	e.waitPersisted()
	for _, k := range []string{"f", "d/hard"} {
		if b, err := e.ufsBytes(k); err != nil || string(b) != "data" {
			t.Fatalf("UFS %s = %q %v", k, b, err)
		}
	}
	if err := e.s.Unlink(bg, RootIno, "f"); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, e.readPath("/d/hard"), []byte("data"))
	n, _ := e.s.GetAttr(bg, f.Ino)
	if n.Nlink != 1 {
		t.Fatalf("nlink after unlink = %d", n.Nlink)
	}
	if p, err := e.s.PathOf(f.Ino); err != nil || p != "/d/hard" {
		t.Fatalf("path of remaining link = %q %v", p, err)
	}
}

func TestSetAttrAndXattr(t *testing.T) {
	e := newEnv(t)
	f := e.writeFile(RootIno, "f", []byte("0123456789"))
	mode := uint32(0o4755)
	uid, gid := uint32(1234), uint32(5678)
	mt := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	n, err := e.s.SetAttr(bg, f.Ino, SetAttrIn{Mode: &mode, Uid: &uid, Gid: &gid, Mtime: &mt})
	if err != nil {
		t.Fatal(err)
	}
	if n.Mode != 0o4755 || n.Uid != 1234 || n.Gid != 5678 || n.Mtime != mt.UnixNano() {
		t.Fatalf("setattr: %+v", n)
	}
	if err := e.s.SetXattr(bg, f.Ino, "user.k", []byte("v"), XattrCreate); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.s.SetXattr(bg, f.Ino, "user.k", []byte("v2"), XattrCreate), ErrExist)
	wantErr(t, e.s.SetXattr(bg, f.Ino, "user.other", []byte("v2"), XattrReplace), ErrNoAttr)
	if v, err := e.s.GetXattr(bg, f.Ino, "user.k"); err != nil || string(v) != "v" {
		t.Fatalf("getxattr = %q %v", v, err)
	}
	if l, _ := e.s.ListXattr(bg, f.Ino); !slices.Equal(l, []string{"user.k"}) {
		t.Fatalf("listxattr = %v", l)
	}
	if err := e.s.RemoveXattr(bg, f.Ino, "user.k"); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.GetXattr(bg, f.Ino, "user.k")
	wantErr(t, err, ErrNoAttr)
	wantErr(t, e.s.RemoveXattr(bg, f.Ino, "user.k"), ErrNoAttr)
}

func TestChangeFeed(t *testing.T) {
	e := newEnv(t)
	sub := e.s.Subscribe()
	defer sub.Close()
	ctx := WithOrigin(bg, "s3")
	n, err := e.s.PutObject(ctx, "/f", strings.NewReader("x"), PutOptions{Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	n2, err := e.s.PutObject(ctx, "/f", strings.NewReader("y"), PutOptions{Size: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Unlink(ctx, RootIno, "f"); err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Kind: Created, Ino: n.Ino, Parent: RootIno, Name: "f", Origin: "s3"},
		// A put over a file replaces it, as a rename over it does.
		{Kind: Removed, Ino: n.Ino, Parent: RootIno, Name: "f", Origin: "s3"},
		{Kind: Created, Ino: n2.Ino, Parent: RootIno, Name: "f", Origin: "s3"},
		{Kind: Removed, Ino: n2.Ino, Parent: RootIno, Name: "f", Origin: "s3"},
	}
	for _, w := range want {
		for {
			select {
			case ev := <-sub.C:
				if ev.Origin == "persist" {
					continue
				}
				if ev != w {
					t.Fatalf("event %+v, want %+v", ev, w)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no event; want %+v", w)
			}
			break
		}
	}
}
