package store

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/hoardfs/hoard/store/cache"
)

// The store's errors are POSIX errnos, so that the FUSE layer passes them to
// the kernel as they are and the gateway maps each to one S3 error code.
// Match them with errors.Is; they arrive wrapped in *OpError, which names the
// operation and the path.
var (
	ErrNotExist    error = syscall.ENOENT
	ErrExist       error = syscall.EEXIST
	ErrNotDir      error = syscall.ENOTDIR
	ErrIsDir       error = syscall.EISDIR
	ErrNotEmpty    error = syscall.ENOTEMPTY
	ErrInvalid     error = syscall.EINVAL
	ErrNameTooLong error = syscall.ENAMETOOLONG
	ErrNoSpace     error = syscall.ENOSPC
	ErrCrossMount  error = syscall.EXDEV
	ErrReadOnly    error = syscall.EROFS
	ErrStale       error = syscall.ESTALE
	ErrIO          error = syscall.EIO
	ErrNoAttr      error = syscall.ENODATA
	ErrPerm        error = syscall.EPERM
	ErrBadFD       error = syscall.EBADF
	ErrRange       error = syscall.ERANGE
	ErrTooBig      error = syscall.EFBIG
	ErrLoop        error = syscall.ELOOP
	ErrBusy        error = syscall.EBUSY
	// ErrBadDigest: an object's content does not match the MD5 its writer
	// announced. It is EINVAL to POSIX callers.
	ErrBadDigest = fmt.Errorf("content does not match the digest given: %w", syscall.EINVAL)
)

// OpError records a failed operation and the path (or inode) it was on.
type OpError struct {
	Op   string
	Path string
	Err  error
}

func (e *OpError) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }
func (e *OpError) Unwrap() error { return e.Err }

func opErr(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var oe *OpError
	if errors.As(err, &oe) {
		return err
	}
	if errors.Is(err, cache.ErrNoSpace) {
		err = fmt.Errorf("%w (%v)", ErrNoSpace, err)
	}
	return &OpError{Op: op, Path: path, Err: err}
}

// Errno returns the POSIX errno that err carries, EIO when it carries none.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
