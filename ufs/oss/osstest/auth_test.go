package osstest_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

func TestSignaturesCounted(t *testing.T) {
	s := newServer(t, osstest.Options{})
	for _, ver := range versions {
		s.ResetCounts()
		b := sdkBucket(t, s, ver.v, osstest.DefaultAccessKeySecret)
		if _, err := b.ListObjects(); err != nil {
			t.Fatal(err)
		}
		// A request that fails to verify is counted too.
		bad := sdkBucket(t, s, ver.v, "wrong-secret")
		if _, err := bad.ListObjects(); err == nil {
			t.Fatal("wrong secret accepted")
		}
		v1, v4 := s.Signatures(osstest.SignatureV1), s.Signatures(osstest.SignatureV4)
		want := map[string][2]int64{"v1": {2, 0}, "v4": {0, 2}}[ver.name]
		if v1 != want[0] || v4 != want[1] {
			t.Errorf("%s client: %d V1 and %d V4 signatures counted, want %v", ver.name, v1, v4, want)
		}
	}
}

// tamperer changes requests after the SDK has signed them, as a broken
// proxy or an attacker would.
type tamperer struct {
	base http.RoundTripper
	mu   sync.Mutex
	fn   func(*http.Request) // nil: send requests as signed
}

func (tp *tamperer) set(fn func(*http.Request)) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.fn = fn
}

func (tp *tamperer) RoundTrip(r *http.Request) (*http.Response, error) {
	tp.mu.Lock()
	fn := tp.fn
	tp.mu.Unlock()
	if fn != nil {
		r = r.Clone(r.Context()) // a RoundTripper must not change its argument
		fn(r)
	}
	return tp.base.RoundTrip(r)
}

func contentMD5(data string) string {
	sum := md5.Sum([]byte(data))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// shiftDate moves the request's Date header by d.
func shiftDate(t *testing.T, d time.Duration) func(*http.Request) {
	return func(r *http.Request) {
		when, err := http.ParseTime(r.Header.Get("Date"))
		if err != nil {
			t.Errorf("request Date %q: %v", r.Header.Get("Date"), err)
		}
		r.Header.Set("Date", when.Add(d).UTC().Format(http.TimeFormat))
	}
}

// TestTamperedRequestsRejected sends correctly signed requests that are
// changed on the way in a part the signature covers: each must be refused.
// A V1 signature covers only the subresources among the query parameters,
// so a changed "prefix" passes there, as it does on OSS; V4 covers them all.
func TestTamperedRequestsRejected(t *testing.T) {
	put := func(b *oss.Bucket) error {
		return b.PutObject("k", strings.NewReader("new"), oss.Meta("owner", "alice"), oss.ContentMD5(contentMD5("new")))
	}
	list := func(b *oss.Bucket) error { _, err := b.ListObjects(oss.Prefix("a")); return err }
	uploads := func(b *oss.Bucket) error { _, err := b.ListMultipartUploads(); return err }
	cases := []struct {
		name   string
		call   func(*oss.Bucket) error
		tamper func(*http.Request)
		want   map[string]string // by version: the error code, "" for success
	}{
		{"signed x-oss-meta header", put,
			func(r *http.Request) { r.Header.Set("X-Oss-Meta-Owner", "mallory") },
			map[string]string{"v1": "SignatureDoesNotMatch", "v4": "SignatureDoesNotMatch"}},
		{"Content-MD5", put,
			func(r *http.Request) { r.Header.Set("Content-MD5", contentMD5("other")) },
			map[string]string{"v1": "SignatureDoesNotMatch", "v4": "SignatureDoesNotMatch"}},
		{"subresource ?uploads to ?acl", uploads,
			func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "uploads", "acl", 1) },
			map[string]string{"v1": "SignatureDoesNotMatch", "v4": "SignatureDoesNotMatch"}},
		{"Date by a second", list, shiftDate(t, time.Second),
			map[string]string{"v1": "SignatureDoesNotMatch", "v4": "SignatureDoesNotMatch"}},
		{"Date by 20 minutes", list, shiftDate(t, 20*time.Minute),
			map[string]string{"v1": "RequestTimeTooSkewed", "v4": "RequestTimeTooSkewed"}},
		{"Date 20 minutes back", list, shiftDate(t, -20*time.Minute),
			map[string]string{"v1": "RequestTimeTooSkewed", "v4": "RequestTimeTooSkewed"}},
		{"unsigned parameter prefix", list,
			func(r *http.Request) { r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "prefix=a", "prefix=b", 1) },
			map[string]string{"v1": "", "v4": "SignatureDoesNotMatch"}},
	}
	for _, ver := range versions {
		t.Run(ver.name, func(t *testing.T) {
			s := newServer(t, osstest.Options{})
			if err := s.PutObject(testBucket, "k", []byte("old")); err != nil {
				t.Fatal(err)
			}
			tp := &tamperer{base: http.DefaultTransport}
			b := sdkBucket(t, s, ver.v, osstest.DefaultAccessKeySecret, oss.HTTPClient(&http.Client{Transport: tp}))
			for _, c := range cases {
				tp.set(c.tamper)
				err := c.call(b)
				tp.set(nil)
				want := c.want[ver.name]
				switch {
				case want == "" && err != nil:
					t.Errorf("%s: %v, want success", c.name, err)
				case want != "":
					if se := serviceError(t, err); se.StatusCode != http.StatusForbidden || se.Code != want {
						t.Errorf("%s: %d %s, want 403 %s", c.name, se.StatusCode, se.Code, want)
					}
				}
				// Untampered, the same call goes through: the signature
				// was right until the request was changed.
				if err := c.call(b); err != nil {
					t.Errorf("%s, untampered: %v", c.name, err)
				}
				if err := s.PutObject(testBucket, "k", []byte("old")); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestTamperedPutStoresNothing: a refused request has no effect.
func TestTamperedPutStoresNothing(t *testing.T) {
	s := newServer(t, osstest.Options{})
	if err := s.PutObject(testBucket, "k", []byte("old")); err != nil {
		t.Fatal(err)
	}
	tp := &tamperer{base: http.DefaultTransport}
	tp.set(func(r *http.Request) { r.Header.Set("X-Oss-Meta-Owner", "mallory") })
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret, oss.HTTPClient(&http.Client{Transport: tp}))
	if err := b.PutObject("k", strings.NewReader("new"), oss.Meta("owner", "alice")); err == nil {
		t.Fatal("tampered PutObject succeeded")
	}
	if got, _, _ := s.Object(testBucket, "k"); !bytes.Equal(got, []byte("old")) {
		t.Errorf("after a refused PutObject the object holds %q", got)
	}
}
