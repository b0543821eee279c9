package integration

// The whole flow of ../shared/reference/alluxio-oss-under-storage.txt,
// against the OSS test server: format, start, runTests, the objects under
// bucket/dir/default_tests_files/, a nested mount at /oss with --option
// credentials of a second account, files written through every door under
// it landing in the second bucket, `fs ls` in Alluxio's format, a restart
// with the mount intact, unmount. Then bad input: each refusal clear, and
// nothing changed.

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

// fastExit: the -race build sleeps a second at exit (GORACE
// atexit_sleep_ms) — per command, which adds up to minutes here. Races are
// still reported, and still fail the command.
func fastExit(t *testing.T) { t.Setenv("GORACE", "atexit_sleep_ms=0") }

var (
	readTypes  = []string{"CACHE_PROMOTE", "CACHE", "NO_CACHE"}
	writeTypes = []string{"MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"}
)

// mountArgs is `hoard fs mount` of bucket2/<dir> at path with the second
// account's credentials as --option, as the Alluxio page shows it.
func mountArgs(srv *osstest.Server, path, uri string, extra ...string) []string {
	args := []string{"fs", "mount",
		"--option", "fs.oss.accessKeyId=" + ossID2,
		"--option", "fs.oss.accessKeySecret=" + ossSecret2,
		"--option", "fs.oss.endpoint=" + srv.URL()}
	return append(append(args, extra...), path, uri)
}

func TestAlluxioOSSFlow(t *testing.T) {
	fastExit(t)
	srv := newOSS(t)
	if err := srv.PutObject("bucket", "dir/preexisting/hello.txt", []byte("hello from OSS")); err != nil {
		t.Fatal(err)
	}
	h := newHoard(t, ossProps(srv)...) // with the FUSE mount, at h.dir/mnt
	var outputs []string
	run := func(args ...string) string {
		t.Helper()
		out := h.must(args...)
		outputs = append(outputs, out)
		return out
	}

	// $ ./bin/alluxio format; ./bin/alluxio-start.sh local
	if out := run("format"); !strings.Contains(out, "Formatted") {
		t.Fatalf("format: %s", out)
	}
	h.start()

	// $ ./bin/alluxio runTests
	start := time.Now()
	out := run("runTests")
	t.Logf("runTests took %v", time.Since(start).Round(time.Millisecond))
	if strings.Count(out, "Passed the test! ") != 24 || !strings.Contains(out, "Passed all 24 tests.") {
		t.Fatalf("runTests:\n%s", out)
	}

	// "Visit your OSS directory oss://<OSS_BUCKET>/<OSS_DIRECTORY> to verify
	// the files and directories created by Alluxio exist."
	for _, rt := range readTypes {
		for _, wt := range writeTypes {
			for _, test := range []string{"BasicFile", "BasicNonByteBuffer"} {
				name := fmt.Sprintf("%s_%s_%s", test, rt, wt)
				got, _, ok := srv.Object("bucket", "dir/default_tests_files/"+name)
				if wt == "MUST_CACHE" {
					if ok {
						t.Errorf("%s (MUST_CACHE) is in OSS", name)
					}
					continue
				}
				code, want := h.admin("GET", "cat", url.Values{"path": {"/default_tests_files/" + name}}, nil)
				if !ok || code != 200 || !bytes.Equal(got, want) {
					t.Errorf("%s in OSS: ok=%v, %d bytes; in Hoard: %d, %d bytes", name, ok, len(got), code, len(want))
				}
			}
		}
	}
	eventually(t, 10*time.Second, "the directory marker in OSS", func() error {
		if _, _, ok := srv.Object("bucket", "dir/default_tests_files/"); !ok {
			return fmt.Errorf("no dir/default_tests_files/ marker; keys %v", srv.Keys("bucket"))
		}
		return nil
	})
	ents := lsEntries(t, run("fs", "ls", "/default_tests_files"))
	if len(ents) != 24 {
		t.Fatalf("fs ls /default_tests_files: %d entries", len(ents))
	}
	for p, e := range ents {
		if want := map[bool]string{true: "NOT_PERSISTED", false: "PERSISTED"}[strings.HasSuffix(p, "MUST_CACHE")]; e[1] != want {
			t.Errorf("%s: %s, want %s", p, e[1], want)
		}
	}
	// An object put in OSS behind Hoard's back is a file.
	if e := lsEntries(t, run("fs", "ls", "/preexisting"))["/preexisting/hello.txt"]; e != [3]string{"14", "PERSISTED", "0%"} {
		t.Fatalf("the object already in OSS: %v", e)
	}

	// $ ./bin/alluxio fs mount --option fs.oss.accessKeyId=... /oss oss://<OSS_BUCKET>/<OSS_DIRECTORY>/
	if out := run(mountArgs(srv, "/oss", "oss://bucket2/dir")...); out != "Mounted oss://bucket2/dir at /oss\n" {
		t.Fatalf("mount: %q", out)
	}
	table := run("fs", "mount")
	if !strings.Contains(table, "oss://bucket2/dir  on  /oss  (oss, not read-only") ||
		!strings.Contains(table, "fs.oss.accessKeySecret=******") || !strings.Contains(table, "fs.oss.accessKeyId="+ossID2) {
		t.Fatalf("mount table:\n%s", table)
	}

	// Files under /oss through every door land in bucket2.
	viaAdmin := []byte("written through the admin API")
	viaS3 := bytes.Repeat([]byte("written through S3 "), 1000)
	viaFUSE := bytes.Repeat([]byte("written through the mount "), 2000)
	if e, err := h.write("/oss/admin.txt", "CACHE_THROUGH", viaAdmin); err != nil || e.State != "PERSISTED" {
		t.Fatalf("admin write: %+v %v", e, err)
	}
	if code, b := h.s3do("PUT", "/oss/s3/obj.txt", viaS3); code != 200 {
		t.Fatalf("S3 PUT: %d %s", code, b)
	}
	if err := os.WriteFile(filepath.Join(h.dir, "mnt", "oss", "fuse.txt"), viaFUSE, 0o644); err != nil {
		t.Fatalf("write through the mount: %v", err)
	}
	files := map[string][]byte{"/oss/admin.txt": viaAdmin, "/oss/s3/obj.txt": viaS3, "/oss/fuse.txt": viaFUSE}
	for p, data := range files {
		e := h.waitPersisted(p, 30*time.Second)
		key := "dir/" + strings.TrimPrefix(p, "/oss/")
		got, _, ok := srv.Object("bucket2", key)
		if !ok || !bytes.Equal(got, data) || e.UFS == nil || e.UFS.URI != "oss://bucket2/"+key {
			t.Fatalf("%s in bucket2: ok=%v, %d bytes, want %d; %+v", p, ok, len(got), len(data), e.UFS)
		}
		if _, _, ok := srv.Object("bucket", "dir"+p); ok {
			t.Fatalf("%s landed in the root bucket too", p)
		}
	}
	// And each door reads what the others wrote.
	if code, b := h.s3do("GET", "/oss/fuse.txt", nil); code != 200 || !bytes.Equal(b, viaFUSE) {
		t.Fatalf("S3 GET of the mount's file: %d, %d bytes", code, len(b))
	}
	if b, err := os.ReadFile(filepath.Join(h.dir, "mnt", "oss", "s3", "obj.txt")); err != nil || !bytes.Equal(b, viaS3) {
		t.Fatalf("the mount reads the S3 object: %v, %d bytes", err, len(b))
	}
	ents = lsEntries(t, run("fs", "ls", "-R", "/oss"))
	for _, p := range []string{"/oss/admin.txt", "/oss/fuse.txt", "/oss/s3/obj.txt"} {
		if e := ents[p]; e[0] != fmt.Sprint(len(files[p])) || e[1] != "PERSISTED" {
			t.Fatalf("fs ls -R /oss: %s is %v", p, e)
		}
	}
	if e := ents["/oss/s3"]; e[2] != "DIR" {
		t.Fatalf("fs ls -R /oss: /oss/s3 is %v", e)
	}

	// Restart: the mount comes back with its own credentials.
	h.stop(syscall.SIGTERM)
	h.start()
	if table2 := run("fs", "mount"); table2 != table {
		t.Fatalf("mount table after the restart:\n%s\nbefore:\n%s", table2, table)
	}
	run("fs", "free", "/oss")
	if out := run("fs", "cat", "/oss/s3/obj.txt"); out != string(viaS3) {
		t.Fatalf("cat from bucket2 after the restart: %d bytes", len(out))
	}

	// Unmount: the namespace goes, the objects stay.
	if out := run("fs", "unmount", "/oss"); out != "Unmounted /oss\n" {
		t.Fatalf("unmount: %q", out)
	}
	if table := run("fs", "mount"); strings.Contains(table, "/oss") {
		t.Fatalf("mount table after unmount:\n%s", table)
	}
	h.refused("no such file or directory", "fs", "ls", "/oss")
	for p := range files {
		if _, _, ok := srv.Object("bucket2", "dir/"+strings.TrimPrefix(p, "/oss/")); !ok {
			t.Fatalf("unmount deleted %s from bucket2", p)
		}
	}
	h.stop(syscall.SIGTERM)
	noSecrets(t, append(outputs, h.output())...)
}

// TestFsBadInput: commands on missing paths, mounts over a non-empty
// directory or inside another mount, unknown options, bad UFS URIs and
// refused credentials each fail with a clear message and a non-zero exit,
// and change nothing: the namespace, the mount table and both buckets are
// as they were.
func TestFsBadInput(t *testing.T) {
	fastExit(t)
	srv := newOSS(t)
	h := newHoard(t, ossProps(srv, noFUSE)...)
	h.start()
	h.must("fs", "mkdir", "/full")
	for _, p := range []string{"/full/f", "/full/g"} {
		if _, err := h.write(p, "CACHE_THROUGH", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	h.must(mountArgs(srv, "/oss", "oss://bucket2/dir")...)
	if err := srv.PutObject("bucket2", "dir/x", []byte("x")); err != nil {
		t.Fatal(err)
	}
	h.must("fs", "ls", "-R", "/") // everything listed once
	if err := h.cmdWait(); err != nil {
		t.Fatal(err)
	}
	before := h.must("fs", "ls", "-R", "/")
	table := h.must("fs", "mount")
	keys := [2][]string{srv.Keys("bucket"), srv.Keys("bucket2")}

	const wrongSecret = "wrong-mount-secret-never-shown"
	cases := []struct {
		want string
		args []string
	}{
		{"no such file or directory", []string{"fs", "ls", "/missing"}},
		{"no such file or directory", []string{"fs", "stat", "/missing"}},
		{"no such file or directory", []string{"fs", "cat", "/missing"}},
		{"no such file or directory", []string{"fs", "rm", "/missing"}},
		{"no such file or directory", []string{"fs", "rm", "-R", "/full/f", "/missing"}},
		{"no such file or directory", []string{"fs", "mv", "/missing", "/x"}},
		{"no such file or directory", []string{"fs", "mkdir", "/missing/x"}},
		{"no such file or directory", []string{"fs", "load", "/missing"}},
		{"no such file or directory", []string{"fs", "persist", "/missing"}},
		{"no such file or directory", []string{"fs", "free", "/missing"}},
		{"no such file or directory", []string{"fs", "pin", "/missing"}},
		{"no such file or directory", []string{"fs", "unpin", "/missing"}},
		{"no such file or directory", []string{"fs", "checksum", "/missing"}},
		{"no such file or directory", []string{"fs", "du", "/missing"}},
		{"no such file or directory", []string{"fs", "sync", "/missing/x"}},
		{"no such file or directory", []string{"fs", "unmount", "/missing"}},
		{"is a directory: remove it with rm -R", []string{"fs", "rm", "/full"}},
		{"unmount it first", []string{"fs", "rm", "-R", "/oss"}},
		{"file exists", []string{"fs", "mv", "/full/f", "/full/g"}},
		{"file exists", []string{"fs", "mkdir", "/full"}},
		{"not a mount point", []string{"fs", "unmount", "/full"}},
		{"not an absolute path", []string{"fs", "ls", "full"}},
		{"flag provided but not defined: -bogus", []string{"fs", "ls", "--bogus", "/"}},
		{"flag provided but not defined: -x", []string{"fs", "rm", "-x", "/full/f"}},
		{"unknown fs command", []string{"fs", "lss", "/"}},
		{"missing UFS_URI", []string{"fs", "mount", "/new"}},
		{"want key=value", []string{"fs", "mount", "--option", "novalue", "/new", "oss://bucket2/new"}},
		{"not empty", mountArgs(srv, "/full", "oss://bucket2/other")},
		{"mounts do not nest", mountArgs(srv, "/oss/inner", "oss://bucket2/inner")},
		{"/oss is not empty", mountArgs(srv, "/oss", "oss://bucket2/again")}, // a mount point, with x in it
		{`unknown option "bogus"`, mountArgs(srv, "/new", "oss://bucket2/new", "--option", "bogus=1")},
		{"unknown option fs.oss.bogus", mountArgs(srv, "/new", "oss://bucket2/new", "--option", "fs.oss.bogus=1")},
		{"unknown write type", mountArgs(srv, "/new", "oss://bucket2/new", "--writetype", "FAST")},
		{`unknown UFS scheme "ftp"`, mountArgs(srv, "/new", "ftp://host/dir")},
		{"not a valid bucket name", mountArgs(srv, "/new", "oss://Bad_Bucket/dir")},
		{"want an absolute path or a URI", mountArgs(srv, "/new", "relative/dir")},
		{`bucket "no-such-bucket" does not exist`, mountArgs(srv, "/new", "oss://no-such-bucket/dir")},
		{"fs.oss.accessKeySecret does not match", []string{"fs", "mount", "--option", "fs.oss.accessKeyId=" + ossID2,
			"--option", "fs.oss.accessKeySecret=" + wrongSecret, "--option", "fs.oss.endpoint=" + srv.URL(), "/new", "oss://bucket2/new"}},
	}
	// Refused commands change nothing, so they may run side by side.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	outs := make([]string, len(cases))
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			out, err := h.command(c.args...)
			ee, ok := err.(interface{ ExitCode() int })
			if err == nil || !ok || ee.ExitCode() < 1 || ee.ExitCode() > 2 || !strings.Contains(out, c.want) {
				t.Errorf("hoard %s: %v; want a failure saying %q\n%s", strings.Join(c.args, " "), err, c.want, out)
			}
			outs[i] = out
		}()
	}
	wg.Wait()
	for _, out := range outs {
		if strings.Contains(out, wrongSecret) {
			t.Errorf("a refused mount shows its secret:\n%s", out)
		}
	}
	noSecrets(t, outs...)

	if after := h.must("fs", "ls", "-R", "/"); after != before {
		t.Errorf("the namespace changed:\n%s\nbefore:\n%s", after, before)
	}
	if after := h.must("fs", "mount"); after != table {
		t.Errorf("the mount table changed:\n%s\nbefore:\n%s", after, table)
	}
	if err := h.cmdWait(); err != nil {
		t.Fatal(err)
	}
	if got := [2][]string{srv.Keys("bucket"), srv.Keys("bucket2")}; !slices.Equal(got[0], keys[0]) || !slices.Equal(got[1], keys[1]) {
		t.Errorf("the buckets changed: %v, before %v", got, keys)
	}
	h.stop(syscall.SIGTERM)
	noSecrets(t, h.output())
}

// cmdWait waits for the persist queue to drain, through fs report.
func (h *hoard) cmdWait() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(h.must("fs", "report"), "Persist queue depth:    0\n") {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the persist queue did not drain in 30s:\n%s", h.must("fs", "report"))
}
