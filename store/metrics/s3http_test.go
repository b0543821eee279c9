package metrics_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/store/metrics"
)

func TestOpName(t *testing.T) {
	for _, c := range []struct {
		method, path, query string
		copy                bool
		want                string
	}{
		{"GET", "/", "", false, "ListBuckets"},
		{"GET", "/api/v1/s3", "", false, "ListBuckets"},
		{"GET", "/api/v1/s3/", "", false, "ListBuckets"},
		{"PUT", "/b", "", false, "CreateBucket"},
		{"PUT", "/api/v1/s3/b/", "", false, "CreateBucket"},
		{"HEAD", "/b", "", false, "HeadBucket"},
		{"DELETE", "/b", "", false, "DeleteBucket"},
		{"GET", "/b", "", false, "ListObjects"},
		{"GET", "/b", "list-type=2&prefix=a%2F", false, "ListObjectsV2"},
		{"GET", "/b/", "location", false, "GetBucketLocation"},
		{"GET", "/b", "uploads&prefix=x", false, "ListMultipartUploads"},
		{"GET", "/b", "versioning=", false, "GetBucketVersioning"},
		{"POST", "/b", "delete", false, "DeleteObjects"},
		{"GET", "/b/k", "", false, "GetObject"},
		{"GET", "/api/v1/s3/b/dir/k.txt", "", false, "GetObject"},
		{"GET", "/b/k", "partNumber=1&uploadId=abc", false, "ListParts"},
		{"HEAD", "/b/k", "", false, "HeadObject"},
		{"PUT", "/b/k", "", false, "PutObject"},
		{"PUT", "/b/k", "", true, "CopyObject"},
		{"PUT", "/b/k", "partNumber=2&uploadId=u", false, "UploadPart"},
		{"PUT", "/b/k", "partNumber=2&uploadId=u", true, "UploadPartCopy"},
		{"PUT", "/b/k", "tagging", false, "PutObjectTagging"},
		{"POST", "/b/k", "uploads", false, "CreateMultipartUpload"},
		{"POST", "/b/k", "uploadId=u", false, "CompleteMultipartUpload"},
		{"DELETE", "/b/k", "uploadId=u", false, "AbortMultipartUpload"},
		{"DELETE", "/b/k", "", false, "DeleteObject"},
		{"PATCH", "/b/k", "", false, "Unknown"},
		{"POST", "/", "", false, "Unknown"},
		{"GET", "/api/v1/s3x/k", "", false, "GetObject"}, // a bucket named s3x under /api/v1
	} {
		if got := metrics.OpName(c.method, c.path, c.query, c.copy); got != c.want {
			t.Errorf("%s %s?%s copy=%v: %s, want %s", c.method, c.path, c.query, c.copy, got, c.want)
		}
	}
}

// standIn answers like the gateway would, without a store: GET returns
// the bytes last PUT, through io.Copy as the gateway does for files.
type standIn struct{ data []byte }

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		s.data = b
	case http.MethodGet:
		if s.data == nil {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<Error><Code>NoSuchKey</Code></Error>")
			return
		}
		io.Copy(w, bytes.NewReader(s.data))
	}
}

func TestWrapS3Counts(t *testing.T) {
	r := metrics.New(metrics.Options{})
	srv := httptest.NewServer(metrics.WrapS3(&standIn{}, r))
	defer srv.Close()
	do := func(method, path string, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	do("GET", "/b/k", nil)
	do("PUT", "/b/k", bytes.Repeat([]byte("a"), 3000))
	do("GET", "/b/k", nil)
	do("GET", "/api/v1/s3/b/k", nil)
	g := r.Gatherer()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hoard_s3_ops_total", []string{"op", "GetObject", "code", "404"}, 1},
		{"hoard_s3_ops_total", []string{"op", "GetObject", "code", "200"}, 2},
		{"hoard_s3_ops_total", []string{"op", "PutObject", "code", "200"}, 1},
		{"hoard_s3_op_duration_seconds", []string{"op", "GetObject"}, 3},
		// The 404's error document is not object bytes.
		{"hoard_s3_bytes_read_total", nil, 2 * 3000},
		{"hoard_s3_bytes_written_total", nil, 3000},
	} {
		if got := value(t, g, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// rfWriter is a ResponseWriter that says whether ReadFrom reached it.
type rfWriter struct {
	httptest.ResponseRecorder
	readFrom bool
}

func (w *rfWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom = true
	return io.Copy(&w.ResponseRecorder, r)
}

// TestWrapS3KeepsReadFrom: io.Copy through the wrapper still reaches the
// connection's ReadFrom, which is where sendfile happens.
func TestWrapS3KeepsReadFrom(t *testing.T) {
	r := metrics.New(metrics.Options{})
	h := metrics.WrapS3(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("the wrapped writer is no io.ReaderFrom")
		}
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the wrapped writer is no http.Flusher")
		}
		// The gateway copies from an io.LimitedReader over the cache
		// file, which has no WriteTo: io.Copy asks the writer.
		io.Copy(w, io.LimitReader(strings.NewReader("hello"), 5))
	}), r)
	w := &rfWriter{ResponseRecorder: *httptest.NewRecorder()}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/b/k", nil))
	if !w.readFrom {
		t.Error("ReadFrom did not reach the connection's writer")
	}
	if got := value(t, r.Gatherer(), "hoard_s3_bytes_read_total"); got != 5 {
		t.Errorf("bytes read %v", got)
	}
}

// TestWrapS3AwsChunked: an aws-chunked body counts as its decoded length.
func TestWrapS3AwsChunked(t *testing.T) {
	r := metrics.New(metrics.Options{})
	h := metrics.WrapS3(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }), r)
	req := httptest.NewRequest("PUT", "/b/k", strings.NewReader("5;chunk-signature=abc\r\nhello\r\n0;chunk-signature=def\r\n\r\n"))
	req.Header.Set("x-amz-decoded-content-length", "5")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got := value(t, r.Gatherer(), "hoard_s3_bytes_written_total"); got != 5 {
		t.Errorf("bytes written %v, want 5", got)
	}
}
