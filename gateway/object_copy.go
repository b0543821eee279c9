package gateway

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/hoardfs/hoard/store"
)

// CopyObject and the source side of UploadPartCopy.

// parseCopySource splits x-amz-copy-source ("bucket/key" or "/bucket/key",
// URL-encoded, maybe with "?versionId=...").
func parseCopySource(v string) (bucket, key string, err error) {
	v, version, _ := strings.Cut(v, "?")
	if version != "" {
		if vid := parseQuery(version).Get("versionId"); vid != "" && vid != "null" {
			return "", "", errorf(ErrNotImplemented, "Hoard buckets are not versioned: versionId %q is not supported.", vid)
		}
	}
	if d, err := url.PathUnescape(v); err == nil {
		v = d
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(v, "/"), "/")
	if !ok || bucket == "" || key == "" {
		return "", "", ErrInvalidCopySource
	}
	return bucket, key, nil
}

// copySource is an open source object.
type copySource struct {
	h    *store.Handle
	n    *store.Inode
	path string
	size int64
}

// openCopySource opens the object named by x-amz-copy-source and checks
// the x-amz-copy-source-if-* conditions on it. The caller releases h.
func (s *server) openCopySource(q *request) (*copySource, error) {
	b, k, err := parseCopySource(q.r.Header.Get("x-amz-copy-source"))
	if err != nil {
		return nil, err
	}
	sq := *q
	sq.bucket, sq.key = b, k
	if _, err := s.bucketDir(&sq); err != nil {
		return nil, err
	}
	p, marker, err := keyPath(&sq)
	if err != nil {
		return nil, err
	}
	if marker {
		return nil, errorf(ErrInvalidRequest, "The source %q is a directory marker, not an object.", k)
	}
	h, n, err := s.st.OpenPath(q.ctx, p, os.O_RDONLY)
	if err != nil {
		if n, rerr := s.st.Resolve(q.ctx, p); rerr == nil && n.Type != store.TypeFile {
			return nil, errNoSuchKey(&sq, err)
		}
		if e := storeError(err, atRead); e.Code == ErrNoSuchKey.Code {
			return nil, errNoSuchKey(&sq, err)
		} else {
			return nil, e
		}
	}
	if n.Type != store.TypeFile {
		h.Release(q.ctx)
		return nil, errNoSuchKey(&sq, nil)
	}
	notModified, err := readCopyConditions(q.r.Header).check(etagOf(n), n.Mtime)
	if err == nil && notModified {
		err = ErrPreconditionFailed // a copy has no 304
	}
	if err != nil {
		h.Release(q.ctx)
		return nil, err
	}
	return &copySource{h: h, n: n, path: p, size: h.Size()}, nil
}

// reader returns a reader of n bytes of the source from off: the cache file
// when the object is wholly cached, else the store's handle.
func (c *copySource) reader(off, n int64) (io.Reader, func()) {
	if f, ok, err := c.h.OpenCacheFile(); ok && err == nil {
		if _, err := f.Seek(off, io.SeekStart); err == nil {
			return io.LimitReader(f, n), func() { f.Close() }
		}
		f.Close()
	}
	return io.NewSectionReader(c.h, off, n), func() {}
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string
	ETag         string
}

func (s *server) copyObject(q *request) error {
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	p, marker, err := keyPath(q)
	if err != nil {
		return err
	}
	if marker {
		return ErrDirectoryMarkerWithBody
	}
	metaDirective := strings.ToUpper(q.r.Header.Get("x-amz-metadata-directive"))
	tagDirective := strings.ToUpper(q.r.Header.Get("x-amz-tagging-directive"))
	if metaDirective != "" && metaDirective != "COPY" && metaDirective != "REPLACE" {
		return ErrInvalidMetadataDirective
	}
	if tagDirective != "" && tagDirective != "COPY" && tagDirective != "REPLACE" {
		return ErrInvalidTaggingDirective
	}
	src, err := s.openCopySource(q)
	if err != nil {
		return err
	}
	defer src.h.Release(q.ctx)

	ctype, meta, tags := src.n.ContentType, src.n.Meta, src.n.Tags
	if metaDirective == "REPLACE" {
		if ctype, meta, err = objectMeta(q.r.Header); err != nil {
			return err
		}
	}
	if tagDirective == "REPLACE" {
		if tags, err = parseTags(q.r.Header.Get("x-amz-tagging")); err != nil {
			return err
		}
	}
	var n *store.Inode
	if src.path == p {
		// A copy onto itself changes attributes only: the content stays.
		if metaDirective != "REPLACE" && tagDirective != "REPLACE" {
			return ErrCopyToItself
		}
		if tags == nil {
			tags = map[string]string{}
		}
		if meta == nil {
			meta = map[string]string{}
		}
		n, err = s.st.SetObjectAttrs(q.ctx, p, store.ObjectAttrs{ContentType: &ctype, Meta: &meta, Tags: &tags})
	} else {
		r, done := src.reader(0, src.size)
		n, err = s.st.PutObject(q.ctx, p, r, store.PutOptions{
			Cred: q.cred, ContentType: ctype, Meta: meta, Tags: tags, Size: src.size,
		})
		done()
	}
	if err != nil {
		return keyError(q, storeError(err, atWrite))
	}
	return writeXML(q, http.StatusOK, copyObjectResult{NS: s3NS, LastModified: fmtTime(n.Mtime), ETag: `"` + etagOf(n) + `"`})
}
