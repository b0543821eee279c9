package gateway

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every way of signing, right and wrong, against a gateway with keys; a
// refused request must change nothing.
func TestAuthWithKeys(t *testing.T) {
	e := newEnv(t, true)
	e.must(200, req{method: "PUT", path: "/bkt", sign: "v4"})
	body := []byte("signed content")
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"v4 header", req{method: "PUT", path: "/bkt/v4", body: body, sign: "v4"}, 200, ""},
		{"v4 over the prefixed path", req{method: "PUT", path: "/api/v1/s3/bkt/v4p", body: body, sign: "v4"}, 200, ""},
		{"v4 over the path without the prefix", req{method: "PUT", path: "/api/v1/s3/bkt/v4u", body: body, sign: "v4-unprefixed"}, 200, ""},
		{"v4 with an encoded key", req{method: "PUT", path: "/bkt/a%20b%2Bc%3D%C3%A9", body: body, sign: "v4"}, 200, ""},
		{"v4 with a query", req{method: "GET", path: "/bkt?list-type=2&prefix=a%20b&max-keys=5", sign: "v4"}, 200, ""},
		{"v2 header", req{method: "PUT", path: "/bkt/v2", body: body, sign: "v2", hdr: map[string]string{"Content-Type": "text/plain", "x-amz-meta-k": "v"}}, 200, ""},
		{"v2 over the prefixed path", req{method: "PUT", path: "/api/v1/s3/bkt/v2p", body: body, sign: "v2"}, 200, ""},
		{"v2 subresource", req{method: "GET", path: "/bkt?location", sign: "v2"}, 200, ""},
		{"unsigned", req{method: "PUT", path: "/bkt/anon", body: body}, 403, "AccessDenied"},
		{"alluxio style", req{method: "PUT", path: "/bkt/alluxio", body: body, hdr: map[string]string{"Authorization": "AWS hoardtestkey:"}}, 403, "AccessDenied"},
		{"unknown scheme", req{method: "PUT", path: "/bkt/bearer", body: body, hdr: map[string]string{"Authorization": "Bearer x"}}, 400, "AuthorizationHeaderMalformed"},
		{"wrong payload hash", req{method: "PUT", path: "/bkt/badhash", body: body, sign: "v4", hdr: map[string]string{"X-Test-Tamper": "body"}}, 400, "XAmzContentSHA256Mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			r := tc.r
			if r.hdr["X-Test-Tamper"] == "body" {
				// Sign one body, send another of the same length.
				hr, _ := http.NewRequest(r.method, e.url+r.path, bytes.NewReader(bytes.ToUpper(r.body)))
				signV4(hr, e.ak, e.sk, hr.URL.EscapedPath(), sha256Hex(string(r.body)))
				resp, err := http.DefaultClient.Do(hr)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d", resp.StatusCode)
				}
			} else if tc.code == "" {
				e.must(tc.status, r)
			} else {
				e.mustErr(tc.status, tc.code, r)
			}
			if tc.code != "" && r.method == "PUT" {
				if _, err := e.st.Resolve(bg, "/bkt/"+strings.TrimPrefix(r.path, "/bkt/")); err == nil {
					t.Fatal("a refused request wrote")
				}
			}
		})
	}
	// Wrong secret, wrong key, skewed clock, in every form.
	bad := *e
	bad.sk = "wrong"
	for _, sign := range []string{"v4", "v2"} {
		bad.mustErr(403, "SignatureDoesNotMatch", req{method: "PUT", path: "/bkt/forged-" + sign, body: body, sign: sign})
		bad.mustErr(403, "SignatureDoesNotMatch", req{method: "DELETE", path: "/bkt/v4", sign: sign})
	}
	other := *e
	other.ak = "nobody"
	other.mustErr(403, "InvalidAccessKeyId", req{method: "GET", path: "/", sign: "v4"})
	other.mustErr(403, "InvalidAccessKeyId", req{method: "GET", path: "/", sign: "v2"})
	e.must(200, req{method: "HEAD", path: "/bkt/v4", sign: "v4"})
	hr, _ := http.NewRequest("GET", e.url+"/bkt/v4", nil)
	signV4(hr, e.ak, e.sk, "/bkt/v4", emptySHA256)
	hr.Header.Set("X-Amz-Date", time.Now().Add(-time.Hour).UTC().Format(amzDateFormat))
	if resp, _ := http.DefaultClient.Do(hr); resp.StatusCode != 403 {
		t.Fatalf("skewed request: %d", resp.StatusCode)
	}
}

func TestPresigned(t *testing.T) {
	e := newEnv(t, true)
	e.must(200, req{method: "PUT", path: "/bkt", sign: "v4"})
	e.must(200, req{method: "PUT", path: "/bkt/obj", body: []byte("data"), sign: "v4"})
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now()
	for _, tc := range []struct {
		name string
		url  string
		want int
	}{
		{"v4", presignV4("GET", e.url+"/bkt/obj", e.ak, e.sk, time.Hour, now), 200},
		{"v4 prefixed", presignV4("GET", e.url+"/api/v1/s3/bkt/obj", e.ak, e.sk, time.Hour, now), 200},
		{"v4 with overrides", presignV4("GET", e.url+"/bkt/obj?response-content-type=text%2Fplain", e.ak, e.sk, time.Hour, now), 200},
		{"v4 expired", presignV4("GET", e.url+"/bkt/obj", e.ak, e.sk, time.Minute, now.Add(-time.Hour)), 403},
		{"v4 wrong secret", presignV4("GET", e.url+"/bkt/obj", e.ak, "nope", time.Hour, now), 403},
		{"v4 other object", strings.Replace(presignV4("GET", e.url+"/bkt/obj", e.ak, e.sk, time.Hour, now), "/bkt/obj", "/bkt/ob", 1), 403},
		{"v2", presignV2("GET", e.url, "/bkt/obj", e.ak, e.sk, now.Add(time.Hour)), 200},
		{"v2 expired", presignV2("GET", e.url, "/bkt/obj", e.ak, e.sk, now.Add(-time.Second)), 403},
		{"v2 wrong secret", presignV2("GET", e.url, "/bkt/obj", e.ak, "nope", now.Add(time.Hour)), 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(tc.url); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	// A presigned PUT.
	u := presignV4("PUT", e.url+"/bkt/up", e.ak, e.sk, time.Hour, now)
	hr, _ := http.NewRequest("PUT", u, strings.NewReader("uploaded"))
	resp, err := http.DefaultClient.Do(hr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned PUT: %v %v", resp, err)
	}
	_, b := e.must(200, req{method: "GET", path: "/bkt/up", sign: "v4"})
	if string(b) != "uploaded" {
		t.Fatalf("got %q", b)
	}
}

func presignV2(method, base, path, ak, sk string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha1.New, []byte(sk))
	m.Write([]byte(method + "\n\n\n" + exp + "\n" + path))
	sig := base64.StdEncoding.EncodeToString(m.Sum(nil))
	return base + path + "?AWSAccessKeyId=" + ak + "&Expires=" + exp + "&Signature=" + awsEncode(sig, false)
}

// chunked builds an aws-chunked body of data in chunks of size n; with a
// seed signature it signs every chunk (and the trailer), as the SDKs do.
func chunked(data []byte, n int, seed string, info *authInfo, trailer map[string]string) []byte {
	var b bytes.Buffer
	prev := seed
	sign := func(sts string) string { return hex.EncodeToString(hmacSHA256(info.signingKey, sts)) }
	for off := 0; ; off += n {
		chunk := data[min(off, len(data)):min(off+n, len(data))]
		fmt.Fprintf(&b, "%x", len(chunk))
		if info != nil {
			sig := sign("AWS4-HMAC-SHA256-PAYLOAD\n" + info.amzDate + "\n" + info.scope + "\n" + prev + "\n" + emptySHA256 + "\n" + sha256hexb(chunk))
			prev = sig
			b.WriteString(";chunk-signature=" + sig)
		}
		b.WriteString("\r\n")
		b.Write(chunk)
		if len(chunk) == 0 {
			break
		}
		b.WriteString("\r\n")
	}
	if trailer == nil {
		b.WriteString("\r\n")
		return b.Bytes()
	}
	var tr strings.Builder
	for k, v := range trailer {
		tr.WriteString(k + ":" + v + "\n")
	}
	b.WriteString(strings.ReplaceAll(tr.String(), "\n", "\r\n"))
	if info != nil {
		sig := sign("AWS4-HMAC-SHA256-TRAILER\n" + info.amzDate + "\n" + info.scope + "\n" + prev + "\n" + sha256Hex(tr.String()))
		b.WriteString("x-amz-trailer-signature:" + sig + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// streamingPut sends data as an aws-chunked PUT with content hash mode
// mode; tamper corrupts one byte of the encoded body after signing.
func streamingPut(t *testing.T, e *env, key string, data []byte, mode string, trailer map[string]string, tamper bool) int {
	t.Helper()
	now := time.Now().UTC()
	c := credential{akid: e.ak, date: now.Format("20060102"), region: "us-east-1", service: "s3"}
	amzDate := now.Format(amzDateFormat)
	hr, _ := http.NewRequest("PUT", e.url+"/bkt/"+key, nil)
	hr.Header.Set("X-Amz-Date", amzDate)
	hr.Header.Set("X-Amz-Content-Sha256", mode)
	hr.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
	hr.Header.Set("Content-Encoding", "aws-chunked")
	for k := range trailer {
		hr.Header.Set("X-Amz-Trailer", k)
	}
	signed := []string{"content-encoding", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-decoded-content-length"}
	if trailer != nil {
		signed = append(signed, "x-amz-trailer")
	}
	creq := strings.Join([]string{"PUT", "/bkt/" + key, "", canonicalHeaders(hr, signed, hr.Host), strings.Join(signed, ";"), mode}, "\n")
	sts := algoV4 + "\n" + amzDate + "\n" + c.scope() + "\n" + sha256Hex(creq)
	key4 := signingKeyV4(e.sk, c)
	seed := hex.EncodeToString(hmacSHA256(key4, sts))
	hr.Header.Set("Authorization", algoV4+" Credential="+e.ak+"/"+c.scope()+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+seed)
	var info *authInfo
	if mode != streamingUnsignedTrailer {
		info = &authInfo{signingKey: key4, amzDate: amzDate, scope: c.scope()}
	}
	body := chunked(data, 1000, seed, info, trailer)
	if tamper {
		body[len(body)/2] ^= 1
	}
	hr.Body = io.NopCloser(bytes.NewReader(body))
	hr.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Logf("%s", b)
	}
	return resp.StatusCode
}

func TestStreamingUploads(t *testing.T) {
	for _, keys := range []bool{true, false} {
		e := newEnv(t, keys)
		e.must(200, req{method: "PUT", path: "/bkt", sign: "v4"})
		data := randBytes(5, 4567)
		crc := crc32.ChecksumIEEE(data)
		good := base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
		for _, tc := range []struct {
			name    string
			mode    string
			trailer map[string]string
			tamper  bool
			want    int
		}{
			{"signed chunks", streamingSigned, nil, false, 200},
			{"signed chunks with trailer", streamingSignedTrailer, map[string]string{"x-amz-checksum-crc32": good}, false, 200},
			{"unsigned with trailer", streamingUnsignedTrailer, map[string]string{"x-amz-checksum-crc32": good}, false, 200},
			{"unsigned, wrong checksum", streamingUnsignedTrailer, map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, false, 400},
			{"signed chunks, tampered", streamingSigned, nil, true, map[bool]int{true: 403, false: 200}[keys]},
		} {
			t.Run(fmt.Sprintf("keys=%v/%s", keys, tc.name), func(t *testing.T) {
				e := e.with(t)
				key := strings.ReplaceAll(tc.name, " ", "-")
				if got := streamingPut(t, e, key, data, tc.mode, tc.trailer, tc.tamper); got != tc.want {
					t.Fatalf("status %d, want %d", got, tc.want)
				}
				_, err := e.st.Resolve(bg, "/bkt/"+key)
				if tc.want != 200 {
					if err == nil {
						t.Fatal("a refused upload left an object")
					}
					return
				}
				if tc.tamper {
					return // without keys nothing checks the chunks
				}
				_, b := e.must(200, req{method: "GET", path: "/bkt/" + key, sign: "v4"})
				if !bytes.Equal(b, data) {
					t.Fatal("decoded content differs")
				}
			})
		}
	}
}

// Without keys, the signer's access key id names the owner (Alluxio).
func TestAuthNamesUser(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt", hdr: map[string]string{"Authorization": "AWS testuser:"}})
	cases := []struct {
		r    req
		want string
	}{
		{req{method: "PUT", path: "/bkt/v2", body: []byte("x"), hdr: map[string]string{"Authorization": "AWS testuser:"}}, "testuser"},
		{req{method: "PUT", path: "/bkt/v4", body: []byte("x"), sign: "v4"}, testAK},
		{req{method: "PUT", path: "/bkt/anon", body: []byte("x")}, processUser()},
	}
	for _, c := range cases {
		e.must(200, c.r)
		n, err := e.st.Resolve(bg, c.r.path)
		if err != nil || n.Owner != c.want {
			t.Fatalf("%s: owner %v (%v), want %s", c.r.path, n, err, c.want)
		}
	}
	if n, _ := e.st.Resolve(bg, "/bkt"); n.Owner != "testuser" {
		t.Fatalf("bucket owner %s", n.Owner)
	}
	// Whatever the signature says, nothing is verified.
	e.must(200, req{method: "GET", path: "/bkt/v2", hdr: map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=x/20200101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"}})
}

func TestUnitAuthHelpers(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a b", "a%20b"}, {"a/b", "a/b"}, {"é", "%C3%A9"}, {"a+b=c~d_e.f-g", "a%2Bb%3Dc~d_e.f-g"},
	} {
		if got := awsEncodePath(tc.in); got != tc.want {
			t.Errorf("awsEncodePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := canonicalQuery(parseQuery("b=2&a=1&a=0&uploads&x=a%2Fb"), ""); got != "a=0&a=1&b=2&uploads=&x=a%2Fb" {
		t.Errorf("canonicalQuery: %q", got)
	}
	for _, tc := range []struct {
		in   string
		ok   bool
		akid string
	}{
		{"AK/20200101/us-east-1/s3/aws4_request", true, "AK"},
		{"AK/20200101/us-east-1/s3", false, ""},
		{"", false, ""},
	} {
		c, ok := parseCredential(tc.in)
		if ok != tc.ok || c.akid != tc.akid {
			t.Errorf("parseCredential(%q) = %+v %v", tc.in, c, ok)
		}
	}
	// Unencoded query values, as boto 2 and s3fs send them.
	q := parseQuery("prefix=50%&uploadId=a b&marker=x%2Fy")
	if q.Get("prefix") != "50%" || q.Get("uploadId") != "a b" || q.Get("marker") != "x/y" {
		t.Errorf("parseQuery: %v", q)
	}
}
