package osstest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// location is the region every bucket of the test server claims to be in.
func (s *Server) location() string {
	if s.opts.Region != "" {
		return "oss-" + s.opts.Region
	}
	return "oss-cn-hangzhou"
}

func (c *call) putBucket() *ossError {
	io.Copy(io.Discard, c.r.Body) // CreateBucketConfiguration: nothing in it matters here
	if e := c.s.store.createBucket(c.t.bucket, c.s.now()); e != nil {
		return e
	}
	c.w.Header().Set("Location", "/"+c.t.bucket)
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(http.StatusOK)
	return nil
}

func (c *call) deleteBucket() *ossError {
	if e := c.s.store.deleteBucket(c.t.bucket); e != nil {
		return e
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *call) listBuckets() *ossError {
	q := c.t.query
	prefix, marker := q.Get("prefix"), q.Get("marker")
	maxKeys, e := intParam(q, "max-keys", 100, 1, 1000)
	if e != nil {
		return e
	}
	res := listAllMyBucketsResult{Prefix: prefix, Marker: marker, MaxKeys: maxKeys}
	for _, name := range c.s.store.bucketNames() {
		if !strings.HasPrefix(name, prefix) || name <= marker {
			continue
		}
		if len(res.Buckets) == maxKeys {
			res.IsTruncated = true
			res.NextMarker = res.Buckets[len(res.Buckets)-1].Name
			break
		}
		var created string
		c.s.store.withBucket(name, func(b *bucket) *ossError {
			created = isoTime(b.created)
			return nil
		})
		res.Buckets = append(res.Buckets, bucketEntry{
			Name: name, CreationDate: created, Location: c.s.location(),
			ExtranetEndpoint: c.s.Addr(), IntranetEndpoint: c.s.Addr(), StorageClass: "Standard",
			Region: strings.TrimPrefix(c.s.location(), "oss-"),
		})
	}
	return c.writeXML(res)
}

func (c *call) getBucketInfo() *ossError {
	var res bucketInfo
	e := c.s.store.withBucket(c.t.bucket, func(b *bucket) *ossError {
		res.Bucket.Name = b.name
		res.Bucket.CreationDate = isoTime(b.created)
		return nil
	})
	if e != nil {
		return e
	}
	res.Bucket.AccessMonitor = "Disabled"
	res.Bucket.Location = c.s.location()
	res.Bucket.ExtranetEndpoint = c.s.Addr()
	res.Bucket.IntranetEndpoint = c.s.Addr()
	res.Bucket.ACL = "private"
	res.Bucket.DataRedundancyType = "LRS"
	res.Bucket.StorageClass = "Standard"
	return c.writeXML(res)
}

func (c *call) getBucketStat() *ossError {
	var res bucketStat
	e := c.s.store.withBucket(c.t.bucket, func(b *bucket) *ossError {
		for _, o := range b.objects {
			res.Storage += o.data.size
			res.ObjectCount++
			res.LastModifiedTime = max(res.LastModifiedTime, o.mtime.Unix())
		}
		res.MultipartUploadCount = int64(len(b.uploads))
		return nil
	})
	if e != nil {
		return e
	}
	res.StandardStorage, res.StandardObjectCount = res.Storage, res.ObjectCount
	return c.writeXML(res)
}

func (c *call) getBucketLocation() *ossError {
	if e := c.s.store.bucketExists(c.t.bucket); e != nil {
		return e
	}
	return c.writeXML(struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Value   string   `xml:",chardata"`
	}{Value: c.s.location()})
}

// deleteMultipleObjects is POST /?delete. As OSS, it wants Content-MD5 and
// at most 1000 keys, and reports keys that did not exist as deleted. A key
// it fails to delete (Faults.FailDelete) is left out of a verbose answer;
// a quiet answer lists only such keys, and has no body when there are none.
func (c *call) deleteMultipleObjects() *ossError {
	if e := c.s.store.bucketExists(c.t.bucket); e != nil {
		return e
	}
	req, e := c.readDeleteRequest()
	if e != nil {
		return e
	}
	undeletable := c.s.faults.Load().FailDelete
	var deleted, failed []string
	e = c.s.store.updateBucket(c.t.bucket, func(b *bucket) *ossError {
		for _, o := range req.Objects {
			if slices.Contains(undeletable, o.Key) {
				failed = append(failed, o.Key)
				continue
			}
			b.deleteLocked(o.Key)
			deleted = append(deleted, o.Key)
		}
		return nil
	})
	if e != nil {
		return e
	}
	listed := deleted
	if req.Quiet {
		if len(failed) == 0 {
			c.w.Header().Set("Content-Length", "0")
			c.w.WriteHeader(http.StatusOK)
			return nil
		}
		listed = failed
	}
	encType, enc := c.urlEncoding()
	res := deleteResult{EncodingType: encType}
	for _, k := range listed {
		res.Deleted = append(res.Deleted, struct {
			Key string `xml:"Key"`
		}{Key: enc(k)})
	}
	return c.writeXML(res)
}

// readDeleteRequest reads and checks the body of a DeleteMultipleObjects.
func (c *call) readDeleteRequest() (deleteRequest, *ossError) {
	var req deleteRequest
	want := c.r.Header.Get("Content-MD5")
	if want == "" {
		return req, newErr(http.StatusBadRequest, "MissingArgument", "Missing Some Required Arguments.", "ArgumentName", "Content-MD5")
	}
	body, err := io.ReadAll(io.LimitReader(c.r.Body, 4<<20))
	if err != nil {
		return req, errMalformedXML()
	}
	sum := md5.Sum(body)
	if base64.StdEncoding.EncodeToString(sum[:]) != want {
		return req, errInvalidDigest()
	}
	if xml.Unmarshal(body, &req) != nil || len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return req, errMalformedXML()
	}
	return req, nil
}

// listUploads is ListMultipartUploads: uploads in progress, by key then
// initiation time.
func (c *call) listMultipartUploads() *ossError {
	q := c.t.query
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	maxUploads, e := intParam(q, "max-uploads", 1000, 1, 1000)
	if e != nil {
		return e
	}
	var ups []*upload
	e = c.s.store.withBucket(c.t.bucket, func(b *bucket) *ossError {
		for _, u := range b.uploads {
			ups = append(ups, u)
		}
		return nil
	})
	if e != nil {
		return e
	}
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].key != ups[j].key {
			return ups[i].key < ups[j].key
		}
		return ups[i].id < ups[j].id
	})
	encType, enc := c.urlEncoding()
	res := listUploadsResult{
		EncodingType: encType, Bucket: c.t.bucket, KeyMarker: enc(keyMarker), UploadIDMarker: idMarker,
		Delimiter: enc(delim), Prefix: enc(prefix), MaxUploads: maxUploads,
	}
	lastPrefix := ""
	n := 0
	for _, u := range ups {
		if !strings.HasPrefix(u.key, prefix) {
			continue
		}
		if u.key < keyMarker || u.key == keyMarker && (idMarker == "" || u.id <= idMarker) {
			continue
		}
		if n == maxUploads {
			res.IsTruncated = true
			break
		}
		if delim != "" {
			if i := strings.Index(u.key[len(prefix):], delim); i >= 0 {
				cp := u.key[:len(prefix)+i+len(delim)]
				if cp != lastPrefix {
					lastPrefix = cp
					res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{enc(cp)})
					n++
				}
				continue
			}
		}
		res.Uploads = append(res.Uploads, uploadEntry{Key: enc(u.key), UploadID: u.id, Initiated: isoTime(u.initiated)})
		res.NextKeyMarker, res.NextUploadIDMarker = enc(u.key), u.id
		n++
	}
	return c.writeXML(res)
}
