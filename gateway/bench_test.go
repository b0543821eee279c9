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
	var h, p []float64
	for r := range rounds {
		h = append(h, hoard(r))
		p = append(p, plain(r))
	}
	mh, mp := median(h), median(p)
	b.ReportMetric(mh, name+"-"+unit)
	b.ReportMetric(mp, "plain-"+name+"-"+unit)
	b.ReportMetric(mh/mp, name+"-ratio")
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
