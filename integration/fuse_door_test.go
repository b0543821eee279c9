package integration

// The FUSE door of a started daemon: changes made directly in the UFS show
// through the mount within one metadata sync interval (the kernel's caches
// included), and hoard.fuse.mount.options gives the mount its own write and
// read types. Also: errors found after the configuration loaded still name
// the key and the file.

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFUSESeesUFSChangesWithinSyncInterval(t *testing.T) {
	fastExit(t)
	h := newHoard(t, "hoard.user.file.metadata.sync.interval=1s")
	ufsDir := filepath.Join(h.dir, "data", "ufs", "outside")
	if err := os.MkdirAll(ufsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ufsDir, "a.txt"), []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.start()
	mnt := filepath.Join(h.dir, "mnt", "outside")
	if b, err := os.ReadFile(filepath.Join(mnt, "a.txt")); err != nil || string(b) != "one" {
		t.Fatalf("a file already in the UFS, through the mount: %q %v", b, err)
	}
	// The kernel's entry may live one interval, then the store's listing is
	// at most one interval old: two intervals, plus slack for the -race
	// build on a loaded machine. (The mount's default timeouts are 10 s.)
	const limit = 5 * time.Second
	within := func(what string, fn func() error) {
		t.Helper()
		t.Logf("%s after %v", what, eventually(t, limit, what, fn).Round(time.Millisecond))
	}
	readIs := func(name, want string) func() error {
		return func() error {
			b, err := os.ReadFile(filepath.Join(mnt, name))
			if err != nil {
				return err
			}
			if string(b) != want {
				return fmt.Errorf("read %q", b)
			}
			return nil
		}
	}

	if err := os.WriteFile(filepath.Join(ufsDir, "b.txt"), []byte("bee"), 0o644); err != nil {
		t.Fatal(err)
	}
	within("added file listed and read", func() error {
		ents, err := os.ReadDir(mnt)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Name() == "b.txt" {
				return readIs("b.txt", "bee")()
			}
		}
		return errors.New("not listed")
	})

	// Rewritten in the UFS: a new size, a new mtime, seen by stat and read.
	if err := os.WriteFile(filepath.Join(ufsDir, "a.txt"), []byte("changed: two"), 0o644); err != nil {
		t.Fatal(err)
	}
	within("changed file read", func() error {
		st, err := os.Stat(filepath.Join(mnt, "a.txt"))
		if err != nil {
			return err
		}
		if st.Size() != 12 {
			return fmt.Errorf("size %d", st.Size())
		}
		return readIs("a.txt", "changed: two")()
	})

	if err := os.Remove(filepath.Join(ufsDir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	within("removed file gone", func() error {
		if _, err := os.Stat(filepath.Join(mnt, "b.txt")); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("stat: %v", err)
		}
		return nil
	})
}

// TestFUSEMountOptions: with writetype=CACHE_THROUGH the mount uploads a
// file before close returns, while the S3 door keeps the default
// (ASYNC_THROUGH); with readtype=NO_CACHE reading through the mount caches
// nothing.
func TestFUSEMountOptions(t *testing.T) {
	fastExit(t)
	h := newHoard(t, "hoard.fuse.mount.options=writetype=CACHE_THROUGH,readtype=NO_CACHE")
	h.start()
	mnt := filepath.Join(h.dir, "mnt")
	data := []byte(strings.Repeat("through the mount\n", 1000))
	if err := os.WriteFile(filepath.Join(mnt, "f"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	// No waiting: CACHE_THROUGH is in the UFS when close(2) returns.
	if b, err := os.ReadFile(filepath.Join(h.dir, "data", "ufs", "f")); err != nil || string(b) != string(data) {
		t.Fatalf("the UFS after close: %d bytes, %v", len(b), err)
	}
	if e := lsEntries(t, h.must("fs", "ls", "/f"))["/f"]; e[1] != "PERSISTED" {
		t.Fatalf("fs ls after close: %v", e)
	}
	h.must("fs", "free", "/f")
	if b, err := os.ReadFile(filepath.Join(mnt, "f")); err != nil || string(b) != string(data) {
		t.Fatalf("read through the mount: %d bytes, %v", len(b), err)
	}
	if e := lsEntries(t, h.must("fs", "ls", "/f"))["/f"]; e[2] != "0%" {
		t.Fatalf("a NO_CACHE read through the mount cached the file: %v", e)
	}
	// The S3 door has the daemon's defaults.
	if err := os.Mkdir(filepath.Join(mnt, "bucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, b := h.s3do("PUT", "/bucket/obj", data); code != 200 {
		t.Fatalf("S3 PUT: %d %s", code, b)
	}
	h.waitPersisted("/bucket/obj", 30*time.Second)
	h.must("fs", "free", "/bucket/obj")
	if code, b := h.s3do("GET", "/bucket/obj", nil); code != 200 || string(b) != string(data) {
		t.Fatalf("S3 GET: %d", code)
	}
	if e := lsEntries(t, h.must("fs", "ls", "/bucket/obj"))["/bucket/obj"]; e[2] != "100%" {
		t.Fatalf("an S3 GET with the default read type: %v", e)
	}
}

// TestStartErrorsNameKeyAndFile: an address in use and a UFS that does not
// open are found after the configuration loaded; the message still names
// the key and the file and line that set it.
func TestStartErrorsNameKeyAndFile(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct{ prop, key string }{
		{"hoard.s3.address=" + busy.Addr().String(), "hoard.s3.address"},
		{"hoard.root.ufs=oss://bucket/dir", "hoard.root.ufs"},
	} {
		h := newHoard(t, noFUSE, c.prop)
		out, err := h.command("start")
		// newHoard writes 4 lines, then noFUSE, then the one under test.
		if want := h.conf + ":6: " + c.key; err == nil || !strings.Contains(out, want) {
			t.Errorf("%s: %v; want a message naming %q\n%s", c.prop, err, want, out)
		}
	}
}
