package metrics_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store/metrics"
)

// TestRecordingDoesNotAllocate: what the doors call per request allocates
// nothing once a label value has been seen.
func TestRecordingDoesNotAllocate(t *testing.T) {
	r := metrics.New(metrics.Options{})
	start := time.Now()
	errX := errors.New("x")
	rd := r.FuseOpFor("read")
	r.FuseOp("read", start, nil)
	r.S3Op("GetObject", 200, start)
	r.UFSRequest("oss", "Stat", start, errX)
	r.UFSBytes("oss", 1, 1)
	for name, fn := range map[string]func(){
		"FuseOp":     func() { r.FuseOp("read", start, nil) },
		"FuseOpErr":  func() { r.FuseOp("read", start, errX) },
		"FuseBytes":  func() { r.FuseBytes(4096, 4096) },
		"FuseOpFor":  func() { rd.Done(start, false) },
		"S3Op":       func() { r.S3Op("GetObject", 200, start) },
		"S3Bytes":    func() { r.S3Bytes(1, 1) },
		"CacheHit":   func() { r.CacheHit(1) },
		"UFSRequest": func() { r.UFSRequest("oss", "Stat", start, errX) },
		"UFSBytes":   func() { r.UFSBytes("oss", 1, 1) },
		"OpName":     func() { metrics.OpName("PUT", "/api/v1/s3/b/k", "partNumber=1&uploadId=x", false) },
	} {
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}

func BenchmarkFuseOp(b *testing.B) {
	r := metrics.New(metrics.Options{})
	b.ReportAllocs()
	for b.Loop() {
		r.FuseOp("read", time.Now(), nil)
	}
}

// BenchmarkFuseOpParallel is FuseOp from every core at once, as the FUSE
// server's goroutines call it.
func BenchmarkFuseOpParallel(b *testing.B) {
	r := metrics.New(metrics.Options{})
	ops := []string{"lookup", "getattr", "read", "write"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.FuseOp(ops[i&3], time.Now(), nil)
			r.FuseBytes(4096, 0)
			i++
		}
	})
}

// BenchmarkFuseOpFor is FuseOp through a recorder resolved beforehand.
func BenchmarkFuseOpFor(b *testing.B) {
	rd := metrics.New(metrics.Options{}).FuseOpFor("read")
	b.ReportAllocs()
	for b.Loop() {
		rd.Done(time.Now(), false)
	}
}

func BenchmarkFuseOpOff(b *testing.B) {
	var r *metrics.Registry
	b.ReportAllocs()
	for b.Loop() {
		r.FuseOp("read", time.Now(), nil)
	}
}

func BenchmarkS3Op(b *testing.B) {
	r := metrics.New(metrics.Options{})
	b.ReportAllocs()
	for b.Loop() {
		r.S3Op("GetObject", 200, time.Now())
		r.S3Bytes(4096, 0)
	}
}

func BenchmarkOpName(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		metrics.OpName("PUT", "/api/v1/s3/bucket/dir/key", "partNumber=3&uploadId=abcdef", false)
	}
}

// BenchmarkWrapS3 is the middleware's cost per request over a handler
// that does nothing, without the network.
func BenchmarkWrapS3(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	for _, c := range []struct {
		name string
		r    *metrics.Registry
	}{{"off", nil}, {"on", metrics.New(metrics.Options{})}} {
		b.Run(c.name, func(b *testing.B) {
			wh := metrics.WrapS3(h, c.r)
			req := httptest.NewRequest("GET", "/bucket/key", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				wh.ServeHTTP(w, req)
			}
		})
	}
}

func BenchmarkCacheHit(b *testing.B) {
	r := metrics.New(metrics.Options{})
	b.ReportAllocs()
	for b.Loop() {
		r.CacheHit(1)
	}
}

func BenchmarkUFSRequest(b *testing.B) {
	r := metrics.New(metrics.Options{})
	b.ReportAllocs()
	for b.Loop() {
		r.UFSRequest("oss", "ReadRange", time.Now(), nil)
	}
}
