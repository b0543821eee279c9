package metrics

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// WrapS3 returns h with every request recorded: its operation (OpName),
// status, latency up to the end of the response body, and the object
// bytes of GetObject responses and PutObject/UploadPart bodies. A nil r
// returns h itself, so metrics that are off cost nothing.
//
// The response writer it hands to h keeps http.ResponseWriter's optional
// interfaces that matter here: io.ReaderFrom (so that io.Copy from a cache
// file still reaches sendfile), http.Flusher, http.Hijacker, and Unwrap
// for http.ResponseController.
func WrapS3(h http.Handler, r *Registry) http.Handler {
	if r == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		op := OpName(req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Get("X-Amz-Copy-Source") != "")
		rec := &recorder{ResponseWriter: w}
		countIn := op == "PutObject" || op == "UploadPart"
		if countIn && req.Body != nil && req.Body != http.NoBody {
			rec.body.ReadCloser = req.Body
			req.Body = &rec.body
		}
		defer func() {
			// A panicking handler is answered 500 by net/http; count it so.
			if p := recover(); p != nil {
				r.S3Op(op, http.StatusInternalServerError, start)
				panic(p)
			}
			r.S3Op(op, rec.status(), start)
			var read int64
			if op == "GetObject" && rec.status() < 300 {
				read = rec.n // not the error document of a 404
			}
			written := rec.body.n
			if countIn && rec.status() < 300 {
				// An aws-chunked body carries chunk signatures; the
				// object's own length is in this header.
				if d, err := strconv.ParseInt(req.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64); err == nil {
					written = d
				}
			}
			r.S3Bytes(read, written)
		}()
		h.ServeHTTP(rec, req)
	})
}

// recorder captures the status and the bytes of a response, and counts the
// request body read through it, in one allocation (the deferred closure
// that records them is the request's other one).
type recorder struct {
	http.ResponseWriter
	code int
	n    int64
	body countingBody
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

func (w *recorder) WriteHeader(code int) {
	// 1xx are interim responses; the final status comes later.
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom passes io.Copy through to the connection, which sends an
// *os.File with sendfile.
func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.n += n
	return n, err
}

func (w *recorder) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := w.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.New("hijack not supported")
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
