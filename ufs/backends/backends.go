// Package backends opens a UFS from its URI: the one place that knows every
// backend, so that the daemon's wiring and the mount table need only a
// string.
//
//	file:///abs/path, /abs/path   the local directory (ufs/local)
//	oss://bucket/dir              Aliyun OSS (ufs/oss)
//	s3://bucket/dir               any S3-compatible store (ufs/s3)
//
// Options are the mount's "fs.oss.*" / "fs.s3.*" keys (see CONTRACT.md).
// Open returns the bare backend; retries and other decorators are stacked by
// the caller.
package backends

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/local"
	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/s3"
)

// Open returns the UFS that uri names, configured by opts.
func Open(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error) {
	if strings.HasPrefix(uri, "/") {
		return openLocal(uri, uri, opts)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("bad UFS URI %q: %w", Redact(uri), err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("bad UFS URI %q: file:// takes an absolute path (file:///abs/path), not host %q", Redact(uri), u.Host)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("bad UFS URI %q: file:// takes no query or fragment", Redact(uri))
		}
		return openLocal(uri, u.Path, opts)
	case "oss":
		f, err := oss.Open(ctx, uri, opts)
		if err != nil {
			return nil, err // not a nil *oss.FS in a non-nil ufs.UFS
		}
		return f, nil
	case "s3":
		f, err := s3.Open(ctx, uri, opts)
		if err != nil {
			return nil, err // not a nil *s3.FS in a non-nil ufs.UFS
		}
		return f, nil
	case "":
		return nil, fmt.Errorf("bad UFS URI %q: want an absolute path or a URI such as file:///abs/path, oss://bucket/dir or s3://bucket/dir", Redact(uri))
	}
	return nil, fmt.Errorf("unknown UFS scheme %q in %q: want file://, oss:// or s3://", u.Scheme, Redact(uri))
}

// openLocal opens the directory path for uri. The local backend has no
// options of its own; the other backends' keys are ignored, so that one
// option set can serve every mount.
func openLocal(uri, path string, opts map[string]string) (ufs.UFS, error) {
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("bad UFS URI %q: the path must be absolute", uri)
	}
	var unknown []string
	for k := range opts {
		if !strings.HasPrefix(k, "fs.oss.") && !strings.HasPrefix(k, "fs.s3.") {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("UFS %q: file:// takes no options, got %s", uri, strings.Join(unknown, ", "))
	}
	return local.New(filepath.Clean(path))
}

// secretParams are query parameter names (lower case) whose values Redact
// hides.
var secretParams = []string{"secret", "password", "token", "signature", "credential", "key"}

// Redact returns uri fit for logs and errors: without a password in its user
// info and with the values of secret-looking query parameters replaced. A
// string that does not parse is returned with everything after the scheme's
// "//" cut, since it cannot be inspected.
func Redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		if i := strings.Index(uri, "://"); i >= 0 {
			return uri[:i+3] + "..."
		}
		return "..."
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for name := range q {
			lower := strings.ToLower(name)
			if slices.ContainsFunc(secretParams, func(s string) bool { return strings.Contains(lower, s) }) {
				q.Set(name, "xxxxx")
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}
