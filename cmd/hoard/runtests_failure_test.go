package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/gateway"
	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/backends"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

// newOSSTestDaemon is newTestDaemon over an OSS root, oss://bucket/dir on
// srv, opened without the daemon's retry layer: a failing request fails
// its call at once.
func newOSSTestDaemon(t *testing.T, srv *osstest.Server) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	const uri = "oss://bucket/dir"
	u, err := backends.Open(context.Background(), uri, map[string]string{
		"fs.oss.accessKeyId": osstest.DefaultAccessKeyID, "fs.oss.accessKeySecret": osstest.DefaultAccessKeySecret,
		"fs.oss.endpoint": srv.URL(),
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{
		MetaDir: filepath.Join(dir, "meta"), CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota: 1 << 30, BlockSize: 64 << 10, RootUFS: u, RootURI: uri,
		OpenUFS: func(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error) {
			return backends.Open(ctx, uri, opts)
		},
		SyncInterval: -1, RetryBase: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	})
	if err != nil {
		u.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: gateway.NewWeb(st, gateway.WebOptions{})}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		st.Close()
		u.Close()
	})
	conf := filepath.Join(dir, "hoard-site.properties")
	props := "hoard.home=" + filepath.Join(dir, "home") + "\nhoard.web.address=" + ln.Addr().String() + "\n"
	if err := os.WriteFile(conf, []byte(props), 0o644); err != nil {
		t.Fatal(err)
	}
	return &testDaemon{dir: dir, conf: conf, st: st}
}

// TestRunTestsReportsFailures: with every write to OSS failing, `hoard
// runTests --timeout 1s` reports each test that needs the UFS as "Failed
// the test! <name>: <why>" — CACHE_THROUGH and THROUGH at the write,
// ASYNC_THROUGH when its upload is not there within the 1s timeout — still
// passes the MUST_CACHE ones, which never touch the UFS, and exits 1 with
// the count; nothing claims success. Once OSS works again, the same run
// passes.
func TestRunTestsReportsFailures(t *testing.T) {
	srv := osstest.New(osstest.Options{})
	t.Cleanup(srv.Close)
	if err := srv.CreateBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	d := newOSSTestDaemon(t, srv)
	d.must(t, "fs", "ls", "/") // the root is listed before the faults start
	srv.SetFaults(osstest.Faults{ErrorRate: 1, Ops: []string{osstest.OpPutObject, osstest.OpInitiateMultipartUpload,
		osstest.OpUploadPart, osstest.OpCompleteMultipartUpload, osstest.OpCopyObject}})

	start := time.Now()
	out, errs, code := d.hoard("runTests", "--timeout", "1s")
	t.Logf("runTests took %v", time.Since(start).Round(time.Millisecond))
	if code != 1 || errs != "hoard runTests: 18 of 24 tests failed\n" {
		t.Fatalf("runTests with OSS failing: exit %d, want 1 with the count of failures\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if strings.Contains(out, "Passed all") {
		t.Fatalf("runTests claims success:\n%s", out)
	}
	line := regexp.MustCompile(`^(Passed|Failed) the test! (Basic\w+_(CACHE_PROMOTE|CACHE|NO_CACHE)_(MUST_CACHE|CACHE_THROUGH|THROUGH|ASYNC_THROUGH))(: (.+))?$`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 24 {
		t.Fatalf("%d lines, want one per test:\n%s", len(lines), out)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is neither a pass nor a failure", l)
		}
		verdict, name, wt, why := m[1], m[2], m[4], m[6]
		if seen[name] {
			t.Fatalf("%s reported twice", name)
		}
		seen[name] = true
		switch {
		case wt == "MUST_CACHE":
			if verdict != "Passed" || why != "" {
				t.Errorf("%s, which never touches the UFS: %q", name, l)
			}
		case verdict != "Failed" || why == "":
			t.Errorf("%s passed with no UFS to write to: %q", name, l)
		case wt == "ASYNC_THROUGH":
			if !strings.HasPrefix(why, "waiting for the upload: ") || !strings.Contains(why, "TO_BE_PERSISTED") {
				t.Errorf("%s failed, but not waiting for the upload: %s", name, why)
			}
		default:
			if !strings.HasPrefix(why, "write: ") {
				t.Errorf("%s failed, but not at the write: %s", name, why)
			}
		}
	}

	// OSS works again: the queued uploads go through, a new run passes.
	srv.SetFaults(osstest.Faults{})
	out = d.must(t, "runTests", "--directory", "/after")
	if !strings.HasSuffix(out, "Passed all 24 tests.\n") {
		t.Fatalf("runTests once OSS works:\n%s", out)
	}
}
