package store

import (
	"os"
	"testing"
	"time"
)

// feedExpect reads sub until it has seen want, in order, skipping only the
// persist workers' Uploaded events; any other event in between fails.
func feedExpect(t *testing.T, sub *Subscription, want ...Event) {
	t.Helper()
	for _, w := range want {
		for {
			select {
			case ev := <-sub.C:
				if ev.Origin == "persist" && ev.Kind == Uploaded {
					continue
				}
				if ev != w {
					t.Fatalf("event %+v (%v), want %+v (%v)", ev, ev.Kind, w, w.Kind)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no event; want %+v (%v)", w, w.Kind)
			}
			break
		}
	}
}

// TestChangeFeedChangesAndRenames covers the events TestChangeFeed does
// not: Changed for a write commit, a truncate, setattr, a hard link and
// xattrs, the events of a rename (plain, over a file, exchange), and that a
// change that changes nothing publishes nothing.
func TestChangeFeedChangesAndRenames(t *testing.T) {
	e := newEnv(t)
	d, err := e.s.Mkdir(bg, RootIno, "d", 0o755, Cred{})
	if err != nil {
		t.Fatal(err)
	}
	sub := e.s.Subscribe()
	defer sub.Close()
	ctx := WithOrigin(bg, "fuse")
	ch := func(ino uint64) Event { return Event{Kind: Changed, Ino: ino, Origin: "fuse"} }
	cr := func(ino, parent uint64, name string) Event {
		return Event{Kind: Created, Ino: ino, Parent: parent, Name: name, Origin: "fuse"}
	}
	rm := func(ino, parent uint64, name string) Event {
		return Event{Kind: Removed, Ino: ino, Parent: parent, Name: name, Origin: "fuse"}
	}

	// Create, write, commit: Created, then one Changed at the commit.
	f, h, err := e.s.Create(ctx, RootIno, "f", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write(ctx, []byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, cr(f.Ino, RootIno, "f"), ch(f.Ino))
	// A second write and the release commit again; a flush with nothing
	// new says nothing.
	if _, err := h.Write(ctx, []byte("!"), 5); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, ch(f.Ino))

	// Truncate (a commit) and setattr.
	size := int64(2)
	if _, err := e.s.SetAttr(ctx, f.Ino, SetAttrIn{Size: &size}); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, ch(f.Ino))
	mode := uint32(0o600)
	if _, err := e.s.SetAttr(ctx, f.Ino, SetAttrIn{Mode: &mode}); err != nil {
		t.Fatal(err)
	}
	mt := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	if _, err := e.s.SetAttr(ctx, f.Ino, SetAttrIn{Atime: &mt, Mtime: &mt}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetAttr(ctx, f.Ino, SetAttrIn{}); err != nil { // nothing to change
		t.Fatal(err)
	}
	feedExpect(t, sub, ch(f.Ino), ch(f.Ino))

	// A hard link: the new name, and the file's link count.
	if _, err := e.s.Link(ctx, f.Ino, d.Ino, "hard"); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, cr(f.Ino, d.Ino, "hard"), ch(f.Ino))

	// Xattrs.
	if err := e.s.SetXattr(ctx, f.Ino, "user.k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := e.s.RemoveXattr(ctx, f.Ino, "user.k"); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, ch(f.Ino), ch(f.Ino))

	// A rename within a directory, then across directories.
	if err := e.s.Rename(ctx, RootIno, "f", RootIno, "g", 0); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, rm(f.Ino, RootIno, "f"), cr(f.Ino, RootIno, "g"))
	if err := e.s.Rename(ctx, RootIno, "g", d.Ino, "g", 0); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, rm(f.Ino, RootIno, "g"), cr(f.Ino, d.Ino, "g"))

	// A rename over a file: the source's old name, the target's name for
	// the replaced inode, the source's new name.
	x := e.writeFile(RootIno, "x", []byte("x"))
	y := e.writeFile(RootIno, "y", []byte("y"))
	feedExpect(t, sub,
		Event{Kind: Created, Ino: x.Ino, Parent: RootIno, Name: "x"}, Event{Kind: Changed, Ino: x.Ino},
		Event{Kind: Created, Ino: y.Ino, Parent: RootIno, Name: "y"}, Event{Kind: Changed, Ino: y.Ino})
	if err := e.s.Rename(ctx, RootIno, "x", RootIno, "y", 0); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, rm(x.Ino, RootIno, "x"), rm(y.Ino, RootIno, "y"), cr(x.Ino, RootIno, "y"))

	// An exchange: both names go, both come back naming the other inode.
	if err := e.s.Rename(ctx, RootIno, "y", d.Ino, "hard", RenameExchange); err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub,
		rm(x.Ino, RootIno, "y"), rm(f.Ino, d.Ino, "hard"),
		cr(f.Ino, RootIno, "y"), cr(x.Ino, d.Ino, "hard"))

	// Renaming one link of a file onto another link of it does nothing,
	// and says nothing; the sentinel below proves no event came first.
	if err := e.s.Rename(ctx, RootIno, "y", d.Ino, "g", 0); err != nil {
		t.Fatal(err)
	}
	l, err := e.s.Symlink(ctx, RootIno, "sentinel", "y", Cred{})
	if err != nil {
		t.Fatal(err)
	}
	feedExpect(t, sub, cr(l.Ino, RootIno, "sentinel"))
}
