package local

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidKey is returned (wrapped) for a key that cannot name a file under
// the root: empty, absolute, with empty, "." or ".." segments, with a NUL
// byte, or inside the staging directory.
var ErrInvalidKey = errors.New("invalid key")

// stagingDir holds the temporary files of Puts and Copies in flight. It lives
// inside the root so that the final rename never crosses file systems, and it
// is hidden from listings and refused as a key.
const stagingDir = ".hoard-tmp"

// isDirKey reports whether key names a directory marker.
func isDirKey(key string) bool { return strings.HasSuffix(key, "/") }

// checkKey returns why key cannot name a file under the root, or nil.
func checkKey(op, key string) error {
	if why := keyProblem(key); why != "" {
		return fmt.Errorf("local %s %q: %w: %s", op, key, ErrInvalidKey, why)
	}
	return nil
}

// keyProblem is checkKey's rule book; it returns "" for a good key.
func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case key == "/":
		return "the root has no marker"
	case strings.HasPrefix(key, "/"):
		return "leading slash"
	case strings.IndexByte(key, 0) >= 0:
		return "NUL byte"
	}
	for i, seg := range strings.Split(strings.TrimSuffix(key, "/"), "/") {
		switch {
		case seg == "":
			return "empty path segment"
		case seg == "." || seg == "..":
			return fmt.Sprintf("%q segment", seg)
		case i == 0 && seg == stagingDir:
			return "reserved for staging"
		}
	}
	return ""
}

// fileName is the name under the root for key: a directory marker "a/b/"
// names the directory "a/b".
func fileName(key string) string { return strings.TrimSuffix(key, "/") }
