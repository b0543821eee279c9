package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
)

// Gateway benchmarks, each against a reference measured in the same run: a
// plain Go net/http server over a directory on the same disk, which GETs
// with http.ServeFile (sendfile) and PUTs by writing the body to a file and
// fsyncing it (Hoard's PUT is durable when answered, too). Hoard writes with
// MUST_CACHE so that no background upload competes for the disk; both sides
// serve from a warm page cache. Run with -benchtime 1x (make bench): each
// benchmark measures each side three times, alternately, and reports the
// medians of MB/s or ops/s and their ratio.

// plainServer is the reference.
func plainServer(b *testing.B) *httptest.Server {
	dir := b.TempDir()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := filepath.Join(dir, filepath.Clean("/"+r.URL.Path))
		switch r.Method {
		case http.MethodPut:
			os.MkdirAll(filepath.Dir(p), 0o755)
			f, err := os.Create(p)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			_, err = io.Copy(f, r.Body)
			if err == nil {
				err = f.Sync()
			}
			f.Close()
			if err != nil {
				http.Error(w, err.Error(), 500)
			}
		default:
			http.ServeFile(w, r, p)
		}
	}))
}

func benchEnv(b *testing.B) *env {
	return newEnv(b, false, func(o *store.Options) {
		o.WriteType = store.MustCache
		o.Quota = 8 << 30
		o.BlockSize = 4 << 20
	})
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}

func mustDo(b *testing.B, method, url string, body []byte) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, r)
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s %s: %d", method, url, resp.StatusCode)
	}
}

// throughput times n transfers of size bytes and returns MB/s.
func throughput(b *testing.B, n int, size int64, do func(i int)) float64 {
	start := time.Now()
	for i := range n {
		do(i)
	}
	return float64(n) * float64(size) / time.Since(start).Seconds() / (1 << 20)
}

// rounds is how many times each side is measured, alternately, so that a
// machine busy with something else for a while weighs on both; the medians
// are reported.
const rounds = 3

// compare measures hoard and plain alternately and reports the medians and
// their ratio under unit names prefixed by name.
func compare(b *testing.B, name, unit string, hoard, plain func(round int) float64) {
	mh, mp := medians(rounds, hoard, plain)
	b.ReportMetric(mh, name+"-"+unit)
	b.ReportMetric(mp, "plain-"+name+"-"+unit)
	b.ReportMetric(mh/mp, name+"-ratio")
}

// medians measures x and y n times each, taking turns to go first (the
// second finds the machine as the first left it: page cache, connections,
// garbage to collect), and returns their medians.
func medians(n int, x, y func(round int) float64) (float64, float64) {
	var xs, ys []float64
	for r := range n {
		if r%2 == 0 {
			xs = append(xs, x(r))
			ys = append(ys, y(r))
		} else {
			ys = append(ys, y(r))
			xs = append(xs, x(r))
		}
	}
	return median(xs), median(ys)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func BenchmarkGatewayThroughput(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int64
		n    int
	}{{"1MiB", 1 << 20, 100}, {"256MiB", 256 << 20, 2}} {
		b.Run(tc.name, func(b *testing.B) {
			e := benchEnv(b)
			ref := plainServer(b)
			data := randBytes(1, int(tc.size))
			mustDo(b, "PUT", e.url+"/bench", nil)
			obj := func(base string, r, i int) string { return fmt.Sprintf("%s/bench/r%d/o%d", base, r, i) }
			for b.Loop() {
				compare(b, "put", "MB/s",
					func(r int) float64 {
						return throughput(b, tc.n, tc.size, func(i int) { mustDo(b, "PUT", obj(e.url, r, i), data) })
					},
					func(r int) float64 {
						return throughput(b, tc.n, tc.size, func(i int) { mustDo(b, "PUT", obj(ref.URL, r, i), data) })
					})
				compare(b, "get", "MB/s",
					func(r int) float64 {
						return throughput(b, tc.n, tc.size, func(i int) { mustDo(b, "GET", obj(e.url, r, i), nil) })
					},
					func(r int) float64 {
						return throughput(b, tc.n, tc.size, func(i int) { mustDo(b, "GET", obj(ref.URL, r, i), nil) })
					})
			}
		})
	}
}

// rate runs op from 16 clients, each on its own keys, and returns ops/s.
func rate(b *testing.B, clients, perClient int, op func(client, i int)) float64 {
	var wg sync.WaitGroup
	var done atomic.Int64
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				op(c, i)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

func BenchmarkGatewaySmallObjects(b *testing.B) {
	const clients, perClient = 16, 100
	e := benchEnv(b)
	ref := plainServer(b)
	data := randBytes(2, 4<<10)
	mustDo(b, "PUT", e.url+"/bench", nil)
	url := func(base string, r, c, i int) string { return fmt.Sprintf("%s/bench/r%d/c%d/o%d", base, r, c, i) }
	for b.Loop() {
		for _, op := range []struct {
			name, method string
			body         []byte
		}{{"put", "PUT", data}, {"get", "GET", nil}, {"head", "HEAD", nil}} {
			compare(b, op.name, "ops/s",
				func(r int) float64 {
					return rate(b, clients, perClient, func(c, i int) { mustDo(b, op.method, url(e.url, r, c, i), op.body) })
				},
				func(r int) float64 {
					return rate(b, clients, perClient, func(c, i int) { mustDo(b, op.method, url(ref.URL, r, c, i), op.body) })
				})
		}
	}
}

// metricsRounds is how many times BenchmarkGatewayMetrics measures each
// side: more than rounds, as the difference it looks for is small.
const metricsRounds = 8

// BenchmarkGatewayMetrics measures what the hoard_s3_* metrics cost: one
// store behind the gateway wrapped as the daemon wraps it (metrics.WrapS3
// with a registry: metrics-on) and behind the bare gateway (WrapS3 with
// nil, which is the handler itself: metrics-off). Workloads: 4 KiB PUT,
// GET and HEAD from 16 clients at once, and 1 MiB GETs (where the wrapper
// must keep sendfile). Each side is measured metricsRounds times, the two
// taking turns to go first; it reports the medians and the ratio on/off,
// where 1 means metrics cost nothing measurable.
//
// Both sides are served by one listener that switches handlers between
// measurements: with one server each, the one started first was faster by
// 5 to 20% even with metrics off on both.
func BenchmarkGatewayMetrics(b *testing.B) {
	const clients, perClient = 16, 100
	e := benchEnv(b)
	reg := metrics.New(metrics.Options{})
	on, off := metrics.WrapS3(New(e.st, e.opts), reg), metrics.WrapS3(New(e.st, e.opts), nil)
	var serving atomic.Pointer[http.Handler]
	serving.Store(&off)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*serving.Load()).ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close) // before the store closes: cleanups run last registered first
	side := func(fn func(name string, round int) float64) (float64, float64) {
		return medians(metricsRounds,
			func(r int) float64 { serving.Store(&on); return fn("on", r) },
			func(r int) float64 { serving.Store(&off); return fn("off", r) })
	}
	report := func(name, unit string, mon, moff float64) {
		b.ReportMetric(mon, "metrics-on-"+name+"-"+unit)
		b.ReportMetric(moff, "metrics-off-"+name+"-"+unit)
		b.ReportMetric(mon/moff, name+"-metrics-on/metrics-off")
	}

	mustDo(b, "PUT", srv.URL+"/bench", nil)
	small := randBytes(3, 4<<10)
	key := func(name string, r, c, i int) string {
		return fmt.Sprintf("%s/bench/%s/r%d/c%d/o%d", srv.URL, name, r, c, i)
	}
	big := randBytes(4, 1<<20)
	const bigN = 100
	bigKey := func(i int) string { return fmt.Sprintf("%s/bench/big/o%d", srv.URL, i) }
	for i := range bigN {
		mustDo(b, "PUT", bigKey(i), big)
	}
	for b.Loop() {
		for _, op := range []struct {
			name, method string
			body         []byte
		}{{"put", "PUT", small}, {"get", "GET", nil}, {"head", "HEAD", nil}} {
			mon, moff := side(func(name string, r int) float64 {
				return rate(b, clients, perClient, func(c, i int) { mustDo(b, op.method, key(name, r, c, i), op.body) })
			})
			report(op.name, "ops/s", mon, moff)
		}
		mon, moff := side(func(string, int) float64 {
			return throughput(b, bigN, int64(len(big)), func(i int) { mustDo(b, "GET", bigKey(i), nil) })
		})
		report("get1MiB", "MB/s", mon, moff)
	}
	b.Logf("metrics-on recorded %v requests", s3Requests(b, reg))
}

// s3Requests sums hoard_s3_ops_total, to show in the log that the
// registry recorded what it was sent.
func s3Requests(b *testing.B, reg *metrics.Registry) float64 {
	fams, err := reg.Gatherer().Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() == "hoard_s3_ops_total" {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
