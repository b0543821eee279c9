package oss

import (
	"context"
	"strings"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// maxListKeys is the most entries one ListObjects answer holds.
const maxListKeys = 1000

// List is one ListObjectsV2 page. StartAfter maps to start-after and
// NextStartAfter is the greatest key or common prefix of the page, so a
// listing continues after a "directory" as well as after a key. Entries
// not strictly greater than StartAfter are dropped, whatever the server
// does with a start-after that is itself a common prefix; if that leaves
// a page empty but truncated, the next one is fetched.
func (f *FS) List(ctx context.Context, opts ufs.ListOptions) (ufs.ListPage, error) {
	n := opts.MaxKeys
	if n <= 0 || n > maxListKeys {
		n = maxListKeys
	}
	after := ""
	if opts.StartAfter != "" {
		after = f.key(opts.StartAfter)
	}
	for {
		lo := []oss.Option{oss.Prefix(f.key(opts.Prefix)), oss.MaxKeys(n), oss.WithContext(ctx)}
		if opts.Delimiter != "" {
			lo = append(lo, oss.Delimiter(opts.Delimiter))
		}
		if after != "" {
			lo = append(lo, oss.StartAfter(after))
		}
		res, err := f.bucket.ListObjectsV2(lo...)
		if err != nil {
			return ufs.ListPage{}, f.errorf(ctx, "list", opts.Prefix, err)
		}
		page := f.page(res, opts.StartAfter)
		if len(page.Objects) > 0 || len(page.CommonPrefixes) > 0 || !res.IsTruncated || page.NextStartAfter == "" {
			return page, nil
		}
		after = f.key(page.NextStartAfter)
	}
}

// page maps one answer to UFS keys, dropping the root's own marker and
// anything not after startAfter.
func (f *FS) page(res oss.ListObjectsResultV2, startAfter string) ufs.ListPage {
	var p ufs.ListPage
	last := ""
	for _, o := range res.Objects {
		k, ok := strings.CutPrefix(o.Key, f.prefix)
		if !ok {
			continue
		}
		last = max(last, k)
		if k == "" || k <= startAfter {
			continue
		}
		p.Objects = append(p.Objects, ufs.ObjectInfo{
			Key: k, Size: o.Size, ETag: trimETag(o.ETag), ModTime: o.LastModified.UTC(),
		})
	}
	for _, cp := range res.CommonPrefixes {
		k, ok := strings.CutPrefix(cp, f.prefix)
		if !ok {
			continue
		}
		last = max(last, k)
		if k <= startAfter {
			continue
		}
		p.CommonPrefixes = append(p.CommonPrefixes, k)
	}
	p.Truncated = res.IsTruncated
	if p.Truncated {
		p.NextStartAfter = last
	}
	return p
}
