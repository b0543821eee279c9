package local

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
)

func TestNewCreatesRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "x", "y")
	u, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("root not created: %v", err)
	}
	if got := u.String(); got != "file://"+dir {
		t.Errorf("String() = %q", got)
	}
}

func TestStagingHiddenAndCleaned(t *testing.T) {
	dir := t.TempDir()
	staging := filepath.Join(dir, stagingDir)
	if err := os.MkdirAll(staging, 0o700); err != nil {
		t.Fatal(err)
	}
	old, fresh := filepath.Join(staging, "old"), filepath.Join(staging, "fresh")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(old, time.Now().Add(-2*staleAfter), time.Now().Add(-2*staleAfter)); err != nil {
		t.Fatal(err)
	}
	u, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale staging file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh staging file removed: %v", err)
	}
	put(t, u, "a", "x")
	if keys := listKeys(t, u); !slices.Equal(keys, []string{"a"}) {
		t.Errorf("listing = %q, want only a", keys)
	}
	page, _ := u.List(t.Context(), ufs.ListOptions{Prefix: ".", Delimiter: "/"})
	if len(page.Objects)+len(page.CommonPrefixes) != 0 {
		t.Errorf("prefix \".\" lists %+v", page)
	}
	// A failed Put leaves nothing behind in staging.
	if _, err := u.Put(t.Context(), "b", strings.NewReader("short"), 10); err == nil {
		t.Fatal("short Put succeeded")
	}
	if entries, _ := os.ReadDir(staging); len(entries) != 1 {
		t.Errorf("staging holds %d files after a failed Put, want only the fresh one", len(entries))
	}
}

func TestPathConflicts(t *testing.T) {
	u := newFS(t)
	put(t, u, "f", "x")
	if _, err := u.Put(t.Context(), "f/g", strings.NewReader("y"), 1); err == nil {
		t.Errorf("Put under a file succeeded")
	}
	if _, err := u.Put(t.Context(), "f/", nil, 0); err == nil {
		t.Errorf("Put of a marker over a file succeeded")
	}
	put(t, u, "d/x", "x")
	_, err := u.Put(t.Context(), "d", strings.NewReader("y"), 1)
	if err == nil || !strings.Contains(err.Error(), "directory exists") || !strings.Contains(err.Error(), `"d"`) {
		t.Errorf("Put over a directory: %v; want an error naming the key and the directory", err)
	}
	// A file key never removes a directory; a marker key only an empty one.
	if err := u.Delete(t.Context(), "d", "d/"); err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, u, "d/x"); err != nil || got != "x" {
		t.Errorf("d/x after Delete(d, d/) = %q, %v", got, err)
	}
	if err := u.Delete(t.Context(), "f/"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Stat(t.Context(), "f"); err != nil {
		t.Errorf("Delete(f/) removed the file f: %v", err)
	}
	if _, err := u.Put(t.Context(), "m/", strings.NewReader("body"), -1); err == nil {
		t.Errorf("Put of a marker with a body succeeded")
	}
	if _, err := u.Put(t.Context(), "n", strings.NewReader("long"), 2); err == nil {
		t.Errorf("Put of a reader longer than size succeeded")
	}
}

func TestSymlinks(t *testing.T) {
	u := newFS(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o644); err != nil {
		t.Fatal(err)
	}
	put(t, u, "real/file", "data")
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(u.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	link("real/file", "in")                              // to a file inside
	link(filepath.Join(outside, "secret"), "out")        // absolute, outside
	link("../"+filepath.Base(outside)+"/secret", "out2") // relative, outside (TempDirs share a parent)
	link("real", "dirlink")                              // to a directory inside
	link(outside, "outdir")                              // to a directory outside

	if got, err := readAll(t, u, "in"); err != nil || got != "data" {
		t.Errorf("read through an inside symlink = %q, %v", got, err)
	}
	for _, k := range []string{"out", "out2", "outdir/secret"} {
		if got, err := readAll(t, u, k); err == nil {
			t.Errorf("read %q through a symlink out of the root = %q", k, got)
		}
		if _, err := u.Stat(t.Context(), k); err == nil {
			t.Errorf("Stat(%q) through a symlink out of the root succeeded", k)
		}
	}
	if _, err := u.Put(t.Context(), "outdir/new", strings.NewReader("x"), 1); err == nil {
		t.Errorf("Put through a symlink out of the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Errorf("Put wrote outside the root")
	}
	want := []string{"in", "real/", "real/file"}
	if keys := listKeys(t, u); !slices.Equal(keys, want) {
		t.Errorf("listing = %q, want %q (no symlinks out, no directory symlinks)", keys, want)
	}
}

func TestSpecialFilesAreNotObjects(t *testing.T) {
	u := newFS(t)
	if err := syscall.Mkfifo(filepath.Join(u.dir, "fifo"), 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	if _, err := u.Stat(t.Context(), "fifo"); !ufs.IsNotExist(err) {
		t.Errorf("Stat(fifo): %v, want IsNotExist", err)
	}
	if _, err := readAll(t, u, "fifo"); !ufs.IsNotExist(err) {
		t.Errorf("read fifo: %v, want IsNotExist", err)
	}
	if keys := listKeys(t, u); len(keys) != 0 {
		t.Errorf("listing = %q, want nothing", keys)
	}
}

func TestPutDurableLayout(t *testing.T) {
	u := newFS(t)
	info, err := u.Put(t.Context(), "deep/er/file.txt", bytes.NewReader([]byte("abc")), -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(u.dir, "deep", "er", "file.txt"))
	if err != nil || string(got) != "abc" || info.Size != 3 {
		t.Errorf("file on disk = %q, %v; info %+v", got, err, info)
	}
	if _, err := u.Put(t.Context(), "emptydir/", nil, 0); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(u.dir, "emptydir")); err != nil || !fi.IsDir() {
		t.Errorf("marker made no directory: %v", err)
	}
}
