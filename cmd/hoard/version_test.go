package main

import (
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestVersionCommand: `hoard version` prints one line, "hoard VERSION (GO,
// OS/ARCH)", VERSION being what -ldflags "-X main.Version=..." set (dev
// without it) and, in a binary built from a git checkout, "+" and the first
// 12 hex digits of the commit. It takes no other flag than --conf.
func TestVersionCommand(t *testing.T) {
	defer func(v string) { Version = v }(Version)
	tail := regexp.QuoteMeta(" (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n")
	for _, v := range []string{"dev", "v1.2.3"} {
		Version = v
		var out, errb strings.Builder
		if code := run([]string{"version"}, &out, &errb); code != 0 || errb.Len() != 0 {
			t.Fatalf("version with Version=%s: exit %d, stderr %q", v, code, errb.String())
		}
		re := regexp.MustCompile(`^hoard ` + regexp.QuoteMeta(v) + `(\+[0-9a-f]{12})?` + tail + `$`)
		if !re.MatchString(out.String()) {
			t.Fatalf("version with Version=%s: %q, want a match of %s", v, out.String(), re)
		}
	}
	// --conf is accepted (every command takes it) and changes nothing.
	var out, errb strings.Builder
	if code := run([]string{"version", "--conf", "/nonexistent/hoard-site.properties"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "hoard ") {
		t.Fatalf("version --conf: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"version", "--bogus"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "flag provided but not defined: -bogus") || out.Len() != 0 {
		t.Fatalf("version --bogus: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := run([]string{"version", "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "-conf") {
		t.Fatalf("version --help: exit %d, stderr %q", code, errb.String())
	}
	// Listed in the usage.
	errb.Reset()
	run([]string{"help"}, &out, &errb)
	if !strings.Contains(errb.String(), "  version    print version and build information\n") {
		t.Fatalf("usage does not list version:\n%s", errb.String())
	}
}
