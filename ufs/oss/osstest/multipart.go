package osstest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"hash/crc64"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

const maxPartNumber = 10000

func newUploadID() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func (c *call) initiateMultipartUpload() *ossError {
	u := &upload{
		id: newUploadID(), key: c.t.key, initiated: c.s.now(),
		contentType: contentType(c.r.Header), meta: userMeta(c.r.Header), parts: map[int]*part{},
	}
	e := c.s.store.updateBucket(c.t.bucket, func(b *bucket) *ossError {
		b.uploads[u.id] = u
		return nil
	})
	if e != nil {
		return e
	}
	encType, enc := c.urlEncoding()
	return c.writeXML(initiateResult{Bucket: c.t.bucket, Key: enc(c.t.key), UploadID: u.id, EncodingType: encType})
}

// partTarget checks partNumber and that the upload exists for the key.
func (c *call) partTarget() (int, string, *ossError) {
	id := c.t.query.Get("uploadId")
	num, e := intParam(c.t.query, "partNumber", 0, 1, maxPartNumber)
	if e != nil {
		return 0, "", e
	}
	e = c.s.store.withBucket(c.t.bucket, func(b *bucket) *ossError {
		_, e := b.uploadLocked(c.t.key, id)
		return e
	})
	return num, id, e
}

// storePart records p in the upload, replacing an earlier part of the same
// number. The upload may have been completed or aborted meanwhile.
func (c *call) storePart(id string, p *part) *ossError {
	return c.s.store.updateBucket(c.t.bucket, func(b *bucket) *ossError {
		u, e := b.uploadLocked(c.t.key, id)
		if e != nil {
			return e
		}
		u.parts[p.num] = p
		return nil
	})
}

func (c *call) uploadPart() *ossError {
	num, id, e := c.partTarget()
	if e != nil {
		return e
	}
	data, sum, crc, e := c.body()
	if e != nil {
		return e
	}
	p := &part{num: num, data: data, etag: strings.ToUpper(hex.EncodeToString(sum)), crc: crc, mtime: c.s.now()}
	if e := c.storePart(id, p); e != nil {
		return e
	}
	h := c.w.Header()
	h.Set("ETag", quote(p.etag))
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(crc, 10))
	h.Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (c *call) uploadPartCopy() *ossError {
	num, id, e := c.partTarget()
	if e != nil {
		return e
	}
	sb, sk, e := c.copySource()
	if e != nil {
		return e
	}
	src, e := c.s.store.get(sb, sk)
	if e != nil {
		return e
	}
	if e := copyConditions(c.r.Header, src); e != nil {
		return e
	}
	data := src.data
	if spec := c.r.Header.Get("x-oss-copy-source-range"); spec != "" {
		start, n, partial, e := parseRange(spec, src.data.size, true)
		if e != nil || !partial {
			return errInvalidArgument("The x-oss-copy-source-range is not valid for the source object.", "x-oss-copy-source-range", spec)
		}
		data = src.data.slice(start, n)
	}
	m, crc := md5.New(), crc64.New(crcTable)
	data.writeTo(io.MultiWriter(m, crc))
	p := &part{num: num, data: data, etag: strings.ToUpper(hex.EncodeToString(m.Sum(nil))), crc: crc.Sum64(), mtime: c.s.now()}
	if e := c.storePart(id, p); e != nil {
		return e
	}
	return c.writeXML(copyPartResult{LastModified: isoTime(p.mtime), ETag: quote(p.etag)})
}

// completeMultipartUpload checks the part list as OSS does — ascending
// numbers (InvalidPartOrder), every part uploaded with that ETag
// (InvalidPart), every part but the last at least MinPartSize
// (EntityTooSmall) — and assembles the object. Its ETag is the MD5 of the
// parts' binary MD5s, uppercase, with "-<number of parts>".
func (c *call) completeMultipartUpload() *ossError {
	id := c.t.query.Get("uploadId")
	var req completeRequest
	completeAll := strings.EqualFold(c.r.Header.Get("x-oss-complete-all"), "yes")
	if !completeAll {
		body, err := io.ReadAll(io.LimitReader(c.r.Body, 4<<20))
		if err != nil || xml.Unmarshal(body, &req) != nil || len(req.Parts) == 0 {
			return errMalformedXML()
		}
	}
	if e := c.checkOverwrite(c.t.key); e != nil {
		return e
	}
	var o *object
	e := c.s.store.updateBucket(c.t.bucket, func(b *bucket) *ossError {
		u, e := b.uploadLocked(c.t.key, id)
		if e != nil {
			return e
		}
		var parts []*part
		if completeAll {
			for _, p := range u.parts {
				parts = append(parts, p)
			}
			sort.Slice(parts, func(i, j int) bool { return parts[i].num < parts[j].num })
		} else {
			for i, rp := range req.Parts {
				if i > 0 && rp.PartNumber <= req.Parts[i-1].PartNumber {
					return newErr(http.StatusBadRequest, "InvalidPartOrder", "The list of parts was not in ascending order. Parts list must specified in order by part number.")
				}
				p := u.parts[rp.PartNumber]
				if p == nil || !strings.EqualFold(strings.Trim(rp.ETag, `" `), p.etag) {
					return newErr(http.StatusBadRequest, "InvalidPart", "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
						"PartNumber", strconv.Itoa(rp.PartNumber), "ETag", rp.ETag)
				}
				parts = append(parts, p)
			}
		}
		if len(parts) == 0 {
			return errMalformedXML()
		}
		for i, p := range parts[:len(parts)-1] {
			if p.data.size < c.s.opts.MinPartSize {
				return newErr(http.StatusBadRequest, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size.",
					"PartNumber", strconv.Itoa(parts[i].num), "MinSizeAllowed", strconv.FormatInt(c.s.opts.MinPartSize, 10))
			}
		}
		sums, blobs := md5.New(), make([]blob, len(parts))
		for i, p := range parts {
			raw, _ := hex.DecodeString(p.etag)
			sums.Write(raw)
			blobs[i] = p.data
		}
		o = &object{
			key: u.key, data: concat(blobs...),
			etag:  strings.ToUpper(hex.EncodeToString(sums.Sum(nil))) + "-" + strconv.Itoa(len(parts)),
			mtime: c.s.now(), contentType: u.contentType, meta: u.meta, typ: "Multipart",
		}
		o.crc = combineCRC(parts)
		delete(b.uploads, id)
		b.putLocked(o)
		return nil
	})
	if e != nil {
		return e
	}
	encType, enc := c.urlEncoding()
	c.w.Header().Set("x-oss-hash-crc64ecma", strconv.FormatUint(o.crc, 10))
	return c.writeXML(completeResult{
		EncodingType: encType, Location: c.s.URL() + "/" + c.t.bucket + "/" + queryEscape(c.t.key),
		Bucket: c.t.bucket, Key: enc(c.t.key), ETag: quote(o.etag),
	})
}

func (c *call) abortMultipartUpload() *ossError {
	id := c.t.query.Get("uploadId")
	e := c.s.store.updateBucket(c.t.bucket, func(b *bucket) *ossError {
		if _, e := b.uploadLocked(c.t.key, id); e != nil {
			return e
		}
		delete(b.uploads, id)
		return nil
	})
	if e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *call) listParts() *ossError {
	id := c.t.query.Get("uploadId")
	maxParts, e := intParam(c.t.query, "max-parts", 1000, 1, 1000)
	if e != nil {
		return e
	}
	marker, e := intParam(c.t.query, "part-number-marker", 0, 0, maxPartNumber)
	if e != nil {
		return e
	}
	var parts []*part
	e = c.s.store.withBucket(c.t.bucket, func(b *bucket) *ossError {
		u, e := b.uploadLocked(c.t.key, id)
		if e != nil {
			return e
		}
		for _, p := range u.parts {
			if p.num > marker {
				parts = append(parts, p)
			}
		}
		return nil
	})
	if e != nil {
		return e
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].num < parts[j].num })
	encType, enc := c.urlEncoding()
	res := listPartsResult{
		EncodingType: encType, Bucket: c.t.bucket, Key: enc(c.t.key), UploadID: id,
		PartNumberMarker: marker, MaxParts: maxParts,
	}
	if len(parts) > maxParts {
		parts, res.IsTruncated = parts[:maxParts], true
	}
	for _, p := range parts {
		res.Parts = append(res.Parts, partEntry{
			PartNumber: p.num, LastModified: isoTime(p.mtime), ETag: quote(p.etag), HashCrc64ecma: p.crc, Size: p.data.size,
		})
		res.NextPartNumberMarker = p.num
	}
	return c.writeXML(res)
}
