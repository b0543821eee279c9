package oss

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// abortTimeout bounds the AbortMultipartUpload that follows a failure. It
// runs even when the call's context is cancelled, or parts would linger.
const abortTimeout = 30 * time.Second

// stepAttempts is how often one request of a multipart upload (initiate, a
// part, complete, abort) is tried before the upload fails. Retrying the
// request alone keeps the parts already uploaded: a retry of the whole Put
// starts again from part 1, and under a steady error rate an upload of
// many parts would almost never get through.
const stepAttempts = 5

// step runs fn, one request of a multipart upload, until it succeeds, fails
// with an error that is not retryable, or stepAttempts have failed; it
// backs off 100 ms, 200 ms, ... (up to 2 s, with jitter) in between.
func (f *FS) step(ctx context.Context, op, key string, fn func(ctx context.Context) error) error {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := f.errorf(ctx, op, key, fn(ctx))
		if err == nil || attempt == stepAttempts || !ufs.IsRetryable(err) {
			return err
		}
		select {
		case <-time.After(delay/2 + rand.N(delay)):
		case <-ctx.Done():
			return f.errorf(ctx, op, key, ctx.Err())
		}
		delay = min(2*delay, 2*time.Second)
	}
}

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
	imur, err := f.initiate(ctx, "put", key)
	if err != nil {
		return "", 0, err
	}
	log := f.log.With("key", key, "upload_id", imur.UploadID)
	log.Debug("oss multipart upload started", "part_size", partSize, "concurrency", f.concurrency)
	defer func() {
		if err != nil {
			f.abort(ctx, log, key, imur)
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
		var p oss.UploadPart
		err := f.step(uctx, fmt.Sprintf("put (upload part %d)", num), key, func(ctx context.Context) (err error) {
			p, err = f.bucket.UploadPart(imur, bytes.NewReader(buf), int64(len(buf)), num, oss.WithContext(ctx))
			return err
		})
		if err != nil {
			// The transport may still hold buf: let it go to the GC.
			cancel(err)
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
	var res oss.CompleteMultipartUploadResult
	err = f.step(ctx, "put (complete multipart upload)", key, func(ctx context.Context) (err error) {
		res, err = f.bucket.CompleteMultipartUpload(imur, parts, oss.WithContext(ctx))
		return err
	})
	if ufs.IsNotExist(err) {
		// A complete whose answer was lost finds the upload gone when it
		// is tried again: the object may or may not be there. The Put
		// fails retryably, and its retry uploads the object again.
		return "", 0, ufs.Retryable(err)
	}
	if err != nil {
		return "", 0, err
	}
	log.Debug("oss multipart upload completed", "parts", len(parts), "bytes", total)
	return trimETag(res.ETag), total, nil
}

// initiate starts a multipart upload of key. An initiate whose answer was
// lost may have started an upload all the same, which nothing would ever
// complete or abort; so when it took more than one try, the other uploads
// of key begun since the first try are aborted. (The store lets one writer
// at a time upload a key; another daemon's upload of the same key begun in
// that moment would fail and be tried again.)
func (f *FS) initiate(ctx context.Context, op, key string) (oss.InitiateMultipartUploadResult, error) {
	start := time.Now()
	tries := 0
	var imur oss.InitiateMultipartUploadResult
	err := f.step(ctx, op+" (initiate multipart upload)", key, func(ctx context.Context) (err error) {
		tries++
		imur, err = f.bucket.InitiateMultipartUpload(f.key(key), oss.WithContext(ctx))
		return err
	})
	if tries > 1 {
		f.abortStrays(ctx, key, imur.UploadID, start)
	}
	return imur, err
}

// strayWindow is how much earlier than our first try, by our clock, a stray
// upload may say it began: the server's clock may be behind ours.
const strayWindow = time.Minute

// abortStrays aborts the uploads of key other than keep that began after
// since (less strayWindow). It does its best: a failure is only logged.
func (f *FS) abortStrays(ctx context.Context, key, keep string, since time.Time) {
	full := f.key(key)
	opts := []oss.Option{oss.Prefix(full)}
	for {
		var res oss.ListMultipartUploadResult
		err := f.step(ctx, "put (list multipart uploads)", key, func(ctx context.Context) (err error) {
			res, err = f.bucket.ListMultipartUploads(append(opts, oss.WithContext(ctx))...)
			return err
		})
		if err != nil {
			f.log.Warn("oss: looking for multipart uploads a lost answer may have started", "key", key, "err", err)
			return
		}
		for _, u := range res.Uploads {
			if u.Key == full && u.UploadID != keep && !u.Initiated.Before(since.Add(-strayWindow)) {
				f.abort(ctx, f.log.With("key", key, "upload_id", u.UploadID), key,
					oss.InitiateMultipartUploadResult{Bucket: f.bucketName, Key: full, UploadID: u.UploadID})
			}
		}
		if !res.IsTruncated {
			return
		}
		opts = []oss.Option{oss.Prefix(full), oss.KeyMarker(res.NextKeyMarker), oss.UploadIDMarker(res.NextUploadIDMarker)}
	}
}

// abort cancels a multipart upload so OSS drops its parts. It gets a
// context of its own, because it must run after the call's was cancelled.
func (f *FS) abort(ctx context.Context, log *slog.Logger, key string, imur oss.InitiateMultipartUploadResult) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	err := f.step(actx, "put (abort multipart upload)", key, func(ctx context.Context) error {
		return f.bucket.AbortMultipartUpload(imur, oss.WithContext(ctx))
	})
	if err != nil && !ufs.IsNotExist(err) { // gone: an earlier try did it
		log.Warn("oss: abort multipart upload failed; its parts stay until a lifecycle rule removes them", "err", err)
	}
}
