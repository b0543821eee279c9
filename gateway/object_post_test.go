package gateway

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// formPost sends an HTML-form upload of content with fields, file last.
func formPost(t *testing.T, u string, fields map[string]string, filename string, content []byte) (int, http.Header, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", filename)
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", u, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestPostObject(t *testing.T) {
	e := newEnv(t, true)
	e.must(200, req{method: "PUT", path: "/bkt", sign: "v4"})
	ctx := context.Background()
	host := strings.TrimPrefix(e.url, "http://")
	v4, _ := minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(testAK, testSK, ""), Region: "us-east-1"})
	v2, _ := minio.New(host, &minio.Options{Creds: credentials.NewStaticV2(testAK, testSK, ""), Region: "us-east-1"})
	bad, _ := minio.New(host, &minio.Options{Creds: credentials.NewStaticV4(testAK, "wrong", ""), Region: "us-east-1"})
	policy := func(c *minio.Client, key string, exp time.Time, mod func(p *minio.PostPolicy)) (string, map[string]string) {
		p := minio.NewPostPolicy()
		p.SetBucket("bkt")
		p.SetKey(key)
		p.SetExpires(exp)
		if mod != nil {
			mod(p)
		}
		u, f, err := c.PresignedPostPolicy(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return u.String(), f
	}
	later := time.Now().Add(time.Hour)
	content := []byte("form content")
	for _, tc := range []struct {
		name   string
		client *minio.Client
		key    string
		exp    time.Time
		mod    func(p *minio.PostPolicy)
		edit   func(f map[string]string)
		status int
		code   string
	}{
		{"v4", v4, "up/v4.txt", later, nil, nil, 204, ""},
		{"v2", v2, "up/v2.txt", later, nil, nil, 204, ""},
		{"with conditions", v4, "up/typed.txt", later, func(p *minio.PostPolicy) {
			p.SetContentType("text/plain")
			p.SetContentLengthRange(1, 100)
			p.SetUserMetadata("color", "blue")
			p.SetSuccessStatusAction("201")
		}, nil, 201, ""},
		{"too large", v4, "up/big.txt", later, func(p *minio.PostPolicy) { p.SetContentLengthRange(1, 5) }, nil, 400, "EntityTooLarge"},
		{"other key", v4, "up/a.txt", later, nil, func(f map[string]string) { f["key"] = "up/b.txt" }, 403, "AccessDenied"},
		{"expired", v4, "up/old.txt", time.Now().Add(-time.Minute), nil, nil, 403, "AccessDenied"},
		{"wrong secret", bad, "up/forged.txt", later, nil, nil, 403, "SignatureDoesNotMatch"},
		{"no policy", v4, "up/nopolicy.txt", later, nil, func(f map[string]string) { delete(f, "policy") }, 403, "AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, f := policy(tc.client, tc.key, tc.exp, tc.mod)
			if tc.edit != nil {
				tc.edit(f)
			}
			if tc.mod != nil && tc.status == 201 {
				f["Content-Type"] = "text/plain"
				f["x-amz-meta-color"] = "blue"
			}
			status, _, body := formPost(t, u, f, "local.txt", content)
			if status != tc.status || (tc.code != "" && !strings.Contains(body, "<Code>"+tc.code+"<")) {
				t.Fatalf("status %d: %s", status, body)
			}
			_, err := e.st.Resolve(bg, "/bkt/"+f["key"])
			if (err == nil) != (tc.code == "") {
				t.Fatalf("object exists: %v", err == nil)
			}
			if tc.status == 201 {
				h, b := e.with(t).must(200, req{method: "GET", path: "/bkt/" + tc.key, sign: "v4"})
				if !bytes.Equal(b, content) || h.Get("Content-Type") != "text/plain" || h.Get("x-amz-meta-color") != "blue" {
					t.Fatalf("object: %v %q", h, b)
				}
				if !strings.Contains(body, "<PostResponse>") {
					t.Fatal(body)
				}
			}
		})
	}
}

// Without keys a form upload needs no policy; ${filename} and the redirect.
func TestPostObjectNoKeys(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	status, h, body := formPost(t, e.url+"/bkt", map[string]string{
		"key": "in/${filename}", "AWSAccessKeyId": "carol", "success_action_redirect": "http://example.invalid/done?x=1",
	}, "photo.jpg", []byte("jpeg"))
	if status != http.StatusSeeOther {
		t.Fatalf("status %d: %s", status, body)
	}
	loc, _ := url.Parse(h.Get("Location"))
	if loc.Query().Get("key") != "in/photo.jpg" || loc.Query().Get("bucket") != "bkt" || loc.Query().Get("x") != "1" {
		t.Fatalf("redirect %s", loc)
	}
	n, err := e.st.Resolve(bg, "/bkt/in/photo.jpg")
	if err != nil || n.Owner != "carol" {
		t.Fatalf("object: %+v %v", n, err)
	}
	status, _, body = formPost(t, e.url+"/bkt", map[string]string{"key": "a//b"}, "f", []byte("x"))
	if status != 400 || !strings.Contains(body, "XMinioInvalidObjectName") {
		t.Fatalf("bad key: %d %s", status, body)
	}
	status, _, body = formPost(t, e.url+"/bkt", map[string]string{}, "f", []byte("x"))
	if status != 400 || !strings.Contains(body, "InvalidArgument") {
		t.Fatalf("no key: %d %s", status, body)
	}
	e.mustErr(405, "MethodNotAllowed", req{method: "POST", path: "/bkt", body: []byte("x"), hdr: map[string]string{"Content-Type": "text/plain"}})
}
