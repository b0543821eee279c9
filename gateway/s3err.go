package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hoardfs/hoard/store"
)

// APIError is an S3 error: AWS's code, status and message. The message of
// one occurrence may say more than the code's standard one; SDKs compare
// codes, and some compare messages, so the standard message is used unless
// there is something to add.
type APIError struct {
	Code    string
	Status  int
	Message string
	// Key and BucketName, when set, are added to the XML as AWS does.
	Key, BucketName string
	cause           error
}

func (e *APIError) Error() string {
	if e.cause != nil {
		return e.Code + ": " + e.Message + ": " + e.cause.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *APIError) Unwrap() error { return e.cause }

// The errors the gateway answers, with AWS's codes, statuses and messages
// (MinIO's for the key/path conflicts AWS cannot have).
var (
	ErrAccessDenied             = &APIError{Code: "AccessDenied", Status: 403, Message: "Access Denied"}
	ErrAuthorizationMalformed   = &APIError{Code: "AuthorizationHeaderMalformed", Status: 400, Message: "The authorization header is malformed."}
	ErrAuthQueryMalformed       = &APIError{Code: "AuthorizationQueryParametersError", Status: 400, Message: "Error parsing the X-Amz-Credential parameter."}
	ErrBadDigest                = &APIError{Code: "BadDigest", Status: 400, Message: "The Content-MD5 you specified did not match what we received."}
	ErrBucketAlreadyExists      = &APIError{Code: "BucketAlreadyExists", Status: 409, Message: "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."}
	ErrBucketAlreadyOwnedByYou  = &APIError{Code: "BucketAlreadyOwnedByYou", Status: 409, Message: "Your previous request to create the named bucket succeeded and you already own it."}
	ErrBucketNotEmpty           = &APIError{Code: "BucketNotEmpty", Status: 409, Message: "The bucket you tried to delete is not empty"}
	ErrEntityTooLarge           = &APIError{Code: "EntityTooLarge", Status: 400, Message: "Your proposed upload exceeds the maximum allowed object size."}
	ErrIncompleteBody           = &APIError{Code: "IncompleteBody", Status: 400, Message: "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	ErrInternal                 = &APIError{Code: "InternalError", Status: 500, Message: "We encountered an internal error. Please try again."}
	ErrInvalidAccessKeyID       = &APIError{Code: "InvalidAccessKeyId", Status: 403, Message: "The AWS Access Key Id you provided does not exist in our records."}
	ErrInvalidArgument          = &APIError{Code: "InvalidArgument", Status: 400, Message: "Invalid Argument"}
	ErrInvalidBucketName        = &APIError{Code: "InvalidBucketName", Status: 400, Message: "The specified bucket is not valid."}
	ErrInvalidDigest            = &APIError{Code: "InvalidDigest", Status: 400, Message: "The Content-MD5 you specified is not valid."}
	ErrInvalidPart              = &APIError{Code: "InvalidPart", Status: 400, Message: "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."}
	ErrInvalidPartOrder         = &APIError{Code: "InvalidPartOrder", Status: 400, Message: "The list of parts was not in ascending order. The parts list must be specified in order by part number."}
	ErrInvalidRange             = &APIError{Code: "InvalidRange", Status: 416, Message: "The requested range is not satisfiable"}
	ErrInvalidRequest           = &APIError{Code: "InvalidRequest", Status: 400, Message: "Invalid Request"}
	ErrInvalidTag               = &APIError{Code: "InvalidTag", Status: 400, Message: "The tag provided was not a valid tag."}
	ErrKeyTooLong               = &APIError{Code: "KeyTooLongError", Status: 400, Message: "Your key is too long"}
	ErrMalformedXML             = &APIError{Code: "MalformedXML", Status: 400, Message: "The XML you provided was not well-formed or did not validate against our published schema."}
	ErrMetadataTooLarge         = &APIError{Code: "MetadataTooLarge", Status: 400, Message: "Your metadata headers exceed the maximum allowed metadata size."}
	ErrMethodNotAllowed         = &APIError{Code: "MethodNotAllowed", Status: 405, Message: "The specified method is not allowed against this resource."}
	ErrNoSuchBucket             = &APIError{Code: "NoSuchBucket", Status: 404, Message: "The specified bucket does not exist"}
	ErrNoSuchKey                = &APIError{Code: "NoSuchKey", Status: 404, Message: "The specified key does not exist."}
	ErrNoSuchUpload             = &APIError{Code: "NoSuchUpload", Status: 404, Message: "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."}
	ErrNoSuchTagSet             = &APIError{Code: "NoSuchTagSet", Status: 404, Message: "The TagSet does not exist"}
	ErrNoSuchBucketPolicy       = &APIError{Code: "NoSuchBucketPolicy", Status: 404, Message: "The bucket policy does not exist"}
	ErrNoSuchCORS               = &APIError{Code: "NoSuchCORSConfiguration", Status: 404, Message: "The CORS configuration does not exist"}
	ErrNoSuchLifecycle          = &APIError{Code: "NoSuchLifecycleConfiguration", Status: 404, Message: "The lifecycle configuration does not exist"}
	ErrNoSuchWebsite            = &APIError{Code: "NoSuchWebsiteConfiguration", Status: 404, Message: "The specified bucket does not have a website configuration"}
	ErrNoEncryptionConfig       = &APIError{Code: "ServerSideEncryptionConfigurationNotFoundError", Status: 404, Message: "The server side encryption configuration was not found"}
	ErrNoObjectLockConfig       = &APIError{Code: "ObjectLockConfigurationNotFoundError", Status: 404, Message: "Object Lock configuration does not exist for this bucket"}
	ErrNoReplicationConfig      = &APIError{Code: "ReplicationConfigurationNotFoundError", Status: 404, Message: "The replication configuration was not found"}
	ErrNotImplemented           = &APIError{Code: "NotImplemented", Status: 501, Message: "A header you provided implies functionality that is not implemented"}
	ErrPreconditionFailed       = &APIError{Code: "PreconditionFailed", Status: 412, Message: "At least one of the pre-conditions you specified did not hold"}
	ErrRequestTimeTooSkewed     = &APIError{Code: "RequestTimeTooSkewed", Status: 403, Message: "The difference between the request time and the server's time is too large."}
	ErrServiceUnavailable       = &APIError{Code: "ServiceUnavailable", Status: 503, Message: "Service is unable to handle request."}
	ErrSignatureDoesNotMatch    = &APIError{Code: "SignatureDoesNotMatch", Status: 403, Message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	ErrContentSHA256Mismatch    = &APIError{Code: "XAmzContentSHA256Mismatch", Status: 400, Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	ErrInvalidObjectName        = &APIError{Code: "XMinioInvalidObjectName", Status: 400, Message: "Object name contains unsupported characters."}
	ErrParentIsObject           = &APIError{Code: "XMinioParentIsObject", Status: 400, Message: "Object-prefix is already an object, please choose a different object-prefix name."}
	ErrObjectExistsAsDirectory  = &APIError{Code: "XMinioObjectExistsAsDirectory", Status: 409, Message: "Object name already exists as a directory."}
	ErrCopyToItself             = &APIError{Code: "InvalidRequest", Status: 400, Message: "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."}
	ErrEntityTooSmall           = &APIError{Code: "EntityTooSmall", Status: 400, Message: "Your proposed upload is smaller than the minimum allowed object size."}
	ErrMissingRequestBodyError  = &APIError{Code: "MissingRequestBodyError", Status: 400, Message: "Request Body is empty."}
	ErrInvalidPartNumber        = &APIError{Code: "InvalidArgument", Status: 400, Message: "Part number must be an integer between 1 and 10000, inclusive"}
	ErrInvalidMaxKeys           = &APIError{Code: "InvalidArgument", Status: 400, Message: "Argument maxKeys must be an integer between 0 and 2147483647"}
	ErrInvalidCopySource        = &APIError{Code: "InvalidArgument", Status: 400, Message: "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"}
	ErrInvalidEncodingType      = &APIError{Code: "InvalidArgument", Status: 400, Message: "Invalid Encoding Method specified in Request"}
	ErrInvalidMetadataDirective = &APIError{Code: "InvalidArgument", Status: 400, Message: "Unknown metadata directive."}
	ErrInvalidTaggingDirective  = &APIError{Code: "InvalidArgument", Status: 400, Message: "Unknown tagging directive."}
	ErrDirectoryMarkerWithBody  = &APIError{Code: "InvalidArgument", Status: 400, Message: "A key ending in '/' names a directory and must have an empty body."}
	ErrExpiredPresignedRequest  = &APIError{Code: "AccessDenied", Status: 403, Message: "Request has expired"}
	ErrPresignedNotYetValid     = &APIError{Code: "AccessDenied", Status: 403, Message: "Request is not valid yet"}
	ErrChecksumMismatch         = &APIError{Code: "BadDigest", Status: 400, Message: "The checksum you specified did not match the calculated checksum."}
	ErrInvalidChunkedEncoding   = &APIError{Code: "IncompleteBody", Status: 400, Message: "The aws-chunked body is malformed or incomplete."}
	ErrSlowDownCacheFull        = &APIError{Code: "ServiceUnavailable", Status: 503, Message: "Hoard's cache is full of data not yet persisted; retry later."}
	ErrReadOnlyMount            = &APIError{Code: "AccessDenied", Status: 403, Message: "Access Denied: the path is on a read-only mount"}
	ErrObjectNotInRange         = &APIError{Code: "InvalidArgument", Status: 400, Message: "Range specified is not valid for source object"}
	ErrMalformedPOST            = &APIError{Code: "MalformedPOSTRequest", Status: 400, Message: "The body of your POST request is not well-formed multipart/form-data."}
	ErrInvalidPolicy            = &APIError{Code: "InvalidPolicyDocument", Status: 400, Message: "The content of the form does not meet the conditions specified in the policy document."}
)

// errorf returns a copy of e whose message says more.
func errorf(e *APIError, format string, args ...any) *APIError {
	c := *e
	c.Message = fmt.Sprintf(format, args...)
	return &c
}

// withCause returns a copy of e that records the error behind it (logged,
// never shown).
func withCause(e *APIError, cause error) *APIError {
	c := *e
	c.cause = cause
	return &c
}

// where says what an S3 operation was addressing when the store failed,
// which decides the S3 meaning of an errno.
type where int

const (
	atBucket where = iota // the bucket itself
	atRead                // reading an object: anything missing is NoSuchKey
	atWrite               // writing an object: conflicts are about the key
)

// storeError maps a store error to the S3 error of an operation at w.
func storeError(err error, w where) *APIError {
	var ae *APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNoUpload):
		return withCause(ErrNoSuchUpload, err)
	case errors.Is(err, store.ErrInvalidPart):
		return withCause(ErrInvalidPart, err)
	case errors.Is(err, store.ErrPartOrder):
		return withCause(ErrInvalidPartOrder, err)
	case errors.Is(err, store.ErrBadDigest):
		return withCause(ErrBadDigest, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return withCause(errorf(ErrIncompleteBody, "The request was cancelled."), err)
	case errors.Is(err, store.ErrNoSpace):
		return withCause(ErrSlowDownCacheFull, err)
	case errors.Is(err, store.ErrReadOnly):
		return withCause(ErrReadOnlyMount, err)
	case errors.Is(err, store.ErrPerm):
		return withCause(ErrAccessDenied, err)
	case errors.Is(err, store.ErrNameTooLong):
		return withCause(errorf(ErrKeyTooLong, "Your key is too long: a path component is over %d bytes", store.MaxNameLen), err)
	case errors.Is(err, store.ErrIO), errors.Is(err, store.ErrStale):
		return withCause(errorf(ErrServiceUnavailable, "Service is unable to handle request: the under storage failed; retry later."), err)
	}
	switch w {
	case atBucket:
		if errors.Is(err, store.ErrNotExist) || errors.Is(err, store.ErrNotDir) {
			return withCause(ErrNoSuchBucket, err)
		}
		if errors.Is(err, store.ErrNotEmpty) {
			return withCause(ErrBucketNotEmpty, err)
		}
	case atRead:
		if errors.Is(err, store.ErrNotExist) || errors.Is(err, store.ErrNotDir) || errors.Is(err, store.ErrIsDir) {
			return withCause(ErrNoSuchKey, err)
		}
	case atWrite:
		switch {
		case errors.Is(err, store.ErrNotDir), errors.Is(err, store.ErrExist):
			return withCause(ErrParentIsObject, err)
		case errors.Is(err, store.ErrIsDir), errors.Is(err, store.ErrNotEmpty):
			return withCause(ErrObjectExistsAsDirectory, err)
		case errors.Is(err, store.ErrNotExist):
			// The bucket or a directory vanished under the write.
			return withCause(errorf(ErrNoSuchKey, "The specified key does not exist: a directory above it was removed meanwhile."), err)
		}
	}
	if errors.Is(err, store.ErrInvalid) {
		return withCause(errorf(ErrInvalidArgument, "Invalid Argument: %v", err), err)
	}
	return withCause(ErrInternal, err)
}

type errorXML struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string
	Message    string
	Key        string `xml:",omitempty"`
	BucketName string `xml:",omitempty"`
	Resource   string
	RequestID  string `xml:"RequestId"`
	HostID     string `xml:"HostId"`
}

// writeError answers a failed request with S3 error XML. A response whose
// body has started cannot change its status: the connection is cut instead,
// so that the client sees a short body rather than a silent wrong one.
func (s *server) writeError(q *request, err error) {
	ae := storeError(err, atRead)
	if ae.Status >= 500 || ae.cause != nil {
		lvl := slog.LevelDebug
		if ae.Status >= 500 {
			lvl = slog.LevelWarn
		}
		s.log.Log(q.ctx, lvl, "s3 error", "method", q.r.Method, "uri", q.r.RequestURI, "code", ae.Code, "err", err, "id", q.id)
	}
	if q.w.started() {
		panic(http.ErrAbortHandler)
	}
	h := q.w.Header()
	// Headers that described the object, not the error. (Content-Range
	// stays: a 416 carries "bytes */size".)
	for _, k := range []string{"ETag", "Last-Modified", "Accept-Ranges", "Content-Encoding", "Content-Disposition", "Cache-Control"} {
		h.Del(k)
	}
	if ae.Status == http.StatusNotModified || q.r.Method == http.MethodHead {
		// No body: HEAD responses and 304 carry none.
		h.Del("Content-Type")
		h.Del("Content-Length")
		q.w.WriteHeader(ae.Status)
		return
	}
	resource := q.r.URL.Path
	body, _ := xml.Marshal(errorXML{
		Code: ae.Code, Message: ae.Message, Key: ae.Key, BucketName: ae.BucketName,
		Resource: resource, RequestID: q.id, HostID: q.id,
	})
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(xml.Header)+len(body)))
	q.w.WriteHeader(ae.Status)
	q.w.Write([]byte(xml.Header))
	q.w.Write(body)
}

// errNoSuchKey is NoSuchKey naming the key, as AWS's XML does.
func errNoSuchKey(q *request, cause error) *APIError {
	e := withCause(ErrNoSuchKey, cause)
	e.Key = q.key
	return e
}

func errNoSuchBucket(q *request, cause error) *APIError {
	e := withCause(ErrNoSuchBucket, cause)
	e.BucketName = q.bucket
	return e
}
