package faults

import (
	"context"
	"io"

	"github.com/hoardfs/hoard/ufs"
)

// maxPartialPut bounds how much of a Put's reader a midway failure consumes.
const maxPartialPut = 1 << 20

// maxPartialRead bounds where a read of unknown length fails midway.
const maxPartialRead = 256 << 10

// Stat fails before asking the wrapped UFS.
func (f *FS) Stat(ctx context.Context, key string) (ufs.ObjectInfo, error) {
	flt, err := f.enter(ctx, MethodStat)
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	if flt.fail {
		return ufs.ObjectInfo{}, injected(MethodStat, key)
	}
	return f.UFS.Stat(ctx, key)
}

// ReadRange fails to open, or returns a reader that fails partway: after a
// random number of bytes inside the range, or at its end at the latest, so
// that an injected fault is never lost on a short object.
func (f *FS) ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	flt, err := f.enter(ctx, MethodReadRange)
	if err != nil {
		return nil, err
	}
	if flt.fail && !flt.partial {
		return nil, injected(MethodReadRange, key)
	}
	rc, err := f.UFS.ReadRange(ctx, key, off, length)
	if err != nil || !flt.fail {
		return rc, err
	}
	limit := uint64(maxPartialRead)
	if length > 0 {
		limit = uint64(length)
	}
	return &failingReader{rc: rc, left: int64(flt.after % limit), err: injected(MethodReadRange, key)}, nil
}

// Put fails before storing anything; a midway failure first reads part of r,
// as an upload that drops does.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	flt, err := f.enter(ctx, MethodPut)
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	if flt.fail {
		if flt.partial && r != nil {
			_, _ = io.CopyN(io.Discard, r, int64(flt.after%maxPartialPut)+1)
		}
		return ufs.ObjectInfo{}, injected(MethodPut, key)
	}
	return f.UFS.Put(ctx, key, r, size)
}

// Copy fails before asking the wrapped UFS.
func (f *FS) Copy(ctx context.Context, src, dst string) (ufs.ObjectInfo, error) {
	flt, err := f.enter(ctx, MethodCopy)
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	if flt.fail {
		return ufs.ObjectInfo{}, injected(MethodCopy, src)
	}
	return f.UFS.Copy(ctx, src, dst)
}

// Delete fails before deleting anything.
func (f *FS) Delete(ctx context.Context, keys ...string) error {
	flt, err := f.enter(ctx, MethodDelete)
	if err != nil {
		return err
	}
	if flt.fail {
		key := ""
		if len(keys) > 0 {
			key = keys[0]
		}
		return injected(MethodDelete, key)
	}
	return f.UFS.Delete(ctx, keys...)
}

// List fails before asking the wrapped UFS.
func (f *FS) List(ctx context.Context, opts ufs.ListOptions) (ufs.ListPage, error) {
	flt, err := f.enter(ctx, MethodList)
	if err != nil {
		return ufs.ListPage{}, err
	}
	if flt.fail {
		return ufs.ListPage{}, injected(MethodList, opts.Prefix)
	}
	return f.UFS.List(ctx, opts)
}

// failingReader passes left bytes through and then fails with err; it fails
// instead of returning io.EOF if the range ends first.
type failingReader struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, r.err
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.rc.Read(p)
	r.left -= int64(n)
	if err == io.EOF {
		err = r.err
	}
	return n, err
}

func (r *failingReader) Close() error { return r.rc.Close() }
