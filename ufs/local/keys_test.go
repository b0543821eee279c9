package local

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

var badKeys = []string{
	"", "/", "/a", "a//b", "a/../b", "..", "../a", "./a", "a/.", "a/./b",
	"a\x00b", ".hoard-tmp", ".hoard-tmp/", ".hoard-tmp/x", "a//",
}

func TestKeyProblem(t *testing.T) {
	for _, k := range badKeys {
		if keyProblem(k) == "" {
			t.Errorf("keyProblem(%q) = ok, want a reason", k)
		}
	}
	for _, k := range []string{"a", "a/", "a/b/c.txt", "a/b/", ".hidden", "a/.hoard-tmp", "..a", "a..", "...", "x y/é"} {
		if why := keyProblem(k); why != "" {
			t.Errorf("keyProblem(%q) = %q, want ok", k, why)
		}
	}
}

// TestBadKeysRejected checks that every method refuses bad keys with an
// ErrInvalidKey that names the key, and changes nothing.
func TestBadKeysRejected(t *testing.T) {
	u := newFS(t)
	ctx := t.Context()
	put(t, u, "good", "x")
	for _, k := range badKeys {
		check := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), strings.ReplaceAll(k, "\x00", `\x00`)) {
				t.Errorf("%s(%q): %v; want ErrInvalidKey naming the key", op, k, err)
			}
		}
		_, err := u.Stat(ctx, k)
		check("Stat", err)
		_, err = u.ReadRange(ctx, k, 0, -1)
		check("ReadRange", err)
		_, err = u.Put(ctx, k, bytes.NewReader(nil), 0)
		check("Put", err)
		_, err = u.Copy(ctx, "good", k)
		check("Copy to", err)
		_, err = u.Copy(ctx, k, "good2")
		check("Copy from", err)
		check("Delete", u.Delete(ctx, "good", k))
	}
	if _, err := u.Stat(ctx, "good"); err != nil {
		t.Errorf("a Delete with one bad key removed the good one: %v", err)
	}
	if _, err := u.Stat(ctx, "good2"); !ufs.IsNotExist(err) {
		t.Errorf("Copy from a bad key created its destination: %v", err)
	}
}

func TestBadPrefixListsNothing(t *testing.T) {
	u := newFS(t)
	put(t, u, "a/b", "x")
	for _, p := range []string{"../", "a//", "/a/", ".hoard-tmp/", "a/../a/"} {
		page, err := u.List(t.Context(), ufs.ListOptions{Prefix: p})
		if err != nil || len(page.Objects)+len(page.CommonPrefixes) > 0 {
			t.Errorf("List(prefix %q) = %+v, %v; want nothing", p, page, err)
		}
	}
}
