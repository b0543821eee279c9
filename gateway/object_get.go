package gateway

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hoardfs/hoard/store"
)

// GetObject and HeadObject.

// emptyETag is the MD5 of nothing: the ETag of directory markers.
const emptyETag = "d41d8cd98f00b204e9800998ecf8427e"

// sendfileMin is the size from which a cached object is sent with
// sendfile; smaller ones cost less as one read into a buffer than as an
// open, a sendfile and a close.
const sendfileMin = 64 << 10

// maxKeyLen is S3's limit on key length.
const maxKeyLen = 1024

// keyPath checks that the request's key can be a path and returns it;
// marker says the key names a directory (it ends in '/').
func keyPath(q *request) (p string, marker bool, err error) {
	k := q.key
	if len(k) > maxKeyLen {
		return "", false, ErrKeyTooLong
	}
	if strings.HasSuffix(k, "/") {
		marker = true
		k = k[:len(k)-1]
	}
	p = objectPath(q.bucket, k)
	if _, err := store.SplitPath(p); err != nil || k == "" {
		if errors.Is(err, store.ErrNameTooLong) {
			return "", false, errorf(ErrKeyTooLong, "Your key is too long: a path component is over %d bytes", store.MaxNameLen)
		}
		e := errorf(ErrInvalidObjectName, "Object name contains unsupported characters: key %q cannot be a path in Hoard (empty, \".\" or \"..\" components, or NUL).", q.key)
		e.Key = q.key
		return "", false, e
	}
	return p, marker, nil
}

// objectInode resolves the request's key to its file, or to its directory
// for a marker key.
func (s *server) objectInode(q *request) (*store.Inode, error) {
	p, marker, err := keyPath(q)
	if err != nil {
		return nil, err
	}
	n, err := s.st.Resolve(q.ctx, p)
	if err != nil {
		return nil, s.readError(q, err)
	}
	if (marker && n.Type != store.TypeDir) || (!marker && n.Type != store.TypeFile) {
		return nil, errNoSuchKey(q, nil)
	}
	return n, nil
}

// etagOf is the object's ETag, unquoted. Files written through the mount
// have none until they are persisted (the UFS then gives one); until then
// the ETag is derived from the content's version, shaped like a multipart
// ETag so that no client takes it for the content's MD5.
func etagOf(n *store.Inode) string {
	if n.Type == store.TypeDir {
		return emptyETag
	}
	if n.ETag != "" {
		return n.ETag
	}
	sum := md5.Sum(fmt.Appendf(nil, "%d/%d/%d/%d", n.Ino, n.Version, n.Size, n.Mtime))
	return hex.EncodeToString(sum[:]) + "-1"
}

// contentType is the stored Content-Type, else one guessed from the name
// (files written through the mount have none), else S3's default.
func contentType(n *store.Inode) string {
	if n.ContentType != "" {
		return n.ContentType
	}
	if ext := path.Ext(n.Name); ext != "" && n.Type == store.TypeFile {
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return "binary/octet-stream"
}

// objectHeaders sets the headers that describe an object.
func objectHeaders(q *request, n *store.Inode, size int64) {
	h := q.w.Header()
	h.Set("Last-Modified", time.Unix(0, n.Mtime).UTC().Format(http.TimeFormat))
	h.Set("ETag", `"`+etagOf(n)+`"`)
	h.Set("Content-Type", contentType(n))
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Accept-Ranges", "bytes")
	for k, v := range n.Meta {
		if strings.HasPrefix(k, "x-amz-meta-") {
			// Lower case, as AWS sends them: SDKs take the name after
			// the prefix as it comes (boto3 would say "Color" for color).
			h[k] = []string{v}
		} else {
			h[http.CanonicalHeaderKey(k)] = []string{v}
		}
	}
	if len(n.Tags) > 0 {
		h.Set("x-amz-tagging-count", strconv.Itoa(len(n.Tags)))
	}
	if n.Type == store.TypeFile {
		h.Set("x-hoard-persistence-state", n.State.String())
	}
	if q.r.Method == http.MethodGet {
		for _, o := range [][2]string{
			{"response-content-type", "Content-Type"}, {"response-content-language", "Content-Language"},
			{"response-expires", "Expires"}, {"response-cache-control", "Cache-Control"},
			{"response-content-disposition", "Content-Disposition"}, {"response-content-encoding", "Content-Encoding"},
		} {
			if v := q.query.Get(o[0]); v != "" {
				h.Set(o[1], v)
			}
		}
	}
}

// etagMatches reports whether an If-Match / If-None-Match list names etag.
func etagMatches(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		e = strings.TrimSpace(e)
		e = strings.TrimPrefix(e, "W/")
		if e == "*" || strings.Trim(e, `"`) == etag {
			return true
		}
	}
	return false
}

// conditions are the four conditional headers, as GET and HEAD take them
// and as CopyObject takes them with the x-amz-copy-source-if- prefix.
type conditions struct {
	ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince string
}

func readConditions(h http.Header) conditions {
	return conditions{h.Get("If-Match"), h.Get("If-None-Match"), h.Get("If-Modified-Since"), h.Get("If-Unmodified-Since")}
}

func readCopyConditions(h http.Header) conditions {
	return conditions{
		h.Get("x-amz-copy-source-if-match"), h.Get("x-amz-copy-source-if-none-match"),
		h.Get("x-amz-copy-source-if-modified-since"), h.Get("x-amz-copy-source-if-unmodified-since"),
	}
}

// check evaluates the conditions as RFC 7232 and S3 do: If-Match wins over
// If-Unmodified-Since, If-None-Match over If-Modified-Since. notModified is
// a failed If-None-Match or If-Modified-Since (304 for GET and HEAD).
func (c conditions) check(etag string, mtime int64) (notModified bool, err error) {
	mt := time.Unix(0, mtime).Truncate(time.Second)
	if c.ifMatch != "" {
		if !etagMatches(c.ifMatch, etag) {
			return false, ErrPreconditionFailed
		}
	} else if c.ifUnmodifiedSince != "" {
		if t, err := http.ParseTime(c.ifUnmodifiedSince); err == nil && mt.After(t) {
			return false, ErrPreconditionFailed
		}
	}
	if c.ifNoneMatch != "" {
		if etagMatches(c.ifNoneMatch, etag) {
			return true, nil
		}
	} else if c.ifModifiedSince != "" {
		if t, err := http.ParseTime(c.ifModifiedSince); err == nil && !mt.After(t) {
			return true, nil
		}
	}
	return false, nil
}

// byteRange is a satisfiable range of an object.
type byteRange struct{ off, length int64 }

// parseRange parses a Range header for an object of size bytes. ok is
// false when the header is absent or ignored (not bytes=, several ranges,
// malformed: served whole, as RFC 7233 says); an unsatisfiable range is
// InvalidRange.
func parseRange(h string, size int64) (r byteRange, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return r, false, nil
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return r, false, nil
	}
	unsatisfiable := errorf(ErrInvalidRange, "The requested range is not satisfiable")
	if first == "" {
		n, perr := strconv.ParseInt(last, 10, 64)
		if perr != nil || n < 0 {
			return r, false, nil
		}
		if n == 0 || size == 0 {
			return r, false, unsatisfiable
		}
		n = min(n, size)
		return byteRange{size - n, n}, true, nil
	}
	a, perr := strconv.ParseInt(first, 10, 64)
	if perr != nil || a < 0 {
		return r, false, nil
	}
	b := size - 1
	if last != "" {
		if b, perr = strconv.ParseInt(last, 10, 64); perr != nil || b < a {
			return r, false, nil
		}
	}
	if a >= size {
		return r, false, unsatisfiable
	}
	b = min(b, size-1)
	return byteRange{a, b - a + 1}, true, nil
}

func (s *server) headObject(q *request) error {
	n, err := s.objectInode(q)
	if err != nil {
		return err
	}
	size := n.Size
	if n.Type == store.TypeDir {
		size = 0
	}
	return s.answerObject(q, n, size, nil)
}

// readError is the S3 error of a failed object read: a missing object is
// NoSuchBucket when its bucket is missing. (The bucket is looked at only
// then: a read that succeeds costs no lookup of it.)
func (s *server) readError(q *request, err error) error {
	e := storeError(err, atRead)
	if e.Code != ErrNoSuchKey.Code {
		return e
	}
	if _, berr := s.bucketDir(q); berr != nil {
		return berr
	}
	return errNoSuchKey(q, err)
}

func (s *server) getObject(q *request) error {
	p, marker, err := keyPath(q)
	if err != nil {
		return err
	}
	if marker {
		n, err := s.objectInode(q)
		if err != nil {
			return err
		}
		return s.answerObject(q, n, 0, nil)
	}
	h, n, err := s.st.OpenPath(q.ctx, p, os.O_RDONLY)
	if err != nil {
		if n, rerr := s.st.Resolve(q.ctx, p); rerr == nil && n.Type != store.TypeFile {
			return errNoSuchKey(q, err) // a directory or a symlink: no object
		}
		return s.readError(q, err)
	}
	defer h.Release(q.ctx)
	if n.Type != store.TypeFile {
		return errNoSuchKey(q, nil)
	}
	return s.answerObject(q, n, h.Size(), h)
}

// answerObject answers GET (h set) or HEAD of object n of size bytes:
// conditions, range, headers, then the content.
func (s *server) answerObject(q *request, n *store.Inode, size int64, h *store.Handle) error {
	etag := etagOf(n)
	notModified, err := readConditions(q.r.Header).check(etag, n.Mtime)
	if err != nil {
		return err
	}
	if notModified {
		hd := q.w.Header()
		hd.Set("ETag", `"`+etag+`"`)
		hd.Set("Last-Modified", time.Unix(0, n.Mtime).UTC().Format(http.TimeFormat))
		q.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if pn := q.query.Get("partNumber"); pn != "" && pn != "1" {
		// Part boundaries are not kept: the whole object is its part 1.
		return errorf(ErrInvalidRange, "The requested partnumber is not satisfiable")
	}
	rng, partial, err := parseRange(q.r.Header.Get("Range"), size)
	if err != nil {
		q.w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		return err
	}
	if !partial {
		rng = byteRange{0, size}
	}
	objectHeaders(q, n, rng.length)
	status := http.StatusOK
	if partial {
		q.w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.off, rng.off+rng.length-1, size))
		status = http.StatusPartialContent
	}
	if h == nil || q.r.Method == http.MethodHead {
		q.w.WriteHeader(status)
		return nil
	}
	return s.sendContent(q, h, status, rng)
}

var readBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// sendContent writes the bytes of rng. A wholly cached object goes out
// with sendfile: an *os.File behind an io.LimitedReader reaches the
// connection's ReadFrom. Others are read through the handle, which fetches
// missing blocks from the UFS.
func (s *server) sendContent(q *request, h *store.Handle, status int, rng byteRange) error {
	if rng.length >= sendfileMin {
		f, ok, err := h.OpenCacheFile()
		if err != nil {
			s.log.Debug("s3: no cache file for sendfile", "err", err)
		}
		if ok {
			defer f.Close()
			if _, err := f.Seek(rng.off, io.SeekStart); err != nil {
				return withCause(ErrInternal, err)
			}
			q.w.WriteHeader(status)
			n, err := io.Copy(q.w, io.LimitReader(f, rng.length))
			if err == nil && n < rng.length {
				err = fmt.Errorf("cache file ended after %d of %d bytes: %w", n, rng.length, store.ErrIO)
			}
			if err != nil {
				return withCause(ErrInternal, err)
			}
			return nil
		}
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	off, end := rng.off, rng.off+rng.length
	for off < end {
		want := buf[:min(int64(len(buf)), end-off)]
		n, err := h.Read(q.ctx, want, off)
		if n > 0 {
			if !q.w.started() {
				q.w.WriteHeader(status)
			}
			if _, werr := q.w.Write(want[:n]); werr != nil {
				return withCause(ErrInternal, werr)
			}
			off += int64(n)
		}
		if err == io.EOF && off < end {
			err = fmt.Errorf("object ended after %d of %d bytes (changed meanwhile): %w", off, end, store.ErrIO)
		}
		if err != nil && err != io.EOF {
			return storeError(err, atRead)
		}
		if n == 0 && err == io.EOF {
			break
		}
	}
	if !q.w.started() {
		q.w.WriteHeader(status)
	}
	return nil
}
