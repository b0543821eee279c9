package oss

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// abortTimeout bounds the AbortMultipartUpload that follows a failure. It
// runs even when the call's context is cancelled, or parts would linger.
const abortTimeout = 30 * time.Second

// multipartUpload uploads head and then the rest of r as parts, in
// parallel, and completes the upload. size is the total when known, else
// -1. Parts are read one after another into buffers of partSize; at most
// concurrency of them are in flight, so memory stays within
// concurrency × partSize beyond head. On any error the upload is aborted.
func (f *FS) multipartUpload(ctx context.Context, key string, head [][]byte, r io.Reader, size int64) (etag string, total int64, err error) {
	partSize := f.partSize
	if size > 0 {
		// OSS allows 10000 parts: grow the parts of a huge object.
		partSize = max(partSize, (size+maxParts-1)/maxParts)
	}
	imur, err := f.bucket.InitiateMultipartUpload(f.key(key), oss.WithContext(ctx))
	if err != nil {
		return "", 0, f.errorf(ctx, "put (initiate multipart upload)", key, err)
	}
	log := f.log.With("key", key, "upload_id", imur.UploadID)
	log.Debug("oss multipart upload started", "part_size", partSize, "concurrency", f.concurrency)
	defer func() {
		if err != nil {
			f.abort(ctx, log, imur)
		}
	}()

	uctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		parts []oss.UploadPart
		slots = make(chan struct{}, f.concurrency)
	)
	upload := func(num int, buf []byte) {
		defer wg.Done()
		defer func() { <-slots }()
		p, err := f.bucket.UploadPart(imur, bytes.NewReader(buf), int64(len(buf)), num, oss.WithContext(uctx))
		if err != nil {
			// The transport may still hold buf: let it go to the GC.
			cancel(f.errorf(ctx, fmt.Sprintf("put (upload part %d)", num), key, err))
			return
		}
		if int64(cap(buf)) == f.partSize {
			f.putBuf(buf)
		}
		mu.Lock()
		parts = append(parts, p)
		mu.Unlock()
	}

	next := func() ([]byte, bool, error) { // the next part, whether it is the last
		if len(head) > 0 {
			b := head[0]
			head = head[1:]
			return b, false, nil
		}
		n := partSize
		if size >= 0 {
			n = min(partSize, size-total)
		}
		var buf []byte
		if n == f.partSize {
			buf = f.getBuf()
		} else {
			buf = make([]byte, n)
		}
		m, err := io.ReadFull(r, buf)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return buf[:m], true, nil
		case err != nil:
			return nil, false, err
		case size >= 0 && total+int64(m) == size:
			return buf[:m], true, nil
		}
		return buf[:m], false, nil
	}

	var readErr error
	for num := 1; ; num++ {
		select {
		case slots <- struct{}{}:
		case <-uctx.Done():
		}
		if uctx.Err() != nil {
			break
		}
		buf, last, err := next()
		if err != nil {
			<-slots
			readErr = fmt.Errorf("oss: put %s: reading the source: %w", f.uri(key), err)
			break
		}
		if len(buf) == 0 && num > 1 {
			<-slots // the stream ended on a part boundary
			f.putBuf(buf)
			break
		}
		if num > maxParts {
			<-slots
			readErr = fmt.Errorf("oss: put %s: more than %d parts of %d bytes: raise %s", f.uri(key), maxParts, partSize, KeyMultipartPartSize)
			break
		}
		total += int64(len(buf))
		wg.Add(1)
		go upload(num, buf)
		if last {
			break
		}
	}
	wg.Wait()

	if readErr != nil {
		return "", 0, readErr
	}
	if cause := context.Cause(uctx); cause != nil {
		if ctx.Err() != nil {
			return "", 0, f.errorf(ctx, "put", key, ctx.Err())
		}
		return "", 0, cause
	}
	if size >= 0 && total != size {
		return "", 0, fmt.Errorf("oss: put %s: %w: got %d bytes, want %d", f.uri(key), errSourceSize, total, size)
	}
	if size >= 0 {
		// The source must end where size says.
		if n, _ := r.Read(make([]byte, 1)); n > 0 {
			return "", 0, fmt.Errorf("oss: put %s: %w: more than %d bytes", f.uri(key), errSourceSize, size)
		}
	}

	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	res, err := f.bucket.CompleteMultipartUpload(imur, parts, oss.WithContext(ctx))
	if err != nil {
		return "", 0, f.errorf(ctx, "put (complete multipart upload)", key, err)
	}
	log.Debug("oss multipart upload completed", "parts", len(parts), "bytes", total)
	return trimETag(res.ETag), total, nil
}

// abort cancels a multipart upload so OSS drops its parts. It gets a
// context of its own, because it must run after the call's was cancelled.
func (f *FS) abort(ctx context.Context, log *slog.Logger, imur oss.InitiateMultipartUploadResult) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	if err := f.bucket.AbortMultipartUpload(imur, oss.WithContext(actx)); err != nil {
		log.Warn("oss: abort multipart upload failed; its parts stay until a lifecycle rule removes them", "err", err)
	}
}
