package osstest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

const testBucket = "test-bucket"

// newServer starts a server with one bucket.
func newServer(t testing.TB, opts osstest.Options) *osstest.Server {
	t.Helper()
	s := osstest.New(opts)
	t.Cleanup(s.Close)
	if err := s.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	return s
}

// sdkBucket returns the SDK's handle on the test bucket, signing with the
// given version.
func sdkBucket(t testing.TB, s *osstest.Server, v oss.AuthVersionType, secret string, extra ...oss.ClientOption) *oss.Bucket {
	t.Helper()
	opts := []oss.ClientOption{oss.AuthVersion(v), oss.Region("cn-hangzhou")}
	opts = append(opts, extra...)
	c, err := oss.New(s.URL(), osstest.DefaultAccessKeyID, secret, opts...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Bucket(testBucket)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var versions = []struct {
	name string
	v    oss.AuthVersionType
}{{"v1", oss.AuthV1}, {"v4", oss.AuthV4}}

func serviceError(t *testing.T, err error) oss.ServiceError {
	t.Helper()
	var se oss.ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not an oss.ServiceError", err, err)
	}
	return se
}

func randBytes(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(rand.IntN(256))
	}
	return p
}

func TestSignature(t *testing.T) {
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			s := newServer(t, osstest.Options{})
			good := sdkBucket(t, s, ver.v, osstest.DefaultAccessKeySecret)
			// Keys with characters that need escaping exercise the
			// canonical resource and URI.
			for _, key := range []string{"plain.txt", "dir/sub/file", "sp ace+plus%pct?q=1&x", "ünï/cödé", "a//b/"} {
				if err := good.PutObject(key, strings.NewReader("data:"+key)); err != nil {
					t.Fatalf("put %q: %v", key, err)
				}
				rc, err := good.GetObject(key)
				if err != nil {
					t.Fatalf("get %q: %v", key, err)
				}
				got, _ := io.ReadAll(rc)
				rc.Close()
				if string(got) != "data:"+key {
					t.Fatalf("get %q = %q", key, got)
				}
			}
			// Subresources (?uploads, ?uploadId, ?partNumber) are signed too.
			imur, err := good.InitiateMultipartUpload("mp")
			if err != nil {
				t.Fatal(err)
			}
			if err := good.AbortMultipartUpload(imur); err != nil {
				t.Fatal(err)
			}
			if _, err := good.ListObjectsV2(oss.Prefix("dir/"), oss.ContinuationToken("")); err != nil {
				t.Fatal(err)
			}

			bad := sdkBucket(t, s, ver.v, "wrong-secret")
			err = bad.PutObject("x", strings.NewReader("x"))
			se := serviceError(t, err)
			if se.StatusCode != http.StatusForbidden || se.Code != "SignatureDoesNotMatch" || se.RequestID == "" || se.HostID == "" {
				t.Fatalf("wrong secret: %+v", se)
			}
			// HEAD answers carry the error in x-oss-err.
			_, err = bad.GetObjectDetailedMeta("plain.txt")
			if se := serviceError(t, err); se.StatusCode != http.StatusForbidden || se.Code != "SignatureDoesNotMatch" {
				t.Fatalf("wrong secret on HEAD: %+v", se)
			}

			c, _ := oss.New(s.URL(), "no-such-id", "x", oss.AuthVersion(ver.v), oss.Region("cn-hangzhou"))
			b, _ := c.Bucket(testBucket)
			_, err = b.ListObjects()
			if se := serviceError(t, err); se.StatusCode != http.StatusForbidden || se.Code != "InvalidAccessKeyId" {
				t.Fatalf("unknown id: %+v", se)
			}
		})
	}
}

func TestV4Region(t *testing.T) {
	s := newServer(t, osstest.Options{Region: "cn-beijing"})
	b := sdkBucket(t, s, oss.AuthV4, osstest.DefaultAccessKeySecret) // signs for cn-hangzhou
	_, err := b.ListObjects()
	if se := serviceError(t, err); se.Code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong region: %+v", se)
	}
	b = sdkBucket(t, s, oss.AuthV4, osstest.DefaultAccessKeySecret, oss.Region("cn-beijing"))
	if _, err := b.ListObjects(); err != nil {
		t.Fatal(err)
	}
}

func TestAnonymousDenied(t *testing.T) {
	s := newServer(t, osstest.Options{})
	resp, err := http.Get(s.URL() + "/" + testBucket + "/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) ||
		!bytes.Contains(body, []byte("<RequestId>")) || !bytes.Contains(body, []byte("<HostId>")) ||
		resp.Header.Get("x-oss-request-id") == "" {
		t.Fatalf("anonymous: %d %s", resp.StatusCode, body)
	}
}

func TestVirtualHostStyle(t *testing.T) {
	s := newServer(t, osstest.Options{})
	_, port, _ := strings.Cut(s.Addr(), ":")
	for _, ver := range versions {
		c, err := oss.New("http://"+s.Domain()+":"+port, osstest.DefaultAccessKeyID, osstest.DefaultAccessKeySecret,
			oss.AuthVersion(ver.v), oss.Region("cn-hangzhou"), oss.HTTPClient(s.HTTPClient()))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := c.Bucket(testBucket)
		if err := b.PutObject("vh/"+ver.name, strings.NewReader("hello")); err != nil {
			t.Fatalf("%s: %v", ver.name, err)
		}
		rc, err := b.GetObject("vh/" + ver.name)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "hello" {
			t.Fatalf("got %q", got)
		}
	}
}

func TestObjectHeaders(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	data := []byte("The quick brown fox")
	if err := b.PutObject("k", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	h, err := b.GetObjectDetailedMeta("k")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("ETag"), `"A2004F37730B9445670A738FA0FC9EE5"`; got != want {
		t.Errorf("ETag = %s, want %s (quoted uppercase MD5)", got, want)
	}
	if h.Get("Content-Length") != strconv.Itoa(len(data)) || h.Get("Last-Modified") == "" ||
		h.Get("x-oss-hash-crc64ecma") == "" || h.Get("x-oss-object-type") != "Normal" {
		t.Errorf("headers: %v", h)
	}
	_, err = b.GetObjectMeta("missing")
	if se := serviceError(t, err); se.StatusCode != http.StatusNotFound || se.Code != "NoSuchKey" {
		t.Errorf("missing: %+v", se)
	}
	_, err = b.GetObject("missing")
	if se := serviceError(t, err); se.StatusCode != http.StatusNotFound || se.Code != "NoSuchKey" {
		t.Errorf("missing: %+v", se)
	}
	c, _ := oss.New(s.URL(), osstest.DefaultAccessKeyID, osstest.DefaultAccessKeySecret)
	nb, _ := c.Bucket("no-such-bucket")
	err = nb.PutObject("k", strings.NewReader("x"))
	if se := serviceError(t, err); se.StatusCode != http.StatusNotFound || se.Code != "NoSuchBucket" {
		t.Errorf("no bucket: %+v", se)
	}
	// The SDK checks the CRC-64 of GetObjectToFile against the header.
	if err := b.GetObjectToFile("k", t.TempDir()+"/f"); err != nil {
		t.Errorf("GetObjectToFile (CRC check): %v", err)
	}
}

func TestRanges(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	data := randBytes(1000)
	if err := b.PutObject("r", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec      string
		standard  bool
		status    int
		from, to  int // expected bytes data[from:to]
		wantRange string
	}{
		{"0-499", false, 206, 0, 500, "bytes 0-499/1000"},
		{"500-", false, 206, 500, 1000, "bytes 500-999/1000"},
		{"-100", false, 206, 900, 1000, "bytes 900-999/1000"},
		{"999-999", false, 206, 999, 1000, "bytes 999-999/1000"},
		// Out of range: OSS ignores the range unless told to be standard.
		{"500-2000", false, 200, 0, 1000, ""},
		{"1000-", false, 200, 0, 1000, ""},
		{"-2000", false, 200, 0, 1000, ""},
		{"500-2000", true, 206, 500, 1000, "bytes 500-999/1000"},
		{"-2000", true, 206, 0, 1000, "bytes 0-999/1000"},
		{"1000-", true, 416, 0, 0, ""},
		{"5000-6000", true, 416, 0, 0, ""},
	} {
		var hdr http.Header
		opts := []oss.Option{oss.NormalizedRange(tc.spec), oss.GetResponseHeader(&hdr)}
		if tc.standard {
			opts = append(opts, oss.RangeBehavior("standard"))
		}
		rc, err := b.GetObject("r", opts...)
		if tc.status == 416 {
			if se := serviceError(t, err); se.StatusCode != 416 || se.Code != "InvalidRange" {
				t.Errorf("%s: %+v", tc.spec, se)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data[tc.from:tc.to]) {
			t.Errorf("%s: got %d bytes, want data[%d:%d]", tc.spec, len(got), tc.from, tc.to)
		}
		if hdr.Get("Content-Range") != tc.wantRange {
			t.Errorf("%s: Content-Range %q, want %q", tc.spec, hdr.Get("Content-Range"), tc.wantRange)
		}
	}
}

func TestCopyAndDelete(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV4, osstest.DefaultAccessKeySecret)
	if err := b.PutObject("src dir/a+b", strings.NewReader("copy me")); err != nil {
		t.Fatal(err)
	}
	res, err := b.CopyObject("src dir/a+b", "dst/c")
	if err != nil {
		t.Fatal(err)
	}
	if res.ETag == "" || res.LastModified.IsZero() {
		t.Errorf("copy result %+v", res)
	}
	rc, err := b.GetObject("dst/c")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "copy me" {
		t.Fatalf("copied %q", got)
	}
	_, err = b.CopyObject("missing", "dst/d")
	if se := serviceError(t, err); se.Code != "NoSuchKey" {
		t.Errorf("copy missing: %+v", se)
	}

	dr, err := b.DeleteObjects([]string{"src dir/a+b", "dst/c", "never-existed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(dr.DeletedObjects) != 3 {
		t.Errorf("deleted %v", dr.DeletedObjects)
	}
	if _, err := b.DeleteObjects([]string{"x"}, oss.DeleteObjectsQuiet(true)); err != nil {
		t.Fatal(err)
	}
	lr, err := b.ListObjects()
	if err != nil || len(lr.Objects) != 0 {
		t.Fatalf("after delete: %v %+v", err, lr.Objects)
	}
	if err := b.DeleteObject("never-existed"); err != nil {
		t.Errorf("delete missing: %v", err)
	}
	// Content-MD5 is required for DeleteMultipleObjects, as in OSS.
	xmlBody := "<Delete><Quiet>false</Quiet><Object><Key>x</Key></Object></Delete>"
	resp, err := b.Do("POST", "", map[string]interface{}{"delete": nil}, nil, strings.NewReader(xmlBody), nil)
	if se := serviceError(t, err); se.StatusCode != 400 {
		t.Errorf("delete without Content-MD5: %+v %v", se, resp)
	}
}

func TestPagination(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	var keys []string
	for i := range 25 {
		keys = append(keys, fmt.Sprintf("p/f%02d", i))
	}
	keys = append(keys, "p/d1/x", "p/d1/y", "p/d2/z", "p/zz", "q")
	for _, k := range keys {
		if err := b.PutObject(k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	// v1 with delimiter: d1/ and d2/ are common prefixes, each once.
	var got []string
	marker := ""
	pages := 0
	for {
		r, err := b.ListObjects(oss.Prefix("p/"), oss.Delimiter("/"), oss.Marker(marker), oss.MaxKeys(4))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, o := range r.Objects {
			got = append(got, o.Key)
		}
		got = append(got, r.CommonPrefixes...)
		if !r.IsTruncated {
			break
		}
		marker = r.NextMarker
	}
	if len(got) != 28 || pages != 7 {
		t.Fatalf("v1: %d entries in %d pages: %v", len(got), pages, got)
	}
	// v2 with continuation tokens and no delimiter: every key under p/.
	got = got[:0]
	token := ""
	for {
		r, err := b.ListObjectsV2(oss.Prefix("p/"), oss.ContinuationToken(token), oss.MaxKeys(7))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range r.Objects {
			got = append(got, o.Key)
		}
		if !r.IsTruncated {
			break
		}
		token = r.NextContinuationToken
	}
	if len(got) != 29 {
		t.Fatalf("v2: %d keys: %v", len(got), got)
	}
	// start-after a common prefix continues after that directory.
	r, err := b.ListObjectsV2(oss.Prefix("p/"), oss.Delimiter("/"), oss.StartAfter("p/d1/"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.CommonPrefixes) != 1 || r.CommonPrefixes[0] != "p/d2/" {
		t.Fatalf("start-after p/d1/: prefixes %v", r.CommonPrefixes)
	}
}

func TestMultipart(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV4, osstest.DefaultAccessKeySecret)
	data := randBytes(700 << 10)
	imur, err := b.InitiateMultipartUpload("big/obj")
	if err != nil {
		t.Fatal(err)
	}
	var parts []oss.UploadPart
	for i, off := 1, 0; off < len(data); i, off = i+1, off+(300<<10) {
		end := min(off+(300<<10), len(data))
		p, err := b.UploadPart(imur, bytes.NewReader(data[off:end]), int64(end-off), i)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	lp, err := b.ListUploadedParts(imur)
	if err != nil || len(lp.UploadedParts) != 3 {
		t.Fatalf("list parts: %v %+v", err, lp)
	}
	lu, err := b.ListMultipartUploads()
	if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].Key != "big/obj" {
		t.Fatalf("list uploads: %v %+v", err, lu)
	}
	// Parts out of order are refused (the SDK sorts them, so send the XML).
	outOfOrder := fmt.Sprintf("<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part>"+
		"<Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>", parts[1].ETag, parts[0].ETag)
	_, err = b.Do("POST", "big/obj", map[string]interface{}{"uploadId": imur.UploadID}, nil, strings.NewReader(outOfOrder), nil)
	if se := serviceError(t, err); se.Code != "InvalidPartOrder" {
		t.Fatalf("parts out of order: %+v", se)
	}
	// A wrong ETag is InvalidPart.
	badParts := append([]oss.UploadPart(nil), parts...)
	badParts[1].ETag = `"00000000000000000000000000000000"`
	_, err = b.CompleteMultipartUpload(imur, badParts)
	if se := serviceError(t, err); se.Code != "InvalidPart" {
		t.Fatalf("bad etag: %+v", se)
	}
	res, err := b.CompleteMultipartUpload(imur, parts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.ETag, `-3"`) {
		t.Errorf("multipart ETag %s", res.ETag)
	}
	if err := b.GetObjectToFile("big/obj", t.TempDir()+"/f"); err != nil {
		t.Fatalf("GetObjectToFile (CRC of the assembled object): %v", err)
	}
	rc, _ := b.GetObject("big/obj")
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("assembled object differs")
	}
	if err := b.AbortMultipartUpload(imur); serviceError(t, err).Code != "NoSuchUpload" {
		t.Fatalf("abort after complete: %v", err)
	}

	// A small part that is not the last is EntityTooSmall.
	imur, _ = b.InitiateMultipartUpload("small")
	p1, _ := b.UploadPart(imur, bytes.NewReader(data[:1000]), 1000, 1)
	p2, _ := b.UploadPart(imur, bytes.NewReader(data[:1000]), 1000, 2)
	_, err = b.CompleteMultipartUpload(imur, []oss.UploadPart{p1, p2})
	if se := serviceError(t, err); se.Code != "EntityTooSmall" {
		t.Fatalf("small part: %+v", se)
	}

	// UploadPartCopy assembles from ranges of an existing object.
	imur, _ = b.InitiateMultipartUpload("copied")
	c1, err := b.UploadPartCopy(imur, testBucket, "big/obj", 0, 400<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := b.UploadPartCopy(imur, testBucket, "big/obj", 400<<10, int64(len(data)-(400<<10)), 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CompleteMultipartUpload(imur, []oss.UploadPart{c1, c2}); err != nil {
		t.Fatal(err)
	}
	rc, _ = b.GetObject("copied")
	got, _ = io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatal("part-copied object differs")
	}
	if s.Count(osstest.OpUploadPartCopy) != 2 || s.Count(osstest.OpCompleteMultipartUpload) != 5 {
		t.Errorf("counts %v", s.Counts())
	}
}

func TestBucketAPI(t *testing.T) {
	s := newServer(t, osstest.Options{})
	for _, ver := range versions {
		c, err := oss.New(s.URL(), osstest.DefaultAccessKeyID, osstest.DefaultAccessKeySecret, oss.AuthVersion(ver.v), oss.Region("cn-hangzhou"))
		if err != nil {
			t.Fatal(err)
		}
		name := "made-by-sdk-" + ver.name
		if err := c.CreateBucket(name); err != nil {
			t.Fatalf("%s: CreateBucket: %v", ver.name, err)
		}
		if err := c.CreateBucket(name); serviceError(t, err).Code != "BucketAlreadyExists" {
			t.Errorf("%s: second CreateBucket: %v", ver.name, err)
		}
		if ok, err := c.IsBucketExist(name); !ok || err != nil {
			t.Errorf("%s: IsBucketExist(%s) = %v, %v", ver.name, name, ok, err)
		}
		if ok, err := c.IsBucketExist("absent"); ok || err != nil {
			t.Errorf("%s: IsBucketExist(absent) = %v, %v", ver.name, ok, err)
		}
		info, err := c.GetBucketInfo(name)
		if err != nil || info.BucketInfo.Name != name || info.BucketInfo.Location == "" {
			t.Errorf("%s: GetBucketInfo: %+v, %v", ver.name, info, err)
		}
		b, _ := c.Bucket(name)
		b.PutObject("x", strings.NewReader("12345"))
		st, err := c.GetBucketStat(name)
		if err != nil || st.ObjectCount != 1 || st.Storage != 5 {
			t.Errorf("%s: GetBucketStat: %+v, %v", ver.name, st, err)
		}
		if err := c.DeleteBucket(name); serviceError(t, err).Code != "BucketNotEmpty" {
			t.Errorf("%s: DeleteBucket of a non-empty bucket: %v", ver.name, err)
		}
		b.DeleteObject("x")
		if err := c.DeleteBucket(name); err != nil {
			t.Errorf("%s: DeleteBucket: %v", ver.name, err)
		}
		if _, err := c.GetBucketInfo(name); serviceError(t, err).Code != "NoSuchBucket" {
			t.Errorf("%s: GetBucketInfo after delete: %v", ver.name, err)
		}
	}
	lr, err := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret).ListObjects()
	if err != nil || lr.MaxKeys != 100 {
		t.Errorf("ListObjects defaults: %+v, %v", lr, err)
	}
}
