package gateway

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/store"
)

// Every store error has one S3 meaning for each kind of operation.
func TestStoreErrorMapping(t *testing.T) {
	wrap := func(err error) error { return &store.OpError{Op: "x", Path: "/b/k", Err: err} }
	for _, tc := range []struct {
		err  error
		at   where
		code string
		http int
	}{
		{wrap(store.ErrNotExist), atRead, "NoSuchKey", 404},
		{wrap(store.ErrNotDir), atRead, "NoSuchKey", 404},
		{wrap(store.ErrIsDir), atRead, "NoSuchKey", 404},
		{wrap(store.ErrNotExist), atBucket, "NoSuchBucket", 404},
		{wrap(store.ErrNotEmpty), atBucket, "BucketNotEmpty", 409},
		{wrap(store.ErrNotDir), atWrite, "XMinioParentIsObject", 400},
		{wrap(store.ErrIsDir), atWrite, "XMinioObjectExistsAsDirectory", 409},
		{wrap(store.ErrNameTooLong), atWrite, "KeyTooLongError", 400},
		{wrap(store.ErrBadDigest), atWrite, "BadDigest", 400},
		{wrap(store.ErrNoSpace), atWrite, "ServiceUnavailable", 503},
		{wrap(store.ErrIO), atRead, "ServiceUnavailable", 503},
		{wrap(store.ErrReadOnly), atWrite, "AccessDenied", 403},
		{wrap(store.ErrNoUpload), atWrite, "NoSuchUpload", 404},
		{wrap(store.ErrInvalidPart), atWrite, "InvalidPart", 400},
		{wrap(store.ErrPartOrder), atWrite, "InvalidPartOrder", 400},
		{wrap(store.ErrInvalid), atWrite, "InvalidArgument", 400},
		{wrap(fmt.Errorf("read body: %w", ErrContentSHA256Mismatch)), atWrite, "XAmzContentSHA256Mismatch", 400},
		{wrap(context.Canceled), atWrite, "IncompleteBody", 400},
		{fmt.Errorf("surprise"), atRead, "InternalError", 500},
	} {
		e := storeError(tc.err, tc.at)
		if e.Code != tc.code || e.Status != tc.http {
			t.Errorf("%v at %d: %s %d, want %s %d", tc.err, tc.at, e.Code, e.Status, tc.code, tc.http)
		}
	}
}

// One writer makes every error document, with AWS's fields; HEAD gets the
// status alone.
func TestWriteError(t *testing.T) {
	s := &server{log: New(nil, Options{}).(*server).log}
	for _, method := range []string{"GET", "HEAD"} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(method, "/bkt/key", nil)
		q := &request{w: &respWriter{ResponseWriter: rec}, r: r, id: "REQ1", ctx: context.Background()}
		s.writeError(q, errNoSuchKey(&request{key: "key"}, nil))
		if rec.Code != 404 {
			t.Fatalf("%s: status %d", method, rec.Code)
		}
		if method == "HEAD" {
			if rec.Body.Len() != 0 {
				t.Fatal("HEAD error with a body")
			}
			continue
		}
		var x errorXML
		if err := xml.Unmarshal(rec.Body.Bytes(), &x); err != nil {
			t.Fatal(err)
		}
		if x.Code != "NoSuchKey" || x.Message != "The specified key does not exist." || x.Key != "key" ||
			x.Resource != "/bkt/key" || x.RequestID != "REQ1" || rec.Header().Get("Content-Type") != "application/xml" {
			t.Fatalf("%+v %v", x, rec.Header())
		}
		if !strings.HasPrefix(rec.Body.String(), "<?xml") {
			t.Fatal(rec.Body.String())
		}
	}
	// A body already started cannot become an error document.
	rec := httptest.NewRecorder()
	q := &request{w: &respWriter{ResponseWriter: rec}, r: httptest.NewRequest("GET", "/b/k", nil), ctx: context.Background()}
	q.w.WriteHeader(200)
	q.w.Write([]byte("partial"))
	defer func() {
		if recover() != http.ErrAbortHandler {
			t.Fatal("a failure after the body started did not abort the response")
		}
	}()
	s.writeError(q, ErrInternal)
}
