package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/gateway"
	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/faults"
	"github.com/hoardfs/hoard/ufs/local"
	ufsmetrics "github.com/hoardfs/hoard/ufs/metrics"
)

// uiEnv is a store over a local UFS (behind fault injection and the UFS
// metrics decorator, stacked as the daemon stacks them), its web server and
// its S3 gateway wrapped in the metrics middleware.
type uiEnv struct {
	t      *testing.T
	st     *store.Store
	reg    *metrics.Registry
	faults *faults.FS
	web    *httptest.Server
	s3     *httptest.Server
}

func newUIEnv(t *testing.T, token string) *uiEnv {
	t.Helper()
	dir := t.TempDir()
	base, err := local.New(filepath.Join(dir, "ufs"))
	if err != nil {
		t.Fatal(err)
	}
	e := &uiEnv{t: t, reg: metrics.New(metrics.Options{Version: "v-test"})}
	e.faults = faults.New(base)
	var u ufs.UFS = ufsmetrics.New(e.faults, e.reg, "")
	e.st, err = store.Open(store.Options{
		MetaDir: filepath.Join(dir, "meta"), CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota: 256 << 20, BlockSize: 64 << 10, RootUFS: u, RootURI: "file://" + filepath.Join(dir, "ufs"),
		SyncInterval: -1, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, PersistWorkers: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.reg.WatchStore(e.st)
	e.web = httptest.NewServer(gateway.NewWeb(e.st, gateway.WebOptions{
		Token: token, Version: "v-test", Started: time.Now().Add(-time.Minute), Metrics: e.reg,
		UI: gateway.UIInfo{S3Address: "127.0.0.1:1", MountPoint: "/mnt/hoard", WebAddress: "127.0.0.1:2", Config: "defaults"},
	}))
	e.s3 = httptest.NewServer(metrics.WrapS3(gateway.New(e.st, gateway.Options{}), e.reg))
	t.Cleanup(func() {
		e.s3.Close()
		e.web.Close()
		e.st.Close()
		base.Close()
	})
	return e
}

// do sends a request and returns the status and body.
func uiDo(t *testing.T, method, url string, body []byte, header ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func uiGetJSON(t *testing.T, url string, v any, header ...string) {
	t.Helper()
	code, _, body := uiDo(t, "GET", url, nil, header...)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
}

func TestUIServesEmbeddedPage(t *testing.T) {
	e := newUIEnv(t, "")
	code, h, body := uiDo(t, "GET", e.web.URL+"/", nil)
	if code != 200 || !strings.Contains(string(body), `<script src="/ui/app.js"`) || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d %s\n%s", code, h.Get("Content-Type"), body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for _, f := range []string{"app.js", "style.css"} {
		code, h, body := uiDo(t, "GET", e.web.URL+"/ui/"+f, nil)
		if code != 200 || len(body) < 1000 {
			t.Fatalf("GET /ui/%s: %d, %d bytes", f, code, len(body))
		}
		// Revalidation answers 304 without the body.
		if code, _, body := uiDo(t, "GET", e.web.URL+"/ui/"+f, nil, "If-None-Match", h.Get("ETag")); code != 304 || len(body) != 0 {
			t.Errorf("revalidate /ui/%s: %d, %d bytes", f, code, len(body))
		}
		// Nothing is fetched from elsewhere.
		for _, bad := range []string{"http://", "https://", "//cdn"} {
			if bytes.Contains(body, []byte(bad)) && f != "app.js" {
				t.Errorf("/ui/%s refers to %s", f, bad)
			}
		}
	}
	if code, _, _ := uiDo(t, "GET", e.web.URL+"/ui/nope.js", nil); code != 404 {
		t.Errorf("missing asset: %d", code)
	}
}

// TestUITokenGuardsData: with a token, the static page loads (it asks for
// the token) but no data, metrics included, comes without it.
func TestUITokenGuardsData(t *testing.T) {
	e := newUIEnv(t, "s3cr3t")
	for _, p := range []string{"/", "/ui/app.js", "/api/v1/health"} {
		if code, _, _ := uiDo(t, "GET", e.web.URL+p, nil); code != 200 {
			t.Errorf("GET %s without token: %d", p, code)
		}
	}
	for _, p := range []string{"/api/v1/ui/overview", "/api/v1/ui/queue", "/api/v1/ui/throughput", "/metrics", "/api/v1/fs/report"} {
		if code, _, _ := uiDo(t, "GET", e.web.URL+p, nil); code != 401 {
			t.Errorf("GET %s without token: %d, want 401", p, code)
		}
		if code, _, _ := uiDo(t, "GET", e.web.URL+p, nil, "Authorization", "Bearer s3cr3t"); code != 200 {
			t.Errorf("GET %s with token: %d", p, code)
		}
	}
	// A static file's prefix does not open the API.
	if code, _, _ := uiDo(t, "GET", e.web.URL+"/ui/../api/v1/ui/overview", nil); code != 401 {
		t.Errorf("GET /ui/../api/v1/ui/overview without token: %d, want 401", code)
	}
}

func TestUIOverview(t *testing.T) {
	e := newUIEnv(t, "")
	var ov gateway.UIOverview
	uiGetJSON(t, e.web.URL+"/api/v1/ui/overview", &ov)
	if ov.Version != "v-test" || ov.UptimeSeconds < 59 || ov.FuseMount != "/mnt/hoard" || ov.S3Address != "127.0.0.1:1" ||
		!strings.HasPrefix(ov.RootUFS, "file://") || ov.Mounts != 1 || !ov.Metrics || ov.BlockSize != 64<<10 {
		t.Fatalf("overview %+v", ov)
	}
}

// TestUIQueueShowsFailures: with the UFS down, persists fail and wait for
// a retry; the queue endpoint lists them with their attempts and error.
func TestUIQueueShowsFailures(t *testing.T) {
	e := newUIEnv(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The bucket first, while the UFS answers: making it lists the UFS.
	if _, err := e.st.MkdirAll(ctx, "/b", store.Cred{}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.WaitPersisted(ctx); err != nil {
		t.Fatal(err)
	}
	e.faults.SetDown(true)
	if _, err := e.st.PutObject(ctx, "/b/one.txt", strings.NewReader("hello"), store.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	var q gateway.UIQueue
	deadline := time.Now().Add(10 * time.Second)
	for {
		uiGetJSON(t, e.web.URL+"/api/v1/ui/queue", &q)
		if q.Failing > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if q.Depth == 0 || q.Failing == 0 || len(q.Tasks) == 0 {
		t.Fatalf("queue %+v", q)
	}
	var found bool
	for _, task := range q.Tasks {
		if task.Path == "/b/one.txt" && task.Kind == "persist" && task.Attempts > 0 && strings.Contains(task.LastError, "injected") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no failing persist of /b/one.txt in %+v", q.Tasks)
	}
	e.faults.SetDown(false)
	if err := e.st.WaitPersisted(ctx); err != nil {
		t.Fatal(err)
	}
	uiGetJSON(t, e.web.URL+"/api/v1/ui/queue", &q)
	if q.Depth != 0 || len(q.Tasks) != 0 {
		t.Fatalf("queue after recovery %+v", q)
	}
}
