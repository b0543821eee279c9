package oss_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

const bucket = "hoard-test"

// newServer starts a test server with one bucket.
func newServer(t testing.TB) *osstest.Server {
	t.Helper()
	s := osstest.New(osstest.Options{Region: "cn-hangzhou"})
	t.Cleanup(s.Close)
	if err := s.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	return s
}

// options returns the fs.oss.* options for s, with extra ones on top.
func options(s *osstest.Server, extra ...string) map[string]string {
	o := map[string]string{
		oss.KeyAccessKeyID:     osstest.DefaultAccessKeyID,
		oss.KeyAccessKeySecret: osstest.DefaultAccessKeySecret,
		oss.KeyEndpoint:        s.URL(),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		o[extra[i]] = extra[i+1]
	}
	return o
}

// open opens uri on s, failing the test on error.
func open(t testing.TB, s *osstest.Server, uri string, extra ...string) *oss.FS {
	t.Helper()
	f, err := oss.Open(context.Background(), uri, options(s, extra...))
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	return f
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"v1", nil},
		{"v4", []string{oss.KeySignatureVersion, "v4", oss.KeyRegion, "cn-hangzhou"}},
		// Small parts, so the suite's 3 MiB objects are multipart uploads.
		{"v1-multipart", []string{oss.KeyMultipartThreshold, "1MiB", oss.KeyMultipartPartSize, "256KiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			var n atomic.Int64
			ufstest.Run(t, func(t *testing.T) ufs.UFS {
				// One bucket, a directory per subtest: they run in parallel.
				uri := fmt.Sprintf("oss://%s/conformance/%d", bucket, n.Add(1))
				return open(t, s, uri, tc.extra...)
			})
		})
	}
}

// TestSignatureVersionSent checks which signature each configuration
// sends: V1 ("OSS id:sig") unless fs.oss.signatureVersion says v4.
func TestSignatureVersionSent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		extra     []string
		want, not string
	}{
		{"default", nil, osstest.SignatureV1, osstest.SignatureV4},
		{"v1", []string{oss.KeySignatureVersion, "v1"}, osstest.SignatureV1, osstest.SignatureV4},
		{"v4", []string{oss.KeySignatureVersion, "v4", oss.KeyRegion, "cn-hangzhou"}, osstest.SignatureV4, osstest.SignatureV1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			f := open(t, s, "oss://"+bucket+"/sig", tc.extra...)
			defer f.Close()
			if _, err := f.Put(t.Context(), "k", strings.NewReader("v"), 1); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Stat(t.Context(), "k"); err != nil {
				t.Fatal(err)
			}
			if err := f.Delete(t.Context(), "k"); err != nil {
				t.Fatal(err)
			}
			if got, other := s.Signatures(tc.want), s.Signatures(tc.not); got == 0 || other != 0 {
				t.Errorf("%d requests signed %s and %d %s; want all %s", got, tc.want, other, tc.not, tc.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	s := newServer(t)
	for uri, want := range map[string]string{
		"oss://" + bucket:           "oss://" + bucket,
		"oss://" + bucket + "/":     "oss://" + bucket,
		"oss://" + bucket + "/a/b/": "oss://" + bucket + "/a/b",
		"oss://" + bucket + "/a/b":  "oss://" + bucket + "/a/b",
	} {
		f := open(t, s, uri)
		if f.String() != want {
			t.Errorf("Open(%s).String() = %q, want %q", uri, f.String(), want)
		}
		if strings.Contains(fmt.Sprintf("%v %+v %s", f, f, f), osstest.DefaultAccessKeySecret) {
			t.Errorf("formatting the FS shows the secret")
		}
		f.Close()
	}
}
