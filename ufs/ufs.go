// Package ufs defines the under file system: the object store that Hoard
// persists every file to, and from which it reads what is not cached.
//
// The interface is object-store shaped on purpose. A UFS holds objects under
// string keys relative to the UFS root ("a/b.txt", never a leading slash);
// directories are key prefixes, and an empty directory is a zero-byte marker
// object whose key ends in "/" ("a/"). Whatever Hoard writes through a UFS is
// a plain object that any other tool for that store can read.
//
// Every method takes a context first and must return promptly once it is
// cancelled. Errors are classified with IsNotExist and IsRetryable; backends
// wrap their native errors so that errors.Is(err, ErrNotExist) works, and
// include the key in the message.
//
// Decorators (fault injection, retries, metrics) embed a UFS and override only
// what they change; Unwrap gives the inner one.
package ufs

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotExist is returned (wrapped) when a key does not exist.
var ErrNotExist = errors.New("ufs: object does not exist")

// ErrRetryable marks a transient failure (5xx, timeout, dropped connection):
// the same call may succeed if repeated. Backends wrap it; see Retryable.
var ErrRetryable = errors.New("ufs: transient failure")

// ErrPermission is returned (wrapped) when the store refuses the credentials
// or the signature (403).
var ErrPermission = errors.New("ufs: permission denied")

// IsNotExist reports whether err says that a key does not exist.
func IsNotExist(err error) bool { return errors.Is(err, ErrNotExist) }

// IsRetryable reports whether err is a transient failure worth retrying.
func IsRetryable(err error) bool { return errors.Is(err, ErrRetryable) }

// Retryable wraps err so that IsRetryable reports true for it.
func Retryable(err error) error {
	if err == nil || IsRetryable(err) {
		return err
	}
	return &retryableError{err}
}

type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() []error {
	return []error{e.err, ErrRetryable}
}

// ObjectInfo describes one object. Its ETag, Size and ModTime together are
// the fingerprint Hoard keeps to detect changes made outside of it.
type ObjectInfo struct {
	Key     string    // relative to the UFS root; directory markers end in "/"
	Size    int64     // bytes
	ETag    string    // as the store reports it, without quotes
	ModTime time.Time // last modification as the store reports it
}

// ListOptions selects one page of a listing.
type ListOptions struct {
	// Prefix limits the listing to keys that start with it.
	Prefix string
	// Delimiter, when "/", rolls keys that contain it after the prefix up
	// into CommonPrefixes, so a listing shows one directory level.
	Delimiter string
	// StartAfter lists only keys (and common prefixes) strictly greater than
	// it; pass the previous page's NextStartAfter to continue.
	StartAfter string
	// MaxKeys bounds Objects+CommonPrefixes in one page; 0 means 1000.
	MaxKeys int
}

// ListPage is one page of a listing, in ascending key order.
type ListPage struct {
	Objects        []ObjectInfo
	CommonPrefixes []string // each ends with the delimiter
	// Truncated is true when more entries follow; list again with
	// StartAfter = NextStartAfter.
	Truncated      bool
	NextStartAfter string
}

// UFS is an object store rooted at some bucket and prefix.
//
// Implementations must be safe for concurrent use.
type UFS interface {
	// Stat returns the object at key, or an error for which IsNotExist is
	// true. Stat of "dir/" finds a directory marker only, not a prefix.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// ReadRange returns a reader of length bytes of the object at key,
	// starting at off. length < 0 reads to the end. A range that starts at
	// or beyond the end yields an empty reader, not an error. The caller
	// closes the reader. With a ctx from WithIfMatch it reads only that
	// version of the object, failing with ErrChanged on another.
	ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error)

	// Put stores everything r yields as the object at key, replacing any
	// object there. size is the length when known, or -1. The object
	// appears whole or not at all: a failed or cancelled Put leaves the old
	// object (or none) in place. A key ending in "/" with an empty reader
	// creates a directory marker.
	Put(ctx context.Context, key string, r io.Reader, size int64) (ObjectInfo, error)

	// Copy copies the object at src to dst inside the same store, server
	// side where the store can; IsNotExist when src is missing.
	Copy(ctx context.Context, src, dst string) (ObjectInfo, error)

	// Delete removes the objects at keys. Keys that do not exist are not an
	// error, so Delete is idempotent. Deleting a directory marker removes
	// the marker only, never the keys under it.
	Delete(ctx context.Context, keys ...string) error

	// List returns one page of the keys under opts.Prefix.
	List(ctx context.Context, opts ListOptions) (ListPage, error)

	// Capabilities describes what the backend can do; plain data.
	Capabilities() Capabilities

	// String names the UFS for logs and errors, e.g. "oss://bucket/dir".
	// It never includes credentials.
	String() string

	// Close releases the backend's resources.
	Close() error
}

// Capabilities is what a backend can do, as plain data.
type Capabilities struct {
	// ImplicitDirs is true when every prefix with keys under it is a
	// directory marker too and markers cannot exist apart from a real
	// directory (the local file system). Object stores report false.
	ImplicitDirs bool
	// ServerSideCopy is true when Copy does not move the bytes through the
	// client.
	ServerSideCopy bool
}

// Unwrapper is implemented by decorators.
type Unwrapper interface {
	Unwrap() UFS
}

// ReadFull reads the whole range [off, off+len(p)) of key into p. It returns
// io.ErrUnexpectedEOF when the object is shorter.
func ReadFull(ctx context.Context, u UFS, key string, off int64, p []byte) error {
	rc, err := u.ReadRange(ctx, key, off, int64(len(p)))
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.ReadFull(rc, p)
	return err
}
