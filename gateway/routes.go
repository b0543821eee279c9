package gateway

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
)

// The S3 API's routes. httprouter matches the method and the shape of the
// path (service, bucket, object); the operation is then picked by the query
// flags, the way S3 overloads one URL with subresources (?uploads,
// ?uploadId, ?delete, ?tagging, ...). ServeHTTP has already removed the
// /api/v1/s3 prefix, so one table serves both URL forms.
//
// Files by operation family:
//
//	bucket.go       ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation, stubs
//	list.go         ListObjects (v1), ListObjectsV2
//	object_get.go   GetObject, HeadObject (ranges, conditions)
//	object_put.go   PutObject, DeleteObject, DeleteObjects, tagging
//	object_copy.go  CopyObject, UploadPartCopy
//	object_post.go  POST Object (HTML form uploads)
//	multipart.go    CreateMultipartUpload, UploadPart, ListParts, Complete, Abort, ListMultipartUploads
//	auth.go         Signature V4 and V2, presigned URLs, aws-chunked bodies
func (s *server) routes() *httprouter.Router {
	rt := httprouter.New()
	// S3 keys are not cleaned paths: "a//b" must reach the handler (and be
	// refused there), not be redirected.
	rt.RedirectTrailingSlash = false
	rt.RedirectFixedPath = false
	rt.HandleMethodNotAllowed = true
	rt.HandleOPTIONS = false
	rt.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.Context().Value(requestKey{}).(*request)
		s.writeError(q, ErrMethodNotAllowed)
	})
	rt.NotFound = rt.MethodNotAllowed
	rt.PanicHandler = nil

	rt.GET("/", s.handle(serviceOps))
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete} {
		rt.Handle(m, "/:bucket", s.handle(bucketOps))
		rt.Handle(m, "/:bucket/*key", s.handle(objectOps))
	}
	return rt
}

// op is one S3 operation: the method and the query flag that select it.
type op struct {
	method string
	flag   string // a query parameter that must be present; "" for none
	fn     func(*server, *request) error
}

var serviceOps = []op{
	{http.MethodGet, "", (*server).listBuckets},
}

// Order matters: the first op whose method matches and whose flag is in the
// query wins; the flagless op of each method comes last.
var bucketOps = []op{
	{http.MethodGet, "location", (*server).getBucketLocation},
	{http.MethodGet, "uploads", (*server).listUploads},
	{http.MethodGet, "tagging", (*server).getObjectTagging},
	{http.MethodGet, "versioning", (*server).getBucketVersioning},
	{http.MethodGet, "acl", (*server).getACL},
	{http.MethodGet, "policy", fail(ErrNoSuchBucketPolicy)},
	{http.MethodGet, "cors", fail(ErrNoSuchCORS)},
	{http.MethodGet, "lifecycle", fail(ErrNoSuchLifecycle)},
	{http.MethodGet, "website", fail(ErrNoSuchWebsite)},
	{http.MethodGet, "encryption", fail(ErrNoEncryptionConfig)},
	{http.MethodGet, "object-lock", fail(ErrNoObjectLockConfig)},
	{http.MethodGet, "replication", fail(ErrNoReplicationConfig)},
	{http.MethodGet, "logging", (*server).getBucketLogging},
	{http.MethodGet, "notification", (*server).getBucketNotification},
	{http.MethodGet, "versions", fail(ErrNotImplemented)},
	{http.MethodGet, "", (*server).listObjects},
	{http.MethodHead, "", (*server).headBucket},
	{http.MethodPut, "tagging", (*server).putObjectTagging},
	{http.MethodPut, "acl", (*server).putACL},
	{http.MethodPut, "", (*server).createBucket},
	{http.MethodPost, "delete", (*server).deleteObjects},
	{http.MethodPost, "", (*server).postObject},
	{http.MethodDelete, "tagging", (*server).deleteObjectTagging},
	{http.MethodDelete, "", (*server).deleteBucket},
}

var objectOps = []op{
	{http.MethodGet, "uploadId", (*server).listParts},
	{http.MethodGet, "tagging", (*server).getObjectTagging},
	{http.MethodGet, "acl", (*server).getACL},
	{http.MethodGet, "", (*server).getObject},
	{http.MethodHead, "", (*server).headObject},
	{http.MethodPut, "uploadId", (*server).uploadPart},
	{http.MethodPut, "tagging", (*server).putObjectTagging},
	{http.MethodPut, "acl", (*server).putACL},
	{http.MethodPut, "", (*server).putObject},
	{http.MethodPost, "uploads", (*server).createUpload},
	{http.MethodPost, "uploadId", (*server).completeUpload},
	{http.MethodDelete, "uploadId", (*server).abortUpload},
	{http.MethodDelete, "tagging", (*server).deleteObjectTagging},
	{http.MethodDelete, "", (*server).deleteObject},
}

// unsupported are subresources that Hoard does not implement; any request
// naming one is refused rather than taken for a plain object operation.
var unsupported = []string{
	"retention", "legal-hold", "attributes", "torrent", "restore", "select",
	"analytics", "inventory", "metrics", "intelligent-tiering",
	"accelerate", "requestPayment", "publicAccessBlock", "ownershipControls",
}

// handle returns the httprouter handle that dispatches among ops.
func (s *server) handle(ops []op) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		q := r.Context().Value(requestKey{}).(*request)
		q.bucket = ps.ByName("bucket")
		q.key = strings.TrimPrefix(ps.ByName("key"), "/")
		table := ops
		if q.key == "" && ps.ByName("key") != "" {
			// "/bucket/": a bucket operation (s3cmd writes bucket URLs so).
			table = bucketOps
		}
		if err := s.dispatch(table, q); err != nil {
			s.writeError(q, err)
		}
	}
}

func (s *server) dispatch(ops []op, q *request) error {
	for _, f := range unsupported {
		if q.query.Has(f) {
			return errorf(ErrNotImplemented, "The %q subresource is not implemented by Hoard.", f)
		}
	}
	// Buckets are never versioned: the only version is "null".
	if v := q.query.Get("versionId"); v != "" && v != "null" {
		return errorf(ErrNotImplemented, "Hoard buckets are not versioned: versionId %q is not supported.", v)
	}
	for _, o := range ops {
		if o.method == q.r.Method && (o.flag == "" || q.query.Has(o.flag)) {
			return o.fn(s, q)
		}
	}
	return ErrMethodNotAllowed
}

// fail is an operation that always answers e.
func fail(e *APIError) func(*server, *request) error {
	return func(*server, *request) error { return e }
}
