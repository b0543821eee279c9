package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// The gateway driven by minio-go, the client the rest of Hoard's tests use:
// every operation, in both auth modes and both URL forms.

// prefixTransport sends minio-go's requests under /api/v1/s3 after they
// are signed: minio-go cannot take an endpoint with a path, and the server
// accepts a signature over the path without the prefix (as s3cmd and s3fs
// sign it).
type prefixTransport struct{ rt http.RoundTripper }

func (p prefixTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = alluxioPrefix + r.URL.Path
	if r.URL.RawPath != "" {
		r2.URL.RawPath = alluxioPrefix + r.URL.RawPath
	}
	return p.rt.RoundTrip(r2)
}

func (e *env) minio(t *testing.T, prefixed bool, ak, sk string) *minio.Client {
	return e.minioOpts(t, prefixed, ak, sk, false)
}

// minioOpts makes a client; trailing turns on trailing checksums
// (aws-chunked bodies with a checksum trailer).
func (e *env) minioOpts(t *testing.T, prefixed bool, ak, sk string, trailing bool) *minio.Client {
	u, _ := url.Parse(e.url)
	var tr http.RoundTripper = http.DefaultTransport.(*http.Transport).Clone()
	if prefixed {
		tr = prefixTransport{tr}
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(ak, sk, ""), Secure: false, Region: "us-east-1",
		Transport: tr, BucketLookup: minio.BucketLookupPath, TrailingHeaders: trailing,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func code(err error) string { return minio.ToErrorResponse(err).Code }

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("error %v (code %q), want %s", err, got, want)
	}
}

func TestMinio(t *testing.T) {
	for _, tc := range []struct {
		name     string
		keys     bool
		prefixed bool
	}{
		{"alluxio auth, plain URLs", false, false},
		{"alluxio auth, /api/v1/s3", false, true},
		{"sigv4, plain URLs", true, false},
		{"sigv4, /api/v1/s3", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tc.keys)
			ak := "alice"
			if tc.keys {
				ak = testAK
			}
			c := e.minio(t, tc.prefixed, ak, testSK)
			minioSuite(t, e, c, tc.keys, tc.prefixed)
		})
	}
}

func minioSuite(t *testing.T, e *env, c *minio.Client, keys, prefixed bool) {
	ctx := context.Background()
	core := minio.Core{Client: c}
	const b = "bucket-one"

	// Buckets.
	if err := c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.MakeBucket(ctx, b, minio.MakeBucketOptions{}), "BucketAlreadyOwnedByYou")
	if ok, err := c.BucketExists(ctx, b); err != nil || !ok {
		t.Fatalf("BucketExists: %v %v", ok, err)
	}
	if ok, err := c.BucketExists(ctx, "no-such-bucket"); err != nil || ok {
		t.Fatalf("BucketExists(missing): %v %v", ok, err)
	}
	bs, err := c.ListBuckets(ctx)
	if err != nil || len(bs) != 1 || bs[0].Name != b {
		t.Fatalf("ListBuckets: %+v %v", bs, err)
	}
	if _, err := c.GetBucketLocation(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketVersioning(ctx, b); err != nil {
		t.Fatal(err)
	}

	// Small object with metadata, tags, content type, Content-MD5.
	data := []byte("Hello World!")
	info, err := c.PutObject(ctx, b, "dir/small.txt", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: "text/plain", UserMetadata: map[string]string{"Color": "blue"},
		UserTags: map[string]string{"team": "storage"}, SendContentMd5: true,
		ContentDisposition: "attachment", CacheControl: "max-age=60", ContentEncoding: "identity",
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if info.ETag != hex.EncodeToString(sum[:]) {
		t.Fatalf("ETag %s, want the MD5", info.ETag)
	}
	st, err := c.StatObject(ctx, b, "dir/small.txt", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Size != int64(len(data)) || st.ContentType != "text/plain" || st.UserMetadata["Color"] != "blue" ||
		st.Metadata.Get("Content-Disposition") != "attachment" || st.Metadata.Get("Cache-Control") != "max-age=60" ||
		st.Metadata.Get("Content-Encoding") != "identity" || st.UserTagCount != 1 {
		t.Fatalf("StatObject: %+v", st)
	}
	got := getAll(t, c, b, "dir/small.txt", minio.GetObjectOptions{})
	if !bytes.Equal(got, data) {
		t.Fatalf("GetObject: %q", got)
	}
	// The object is a file in the namespace at once.
	if n, err := e.st.Resolve(ctx, "/"+b+"/dir/small.txt"); err != nil || n.Size != int64(len(data)) {
		t.Fatalf("not a file: %v %v", n, err)
	}

	// Ranges.
	for _, r := range []struct {
		start, end int64
		want       string
	}{{0, 4, "Hello"}, {6, 0, "World!"}, {0, -6, "World!"}, {11, 11, "!"}} {
		o := minio.GetObjectOptions{}
		if err := o.SetRange(r.start, r.end); err != nil {
			t.Fatal(err)
		}
		if got := getAll(t, c, b, "dir/small.txt", o); string(got) != r.want {
			t.Fatalf("range %d-%d: %q, want %q", r.start, r.end, got, r.want)
		}
	}
	o := minio.GetObjectOptions{}
	o.SetRange(100, 200)
	_, err = getErr(c, b, "dir/small.txt", o)
	wantCode(t, err, "InvalidRange")

	// Conditions.
	o = minio.GetObjectOptions{}
	o.SetMatchETag(st.ETag)
	getAll(t, c, b, "dir/small.txt", o)
	o = minio.GetObjectOptions{}
	o.SetMatchETag("nope")
	_, err = getErr(c, b, "dir/small.txt", o)
	wantCode(t, err, "PreconditionFailed")
	o = minio.GetObjectOptions{}
	o.SetUnmodified(st.LastModified.Add(-time.Hour))
	_, err = getErr(c, b, "dir/small.txt", o)
	wantCode(t, err, "PreconditionFailed")

	// Errors on reads.
	_, err = getErr(c, b, "no/such/key", minio.GetObjectOptions{})
	wantCode(t, err, "NoSuchKey")
	_, err = getErr(c, "no-such-bucket", "k", minio.GetObjectOptions{})
	wantCode(t, err, "NoSuchBucket")
	_, err = c.StatObject(ctx, b, "dir", minio.StatObjectOptions{})
	wantCode(t, err, "NoSuchKey")

	// Tagging.
	tg, err := c.GetObjectTagging(ctx, b, "dir/small.txt", minio.GetObjectTaggingOptions{})
	if err != nil || tg.ToMap()["team"] != "storage" {
		t.Fatalf("GetObjectTagging: %v %v", tg, err)
	}
	nt, _ := tags.NewTags(map[string]string{"a": "1", "b": "2"}, true)
	if err := c.PutObjectTagging(ctx, b, "dir/small.txt", nt, minio.PutObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if tg, err = c.GetObjectTagging(ctx, b, "dir/small.txt", minio.GetObjectTaggingOptions{}); err != nil || len(tg.ToMap()) != 2 {
		t.Fatalf("tags after put: %v %v", tg, err)
	}
	if err := c.RemoveObjectTagging(ctx, b, "dir/small.txt", minio.RemoveObjectTaggingOptions{}); err != nil {
		t.Fatal(err)
	}
	if tg, err = c.GetObjectTagging(ctx, b, "dir/small.txt", minio.GetObjectTaggingOptions{}); err != nil || len(tg.ToMap()) != 0 {
		t.Fatalf("tags after remove: %v %v", tg, err)
	}

	// Large objects: minio-go's own multipart (known size) and its
	// streaming upload (unknown size), checksums on.
	big := randBytes(7, 12<<20+12345)
	info, err = c.PutObject(ctx, b, "big/known", bytes.NewReader(big), int64(len(big)), minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-3") {
		t.Fatalf("multipart ETag %q", info.ETag)
	}
	if got := getAll(t, c, b, "big/known", minio.GetObjectOptions{}); !bytes.Equal(got, big) {
		t.Fatal("multipart object differs")
	}
	if _, err := c.PutObject(ctx, b, "big/unknown", bytes.NewReader(big), -1, minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	if got := getAll(t, c, b, "big/unknown", minio.GetObjectOptions{}); !bytes.Equal(got, big) {
		t.Fatal("streamed object differs")
	}
	ct := e.minioOpts(t, prefixed, accessKey(keys), testSK, true)
	for _, ck := range []minio.ChecksumType{minio.ChecksumCRC32C, minio.ChecksumCRC32, minio.ChecksumSHA256, minio.ChecksumCRC64NVME} {
		if _, err := ct.PutObject(ctx, b, "ck/"+ck.String(), bytes.NewReader(big[:100000]), 100000, minio.PutObjectOptions{Checksum: ck, DisableMultipart: true}); err != nil {
			t.Fatalf("checksum %s: %v", ck, err)
		}
	}
	if got := getAll(t, c, b, "ck/"+minio.ChecksumCRC32C.String(), minio.GetObjectOptions{}); !bytes.Equal(got, big[:100000]) {
		t.Fatal("checksummed object differs")
	}
	if _, err := c.PutObject(ctx, b, "unsigned", bytes.NewReader(big[:70000]), 70000, minio.PutObjectOptions{DisableContentSha256: true}); err != nil {
		t.Fatal(err)
	}

	// Listings: recursive, by delimiter, by prefix, paged, v1 and v2.
	want := []string{"big/known", "big/unknown"}
	for _, ck := range []minio.ChecksumType{minio.ChecksumCRC32C, minio.ChecksumCRC32, minio.ChecksumSHA256, minio.ChecksumCRC64NVME} {
		want = append(want, "ck/"+ck.String())
	}
	want = append(want, "dir/small.txt", "unsigned")
	sort.Strings(want)
	for _, v1 := range []bool{false, true} {
		for _, page := range []int{0, 2} {
			keys := listKeys(t, c, b, minio.ListObjectsOptions{Recursive: true, UseV1: v1, MaxKeys: page})
			if strings.Join(keys, ",") != strings.Join(want, ",") {
				t.Fatalf("recursive v1=%v page=%d: %v, want %v", v1, page, keys, want)
			}
		}
		keys := listKeys(t, c, b, minio.ListObjectsOptions{UseV1: v1})
		sort.Strings(keys) // minio-go gives a page's keys before its prefixes
		if strings.Join(keys, ",") != "big/,ck/,dir/,unsigned" {
			t.Fatalf("delimited: %v", keys)
		}
		keys = listKeys(t, c, b, minio.ListObjectsOptions{Prefix: "big/", UseV1: v1, StartAfter: "big/known"})
		if strings.Join(keys, ",") != "big/unknown" {
			t.Fatalf("prefix+start-after: %v", keys)
		}
	}
	objs := c.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "dir/", WithMetadata: false})
	for o := range objs {
		if o.Err != nil || o.Size != int64(len(data)) || o.ETag != hex.EncodeToString(sum[:]) {
			t.Fatalf("listed object: %+v", o)
		}
	}

	// Copies: same metadata, replaced metadata, onto itself, compose.
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/plain"},
		minio.CopySrcOptions{Bucket: b, Object: "dir/small.txt"}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.StatObject(ctx, b, "copy/plain", minio.StatObjectOptions{}); err != nil || st.UserMetadata["Color"] != "blue" || st.ContentType != "text/plain" {
		t.Fatalf("copied metadata: %+v %v", st, err)
	}
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/replaced", ReplaceMetadata: true, UserMetadata: map[string]string{"Shape": "round"}},
		minio.CopySrcOptions{Bucket: b, Object: "dir/small.txt"}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.StatObject(ctx, b, "copy/replaced", minio.StatObjectOptions{}); err != nil || st.UserMetadata["Shape"] != "round" || st.UserMetadata["Color"] != "" {
		t.Fatalf("replaced metadata: %+v %v", st, err)
	}
	_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/plain"}, minio.CopySrcOptions{Bucket: b, Object: "copy/plain"})
	wantCode(t, err, "InvalidRequest")
	if _, err := c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/plain", ReplaceMetadata: true, UserMetadata: map[string]string{"New": "x"}},
		minio.CopySrcOptions{Bucket: b, Object: "copy/plain"}); err != nil {
		t.Fatal(err)
	}
	if st, err := c.StatObject(ctx, b, "copy/plain", minio.StatObjectOptions{}); err != nil || st.UserMetadata["New"] != "x" {
		t.Fatalf("self-copy metadata: %+v %v", st, err)
	}
	_, err = c.CopyObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/x"}, minio.CopySrcOptions{Bucket: b, Object: "dir/small.txt", MatchETag: "nope"})
	wantCode(t, err, "PreconditionFailed")
	if _, err := c.ComposeObject(ctx, minio.CopyDestOptions{Bucket: b, Object: "copy/composed"},
		minio.CopySrcOptions{Bucket: b, Object: "big/known", MatchRange: true, Start: 0, End: 5<<20 - 1},
		minio.CopySrcOptions{Bucket: b, Object: "dir/small.txt"}); err != nil {
		t.Fatal(err)
	}
	if got := getAll(t, c, b, "copy/composed", minio.GetObjectOptions{}); !bytes.Equal(got, append(append([]byte{}, big[:5<<20]...), data...)) {
		t.Fatal("composed object differs")
	}

	// Multipart by hand: parts out of order, smaller than 5 MiB, listed,
	// completed; errors.
	id, err := core.NewMultipartUpload(ctx, b, "mp/obj", minio.PutObjectOptions{ContentType: "application/x-test"})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := core.PutObjectPart(ctx, b, "mp/obj", id, 2, bytes.NewReader(big[1<<20:2<<20]), 1<<20, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := core.PutObjectPart(ctx, b, "mp/obj", id, 1, bytes.NewReader(big[:1<<20]), 1<<20, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lp, err := core.ListObjectParts(ctx, b, "mp/obj", id, 0, 1)
	if err != nil || len(lp.ObjectParts) != 1 || !lp.IsTruncated || lp.ObjectParts[0].PartNumber != 1 {
		t.Fatalf("ListObjectParts: %+v %v", lp, err)
	}
	lu, err := core.ListMultipartUploads(ctx, b, "mp/", "", "", "", 100)
	if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].UploadID != id || lu.Uploads[0].Key != "mp/obj" {
		t.Fatalf("ListMultipartUploads: %+v %v", lu, err)
	}
	_, err = core.CompleteMultipartUpload(ctx, b, "mp/obj", id, []minio.CompletePart{{PartNumber: 2, ETag: p2.ETag}, {PartNumber: 1, ETag: p1.ETag}}, minio.PutObjectOptions{})
	wantCode(t, err, "InvalidPartOrder")
	_, err = core.CompleteMultipartUpload(ctx, b, "mp/obj", id, []minio.CompletePart{{PartNumber: 1, ETag: p2.ETag}}, minio.PutObjectOptions{})
	wantCode(t, err, "InvalidPart")
	up, err := core.CompleteMultipartUpload(ctx, b, "mp/obj", id, []minio.CompletePart{{PartNumber: 1, ETag: p1.ETag}, {PartNumber: 2, ETag: p2.ETag}}, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(up.ETag, "-2") {
		t.Fatalf("completed ETag %q", up.ETag)
	}
	if st, err := c.StatObject(ctx, b, "mp/obj", minio.StatObjectOptions{}); err != nil || st.ContentType != "application/x-test" || st.Size != 2<<20 {
		t.Fatalf("completed object: %+v %v", st, err)
	}
	_, err = core.PutObjectPart(ctx, b, "mp/obj", id, 3, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
	wantCode(t, err, "NoSuchUpload")
	id2, err := core.NewMultipartUpload(ctx, b, "mp/aborted", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, b, "mp/aborted", id2, 1, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := core.AbortMultipartUpload(ctx, b, "mp/aborted", id2); err != nil {
		t.Fatal(err)
	}
	wantCode(t, core.AbortMultipartUpload(ctx, b, "mp/aborted", id2), "NoSuchUpload")
	if _, err := c.StatObject(ctx, b, "mp/aborted", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
		t.Fatalf("aborted upload left an object: %v", err)
	}

	// Presigned URLs.
	pu, err := c.PresignedPutObject(ctx, b, "presigned/obj", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hr, _ := http.NewRequest(http.MethodPut, prefixURL(pu, prefixed), bytes.NewReader(data))
	if resp, err := http.DefaultClient.Do(hr); err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %v %v", resp, err)
	}
	gu, err := c.PresignedGetObject(ctx, b, "presigned/obj", time.Hour, url.Values{"response-content-type": {"x/y"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(prefixURL(gu, prefixed))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Content-Type") != "x/y" {
		t.Fatalf("presigned GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if keys {
		tampered := strings.Replace(prefixURL(gu, prefixed), "presigned/obj", "presigned/other", 1)
		resp, err := http.Get(tampered)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("tampered presigned URL: %d", resp.StatusCode)
		}
		// A wrong secret changes nothing.
		bad := e.minio(t, prefixed, testAK, "wrong-secret")
		_, err = bad.PutObject(ctx, b, "forged", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
		wantCode(t, err, "SignatureDoesNotMatch")
		wantCode(t, bad.RemoveObject(ctx, b, "dir/small.txt", minio.RemoveObjectOptions{}), "SignatureDoesNotMatch")
		if _, err := c.StatObject(ctx, b, "forged", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
			t.Fatalf("forged request wrote: %v", err)
		}
		if _, err := c.StatObject(ctx, b, "dir/small.txt", minio.StatObjectOptions{}); err != nil {
			t.Fatalf("forged request deleted: %v", err)
		}
		other := e.minio(t, prefixed, "someone-else", testSK)
		_, err = other.ListBuckets(ctx)
		wantCode(t, err, "InvalidAccessKeyId")
	} else {
		// The access key id names the owner.
		if n, err := e.st.Resolve(ctx, "/"+b+"/dir/small.txt"); err != nil || n.Owner != "alice" {
			t.Fatalf("owner: %v %v", n, err)
		}
	}

	// Keys that cannot be paths, and key/prefix conflicts.
	_, err = c.PutObject(ctx, b, "a//b", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	wantCode(t, err, "XMinioInvalidObjectName")
	_, err = c.PutObject(ctx, b, "dir/small.txt/child", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	wantCode(t, err, "XMinioParentIsObject")
	_, err = c.PutObject(ctx, b, "dir", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	wantCode(t, err, "XMinioObjectExistsAsDirectory")

	// Deletes: one, many, then the bucket.
	wantCode(t, c.RemoveBucket(ctx, b), "BucketNotEmpty")
	if err := c.RemoveObject(ctx, b, "unsigned", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveObject(ctx, b, "unsigned", minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	for re := range c.RemoveObjects(ctx, b, c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}), minio.RemoveObjectsOptions{}) {
		t.Fatalf("RemoveObjects: %v", re.Err)
	}
	if keys := listKeys(t, c, b, minio.ListObjectsOptions{Recursive: true}); len(keys) != 0 {
		t.Fatalf("keys left: %v", keys)
	}
	if err := c.RemoveBucket(ctx, b); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.RemoveBucket(ctx, b), "NoSuchBucket")
}

func accessKey(keys bool) string {
	if keys {
		return testAK
	}
	return "alice"
}

func prefixURL(u *url.URL, prefixed bool) string {
	if !prefixed {
		return u.String()
	}
	v := *u
	v.Path = alluxioPrefix + v.Path
	v.RawPath = ""
	return v.String()
}

func getAll(t *testing.T, c *minio.Client, b, k string, o minio.GetObjectOptions) []byte {
	t.Helper()
	got, err := getErr(c, b, k, o)
	if err != nil {
		t.Fatalf("GetObject %s: %v", k, err)
	}
	return got
}

func getErr(c *minio.Client, b, k string, o minio.GetObjectOptions) ([]byte, error) {
	obj, err := c.GetObject(context.Background(), b, k, o)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	return io.ReadAll(obj)
}

func listKeys(t *testing.T, c *minio.Client, b string, o minio.ListObjectsOptions) []string {
	t.Helper()
	var keys []string
	for obj := range c.ListObjects(context.Background(), b, o) {
		if obj.Err != nil {
			t.Fatalf("ListObjects: %v", obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	return keys
}

var _ = fmt.Sprint
