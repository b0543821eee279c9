package oss

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// Copy copies src to dst inside the bucket: CopyObject up to
// fs.oss.multipart.copyThreshold (OSS's CopyObject stops at 1 GiB), a
// multipart upload of UploadPartCopy parts above it. No byte passes through
// Hoard either way.
func (f *FS) Copy(ctx context.Context, src, dst string) (ufs.ObjectInfo, error) {
	if err := f.checkKey("copy to", dst); err != nil {
		return ufs.ObjectInfo{}, err
	}
	si, err := f.Stat(ctx, src)
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	if si.Size > f.copyThreshold {
		etag, err := f.multipartCopy(ctx, src, dst, si)
		if err != nil {
			return ufs.ObjectInfo{}, err
		}
		return f.infoAfterWrite(ctx, dst, etag, si.Size, nil), nil
	}
	res, err := f.bucket.CopyObject(f.key(src), f.key(dst), oss.WithContext(ctx))
	if err != nil {
		return ufs.ObjectInfo{}, f.errorf(ctx, "copy from "+f.uri(src)+" to", dst, err)
	}
	info := ufs.ObjectInfo{Key: dst, Size: si.Size, ETag: trimETag(res.ETag), ModTime: res.LastModified.UTC()}
	if info.ETag != si.ETag {
		// src changed between the Stat and the copy: its size may have too.
		return f.Stat(ctx, dst)
	}
	return info, nil
}

// multipartCopy assembles dst from ranges of src with UploadPartCopy,
// concurrency parts at a time. Every part is copied only if src still has
// the ETag Stat saw, so a src replaced mid-copy fails the copy instead of
// mixing two versions. On any error the upload is aborted.
func (f *FS) multipartCopy(ctx context.Context, src, dst string, si ufs.ObjectInfo) (etag string, err error) {
	partSize := max(f.copyPart, (si.Size+maxParts-1)/maxParts)
	imur, err := f.initiate(ctx, "copy", dst)
	if err != nil {
		return "", err
	}
	log := f.log.With("key", dst, "upload_id", imur.UploadID)
	defer func() {
		if err != nil {
			f.abort(ctx, log, dst, imur)
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
	for num, off := 1, int64(0); off < si.Size; num, off = num+1, off+partSize {
		select {
		case slots <- struct{}{}:
		case <-uctx.Done():
		}
		if uctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func(num int, off, n int64) {
			defer wg.Done()
			defer func() { <-slots }()
			var p oss.UploadPart
			err := f.step(uctx, fmt.Sprintf("copy from %s (part %d) to", f.uri(src), num), dst, func(ctx context.Context) (err error) {
				p, err = f.bucket.UploadPartCopy(imur, f.bucketName, f.key(src), off, n, num,
					oss.WithContext(ctx), oss.CopySourceIfMatch(`"`+si.ETag+`"`))
				return err
			})
			if err != nil {
				cancel(err)
				return
			}
			mu.Lock()
			parts = append(parts, p)
			mu.Unlock()
		}(num, off, min(partSize, si.Size-off))
	}
	wg.Wait()
	if cause := context.Cause(uctx); cause != nil {
		if ctx.Err() != nil {
			return "", f.errorf(ctx, "copy", dst, ctx.Err())
		}
		return "", cause
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].PartNumber < parts[j].PartNumber })
	var res oss.CompleteMultipartUploadResult
	err = f.step(ctx, "copy (complete multipart upload)", dst, func(ctx context.Context) (err error) {
		res, err = f.bucket.CompleteMultipartUpload(imur, parts, oss.WithContext(ctx))
		return err
	})
	if ufs.IsNotExist(err) {
		return "", ufs.Retryable(err) // see multipartUpload
	}
	if err != nil {
		return "", err
	}
	return trimETag(res.ETag), nil
}
