package s3

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
)

// Credentials the fake server accepts.
const (
	fakeAccessKey = "hoard-test-ak"
	fakeSecretKey = "hoard-test-sk-do-not-print"
)

// fakeS3 is gofakes3 with its in-memory backend, served on 127.0.0.1,
// behind a middleware that counts requests and injects faults.
type fakeS3 struct {
	srv      *httptest.Server
	backend  *s3mem.Backend
	requests atomic.Int64
	rule     atomic.Pointer[faultRule] // nil: no faults

	ops struct {
		sync.Mutex
		m map[string]int // s3Op name -> requests
	}
}

// newFakeS3 starts a server holding the given buckets. gofakes3 checks no
// signatures, so a small middleware refuses any access key but
// fakeAccessKey the way S3 does (403 InvalidAccessKeyId); that is enough to
// test how Open reports bad credentials.
func newFakeS3(t testing.TB, buckets ...string) *fakeS3 {
	t.Helper()
	fk := &fakeS3{backend: s3mem.New()}
	fk.ops.m = map[string]int{}
	for _, b := range buckets {
		if err := fk.backend.CreateBucket(b); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
	}
	faker := gofakes3.New(fk.backend)
	inner := faker.Server()
	fk.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fk.requests.Add(1)
		op := s3Op(r)
		fk.count(op)
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+fakeAccessKey+"/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>`+
				`<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		if fk.inject(w, r, op) {
			return
		}
		inner.ServeHTTP(w, r)
	}))
	// gofakes3 writes a second header after a client hangs up mid-body
	// (the cancellation tests do that on purpose); net/http logs it.
	fk.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	fk.srv.Start()
	t.Cleanup(fk.srv.Close)
	return fk
}

// opts returns working options for this server.
func (fk *fakeS3) opts() map[string]string {
	return map[string]string{
		KeyAccessKeyID: fakeAccessKey,
		KeySecretKey:   fakeSecretKey,
		KeyEndpoint:    fk.srv.URL,
		KeyRegion:      "us-east-1",
	}
}

// open opens uri on this server and closes it with the test.
func (fk *fakeS3) open(t testing.TB, uri string) *FS {
	t.Helper()
	f, err := Open(context.Background(), uri, fk.opts())
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// S3 operations, as s3Op names them for counts and fault rules.
const (
	opPutObject       = "PutObject"
	opCopyObject      = "CopyObject"
	opGetObject       = "GetObject"
	opHeadObject      = "HeadObject"
	opListObjects     = "ListObjects"
	opDeleteObjects   = "DeleteObjects"
	opCreateMultipart = "CreateMultipartUpload"
	opUploadPart      = "UploadPart"
	opComplete        = "CompleteMultipartUpload"
	opAbort           = "AbortMultipartUpload"
	opListUploads     = "ListMultipartUploads"
)

// s3Op names what a path-style request asks for, from its method, whether
// it names an object, and its query flags; anything else is its method.
func s3Op(r *http.Request) string {
	q := r.URL.Query()
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	object := key != ""
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId"):
		return opUploadPart
	case r.Method == http.MethodPut && object && r.Header.Get("X-Amz-Copy-Source") != "":
		return opCopyObject
	case r.Method == http.MethodPut && object:
		return opPutObject
	case r.Method == http.MethodPost && q.Has("uploads"):
		return opCreateMultipart
	case r.Method == http.MethodPost && q.Has("uploadId"):
		return opComplete
	case r.Method == http.MethodPost && q.Has("delete"):
		return opDeleteObjects
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		return opAbort
	case r.Method == http.MethodGet && !object && q.Has("uploads"):
		return opListUploads
	case r.Method == http.MethodGet && !object:
		return opListObjects
	case r.Method == http.MethodGet:
		return opGetObject
	case r.Method == http.MethodHead && object:
		return opHeadObject
	}
	return r.Method
}

func (fk *fakeS3) count(op string) {
	fk.ops.Lock()
	defer fk.ops.Unlock()
	fk.ops.m[op]++
}

// countOf returns how many requests of operation op the server got.
func (fk *fakeS3) countOf(op string) int {
	fk.ops.Lock()
	defer fk.ops.Unlock()
	return fk.ops.m[op]
}

// fault is what the middleware does to one request.
type fault int

const (
	pass         fault = iota // on to gofakes3
	failInternal              // 500 InternalError
	failSlowDown              // 503 SlowDown
	failDenied                // 403 AccessDenied
	hangUp                    // close the connection without an answer
)

func (f fault) String() string {
	return [...]string{"pass", "500 InternalError", "503 SlowDown", "403 AccessDenied", "hang-up"}[f]
}

// faultRule picks the fault for each request by its operation. It runs
// on the server's goroutines, so it must be safe for concurrent use.
type faultRule func(op string) fault

// setFaults puts rule in force; nil clears it.
func (fk *fakeS3) setFaults(rule faultRule) {
	if rule == nil {
		fk.rule.Store(nil)
		return
	}
	fk.rule.Store(&rule)
}

// inject applies the rule in force to r. It reports whether r was dealt
// with, so that gofakes3 must not see it.
func (fk *fakeS3) inject(w http.ResponseWriter, r *http.Request, op string) bool {
	rule := fk.rule.Load()
	if rule == nil {
		return false
	}
	switch (*rule)(op) {
	case failInternal:
		writeS3Error(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
	case failSlowDown:
		writeS3Error(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case failDenied:
		writeS3Error(w, r, http.StatusForbidden, "AccessDenied", "Access Denied")
	case hangUp:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	default:
		return false
	}
	return true
}

// writeS3Error answers with an S3 error, after reading the request body
// as S3 does.
func writeS3Error(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
	}
}

// failFirst returns a rule that fails the first n requests of op with f.
func failFirst(op string, n int64, f fault) faultRule {
	var seen atomic.Int64
	return func(o string) fault {
		if o == op && seen.Add(1) <= n {
			return f
		}
		return pass
	}
}

// listUploads lists the multipart uploads in progress in u's bucket.
func listUploads(t testing.TB, u *FS) []string {
	t.Helper()
	res, err := minio.Core{Client: u.client}.ListMultipartUploads(context.Background(), u.bucket, "", "", "", "", 1000)
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	var ups []string
	for _, up := range res.Uploads {
		ups = append(ups, up.Key+" "+up.UploadID)
	}
	return ups
}
