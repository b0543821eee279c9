package integration

// What each write type leaves in the UFS after the commit, after a
// restart, and after the cache is freed, on a started daemon.

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWriteTypesCommitRestartEviction(t *testing.T) {
	fastExit(t)
	h := newHoard(t, noFUSE)
	h.start()
	ufsFile := func(wt string) ([]byte, error) {
		return os.ReadFile(filepath.Join(h.dir, "data", "ufs", "wt", wt))
	}
	content := func(wt string) []byte { return bytes.Repeat([]byte(wt+"\n"), 5000) }
	writeTypes := []string{"MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"}
	h.must("fs", "mkdir", "/wt")

	// After the commit: CACHE_THROUGH and THROUGH are in the UFS when the
	// write returns; ASYNC_THROUGH gets there from the queue; MUST_CACHE
	// never does. THROUGH keeps nothing cached.
	for _, wt := range writeTypes {
		e, err := h.write("/wt/"+wt, wt, content(wt))
		if err != nil {
			t.Fatal(err)
		}
		_, uerr := ufsFile(wt)
		switch wt {
		case "MUST_CACHE":
			if e.State != "NOT_PERSISTED" || uerr == nil {
				t.Fatalf("%s after the commit: %s, in the UFS: %v", wt, e.State, uerr == nil)
			}
		case "CACHE_THROUGH", "THROUGH":
			if e.State != "PERSISTED" || uerr != nil {
				t.Fatalf("%s after the commit: %s, UFS: %v", wt, e.State, uerr)
			}
		}
	}
	h.waitPersisted("/wt/ASYNC_THROUGH", 30*time.Second)
	cached := func() map[string]string {
		m := map[string]string{}
		for p, e := range lsEntries(t, h.must("fs", "ls", "/wt")) {
			m[strings.TrimPrefix(p, "/wt/")] = e[1] + " " + e[2]
		}
		return m
	}
	want := map[string]string{
		"MUST_CACHE": "NOT_PERSISTED 100%", "CACHE_THROUGH": "PERSISTED 100%",
		"THROUGH": "PERSISTED 0%", "ASYNC_THROUGH": "PERSISTED 100%",
	}
	check := func(when string, want map[string]string) {
		t.Helper()
		got := cached()
		for _, wt := range writeTypes {
			if got[wt] != want[wt] {
				t.Errorf("%s %s: %q, want %q", when, wt, got[wt], want[wt])
			}
			if out := h.must("fs", "cat", "/wt/"+wt); out != string(content(wt)) {
				t.Errorf("%s %s: cat read %d bytes, want %d", when, wt, len(out), len(content(wt)))
			}
			b, err := ufsFile(wt)
			if inUFS := err == nil && bytes.Equal(b, content(wt)); inUFS != (wt != "MUST_CACHE") {
				t.Errorf("%s %s: in the UFS intact: %v", when, wt, inUFS)
			}
		}
	}
	check("after the commit", want)

	// After a restart: the same (the cat above cached THROUGH's bytes).
	want["THROUGH"] = "PERSISTED 100%"
	h.stop(syscall.SIGTERM)
	h.start()
	check("after a restart", want)

	// After eviction: what is in the UFS can go, MUST_CACHE cannot.
	if out, err := h.command("fs", "free", "/wt/MUST_CACHE"); err == nil {
		t.Fatalf("fs free of a MUST_CACHE file succeeded: %s", out)
	}
	// Freeing the directory frees the rest and says what it kept.
	if out, err := h.command("fs", "free", "/wt"); err == nil || !strings.Contains(out, "1 files") {
		t.Fatalf("fs free of a directory holding a MUST_CACHE file: %v\n%s", err, out)
	}
	got := cached()
	for _, wt := range writeTypes[1:] {
		if got[wt] != "PERSISTED 0%" {
			t.Errorf("after fs free %s: %q, want PERSISTED 0%%", wt, got[wt])
		}
	}
	if got["MUST_CACHE"] != "NOT_PERSISTED 100%" {
		t.Errorf("after fs free MUST_CACHE: %q, want NOT_PERSISTED 100%%", got["MUST_CACHE"])
	}
	check("read back after fs free", map[string]string{
		"MUST_CACHE": "NOT_PERSISTED 100%", "CACHE_THROUGH": "PERSISTED 0%",
		"THROUGH": "PERSISTED 0%", "ASYNC_THROUGH": "PERSISTED 0%",
	})
}
