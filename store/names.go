package store

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest name, in bytes, that a directory entry may have.
const MaxNameLen = 255

// checkName validates one path component.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name: %w", ErrInvalid)
	case name == "." || name == "..":
		return fmt.Errorf("name %q is reserved: %w", name, ErrInvalid)
	case len(name) > MaxNameLen:
		return fmt.Errorf("name of %d bytes exceeds %d: %w", len(name), MaxNameLen, ErrNameTooLong)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("name %q contains '/' or NUL: %w", name, ErrInvalid)
	}
	return nil
}

// SplitPath turns "/a/b/c" into [a b c], rejecting empty, "." and ".."
// components: a path can never escape the root. "/" gives no components.
func SplitPath(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q is not absolute: %w", p, ErrInvalid)
	}
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil, nil
	}
	parts := strings.Split(p, "/")
	for _, c := range parts {
		if err := checkName(c); err != nil {
			return nil, fmt.Errorf("path %q: %w", "/"+p, err)
		}
	}
	return parts, nil
}
