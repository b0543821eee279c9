package local

import (
	"io"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

// newFS returns an FS on a fresh directory, closed when the test ends.
func newFS(t *testing.T) *FS {
	t.Helper()
	u, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func put(t *testing.T, u *FS, key, data string) ufs.ObjectInfo {
	t.Helper()
	info, err := u.Put(t.Context(), key, strings.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	return info
}

func readAll(t *testing.T, u *FS, key string) (string, error) {
	t.Helper()
	rc, err := u.ReadRange(t.Context(), key, 0, -1)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

// listKeys returns every key of a listing without a delimiter.
func listKeys(t *testing.T, u *FS) []string {
	t.Helper()
	page, err := u.List(t.Context(), ufs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range page.Objects {
		keys = append(keys, o.Key)
	}
	return keys
}
