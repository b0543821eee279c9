// Package local is the file:// UFS: objects are plain files under a root
// directory, so whatever Hoard persists is readable by any tool.
//
// # Keys
//
// Key "a/b.txt" is the file root/a/b.txt; the directory marker "a/" is the
// directory root/a. Every directory is therefore a marker (ImplicitDirs), and
// a file and a directory cannot share a path: putting "a/b" where "a/b/" has
// children fails, as does putting "a/b/c" where "a/b" is a file. Keys are
// validated (see ErrInvalidKey) so that none can leave the root.
//
// # Atomicity and durability
//
// Put and Copy write a temporary file in the staging directory root/.hoard-tmp
// (never listed), fsync it, rename it into place and fsync the parent
// directory. Readers see the old file or the new one, never a mix; an open
// reader keeps reading the version it opened.
//
// # ETags
//
// Put computes the MD5 of the content while streaming and stores it, together
// with the file's size and mtime, in the extended attribute user.hoard.etag.
// A file written by anything else (or one modified in place since, which
// changes its mtime), or a file system without user xattrs, gets a derived
// ETag instead: "<inode>-<mtime ns>-<size>" in hex. It is stable while the
// file is unchanged and changes when it is replaced or rewritten; an in-place
// rewrite of the same size within one mtime tick goes unnoticed. Directory
// markers have the MD5 of the empty string, as zero-byte objects do.
//
// # Symbolic links
//
// All access goes through os.Root: symlinks inside the root are followed,
// symlinks that lead out of it fail. Listings include symlinks to regular
// files but not symlinks to directories, so a walk cannot loop.
package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hoardfs/hoard/ufs"
)

// staleAfter is how old a staging file must be before New removes it as the
// leftover of a crash. Generous, so that another process sharing the root
// never loses a file it is still writing.
const staleAfter = time.Hour

// FS is a UFS rooted at a local directory.
type FS struct {
	dir  string   // absolute, cleaned
	root *os.Root // every file access goes through it

	closeOnce sync.Once
	closeErr  error
}

var _ ufs.UFS = (*FS)(nil)

// New opens the directory root as a UFS, creating it if missing.
func New(root string) (*FS, error) {
	dir, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local UFS %q: %w", root, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("local UFS %q: %w", dir, err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("local UFS %q: %w", dir, err)
	}
	// The staging directory is made by the first Put (createTemp), not
	// here: a directory mounted read-only, perhaps on read-only media, must
	// stay as it was.
	u := &FS{dir: dir, root: r}
	u.removeStaleStaging(time.Now().Add(-staleAfter))
	return u, nil
}

// Capabilities reports that directories are real and copies stay local.
func (u *FS) Capabilities() ufs.Capabilities {
	return ufs.Capabilities{ImplicitDirs: true, ServerSideCopy: true}
}

// String names the root as a file:// URI.
func (u *FS) String() string { return "file://" + u.dir }

// Close releases the root directory; later calls fail.
func (u *FS) Close() error {
	u.closeOnce.Do(func() { u.closeErr = u.root.Close() })
	return u.closeErr
}

// removeStaleStaging deletes staging files last modified before cutoff. It is
// best effort: a failure only leaves garbage behind.
func (u *FS) removeStaleStaging(cutoff time.Time) {
	d, err := u.root.Open(stagingDir)
	if err != nil {
		return
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
			_ = u.root.Remove(stagingDir + "/" + e.Name())
		}
	}
}

// notExist is the error for a key that names no object.
func notExist(op, key string) error {
	return fmt.Errorf("local %s %q: %w", op, key, ufs.ErrNotExist)
}

// opError wraps a file system error with the operation and key, and marks
// permission errors for ufs.ErrPermission.
func opError(op, key string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("local %s %q: %w: %w", op, key, ufs.ErrPermission, err)
	}
	return fmt.Errorf("local %s %q: %w", op, key, err)
}

// isMissing reports whether a file system error means the path is not there:
// a missing component, or a component that is not a directory.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// ctxError is the error for a call whose context is already done.
func ctxError(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("local %s %q: %w", op, key, err)
	}
	return nil
}
