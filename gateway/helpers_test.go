package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/ufs/local"
)

const (
	testAK = "hoardtestkey"
	testSK = "hoardtestsecret/with+chars"
)

// env is a gateway over a real store (local UFS in a temp dir), served on
// 127.0.0.1.
type env struct {
	t    *testing.T
	dir  string
	st   *store.Store
	srv  *httptest.Server
	url  string // http://127.0.0.1:port
	opts Options
	// keys are the credentials the helpers sign with (the server's, when
	// it has any).
	ak, sk string
}

// newEnv starts a gateway; with keys it verifies signatures.
func newEnv(t testing.TB, keys bool, mod ...func(*store.Options)) *env {
	tt, _ := t.(*testing.T)
	dir := t.TempDir()
	u, err := local.New(filepath.Join(dir, "ufs"))
	if err != nil {
		t.Fatal(err)
	}
	so := store.Options{
		MetaDir:      filepath.Join(dir, "meta"),
		CacheDirs:    []string{filepath.Join(dir, "cache")},
		Quota:        4 << 30,
		BlockSize:    1 << 20,
		RootUFS:      u,
		RootURI:      "file://" + filepath.Join(dir, "ufs"),
		SyncInterval: -1,
		RetryBase:    10 * time.Millisecond,
		RetryMax:     100 * time.Millisecond,
	}
	for _, m := range mod {
		m(&so)
	}
	st, err := store.Open(so)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: tt, dir: dir, st: st}
	if keys {
		e.opts = Options{AccessKey: testAK, SecretKey: testSK}
	}
	e.ak, e.sk = testAK, testSK
	e.srv = httptest.NewServer(New(st, e.opts))
	e.url = e.srv.URL
	t.Cleanup(func() {
		e.srv.Close()
		st.Close()
	})
	return e
}

// with returns e reporting to t (a subtest).
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// req is a test request: unsigned (Alluxio style) unless signed.
type req struct {
	method string
	path   string // with query
	body   []byte
	hdr    map[string]string
	sign   string // "", "v4", "v2", "v4-unprefixed"
}

func (e *env) do(r req) *http.Response {
	e.t.Helper()
	hr, err := http.NewRequest(r.method, e.url+r.path, bytes.NewReader(r.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if r.body == nil {
		hr.Body = http.NoBody
		hr.ContentLength = 0
	}
	for k, v := range r.hdr {
		if strings.EqualFold(k, "host") {
			hr.Host = v
			continue
		}
		hr.Header.Set(k, v)
	}
	switch r.sign {
	case "v4":
		signV4(hr, e.ak, e.sk, hr.URL.EscapedPath(), sha256Hex(string(r.body)))
	case "v4-unprefixed":
		signV4(hr, e.ak, e.sk, strings.TrimPrefix(hr.URL.EscapedPath(), alluxioPrefix), sha256Hex(string(r.body)))
	case "v2":
		signV2(hr, e.ak, e.sk, hr.URL.EscapedPath())
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// call runs a request and returns status, headers and body.
func (e *env) call(r req) (int, http.Header, []byte) {
	e.t.Helper()
	resp := e.do(r)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// must runs a request that must answer want.
func (e *env) must(want int, r req) (http.Header, []byte) {
	e.t.Helper()
	code, h, b := e.call(r)
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", r.method, r.path, code, want, b)
	}
	return h, b
}

// mustErr runs a request that must fail with S3 error code.
func (e *env) mustErr(status int, code string, r req) {
	e.t.Helper()
	got, _, b := e.call(r)
	if got != status {
		e.t.Fatalf("%s %s: status %d, want %d (%s): %s", r.method, r.path, got, status, code, b)
	}
	if r.method == http.MethodHead {
		return
	}
	var x errorXML
	if err := xml.Unmarshal(b, &x); err != nil || x.Code != code {
		e.t.Fatalf("%s %s: error %q (%v), want %s: %s", r.method, r.path, x.Code, err, code, b)
	}
	if x.RequestID == "" || x.Message == "" || x.Resource == "" {
		e.t.Fatalf("error XML lacks fields: %s", b)
	}
}

// signV4 signs r with Signature V4 over uri (the path as the client
// signs it), in the Authorization header.
func signV4(r *http.Request, ak, sk, uri, payload string) {
	now := time.Now().UTC()
	amzDate := now.Format(amzDateFormat)
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Set("X-Amz-Content-Sha256", payload)
	signed := []string{"host", "x-amz-content-sha256", "x-amz-date"}
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-meta-") || lk == "content-md5" || lk == "content-type" || lk == "range" {
			signed = append(signed, lk)
		}
	}
	sort.Strings(signed)
	c := credential{akid: ak, date: now.Format("20060102"), region: "us-east-1", service: "s3"}
	creq := strings.Join([]string{r.Method, uri, canonicalQuery(parseQuery(r.URL.RawQuery), ""),
		canonicalHeaders(r, signed, r.Host), strings.Join(signed, ";"), payload}, "\n")
	sts := algoV4 + "\n" + amzDate + "\n" + c.scope() + "\n" + sha256Hex(creq)
	sig := hex.EncodeToString(hmacSHA256(signingKeyV4(sk, c), sts))
	r.Header.Set("Authorization", algoV4+" Credential="+ak+"/"+c.scope()+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
}

// presignV4 returns a presigned URL for method on u.
func presignV4(method, u, ak, sk string, expires time.Duration, at time.Time) string {
	pu, _ := url.Parse(u)
	amzDate := at.UTC().Format(amzDateFormat)
	c := credential{akid: ak, date: at.UTC().Format("20060102"), region: "us-east-1", service: "s3"}
	q := parseQuery(pu.RawQuery)
	q.Set("X-Amz-Algorithm", algoV4)
	q.Set("X-Amz-Credential", ak+"/"+c.scope())
	q.Set("X-Amz-Date", amzDate)
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires.Seconds())))
	q.Set("X-Amz-SignedHeaders", "host")
	r := &http.Request{Method: method, Host: pu.Host, Header: http.Header{}}
	creq := strings.Join([]string{method, awsEncodePath(pu.Path), canonicalQuery(q, ""), canonicalHeaders(r, []string{"host"}, r.Host), "host", unsignedPayload}, "\n")
	sts := algoV4 + "\n" + amzDate + "\n" + c.scope() + "\n" + sha256Hex(creq)
	q.Set("X-Amz-Signature", hex.EncodeToString(hmacSHA256(signingKeyV4(sk, c), sts)))
	pu.RawQuery = canonicalQuery(q, "")
	return pu.String()
}

// signV2 signs r with Signature V2 in the Authorization header.
func signV2(r *http.Request, ak, sk, uri string) {
	r.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	q := &request{r: r, query: parseQuery(r.URL.RawQuery)}
	sts := r.Method + "\n" + r.Header.Get("Content-Md5") + "\n" + r.Header.Get("Content-Type") + "\n" +
		r.Header.Get("Date") + "\n" + canonicalAmzHeadersV2(r) + uri + subresourcesV2(q)
	m := hmac.New(sha1.New, []byte(sk))
	m.Write([]byte(sts))
	r.Header.Set("Authorization", "AWS "+ak+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func sha256hexb(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

var bg = context.Background()

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
