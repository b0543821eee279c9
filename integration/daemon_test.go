package integration

import (
	"bytes"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDefaultsStartStopRestart is `make run` on a fresh machine: no
// configuration at all, health within seconds, Ctrl-C stops it cleanly, and
// a second start finds the same state: a file written through S3 before
// the restart reads back with the same bytes through both doors. `format`
// then wipes metadata and cache, never the UFS: after it the cache dir is
// empty and the file, read back from the UFS, is still there.
//
// It runs on the default ports, 19999 and 39999 (that is what it tests):
// when another process holds one of them it says so and stops.
func TestDefaultsStartStopRestart(t *testing.T) {
	fastExit(t)
	const web, s3 = "127.0.0.1:19999", "127.0.0.1:39999"
	for _, addr := range []string{web, s3} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("port %s is in use by another process (%v): this test starts Hoard on its default ports; "+
				"stop what listens there (another `hoard start`, `make run`?) and run it again", addr, err)
		}
		l.Close()
	}
	h := &hoard{t: t, dir: t.TempDir(), web: web, s3: s3}
	start := time.Now()
	h.start()
	t.Logf("healthy after %v", time.Since(start).Round(time.Millisecond))
	for _, d := range []string{"data/metadata", "data/cache", "data/ufs"} {
		if st, err := os.Stat(filepath.Join(h.dir, d)); err != nil || !st.IsDir() {
			t.Fatalf("%s missing after start: %v", d, err)
		}
	}
	if out, err := h.command("start"); err == nil || !strings.Contains(out, "already runs") {
		t.Fatalf("second start while running: %v\n%s", err, out)
	}
	if out, err := h.command("format"); err == nil || !strings.Contains(out, "refusing to format") {
		t.Fatalf("format while running: %v\n%s", err, out)
	}

	// A file through S3, before the restart (the default write type,
	// ASYNC_THROUGH: it reaches the UFS in the background).
	data := patterned("kept across restarts", 300<<10+7)
	if code, b := h.s3do("PUT", "/keep", nil); code != 200 {
		t.Fatalf("S3 PUT bucket: %d %s", code, b)
	}
	if code, b := h.s3do("PUT", "/keep/file.bin", data); code != 200 {
		t.Fatalf("S3 PUT object: %d %s", code, b)
	}
	checkKept := func(when string) {
		t.Helper()
		if code, b := h.s3do("GET", "/keep/file.bin", nil); code != 200 || !bytes.Equal(b, data) {
			t.Fatalf("%s: S3 GET: %d, %d bytes, want %d", when, code, len(b), len(data))
		}
		if b, err := os.ReadFile(filepath.Join(h.mnt(), "keep", "file.bin")); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("%s: read through the mount: %v, %d bytes, want %d", when, err, len(b), len(data))
		}
		if out := h.must("fs", "cat", "/keep/file.bin"); out != string(data) {
			t.Fatalf("%s: fs cat: %d bytes, want %d", when, len(out), len(data))
		}
	}
	checkKept("before the restart")

	h.stop(syscall.SIGINT)
	if _, err := os.Stat(filepath.Join(h.dir, "data/hoard.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
	h.start()
	checkKept("after the restart")
	h.waitPersisted("/keep/file.bin", 30*time.Second)
	if b, err := os.ReadFile(filepath.Join(h.dir, "data/ufs/keep/file.bin")); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("the file in the local UFS: %v, %d bytes, want %d", err, len(b), len(data))
	}
	h.stop(syscall.SIGTERM)
	if n := filesUnder(t, filepath.Join(h.dir, "data/cache")); n == 0 {
		t.Fatal("nothing in the cache dir before format: the check after it would prove nothing")
	}

	if out, err := h.command("format"); err != nil || !strings.Contains(out, "Formatted") {
		t.Fatalf("format when stopped: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "data/metadata")); !os.IsNotExist(err) {
		t.Fatalf("format left the metadata: %v", err)
	}
	if n := filesUnder(t, filepath.Join(h.dir, "data/cache")); n != 0 {
		t.Fatalf("format left %d files in the cache dir", n)
	}
	if b, err := os.ReadFile(filepath.Join(h.dir, "data/ufs/keep/file.bin")); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("format touched the UFS: %v, %d bytes", err, len(b))
	}
	// Started on the formatted state, the file is found in the UFS.
	h.start()
	checkKept("after format, from the UFS")
	h.stop(syscall.SIGTERM)
}

// filesUnder counts the regular files under dir; a missing dir has none.
func filesUnder(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDaemonMode detaches with --daemon and stops with `hoard stop`.
func TestDaemonMode(t *testing.T) {
	h := newHoard(t)
	out, err := h.command("start", "--daemon")
	if err != nil || !strings.Contains(out, "Hoard started") {
		t.Fatalf("start --daemon: %v\n%s", err, out)
	}
	if !h.healthy() {
		t.Fatal("not healthy after start --daemon returned")
	}
	pid, err := os.ReadFile(filepath.Join(h.dir, "data/hoard.pid"))
	if err != nil || len(strings.TrimSpace(string(pid))) == 0 {
		t.Fatalf("pid file: %q %v", pid, err)
	}
	if out, err := h.command("stop"); err != nil || !strings.Contains(out, "stopped") {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if h.healthy() {
		t.Fatal("still answering after stop")
	}
	if out, err := h.command("stop"); err == nil || !strings.Contains(out, "no Hoard daemon runs") {
		t.Fatalf("stop with nothing running: %v\n%s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(h.dir, "data/logs/hoard.log"))
	if !strings.Contains(string(log), "Hoard is up") {
		t.Fatalf("log file: %s", log)
	}
}

// TestBadConfigurationIsNamed: every bad setting stops the start with a
// message that names the key, and leaves nothing running.
func TestBadConfigurationIsNamed(t *testing.T) {
	cases := map[string]string{
		"hoard.cache.quotta=1GB":                 "hoard.cache.quotta",
		"hoard.cache.quota=lots":                 "hoard.cache.quota",
		"hoard.user.file.writetype.default=FAST": "hoard.user.file.writetype.default",
		"hoard.root.ufs=ftp://x/y":               "ftp",
		"hoard.root.ufs=oss://bucket/dir":        "fs.oss.accessKeyId",
	}
	for prop, want := range cases {
		h := newHoard(t, prop)
		out, err := h.command("start")
		if err == nil || !strings.Contains(out, want) {
			t.Errorf("%s: %v; want a message naming %q\n%s", prop, err, want, out)
		}
	}
}
