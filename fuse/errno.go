package fuse

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/hoardfs/hoard/store"
)

// errno turns a store error into the errno the kernel gets. It is the only
// place that does: every handler returns m.errno(op, err).
//
// Ordinary answers (ENOENT, EEXIST, ...) are logged at debug level; what
// hints at a fault (EIO, ENOSPC, ...) at warn, with the operation and the
// path the store error carries.
func (m *mountState) errno(op string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The kernel interrupted the request (a signal to the caller).
		e = syscall.EINTR
	case errors.Is(err, io.ErrUnexpectedEOF):
		e = syscall.EIO
	default:
		e = store.Errno(err)
	}
	if e == syscall.EOPNOTSUPP {
		// go-fuse's ENOTSUP is the same number; say it once.
		e = syscall.ENOTSUP
	}
	if serious(e) {
		m.log.Warn("fuse: "+op+" failed", "err", err, "errno", e.Error())
	} else {
		m.log.Debug("fuse: "+op, "err", err)
	}
	return e
}

// serious reports whether errno e hints at a fault rather than answering a
// question about the namespace.
func serious(e syscall.Errno) bool {
	switch e {
	case syscall.ENOENT, syscall.EEXIST, syscall.ENOTDIR, syscall.EISDIR,
		syscall.ENOTEMPTY, syscall.EINVAL, syscall.ENAMETOOLONG, syscall.EXDEV,
		syscall.EROFS, syscall.ESTALE, syscall.ENODATA, syscall.EPERM,
		syscall.EACCES, syscall.EBADF, syscall.ERANGE, syscall.ELOOP,
		syscall.EINTR, syscall.ENOTSUP, syscall.E2BIG, syscall.EFBIG:
		return false
	}
	return true
}
