package oss

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// Stat is a HEAD of the object. "dir/" finds the marker object only.
func (f *FS) Stat(ctx context.Context, key string) (ufs.ObjectInfo, error) {
	if key == "" {
		// The bucket root is no object.
		return ufs.ObjectInfo{}, f.errorf(ctx, "stat", key, errRootNotObject)
	}
	h, err := f.bucket.GetObjectDetailedMeta(f.key(key), oss.WithContext(ctx))
	if err != nil {
		return ufs.ObjectInfo{}, f.errorf(ctx, "stat", key, err)
	}
	return infoFromHeader(key, h), nil
}

// errRootNotObject is a 404 in all but name.
var errRootNotObject = oss.ServiceError{StatusCode: http.StatusNotFound, Code: "NoSuchKey", Message: "the bucket root is not an object"}

// infoFromHeader reads size, ETag and mtime from a HEAD or GET answer.
func infoFromHeader(key string, h http.Header) ufs.ObjectInfo {
	size, _ := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	mtime, _ := http.ParseTime(h.Get("Last-Modified"))
	return ufs.ObjectInfo{Key: key, Size: size, ETag: trimETag(h.Get("ETag")), ModTime: mtime.UTC()}
}

// trimETag removes the quotes OSS puts around ETags.
func trimETag(s string) string { return strings.Trim(s, `"`) }

// infoAfterWrite returns what Stat will report for an object this FS just
// wrote with the given ETag: a write answer carries no Last-Modified, and
// the fingerprint Hoard keeps must equal what later Stats and Lists show.
// If the HEAD fails, or finds another writer's object, the write's own
// figures are used with the answer's Date as mtime: the write did succeed.
func (f *FS) infoAfterWrite(ctx context.Context, key, etag string, size int64, written http.Header) ufs.ObjectInfo {
	if h, err := f.bucket.GetObjectDetailedMeta(f.key(key), oss.WithContext(ctx)); err == nil && trimETag(h.Get("ETag")) == etag {
		return infoFromHeader(key, h)
	}
	mtime, err := http.ParseTime(written.Get("Date"))
	if err != nil {
		mtime = time.Now().Truncate(time.Second)
	}
	return ufs.ObjectInfo{Key: key, Size: size, ETag: etag, ModTime: mtime.UTC()}
}
