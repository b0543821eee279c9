package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/hoardfs/hoard/gateway"
)

// scrape reads /metrics as Prometheus does.
func uiScrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// get is the value of one series (a counter or gauge, or a histogram's
// count) whose labels include the given pairs; 0 when it does not exist.
func metricOf(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			ok := false
			for _, l := range m.GetLabel() {
				ok = ok || (l.GetName() == labels[i] && l.GetValue() == labels[i+1])
			}
			if !ok {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

// TestMetricsMoveWithTraffic scrapes /metrics before and after known
// traffic through each door and checks that the counters moved by exactly
// what was sent: the S3 door through the real gateway over a real store
// (wrapped by metrics.WrapS3 as the daemon wraps it), the FUSE door through
// the recording methods the mount calls, the UFS through the decorator
// under the store.
func TestMetricsMoveWithTraffic(t *testing.T) {
	e := newUIEnv(t, "")
	before := uiScrape(t, e.web.URL)

	if code, _, body := uiDo(t, "PUT", e.s3.URL+"/bkt", nil); code != 200 {
		t.Fatalf("create bucket: %d %s", code, body)
	}
	sizes := []int{1000, 70 << 10, 3}
	total := 0
	for i, n := range sizes {
		total += n
		url := fmt.Sprintf("%s/bkt/dir/o%d", e.s3.URL, i)
		if code, _, body := uiDo(t, "PUT", url, bytes.Repeat([]byte{'a' + byte(i)}, n)); code != 200 {
			t.Fatalf("put %d: %d %s", i, code, body)
		}
	}
	// Through the Alluxio prefix too: the same operation.
	if code, _, body := uiDo(t, "GET", e.s3.URL+"/api/v1/s3/bkt/dir/o1", nil); code != 200 || len(body) != sizes[1] {
		t.Fatalf("get: %d, %d bytes", code, len(body))
	}
	if code, _, _ := uiDo(t, "GET", e.s3.URL+"/bkt/dir/missing", nil); code != 404 {
		t.Fatalf("get missing: %d", code)
	}
	if code, _, _ := uiDo(t, "HEAD", e.s3.URL+"/bkt/dir/o0", nil); code != 200 {
		t.Fatalf("head: %d", code)
	}
	if code, _, _ := uiDo(t, "GET", e.s3.URL+"/bkt?list-type=2&prefix=dir/", nil); code != 200 {
		t.Fatalf("list: %d", code)
	}

	// The FUSE door: what the mount reports per request.
	start := time.Now()
	for range 5 {
		e.reg.FuseOp("getattr", start, nil)
	}
	e.reg.FuseOp("lookup", start, fmt.Errorf("ENOENT"))
	e.reg.FuseOp("read", start, nil)
	e.reg.FuseBytes(4096, 0)
	e.reg.FuseOp("write", start, nil)
	e.reg.FuseBytes(0, 12345)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.st.WaitPersisted(ctx); err != nil {
		t.Fatal(err)
	}
	after := uiScrape(t, e.web.URL)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hoard_s3_ops_total", []string{"op", "CreateBucket", "code", "200"}, 1},
		{"hoard_s3_ops_total", []string{"op", "PutObject", "code", "200"}, 3},
		{"hoard_s3_ops_total", []string{"op", "GetObject", "code", "200"}, 1},
		{"hoard_s3_ops_total", []string{"op", "GetObject", "code", "404"}, 1},
		{"hoard_s3_ops_total", []string{"op", "HeadObject", "code", "200"}, 1},
		{"hoard_s3_ops_total", []string{"op", "ListObjectsV2", "code", "200"}, 1},
		{"hoard_s3_op_duration_seconds", []string{"op", "PutObject"}, 3},
		{"hoard_s3_bytes_written_total", nil, float64(total)},
		{"hoard_s3_bytes_read_total", nil, float64(sizes[1])},
		{"hoard_fuse_ops_total", []string{"op", "getattr"}, 5},
		{"hoard_fuse_op_errors_total", []string{"op", "lookup"}, 1},
		{"hoard_fuse_op_duration_seconds", nil, 8},
		{"hoard_fuse_bytes_read_total", nil, 4096},
		{"hoard_fuse_bytes_written_total", nil, 12345},
		// Each object was persisted once, whole.
		{"hoard_ufs_bytes_written_total", []string{"backend", "local"}, float64(total)},
		{"hoard_ufs_errors_total", []string{"kind", "other"}, 0},
		{"hoard_ufs_errors_total", []string{"kind", "retryable"}, 0},
	} {
		got := metricOf(after, c.name, c.labels...) - metricOf(before, c.name, c.labels...)
		if got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := metricOf(after, "hoard_ufs_requests_total", "backend", "local", "method", "Put") -
		metricOf(before, "hoard_ufs_requests_total", "backend", "local", "method", "Put"); got < float64(len(sizes)) {
		t.Errorf("UFS Puts moved by %v, want at least %d", got, len(sizes))
	}
	if got := metricOf(after, "hoard_cache_used_bytes"); got < float64(total) {
		t.Errorf("cache used %v after %d bytes written", got, total)
	}
	if got := metricOf(after, "hoard_persist_queue_depth"); got != 0 {
		t.Errorf("queue depth %v after WaitPersisted", got)
	}
	for name := range after {
		if !strings.HasPrefix(name, "hoard_") {
			t.Errorf("family %s does not start with hoard_", name)
		}
	}
}

// TestThroughputEndpoint: the UI's graphs see the traffic as rates.
func TestThroughputEndpoint(t *testing.T) {
	e := newUIEnv(t, "")
	var tp gateway.UIThroughput
	uiGetJSON(t, e.web.URL+"/api/v1/ui/throughput", &tp)
	if !tp.Enabled || tp.EveryMs != 1000 {
		t.Fatalf("throughput %+v", tp)
	}
	uiDo(t, "PUT", e.s3.URL+"/bkt", nil)
	uiDo(t, "PUT", e.s3.URL+"/bkt/k", bytes.Repeat([]byte("x"), 5000))
	e.reg.FuseBytes(777, 0)
	time.Sleep(600 * time.Millisecond)
	var since int64
	if len(tp.Rates) > 0 {
		since = tp.Rates[len(tp.Rates)-1].UnixMs
	}
	uiGetJSON(t, fmt.Sprintf("%s/api/v1/ui/throughput?since=%d", e.web.URL, since), &tp)
	var s3w, fr float64
	for _, r := range tp.Rates {
		if r.UnixMs <= since {
			t.Errorf("rate at %d not after since=%d", r.UnixMs, since)
		}
		s3w += r.S3Written
		fr += r.FuseRead
	}
	if s3w <= 0 || fr <= 0 {
		t.Fatalf("rates %+v show no traffic", tp.Rates)
	}
}

// TestMetricsOff: without a registry /metrics says so and the UI's graphs
// are off.
func TestMetricsOff(t *testing.T) {
	e := newUIEnv(t, "")
	web := gateway.NewWeb(e.st, gateway.WebOptions{Version: "x", Started: time.Now()})
	rec := &uiRecorder{header: http.Header{}}
	req, _ := http.NewRequest("GET", "/metrics", nil)
	web.ServeHTTP(rec, req)
	if rec.code != 404 || !strings.Contains(rec.body.String(), "not enabled") {
		t.Fatalf("/metrics with metrics off: %d %s", rec.code, rec.body.String())
	}
}

type uiRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *uiRecorder) Header() http.Header { return r.header }
func (r *uiRecorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(p)
}
func (r *uiRecorder) WriteHeader(code int) { r.code = code }
