package integration

import (
	"debug/buildinfo"
	"runtime"
	"testing"
	"time"
)

// TestVersion: the built binary's `hoard version` is one line, "hoard
// dev[+<commit>] (<go version>, <os>/<arch>)": no -ldflags version here,
// so "dev"; and when go build stamped the VCS state into the binary (not
// with GOFLAGS=-buildvcs=false), "+" and the first 12 hex digits of the
// commit it recorded.
func TestVersion(t *testing.T) {
	fastExit(t)
	bi, err := buildinfo.ReadFile(hoardBin)
	if err != nil {
		t.Fatal(err)
	}
	want := "hoard dev"
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			want += "+" + s.Value[:12]
		}
	}
	want += " (" + bi.GoVersion + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	out, err := runHoard(t.TempDir(), 30*time.Second, "version")
	if err != nil || out != want {
		t.Fatalf("hoard version: %v\n got %q\nwant %q", err, out, want)
	}
}
