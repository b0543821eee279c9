package metrics

import (
	"net/http"
	"strings"
)

// alluxioPrefix is where Alluxio serves its S3 API; the gateway serves the
// same API there and at "/".
const alluxioPrefix = "/api/v1/s3"

// OpName names the S3 operation of a request the way AWS does
// ("GetObject", "ListObjectsV2", "CompleteMultipartUpload", ...), from its
// method, the shape of its path (service, bucket or object) and the query
// flags that select a subresource, following the gateway's routing table
// (gateway/routes.go). copySource says whether the request carries
// x-amz-copy-source. The set of names is fixed, so that they can be label
// values; anything else is "Unknown". It does not allocate.
func OpName(method, path, rawQuery string, copySource bool) string {
	if rest, ok := strings.CutPrefix(path, alluxioPrefix); ok && (rest == "" || rest[0] == '/') {
		path = rest
	}
	path = strings.TrimPrefix(path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	q := query(rawQuery)
	switch {
	case bucket == "":
		if method == http.MethodGet {
			return "ListBuckets"
		}
	case key == "":
		return bucketOp(method, q)
	default:
		return objectOp(method, q, copySource)
	}
	return "Unknown"
}

func bucketOp(method string, q query) string {
	switch method {
	case http.MethodGet:
		for _, f := range bucketGets {
			if q.has(f[0]) {
				return f[1]
			}
		}
		if q.value("list-type") == "2" {
			return "ListObjectsV2"
		}
		return "ListObjects"
	case http.MethodHead:
		return "HeadBucket"
	case http.MethodPut:
		switch {
		case q.has("tagging"):
			return "PutBucketTagging"
		case q.has("acl"):
			return "PutBucketAcl"
		}
		return "CreateBucket"
	case http.MethodPost:
		if q.has("delete") {
			return "DeleteObjects"
		}
	case http.MethodDelete:
		if q.has("tagging") {
			return "DeleteBucketTagging"
		}
		return "DeleteBucket"
	}
	return "Unknown"
}

// bucketGets are the GET subresources of a bucket, in the routing table's
// order.
var bucketGets = [][2]string{
	{"location", "GetBucketLocation"},
	{"uploads", "ListMultipartUploads"},
	{"tagging", "GetBucketTagging"},
	{"versioning", "GetBucketVersioning"},
	{"acl", "GetBucketAcl"},
	{"policy", "GetBucketPolicy"},
	{"cors", "GetBucketCors"},
	{"lifecycle", "GetBucketLifecycleConfiguration"},
	{"website", "GetBucketWebsite"},
	{"encryption", "GetBucketEncryption"},
	{"object-lock", "GetObjectLockConfiguration"},
	{"replication", "GetBucketReplication"},
	{"logging", "GetBucketLogging"},
	{"notification", "GetBucketNotificationConfiguration"},
	{"versions", "ListObjectVersions"},
}

func objectOp(method string, q query, copySource bool) string {
	switch method {
	case http.MethodGet:
		switch {
		case q.has("uploadId"):
			return "ListParts"
		case q.has("tagging"):
			return "GetObjectTagging"
		case q.has("acl"):
			return "GetObjectAcl"
		}
		return "GetObject"
	case http.MethodHead:
		return "HeadObject"
	case http.MethodPut:
		switch {
		case q.has("uploadId") && copySource:
			return "UploadPartCopy"
		case q.has("uploadId"):
			return "UploadPart"
		case q.has("tagging"):
			return "PutObjectTagging"
		case q.has("acl"):
			return "PutObjectAcl"
		case copySource:
			return "CopyObject"
		}
		return "PutObject"
	case http.MethodPost:
		switch {
		case q.has("uploads"):
			return "CreateMultipartUpload"
		case q.has("uploadId"):
			return "CompleteMultipartUpload"
		}
	case http.MethodDelete:
		switch {
		case q.has("uploadId"):
			return "AbortMultipartUpload"
		case q.has("tagging"):
			return "DeleteObjectTagging"
		}
		return "DeleteObject"
	}
	return "Unknown"
}

// query looks parameters up in a raw query string without parsing it into
// a map: the flags are plain ASCII names, never escaped by clients.
type query string

// value returns the raw value of the first parameter named name.
func (q query) value(name string) string {
	v, _ := q.lookup(name)
	return v
}

func (q query) has(name string) bool {
	_, ok := q.lookup(name)
	return ok
}

func (q query) lookup(name string) (string, bool) {
	s := string(q)
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}
