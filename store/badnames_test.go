package store

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// nsSnapshot is everything a bad request must leave as it was: each
// directory's listing (names, inodes, types), each inode's link count,
// times and xattrs, the persist queue and what the UFS holds.
func nsSnapshot(t *testing.T, e *env, dirs ...uint64) string {
	t.Helper()
	var b strings.Builder
	for _, d := range dirs {
		dn, err := e.s.GetAttr(bg, d)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "dir %d nlink=%d mtime=%d ctime=%d\n", d, dn.Nlink, dn.Mtime, dn.Ctime)
		for de, err := range e.s.ReadDir(bg, d, "") {
			if err != nil {
				t.Fatal(err)
			}
			n, err := e.s.GetAttr(bg, de.Ino)
			if err != nil {
				t.Fatal(err)
			}
			x, _ := e.s.ListXattr(bg, de.Ino)
			fmt.Fprintf(&b, "  %q ino=%d type=%v nlink=%d size=%d ctime=%d xattrs=%q\n",
				de.Name, de.Ino, de.Type, n.Nlink, n.Size, n.Ctime, x)
		}
	}
	fmt.Fprintf(&b, "queue %d\n", e.s.Queue().Depth)
	ents, err := os.ReadDir(e.ufsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		fmt.Fprintf(&b, "ufs %s\n", de.Name())
	}
	return b.String()
}

// TestBadNamesEveryOperation: every operation that takes a name refuses
// the names no directory entry may have, with the error that says why,
// and changes nothing. The names are chosen so that a check that is
// missing would hit something: "a/b" is a real path, "a\x00b" is "a" to C.
func TestBadNamesEveryOperation(t *testing.T) {
	e := newEnv(t)
	a, err := e.s.Mkdir(bg, RootIno, "a", 0o755, Cred{})
	if err != nil {
		t.Fatal(err)
	}
	e.writeFile(a.Ino, "b", []byte("inner"))
	if _, err := e.s.Mkdir(bg, a.Ino, "sub", 0o755, Cred{}); err != nil {
		t.Fatal(err)
	}
	f := e.writeFile(RootIno, "f", []byte("file"))
	if _, err := e.s.Symlink(bg, RootIno, "l", "f", Cred{}); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted()
	before := nsSnapshot(t, e, RootIno, a.Ino)

	long := strings.Repeat("x", MaxNameLen+1)
	cases := []struct {
		label, name string
		want        error
	}{
		{"empty", "", ErrInvalid},
		{"dot", ".", ErrInvalid},
		{"dotdot", "..", ErrInvalid},
		{"slash", "a/b", ErrInvalid},
		{"trailing slash", "f/", ErrInvalid},
		{"NUL", "a\x00b", ErrInvalid},
		{"NUL at end", "f\x00", ErrInvalid},
		{"256 bytes", long, ErrNameTooLong},
	}
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			check := func(op string, err error) {
				t.Helper()
				if !errNameIs(err, c.want) {
					t.Errorf("%s(%q): %v, want %v", op, c.name, err, c.want)
				}
			}
			for _, flags := range []int{0, RenameNoReplace, RenameExchange} {
				check(fmt.Sprintf("rename from (flags %d)", flags), e.s.Rename(bg, RootIno, c.name, RootIno, "new", flags))
				check(fmt.Sprintf("rename to (flags %d)", flags), e.s.Rename(bg, RootIno, "f", RootIno, c.name, flags))
				check(fmt.Sprintf("rename into dir (flags %d)", flags), e.s.Rename(bg, RootIno, "f", a.Ino, c.name, flags))
			}
			_, err := e.s.Link(bg, f.Ino, RootIno, c.name)
			check("link", err)
			_, err = e.s.Link(bg, f.Ino, a.Ino, c.name)
			check("link into dir", err)
			_, err = e.s.Symlink(bg, RootIno, c.name, "f", Cred{})
			check("symlink", err)
			_, err = e.s.Lookup(bg, RootIno, c.name)
			check("lookup", err)
			check("unlink", e.s.Unlink(bg, RootIno, c.name))
			check("rmdir", e.s.Rmdir(bg, RootIno, c.name))
			_, err = e.s.Mkdir(bg, a.Ino, c.name, 0o755, Cred{})
			check("mkdir in dir", err)
			_, _, err = e.s.Create(bg, a.Ino, c.name, 0o644, Cred{}, os.O_RDWR) // without O_EXCL: may open
			check("create", err)
		})
	}
	if after := nsSnapshot(t, e, RootIno, a.Ino); after != before {
		t.Fatalf("bad names changed the namespace:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	mustEqual(t, e.readPath("/a/b"), []byte("inner"))
	mustEqual(t, e.readPath("/f"), []byte("file"))

	// The longest name is fine everywhere.
	ok := strings.Repeat("y", MaxNameLen)
	if err := e.s.Rename(bg, RootIno, "f", RootIno, ok, 0); err != nil {
		t.Fatalf("rename to a %d-byte name: %v", MaxNameLen, err)
	}
	if _, err := e.s.Link(bg, f.Ino, a.Ino, ok); err != nil {
		t.Fatalf("link as a %d-byte name: %v", MaxNameLen, err)
	}
	if _, err := e.s.Symlink(bg, RootIno, ok, "f", Cred{}); !errNameIs(err, ErrExist) {
		t.Fatalf("symlink over an existing %d-byte name: %v, want EEXIST", MaxNameLen, err)
	}
	if n, err := e.s.Lookup(bg, a.Ino, ok); err != nil || n.Ino != f.Ino || n.Nlink != 2 {
		t.Fatalf("lookup of a %d-byte name: %+v %v", MaxNameLen, n, err)
	}
	if err := e.s.Unlink(bg, a.Ino, ok); err != nil {
		t.Fatal(err)
	}
}

// errNameIs reports whether err carries the errno want.
func errNameIs(err, want error) bool { return errors.Is(err, want) }

// TestSymlinkTargetValidation: a target the kernel could never hand back
// whole (empty, with a NUL, longer than PATH_MAX) is refused with EINVAL
// and creates nothing.
func TestSymlinkTargetValidation(t *testing.T) {
	e := newEnv(t)
	e.writeFile(RootIno, "f", []byte("x"))
	e.waitPersisted() // the upload must not land between the snapshots
	before := nsSnapshot(t, e, RootIno)
	for _, target := range []string{"", "f\x00", "\x00", "a\x00/etc/passwd", strings.Repeat("t", 4096)} {
		_, err := e.s.Symlink(bg, RootIno, "l", target, Cred{})
		wantErr(t, err, ErrInvalid)
	}
	if after := nsSnapshot(t, e, RootIno); after != before {
		t.Fatalf("refused symlinks changed the namespace:\n%s\n%s", before, after)
	}
	// The longest target is kept byte for byte.
	long := strings.Repeat("t/", 2047) + "x"
	l, err := e.s.Symlink(bg, RootIno, "l", long, Cred{})
	if err != nil {
		t.Fatalf("symlink to a %d-byte target: %v", len(long), err)
	}
	if got, err := e.s.Readlink(bg, l.Ino); err != nil || got != long || l.Size != int64(len(long)) {
		t.Fatalf("readlink: %d bytes, %v; size %d", len(got), err, l.Size)
	}
	if got := names(t, e.s, RootIno); !slices.Equal(got, []string{"f", "l"}) {
		t.Fatalf("root = %v", got)
	}
}

// TestXattrBadNames: xattr names that are empty or longer than
// XATTR_NAME_MAX are ERANGE, and set nothing.
func TestXattrBadNames(t *testing.T) {
	e := newEnv(t)
	f := e.writeFile(RootIno, "f", []byte("x"))
	e.waitPersisted()
	before := nsSnapshot(t, e, RootIno)
	for _, name := range []string{"", "user." + strings.Repeat("k", 251)} {
		wantErr(t, e.s.SetXattr(bg, f.Ino, name, []byte("v"), 0), ErrRange)
		wantErr(t, e.s.SetXattr(bg, f.Ino, name, []byte("v"), XattrCreate), ErrRange)
	}
	wantErr(t, e.s.SetXattr(bg, f.Ino, "user.big", make([]byte, 64<<10+1), 0), ErrTooBig)
	if after := nsSnapshot(t, e, RootIno); after != before {
		t.Fatalf("refused xattrs changed the file:\n%s\n%s", before, after)
	}
	ok := "user." + strings.Repeat("k", 250) // 255 bytes
	if err := e.s.SetXattr(bg, f.Ino, ok, make([]byte, 64<<10), 0); err != nil {
		t.Fatalf("255-byte name, 64 KiB value: %v", err)
	}
	if l, _ := e.s.ListXattr(bg, f.Ino); !slices.Equal(l, []string{ok}) {
		t.Fatalf("listxattr = %q", l)
	}
}
