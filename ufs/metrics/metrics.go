// Package metrics is a UFS decorator that reports every call to a Recorder:
// requests, errors and latency per backend and method, and the bytes read
// and written. Stack it directly over the backend, under ufs/retry, so that
// each attempt of a retried call is counted as the request it is.
//
// The Recorder is an interface so that this package, like every ufs
// package, imports nothing of Hoard's above ufs; store/metrics.Registry
// implements it.
package metrics

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/hoardfs/hoard/ufs"
)

// Recorder receives the measurements. Its methods are called on every UFS
// call and must be cheap and safe for concurrent use.
type Recorder interface {
	// UFSRequest records one call of method on backend that started at
	// start and returned err.
	UFSRequest(backend, method string, start time.Time, err error)
	// UFSError records a failure after the call returned: a ReadRange body
	// that broke while being read.
	UFSError(backend, method string, err error)
	// UFSBytes records bytes read from and written to backend.
	UFSBytes(backend string, read, written int64)
}

// FS reports the calls to the UFS it wraps.
type FS struct {
	ufs.UFS
	rec     Recorder
	backend string
}

var _ ufs.UFS = (*FS)(nil)
var _ ufs.Unwrapper = (*FS)(nil)

// New wraps u. backend is the backend label, such as "oss"; "" takes the
// scheme of u.String() ("oss://bucket/dir" gives "oss", a local directory
// "local"). A nil rec returns u unwrapped: metrics off cost nothing.
func New(u ufs.UFS, rec Recorder, backend string) ufs.UFS {
	if rec == nil {
		return u
	}
	if backend == "" {
		backend = Scheme(u.String())
	}
	return &FS{UFS: u, rec: rec, backend: backend}
}

// Scheme is the backend label for a UFS URI or name: its scheme, with
// file:// and plain paths called "local".
func Scheme(uri string) string {
	s, _, ok := strings.Cut(uri, "://")
	if !ok || s == "" || s == "file" {
		return "local"
	}
	return strings.ToLower(s)
}

// Unwrap returns the wrapped UFS.
func (f *FS) Unwrap() ufs.UFS { return f.UFS }

func (f *FS) Stat(ctx context.Context, key string) (ufs.ObjectInfo, error) {
	start := time.Now()
	info, err := f.UFS.Stat(ctx, key)
	f.rec.UFSRequest(f.backend, "Stat", start, err)
	return info, err
}

// ReadRange times the call until the body is ready to read (the time to
// the first byte, what a reader waits for), and counts the body's bytes
// and failure as it is read.
func (f *FS) ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	start := time.Now()
	rc, err := f.UFS.ReadRange(ctx, key, off, length)
	f.rec.UFSRequest(f.backend, "ReadRange", start, err)
	if err != nil {
		return nil, err
	}
	return &body{ReadCloser: rc, f: f}, nil
}

// Put counts the object's size once it is stored. The body is passed on
// untouched: backends look for io.Seeker and io.ReaderAt on it to upload
// parts in parallel and to retry, which a counting wrapper would hide.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	start := time.Now()
	info, err := f.UFS.Put(ctx, key, r, size)
	f.rec.UFSRequest(f.backend, "Put", start, err)
	if err == nil {
		f.rec.UFSBytes(f.backend, 0, info.Size)
	}
	return info, err
}

func (f *FS) Copy(ctx context.Context, src, dst string) (ufs.ObjectInfo, error) {
	start := time.Now()
	info, err := f.UFS.Copy(ctx, src, dst)
	f.rec.UFSRequest(f.backend, "Copy", start, err)
	return info, err
}

func (f *FS) Delete(ctx context.Context, keys ...string) error {
	start := time.Now()
	err := f.UFS.Delete(ctx, keys...)
	f.rec.UFSRequest(f.backend, "Delete", start, err)
	return err
}

func (f *FS) List(ctx context.Context, opts ufs.ListOptions) (ufs.ListPage, error) {
	start := time.Now()
	page, err := f.UFS.List(ctx, opts)
	f.rec.UFSRequest(f.backend, "List", start, err)
	return page, err
}

// Capabilities, String and Close are not requests to the store; they are
// overridden only so that every method of the interface is accounted for
// here, in one place.

func (f *FS) Capabilities() ufs.Capabilities { return f.UFS.Capabilities() }
func (f *FS) String() string                 { return f.UFS.String() }
func (f *FS) Close() error                   { return f.UFS.Close() }

// body counts what is read from a ReadRange body as it is read, so that a
// long stream shows in the rates while it runs, and reports a failure when
// one happens.
type body struct {
	io.ReadCloser
	f      *FS
	failed bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.f.rec.UFSBytes(b.f.backend, int64(n), 0)
	}
	if err != nil && err != io.EOF && !b.failed {
		b.failed = true
		b.f.rec.UFSError(b.f.backend, "ReadRange", err)
	}
	return n, err
}
