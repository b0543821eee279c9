package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDefaultsStartStopRestart is `make run` on a fresh machine: no
// configuration at all, health within seconds, Ctrl-C stops it cleanly, and
// a second start finds the same state.
func TestDefaultsStartStopRestart(t *testing.T) {
	h := &hoard{t: t, dir: t.TempDir(), web: "127.0.0.1:19999"}
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
	h.stop(syscall.SIGINT)
	if _, err := os.Stat(filepath.Join(h.dir, "data/hoard.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
	h.start()
	h.stop(syscall.SIGTERM)
	if out, err := h.command("format"); err != nil || !strings.Contains(out, "Formatted") {
		t.Fatalf("format when stopped: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "data/metadata")); !os.IsNotExist(err) {
		t.Fatalf("format left the metadata: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "data/ufs")); err != nil {
		t.Fatalf("format touched the UFS: %v", err)
	}
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
