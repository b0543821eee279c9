package s3

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials the fake server accepts.
const (
	fakeAccessKey = "hoard-test-ak"
	fakeSecretKey = "hoard-test-sk-do-not-print"
)

// fakeS3 is gofakes3 with its in-memory backend, served on 127.0.0.1.
type fakeS3 struct {
	srv      *httptest.Server
	backend  *s3mem.Backend
	requests atomic.Int64
}

// newFakeS3 starts a server holding the given buckets. gofakes3 checks no
// signatures, so a small middleware refuses any access key but
// fakeAccessKey the way S3 does (403 InvalidAccessKeyId); that is enough to
// test how Open reports bad credentials.
func newFakeS3(t testing.TB, buckets ...string) *fakeS3 {
	t.Helper()
	fk := &fakeS3{backend: s3mem.New()}
	for _, b := range buckets {
		if err := fk.backend.CreateBucket(b); err != nil {
			t.Fatalf("create bucket %s: %v", b, err)
		}
	}
	faker := gofakes3.New(fk.backend)
	inner := faker.Server()
	fk.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fk.requests.Add(1)
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+fakeAccessKey+"/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>`+
				`<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
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
