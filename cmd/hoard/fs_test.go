package main

import (
	"bytes"
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
	"github.com/hoardfs/hoard/ufs/local"
)

func TestLsLine(t *testing.T) {
	mtime := time.Date(2019, 6, 18, 14, 26, 5, 694e6, time.Local).UnixNano()
	for _, c := range []struct {
		e     gateway.AdminEntry
		human bool
		want  string
	}{
		{gateway.AdminEntry{Path: "/testbucket/key1", Type: "file", ModeString: "-rw-r--r--", Owner: "alluxio", Group: "staff",
			Size: 27040, State: "PERSISTED", MtimeNs: mtime, CachedPercent: 100}, false,
			"-rw-r--r-- alluxio staff 27040 PERSISTED 06-18-2019 14:26:05:694 100% /testbucket/key1"},
		{gateway.AdminEntry{Path: "/testbucket0", Type: "dir", ModeString: "drwxr-xr-x", Owner: "testuser", Group: "staff",
			State: "PERSISTED", MtimeNs: mtime}, false,
			"drwxr-xr-x testuser staff 0 PERSISTED 06-18-2019 14:26:05:694 DIR /testbucket0"},
		{gateway.AdminEntry{Path: "/l", Type: "symlink", ModeString: "lrwxrwxrwx", Owner: "u", Group: "g", Size: 3,
			State: "NOT_PERSISTED", MtimeNs: mtime, Target: "a/b", CachedPercent: 100}, false,
			"lrwxrwxrwx u g 3 NOT_PERSISTED 06-18-2019 14:26:05:694 100% /l -> a/b"},
		{gateway.AdminEntry{Path: "/big", Type: "file", ModeString: "-rw-------", Owner: "u", Group: "g", Size: 27040,
			State: "TO_BE_PERSISTED", MtimeNs: mtime, CachedPercent: 42}, true,
			"-rw------- u g 26.41KB TO_BE_PERSISTED 06-18-2019 14:26:05:694 42% /big"},
	} {
		if got := lsLine(&c.e, c.human); got != c.want {
			t.Errorf("lsLine:\n got %s\nwant %s", got, c.want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1.00KB", 27040: "26.41KB",
		3 << 20: "3.00MB", 10 << 30: "10.00GB", 5 << 40: "5.00TB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestProgressText(t *testing.T) {
	got := progressText(50<<20, 100<<20, 10*time.Second)
	for _, want := range []string{"[===============>              ]", " 50%", "50.00MB/100.00MB", "5.00MB/s", "ETA 10s"} {
		if !strings.Contains(got, want) {
			t.Errorf("progressText = %q, missing %q", got, want)
		}
	}
	if got := progressText(0, 0, 0); !strings.Contains(got, "100%") {
		t.Errorf("nothing to do: %q", got)
	}
	// Not a terminal: no bar at all.
	var buf bytes.Buffer
	b := newProgressBar(&buf)
	b.update(1, 2)
	b.finish()
	if buf.Len() != 0 {
		t.Errorf("a progress bar on a pipe: %q", buf.String())
	}
}

// testDaemon is the web server of a daemon, in process, over a store with a
// local root UFS; conf is a configuration file that points at it.
type testDaemon struct {
	dir  string
	conf string
	st   *store.Store
}

func newTestDaemon(t *testing.T, token string) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	u, err := local.New(filepath.Join(dir, "ufs"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{
		MetaDir: filepath.Join(dir, "meta"), CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota: 1 << 30, BlockSize: 64 << 10,
		RootUFS: u, RootURI: "file://" + filepath.Join(dir, "ufs"),
		OpenUFS: func(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error) {
			return backends.Open(ctx, uri, opts)
		},
		SyncInterval: -1, RetryBase: 10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: gateway.NewWeb(st, gateway.WebOptions{Token: token})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	conf := filepath.Join(dir, "hoard-site.properties")
	props := "hoard.home=" + filepath.Join(dir, "home") + "\nhoard.web.address=" + ln.Addr().String() + "\n"
	if token != "" {
		props += "hoard.web.token=" + token + "\n"
	}
	if err := os.WriteFile(conf, []byte(props), 0o644); err != nil {
		t.Fatal(err)
	}
	return &testDaemon{dir: dir, conf: conf, st: st}
}

// hoard runs the CLI in process with the daemon's configuration.
func (d *testDaemon) hoard(args ...string) (stdout, stderr string, code int) {
	args = append([]string{args[0], "--conf", d.conf}, args[1:]...)
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func (d *testDaemon) must(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := d.hoard(args...)
	if code != 0 {
		t.Fatalf("hoard %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

func (d *testDaemon) fails(t *testing.T, wantCode int, wantMsg string, args ...string) {
	t.Helper()
	out, errs, code := d.hoard(args...)
	if code != wantCode || !strings.Contains(errs, wantMsg) {
		t.Fatalf("hoard %v: exit %d, want %d with %q\nstdout: %s\nstderr: %s", args, code, wantCode, wantMsg, out, errs)
	}
}

var lsRE = regexp.MustCompile(`^([-dl][-rwxsStT]{9}) (\S+) (\S+) (\d+) (NOT_PERSISTED|TO_BE_PERSISTED|PERSISTED) ` +
	`(\d\d-\d\d-\d{4} \d\d:\d\d:\d\d:\d{3}) (\d+%|DIR) (/\S*)$`)

func TestRunTestsInProcess(t *testing.T) {
	d := newTestDaemon(t, "")
	out := d.must(t, "runTests")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 25 || lines[24] != "Passed all 24 tests." {
		t.Fatalf("runTests:\n%s", out)
	}
	for _, l := range lines[:24] {
		if !strings.HasPrefix(l, "Passed the test! Basic") {
			t.Fatalf("runTests line %q", l)
		}
	}
	if !strings.Contains(out, "Passed the test! BasicFile_CACHE_PROMOTE_MUST_CACHE\n") ||
		!strings.Contains(out, "Passed the test! BasicNonByteBuffer_NO_CACHE_ASYNC_THROUGH\n") {
		t.Fatalf("runTests names:\n%s", out)
	}
	ls := d.must(t, "fs", "ls", "-R", "/")
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(ls), "\n") {
		m := lsRE.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("ls line %q is not in Alluxio's format", l)
		}
		if strings.Contains(m[8], "MUST_CACHE") != (m[5] == "NOT_PERSISTED") {
			t.Fatalf("ls line %q: wrong state", l)
		}
		n++
	}
	if n != 25 {
		t.Fatalf("ls -R / shows %d entries:\n%s", n, ls)
	}
	// The persisted ones are objects in the UFS.
	for _, name := range []string{"BasicFile_CACHE_THROUGH", "BasicNonByteBuffer_CACHE_PROMOTE_ASYNC_THROUGH"} {
		if _, err := os.Stat(filepath.Join(d.dir, "ufs", "default_tests_files", name)); err != nil {
			t.Fatalf("%s not in the UFS: %v", name, err)
		}
	}
	d.must(t, "runTests", "--directory", "/again")
	d.fails(t, 2, "not an absolute path", "runTests", "--directory", "again")
	d.fails(t, 2, "flag provided but not defined", "runTests", "--bogus")
}

func TestFsCommands(t *testing.T) {
	d := newTestDaemon(t, "s3cret-token")
	if out := d.must(t, "fs", "mkdir", "-p", "/a/b"); out != "Successfully created directory /a/b\n" {
		t.Fatalf("mkdir: %q", out)
	}
	if _, err := d.st.PutObject(store.WithWriteType(context.Background(), store.MustCache), "/a/b/f", strings.NewReader("hello"), store.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	if out := d.must(t, "fs", "cat", "/a/b/f"); out != "hello" {
		t.Fatalf("cat: %q", out)
	}
	if out := d.must(t, "fs", "checksum", "/a/b/f"); out != "md5sum: 5d41402abc4b2a76b9719d911017c592\n" {
		t.Fatalf("checksum: %q", out)
	}
	// Flags after the path, as people type them.
	if out := d.must(t, "fs", "ls", "/a", "-R"); len(strings.Split(strings.TrimSpace(out), "\n")) != 2 {
		t.Fatalf("ls /a -R:\n%s", out)
	}
	if out := d.must(t, "fs", "mv", "/a/b/f", "/a/g"); out != "Renamed /a/b/f to /a/g\n" {
		t.Fatalf("mv: %q", out)
	}
	if out := d.must(t, "fs", "stat", "/a/g"); !strings.HasPrefix(out, "/a/g is a file path.\n") || !strings.Contains(out, "size:              5") {
		t.Fatalf("stat:\n%s", out)
	}
	if out := d.must(t, "fs", "du", "-s", "/a"); !strings.Contains(out, "5             5 (100%)         /a") {
		t.Fatalf("du -s:\n%s", out)
	}
	if out := d.must(t, "fs", "persist", "/a"); out != "persisted /a (5 bytes uploaded)\n" {
		t.Fatalf("persist: %q", out)
	}
	if out := d.must(t, "fs", "free", "/a"); out != "/a was successfully freed from the cache\n" {
		t.Fatalf("free: %q", out)
	}
	if out := d.must(t, "fs", "load", "/a"); out != "/a loaded\n" {
		t.Fatalf("load: %q", out)
	}
	if out := d.must(t, "fs", "pin", "/a/g"); out != "File '/a/g' was successfully pinned.\n" {
		t.Fatalf("pin: %q", out)
	}
	if out := d.must(t, "fs", "ls", "-p", "/a"); !strings.HasSuffix(out, " 100% /a/g\n") || strings.Count(out, "\n") != 1 {
		t.Fatalf("ls -p:\n%s", out)
	}
	d.must(t, "fs", "unpin", "/a/g")
	if out := d.must(t, "fs", "report"); !strings.Contains(out, "Persist queue depth:    0") || !strings.Contains(out, "Cache capacity:         1.00GB") {
		t.Fatalf("report:\n%s", out)
	}
	if out := d.must(t, "fs", "sync", "/a"); !strings.HasPrefix(out, "Synced /a with the UFS") {
		t.Fatalf("sync: %q", out)
	}

	// Mounts: the table, with secrets masked.
	other := filepath.Join(d.dir, "other")
	out := d.must(t, "fs", "mount", "--option", "fs.oss.accessKeySecret=topsecret", "--writetype", "THROUGH", "/o", "file://"+other)
	if out != "Mounted file://"+other+" at /o\n" {
		t.Fatalf("mount: %q", out)
	}
	out = d.must(t, "fs", "mount")
	if !strings.Contains(out, "file://"+other+"  on  /o  (file, not read-only, write type THROUGH") ||
		!strings.Contains(out, "fs.oss.accessKeySecret=******") || strings.Contains(out, "topsecret") {
		t.Fatalf("mount table:\n%s", out)
	}
	if out := d.must(t, "fs", "unmount", "/o"); out != "Unmounted /o\n" {
		t.Fatalf("unmount: %q", out)
	}

	// Bad input: a clear message, a non-zero exit, nothing changed.
	d.fails(t, 1, "no such file or directory", "fs", "ls", "/nope")
	d.fails(t, 1, "no such file or directory", "fs", "stat", "/nope")
	d.fails(t, 1, "no such file or directory", "fs", "rm", "/a/g", "/nope")
	d.must(t, "fs", "stat", "/a/g") // the first path was not removed
	d.fails(t, 1, "is a directory: remove it with rm -R", "fs", "rm", "/a")
	d.fails(t, 2, "flag provided but not defined: -x", "fs", "ls", "-x", "/")
	d.fails(t, 2, "not an absolute path", "fs", "ls", "a")
	d.fails(t, 2, "missing PATH", "fs", "ls")
	d.fails(t, 2, "unknown fs command \"lss\"", "fs", "lss", "/")
	d.fails(t, 2, "missing subcommand", "fs")
	d.fails(t, 2, "want key=value", "fs", "mount", "--option", "novalue", "/o", "file:///tmp")
	d.fails(t, 2, "missing UFS_URI", "fs", "mount", "/o")
	d.fails(t, 1, "unknown option \"bogus\"", "fs", "mount", "--option", "bogus=1", "/o", "file://"+other)
	d.fails(t, 1, "unknown UFS scheme", "fs", "mount", "/o", "ftp://x/y")
	d.fails(t, 1, "not empty", "fs", "mount", "/a", "file://"+other)
	d.fails(t, 1, "not a mount point", "fs", "unmount", "/a")
	d.fails(t, 2, "want SRC DST", "fs", "mv", "/a")
	d.fails(t, 1, "file exists", "fs", "mkdir", "/a")
	d.fails(t, 1, "no such file or directory", "fs", "mkdir", "/x/y")
	d.fails(t, 1, "no such file or directory", "fs", "load", "/nope")
	d.fails(t, 1, "no such file or directory", "fs", "persist", "/nope")
	if out := d.must(t, "fs", "ls", "-R", "/"); strings.Count(out, "\n") != 3 {
		t.Fatalf("after the refusals:\n%s", out)
	}

	if out := d.must(t, "fs", "rm", "-R", "/a"); out != "/a has been removed\n" {
		t.Fatalf("rm -R: %q", out)
	}
}

func TestFsNeedsTokenAndDaemon(t *testing.T) {
	d := newTestDaemon(t, "right")
	conf := strings.Replace(mustRead(t, d.conf), "hoard.web.token=right", "hoard.web.token=wrong", 1)
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.fails(t, 1, "bearer token", "fs", "ls", "/")

	dir := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cf := filepath.Join(dir, "c.properties")
	os.WriteFile(cf, []byte("hoard.home="+dir+"\nhoard.web.address="+addr+"\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"fs", "--conf", cf, "ls", "/"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "cannot reach the Hoard daemon at "+addr) {
		t.Fatalf("no daemon: %d %s", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"runTests", "--conf", cf}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "is it running?") {
		t.Fatalf("runTests with no daemon: %d %s", code, errb.String())
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
