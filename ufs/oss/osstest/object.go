package osstest

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash/crc64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// crcTable is CRC-64/ECMA as OSS reports it in x-oss-hash-crc64ecma (the
// Go SDK builds the same table with crc64.MakeTable(crc64.ECMA)).
var crcTable = crc64.MakeTable(crc64.ECMA)

func errEntityTooLarge() *ossError {
	return newErr(http.StatusBadRequest, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.")
}

func errInvalidRange(size int64) *ossError {
	return newErr(http.StatusRequestedRangeNotSatisfiable, "InvalidRange", "The requested range cannot be satisfied", "ActualObjectSize", strconv.FormatInt(size, 10))
}

func errPrecondition() *ossError {
	return newErr(http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
}

// body reads the request body, computing its MD5 and CRC-64, and checks
// Content-MD5 when the client sent one.
func (c *call) body() (blob, []byte, uint64, *ossError) {
	m := md5.New()
	crc := crc64.New(crcTable)
	b, err := readBlob(c.r.Body, c.r.ContentLength, c.s.opts.MaxObjectSize, m, crc)
	if errors.Is(err, errTooLarge) {
		return blob{}, nil, 0, errEntityTooLarge()
	}
	if err != nil {
		// The client went away mid-body: nothing is stored.
		return blob{}, nil, 0, newErr(http.StatusBadRequest, "IncompleteBody", "The request body is shorter than Content-Length.")
	}
	sum := m.Sum(nil)
	if want := c.r.Header.Get("Content-MD5"); want != "" {
		got, err := base64.StdEncoding.DecodeString(want)
		if err != nil || !bytes.Equal(got, sum) {
			return blob{}, nil, 0, errInvalidDigest()
		}
	}
	return b, sum, crc.Sum64(), nil
}

// userMeta returns the x-oss-meta-* headers of h.
func userMeta(h http.Header) http.Header {
	m := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-oss-meta-") {
			m[k] = v
		}
	}
	return m
}

func contentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

// checkOverwrite honours x-oss-forbid-overwrite.
func (c *call) checkOverwrite(key string) *ossError {
	if !strings.EqualFold(c.r.Header.Get("x-oss-forbid-overwrite"), "true") {
		return nil
	}
	if _, e := c.s.store.get(c.t.bucket, key); e == nil {
		return newErr(http.StatusConflict, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")
	}
	return nil
}

func (c *call) putObject() *ossError {
	if e := c.s.store.bucketExists(c.t.bucket); e != nil {
		return e
	}
	if e := c.checkOverwrite(c.t.key); e != nil {
		return e
	}
	data, sum, crc, e := c.body()
	if e != nil {
		return e
	}
	o := &object{
		key: c.t.key, data: data, etag: strings.ToUpper(hex.EncodeToString(sum)), crc: crc,
		mtime: c.s.now(), contentType: contentType(c.r.Header), meta: userMeta(c.r.Header), typ: "Normal",
	}
	if e := c.s.store.put(c.t.bucket, o); e != nil {
		return e
	}
	h := c.w.Header()
	h.Set("ETag", quote(o.etag))
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(crc, 10))
	h.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (c *call) deleteObject() *ossError {
	if slices.Contains(c.s.faults.Load().FailDelete, c.t.key) {
		return errInternal()
	}
	if e := c.s.store.delete(c.t.bucket, c.t.key); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// objectHeaders sets the headers OSS sends with an object (GET and HEAD).
func objectHeaders(h http.Header, o *object) {
	for k, v := range o.meta {
		h[k] = v
	}
	h.Set("Content-Type", o.contentType)
	h.Set("ETag", quote(o.etag))
	h.Set("Last-Modified", o.mtime.Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-oss-object-type", o.typ)
	h.Set("x-oss-storage-class", "Standard")
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(o.crc, 10))
	if o.typ == "Normal" {
		if sum, err := hex.DecodeString(o.etag); err == nil {
			h.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
		}
	}
}

// getObject answers GetObject (withBody) and HeadObject / GetObjectMeta.
func (c *call) getObject(withBody bool) *ossError {
	o, e := c.s.store.get(c.t.bucket, c.t.key)
	if e != nil {
		return e
	}
	if status := checkConditions(c.r.Header, o); status != 0 {
		if status == http.StatusNotModified {
			c.w.WriteHeader(status)
			return nil
		}
		return errPrecondition()
	}
	h := c.w.Header()
	objectHeaders(h, o)
	start, n, partial := int64(0), o.data.size, false
	if spec := c.r.Header.Get("Range"); spec != "" && withBody {
		standard := strings.EqualFold(c.r.Header.Get("x-oss-range-behavior"), "standard")
		var e *ossError
		start, n, partial, e = parseRange(spec, o.data.size, standard)
		if e != nil {
			h.Set("Content-Range", "bytes */"+strconv.FormatInt(o.data.size, 10))
			return e
		}
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	if !withBody {
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	if partial {
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(o.data.size, 10))
		c.w.WriteHeader(http.StatusPartialContent)
	} else {
		c.w.WriteHeader(http.StatusOK)
	}
	o.data.slice(start, n).writeTo(c.w)
	return nil
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since; it returns 0 when the request goes ahead.
func checkConditions(h http.Header, o *object) int {
	if m := h.Get("If-Match"); m != "" && strings.Trim(m, `"`) != o.etag {
		return http.StatusPreconditionFailed
	}
	if t, err := http.ParseTime(h.Get("If-Unmodified-Since")); err == nil && o.mtime.After(t) {
		return http.StatusPreconditionFailed
	}
	if m := h.Get("If-None-Match"); m != "" && strings.Trim(m, `"`) == o.etag {
		return http.StatusNotModified
	}
	if t, err := http.ParseTime(h.Get("If-Modified-Since")); err == nil && !o.mtime.After(t) {
		return http.StatusNotModified
	}
	return 0
}

// parseRange applies a Range header the way OSS does. By default a range
// that is malformed or outside the object is ignored and the whole object
// is sent (200). With x-oss-range-behavior: standard, an end beyond the
// object is clipped and a start at or beyond its end is 416 InvalidRange.
func parseRange(spec string, size int64, standard bool) (start, n int64, partial bool, e *ossError) {
	whole := func() (int64, int64, bool, *ossError) { return 0, size, false, nil }
	r, ok := strings.CutPrefix(strings.TrimSpace(spec), "bytes=")
	if !ok {
		return whole()
	}
	r, _, _ = strings.Cut(r, ",") // OSS serves only the first range
	a, b, ok := strings.Cut(strings.TrimSpace(r), "-")
	if !ok {
		return whole()
	}
	var first, last int64
	switch {
	case a == "" && b == "":
		return whole()
	case a == "": // suffix: the last b bytes
		k, err := strconv.ParseInt(b, 10, 64)
		if err != nil || k <= 0 {
			return whole()
		}
		if k > size && !standard {
			return whole()
		}
		first, last = max(size-k, 0), size-1
	default:
		f, err := strconv.ParseInt(a, 10, 64)
		if err != nil || f < 0 {
			return whole()
		}
		first, last = f, size-1
		if b != "" {
			l, err := strconv.ParseInt(b, 10, 64)
			if err != nil || l < f {
				return whole()
			}
			if l >= size {
				if !standard {
					return whole()
				}
				l = size - 1
			}
			last = l
		}
	}
	if first >= size || last < first {
		if standard {
			return 0, 0, false, errInvalidRange(size)
		}
		return whole()
	}
	return first, last - first + 1, true, nil
}

// copySource parses x-oss-copy-source, "/bucket/key" with the key URL
// encoded (the SDK uses url.QueryEscape), maybe followed by ?versionId=.
func (c *call) copySource() (string, string, *ossError) {
	raw := c.r.Header.Get("x-oss-copy-source")
	bad := errInvalidArgument("Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.", "x-oss-copy-source", raw)
	rest, ok := strings.CutPrefix(raw, "/")
	if !ok {
		return "", "", bad
	}
	rest, _, _ = strings.Cut(rest, "?")
	b, k, ok := strings.Cut(rest, "/")
	if !ok || b == "" || k == "" {
		return "", "", bad
	}
	key, err := url.QueryUnescape(k)
	if err != nil {
		return "", "", bad
	}
	return b, key, nil
}

// copyConditions applies x-oss-copy-source-if-* to the source object.
func copyConditions(h http.Header, src *object) *ossError {
	ch := http.Header{}
	for _, k := range []string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} {
		if v := h.Get("x-oss-copy-source-" + k); v != "" {
			ch.Set(k, v)
		}
	}
	if checkConditions(ch, src) != 0 {
		return errPrecondition()
	}
	return nil
}

func (c *call) copyObject() *ossError {
	sb, sk, e := c.copySource()
	if e != nil {
		return e
	}
	if e := c.s.store.bucketExists(c.t.bucket); e != nil {
		return e
	}
	src, e := c.s.store.get(sb, sk)
	if e != nil {
		return e
	}
	if e := copyConditions(c.r.Header, src); e != nil {
		return e
	}
	if src.data.size > c.s.opts.MaxCopySize {
		return errInvalidArgument("The source object of CopyObject must not be larger than "+
			strconv.FormatInt(c.s.opts.MaxCopySize, 10)+" bytes; use UploadPartCopy.", "x-oss-copy-source", c.r.Header.Get("x-oss-copy-source"))
	}
	if e := c.checkOverwrite(c.t.key); e != nil {
		return e
	}
	o := &object{
		key: c.t.key, data: src.data, etag: src.etag, crc: src.crc, mtime: c.s.now(),
		contentType: src.contentType, meta: src.meta, typ: src.typ,
	}
	if strings.EqualFold(c.r.Header.Get("x-oss-metadata-directive"), "REPLACE") {
		o.contentType, o.meta = contentType(c.r.Header), userMeta(c.r.Header)
	}
	if e := c.s.store.put(c.t.bucket, o); e != nil {
		return e
	}
	c.w.Header().Set("x-oss-hash-crc64ecma", strconv.FormatUint(o.crc, 10))
	return c.writeXML(copyObjectResult{LastModified: isoTime(o.mtime), ETag: quote(o.etag)})
}
