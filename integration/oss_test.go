package integration

// The daemon over OSS (the in-process osstest server): bad OSS settings at
// start, persistence under injected faults, a kill -9 right after an
// ASYNC_THROUGH commit, and changes made directly in the bucket showing up
// within one sync interval. The helpers here (OSS server, admin API calls)
// serve alluxio_flow_test.go too.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

// A second OSS account, for the nested mount's own credentials.
const (
	ossID2     = "second-account-id"
	ossSecret2 = "second-account-secret-never-shown"
)

// newOSS starts an OSS server with the default account and the second
// one, and buckets "bucket" and "bucket2".
func newOSS(t *testing.T) *osstest.Server {
	t.Helper()
	srv := osstest.New(osstest.Options{Accounts: map[string]string{
		osstest.DefaultAccessKeyID: osstest.DefaultAccessKeySecret,
		ossID2:                     ossSecret2,
	}})
	t.Cleanup(srv.Close)
	for _, b := range []string{"bucket", "bucket2"} {
		if err := srv.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	return srv
}

// ossProps point the daemon's root at oss://bucket/dir on srv, as the
// Alluxio page configures it.
func ossProps(srv *osstest.Server, extra ...string) []string {
	return append([]string{
		"hoard.root.ufs=oss://bucket/dir",
		"fs.oss.accessKeyId=" + osstest.DefaultAccessKeyID,
		"fs.oss.accessKeySecret=" + osstest.DefaultAccessKeySecret,
		"fs.oss.endpoint=" + srv.URL(),
	}, extra...)
}

// noFUSE keeps a test to the admin API and the S3 gateway.
const noFUSE = "hoard.fuse.mount.point="

// must runs a hoard command that must succeed.
func (h *hoard) must(args ...string) string {
	h.t.Helper()
	out, err := h.command(args...)
	if err != nil {
		h.t.Fatalf("hoard %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// refused runs a hoard command that must fail with exit code 1 or 2 and a
// message containing want.
func (h *hoard) refused(want string, args ...string) string {
	h.t.Helper()
	out, err := h.command(args...)
	ee, ok := err.(interface{ ExitCode() int })
	if err == nil || !ok || ee.ExitCode() < 1 || ee.ExitCode() > 2 || !strings.Contains(out, want) {
		h.t.Fatalf("hoard %s: %v; want a failure saying %q\n%s", strings.Join(args, " "), err, want, out)
	}
	return out
}

// admin calls the admin API directly.
func (h *hoard) admin(method, op string, q url.Values, body io.Reader) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, "http://"+h.web+"/api/v1/fs/"+op+"?"+q.Encode(), body)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := testHTTP.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, op, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// adminEntry is the part of the admin API's entries these tests read.
type adminEntry struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	State string `json:"persistenceState"`
	UFS   *struct {
		URI   string `json:"uri"`
		InUFS bool   `json:"inUfs"`
	} `json:"ufs"`
}

// write stores data at p through the admin API with a write type ("" for
// the default) and returns what the daemon answered.
func (h *hoard) write(p, writeType string, data []byte) (adminEntry, error) {
	q := url.Values{"path": {p}}
	if writeType != "" {
		q.Set("writetype", writeType)
	}
	code, b := h.admin("PUT", "write", q, bytes.NewReader(data))
	var e adminEntry
	if code != http.StatusCreated {
		return e, fmt.Errorf("write %s: %d %s", p, code, b)
	}
	return e, json.Unmarshal(b, &e)
}

// waitPersisted waits for p to reach the UFS.
func (h *hoard) waitPersisted(p string, timeout time.Duration) adminEntry {
	h.t.Helper()
	code, b := h.admin("GET", "persistence", url.Values{"path": {p}, "wait": {"PERSISTED"}, "timeout": {timeout.String()}}, nil)
	var e adminEntry
	if code != 200 || json.Unmarshal(b, &e) != nil {
		h.t.Fatalf("%s did not reach the UFS: %d %s\n%s", p, code, b, h.output())
	}
	return e
}

// s3 sends an unsigned S3 request, as Alluxio's examples do ("AWS user:").
func (h *hoard) s3do(method, path string, body []byte) (int, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, "http://"+h.s3+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "AWS testuser:")
	resp, err := testHTTP.Do(req)
	if err != nil {
		h.t.Fatalf("S3 %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// list lists directory p through the admin API (much faster than a
// `hoard fs ls` process, which the -race build takes a second to start).
func (h *hoard) list(p string) map[string]adminEntry {
	h.t.Helper()
	code, b := h.admin("GET", "ls", url.Values{"path": {p}}, nil)
	if code != 200 {
		h.t.Fatalf("ls %s: %d %s", p, code, b)
	}
	m := map[string]adminEntry{}
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var e adminEntry
		if len(l) == 0 {
			continue
		}
		if err := json.Unmarshal(l, &e); err != nil || e.Path == "" {
			h.t.Fatalf("ls %s: line %s", p, l)
		}
		m[e.Path] = e
	}
	return m
}

// eventually retries fn until it succeeds or timeout passes, and returns
// how long it took.
func eventually(t *testing.T, timeout time.Duration, what string, fn func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	for time.Since(start) < timeout {
		if err = fn(); err == nil {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not after %v: %v", what, timeout, err)
	return 0
}

// lsRE is one line of `hoard fs ls`, Alluxio's format.
var lsRE = regexp.MustCompile(`^([-dl][-rwxsStT]{9}) (\S+) (\S+) (\d+) (NOT_PERSISTED|TO_BE_PERSISTED|PERSISTED) ` +
	`(\d\d-\d\d-\d{4} \d\d:\d\d:\d\d:\d{3}) (\d+%|DIR) (/\S*)$`)

// lsEntries parses `hoard fs ls` output, failing on any line that is not
// in Alluxio's format; it maps path to [size, state, cached].
func lsEntries(t *testing.T, out string) map[string][3]string {
	t.Helper()
	m := map[string][3]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		f := lsRE.FindStringSubmatch(l)
		if f == nil {
			t.Fatalf("ls line %q is not in Alluxio's format", l)
		}
		m[f[8]] = [3]string{f[4], f[5], f[7]}
	}
	return m
}

// noSecrets fails if any of the secrets appears in texts.
func noSecrets(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range []string{osstest.DefaultAccessKeySecret, ossSecret2} {
		for _, txt := range texts {
			if strings.Contains(txt, s) {
				t.Fatalf("a secret is shown:\n%s", txt)
			}
		}
	}
}

// TestBadOSSConfigAtStart: each bad OSS setting stops `hoard start` with a
// message that names the key (or the bucket), never the secret, and leaves
// nothing running.
func TestBadOSSConfigAtStart(t *testing.T) {
	fastExit(t)
	srv := newOSS(t)
	const wrong = "wrong-secret-do-not-print"
	for _, c := range []struct {
		props []string
		want  string
	}{
		{[]string{"fs.oss.accessKeySecret=" + wrong}, "fs.oss.accessKeySecret does not match fs.oss.accessKeyId"},
		{[]string{"fs.oss.accessKeyId=nobody"}, "fs.oss.accessKeyId"},
		{[]string{"hoard.root.ufs=oss://no-such-bucket/dir"}, `bucket "no-such-bucket" does not exist`},
		{[]string{"fs.oss.endpoint=ftp://127.0.0.1"}, "fs.oss.endpoint"},
		{[]string{"hoard.root.ufs=oss://Bad_Bucket/dir"}, "not a valid bucket name"},
	} {
		h := newHoard(t, append(ossProps(srv, noFUSE), c.props...)...)
		out, err := h.command("start")
		if err == nil || !strings.Contains(out, c.want) || !strings.Contains(out, "hoard.root.ufs") {
			t.Errorf("%v: %v; want a message naming %q and hoard.root.ufs\n%s", c.props, err, c.want, out)
		}
		if strings.Contains(out, wrong) || strings.Contains(out, osstest.DefaultAccessKeySecret) {
			t.Errorf("%v: the secret is in the message:\n%s", c.props, out)
		}
		if h.healthy() {
			t.Errorf("%v: a daemon answers after a failed start", c.props)
		}
	}
}

// startMultipartOSS starts a daemon over an OSS server with small blocks
// (1MB) and parts (512KiB above 1MB), so that files of a few MiB are
// multi-block and multipart uploads, and lists its root before a test
// injects faults.
func startMultipartOSS(t *testing.T) (*osstest.Server, *hoard) {
	t.Helper()
	fastExit(t)
	srv := newOSS(t)
	h := newHoard(t, ossProps(srv, noFUSE,
		"fs.oss.multipart.threshold=1MB",
		"fs.oss.multipart.partSize=512KiB",
		"hoard.cache.block.size=1MB")...)
	h.start()
	h.must("fs", "ls", "/")
	return srv, h
}

// TestOSSFaultsLoseNothing: with 20% of OSS requests failing and 10%
// dropped, every committed file still reaches OSS intact, no multipart
// upload is left behind in the bucket, and reads of evicted files come
// back whole — a multi-block one (uploaded as a multipart upload before
// the faults start) through parallel ranged GETs under the same faults.
// (Multipart uploads under the faults: TestOSSMultipartUploadsUnderFaults
// in regressions_test.go.)
func TestOSSFaultsLoseNothing(t *testing.T) {
	srv, h := startMultipartOSS(t)

	// 8 blocks of 1MB, the last one short; 15 parts of 512KiB.
	big := patterned("big", 7<<20+100<<10+3)
	if e, err := h.write("/faults/big", "CACHE_THROUGH", big); err != nil || e.State != "PERSISTED" {
		t.Fatalf("write /faults/big: %+v %v", e, err)
	}
	if got, _, ok := srv.Object("bucket", "dir/faults/big"); !ok || !bytes.Equal(got, big) {
		t.Fatalf("/faults/big in OSS: ok=%v, %d bytes, want %d", ok, len(got), len(big))
	}
	if n := srv.Count(osstest.OpUploadPart); n < 15 {
		t.Fatalf("/faults/big went up in %d parts, want a multipart upload of 15", n)
	}

	srv.SetFaults(osstest.Faults{ErrorRate: 0.2, DropRate: 0.1})
	files := map[string][]byte{}
	for i := range 24 {
		p := fmt.Sprintf("/faults/f%02d", i)
		data := bytes.Repeat([]byte{byte(i)}, i*12345+i) // 0 bytes to ~280 KiB
		wt := []string{"", "ASYNC_THROUGH", "CACHE_THROUGH", "THROUGH"}[i%4]
		if _, err := h.write(p, wt, data); err != nil {
			// A CACHE_THROUGH or THROUGH write whose upload failed after
			// its retries is committed all the same: it must get there.
			t.Logf("%s (%s): %v", p, wt, err)
		}
		files[p] = data
	}
	for p, data := range files {
		e := h.waitPersisted(p, 90*time.Second)
		got, _, ok := srv.Object("bucket", "dir"+p)
		if !ok || !bytes.Equal(got, data) {
			t.Fatalf("%s in OSS: ok=%v, %d bytes, want %d", p, ok, len(got), len(data))
		}
		if e.UFS == nil || e.UFS.URI != "oss://bucket/dir"+p {
			t.Fatalf("%s: UFS place %+v", p, e.UFS)
		}
	}
	// Evicted, then read back from OSS through the faults.
	h.must("fs", "free", "/faults")
	if e := lsEntries(t, h.must("fs", "ls", "/faults"))["/faults/big"]; e[2] != "0%" {
		t.Fatalf("/faults/big after free: %v", e)
	}
	files["/faults/big"] = big
	for _, p := range []string{"/faults/f07", "/faults/f22", "/faults/big"} {
		if p == "/faults/big" {
			// Each request takes 20ms at least: GETs sent together overlap.
			srv.SetFaults(osstest.Faults{ErrorRate: 0.2, DropRate: 0.1, Latency: 20 * time.Millisecond})
			srv.ResetCounts()
		}
		out := h.must("fs", "cat", p)
		if out != string(files[p]) {
			t.Fatalf("cat %s after free: %d bytes, want %d (first difference at byte %d)", p, len(out), len(files[p]), firstDiff([]byte(out), files[p]))
		}
	}
	// One ranged GET at least for each of big's 8 blocks, more than one at
	// a time.
	gets, peak := srv.Count(osstest.OpGetObject), srv.Peak(osstest.OpGetObject)
	t.Logf("read back /faults/big: %d GetObject requests, at most %d at once", gets, peak)
	if gets < 8 || peak < 2 {
		t.Fatalf("/faults/big (8 blocks) read back with %d GetObject requests, at most %d at once: want ranged GETs in parallel", gets, peak)
	}
	srv.SetFaults(osstest.Faults{})
	if ups := srv.Uploads("bucket"); len(ups) != 0 {
		t.Fatalf("multipart uploads left behind in the bucket (their parts stay, and are billed, until a lifecycle rule removes them): %v", ups)
	}
	noSecrets(t, h.output())
}

// patterned is n bytes that differ at every offset and depend on name.
func patterned(name string, n int) []byte {
	b := make([]byte, n)
	x := uint32(2166136261)
	for _, c := range []byte(name) {
		x = (x ^ uint32(c)) * 16777619
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// firstDiff is the offset of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestKill9AfterAsyncThrough: the daemon is killed right after an
// ASYNC_THROUGH commit; after a restart the file reaches OSS. One file's
// upload races the kill; the other's is held back by failing every
// PutObject from before its write until after the kill, so that the
// restarted queue must do it.
func TestKill9AfterAsyncThrough(t *testing.T) {
	fastExit(t)
	srv := newOSS(t)
	h := newHoard(t, ossProps(srv, noFUSE)...)
	h.start()
	raced := bytes.Repeat([]byte("raced "), 5000)
	if _, err := h.write("/k9/raced", "ASYNC_THROUGH", raced); err != nil {
		t.Fatal(err)
	}
	srv.SetFaults(osstest.Faults{ErrorRate: 1, Ops: []string{osstest.OpPutObject}})
	held := bytes.Repeat([]byte("held back "), 10000)
	if e, err := h.write("/k9/held", "ASYNC_THROUGH", held); err != nil || e.State == "PERSISTED" {
		t.Fatalf("write: %+v %v", e, err)
	}
	h.stop(syscall.SIGKILL)
	if _, _, ok := srv.Object("bucket", "dir/k9/held"); ok {
		t.Fatal("the held-back upload reached OSS before the kill")
	}
	srv.SetFaults(osstest.Faults{})

	h.start()
	for p, data := range map[string][]byte{"/k9/held": held, "/k9/raced": raced} {
		took := eventually(t, 30*time.Second, p+" in OSS after the restart", func() error {
			got, _, ok := srv.Object("bucket", "dir"+p)
			if !ok || !bytes.Equal(got, data) {
				return fmt.Errorf("ok=%v, %d bytes", ok, len(got))
			}
			return nil
		})
		t.Logf("%s reached OSS %v after the restart", p, took.Round(time.Millisecond))
	}
	ents := lsEntries(t, h.must("fs", "ls", "/k9"))
	if ents["/k9/held"][1] != "PERSISTED" || ents["/k9/raced"][1] != "PERSISTED" {
		t.Fatalf("after the restart: %v", ents)
	}
	h.stop(syscall.SIGTERM)
}

// TestOSSChangesWithinSyncInterval: objects added, changed and removed
// directly in the bucket show up (or vanish) through the admin API and the
// S3 gateway within one sync interval (1s here).
func TestOSSChangesWithinSyncInterval(t *testing.T) {
	fastExit(t)
	srv := newOSS(t)
	h := newHoard(t, ossProps(srv, noFUSE, "hoard.user.file.metadata.sync.interval=1s")...)
	if err := srv.PutObject("bucket", "dir/outside/a.txt", []byte("one")); err != nil {
		t.Fatal(err)
	}
	h.start()
	ents := lsEntries(t, h.must("fs", "ls", "/outside"))
	if e := ents["/outside/a.txt"]; e != [3]string{"3", "PERSISTED", "0%"} {
		t.Fatalf("an object already in OSS: %v", ents)
	}
	// Through the sync interval: within one interval (plus the time of a
	// listing and slack for the -race build), polled through the admin API.
	const limit = 2500 * time.Millisecond
	within := func(what string, fn func() error) {
		t.Helper()
		took := eventually(t, limit, what, fn)
		t.Logf("%s after %v", what, took.Round(time.Millisecond))
	}

	if err := srv.PutObject("bucket", "dir/outside/b.txt", []byte("bee")); err != nil {
		t.Fatal(err)
	}
	within("added object listed", func() error {
		if _, ok := h.list("/outside")["/outside/b.txt"]; !ok {
			return fmt.Errorf("not listed")
		}
		return nil
	})
	if e := lsEntries(t, h.must("fs", "ls", "/outside"))["/outside/b.txt"]; e != [3]string{"3", "PERSISTED", "0%"} {
		t.Fatalf("fs ls of the added object: %v", e)
	}
	if code, b := h.s3do("GET", "/outside/b.txt", nil); code != 200 || string(b) != "bee" {
		t.Fatalf("S3 GET of the added object: %d %q", code, b)
	}

	if err := srv.PutObject("bucket", "dir/outside/a.txt", []byte("changed: two")); err != nil {
		t.Fatal(err)
	}
	within("changed object seen", func() error {
		if e := h.list("/outside")["/outside/a.txt"]; e.Size != 12 {
			return fmt.Errorf("size %d", e.Size)
		}
		return nil
	})
	if e := lsEntries(t, h.must("fs", "ls", "/outside"))["/outside/a.txt"]; e[0] != "12" {
		t.Fatalf("fs ls of the changed object: %v", e)
	}
	if out := h.must("fs", "cat", "/outside/a.txt"); out != "changed: two" {
		t.Fatalf("cat of the changed object: %q", out)
	}
	if code, b := h.s3do("GET", "/outside/a.txt", nil); code != 200 || string(b) != "changed: two" {
		t.Fatalf("S3 GET of the changed object: %d %q", code, b)
	}

	u, err := oss.Open(context.Background(), "oss://bucket/dir", map[string]string{
		"fs.oss.accessKeyId": osstest.DefaultAccessKeyID, "fs.oss.accessKeySecret": osstest.DefaultAccessKeySecret,
		"fs.oss.endpoint": srv.URL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := u.Delete(context.Background(), "outside/b.txt"); err != nil {
		t.Fatal(err)
	}
	within("removed object gone", func() error {
		if _, ok := h.list("/outside")["/outside/b.txt"]; ok {
			return fmt.Errorf("still listed")
		}
		return nil
	})
	if _, ok := lsEntries(t, h.must("fs", "ls", "/outside"))["/outside/b.txt"]; ok {
		t.Fatal("fs ls still shows the removed object")
	}
	if code, _ := h.s3do("GET", "/outside/b.txt", nil); code != 404 {
		t.Fatalf("S3 GET of the removed object: %d", code)
	}

	// ls --sync and fs sync see changes at once, whatever the interval.
	if err := srv.PutObject("bucket", "dir/outside/c.txt", []byte("c")); err != nil {
		t.Fatal(err)
	}
	if _, ok := lsEntries(t, h.must("fs", "ls", "--sync", "/outside"))["/outside/c.txt"]; !ok {
		t.Fatal("ls --sync did not show the new object")
	}
	h.stop(syscall.SIGTERM)
}
