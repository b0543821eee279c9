package integration

// Nested mounts as the S3 gateway shows them, and a nested mount of an
// s3:// UFS (an in-process gofakes3 server).

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Buckets lists the buckets through the gateway (ListBuckets).
func (h *hoard) s3Buckets() []string {
	h.t.Helper()
	code, b := h.s3do("GET", "/", nil)
	var res struct {
		Names []string `xml:"Buckets>Bucket>Name"`
	}
	if code != 200 || xml.Unmarshal(b, &res) != nil {
		h.t.Fatalf("ListBuckets: %d %s", code, b)
	}
	return res.Names
}

// s3ErrCode is the Code of an S3 error answer.
func s3ErrCode(b []byte) string {
	var e struct{ Code string }
	xml.Unmarshal(b, &e)
	return e.Code
}

// TestS3ViewOfMounts: a nested mount at the top level is a bucket to S3
// clients (one deeper is not); an S3 PUT, DELETE or multipart upload into
// a --readonly mount is refused with AccessDenied and writes nothing; a
// DeleteBucket of a mount point is refused, empty or not, and the mount
// stays.
func TestS3ViewOfMounts(t *testing.T) {
	fastExit(t)
	h := newHoard(t, noFUSE)
	h.start()
	rwDir, roDir, deepDir := t.TempDir(), t.TempDir(), t.TempDir()
	seed := []byte("in the read-only UFS before the mount")
	if err := os.WriteFile(filepath.Join(roDir, "seed.txt"), seed, 0o644); err != nil {
		t.Fatal(err)
	}
	h.must("fs", "mount", "/rwmount", "file://"+rwDir)
	h.must("fs", "mount", "--readonly", "/romount", "file://"+roDir)
	h.must("fs", "mkdir", "/plain")
	h.must("fs", "mount", "/plain/deep", "file://"+deepDir)
	table := h.must("fs", "mount")

	buckets := h.s3Buckets()
	for _, b := range []string{"rwmount", "romount", "plain"} {
		if !slices.Contains(buckets, b) {
			t.Fatalf("ListBuckets: %v, want %s among them", buckets, b)
		}
	}
	if slices.Contains(buckets, "deep") {
		t.Fatalf("ListBuckets shows a mount below the top level: %v", buckets)
	}
	if code, b := h.s3do("HEAD", "/romount", nil); code != 200 {
		t.Fatalf("HeadBucket of a mount: %d %s", code, b)
	}
	if code, b := h.s3do("GET", "/romount/seed.txt", nil); code != 200 || !bytes.Equal(b, seed) {
		t.Fatalf("S3 GET from the read-only mount: %d %q", code, b)
	}

	// Writes into the read-only mount.
	if code, b := h.s3do("PUT", "/romount/new.txt", []byte("must not land")); code != 403 || s3ErrCode(b) != "AccessDenied" {
		t.Fatalf("S3 PUT into a read-only mount: %d %s, want 403 AccessDenied", code, b)
	}
	if code, b := h.s3do("PUT", "/romount/sub/", nil); code != 403 || s3ErrCode(b) != "AccessDenied" {
		t.Fatalf("S3 PUT of a directory marker into a read-only mount: %d %s, want 403 AccessDenied", code, b)
	}
	if code, b := h.s3do("DELETE", "/romount/seed.txt", nil); code != 403 || s3ErrCode(b) != "AccessDenied" {
		t.Fatalf("S3 DELETE in a read-only mount: %d %s, want 403 AccessDenied", code, b)
	}
	big := patterned("multipart into a read-only mount", 6<<20)
	_, err := h.s3Client(t).PutObject(context.Background(), "romount", "mp.bin", bytes.NewReader(big), int64(len(big)),
		minio.PutObjectOptions{PartSize: 5 << 20})
	if minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("multipart upload into a read-only mount: %v, want AccessDenied", err)
	}
	for _, p := range []string{"/romount/new.txt", "/romount/sub", "/romount/mp.bin"} {
		if code, _ := h.admin("GET", "stat", url.Values{"path": {p}}, nil); code != 404 {
			t.Fatalf("%s exists after a refused write: %d", p, code)
		}
	}
	// Nothing at all: not even the local UFS's staging dir.
	var names []string
	if ents, err := os.ReadDir(roDir); err == nil {
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	if !slices.Equal(names, []string{"seed.txt"}) {
		t.Fatalf("the read-only UFS dir holds %v", names)
	}
	if got, err := os.ReadFile(filepath.Join(roDir, "seed.txt")); err != nil || !bytes.Equal(got, seed) {
		t.Fatalf("seed.txt in the read-only UFS: %v %q", err, got)
	}
	if code, b := h.s3do("GET", "/romount?uploads", nil); code != 200 || bytes.Contains(b, []byte("<Upload>")) {
		t.Fatalf("multipart uploads left in the read-only mount: %d %s", code, b)
	}

	// DeleteBucket of a mount point: refused, empty or not.
	data := []byte("through S3 into the read-write mount")
	if code, b := h.s3do("PUT", "/rwmount/x.txt", data); code != 200 {
		t.Fatalf("S3 PUT into the read-write mount: %d %s", code, b)
	}
	h.waitPersisted("/rwmount/x.txt", 30*time.Second)
	if got, err := os.ReadFile(filepath.Join(rwDir, "x.txt")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("x.txt in the read-write mount's UFS: %v %q", err, got)
	}
	// (What the refusal says: TestDeleteBucketOfMountPointSaysWhy in
	// regressions_test.go.)
	deleteBucketRefused := func(bucket, when string) {
		t.Helper()
		code, b := h.s3do("DELETE", "/"+bucket, nil)
		if code/100 == 2 || code >= 500 || s3ErrCode(b) == "" {
			t.Fatalf("DeleteBucket of the mount point /%s %s: %d %s, want an S3 refusal (4xx)", bucket, when, code, b)
		}
		t.Logf("DeleteBucket /%s %s: %d %s", bucket, when, code, s3ErrCode(b))
	}
	deleteBucketRefused("rwmount", "holding a file")
	if code, b := h.s3do("DELETE", "/rwmount/x.txt", nil); code != 204 {
		t.Fatalf("S3 DELETE in the read-write mount: %d %s", code, b)
	}
	deleteBucketRefused("rwmount", "empty")
	deleteBucketRefused("romount", "(read-only)")
	if after := h.must("fs", "mount"); after != table {
		t.Fatalf("the mount table changed:\n%s\nbefore:\n%s", after, table)
	}
	if buckets := h.s3Buckets(); !slices.Contains(buckets, "rwmount") || !slices.Contains(buckets, "romount") {
		t.Fatalf("ListBuckets after the refused DeleteBuckets: %v", buckets)
	}
	if _, err := os.Stat(rwDir); err != nil {
		t.Fatal(err)
	}
	h.stop(syscall.SIGTERM)
}

// Credentials the fake S3 server takes.
const (
	fakeS3Key    = "hoard-integration-ak"
	fakeS3Secret = "hoard-integration-sk-never-shown"
)

// newFakeS3 starts gofakes3 (in memory) with the given buckets. gofakes3
// checks no signatures; a middleware refuses any access key other than
// fakeS3Key with 403 InvalidAccessKeyId, as S3 does.
func newFakeS3(t *testing.T, buckets ...string) (*httptest.Server, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	for _, b := range buckets {
		if err := backend.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	inner := gofakes3.New(backend).Server()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Authorization"), "Credential="+fakeS3Key+"/") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>`+
				`<Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, backend
}

// fakeObject reads bucket/key from the fake S3's backend.
func fakeObject(backend *s3mem.Backend, bucket, key string) ([]byte, bool) {
	o, err := backend.GetObject(bucket, key, nil)
	if err != nil {
		return nil, false
	}
	defer o.Contents.Close()
	b, err := io.ReadAll(o.Contents)
	return b, err == nil
}

// TestNestedS3Mount: `hoard fs mount --option fs.s3.*=... /s3m
// s3://fakebucket/prefix` mounts an S3 bucket with the mount's own
// credentials (refused with a wrong access key, the secret never shown);
// a file PUT through the S3 gateway lands in the bucket under the mount's
// prefix, byte for byte; an object put in the bucket directly reads back
// through the gateway.
func TestNestedS3Mount(t *testing.T) {
	fastExit(t)
	srv, backend := newFakeS3(t, "fakebucket")
	h := newHoard(t, noFUSE)
	h.start()
	args := func(key string) []string {
		return []string{"fs", "mount",
			"--option", "fs.s3.accessKeyId=" + key,
			"--option", "fs.s3.secretKey=" + fakeS3Secret,
			"--option", "fs.s3.endpoint=" + srv.URL,
			"--option", "fs.s3.region=us-east-1",
			"/s3m", "s3://fakebucket/prefix"}
	}
	out := h.refused("refused the credentials (check fs.s3.accessKeyId and fs.s3.secretKey)", args("wrong-key")...)
	if strings.Contains(out, fakeS3Secret) {
		t.Fatalf("a refused mount shows its secret:\n%s", out)
	}
	if out := h.must(args(fakeS3Key)...); out != "Mounted s3://fakebucket/prefix at /s3m\n" {
		t.Fatalf("mount: %q", out)
	}
	table := h.must("fs", "mount")
	if !strings.Contains(table, "s3://fakebucket/prefix  on  /s3m  (s3, not read-only") ||
		!strings.Contains(table, "fs.s3.secretKey=******") || strings.Contains(table, fakeS3Secret) {
		t.Fatalf("mount table:\n%s", table)
	}
	if !slices.Contains(h.s3Buckets(), "s3m") {
		t.Fatalf("ListBuckets does not show the mount: %v", h.s3Buckets())
	}

	data := patterned("through the gateway into S3", 700<<10+9)
	if code, b := h.s3do("PUT", "/s3m/dir/obj.bin", data); code != 200 {
		t.Fatalf("S3 PUT: %d %s", code, b)
	}
	e := h.waitPersisted("/s3m/dir/obj.bin", 30*time.Second)
	if e.UFS == nil || e.UFS.URI != "s3://fakebucket/prefix/dir/obj.bin" {
		t.Fatalf("UFS place: %+v", e.UFS)
	}
	if got, ok := fakeObject(backend, "fakebucket", "prefix/dir/obj.bin"); !ok || !bytes.Equal(got, data) {
		t.Fatalf("prefix/dir/obj.bin in the fake S3: ok=%v, %d bytes, want %d", ok, len(got), len(data))
	}
	if _, ok := fakeObject(backend, "fakebucket", "dir/obj.bin"); ok {
		t.Fatal("the object landed outside the mount's prefix")
	}
	if _, err := os.Stat(filepath.Join(h.dir, "data/ufs/s3m/dir/obj.bin")); err == nil {
		t.Fatal("the object landed in the root UFS too")
	}

	outside := []byte("put straight into the bucket")
	// Through the fake server's API, as another S3 client would (its
	// backend's PutObject leaves out the Last-Modified every S3 answers).
	direct, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(fakeS3Key, fakeS3Secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.PutObject(context.Background(), "fakebucket", "prefix/outside.txt", bytes.NewReader(outside), int64(len(outside)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	h.must("fs", "sync", "/s3m")
	if code, b := h.s3do("GET", "/s3m/outside.txt", nil); code != 200 || !bytes.Equal(b, outside) {
		t.Fatalf("S3 GET of an object put in the bucket directly: %d %q", code, b)
	}
	h.must("fs", "free", "/s3m/dir/obj.bin")
	if code, b := h.s3do("GET", "/s3m/dir/obj.bin", nil); code != 200 || !bytes.Equal(b, data) {
		t.Fatalf("S3 GET after free, from the fake S3: %d, %d bytes", code, len(b))
	}
	noSecretIn := func(texts ...string) {
		for _, s := range texts {
			if strings.Contains(s, fakeS3Secret) {
				t.Fatalf("the S3 secret is shown:\n%s", s)
			}
		}
	}
	noSecretIn(table, h.must("fs", "report"), h.must("fs", "stat", "/s3m/dir/obj.bin"))
	h.stop(syscall.SIGTERM)
	noSecretIn(h.output())
}
