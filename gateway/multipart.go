package gateway

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store"
)

// Multipart uploads: the gateway parses and answers, the store keeps the
// parts and assembles them (store/multipart.go).

// completeHeadStart is how long CompleteMultipartUpload works before it
// answers 200 and keeps the connection alive with spaces until the result
// (or an error) follows in the body, as S3 does: assembling a large object
// can outlast a client's read timeout.
var completeHeadStart = 2 * time.Second

const completeKeepAlive = 10 * time.Second

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string
	Key      string
	UploadID string `xml:"UploadId"`
}

// uploadPath checks the bucket and the key of a multipart request.
func (s *server) uploadPath(q *request) (string, error) {
	if _, err := s.bucketDir(q); err != nil {
		return "", err
	}
	p, marker, err := keyPath(q)
	if err != nil {
		return "", err
	}
	if marker {
		return "", ErrDirectoryMarkerWithBody
	}
	return p, nil
}

func (s *server) uploadError(q *request, err error) error {
	e := storeError(err, atWrite)
	if e.Code == ErrNoSuchUpload.Code {
		c := *e
		c.Key = q.key
		return &c
	}
	return keyError(q, e)
}

func (s *server) createUpload(q *request) error {
	p, err := s.uploadPath(q)
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
	u, err := s.st.CreateUpload(q.ctx, p, store.PutOptions{Cred: q.cred, ContentType: ctype, Meta: meta, Tags: tags})
	if err != nil {
		return s.uploadError(q, err)
	}
	return writeXML(q, http.StatusOK, initiateResult{NS: s3NS, Bucket: q.bucket, Key: q.key, UploadID: u.ID})
}

func partNumber(q *request) (int, error) {
	n, err := strconv.Atoi(q.query.Get("partNumber"))
	if err != nil || n < 1 || n > store.MaxPartNumber {
		return 0, ErrInvalidPartNumber
	}
	return n, nil
}

func (s *server) uploadPart(q *request) error {
	if !q.query.Has("partNumber") {
		return errorf(ErrInvalidRequest, "UploadPart needs partNumber and uploadId")
	}
	if q.r.Header.Get("x-amz-copy-source") != "" {
		return s.uploadPartCopy(q)
	}
	p, err := s.uploadPath(q)
	if err != nil {
		return err
	}
	num, err := partNumber(q)
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
	part, err := s.st.UploadPart(q.ctx, p, q.query.Get("uploadId"), num, body, store.PartOptions{MD5: sum, Size: q.size})
	if err != nil {
		return s.uploadError(q, err)
	}
	h := q.w.Header()
	h.Set("ETag", `"`+part.ETag+`"`)
	if q.checksum[0] != "" {
		h.Set(q.checksum[0], q.checksum[1])
	}
	h.Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string
	ETag         string
}

// uploadPartCopy makes a part of a range of an existing object
// (x-amz-copy-source, x-amz-copy-source-range).
func (s *server) uploadPartCopy(q *request) error {
	p, err := s.uploadPath(q)
	if err != nil {
		return err
	}
	num, err := partNumber(q)
	if err != nil {
		return err
	}
	src, err := s.openCopySource(q)
	if err != nil {
		return err
	}
	defer src.h.Release(q.ctx)
	rng := byteRange{0, src.size}
	if v := q.r.Header.Get("x-amz-copy-source-range"); v != "" {
		var ok bool
		rng, ok, err = parseCopyRange(v, src.size)
		if err != nil || !ok {
			return errorf(ErrObjectNotInRange, "Range specified is not valid for source object of size: %d", src.size)
		}
	}
	if rng.length > maxObjectSize {
		return ErrEntityTooLarge
	}
	r, done := src.reader(rng.off, rng.length)
	part, err := s.st.UploadPart(q.ctx, p, q.query.Get("uploadId"), num, r, store.PartOptions{Size: rng.length})
	done()
	if err != nil {
		return s.uploadError(q, err)
	}
	return writeXML(q, http.StatusOK, copyPartResult{NS: s3NS, LastModified: fmtTime(part.LastModified.UnixNano()), ETag: `"` + part.ETag + `"`})
}

// parseCopyRange parses x-amz-copy-source-range, which unlike Range must
// be "bytes=first-last" inside the object.
func parseCopyRange(v string, size int64) (byteRange, bool, error) {
	spec, ok := strings.CutPrefix(v, "bytes=")
	first, last, ok2 := strings.Cut(spec, "-")
	if !ok || !ok2 {
		return byteRange{}, false, nil
	}
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a || b >= size {
		return byteRange{}, false, nil
	}
	return byteRange{a, b - a + 1}, true, nil
}

type partXML struct {
	PartNumber   int
	LastModified string
	ETag         string
	Size         int64
}

type listPartsResult struct {
	XMLName              xml.Name `xml:"ListPartsResult"`
	NS                   string   `xml:"xmlns,attr"`
	Bucket               string
	Key                  string
	UploadID             string `xml:"UploadId"`
	Initiator            owner
	Owner                owner
	StorageClass         string
	PartNumberMarker     int
	NextPartNumberMarker int
	MaxParts             int
	IsTruncated          bool
	Parts                []partXML `xml:"Part"`
}

func (s *server) listParts(q *request) error {
	p, err := s.uploadPath(q)
	if err != nil {
		return err
	}
	id := q.query.Get("uploadId")
	u, err := s.st.GetUpload(q.ctx, p, id)
	if err != nil {
		return s.uploadError(q, err)
	}
	maxParts, err := intParam(q, "max-parts", 1000)
	if err != nil {
		return err
	}
	marker, err := intParam(q, "part-number-marker", 0)
	if err != nil {
		return err
	}
	parts, err := s.st.ListParts(q.ctx, p, id)
	if err != nil {
		return s.uploadError(q, err)
	}
	o := owner{ID: u.Owner, DisplayName: u.Owner}
	res := listPartsResult{
		NS: s3NS, Bucket: q.bucket, Key: q.key, UploadID: id, Initiator: o, Owner: o,
		StorageClass: "STANDARD", PartNumberMarker: marker, MaxParts: maxParts, Parts: []partXML{},
	}
	for _, pt := range parts {
		if pt.Number <= marker {
			continue
		}
		if len(res.Parts) == maxParts {
			res.IsTruncated = true
			break
		}
		res.Parts = append(res.Parts, partXML{pt.Number, fmtTime(pt.LastModified.UnixNano()), `"` + pt.ETag + `"`, pt.Size})
		res.NextPartNumberMarker = pt.Number
	}
	return writeXML(q, http.StatusOK, res)
}

// intParam reads a non-negative integer query parameter, capped at 1000
// as S3 caps its page sizes.
func intParam(q *request, name string, def int) (int, error) {
	v := q.query.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errorf(ErrInvalidArgument, "Argument %s must be an integer between 0 and 2147483647", name)
	}
	if strings.HasPrefix(name, "max-") {
		n = min(n, 1000)
	}
	return n, nil
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int
		ETag       string
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Location string
	Bucket   string
	Key      string
	ETag     string
}

// completeUpload assembles the parts. An empty body completes with every
// uploaded part, as Alluxio's documented `curl -X POST ...?uploadId=N`.
func (s *server) completeUpload(q *request) error {
	p, err := s.uploadPath(q)
	if err != nil {
		return err
	}
	var req completeRequest
	empty, err := readXML(q, &req, 4<<20, true)
	if err != nil {
		return err
	}
	var list []store.CompletePart
	if !empty {
		if len(req.Parts) == 0 {
			return errorf(ErrMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: no Part.")
		}
		list = make([]store.CompletePart, len(req.Parts))
		for i, pt := range req.Parts {
			list[i] = store.CompletePart{Number: pt.PartNumber, ETag: pt.ETag}
		}
	}
	id := q.query.Get("uploadId")
	type result struct {
		n   *store.Inode
		err error
	}
	done := make(chan result, 1)
	// The client going away does not stop an assembly once started.
	ctx := context.WithoutCancel(q.ctx)
	go func() {
		n, err := s.st.CompleteUpload(ctx, p, id, list)
		done <- result{n, err}
	}()
	answer := func(n *store.Inode) completeResult {
		scheme := "http"
		if q.r.TLS != nil {
			scheme = "https"
		}
		prefix := ""
		if q.prefixed {
			prefix = alluxioPrefix
		}
		return completeResult{
			NS: s3NS, Location: fmt.Sprintf("%s://%s%s/%s/%s", scheme, q.r.Host, prefix, q.bucket, q.key),
			Bucket: q.bucket, Key: q.key, ETag: `"` + etagOf(n) + `"`,
		}
	}
	if completeHeadStart > 0 { // 0 answers 200 at once (tests)
		timer := time.NewTimer(completeHeadStart)
		defer timer.Stop()
		select {
		case r := <-done:
			if r.err != nil {
				return s.uploadError(q, r.err)
			}
			return writeXML(q, http.StatusOK, answer(r.n))
		case <-timer.C:
		}
	}
	// Still assembling: answer now and keep the connection busy.
	q.w.Header().Set("Content-Type", "application/xml")
	q.w.WriteHeader(http.StatusOK)
	io.WriteString(q.w, xml.Header)
	q.w.Flush()
	tick := time.NewTicker(completeKeepAlive)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			io.WriteString(q.w, " ")
			q.w.Flush()
			continue
		case r := <-done:
			var body []byte
			if r.err != nil {
				ae := s.uploadError(q, r.err).(*APIError)
				body, _ = xml.Marshal(errorXML{Code: ae.Code, Message: ae.Message, Key: ae.Key, Resource: q.r.URL.Path, RequestID: q.id, HostID: q.id})
			} else {
				body, _ = xml.Marshal(answer(r.n))
			}
			q.w.Write(body)
			return nil
		}
	}
}

func (s *server) abortUpload(q *request) error {
	p, err := s.uploadPath(q)
	if err != nil {
		return err
	}
	if err := s.st.AbortUpload(q.ctx, p, q.query.Get("uploadId")); err != nil {
		return s.uploadError(q, err)
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

type uploadXML struct {
	Key          string
	UploadID     string `xml:"UploadId"`
	Initiator    owner
	Owner        owner
	StorageClass string
	Initiated    string
}

type commonPrefix struct {
	Prefix string
}

type listUploadsResult struct {
	XMLName            xml.Name `xml:"ListMultipartUploadsResult"`
	NS                 string   `xml:"xmlns,attr"`
	Bucket             string
	KeyMarker          string
	UploadIDMarker     string `xml:"UploadIdMarker"`
	NextKeyMarker      string
	NextUploadIDMarker string `xml:"NextUploadIdMarker"`
	Delimiter          string `xml:",omitempty"`
	Prefix             string
	EncodingType       string `xml:",omitempty"`
	MaxUploads         int
	IsTruncated        bool
	Uploads            []uploadXML    `xml:"Upload"`
	CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
}

// listUploads lists the uploads in progress in the bucket, by key and then
// by initiation, with prefix, delimiter and the key/upload-id markers.
func (s *server) listUploads(q *request) error {
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	maxUploads, err := intParam(q, "max-uploads", 1000)
	if err != nil {
		return err
	}
	enc, err := encoder(q)
	if err != nil {
		return err
	}
	prefix, delim := q.query.Get("prefix"), q.query.Get("delimiter")
	keyMarker, idMarker := q.query.Get("key-marker"), q.query.Get("upload-id-marker")
	base := "/" + q.bucket + "/"
	ups, err := s.st.ListUploads(q.ctx, base+prefix)
	if err != nil {
		return storeError(err, atBucket)
	}
	res := listUploadsResult{
		NS: s3NS, Bucket: q.bucket, KeyMarker: enc(keyMarker), UploadIDMarker: idMarker,
		Delimiter: enc(delim), Prefix: enc(prefix), MaxUploads: maxUploads,
	}
	if q.query.Get("encoding-type") != "" {
		res.EncodingType = "url"
	}
	passedID := idMarker == ""
	lastCP := ""
	count := 0
	for _, u := range ups {
		key := strings.TrimPrefix(u.Path, base)
		if key < keyMarker {
			continue
		}
		if key == keyMarker {
			if !passedID {
				passedID = u.ID == idMarker
				continue
			}
			if idMarker == "" {
				continue
			}
		}
		if delim != "" {
			if i := strings.Index(key[len(prefix):], delim); i >= 0 {
				cp := key[:len(prefix)+i+len(delim)]
				if cp == lastCP || cp <= keyMarker {
					continue
				}
				if count == maxUploads {
					res.IsTruncated = true
					break
				}
				lastCP = cp
				res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{enc(cp)})
				res.NextKeyMarker, res.NextUploadIDMarker = enc(cp), ""
				count++
				continue
			}
		}
		if count == maxUploads {
			res.IsTruncated = true
			break
		}
		o := owner{ID: u.Owner, DisplayName: u.Owner}
		res.Uploads = append(res.Uploads, uploadXML{
			Key: enc(key), UploadID: u.ID, Initiator: o, Owner: o, StorageClass: "STANDARD",
			Initiated: fmtTime(u.Initiated.UnixNano()),
		})
		res.NextKeyMarker, res.NextUploadIDMarker = enc(key), u.ID
		count++
	}
	return writeXML(q, http.StatusOK, res)
}
