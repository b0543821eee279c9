package retry

import (
	"context"
	"fmt"
	"io"

	"github.com/hoardfs/hoard/ufs"
)

// Stat retries the call.
func (f *FS) Stat(ctx context.Context, key string) (info ufs.ObjectInfo, err error) {
	err = f.do(ctx, "stat", key, func() error {
		info, err = f.UFS.Stat(ctx, key)
		return err
	})
	return info, err
}

// Copy retries the call: copying again is harmless.
func (f *FS) Copy(ctx context.Context, src, dst string) (info ufs.ObjectInfo, err error) {
	err = f.do(ctx, "copy", src, func() error {
		info, err = f.UFS.Copy(ctx, src, dst)
		return err
	})
	return info, err
}

// Delete retries the whole call: deleting is idempotent.
func (f *FS) Delete(ctx context.Context, keys ...string) error {
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	return f.do(ctx, "delete", key, func() error { return f.UFS.Delete(ctx, keys...) })
}

// List retries the call for the same page.
func (f *FS) List(ctx context.Context, opts ufs.ListOptions) (page ufs.ListPage, err error) {
	err = f.do(ctx, "list", opts.Prefix, func() error {
		page, err = f.UFS.List(ctx, opts)
		return err
	})
	return page, err
}

// Put retries when the body can be sent again: r is an io.Seeker, sought
// back to its position at the call, or the failed attempt read none of r.
// A seekable r is passed on as it is, so backends still see its size and
// other methods.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (info ufs.ObjectInfo, err error) {
	body := r
	var rewind func() error
	var counted *countingReader
	if s, ok := r.(io.Seeker); ok {
		if start, serr := s.Seek(0, io.SeekCurrent); serr == nil {
			rewind = func() error {
				_, err := s.Seek(start, io.SeekStart)
				return err
			}
		}
	}
	if rewind == nil && r != nil {
		counted = &countingReader{r: r}
		body = counted
	}
	first := true
	err = f.do(ctx, "put", key, func() error {
		if !first && rewind != nil {
			if err := rewind(); err != nil {
				return &noRetry{fmt.Errorf("put %q: rewinding the body to retry: %w", key, err)}
			}
		}
		first = false
		info, err = f.UFS.Put(ctx, key, body, size)
		if err != nil && ufs.IsRetryable(err) && counted != nil && counted.n > 0 {
			return &noRetry{fmt.Errorf("not retried, %d bytes of the body were consumed: %w", counted.n, err)}
		}
		return err
	})
	return info, err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadRange retries the open, and returns a reader that resumes the range
// after retryable failures.
func (f *FS) ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := f.do(ctx, "read", key, func() (err error) {
		rc, err = f.UFS.ReadRange(ctx, key, off, length)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &resumingReader{f: f, ctx: ctx, key: key, off: off, left: length, rc: rc}, nil
}

// resumingReader reads a range and, when the stream fails retryably, opens
// the rest of the range again at the offset reached.
type resumingReader struct {
	f    *FS
	ctx  context.Context
	key  string
	off  int64         // offset of the next byte
	left int64         // bytes still due; < 0: up to the end
	rc   io.ReadCloser // nil after a failure, until reopened
	shut bool          // Close was called
}

// Read returns what the current stream gives. A retryable failure after some
// bytes returns them and reopens on the next Read; a failure before any is
// retried within this Read, with backoff, under the usual limits.
func (r *resumingReader) Read(p []byte) (int, error) {
	if r.shut {
		return 0, fmt.Errorf("read %q: reader closed", r.key)
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	var n int
	var readErr error
	err := r.f.do(r.ctx, "read", r.key, func() error {
		if r.rc == nil {
			rc, err := r.f.UFS.ReadRange(r.ctx, r.key, r.off, r.left)
			if err != nil {
				return err
			}
			r.rc = rc
		}
		m, err := r.rc.Read(p)
		n = m
		r.off += int64(m)
		if r.left > 0 {
			r.left -= int64(m)
		}
		if err != nil && err != io.EOF && ufs.IsRetryable(err) {
			r.rc.Close()
			r.rc = nil
			if m > 0 {
				return nil // deliver the progress; resume on the next Read
			}
			return err
		}
		readErr = err
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, readErr
}

func (r *resumingReader) Close() error {
	r.shut = true
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	return err
}
