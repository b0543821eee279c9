// Package gateway holds Hoard's HTTP surfaces; this file and the ones named
// in routes.go are the S3 API.
//
// # S3 view of the namespace
//
// A bucket is a directory at the root of the namespace; an object key is the
// path below it, '/' separating directories: PUT /b/x/y.txt writes the file
// /b/x/y.txt, creating /b/x, and is a file in the mount at once. A key that
// ends in '/' with an empty body is a directory marker: PUT makes the
// directory, and an empty directory lists as that key. Deleting an object
// also removes the directories above it (up to the bucket) that it leaves
// empty, as deleting the last key under a prefix makes the prefix vanish in
// S3.
//
// Keys that cannot be paths get an error and change nothing:
//
//	a//b, ../x, ./x, a key with NUL        400 XMinioInvalidObjectName
//	a component over 255 bytes, or a key
//	over 1024 bytes                        400 KeyTooLongError
//	a/b when a is an object                400 XMinioParentIsObject
//	a when a/ holds objects (a directory)  409 XMinioObjectExistsAsDirectory
//
// The codes are MinIO's, the de-facto names of these conflicts on
// file-system-backed S3 servers; AWS has none.
//
// # Errors
//
// Handlers return errors; one function, writeError in s3err.go, turns them
// into S3 error XML with AWS's own codes and messages. Store errors are
// mapped by errno there.
//
// # Authentication
//
// With no keys configured, nothing is verified and the access key id of any
// signature (AWS user:..., Credential=user/...) names the user who owns
// what the request creates (Alluxio's behaviour). With keys, every request
// must carry a valid Signature V4 or V2, in a header or in the query
// (presigned), and streaming (aws-chunked) bodies must carry valid chunk
// signatures; see auth.go.
//
// # Streaming
//
// Bodies stream into the store (PutObject and UploadPart stage them in a
// cache file and commit atomically), and GETs stream out of it: wholly
// cached objects with sendfile, others through the store's handle. Memory
// per request is bounded whatever the object size.
package gateway

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/hoardfs/hoard/store"
)

// Options configure the S3 gateway.
type Options struct {
	// AccessKey and SecretKey, when both set, are the only credentials
	// accepted: every request must be signed with them (V4 or V2). When
	// unset, requests are not verified and the access key id names the user.
	AccessKey, SecretKey string
	// Region is reported by GetBucketLocation; default "us-east-1".
	Region string
	Logger *slog.Logger
	// AccessLog logs every request at Info level.
	AccessLog bool
}

// alluxioPrefix is where Alluxio serves its S3 API; Hoard serves the same
// API there and at "/".
const alluxioPrefix = "/api/v1/s3"

// maxObjectSize is S3's limit for one PUT and for one part.
const maxObjectSize = 5 << 30

type server struct {
	st     *store.Store
	opts   Options
	log    *slog.Logger
	router *httprouter.Router
}

// New returns the handler of the S3 API.
func New(st *store.Store, o Options) http.Handler {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if (o.AccessKey == "") != (o.SecretKey == "") {
		// Half a key pair still turns verification on: refuse what cannot
		// be signed rather than serve everyone.
		o.Logger.Error("S3 gateway: only one of hoard.s3.accessKey and hoard.s3.secretKey is set; requests must still be signed with the pair")
	}
	s := &server{st: st, opts: o, log: o.Logger}
	s.router = s.routes()
	return s
}

// request is one S3 request as the handlers see it.
type request struct {
	w   *respWriter
	r   *http.Request
	ctx context.Context
	id  string

	// path is the request path without the /api/v1/s3 prefix; prefixed
	// says whether the client sent it.
	path     string
	prefixed bool
	query    url.Values

	bucket string
	key    string // "" for bucket and service operations

	// user is the access key id that signed the request ("" anonymous);
	// cred is who owns what the request creates.
	user string
	cred store.Cred
	auth *authInfo

	// body is the request body once decoded (aws-chunked) and checked
	// (payload hash, checksums); size is its length, -1 when unknown.
	body io.Reader
	size int64
	// checksum is the flexible checksum of the body (header name, base64
	// value) once verified, echoed in the response.
	checksum [2]string
}

type requestKey struct{}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	q := &request{w: &respWriter{ResponseWriter: w}, r: r, id: newRequestID(), size: -1}
	h := q.w.Header()
	h.Set("x-amz-request-id", q.id)
	h.Set("x-amz-id-2", q.id)
	h.Set("Server", "Hoard")

	q.path = r.URL.Path
	if rest, ok := strings.CutPrefix(q.path, alluxioPrefix); ok && (rest == "" || rest[0] == '/') {
		q.prefixed = true
		q.path = rest
		if q.path == "" {
			q.path = "/"
		}
	}
	q.query = parseQuery(r.URL.RawQuery)
	q.ctx = store.WithOrigin(r.Context(), "s3")

	err := s.authenticate(q)
	if err == nil {
		err = s.requestTypes(q)
	}
	if err != nil {
		s.writeError(q, err)
	} else {
		// Route on the path without the prefix; the handler finds q in
		// the context.
		r2 := r.WithContext(context.WithValue(q.ctx, requestKey{}, q))
		u := *r.URL
		u.Path, u.RawPath = q.path, ""
		r2.URL = &u
		s.router.ServeHTTP(q.w, r2)
	}
	if s.opts.AccessLog {
		s.log.Info("s3", "method", r.Method, "uri", r.RequestURI, "status", q.w.status(), "bytes", q.w.n,
			"dur", time.Since(start).Round(time.Microsecond), "user", q.user, "remote", r.RemoteAddr, "id", q.id)
	}
}

// requestTypes applies the write and read types a request asks for.
func (s *server) requestTypes(q *request) error {
	if v := q.r.Header.Get("x-hoard-write-type"); v != "" {
		w, err := store.ParseWriteType(v)
		if err != nil {
			return errorf(ErrInvalidArgument, "x-hoard-write-type: %v", err)
		}
		q.ctx = store.WithWriteType(q.ctx, w)
	}
	if v := q.r.Header.Get("x-hoard-read-type"); v != "" {
		rt, err := store.ParseReadType(v)
		if err != nil {
			return errorf(ErrInvalidArgument, "x-hoard-read-type: %v", err)
		}
		q.ctx = store.WithReadType(q.ctx, rt)
	}
	return nil
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// parseQuery parses a query string leniently: boto 2 and s3fs send values
// unencoded, so a value that does not decode is taken as it is instead of
// being dropped as url.ParseQuery does.
func parseQuery(raw string) url.Values {
	v := url.Values{}
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		if d, err := url.QueryUnescape(k); err == nil {
			k = d
		}
		if d, err := url.QueryUnescape(val); err == nil {
			val = d
		}
		v[k] = append(v[k], val)
	}
	return v
}

// objectPath is the store path of key in bucket.
func objectPath(bucket, key string) string { return "/" + bucket + "/" + key }

// respWriter remembers what was written, for the error writer (which must
// not write XML into a body already started) and the access log. It passes
// ReadFrom through, so that io.Copy from a file still reaches sendfile.
type respWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (w *respWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *respWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.n += n
	return n, err
}

func (w *respWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *respWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	return h.Hijack()
}

func (w *respWriter) started() bool { return w.code != 0 }

func (w *respWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
