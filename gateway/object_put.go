package gateway

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/hoardfs/hoard/store"
)

// PutObject, DeleteObject, DeleteObjects and object tagging.

// maxUserMeta is S3's limit on the size of x-amz-meta-* headers.
const maxUserMeta = 2 << 10

// storedHeaders are the standard headers kept with an object and returned
// by GET and HEAD, besides Content-Type and x-amz-meta-*.
var storedHeaders = map[string]bool{
	"cache-control": true, "content-disposition": true, "content-encoding": true,
	"content-language": true, "expires": true, "x-amz-website-redirect-location": true,
}

// objectMeta collects what PUT, CopyObject (REPLACE) and
// CreateMultipartUpload store with an object from the request's headers.
func objectMeta(h http.Header) (contentType string, meta map[string]string, err error) {
	meta = map[string]string{}
	userSize := 0
	for k, vs := range h {
		lk := strings.ToLower(k)
		v := strings.Join(vs, ",")
		switch {
		case strings.HasPrefix(lk, "x-amz-meta-"):
			meta[lk] = v
			userSize += len(lk) - len("x-amz-meta-") + len(v)
		case lk == "content-encoding":
			// aws-chunked describes the request body, not the object.
			var keep []string
			for _, e := range strings.Split(v, ",") {
				if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
					keep = append(keep, e)
				}
			}
			if len(keep) > 0 {
				meta[lk] = strings.Join(keep, ",")
			}
		case storedHeaders[lk]:
			meta[lk] = v
		}
	}
	if userSize > maxUserMeta {
		return "", nil, ErrMetadataTooLarge
	}
	if len(meta) == 0 {
		meta = nil
	}
	return h.Get("Content-Type"), meta, nil
}

// parseTags parses tags in query form (x-amz-tagging: k1=v1&k2=v2).
func parseTags(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	var tags []tag
	for k, vs := range parseQuery(s) {
		for _, v := range vs {
			tags = append(tags, tag{k, v})
		}
	}
	return checkTags(tags)
}

// checkTags applies S3's limits: at most 10 tags, unique keys of 1 to 128
// characters, values of at most 256.
func checkTags(tags []tag) (map[string]string, error) {
	if len(tags) > 10 {
		return nil, errorf(ErrInvalidTag, "Object tags cannot be greater than 10")
	}
	m := map[string]string{}
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > 128:
			return nil, errorf(ErrInvalidTag, "The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Value) > 256:
			return nil, errorf(ErrInvalidTag, "The TagValue you have provided is invalid")
		}
		if _, dup := m[t.Key]; dup {
			return nil, errorf(ErrInvalidTag, "Cannot provide multiple Tags with the same key")
		}
		m[t.Key] = t.Value
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// contentMD5 decodes the Content-MD5 header, if any.
func contentMD5(h http.Header) ([]byte, error) {
	v := h.Get("Content-Md5")
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil || len(b) != md5.Size {
		return nil, ErrInvalidDigest
	}
	return b, nil
}

// sizedBody checks the announced size against S3's limit, and bounds a
// body of unknown size by it.
func sizedBody(q *request) (io.Reader, error) {
	if q.size > maxObjectSize {
		return nil, ErrEntityTooLarge
	}
	if q.size >= 0 {
		return q.body, nil
	}
	return &limitedBody{r: q.body, left: maxObjectSize}, nil
}

type limitedBody struct {
	r    io.Reader
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrEntityTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, ErrEntityTooLarge
	}
	return n, err
}

func (s *server) putObject(q *request) error {
	if q.r.Header.Get("x-amz-copy-source") != "" {
		return s.copyObject(q)
	}
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	p, marker, err := keyPath(q)
	if err != nil {
		return err
	}
	body, err := sizedBody(q)
	if err != nil {
		return err
	}
	sum, err := contentMD5(q.r.Header)
	if err != nil {
		return err
	}
	ctype, meta, err := objectMeta(q.r.Header)
	if err != nil {
		return err
	}
	tags, err := parseTags(q.r.Header.Get("x-amz-tagging"))
	if err != nil {
		return err
	}
	if err := s.checkWriteConditions(q, p); err != nil {
		return err
	}
	if marker {
		// A directory marker: the directory, never content.
		var one [1]byte
		if n, _ := io.ReadFull(body, one[:]); n > 0 {
			return ErrDirectoryMarkerWithBody
		}
		if _, err := s.st.MkdirAll(q.ctx, p, q.cred); err != nil {
			return keyError(q, storeError(err, atWrite))
		}
		q.w.Header().Set("ETag", `"`+emptyETag+`"`)
		q.w.Header().Set("Content-Length", "0")
		q.w.WriteHeader(http.StatusOK)
		return nil
	}
	n, err := s.st.PutObject(q.ctx, p, body, store.PutOptions{
		Cred: q.cred, ContentType: ctype, Meta: meta, Tags: tags, MD5: sum, Size: q.size,
	})
	if err != nil {
		return keyError(q, storeError(err, atWrite))
	}
	h := q.w.Header()
	h.Set("ETag", `"`+etagOf(n)+`"`)
	if q.checksum[0] != "" {
		h.Set(q.checksum[0], q.checksum[1])
	}
	h.Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

// checkWriteConditions applies S3's conditional writes: If-None-Match: *
// refuses to overwrite, If-Match wants the current ETag. (Checked before
// the body is read; a concurrent writer may still slip in between.)
func (s *server) checkWriteConditions(q *request, p string) error {
	inm, im := q.r.Header.Get("If-None-Match"), q.r.Header.Get("If-Match")
	if inm == "" && im == "" {
		return nil
	}
	n, err := s.st.Resolve(q.ctx, p)
	exists := err == nil && n.Type == store.TypeFile
	if inm != "" && exists && etagMatches(inm, etagOf(n)) {
		return ErrPreconditionFailed
	}
	if im != "" {
		if !exists {
			return errNoSuchKey(q, err)
		}
		if !etagMatches(im, etagOf(n)) {
			return ErrPreconditionFailed
		}
	}
	return nil
}

// keyError names the request's key in e.
func keyError(q *request, e *APIError) *APIError {
	if e.Key == "" && q.key != "" {
		c := *e
		c.Key = q.key
		return &c
	}
	return e
}

func (s *server) deleteObject(q *request) error {
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	p, marker, err := keyPath(q)
	if err != nil {
		return err
	}
	if err := s.deleteKey(q.ctx, q.bucket, p, marker); err != nil {
		return keyError(q, err)
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteKey deletes an object, or the directory of a marker key when it is
// empty, then the directories above it that this leaves empty, up to the
// bucket. A key that does not exist is no error, as in S3; nor is a marker
// whose directory still holds keys (the prefix goes on existing).
func (s *server) deleteKey(ctx context.Context, bucket, p string, marker bool) *APIError {
	d, name, err := s.st.ResolveParent(ctx, p)
	if err == nil {
		if marker {
			err = s.st.Rmdir(ctx, d.Ino, name)
			if errors.Is(err, store.ErrNotEmpty) {
				return nil
			}
		} else {
			err = s.st.Unlink(ctx, d.Ino, name)
			if errors.Is(err, store.ErrIsDir) {
				return nil // "a" is not an object when a/ is a directory
			}
		}
	}
	if errors.Is(err, store.ErrNotExist) || errors.Is(err, store.ErrNotDir) {
		return nil
	}
	if err != nil {
		return storeError(err, atWrite)
	}
	s.pruneEmptyDirs(ctx, bucket, path.Dir(p))
	return nil
}

// pruneEmptyDirs removes dir and its parents while they are empty, up to
// (not including) the bucket. A directory that gained an entry meanwhile
// is simply not empty.
func (s *server) pruneEmptyDirs(ctx context.Context, bucket, dir string) {
	for dir != "/"+bucket && strings.HasPrefix(dir, "/"+bucket+"/") {
		d, name, err := s.st.ResolveParent(ctx, dir)
		if err != nil || s.st.Rmdir(ctx, d.Ino, name) != nil {
			return
		}
		dir = path.Dir(dir)
	}
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool
	Objects []struct {
		Key       string
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deletedXML struct {
	Key string
}

type deleteErrorXML struct {
	Key     string
	Code    string
	Message string
}

type deleteResult struct {
	XMLName xml.Name         `xml:"DeleteResult"`
	NS      string           `xml:"xmlns,attr"`
	Deleted []deletedXML     `xml:"Deleted"`
	Errors  []deleteErrorXML `xml:"Error"`
}

// deleteObjects deletes up to 1000 keys; each failure is reported in the
// result, not as the request's status.
func (s *server) deleteObjects(q *request) error {
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	var req deleteRequest
	if _, err := readXML(q, &req, 2<<20, false); err != nil {
		if err == ErrMissingRequestBodyError {
			return ErrMalformedXML
		}
		return err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errorf(ErrMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: 1 to 1000 objects per request.")
	}
	res := deleteResult{NS: s3NS}
	for _, o := range req.Objects {
		kq := *q
		kq.key = o.Key
		p, marker, err := keyPath(&kq)
		var ae *APIError
		if err != nil {
			errors.As(err, &ae)
		} else if o.VersionID != "" && o.VersionID != "null" {
			ae = errorf(ErrNotImplemented, "Hoard buckets are not versioned")
		} else {
			ae = s.deleteKey(q.ctx, q.bucket, p, marker)
		}
		if ae != nil {
			res.Errors = append(res.Errors, deleteErrorXML{Key: o.Key, Code: ae.Code, Message: ae.Message})
		} else if !req.Quiet {
			res.Deleted = append(res.Deleted, deletedXML{Key: o.Key})
		}
	}
	return writeXML(q, http.StatusOK, res)
}

type tag struct {
	Key   string
	Value string
}

type tagging struct {
	XMLName xml.Name `xml:"Tagging"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	TagSet  []tag    `xml:"TagSet>Tag"`
}

// taggedPath is the path whose tags a tagging request addresses: the
// bucket's directory, or the object.
func (s *server) taggedPath(q *request) (string, *store.Inode, error) {
	if q.key == "" {
		n, err := s.bucketDir(q)
		return "/" + q.bucket, n, err
	}
	n, err := s.objectInode(q)
	if err != nil {
		return "", nil, err
	}
	p, _, _ := keyPath(q)
	return p, n, nil
}

func (s *server) getObjectTagging(q *request) error {
	_, n, err := s.taggedPath(q)
	if err != nil {
		return err
	}
	if q.key == "" && len(n.Tags) == 0 {
		return ErrNoSuchTagSet
	}
	res := tagging{NS: s3NS, TagSet: []tag{}}
	for k, v := range n.Tags {
		res.TagSet = append(res.TagSet, tag{k, v})
	}
	sortTags(res.TagSet)
	return writeXML(q, http.StatusOK, res)
}

func sortTags(t []tag) {
	for i := 1; i < len(t); i++ {
		for j := i; j > 0 && t[j].Key < t[j-1].Key; j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
}

func (s *server) putObjectTagging(q *request) error {
	p, _, err := s.taggedPath(q)
	if err != nil {
		return err
	}
	var req tagging
	if _, err := readXML(q, &req, 64<<10, false); err != nil {
		return err
	}
	tags, err := checkTags(req.TagSet)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	if _, err := s.st.SetObjectAttrs(q.ctx, p, store.ObjectAttrs{Tags: &tags}); err != nil {
		return keyError(q, storeError(err, atRead))
	}
	q.w.Header().Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *server) deleteObjectTagging(q *request) error {
	p, _, err := s.taggedPath(q)
	if err != nil {
		return err
	}
	none := map[string]string{}
	if _, err := s.st.SetObjectAttrs(q.ctx, p, store.ObjectAttrs{Tags: &none}); err != nil {
		return keyError(q, storeError(err, atRead))
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}
