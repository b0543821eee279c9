package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
	"github.com/hoardfs/hoard/ufs"
)

// TestEveryFamilyIsHoards: every exported name starts with hoard_, and
// every family the issue asks for is there once something was recorded.
func TestEveryFamilyIsHoards(t *testing.T) {
	r := metrics.New(metrics.Options{Version: "test"})
	st := openStore(t)
	r.WatchStore(st)
	r.FuseOp("read", time.Now(), nil)
	r.S3Op("GetObject", 200, time.Now())
	r.UFSRequest("local", "Stat", time.Now(), ufs.ErrNotExist)
	r.UFSBytes("local", 1, 1)

	fams, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "hoard_") {
			t.Errorf("family %s does not start with hoard_", f.GetName())
		}
		got[f.GetName()] = true
	}
	for _, want := range []string{
		"hoard_fuse_ops_total", "hoard_fuse_op_errors_total", "hoard_fuse_op_duration_seconds",
		"hoard_fuse_bytes_read_total", "hoard_fuse_bytes_written_total",
		"hoard_s3_ops_total", "hoard_s3_op_duration_seconds", "hoard_s3_bytes_read_total", "hoard_s3_bytes_written_total",
		"hoard_cache_hits_total", "hoard_cache_misses_total", "hoard_cache_fetched_bytes_total",
		"hoard_cache_capacity_bytes", "hoard_cache_used_bytes", "hoard_cache_clean_bytes", "hoard_cache_pinned_bytes",
		"hoard_cache_dirty_bytes", "hoard_cache_kept_bytes", "hoard_cache_evictions_total", "hoard_cache_evicted_bytes_total",
		"hoard_ufs_requests_total", "hoard_ufs_errors_total", "hoard_ufs_request_duration_seconds",
		"hoard_ufs_bytes_read_total", "hoard_ufs_bytes_written_total",
		"hoard_persist_queue_depth", "hoard_persist_queue_oldest_age_seconds", "hoard_persist_queue_failing",
		"hoard_pebble_disk_usage_bytes", "hoard_pebble_compactions_total", "hoard_pebble_level_tables",
		"hoard_go_goroutines", "hoard_process_cpu_seconds_total",
		"hoard_build_info", "hoard_start_time_seconds",
	} {
		if !got[want] {
			t.Errorf("family %s missing", want)
		}
	}
	if v := value(t, r.Gatherer(), "hoard_cache_capacity_bytes"); v != 64<<20 {
		t.Errorf("capacity %v, want %v", v, 64<<20)
	}
	if v := value(t, r.Gatherer(), "hoard_build_info", "version", "test"); v != 1 {
		t.Errorf("build info %v", v)
	}
}

func TestFuseCounters(t *testing.T) {
	r := metrics.New(metrics.Options{})
	g := r.Gatherer()
	for range 3 {
		r.FuseOp("lookup", time.Now(), nil)
	}
	r.FuseOp("lookup", time.Now(), errors.New("ENOENT"))
	r.FuseOpFailed("write", time.Now(), true)
	r.FuseBytes(1000, 0)
	r.FuseBytes(24, 4096)
	r.FuseBytes(-5, 0) // ignored: never counts backwards
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hoard_fuse_ops_total", []string{"op", "lookup"}, 4},
		{"hoard_fuse_op_errors_total", []string{"op", "lookup"}, 1},
		{"hoard_fuse_op_duration_seconds", []string{"op", "lookup"}, 4},
		{"hoard_fuse_ops_total", []string{"op", "write"}, 1},
		{"hoard_fuse_op_errors_total", []string{"op", "write"}, 1},
		{"hoard_fuse_bytes_read_total", nil, 1024},
		{"hoard_fuse_bytes_written_total", nil, 4096},
	} {
		if got := value(t, g, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	tot := r.Totals()
	if tot.FuseOps != 5 || tot.FuseRead != 1024 || tot.FuseWritten != 4096 {
		t.Errorf("totals %+v", tot)
	}
}

func TestCacheAndUFSCounters(t *testing.T) {
	r := metrics.New(metrics.Options{})
	g := r.Gatherer()
	r.CacheHit(3)
	r.CacheMiss(1)
	r.CacheFetched(4 << 20)
	r.UFSRequest("oss", "Put", time.Now(), nil)
	r.UFSRequest("oss", "Put", time.Now(), ufs.Retryable(errors.New("503")))
	r.UFSRequest("oss", "Stat", time.Now(), fmt.Errorf("x: %w", ufs.ErrNotExist))
	r.UFSRequest("oss", "Stat", time.Now(), context.Canceled)
	r.UFSError("oss", "ReadRange", errors.New("connection reset"))
	r.UFSBytes("oss", 10, 20)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"hoard_cache_hits_total", nil, 3},
		{"hoard_cache_misses_total", nil, 1},
		{"hoard_cache_fetched_bytes_total", nil, 4 << 20},
		{"hoard_ufs_requests_total", []string{"backend", "oss", "method", "Put"}, 2},
		{"hoard_ufs_request_duration_seconds", []string{"backend", "oss", "method", "Put"}, 2},
		{"hoard_ufs_errors_total", []string{"method", "Put", "kind", "retryable"}, 1},
		{"hoard_ufs_errors_total", []string{"method", "Stat", "kind", "not_exist"}, 1},
		{"hoard_ufs_errors_total", []string{"method", "Stat", "kind", "canceled"}, 1},
		{"hoard_ufs_errors_total", []string{"method", "ReadRange", "kind", "other"}, 1},
		{"hoard_ufs_requests_total", []string{"method", "ReadRange"}, 0},
		{"hoard_ufs_bytes_read_total", []string{"backend", "oss"}, 10},
		{"hoard_ufs_bytes_written_total", []string{"backend", "oss"}, 20},
	} {
		if got := valueOr0(t, g, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestStoreCollector: the cache and queue families follow the store.
func TestStoreCollector(t *testing.T) {
	r := metrics.New(metrics.Options{})
	st := openStore(t)
	r.WatchStore(st)
	g := r.Gatherer()
	ctx := store.WithWriteType(context.Background(), store.MustCache)
	data := bytes.Repeat([]byte("x"), 100<<10) // two 64 KiB blocks
	if _, err := st.PutObject(ctx, "/b/k", bytes.NewReader(data), store.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	if got := value(t, g, "hoard_cache_used_bytes"); got != float64(len(data)) {
		t.Errorf("used %v, want %d", got, len(data))
	}
	if got := value(t, g, "hoard_cache_pinned_bytes"); got != float64(len(data)) {
		t.Errorf("pinned (MUST_CACHE, never persisted) %v, want %d", got, len(data))
	}
	if got := value(t, g, "hoard_cache_dirty_bytes"); got != float64(len(data)) {
		t.Errorf("dirty (MUST_CACHE, never persisted) %v, want %d", got, len(data))
	}
	if got := value(t, g, "hoard_cache_kept_bytes"); got != 0 {
		t.Errorf("kept (no pinned file) %v, want 0", got)
	}
	if got := value(t, g, "hoard_persist_queue_depth"); got != 0 {
		t.Errorf("queue depth %v", got)
	}
	q, ok := r.Queue()
	if !ok || q.Depth != 0 {
		t.Errorf("Queue() = %+v, %v", q, ok)
	}
	if got := value(t, g, "hoard_pebble_disk_usage_bytes"); got <= 0 {
		t.Errorf("pebble disk usage %v", got)
	}
}

// TestNilRegistry: metrics off is a nil *Registry, and recording into it
// does nothing.
func TestNilRegistry(t *testing.T) {
	var r *metrics.Registry
	r.FuseOp("read", time.Now(), nil)
	r.FuseOpFailed("read", time.Now(), true)
	r.FuseBytes(1, 1)
	r.S3Op("GetObject", 200, time.Now())
	r.S3Bytes(1, 1)
	r.CacheHit(1)
	r.CacheMiss(1)
	r.CacheFetched(1)
	r.UFSRequest("x", "Stat", time.Now(), nil)
	r.UFSError("x", "Stat", errors.New("x"))
	r.UFSBytes("x", 1, 1)
	if s := r.Samples(); s != nil {
		t.Errorf("samples of nil: %v", s)
	}
	if _, ok := r.Queue(); ok {
		t.Error("queue of nil")
	}
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if got := metrics.WrapS3(h, nil); fmt.Sprint(got) != fmt.Sprint(h) {
		t.Error("WrapS3 with a nil registry wraps")
	}
}

// TestHandlerServesText scrapes the handler as Prometheus would.
func TestHandlerServesText(t *testing.T) {
	r := metrics.New(metrics.Options{})
	r.S3Op("PutObject", 200, time.Now())
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `hoard_s3_ops_total{code="200",op="PutObject"} 1`) {
		t.Fatalf("%d\n%s", resp.StatusCode, body)
	}
}
