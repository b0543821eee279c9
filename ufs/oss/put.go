package oss

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// Put stores r at key: one streamed PutObject up to the multipart
// threshold, a parallel multipart upload above it. A stream of unknown
// size (size < 0) is buffered until it passes the threshold or ends.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	if err := f.checkKey("put", key); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if size >= 0 && size <= f.threshold {
		// Content-Length is size; a source shorter than that fails the
		// request instead of storing less.
		return f.putObject(ctx, key, &io.LimitedReader{R: r, N: size}, size)
	}
	var head [][]byte
	if size < 0 {
		var total int64
		var done bool
		var err error
		head, total, done, err = f.readHead(r)
		if err != nil {
			return ufs.ObjectInfo{}, fmt.Errorf("oss: put %s: reading the source: %w", f.uri(key), err)
		}
		if done {
			info, err := f.putObject(ctx, key, io.MultiReader(readers(head)...), total)
			if err == nil {
				for _, b := range head {
					f.putBuf(b)
				}
			}
			return info, err
		}
	}
	etag, total, err := f.multipartUpload(ctx, key, head, r, size)
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	return f.infoAfterWrite(ctx, key, etag, total, nil), nil
}

// putObject is one PutObject of size bytes from r. The SDK learns the
// Content-Length from ctxReader's Len.
func (f *FS) putObject(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	var h http.Header
	r = &ctxReader{ctx: ctx, r: r, n: size}
	err := f.bucket.PutObject(f.key(key), r, oss.WithContext(ctx), oss.GetResponseHeader(&h))
	if err != nil {
		return ufs.ObjectInfo{}, f.errorf(ctx, "put", key, err)
	}
	return f.infoAfterWrite(ctx, key, trimETag(h.Get("ETag")), size, h), nil
}

// ctxReader fails once ctx is done. The transport only stops sending a
// body when it next looks at the context; a body read from memory may be
// sent whole before that, and OSS would store an object whose Put was
// cancelled. Failing the read instead makes the transport break the
// request off short of its Content-Length, so OSS stores nothing.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	n   int64 // bytes still to come; the SDK needs the length up front
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if err == io.EOF && c.ctx.Err() != nil {
		return n, c.ctx.Err()
	}
	return n, err
}

// Len tells the SDK the Content-Length (it asks readers for Len).
func (c *ctxReader) Len() int { return int(c.n) }

// readHead reads a stream of unknown length in parts of partSize until it
// has more than threshold bytes (done == false: go multipart, these are
// the first parts) or the stream ends (done == true: one PutObject).
func (f *FS) readHead(r io.Reader) (parts [][]byte, total int64, done bool, err error) {
	for total <= f.threshold {
		buf := f.getBuf()
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			parts = append(parts, buf[:n])
			total += int64(n)
		} else {
			f.putBuf(buf)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return parts, total, true, nil
		}
		if err != nil {
			return nil, 0, false, err
		}
	}
	return parts, total, false, nil
}

func readers(parts [][]byte) []io.Reader {
	rs := make([]io.Reader, len(parts))
	for i, p := range parts {
		rs[i] = bytes.NewReader(p)
	}
	return rs
}

// getBuf returns a buffer of partSize bytes, recycled when possible.
func (f *FS) getBuf() []byte {
	if p, ok := f.bufs.Get().(*[]byte); ok {
		return (*p)[:f.partSize]
	}
	return make([]byte, f.partSize)
}

// putBuf recycles a buffer from getBuf. Only buffers no request may still
// be reading go back: see multipartUpload.
func (f *FS) putBuf(b []byte) {
	if int64(cap(b)) == f.partSize {
		b = b[:cap(b)]
		f.bufs.Put(&b)
	}
}

// errSourceSize is a source that did not yield the size Put was given.
var errSourceSize = errors.New("source length differs from the size given")
