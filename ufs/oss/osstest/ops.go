package osstest

import "net/http"

// Operation names, as OSS's API reference names them; Count takes them.
const (
	OpListBuckets             = "ListBuckets"
	OpPutBucket               = "PutBucket"
	OpDeleteBucket            = "DeleteBucket"
	OpGetBucketInfo           = "GetBucketInfo"
	OpGetBucketStat           = "GetBucketStat"
	OpGetBucketLocation       = "GetBucketLocation"
	OpListObjects             = "ListObjects"
	OpListObjectsV2           = "ListObjectsV2"
	OpDeleteMultipleObjects   = "DeleteMultipleObjects"
	OpListMultipartUploads    = "ListMultipartUploads"
	OpPutObject               = "PutObject"
	OpGetObject               = "GetObject"
	OpHeadObject              = "HeadObject"
	OpGetObjectMeta           = "GetObjectMeta"
	OpDeleteObject            = "DeleteObject"
	OpCopyObject              = "CopyObject"
	OpInitiateMultipartUpload = "InitiateMultipartUpload"
	OpUploadPart              = "UploadPart"
	OpUploadPartCopy          = "UploadPartCopy"
	OpCompleteMultipartUpload = "CompleteMultipartUpload"
	OpAbortMultipartUpload    = "AbortMultipartUpload"
	OpListParts               = "ListParts"

	opUnknown = "Unknown"
)

// operation names what a request asks for, from its method, its target and
// the query flags (?uploads, ?uploadId, ?delete, ...).
func operation(r *http.Request, t target) string {
	q := t.query
	has := func(k string) bool { _, ok := q[k]; return ok }
	copySource := r.Header.Get("x-oss-copy-source") != ""
	switch {
	case t.bucket == "":
		if r.Method == http.MethodGet {
			return OpListBuckets
		}
	case t.key == "":
		switch r.Method {
		case http.MethodPut:
			if len(q) == 0 {
				return OpPutBucket
			}
		case http.MethodDelete:
			if len(q) == 0 {
				return OpDeleteBucket
			}
		case http.MethodPost:
			if has("delete") {
				return OpDeleteMultipleObjects
			}
		case http.MethodGet:
			switch {
			case has("bucketInfo"):
				return OpGetBucketInfo
			case has("stat"):
				return OpGetBucketStat
			case has("location"):
				return OpGetBucketLocation
			case has("uploads"):
				return OpListMultipartUploads
			case q.Get("list-type") == "2":
				return OpListObjectsV2
			case !has("acl") && !has("versions"):
				return OpListObjects
			}
		}
	default:
		switch r.Method {
		case http.MethodPut:
			switch {
			case has("partNumber") && has("uploadId") && copySource:
				return OpUploadPartCopy
			case has("partNumber") && has("uploadId"):
				return OpUploadPart
			case copySource:
				return OpCopyObject
			case !has("acl") && !has("tagging") && !has("symlink"):
				return OpPutObject
			}
		case http.MethodGet:
			switch {
			case has("uploadId"):
				return OpListParts
			case !has("acl") && !has("tagging") && !has("symlink"):
				return OpGetObject
			}
		case http.MethodHead:
			if has("objectMeta") {
				return OpGetObjectMeta
			}
			return OpHeadObject
		case http.MethodPost:
			switch {
			case has("uploads"):
				return OpInitiateMultipartUpload
			case has("uploadId"):
				return OpCompleteMultipartUpload
			}
		case http.MethodDelete:
			if has("uploadId") {
				return OpAbortMultipartUpload
			}
			if !has("tagging") {
				return OpDeleteObject
			}
		}
	}
	return opUnknown
}

// dispatch runs the handler of op.
func (s *Server) dispatch(op string, c *call) *ossError {
	switch op {
	case OpListBuckets:
		return c.listBuckets()
	case OpPutBucket:
		return c.putBucket()
	case OpDeleteBucket:
		return c.deleteBucket()
	case OpGetBucketInfo:
		return c.getBucketInfo()
	case OpGetBucketStat:
		return c.getBucketStat()
	case OpGetBucketLocation:
		return c.getBucketLocation()
	case OpListObjects:
		return c.listObjects()
	case OpListObjectsV2:
		return c.listObjectsV2()
	case OpDeleteMultipleObjects:
		return c.deleteMultipleObjects()
	case OpListMultipartUploads:
		return c.listMultipartUploads()
	case OpPutObject:
		return c.putObject()
	case OpGetObject:
		return c.getObject(true)
	case OpHeadObject, OpGetObjectMeta:
		return c.getObject(false)
	case OpDeleteObject:
		return c.deleteObject()
	case OpCopyObject:
		return c.copyObject()
	case OpInitiateMultipartUpload:
		return c.initiateMultipartUpload()
	case OpUploadPart:
		return c.uploadPart()
	case OpUploadPartCopy:
		return c.uploadPartCopy()
	case OpCompleteMultipartUpload:
		return c.completeMultipartUpload()
	case OpAbortMultipartUpload:
		return c.abortMultipartUpload()
	case OpListParts:
		return c.listParts()
	}
	return errNotImplemented()
}
