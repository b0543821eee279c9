package backends

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/ufs/local"
)

func TestOpenLocal(t *testing.T) {
	dir := t.TempDir()
	for _, uri := range []string{
		"file://" + dir + "/a",
		"file://localhost" + dir + "/b",
		dir + "/c",
		"file://" + dir + "/with%20space",
	} {
		u, err := Open(context.Background(), uri, map[string]string{"fs.oss.endpoint": "ignored"})
		if err != nil {
			t.Errorf("Open(%q): %v", uri, err)
			continue
		}
		if _, ok := u.(*local.FS); !ok {
			t.Errorf("Open(%q) = %T, want *local.FS", uri, u)
		}
		u.Close()
	}
	u, err := Open(context.Background(), "file://"+dir+"/with%20space", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if want := "file://" + filepath.Join(dir, "with space"); u.String() != want {
		t.Errorf("String() = %q, want %q", u.String(), want)
	}
}

func TestOpenErrors(t *testing.T) {
	for uri, want := range map[string]string{
		"ftp://host/x":           `unknown UFS scheme "ftp" in "ftp://host/x": want file://, oss:// or s3://`,
		"file://relative/x":      `not host "relative"`,
		"relative/x":             "want an absolute path",
		"file:///x?y=1":          "no query",
		"oss://bucket/dir":       "fs.oss.accessKeyId is required",
		"s3://bucket/dir":        "fs.s3.endpoint",
		"s3://id:pa55w0rd@b/dir": "xxxxx",
		"file://" + "\x7f/bad":   "bad UFS URI",
		"file:relative":          "must be absolute",
		"HTTP://example.com/x/":  `unknown UFS scheme "http"`,
	} {
		_, err := Open(context.Background(), uri, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q): %v; want an error containing %q", uri, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "pa55w0rd") {
			t.Errorf("Open(%q) leaks a secret: %v", uri, err)
		}
	}
	_, err := Open(context.Background(), "file://"+t.TempDir(), map[string]string{"readonly": "true", "fs.local.x": "1"})
	if err == nil || !strings.Contains(err.Error(), "fs.local.x, readonly") {
		t.Errorf("Open with unknown options: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"oss://bucket/dir":                             "oss://bucket/dir",
		"s3://id:secret@bucket/dir":                    "s3://id:xxxxx@bucket/dir",
		"s3://bucket/dir?accessKeySecret=abc&region=x": "s3://bucket/dir?accessKeySecret=xxxxx&region=x",
		"s3://bucket/dir?X-Amz-Signature=abc":          "s3://bucket/dir?X-Amz-Signature=xxxxx",
		"oss://\x7f:pw@host":                           "oss://...",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
