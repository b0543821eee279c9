package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Real S3 clients from Debian's packages against the gateway: the aws CLI
// (awscli), s3cmd, rclone, Python boto3 (python3-boto3) and the Python boto
// example of Alluxio's S3 API page (python3-boto). A client that is not
// installed is skipped, saying which package brings it.
//
// AWS_CA_BUNDLE is removed from the clients' environment: set to a bundle
// that does not exist, it breaks every AWS SDK client and rclone even over
// plain HTTP.

// clientEnv is the environment the clients run in: no AWS settings of the
// machine's, a HOME of their own.
func clientEnv(t *testing.T, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "RCLONE_") || k == "HOME" || k == "PYTHONPATH" {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "HOME="+t.TempDir()), extra...)
}

// missing stops a test whose client is not installed: a skip on a
// developer's machine, a failure in CI (CI=true), where .ci/run installs
// every client and a silent skip would hide a broken setup.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func need(t *testing.T, bin, pkg string) string {
	p, err := exec.LookPath(bin)
	if err != nil {
		missing(t, "%s not installed (apt-get install %s)", bin, pkg)
	}
	return p
}

func needPython(t *testing.T, module, pkg string) {
	if err := exec.Command("/usr/bin/python3", "-c", "import "+module).Run(); err != nil {
		missing(t, "Python module %s not installed for /usr/bin/python3 (apt-get install %s)", module, pkg)
	}
}

// run runs a client command, failing the test with its output.
func run(t *testing.T, env []string, dir string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// clientFiles writes a small tree with one file big enough for multipart.
func clientFiles(t *testing.T) (string, []byte) {
	dir := t.TempDir()
	big := make([]byte, 19<<20+7)
	rand.Read(big)
	files := map[string][]byte{"a.txt": []byte("one\n"), "sub/b c.txt": []byte("two\n"), "big.bin": big}
	for name, b := range files {
		p := filepath.Join(dir, "src", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, big
}

func endpoint(e *env, prefixed bool) string {
	if prefixed {
		return e.url + alluxioPrefix
	}
	return e.url
}

func TestClientAWSCLI(t *testing.T) {
	aws := "/usr/bin/aws" // Debian's v2; the one on PATH may be another
	if _, err := os.Stat(aws); err != nil {
		missing(t, "/usr/bin/aws not installed (apt-get install awscli)")
	}
	for _, prefixed := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "api-v1-s3"}[prefixed], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, true)
			dir, big := clientFiles(t)
			env := clientEnv(t, "AWS_ACCESS_KEY_ID="+testAK, "AWS_SECRET_ACCESS_KEY="+testSK, "AWS_DEFAULT_REGION=us-east-1")
			a := func(args ...string) string {
				return run(t, env, dir, aws, append([]string{"--endpoint-url", endpoint(e, prefixed)}, args...)...)
			}
			a("s3", "mb", "s3://awsb")
			if out := a("s3", "ls"); !strings.Contains(out, "awsb") {
				t.Fatalf("ls: %s", out)
			}
			a("s3", "sync", "--only-show-errors", "src", "s3://awsb/tree")
			out := a("s3", "ls", "--recursive", "s3://awsb")
			for _, k := range []string{"tree/a.txt", "tree/big.bin", "tree/sub/b c.txt"} {
				if !strings.Contains(out, k) {
					t.Fatalf("ls --recursive lacks %s:\n%s", k, out)
				}
			}
			if n, err := e.st.Resolve(bg, "/awsb/tree/big.bin"); err != nil || !strings.Contains(n.ETag, "-") {
				t.Fatalf("big.bin was not a multipart upload: %+v %v", n, err)
			}
			a("s3", "cp", "--only-show-errors", "s3://awsb/tree/big.bin", "back.bin")
			if got, _ := os.ReadFile(filepath.Join(dir, "back.bin")); !bytes.Equal(got, big) {
				t.Fatal("downloaded big.bin differs")
			}
			if out := a("s3", "sync", "--dryrun", "src", "s3://awsb/tree"); strings.TrimSpace(out) != "" {
				t.Fatalf("second sync would copy again:\n%s", out)
			}
			// s3api multipart by hand.
			id := strings.TrimSpace(a("s3api", "create-multipart-upload", "--bucket", "awsb", "--key", "mp", "--query", "UploadId", "--output", "text"))
			etag := strings.TrimSpace(a("s3api", "upload-part", "--bucket", "awsb", "--key", "mp", "--upload-id", id, "--part-number", "1", "--body", "src/a.txt", "--query", "ETag", "--output", "text"))
			if out := a("s3api", "list-parts", "--bucket", "awsb", "--key", "mp", "--upload-id", id); !strings.Contains(out, `"PartNumber": 1`) {
				t.Fatalf("list-parts: %s", out)
			}
			if out := a("s3api", "list-multipart-uploads", "--bucket", "awsb"); !strings.Contains(out, id) {
				t.Fatalf("list-multipart-uploads: %s", out)
			}
			a("s3api", "complete-multipart-upload", "--bucket", "awsb", "--key", "mp", "--upload-id", id,
				"--multipart-upload", `{"Parts":[{"PartNumber":1,"ETag":`+etag+`}]}`)
			if out := a("s3api", "head-object", "--bucket", "awsb", "--key", "mp"); !strings.Contains(out, `"ContentLength": 4`) {
				t.Fatalf("head-object: %s", out)
			}
			a("s3", "rm", "--only-show-errors", "--recursive", "s3://awsb")
			a("s3", "rb", "s3://awsb")
		})
	}
}

func TestClientS3cmd(t *testing.T) {
	s3cmd := need(t, "s3cmd", "s3cmd")
	for _, tc := range []struct {
		name     string
		prefixed bool
		v2       bool
	}{{"v4 api-v1-s3", true, false}, {"v2 plain", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true)
			dir, big := clientFiles(t)
			host := strings.TrimPrefix(endpoint(e, tc.prefixed), "http://")
			cfg := "[default]\naccess_key = " + testAK + "\nsecret_key = " + testSK + "\nhost_base = " + host +
				"\nhost_bucket = " + host + "\nuse_https = False\nsignature_v2 = " + map[bool]string{true: "True", false: "False"}[tc.v2] + "\n"
			os.WriteFile(filepath.Join(dir, "s3cfg"), []byte(cfg), 0o600)
			env := clientEnv(t)
			s := func(args ...string) string {
				return run(t, env, dir, s3cmd, append([]string{"-c", "s3cfg"}, args...)...)
			}
			s("mb", "s3://s3cb")
			s("put", "src/a.txt", "s3://s3cb/a+b%c.txt")
			s("put", "--multipart-chunk-size-mb=5", "src/big.bin", "s3://s3cb/big.bin")
			s("sync", "src/", "s3://s3cb/sync/")
			out := s("ls", "-r", "s3://s3cb")
			for _, k := range []string{"a+b%c.txt", "big.bin", "sync/sub/b c.txt"} {
				if !strings.Contains(out, k) {
					t.Fatalf("ls lacks %s:\n%s", k, out)
				}
			}
			s("get", "s3://s3cb/big.bin", "back.bin")
			if got, _ := os.ReadFile(filepath.Join(dir, "back.bin")); !bytes.Equal(got, big) {
				t.Fatal("downloaded big.bin differs")
			}
			if out := s("info", "s3://s3cb/a+b%c.txt"); !strings.Contains(out, "File size: 4") {
				t.Fatalf("info: %s", out)
			}
			s("del", "-r", "--force", "s3://s3cb/")
			s("rb", "s3://s3cb")
		})
	}
}

func TestClientRclone(t *testing.T) {
	rclone := need(t, "rclone", "rclone")
	e := newEnv(t, true)
	dir, _ := clientFiles(t)
	os.WriteFile(filepath.Join(dir, "rclone.conf"), nil, 0o600)
	env := clientEnv(t, "RCLONE_CONFIG="+filepath.Join(dir, "rclone.conf"), "RCLONE_CONFIG_H_TYPE=s3", "RCLONE_CONFIG_H_PROVIDER=Other", "RCLONE_CONFIG_H_ENDPOINT="+e.url,
		"RCLONE_CONFIG_H_ACCESS_KEY_ID="+testAK, "RCLONE_CONFIG_H_SECRET_ACCESS_KEY="+testSK, "RCLONE_CONFIG_H_REGION=us-east-1")
	r := func(args ...string) string { return run(t, env, dir, rclone, args...) }
	r("mkdir", "h:rcb")
	r("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "src", "h:rcb/src")
	r("check", "src", "h:rcb/src")
	if out := r("cat", "h:rcb/src/a.txt"); out != "one\n" {
		t.Fatalf("cat: %q", out)
	}
	r("moveto", "h:rcb/src/a.txt", "h:rcb/moved.txt")
	if out := r("lsf", "-R", "--files-only", "h:rcb"); !strings.Contains(out, "moved.txt") || strings.Contains(out, "src/a.txt") {
		t.Fatalf("lsf after moveto:\n%s", out)
	}
	r("purge", "h:rcb")
	if out := r("lsd", "h:"); strings.Contains(out, "rcb") {
		t.Fatalf("bucket left after purge:\n%s", out)
	}
}

func TestClientBoto3(t *testing.T) {
	needPython(t, "boto3", "python3-boto3")
	for _, prefixed := range []bool{false, true} {
		e := newEnv(t, true)
		run(t, clientEnv(t), "testdata/clients", "/usr/bin/python3", "boto3_client.py", endpoint(e, prefixed), testAK, testSK)
	}
}

// The Python boto example of Alluxio's S3 API page, against a gateway
// without keys, at the page's address: localhost, its port replaced by the
// test server's.
func TestClientAlluxioBotoExample(t *testing.T) {
	needPython(t, "boto", "python3-boto")
	e := newEnv(t, false)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(e.url, "http://"))
	src, err := os.ReadFile("testdata/clients/alluxio_boto_example.py")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := strings.ReplaceAll(string(src), "port = 39999", "port = "+port)
	os.WriteFile(filepath.Join(dir, "example.py"), []byte(script), 0o644)
	chunk, _ := os.ReadFile("testdata/clients/filechunkio.py")
	os.WriteFile(filepath.Join(dir, "filechunkio.py"), chunk, 0o644)
	os.WriteFile(filepath.Join(dir, "8mb.data"), make([]byte, 8<<20), 0o644)
	out := run(t, clientEnv(t), dir, "/usr/bin/python3", "example.py")
	if !strings.Contains(out, "boto example OK") {
		t.Fatalf("example: %s", out)
	}
	// It left nothing behind.
	resp, err := http.Get(e.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n, err := e.st.Resolve(bg, "/bucket-for-testing"); err == nil {
		t.Fatalf("bucket left: %+v", n)
	}
}
