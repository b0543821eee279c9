package gateway

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
)

func TestPutObject(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	data := []byte("some content")
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"plain", req{method: "PUT", path: "/bkt/plain", body: data}, 200, ""},
		{"nested", req{method: "PUT", path: "/bkt/a/b/c/d.txt", body: data}, 200, ""},
		{"empty", req{method: "PUT", path: "/bkt/empty"}, 200, ""},
		{"overwrite", req{method: "PUT", path: "/bkt/plain", body: []byte("new")}, 200, ""},
		{"content-md5", req{method: "PUT", path: "/bkt/md5", body: data, hdr: map[string]string{"Content-MD5": md5b64(data)}}, 200, ""},
		{"wrong content-md5", req{method: "PUT", path: "/bkt/badmd5", body: data, hdr: map[string]string{"Content-MD5": md5b64([]byte("other"))}}, 400, "BadDigest"},
		{"invalid content-md5", req{method: "PUT", path: "/bkt/badmd5", body: data, hdr: map[string]string{"Content-MD5": "nope"}}, 400, "InvalidDigest"},
		{"marker", req{method: "PUT", path: "/bkt/dir/"}, 200, ""},
		{"marker with a body", req{method: "PUT", path: "/bkt/dir2/", body: data}, 400, "InvalidArgument"},
		{"double slash", req{method: "PUT", path: "/bkt/a//b", body: data}, 400, "XMinioInvalidObjectName"},
		{"dot dot", req{method: "PUT", path: "/bkt/../x", body: data}, 400, "XMinioInvalidObjectName"},
		{"dot dot inside", req{method: "PUT", path: "/bkt/a/../x", body: data}, 400, "XMinioInvalidObjectName"},
		{"dot", req{method: "PUT", path: "/bkt/./x", body: data}, 400, "XMinioInvalidObjectName"},
		{"encoded dot dot", req{method: "PUT", path: "/bkt/a/%2E%2E/x", body: data}, 400, "XMinioInvalidObjectName"},
		{"leading slash", req{method: "PUT", path: "/bkt//x", body: data}, 400, "XMinioInvalidObjectName"},
		{"only a slash", req{method: "PUT", path: "/bkt//", body: data}, 400, "XMinioInvalidObjectName"},
		{"component too long", req{method: "PUT", path: "/bkt/" + long, body: data}, 400, "KeyTooLongError"},
		{"key too long", req{method: "PUT", path: "/bkt/" + strings.Repeat("abcdefgh/", 120), body: data}, 400, "KeyTooLongError"},
		{"under an object", req{method: "PUT", path: "/bkt/plain/child", body: data}, 400, "XMinioParentIsObject"},
		{"over a directory", req{method: "PUT", path: "/bkt/a/b", body: data}, 409, "XMinioObjectExistsAsDirectory"},
		{"marker over an object", req{method: "PUT", path: "/bkt/plain/"}, 400, "XMinioParentIsObject"},
		{"user metadata too large", req{method: "PUT", path: "/bkt/meta", body: data, hdr: map[string]string{"x-amz-meta-big": strings.Repeat("v", 2100)}}, 400, "MetadataTooLarge"},
		{"too many tags", req{method: "PUT", path: "/bkt/tags", body: data, hdr: map[string]string{"x-amz-tagging": "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11"}}, 400, "InvalidTag"},
		{"if-none-match on a new key", req{method: "PUT", path: "/bkt/cond", body: data, hdr: map[string]string{"If-None-Match": "*"}}, 200, ""},
		{"if-none-match on an existing key", req{method: "PUT", path: "/bkt/cond", body: data, hdr: map[string]string{"If-None-Match": "*"}}, 412, "PreconditionFailed"},
		{"if-match wrong", req{method: "PUT", path: "/bkt/cond", body: data, hdr: map[string]string{"If-Match": `"nope"`}}, 412, "PreconditionFailed"},
		{"if-match on a missing key", req{method: "PUT", path: "/bkt/nocond", body: data, hdr: map[string]string{"If-Match": `"nope"`}}, 404, "NoSuchKey"},
		{"too large", req{method: "PUT", path: "/bkt/huge", body: data, hdr: map[string]string{"X-Test-Length": "6000000000"}}, 400, "EntityTooLarge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			if l := tc.r.hdr["X-Test-Length"]; l != "" {
				// Announce a length and send nothing: refused first.
				conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Length: %s\r\n\r\n", tc.r.path, l)
				b := make([]byte, 4096)
				n, _ := conn.Read(b)
				if !strings.Contains(string(b[:n]), tc.code) {
					t.Fatalf("got %s", b[:n])
				}
				return
			}
			if tc.code == "" {
				h, _ := e.must(tc.status, tc.r)
				if !strings.HasSuffix(tc.r.path, "/") && h.Get("ETag") != `"`+md5hex(tc.r.body)+`"` {
					t.Fatalf("ETag %s", h.Get("ETag"))
				}
				return
			}
			e.mustErr(tc.status, tc.code, tc.r)
		})
	}
	// Refused puts left nothing.
	for _, p := range []string{"/bkt/badmd5", "/bkt/dir2", "/bkt/meta", "/bkt/tags", "/bkt/nocond", "/bkt/x"} {
		if _, err := e.st.Resolve(bg, p); err == nil {
			t.Fatalf("%s exists", p)
		}
	}
	// Every put is a file in the namespace at once.
	for p, want := range map[string]string{"/bkt/plain": "new", "/bkt/a/b/c/d.txt": string(data), "/bkt/empty": ""} {
		if got := readStore(t, e, p); got != want {
			t.Fatalf("%s: %q, want %q", p, got, want)
		}
	}
	if n, err := e.st.Resolve(bg, "/bkt/dir"); err != nil || n.Type != store.TypeDir {
		t.Fatalf("marker made no directory: %v %v", n, err)
	}
}

func md5hex(b []byte) string {
	s := md5b64(b)
	raw, _ := decodeB64(s)
	return fmt.Sprintf("%x", raw)
}

func readStore(t *testing.T, e *env, p string) string {
	t.Helper()
	h, _, err := e.st.OpenPath(bg, p, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	b, err := io.ReadAll(io.NewSectionReader(h, 0, h.Size()))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A client that goes away mid-body leaves nothing: no object, no staged
// file, no quota.
func TestPutDisconnect(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	e.must(200, req{method: "PUT", path: "/bkt/old", body: []byte("old content")})
	used := e.st.CacheStats().Used
	for _, key := range []string{"new", "old"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT /bkt/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", key, 8<<20)
		conn.Write(make([]byte, 3<<20))
		time.Sleep(50 * time.Millisecond)
		conn.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.st.CacheStats().Used != used && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := e.st.Resolve(bg, "/bkt/new"); err == nil {
		t.Fatal("a cut upload made an object")
	}
	if got := readStore(t, e, "/bkt/old"); got != "old content" {
		t.Fatalf("a cut overwrite changed the object: %q", got)
	}
	if u := e.st.CacheStats().Used; u != used {
		t.Fatalf("cache accounts %d bytes, %d before", u, used)
	}
	var staged []string
	filepath.Walk(filepath.Join(e.dir, "cache"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			staged = append(staged, p)
		}
		return nil
	})
	if len(staged) != 1 { // old's cache file
		t.Fatalf("cache files: %v", staged)
	}
	// A chunked body cut short is no object either.
	conn, _ := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	fmt.Fprintf(conn, "PUT /bkt/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n")
	conn.Write(make([]byte, 1000))
	conn.Close()
	time.Sleep(100 * time.Millisecond)
	if _, err := e.st.Resolve(bg, "/bkt/chunked"); err == nil {
		t.Fatal("a cut chunked upload made an object")
	}
}

// An overwrite switches readers from the old content to the new whole:
// a reader that opened the old one keeps reading it.
func TestPutAtomicOverwrite(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	old := randBytes(1, 2<<20)
	e.must(200, req{method: "PUT", path: "/bkt/obj", body: old})
	resp := e.do(req{method: "GET", path: "/bkt/obj"})
	first := make([]byte, 1000)
	io.ReadFull(resp.Body, first)
	neu := randBytes(2, 2<<20)
	e.must(200, req{method: "PUT", path: "/bkt/obj", body: neu})
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(append(first, rest...), old) {
		t.Fatal("a reader of the old content saw the new")
	}
	if _, b := e.must(200, req{method: "GET", path: "/bkt/obj"}); !bytes.Equal(b, neu) {
		t.Fatal("new content not served")
	}
}

func TestDeleteObject(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	put := func(k string) { e.must(200, req{method: "PUT", path: "/bkt/" + k, body: []byte(k)}) }
	put("a/b/c/obj")
	put("a/other")
	put("x/y/z")
	e.must(200, req{method: "PUT", path: "/bkt/m/"})
	e.must(200, req{method: "PUT", path: "/bkt/n/"})
	put("n/inside")
	for _, tc := range []struct {
		name   string
		path   string
		status int
		gone   []string
		stays  []string
	}{
		{"missing key", "/bkt/nope", 204, nil, nil},
		{"under a file", "/bkt/a/other/x", 204, nil, []string{"/bkt/a/other"}},
		{"a directory is no object", "/bkt/a", 204, nil, []string{"/bkt/a"}},
		{"object, pruning empty parents", "/bkt/a/b/c/obj", 204, []string{"/bkt/a/b"}, []string{"/bkt/a", "/bkt/a/other"}},
		{"last object up to the bucket", "/bkt/x/y/z", 204, []string{"/bkt/x"}, []string{"/bkt"}},
		{"empty marker", "/bkt/m/", 204, []string{"/bkt/m"}, nil},
		{"marker of a non-empty prefix", "/bkt/n/", 204, nil, []string{"/bkt/n/inside"}},
		{"prefixed path", "/api/v1/s3/bkt/n/inside", 204, []string{"/bkt/n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			e.must(tc.status, req{method: "DELETE", path: tc.path})
			for _, p := range tc.gone {
				if _, err := e.st.Resolve(bg, p); err == nil {
					t.Fatalf("%s still there", p)
				}
			}
			for _, p := range tc.stays {
				if _, err := e.st.Resolve(bg, p); err != nil {
					t.Fatalf("%s gone: %v", p, err)
				}
			}
		})
	}
	e.mustErr(400, "XMinioInvalidObjectName", req{method: "DELETE", path: "/bkt/a//b"})
	e.mustErr(404, "NoSuchBucket", req{method: "DELETE", path: "/nobkt/k"})
}

func TestDeleteObjects(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	for _, k := range []string{"a", "d/b", "d/c"} {
		e.must(200, req{method: "PUT", path: "/bkt/" + k, body: []byte(k)})
	}
	body := []byte(`<Delete><Object><Key>a</Key></Object><Object><Key>d/b</Key></Object><Object><Key>missing</Key></Object>` +
		`<Object><Key>x//y</Key></Object><Object><Key>d/c</Key><VersionId>7</VersionId></Object></Delete>`)
	_, b := e.must(200, req{method: "POST", path: "/bkt?delete", body: body, hdr: map[string]string{"Content-MD5": md5b64(body)}})
	var res struct {
		Deleted []struct{ Key string }
		Error   []struct{ Key, Code string }
	}
	if err := xml.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 3 || len(res.Error) != 2 || res.Error[0].Code != "XMinioInvalidObjectName" || res.Error[1].Code != "NotImplemented" {
		t.Fatalf("result: %s", b)
	}
	quiet := []byte(`<Delete><Quiet>true</Quiet><Object><Key>d/c</Key></Object></Delete>`)
	_, b = e.must(200, req{method: "POST", path: "/bkt?delete", body: quiet})
	if strings.Contains(string(b), "<Deleted>") {
		t.Fatalf("quiet result: %s", b)
	}
	if _, err := e.st.Resolve(bg, "/bkt/d"); err == nil {
		t.Fatal("emptied prefix left")
	}
	e.mustErr(400, "MalformedXML", req{method: "POST", path: "/bkt?delete", body: []byte("<Delete>")})
	e.mustErr(400, "MalformedXML", req{method: "POST", path: "/bkt?delete", body: []byte("<Delete></Delete>")})
	e.mustErr(400, "MalformedXML", req{method: "POST", path: "/bkt?delete"})
	e.mustErr(400, "BadDigest", req{method: "POST", path: "/bkt?delete", body: quiet, hdr: map[string]string{"Content-MD5": md5b64([]byte("x"))}})
	var many strings.Builder
	many.WriteString("<Delete>")
	for i := range 1001 {
		fmt.Fprintf(&many, "<Object><Key>k%d</Key></Object>", i)
	}
	many.WriteString("</Delete>")
	e.mustErr(400, "MalformedXML", req{method: "POST", path: "/bkt?delete", body: []byte(many.String())})
}

func TestObjectTagging(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	e.must(200, req{method: "PUT", path: "/bkt/k", body: []byte("x"), hdr: map[string]string{"x-amz-tagging": "a=1"}})
	get := func() string {
		_, b := e.must(200, req{method: "GET", path: "/bkt/k?tagging"})
		return string(b)
	}
	if g := get(); !strings.Contains(g, "<Tag><Key>a</Key><Value>1</Value></Tag>") {
		t.Fatal(g)
	}
	etag := e.must200ETag("/bkt/k")
	e.must(200, req{method: "PUT", path: "/bkt/k?tagging", body: []byte(`<Tagging><TagSet><Tag><Key>b</Key><Value>2</Value></Tag><Tag><Key>c</Key><Value></Value></Tag></TagSet></Tagging>`)})
	if g := get(); !strings.Contains(g, "<Key>b</Key>") || strings.Contains(g, "<Key>a</Key>") {
		t.Fatal(g)
	}
	if e.must200ETag("/bkt/k") != etag {
		t.Fatal("tagging changed the ETag")
	}
	e.must(204, req{method: "DELETE", path: "/bkt/k?tagging"})
	if g := get(); strings.Contains(g, "<Tag>") || !strings.Contains(g, "<TagSet></TagSet>") {
		t.Fatal(g)
	}
	e.mustErr(400, "InvalidTag", req{method: "PUT", path: "/bkt/k?tagging", body: []byte(`<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></TagSet></Tagging>`)})
	e.mustErr(400, "MalformedXML", req{method: "PUT", path: "/bkt/k?tagging", body: []byte(`<Tagging>`)})
	e.mustErr(404, "NoSuchKey", req{method: "GET", path: "/bkt/nope?tagging"})
	e.mustErr(404, "NoSuchKey", req{method: "PUT", path: "/bkt/nope?tagging", body: []byte(`<Tagging><TagSet></TagSet></Tagging>`)})
}

func (e *env) must200ETag(p string) string {
	h, _ := e.must(200, req{method: "HEAD", path: p})
	return h.Get("ETag")
}
