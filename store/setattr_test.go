package store

import (
	"os/user"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// TestSetAttrAtimeOwnerGroupCtime: atime is set alone, owner and group
// names are set apart from the ids (and follow an id set without a name),
// every change moves ctime and only ctime besides what was asked, a
// setattr with nothing in it changes nothing, and all of it survives a
// restart.
func TestSetAttrAtimeOwnerGroupCtime(t *testing.T) {
	e := newEnv(t)
	f := e.writeFile(RootIno, "f", []byte("0123456789"))
	d, err := e.s.Mkdir(bg, RootIno, "d", 0o755, Cred{})
	if err != nil {
		t.Fatal(err)
	}
	prev, err := e.s.GetAttr(bg, f.Ino)
	if err != nil {
		t.Fatal(err)
	}
	// set applies in and checks that ctime moved forward to about now and
	// that nothing but the fields keep lets through changed.
	set := func(ino uint64, in SetAttrIn, keep func(before, after *Inode)) *Inode {
		t.Helper()
		e.waitPersisted() // no upload may change the record meanwhile
		before, err := e.s.GetAttr(bg, ino)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a ctime that can only be new
		start := time.Now().UnixNano()
		n, err := e.s.SetAttr(bg, ino, in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.s.GetAttr(bg, ino)
		if err != nil {
			t.Fatal(err)
		}
		if n.Ctime != got.Ctime || n.Atime != got.Atime || n.Owner != got.Owner || n.Group != got.Group {
			t.Fatalf("setattr returned %+v, getattr says %+v", n, got)
		}
		if got.Ctime <= before.Ctime || got.Ctime < start {
			t.Fatalf("ctime %d after setattr %+v; was %d, call started at %d", got.Ctime, in, before.Ctime, start)
		}
		b, a := *before, *got
		keep(&b, &a)
		b.Ctime, a.Ctime = 0, 0
		if !reflect.DeepEqual(b, a) {
			t.Fatalf("setattr %+v changed more than asked:\nbefore %+v\nafter  %+v", in, b, a)
		}
		return got
	}

	at := time.Date(2019, 3, 4, 5, 6, 7, 890, time.UTC)
	n := set(f.Ino, SetAttrIn{Atime: &at}, func(b, a *Inode) { b.Atime = at.UnixNano() })
	if n.Atime != at.UnixNano() || n.Mtime != prev.Mtime {
		t.Fatalf("atime %d mtime %d, want %d and the old mtime %d", n.Atime, n.Mtime, at.UnixNano(), prev.Mtime)
	}

	owner, group := "alice", "staff"
	n = set(f.Ino, SetAttrIn{Owner: &owner, Group: &group}, func(b, a *Inode) { b.Owner, b.Group = owner, group })
	if n.Owner != "alice" || n.Group != "staff" || n.Uid != prev.Uid || n.Gid != prev.Gid {
		t.Fatalf("owner/group names: %+v", n)
	}
	// Only a group name.
	group2 := "wheel2"
	n = set(f.Ino, SetAttrIn{Group: &group2}, func(b, a *Inode) { b.Group = group2 })
	if n.Owner != "alice" || n.Group != "wheel2" {
		t.Fatalf("group name alone: %+v", n)
	}
	// An id with a name: the name given wins over the looked-up one.
	uid, gid := uint32(4242), uint32(4343)
	bob, eng := "bob", "eng"
	n = set(f.Ino, SetAttrIn{Uid: &uid, Gid: &gid, Owner: &bob, Group: &eng}, func(b, a *Inode) {
		b.Uid, b.Gid, b.Owner, b.Group = uid, gid, bob, eng
	})
	if n.Uid != 4242 || n.Gid != 4343 || n.Owner != "bob" || n.Group != "eng" {
		t.Fatalf("ids with names: %+v", n)
	}
	// An id alone: its name follows, looked up as the system has it.
	root := uint32(0)
	wantUser, wantGroup := "0", "0"
	if u, err := user.LookupId("0"); err == nil {
		wantUser = u.Username
	}
	if g, err := user.LookupGroupId("0"); err == nil {
		wantGroup = g.Name
	}
	n = set(f.Ino, SetAttrIn{Uid: &root, Gid: &root}, func(b, a *Inode) {
		b.Uid, b.Gid, b.Owner, b.Group = 0, 0, wantUser, wantGroup
	})
	if n.Owner != wantUser || n.Group != wantGroup {
		t.Fatalf("uid 0 alone: owner %q group %q, want %q %q", n.Owner, n.Group, wantUser, wantGroup)
	}
	odd := uint32(3999999)
	n = set(f.Ino, SetAttrIn{Uid: &odd}, func(b, a *Inode) { b.Uid, b.Owner = odd, lookupUser(odd) })
	if n.Owner != lookupUser(odd) {
		t.Fatalf("unknown uid: owner %q", n.Owner)
	}

	// Mode and mtime move ctime too; so does a truncate.
	mode := uint32(0o640)
	set(f.Ino, SetAttrIn{Mode: &mode}, func(b, a *Inode) { b.Mode = mode })
	mt := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	set(f.Ino, SetAttrIn{Mtime: &mt}, func(b, a *Inode) { b.Mtime = mt.UnixNano() })
	size := int64(4)
	set(f.Ino, SetAttrIn{Size: &size}, func(b, a *Inode) {
		// A truncate is a commit: a new size, version and mtime, and
		// a persist state on its way.
		b.Size, b.Mtime, b.Version, b.State, b.ETag, b.DataInUFS, b.UFS = a.Size, a.Mtime, a.Version, a.State, a.ETag, a.DataInUFS, a.UFS
	})

	// Atime, owner and group on a directory.
	dat := time.Date(2018, 1, 1, 0, 0, 0, 1, time.UTC)
	carol := "carol"
	set(d.Ino, SetAttrIn{Atime: &dat, Owner: &carol}, func(b, a *Inode) { b.Atime, b.Owner = dat.UnixNano(), carol })

	// Nothing asked, nothing changed: not even ctime.
	e.waitPersisted()
	before, _ := e.s.GetAttr(bg, f.Ino)
	time.Sleep(2 * time.Millisecond)
	if _, err := e.s.SetAttr(bg, f.Ino, SetAttrIn{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := e.s.GetAttr(bg, f.Ino); !reflect.DeepEqual(after, before) {
		t.Fatalf("empty setattr changed %+v into %+v", before, after)
	}

	e.waitPersisted()
	want, _ := e.s.GetAttr(bg, f.Ino)
	wantD, _ := e.s.GetAttr(bg, d.Ino)
	e.restart()
	got, err := e.s.GetAttr(bg, f.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart %+v, want %+v", got, want)
	}
	if gd, _ := e.s.GetAttr(bg, d.Ino); gd.Atime != dat.UnixNano() || gd.Owner != "carol" || !reflect.DeepEqual(gd, wantD) {
		t.Fatalf("dir after restart %+v", gd)
	}
	mustEqual(t, e.readAll(f.Ino), []byte("0123"))
}

func lookupUser(uid uint32) string {
	s := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(s); err == nil {
		return u.Username
	}
	return s
}
