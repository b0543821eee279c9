package main

// Commands that take no positional argument.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStrayArgumentsRefused: a command that takes no positional argument
// refuses one with a usage error (exit 2) before doing anything, as
// `hoard start` and `hoard runTests` do.
//
// They used to be ignored by version, stop and format: `hoard format /some/dir`
// looks as if it formatted /some/dir; it wipes the configured metadata and
// cache dirs instead, and exits 0.
func TestStrayArgumentsRefused(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	meta := filepath.Join(home, "metadata")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(meta, "keep")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := writeFile(t, dir, "hoard-site.properties", "hoard.home="+home+"\nhoard.web.address=127.0.0.1:1\n")
	for _, args := range [][]string{
		{"start", "--conf", conf, "extra"}, // the reference: refused
		{"version", "extra"},
		{"stop", "--conf", conf, "extra"},
		{"format", "--conf", conf, filepath.Join(dir, "other")},
	} {
		var out, errb strings.Builder
		code := run(args, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), "unexpected arguments") {
			t.Errorf("hoard %s: exit %d, want 2 with \"unexpected arguments\"\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errb.String())
		}
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("format with a stray argument wiped the configured metadata dir: %v", err)
	}
}
