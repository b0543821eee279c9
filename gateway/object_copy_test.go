package gateway

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
)

func TestParseCopySource(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, key string
		err             bool
	}{
		{"bkt/a/b", "bkt", "a/b", false},
		{"/bkt/a/b", "bkt", "a/b", false},
		{"bkt/a%20b%2Bc", "bkt", "a b+c", false},
		{"bkt/k?versionId=null", "bkt", "k", false},
		{"bkt/k?versionId=3", "", "", true},
		{"bkt", "", "", true},
		{"bkt/", "", "", true},
		{"", "", "", true},
	} {
		b, k, err := parseCopySource(tc.in)
		if b != tc.bucket || k != tc.key || (err != nil) != tc.err {
			t.Errorf("parseCopySource(%q) = %q %q %v", tc.in, b, k, err)
		}
	}
}

func TestCopyObject(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	e.must(200, req{method: "PUT", path: "/other-bkt"})
	data := randBytes(1, 200_000)
	h, _ := e.must(200, req{method: "PUT", path: "/bkt/src", body: data, hdr: map[string]string{
		"Content-Type": "x/src", "x-amz-meta-a": "1", "x-amz-tagging": "t=1"}})
	etag := h.Get("ETag")
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		dst    string
		hdr    map[string]string
		status int
		code   string
		check  func(t *testing.T, h http.Header)
	}{
		{"copy", "/bkt/c1", map[string]string{"x-amz-copy-source": "/bkt/src"}, 200, "", func(t *testing.T, h http.Header) {
			if h.Get("Content-Type") != "x/src" || h.Get("x-amz-meta-a") != "1" || h.Get("x-amz-tagging-count") != "1" || h.Get("ETag") != etag {
				t.Fatalf("%v", h)
			}
		}},
		{"to another bucket, prefixed", "/api/v1/s3/other-bkt/deep/c2", map[string]string{"x-amz-copy-source": "bkt/src"}, 200, "", nil},
		{"replace metadata", "/bkt/c3", map[string]string{"x-amz-copy-source": "bkt/src", "x-amz-metadata-directive": "REPLACE",
			"Content-Type": "x/new", "x-amz-meta-b": "2"}, 200, "", func(t *testing.T, h http.Header) {
			if h.Get("Content-Type") != "x/new" || h.Get("x-amz-meta-b") != "2" || h.Get("x-amz-meta-a") != "" || h.Get("x-amz-tagging-count") != "1" {
				t.Fatalf("%v", h)
			}
		}},
		{"replace tags", "/bkt/c4", map[string]string{"x-amz-copy-source": "bkt/src", "x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "x=1&y=2"},
			200, "", func(t *testing.T, h http.Header) {
				if h.Get("x-amz-tagging-count") != "2" || h.Get("x-amz-meta-a") != "1" {
					t.Fatalf("%v", h)
				}
			}},
		{"conditions hold", "/bkt/c5", map[string]string{"x-amz-copy-source": "bkt/src", "x-amz-copy-source-if-match": etag,
			"x-amz-copy-source-if-modified-since": past}, 200, "", nil},
		{"if-match fails", "/bkt/c6", map[string]string{"x-amz-copy-source": "bkt/src", "x-amz-copy-source-if-match": `"x"`}, 412, "PreconditionFailed", nil},
		{"if-none-match fails", "/bkt/c6", map[string]string{"x-amz-copy-source": "bkt/src", "x-amz-copy-source-if-none-match": etag}, 412, "PreconditionFailed", nil},
		{"onto itself", "/bkt/src", map[string]string{"x-amz-copy-source": "bkt/src"}, 400, "InvalidRequest", nil},
		{"onto itself, replacing", "/bkt/src", map[string]string{"x-amz-copy-source": "bkt/src", "x-amz-metadata-directive": "REPLACE",
			"x-amz-meta-z": "9"}, 200, "", func(t *testing.T, h http.Header) {
			if h.Get("x-amz-meta-z") != "9" || h.Get("x-amz-meta-a") != "" || h.Get("ETag") != etag {
				t.Fatalf("%v", h)
			}
		}},
		{"bad directive", "/bkt/c7", map[string]string{"x-amz-copy-source": "bkt/src", "x-amz-metadata-directive": "MERGE"}, 400, "InvalidArgument", nil},
		{"missing source", "/bkt/c7", map[string]string{"x-amz-copy-source": "bkt/nope"}, 404, "NoSuchKey", nil},
		{"missing source bucket", "/bkt/c7", map[string]string{"x-amz-copy-source": "nobkt/src"}, 404, "NoSuchBucket", nil},
		{"bad source", "/bkt/c7", map[string]string{"x-amz-copy-source": "bkt"}, 400, "InvalidArgument", nil},
		{"directory as source", "/bkt/c7", map[string]string{"x-amz-copy-source": "other-bkt/deep"}, 404, "NoSuchKey", nil},
		{"to a bad key", "/bkt/a//b", map[string]string{"x-amz-copy-source": "bkt/src"}, 400, "XMinioInvalidObjectName", nil},
		{"to a missing bucket", "/nobkt/x", map[string]string{"x-amz-copy-source": "bkt/src"}, 404, "NoSuchBucket", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			r := req{method: "PUT", path: tc.dst, hdr: tc.hdr}
			if tc.code != "" {
				e.mustErr(tc.status, tc.code, r)
				return
			}
			_, b := e.must(tc.status, r)
			if !strings.Contains(string(b), "<CopyObjectResult") || !strings.Contains(string(b), "<ETag>") {
				t.Fatalf("result: %s", b)
			}
			h, got := e.must(200, req{method: "GET", path: tc.dst})
			if !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
			if tc.check != nil {
				tc.check(t, h)
			}
		})
	}
}

// A copy of an object that is not in the cache reads it from the UFS.
func TestCopyUncached(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	data := randBytes(2, 5<<20+3)
	e.must(200, req{method: "PUT", path: "/bkt/src", body: data, hdr: map[string]string{"x-hoard-write-type": "THROUGH"}})
	e.must(200, req{method: "PUT", path: "/bkt/dst", hdr: map[string]string{"x-amz-copy-source": "bkt/src"}})
	if _, got := e.must(200, req{method: "GET", path: "/bkt/dst"}); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	if _, err := e.st.Resolve(bg, "/bkt/dst"); errors.Is(err, store.ErrNotExist) {
		t.Fatal(err)
	}
}
