package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exits runs a hoard command that must fail with exit code code and a
// message containing want.
func (h *hoard) exits(code int, want string, args ...string) {
	h.t.Helper()
	out, err := h.command(args...)
	ee, ok := err.(interface{ ExitCode() int })
	if !ok || ee.ExitCode() != code || !strings.Contains(out, want) {
		h.t.Fatalf("hoard %s: %v; want exit %d saying %q\n%s", strings.Join(args, " "), err, code, want, out)
	}
}

// TestSetTTL: `hoard fs setTtl` and `unsetTtl` on the running daemon, which
// acts on expired TTLs every 10s (store.Options.TTLCheckInterval; no key
// sets it), so this test waits for one check. After it:
//   - a file and a directory tree with the delete action (the default, and
//     --action delete with the TTL in milliseconds) are gone through the
//     admin API, S3 and the FUSE mount, and from the UFS;
//   - a file with --action free is still there, PERSISTED, 0% cached, and
//     reads back whole through both doors;
//   - a file whose TTL was unset, one with a TTL of an hour, and one that
//     only got refused setTtl calls (bad TTLs, a bad action) are untouched.
func TestSetTTL(t *testing.T) {
	fastExit(t)
	h := newHoard(t)
	h.start()
	h.must("fs", "mkdir", "/ttl")
	files := map[string][]byte{}
	for _, p := range []string{"/ttl/unset.txt", "/ttl/del.txt", "/ttl/deldir/a/b.txt", "/ttl/deldir/c.txt",
		"/ttl/free.txt", "/ttl/later.txt", "/ttl/bad.txt"} {
		files[p] = patterned(p, 200<<10+len(p))
		if e, err := h.write(p, "CACHE_THROUGH", files[p]); err != nil || e.State != "PERSISTED" {
			t.Fatalf("write %s: %+v %v", p, e, err)
		}
	}
	ufsPath := func(p string) string { return filepath.Join(h.dir, "data/ufs", p) }

	// Refused: a clear message, exit 1 (the daemon said no) or 2 (usage).
	h.exits(1, `ttl "soon": want a duration such as 90s or 2h, or milliseconds`, "fs", "setTtl", "/ttl/bad.txt", "soon")
	h.exits(1, "TTL must be positive", "fs", "setTtl", "/ttl/bad.txt", "0")
	h.exits(1, `unknown TTL action "explode": want delete or free`, "fs", "setTtl", "--action", "explode", "/ttl/bad.txt", "1s")
	h.exits(2, "want [--action delete|free] PATH TTL", "fs", "setTtl", "/ttl/bad.txt")
	h.exits(2, "not an absolute path", "fs", "setTtl", "ttl/bad.txt", "1s")
	h.exits(1, "no such file or directory", "fs", "setTtl", "/ttl/missing", "1s")
	h.exits(1, "no such file or directory", "fs", "unsetTtl", "/ttl/missing")
	h.exits(2, "missing PATH", "fs", "unsetTtl")
	if code, b := h.admin("POST", "setTtl", url.Values{"path": {"/ttl/bad.txt"}, "ttl": {"-5s"}}, nil); code != 400 || !strings.Contains(string(b), "TTL must be positive") {
		t.Fatalf("setTtl with a negative TTL: %d %s", code, b)
	}

	// Set first, unset at once: it must never fire. (Its entry comes
	// before the others' in the expiry order.)
	if out := h.must("fs", "setTtl", "/ttl/unset.txt", "1s"); out != "TTL of path '/ttl/unset.txt' was successfully set to 1s, with expiry action set to DELETE\n" {
		t.Fatalf("setTtl: %q", out)
	}
	if out := h.must("fs", "unsetTtl", "/ttl/unset.txt"); out != "TTL of path '/ttl/unset.txt' was successfully removed.\n" {
		t.Fatalf("unsetTtl: %q", out)
	}
	h.must("fs", "setTtl", "/ttl/later.txt", "1h")
	h.must("fs", "setTtl", "/ttl/del.txt", "1s")
	if out := h.must("fs", "setTtl", "--action", "delete", "/ttl/deldir", "1000"); !strings.Contains(out, "set to 1000, with expiry action set to DELETE") {
		t.Fatalf("setTtl in milliseconds: %q", out)
	}
	if out := h.must("fs", "setTtl", "/ttl/free.txt", "1s", "--action", "free"); out != "TTL of path '/ttl/free.txt' was successfully set to 1s, with expiry action set to FREE\n" {
		t.Fatalf("setTtl --action free: %q", out)
	}
	set := time.Now()

	// Before it expires, nothing happens.
	if ents := h.list("/ttl"); len(ents) != 6 {
		t.Fatalf("right after setTtl: %v", ents)
	}
	// The free action was set last: once it is done, the check that did it
	// has dealt with every TTL before it.
	eventually(t, 25*time.Second, "the free TTL carried out", func() error {
		e := lsEntries(t, h.must("fs", "ls", "/ttl"))["/ttl/free.txt"]
		if e[2] != "0%" {
			return fmt.Errorf("/ttl/free.txt is %v", e)
		}
		return nil
	})
	t.Logf("TTLs carried out within %v after they were set", time.Since(set).Round(100*time.Millisecond))

	for _, p := range []string{"/ttl/del.txt", "/ttl/deldir", "/ttl/deldir/c.txt"} {
		eventually(t, 5*time.Second, p+" gone through every door", func() error {
			if _, ok := h.list("/ttl")[p]; ok {
				return fmt.Errorf("still listed by the admin API")
			}
			if code, _ := h.admin("GET", "stat", url.Values{"path": {p}}, nil); code != 404 {
				return fmt.Errorf("admin stat: %d", code)
			}
			if code, _ := h.s3do("GET", p, nil); code != 404 {
				return fmt.Errorf("S3 GET: %d", code)
			}
			if _, err := os.Lstat(filepath.Join(h.mnt(), p)); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("through the mount: %v", err)
			}
			return nil
		})
		eventually(t, 10*time.Second, p+" gone from the UFS", func() error {
			if _, err := os.Lstat(ufsPath(p)); !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%s: %v", ufsPath(p), err)
			}
			return nil
		})
	}
	if _, err := os.Lstat(ufsPath("/ttl")); err != nil {
		t.Fatalf("the delete TTLs took their parent along: %v", err)
	}

	ents := lsEntries(t, h.must("fs", "ls", "/ttl"))
	if len(ents) != 4 {
		t.Fatalf("after the TTL check, /ttl holds %v", ents)
	}
	if e := ents["/ttl/free.txt"]; e != [3]string{fmt.Sprint(len(files["/ttl/free.txt"])), "PERSISTED", "0%"} {
		t.Fatalf("/ttl/free.txt after its free TTL: %v", e)
	}
	for _, p := range []string{"/ttl/unset.txt", "/ttl/later.txt", "/ttl/bad.txt"} {
		if e := ents[p]; e[2] != "100%" {
			t.Fatalf("%s, which had no TTL due, is %v", p, e)
		}
	}
	for _, p := range []string{"/ttl/free.txt", "/ttl/unset.txt", "/ttl/later.txt", "/ttl/bad.txt"} {
		if code, b := h.s3do("GET", p, nil); code != 200 || !bytes.Equal(b, files[p]) {
			t.Fatalf("S3 GET %s: %d, %d bytes, want %d", p, code, len(b), len(files[p]))
		}
		if b, err := os.ReadFile(filepath.Join(h.mnt(), p)); err != nil || !bytes.Equal(b, files[p]) {
			t.Fatalf("read %s through the mount: %v, %d bytes, want %d", p, err, len(b), len(files[p]))
		}
		if b, err := os.ReadFile(ufsPath(p)); err != nil || !bytes.Equal(b, files[p]) {
			t.Fatalf("%s in the UFS: %v, %d bytes", p, err, len(b))
		}
	}
	h.stop(syscall.SIGTERM)
}
