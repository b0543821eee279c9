package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/hoardfs/hoard/ufs"
)

// Stat is a HEAD on the object; "dir/" finds a marker object only.
func (f *FS) Stat(ctx context.Context, key string) (ufs.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ufs.ObjectInfo{}, fmt.Errorf("s3 stat %s: %w", f.uri(key), err)
	}
	oi, err := f.client.StatObject(ctx, f.bucket, f.objectName(key), minio.StatObjectOptions{})
	if err != nil {
		return ufs.ObjectInfo{}, f.opError(ctx, "stat", key, err)
	}
	return fromMinio(key, oi), nil
}

// ReadRange is one ranged GET. The request is made before ReadRange
// returns, so a missing key is reported here and not at the first Read.
func (f *FS) ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("s3 read %s: %w", f.uri(key), err)
	}
	if off < 0 {
		return nil, fmt.Errorf("s3 read %s: negative offset %d", f.uri(key), off)
	}
	if length == 0 {
		// No byte range means "nothing"; only existence is left to report.
		info, err := f.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if err := ufs.CheckETag(ctx, f.uri(key), info.ETag); err != nil {
			return nil, fmt.Errorf("s3 %w", err)
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	var opts minio.GetObjectOptions
	if etag := ufs.IfMatch(ctx); etag != "" {
		_ = opts.SetMatchETag(etag) // cannot fail for a non-empty ETag
	}
	switch {
	case length > 0:
		err := opts.SetRange(off, off+length-1)
		if err != nil {
			return nil, fmt.Errorf("s3 read %s: %w", f.uri(key), err)
		}
	case off > 0:
		_ = opts.SetRange(off, 0) // "bytes=off-"; cannot fail for off > 0
	}
	body, info, _, err := minio.Core{Client: f.client}.GetObject(ctx, f.bucket, f.objectName(key), opts)
	if err != nil {
		switch minio.ToErrorResponse(err).StatusCode {
		case http.StatusRequestedRangeNotSatisfiable:
			// The object exists and the range starts at or past its end.
			return io.NopCloser(bytes.NewReader(nil)), nil
		case http.StatusPreconditionFailed:
			return nil, fmt.Errorf("s3 read %s: it is no longer the version with ETag %s: %w", f.uri(key), ufs.IfMatch(ctx), ufs.ErrChanged)
		}
		return nil, f.opError(ctx, "read", key, err)
	}
	if err := ufs.CheckETag(ctx, f.uri(key), info.ETag); err != nil {
		body.Close()
		return nil, fmt.Errorf("s3 %w", err)
	}
	return &bodyReader{ReadCloser: body, ctx: ctx, f: f, key: key}, nil
}

// bodyReader classifies errors from the middle of a response body (a cut
// connection is retryable) and names the key in them. It also stops at
// once when the context is cancelled: net/http notices that only when its
// read loop runs, and until then hands out what the socket has buffered.
type bodyReader struct {
	io.ReadCloser
	ctx context.Context
	f   *FS
	key string
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, r.f.opError(r.ctx, "read", r.key, err)
	}
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = r.f.opError(r.ctx, "read", r.key, err)
	}
	return n, err
}

// Put uploads r as the object at key. With size < 0 it reads up to one part
// first: what fits goes up as a single PUT, the rest as a multipart upload.
// Either way S3 makes the object visible only once it is complete.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ufs.ObjectInfo{}, fmt.Errorf("s3 put %s: %w", f.uri(key), err)
	}
	src := &sourceReader{r: r, ctx: ctx}
	body, want := io.Reader(src), size
	if size < 0 {
		bp := f.bufs.Get().(*[]byte)
		defer f.bufs.Put(bp)
		n, err := io.ReadFull(src, *bp)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			body, size = bytes.NewReader((*bp)[:n]), int64(n)
		case err != nil:
			return ufs.ObjectInfo{}, f.putError(ctx, key, src, -1, err)
		default:
			body = io.MultiReader(bytes.NewReader(*bp), src)
		}
	}
	up, err := f.client.PutObject(ctx, f.bucket, f.objectName(key), body, size, minio.PutObjectOptions{
		PartSize:              partSize,
		NumThreads:            putThreads,
		ConcurrentStreamParts: true,
		// Send bodies as UNSIGNED-PAYLOAD, as minio-go always does over
		// HTTPS, instead of its aws-chunked streaming signature over plain
		// HTTP: that costs a SHA-256 of every byte on the daemon's CPU,
		// some S3 clones do not decode it in UploadPart (gofakes3 stores
		// the chunk framing as data), and minio-go sends it without a
		// Content-Length for an empty body (411 MissingContentLength).
		// Headers stay signed, and HTTP and HTTPS take the same path.
		DisableContentSha256: true,
	})
	if err != nil {
		return ufs.ObjectInfo{}, f.putError(ctx, key, src, want, err)
	}
	info := ufs.ObjectInfo{Key: key, Size: up.Size, ETag: up.ETag, ModTime: up.LastModified.Truncate(time.Second)}
	return f.settle(ctx, info), nil
}

// putError tells apart why a Put failed: the caller cancelled, the source
// failed or ended short (the caller's fault, never retryable), or S3 did.
func (f *FS) putError(ctx context.Context, key string, src *sourceReader, want int64, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("s3 put %s: %w", f.uri(key), ctx.Err())
	case src.err != nil:
		return fmt.Errorf("s3 put %s: reading the source: %w", f.uri(key), src.err)
	case want >= 0 && src.eof && src.n < want:
		return fmt.Errorf("s3 put %s: the source ended after %d of %d bytes: %w", f.uri(key), src.n, want, err)
	}
	return f.opError(ctx, "put", key, err)
}

// sourceReader remembers the caller's read error so that Put can tell it
// from an S3 failure. It also stops yielding data once the context is
// cancelled: net/http's write loop would otherwise keep sending the body
// until it notices, and a body that arrives whole is an object S3 commits.
type sourceReader struct {
	r   io.Reader
	ctx context.Context
	n   int64 // bytes read so far
	eof bool
	err error // the first error other than io.EOF
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil && s.err == nil:
		s.err = err
	}
	return n, err
}

// settle fills in the modification time, which an S3 PUT answer does not
// carry, from a HEAD, so the fingerprint matches what Stat and List report.
// If the object changed in between (another writer), the written version's
// ETag and size stand and ModTime stays as the answer gave it: the store
// then sees a mismatch and re-syncs, which is right.
func (f *FS) settle(ctx context.Context, info ufs.ObjectInfo) ufs.ObjectInfo {
	if !info.ModTime.IsZero() {
		return info
	}
	st, err := f.Stat(ctx, info.Key)
	if err != nil || st.ETag != info.ETag {
		return info
	}
	return st
}

// Copy copies src to dst on the server. The source is stat'ed first, to
// report a missing source by its key, to pick CopyObject or ComposeObject by
// size, and to pin the copy to that version (x-amz-copy-source-if-match).
func (f *FS) Copy(ctx context.Context, src, dst string) (ufs.ObjectInfo, error) {
	if err := checkKey(dst); err != nil {
		return ufs.ObjectInfo{}, fmt.Errorf("s3 copy %s: %w", f.uri(dst), err)
	}
	if err := checkKey(src); err != nil {
		return ufs.ObjectInfo{}, fmt.Errorf("s3 copy from %s: %w", f.uri(src), err)
	}
	oi, err := f.client.StatObject(ctx, f.bucket, f.objectName(src), minio.StatObjectOptions{})
	if err != nil {
		return ufs.ObjectInfo{}, f.opError(ctx, "copy from", src, err)
	}
	st := fromMinio(src, oi)
	if src == dst {
		// S3 refuses to copy an object onto itself unchanged.
		return st, nil
	}
	from := minio.CopySrcOptions{Bucket: f.bucket, Object: f.objectName(src), MatchETag: st.ETag}
	to := minio.CopyDestOptions{Bucket: f.bucket, Object: f.objectName(dst)}
	var up minio.UploadInfo
	if st.Size <= maxCopySize {
		up, err = f.client.CopyObject(ctx, to, from)
	} else {
		up, err = f.client.ComposeObject(ctx, to, from)
	}
	if err != nil {
		if minio.ToErrorResponse(err).Code == "PreconditionFailed" {
			// src was replaced after the Stat: copying again copies the
			// new version.
			return ufs.ObjectInfo{}, ufs.Retryable(fmt.Errorf("s3 copy %s to %s: source changed during the copy: %w", f.uri(src), f.uri(dst), err))
		}
		return ufs.ObjectInfo{}, f.opError(ctx, "copy "+f.uri(src)+" to", dst, err)
	}
	info := ufs.ObjectInfo{Key: dst, Size: st.Size, ETag: up.ETag, ModTime: up.LastModified.Truncate(time.Second)}
	return f.settle(ctx, info), nil
}

// Delete removes keys with multi-object DELETE requests (minio-go sends
// them 1000 at a time). S3 reports a missing key as deleted, so Delete is
// idempotent.
func (f *FS) Delete(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return fmt.Errorf("s3 delete %s: %w", f.uri(k), err)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	objects := func(yield func(minio.ObjectInfo) bool) {
		for _, k := range keys {
			if !yield(minio.ObjectInfo{Key: f.objectName(k)}) {
				return
			}
		}
	}
	results, err := f.client.RemoveObjectsWithIter(ctx, f.bucket, iter.Seq[minio.ObjectInfo](objects), minio.RemoveObjectsOptions{})
	if err != nil {
		return f.opError(ctx, "delete", keys[0], err)
	}
	var errs []error
	for res := range results {
		if res.Err == nil {
			continue
		}
		key := res.ObjectName
		if len(key) >= len(f.root) {
			key = key[len(f.root):]
		}
		if err := f.opError(ctx, "delete", key, res.Err); !ufs.IsNotExist(err) {
			// Some S3 clones report a missing key as NoSuchKey rather
			// than as deleted; that is success here.
			errs = append(errs, err)
		}
	}
	if err := ctx.Err(); err != nil && len(errs) == 0 {
		// The iterator stops quietly on cancellation; say so.
		return fmt.Errorf("s3 delete %s: %w", f.uri(keys[0]), err)
	}
	return errors.Join(errs...)
}
