package local

import (
	"context"
	"errors"
	"path"

	"golang.org/x/sys/unix"
)

// Delete removes the files at keys. A directory marker key removes its
// directory only when it is empty: a non-empty directory is a marker that
// cannot go away while keys exist under it (ImplicitDirs). Missing keys are
// not an error. All keys are validated before anything is removed.
func (u *FS) Delete(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		if err := checkKey("delete", key); err != nil {
			return err
		}
	}
	var errs []error
	for _, key := range keys {
		if err := ctxError(ctx, "delete", key); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := u.deleteOne(key); err != nil {
			errs = append(errs, opError("delete", key, err))
		}
	}
	return errors.Join(errs...)
}

// deleteOne removes one file, or one empty directory for a marker key. It
// unlinks through the parent's descriptor, so that a file key never removes a
// directory and a marker key never removes a file.
func (u *FS) deleteOne(key string) error {
	name := fileName(key)
	dir, base := path.Dir(name), path.Base(name)
	parent, err := u.root.Open(dir)
	if isMissing(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer parent.Close()
	flags := 0
	if isDirKey(key) {
		flags = unix.AT_REMOVEDIR
	}
	err = withFd(parent, func(fd int) error { return unix.Unlinkat(fd, base, flags) })
	switch {
	case err == nil:
		return parent.Sync()
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return nil // nothing there, or a file where a marker was asked for
	case errors.Is(err, unix.EISDIR):
		return nil // a directory where a file was asked for
	case isDirKey(key) && (errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST)):
		return nil // the marker of a directory with keys under it stays
	}
	return err
}
