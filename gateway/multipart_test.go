package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

func (e *env) initiate(path string, hdr map[string]string) string {
	e.t.Helper()
	_, b := e.must(200, req{method: "POST", path: path + "?uploads", hdr: hdr})
	var r initiateResult
	if err := xml.Unmarshal(b, &r); err != nil || r.UploadID == "" {
		e.t.Fatalf("initiate: %s", b)
	}
	return r.UploadID
}

func (e *env) part(path, id string, n int, data []byte) string {
	e.t.Helper()
	h, _ := e.must(200, req{method: "PUT", path: fmt.Sprintf("%s?partNumber=%d&uploadId=%s", path, n, id), body: data})
	return h.Get("ETag")
}

func completeXML(parts ...any) []byte {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for i := 0; i < len(parts); i += 2 {
		fmt.Fprintf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", parts[i], parts[i+1])
	}
	b.WriteString("</CompleteMultipartUpload>")
	return []byte(b.String())
}

func mpETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf(`"%s-%d"`, hex.EncodeToString(h.Sum(nil)), len(parts))
}

// The Alluxio page's sequence: initiate, an empty part, list, complete
// with an empty body, abort another.
func TestMultipartAlluxioFlow(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/api/v1/s3/testbucket"})
	p := "/api/v1/s3/testbucket/testobject"
	id := e.initiate(p, map[string]string{"Content-Type": "text/plain", "x-amz-meta-k": "v"})
	if etag := e.part(p, id, 1, nil); etag != `"d41d8cd98f00b204e9800998ecf8427e"` {
		t.Fatalf("empty part ETag %s", etag)
	}
	p2 := randBytes(1, 1<<20)
	e.part(p, id, 2, p2)
	_, b := e.must(200, req{method: "GET", path: p + "?uploadId=" + id})
	if !strings.Contains(string(b), "<PartNumber>1</PartNumber>") || !strings.Contains(string(b), "<PartNumber>2</PartNumber>") {
		t.Fatalf("list parts: %s", b)
	}
	_, b = e.must(200, req{method: "POST", path: p + "?uploadId=" + id})
	var res completeResult
	xml.Unmarshal(b, &res)
	if res.ETag != mpETag(nil, p2) || res.Key != "testobject" || res.Bucket != "testbucket" || !strings.HasSuffix(res.Location, p) {
		t.Fatalf("complete: %s", b)
	}
	h, got := e.must(200, req{method: "GET", path: p})
	if !bytes.Equal(got, p2) || h.Get("Content-Type") != "text/plain" || h.Get("x-amz-meta-k") != "v" || h.Get("ETag") != res.ETag {
		t.Fatalf("object: %v", h)
	}
	id2 := e.initiate(p, nil)
	e.part(p, id2, 1, []byte("x"))
	e.must(204, req{method: "DELETE", path: p + "?uploadId=" + id2})
	e.mustErr(404, "NoSuchUpload", req{method: "GET", path: p + "?uploadId=" + id2})
}

func TestMultipartErrors(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	id := e.initiate("/bkt/k", nil)
	a, b := randBytes(1, 100), randBytes(2, 200)
	ea, eb := e.part("/bkt/k", id, 1, a), e.part("/bkt/k", id, 2, b)
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"unknown upload", req{method: "PUT", path: "/bkt/k?partNumber=1&uploadId=nope", body: a}, 404, "NoSuchUpload"},
		{"upload of another key", req{method: "PUT", path: "/bkt/other?partNumber=1&uploadId=" + id, body: a}, 404, "NoSuchUpload"},
		{"part 0", req{method: "PUT", path: "/bkt/k?partNumber=0&uploadId=" + id, body: a}, 400, "InvalidArgument"},
		{"part 10001", req{method: "PUT", path: "/bkt/k?partNumber=10001&uploadId=" + id, body: a}, 400, "InvalidArgument"},
		{"part x", req{method: "PUT", path: "/bkt/k?partNumber=x&uploadId=" + id, body: a}, 400, "InvalidArgument"},
		{"no part number", req{method: "PUT", path: "/bkt/k?uploadId=" + id, body: a}, 400, "InvalidRequest"},
		{"bad part digest", req{method: "PUT", path: "/bkt/k?partNumber=3&uploadId=" + id, body: a, hdr: map[string]string{"Content-MD5": md5b64(b)}}, 400, "BadDigest"},
		{"missing part", req{method: "POST", path: "/bkt/k?uploadId=" + id, body: completeXML(1, ea, 3, ea)}, 400, "InvalidPart"},
		{"wrong ETag", req{method: "POST", path: "/bkt/k?uploadId=" + id, body: completeXML(1, eb)}, 400, "InvalidPart"},
		{"descending", req{method: "POST", path: "/bkt/k?uploadId=" + id, body: completeXML(2, eb, 1, ea)}, 400, "InvalidPartOrder"},
		{"no parts listed", req{method: "POST", path: "/bkt/k?uploadId=" + id, body: []byte("<CompleteMultipartUpload></CompleteMultipartUpload>")}, 400, "MalformedXML"},
		{"garbage", req{method: "POST", path: "/bkt/k?uploadId=" + id, body: []byte("<Complete")}, 400, "MalformedXML"},
		{"complete unknown", req{method: "POST", path: "/bkt/k?uploadId=nope", body: completeXML(1, ea)}, 404, "NoSuchUpload"},
		{"abort unknown", req{method: "DELETE", path: "/bkt/k?uploadId=nope"}, 404, "NoSuchUpload"},
		{"list parts of unknown", req{method: "GET", path: "/bkt/k?uploadId=nope"}, 404, "NoSuchUpload"},
		{"initiate on a marker", req{method: "POST", path: "/bkt/dir/?uploads"}, 400, "InvalidArgument"},
		{"initiate on a bad key", req{method: "POST", path: "/bkt/a//b?uploads"}, 400, "XMinioInvalidObjectName"},
		{"initiate in a missing bucket", req{method: "POST", path: "/nobkt/k?uploads"}, 404, "NoSuchBucket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.with(t).mustErr(tc.status, tc.code, tc.r)
		})
	}
	// The failures changed nothing: the upload completes with its parts.
	e.must(200, req{method: "PUT", path: "/bkt/k/sub", body: a})
	e.mustErr(409, "XMinioObjectExistsAsDirectory", req{method: "POST", path: "/bkt/k?uploadId=" + id, body: completeXML(1, ea, 2, eb)})
	e.must(204, req{method: "DELETE", path: "/bkt/k/sub"})
	_, body := e.must(200, req{method: "POST", path: "/bkt/k?uploadId=" + id, body: completeXML(1, ea, 2, strings.Trim(eb, `"`))})
	if !strings.Contains(string(body), mpETagXML(a, b)) {
		t.Fatalf("complete: %s", body)
	}
	if _, got := e.must(200, req{method: "GET", path: "/bkt/k"}); !bytes.Equal(got, append(append([]byte{}, a...), b...)) {
		t.Fatal("content differs")
	}
	e.mustErr(404, "NoSuchUpload", req{method: "POST", path: "/bkt/k?uploadId=" + id, body: completeXML(1, ea, 2, eb)})
}

func mpETagXML(parts ...[]byte) string {
	return strings.ReplaceAll(mpETag(parts...), `"`, "&#34;")
}

func TestMultipartListing(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	id := e.initiate("/bkt/k", nil)
	for n := 1; n <= 5; n++ {
		e.part("/bkt/k", id, n, []byte{byte(n)})
	}
	var parts listPartsResult
	_, b := e.must(200, req{method: "GET", path: "/bkt/k?uploadId=" + id + "&max-parts=2&part-number-marker=1"})
	xml.Unmarshal(b, &parts)
	if len(parts.Parts) != 2 || parts.Parts[0].PartNumber != 2 || !parts.IsTruncated || parts.NextPartNumberMarker != 3 {
		t.Fatalf("parts page: %s", b)
	}
	ids := map[string]string{"k": id}
	for _, k := range []string{"a/1", "a/2", "b", "c/d/e"} {
		ids[k] = e.initiate("/bkt/"+k, nil)
	}
	second := e.initiate("/bkt/b", nil)
	for _, tc := range []struct {
		query   string
		uploads string
		cps     string
		trunc   bool
	}{
		{"", "a/1,a/2,b,b,c/d/e,k", "", false},
		{"prefix=a/", "a/1,a/2", "", false},
		{"delimiter=/", "b,b,k", "a/,c/", false},
		{"prefix=c/&delimiter=/", "", "c/d/", false},
		{"max-uploads=2", "a/1,a/2", "", true},
		{"key-marker=a/2", "b,b,c/d/e,k", "", false},
		{"key-marker=b&upload-id-marker=" + ids["b"], "b,c/d/e,k", "", false},
		{"key-marker=a/&delimiter=/", "b,b,k", "c/", false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, b := e.with(t).must(200, req{method: "GET", path: "/bkt?uploads&" + tc.query})
			var res listUploadsResult
			if err := xml.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			var ups, cps []string
			for _, u := range res.Uploads {
				ups = append(ups, u.Key)
			}
			for _, c := range res.CommonPrefixes {
				cps = append(cps, c.Prefix)
			}
			if strings.Join(ups, ",") != tc.uploads || strings.Join(cps, ",") != tc.cps || res.IsTruncated != tc.trunc {
				t.Fatalf("uploads %v, prefixes %v, truncated %v: %s", ups, cps, res.IsTruncated, b)
			}
		})
	}
	_ = second
}

// A completion that takes long answers 200 at once, keeps the connection
// alive, and sends the result (or the error) in the body, as S3 does.
func TestMultipartCompleteKeepAlive(t *testing.T) {
	old := completeHeadStart
	completeHeadStart = 0
	defer func() { completeHeadStart = old }()
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	id := e.initiate("/bkt/k", nil)
	a := randBytes(3, 3<<20)
	ea := e.part("/bkt/k", id, 1, a)
	_, b := e.must(200, req{method: "POST", path: "/bkt/k?uploadId=" + id, body: completeXML(1, ea)})
	if !strings.Contains(string(b), "<CompleteMultipartUploadResult") || !strings.Contains(string(b), mpETagXML(a)) {
		t.Fatalf("late result: %s", b)
	}
	id = e.initiate("/bkt/k2", nil)
	e.part("/bkt/k2", id, 1, a)
	_, b = e.must(200, req{method: "POST", path: "/bkt/k2?uploadId=" + id, body: completeXML(1, `"00"`)})
	if !strings.Contains(string(b), "<Error><Code>InvalidPart</Code>") {
		t.Fatalf("late error: %s", b)
	}
}

func TestUploadPartCopy(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	src := randBytes(4, 300_000)
	e.must(200, req{method: "PUT", path: "/bkt/src", body: src})
	id := e.initiate("/bkt/dst", nil)
	copyPart := func(n int, rng string) (int, []byte) {
		hdr := map[string]string{"x-amz-copy-source": "/bkt/src"}
		if rng != "" {
			hdr["x-amz-copy-source-range"] = rng
		}
		code, _, b := e.call(req{method: "PUT", path: fmt.Sprintf("/bkt/dst?partNumber=%d&uploadId=%s", n, id), hdr: hdr})
		return code, b
	}
	if code, b := copyPart(1, "bytes=100-199"); code != 200 || !strings.Contains(string(b), "<CopyPartResult") {
		t.Fatalf("copy part: %d %s", code, b)
	}
	if code, _ := copyPart(2, ""); code != 200 {
		t.Fatalf("copy whole: %d", code)
	}
	for _, bad := range []string{"bytes=0-300000", "bytes=5-1", "0-10", "bytes=-10"} {
		if code, b := copyPart(3, bad); code != 400 || !strings.Contains(string(b), "InvalidArgument") {
			t.Fatalf("range %s: %d %s", bad, code, b)
		}
	}
	e.mustErr(404, "NoSuchKey", req{method: "PUT", path: "/bkt/dst?partNumber=3&uploadId=" + id, hdr: map[string]string{"x-amz-copy-source": "bkt/nope"}})
	e.must(200, req{method: "POST", path: "/bkt/dst?uploadId=" + id})
	if _, got := e.must(200, req{method: "GET", path: "/bkt/dst"}); !bytes.Equal(got, append(append([]byte{}, src[100:200]...), src...)) {
		t.Fatal("content differs")
	}
}
