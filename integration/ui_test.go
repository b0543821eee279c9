package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The web UI in a real browser: Debian's chromium, headless, against a
// started daemon. .ci/run installs chromium; without it this test fails,
// it does not skip, so that a CI machine without a browser is noticed.

// artifactsDir is where screenshots are kept (gitignored).
const artifactsDir = "artifacts"

// chromium finds the browser: $HOARD_CHROMIUM, else chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HOARD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is missing: the web UI test needs a headless browser " +
		"(apt-get install -y chromium; .ci/run installs it), or set HOARD_CHROMIUM")
	return ""
}

// browse runs headless chromium on url with extra flags (--dump-dom,
// --screenshot=...) and returns its standard output. The virtual time
// budget lets the page's fetches and first polls finish before the dump.
func browse(t *testing.T, url string, flags ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
		"--virtual-time-budget=5000",
	}, flags...)
	cmd := exec.CommandContext(ctx, chromium(t), append(args, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, lastLines(stderr.String(), 20))
	}
	return stdout.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// screenshot saves the page at url as artifacts/name.png.
func screenshot(t *testing.T, url, name, size string) {
	t.Helper()
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := filepath.Abs(filepath.Join(artifactsDir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(out)
	browse(t, url, "--window-size="+size, "--screenshot="+out)
	b, err := os.ReadFile(out)
	if err != nil || len(b) < 5000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s: %d bytes, %v", out, len(b), err)
	}
	t.Logf("screenshot: %s", out)
}

// uiReport is the part of the admin API's report the overview shows.
type uiReport struct {
	Cache struct {
		Capacity, Used, Clean, Unevictable, Dirty, Pinned, Evictions, EvictedBytes int64
	}
	Queue struct {
		Depth, Failing int
	}
	Mounts []struct{ Path string }
}

func (h *hoard) uiGetJSON(path string, v any) {
	h.t.Helper()
	resp, err := testHTTP.Get("http://" + h.web + path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		h.t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
}

// settled waits until nothing is queued for persistence, so that the
// numbers the page shows are the ones the admin API reports.
func (h *hoard) uiSettled() uiReport {
	h.t.Helper()
	var rep uiReport
	deadline := time.Now().Add(30 * time.Second)
	for {
		h.uiGetJSON("/api/v1/fs/report", &rep)
		if rep.Queue.Depth == 0 {
			return rep
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("persist queue still at %d after 30s", rep.Queue.Depth)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jsBytes formats a byte count as the page's bytes() does.
func jsBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	v, i := float64(n), 0
	for math.Abs(v) >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(n, 10) + " B"
	}
	prec := 0
	switch {
	case v < 10:
		prec = 2
	case v < 100:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " " + units[i]
}

// field is the text of the element with id in a DOM dump.
func domField(t *testing.T, dom, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no element #%s in the page:\n%s", id, dom)
	}
	return m[1]
}

// metricValue sums the samples of name whose labels include every pair in
// labels (`op="PutObject"`, ...) in a /metrics scrape.
func metricValue(scrape, name string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	for _, line := range strings.Split(scrape, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line[:i], l)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			sum += v
			found = true
		}
	}
	return sum, found
}

func (h *hoard) scrapeMetrics() string {
	h.t.Helper()
	resp, err := testHTTP.Get("http://" + h.web + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

// writeDirect creates path with O_DIRECT and writes data in one call.
func writeDirect(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_DIRECT, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readDirect reads path whole with O_DIRECT.
func readDirect(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mountPassthrough says whether the daemon's mount hands wholly cached
// files to the kernel, as its "fuse: mounted" log line tells: their reads
// and writes then never reach the daemon nor its metrics.
func (h *hoard) mountPassthrough() bool {
	h.t.Helper()
	for _, line := range strings.Split(h.output(), "\n") {
		if strings.Contains(line, `msg="fuse: mounted"`) {
			return strings.Contains(line, "passthrough=true")
		}
	}
	h.t.Fatalf("no \"fuse: mounted\" line in the daemon's log:\n%s", h.output())
	return false
}

// checkFuseMetrics checks what TestWebUI's traffic through the mount moved
// in the hoard_fuse_* families: a directory made, a file written with
// plain calls (viaMount bytes; passthrough, when the kernel can, keeps
// them from the daemon) and one written and read back with O_DIRECT
// (viaDaemon bytes, one call each way, always through the daemon).
func (h *hoard) checkFuseMetrics(delta func(name string, labels ...string) float64, viaMount, viaDaemon int) {
	t := h.t
	t.Helper()
	pt := h.mountPassthrough()
	t.Logf("the mount is passthrough: %v", pt)
	wantWritten, minWrites := viaDaemon, 1.0
	if !pt {
		wantWritten, minWrites = viaMount+viaDaemon, 2
	}
	for _, c := range []struct {
		op   string
		want float64
	}{{"mkdir", 1}, {"create", 2}, {"open", 1}, {"flush", 3}} {
		if d := delta("hoard_fuse_ops_total", `op="`+c.op+`"`); d != c.want {
			t.Errorf("hoard_fuse_ops_total{op=%q} moved by %v, want %v", c.op, d, c.want)
		}
	}
	// The kernel splits a write(2) that is not O_DIRECT where it likes.
	if d := delta("hoard_fuse_ops_total", `op="write"`); d < minWrites || (minWrites == 1 && d != 1) {
		t.Errorf("hoard_fuse_ops_total{op=\"write\"} moved by %v, want %v", d, minWrites)
	}
	if d := delta("hoard_fuse_bytes_written_total"); d != float64(wantWritten) {
		t.Errorf("hoard_fuse_bytes_written_total moved by %v, want %d", d, wantWritten)
	}
	if d := delta("hoard_fuse_bytes_read_total"); d != float64(viaDaemon) {
		t.Errorf("hoard_fuse_bytes_read_total moved by %v, want %d", d, viaDaemon)
	}
	if d := delta("hoard_fuse_op_errors_total", `op="write"`) + delta("hoard_fuse_op_errors_total", `op="create"`); d != 0 {
		t.Errorf("hoard_fuse_op_errors_total of writes and creates moved by %v, want 0", d)
	}
}

// TestWebUI loads the UI from a started daemon in chromium: the overview
// shows what the admin API reports, the file browser lists files written
// through the mount and through S3 with their state, cached share and a
// working download link, the metrics moved with that traffic, and
// screenshots of the pages (desktop and phone sized) are kept in
// integration/artifacts/.
func TestWebUI(t *testing.T) {
	chromium(t) // fail before starting anything when there is no browser
	h := newHoard(t)
	h.start()
	base := "http://" + h.web + "/"
	before := h.scrapeMetrics()

	// A file through the mount: the daemon is healthy only once mounted.
	mnt := filepath.Join(h.dir, "mnt")
	viaMount := bytes.Repeat([]byte("m"), 4242)
	if err := os.MkdirAll(filepath.Join(mnt, "uibucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mnt, "uibucket", "from-mount.txt"), viaMount, 0o644); err != nil {
		t.Fatal(err)
	}
	// And one through the daemon's FUSE path, written and read back: an
	// O_DIRECT open is never passthrough, so these bytes are what
	// hoard_fuse_bytes_*_total count whatever the kernel can do.
	viaDaemon := bytes.Repeat([]byte("d"), 5555)
	direct := filepath.Join(mnt, "uibucket", "via-daemon.bin")
	writeDirect(t, direct, viaDaemon)
	if got := readDirect(t, direct); !bytes.Equal(got, viaDaemon) {
		t.Errorf("O_DIRECT read back %d bytes, want the %d written", len(got), len(viaDaemon))
	}
	// And one through the S3 gateway.
	viaS3 := bytes.Repeat([]byte("s"), 70000)
	req, _ := http.NewRequest("PUT", "http://"+h.s3+"/uibucket/from-s3.bin", bytes.NewReader(viaS3))
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("S3 PUT: %d", resp.StatusCode)
	}

	rep := h.uiSettled()
	var health struct{ Version string }
	h.uiGetJSON("/api/v1/health", &health)

	// The overview shows the admin API's numbers.
	dom := browse(t, base+"#/overview", "--dump-dom")
	for id, want := range map[string]string{
		"ov-version":       health.Version,
		"ov-capacity":      jsBytes(rep.Cache.Capacity),
		"ov-used":          jsBytes(rep.Cache.Used),
		"ov-dirty":         jsBytes(rep.Cache.Dirty),
		"ov-pinned":        jsBytes(rep.Cache.Pinned),
		"ov-clean":         jsBytes(rep.Cache.Clean),
		"ov-evicted":       fmt.Sprintf("%s (%d blocks)", jsBytes(rep.Cache.EvictedBytes), rep.Cache.Evictions),
		"ov-queue-depth":   strconv.Itoa(rep.Queue.Depth),
		"ov-queue-failing": strconv.Itoa(rep.Queue.Failing),
		"ov-fuse":          mnt,
		"ov-s3":            "http://" + h.s3,
	} {
		if got := domField(t, dom, id); got != want {
			t.Errorf("overview #%s shows %q, the admin API says %q", id, got, want)
		}
	}
	written := len(viaMount) + len(viaDaemon) + len(viaS3)
	if rep.Cache.Used < int64(written) {
		t.Errorf("cache used %d after writing %d bytes", rep.Cache.Used, written)
	}
	if !strings.HasPrefix(domField(t, dom, "ov-ufs"), "file://") {
		t.Errorf("root UFS shown as %q", domField(t, dom, "ov-ufs"))
	}

	// The file browser lists both files, persisted and cached.
	dom = browse(t, base+"#/files/uibucket", "--dump-dom")
	for name, size := range map[string]int{"from-mount.txt": len(viaMount), "from-s3.bin": len(viaS3)} {
		row := regexp.MustCompile(`<tr class="file" data-path="/uibucket/` + regexp.QuoteMeta(name) + `">(.*?)</tr>`).FindStringSubmatch(dom)
		if row == nil {
			t.Errorf("the file browser does not list %s:\n%s", name, dom)
			continue
		}
		for _, want := range []string{">" + jsBytes(int64(size)) + "<", ">PERSISTED<", ">100%<",
			`href="/api/v1/fs/cat?path=%2Fuibucket%2F` + name + `" download="` + name + `"`} {
			if !strings.Contains(row[1], want) {
				t.Errorf("row of %s lacks %s: %s", name, want, row[1])
			}
		}
	}
	// The mount table shows the root's write and read types.
	dom = browse(t, base+"#/mounts", "--dump-dom")
	if !regexp.MustCompile(`<tbody id="mounts-body">.*?<td>ASYNC_THROUGH</td><td>CACHE_PROMOTE</td><td>no</td>`).MatchString(dom) {
		t.Errorf("the mount table does not show the root's types:\n%s", dom)
	}
	// The download link gives the file's bytes.
	resp, err = testHTTP.Get("http://" + h.web + "/api/v1/fs/cat?path=%2Fuibucket%2Ffrom-mount.txt")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, viaMount) {
		t.Errorf("download: %d bytes, want %d", len(got), len(viaMount))
	}

	// The metrics moved with the traffic.
	after := h.scrapeMetrics()
	delta := func(name string, labels ...string) float64 {
		a, _ := metricValue(after, name, labels...)
		b, _ := metricValue(before, name, labels...)
		return a - b
	}
	if d := delta("hoard_s3_ops_total", `op="PutObject"`, `code="200"`); d != 1 {
		t.Errorf("hoard_s3_ops_total{PutObject,200} moved by %v, want 1", d)
	}
	if d := delta("hoard_s3_bytes_written_total"); d != float64(len(viaS3)) {
		t.Errorf("hoard_s3_bytes_written_total moved by %v, want %d", d, len(viaS3))
	}
	if d := delta("hoard_ufs_bytes_written_total", `backend="local"`); d != float64(written) {
		t.Errorf("hoard_ufs_bytes_written_total moved by %v, want %d", d, written)
	}
	h.checkFuseMetrics(delta, len(viaMount), len(viaDaemon))

	screenshot(t, base+"#/overview", "ui-overview", "1280,1000")
	screenshot(t, base+"#/files/uibucket", "ui-files", "1280,600")
	screenshot(t, base+"#/queue", "ui-queue", "1280,600")
	screenshot(t, base+"#/overview", "ui-overview-phone", "390,844")
	h.stop(syscall.SIGTERM)
}
