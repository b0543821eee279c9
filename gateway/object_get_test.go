package gateway

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h       string
		size    int64
		off, n  int64
		partial bool
		bad     bool
	}{
		{"", 10, 0, 0, false, false},
		{"bytes=0-4", 10, 0, 5, true, false},
		{"bytes=5-", 10, 5, 5, true, false},
		{"bytes=-3", 10, 7, 3, true, false},
		{"bytes=-30", 10, 0, 10, true, false},
		{"bytes=8-100", 10, 8, 2, true, false},
		{"bytes=9-9", 10, 9, 1, true, false},
		{"bytes=10-", 10, 0, 0, false, true},
		{"bytes=10-20", 10, 0, 0, false, true},
		{"bytes=-0", 10, 0, 0, false, true},
		{"bytes=0-", 0, 0, 0, false, true},
		{"bytes=5-2", 10, 0, 0, false, false},     // malformed: ignored
		{"bytes=0-1,3-4", 10, 0, 0, false, false}, // several: ignored
		{"items=0-1", 10, 0, 0, false, false},
		{"bytes=a-b", 10, 0, 0, false, false},
	} {
		r, partial, err := parseRange(tc.h, tc.size)
		if (err != nil) != tc.bad || partial != tc.partial || (partial && (r.off != tc.off || r.length != tc.n)) {
			t.Errorf("parseRange(%q, %d) = %+v %v %v", tc.h, tc.size, r, partial, err)
		}
	}
}

func TestConditions(t *testing.T) {
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 500, time.UTC).UnixNano()
	before := time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	same := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	after := time.Date(2024, 5, 1, 13, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	for _, tc := range []struct {
		c           conditions
		notModified bool
		failed      bool
	}{
		{conditions{}, false, false},
		{conditions{ifMatch: `"abc"`}, false, false},
		{conditions{ifMatch: `"x", "abc"`}, false, false},
		{conditions{ifMatch: "*"}, false, false},
		{conditions{ifMatch: `"x"`}, false, true},
		{conditions{ifNoneMatch: `"abc"`}, true, false},
		{conditions{ifNoneMatch: `W/"abc"`}, true, false},
		{conditions{ifNoneMatch: `"x"`}, false, false},
		{conditions{ifModifiedSince: before}, false, false},
		{conditions{ifModifiedSince: same}, true, false},
		{conditions{ifModifiedSince: after}, true, false},
		{conditions{ifUnmodifiedSince: before}, false, true},
		{conditions{ifUnmodifiedSince: same}, false, false},
		// If-Match wins over If-Unmodified-Since, If-None-Match over
		// If-Modified-Since.
		{conditions{ifMatch: `"abc"`, ifUnmodifiedSince: before}, false, false},
		{conditions{ifNoneMatch: `"x"`, ifModifiedSince: after}, false, false},
		{conditions{ifModifiedSince: "garbage"}, false, false},
	} {
		nm, err := tc.c.check("abc", mtime)
		if nm != tc.notModified || (err != nil) != tc.failed {
			t.Errorf("%+v: notModified %v, err %v", tc.c, nm, err)
		}
	}
}

func TestGetObject(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	small := []byte("0123456789")
	big := randBytes(1, 3<<20+5)
	h, _ := e.must(200, req{method: "PUT", path: "/bkt/small", body: small, hdr: map[string]string{
		"Content-Type": "text/x-test", "x-amz-meta-Color": "blue", "Cache-Control": "no-cache",
		"Content-Disposition": "inline", "Content-Language": "fr", "Expires": "Wed, 21 Oct 2015 07:28:00 GMT",
		"x-amz-tagging": "a=1&b=2",
	}})
	etag := h.Get("ETag")
	e.must(200, req{method: "PUT", path: "/bkt/big", body: big})
	// Through the UFS only: not in the cache, read through the store.
	e.must(200, req{method: "PUT", path: "/bkt/through", body: big, hdr: map[string]string{"x-hoard-write-type": "THROUGH"}})
	e.mustErr(400, "InvalidArgument", req{method: "PUT", path: "/bkt/bad-type", body: big, hdr: map[string]string{"x-hoard-write-type": "SOMETIMES"}})
	e.mustErr(400, "InvalidArgument", req{method: "GET", path: "/bkt/big", hdr: map[string]string{"x-hoard-read-type": "MAYBE"}})
	lastMod := h.Get("Date")

	type want struct {
		status  int
		body    []byte
		headers map[string]string
	}
	for _, tc := range []struct {
		name string
		r    req
		w    want
	}{
		{"whole", req{method: "GET", path: "/bkt/small"}, want{200, small, map[string]string{
			"ETag": etag, "Content-Type": "text/x-test", "x-amz-meta-color": "blue", "Cache-Control": "no-cache",
			"Content-Disposition": "inline", "Content-Language": "fr", "Expires": "Wed, 21 Oct 2015 07:28:00 GMT",
			"Content-Length": "10", "Accept-Ranges": "bytes", "x-amz-tagging-count": "2"}}},
		{"head", req{method: "HEAD", path: "/bkt/small"}, want{200, nil, map[string]string{"ETag": etag, "Content-Length": "10"}}},
		{"range", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"Range": "bytes=2-4"}}, want{206, []byte("234"),
			map[string]string{"Content-Range": "bytes 2-4/10", "Content-Length": "3"}}},
		{"open range", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"Range": "bytes=7-"}}, want{206, []byte("789"), nil}},
		{"suffix range", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"Range": "bytes=-2"}}, want{206, []byte("89"), nil}},
		{"head range", req{method: "HEAD", path: "/bkt/small", hdr: map[string]string{"Range": "bytes=0-0"}}, want{206, nil, map[string]string{"Content-Length": "1"}}},
		{"big range, cached (sendfile)", req{method: "GET", path: "/bkt/big", hdr: map[string]string{"Range": "bytes=1000000-2999999"}}, want{206, big[1000000:3000000], nil}},
		{"big, cached", req{method: "GET", path: "/bkt/big"}, want{200, big, nil}},
		{"big, from the UFS", req{method: "GET", path: "/bkt/through"}, want{200, big, nil}},
		{"big range, from the UFS", req{method: "GET", path: "/bkt/through", hdr: map[string]string{"Range": "bytes=-100000"}}, want{206, big[len(big)-100000:], nil}},
		{"NO_CACHE", req{method: "GET", path: "/bkt/through", hdr: map[string]string{"x-hoard-read-type": "NO_CACHE"}}, want{200, big, nil}},
		{"if-none-match", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"If-None-Match": etag}}, want{304, nil, map[string]string{"ETag": etag}}},
		{"if-modified-since", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"If-Modified-Since": time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}, want{304, nil, nil}},
		{"if-match", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"If-Match": etag}}, want{200, small, nil}},
		{"head if-none-match", req{method: "HEAD", path: "/bkt/small", hdr: map[string]string{"If-None-Match": etag}}, want{304, nil, nil}},
		{"response overrides", req{method: "GET", path: "/bkt/small?response-content-type=a/b&response-content-disposition=attachment&response-cache-control=max-age%3D1"},
			want{200, small, map[string]string{"Content-Type": "a/b", "Content-Disposition": "attachment", "Cache-Control": "max-age=1"}}},
		{"part 1", req{method: "GET", path: "/bkt/small?partNumber=1"}, want{200, small, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			h, b := e.must(tc.w.status, tc.r)
			if tc.w.body != nil && !bytes.Equal(b, tc.w.body) {
				t.Fatalf("body: %d bytes, want %d", len(b), len(tc.w.body))
			}
			for k, v := range tc.w.headers {
				if h.Get(k) != v {
					t.Fatalf("%s: %q, want %q", k, h.Get(k), v)
				}
			}
		})
	}
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string
	}{
		{"range past the end", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"Range": "bytes=10-"}}, 416, "InvalidRange"},
		{"if-match fails", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"If-Match": `"nope"`}}, 412, "PreconditionFailed"},
		{"if-unmodified-since fails", req{method: "GET", path: "/bkt/small", hdr: map[string]string{"If-Unmodified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}}, 412, "PreconditionFailed"},
		{"head if-match fails", req{method: "HEAD", path: "/bkt/small", hdr: map[string]string{"If-Match": `"nope"`}}, 412, ""},
		{"missing", req{method: "GET", path: "/bkt/nope"}, 404, "NoSuchKey"},
		{"head missing", req{method: "HEAD", path: "/bkt/nope"}, 404, ""},
		{"under a file", req{method: "GET", path: "/bkt/small/x"}, 404, "NoSuchKey"},
		{"part 2", req{method: "GET", path: "/bkt/small?partNumber=2"}, 416, "InvalidRange"},
		{"bad key", req{method: "GET", path: "/bkt/a/../b"}, 400, "XMinioInvalidObjectName"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			if tc.code == "" {
				e.must(tc.status, tc.r)
			} else {
				e.mustErr(tc.status, tc.code, tc.r)
			}
		})
	}
	h, _ = e.must(416, req{method: "GET", path: "/bkt/small", hdr: map[string]string{"Range": "bytes=50-"}})
	if h.Get("Content-Range") != "bytes */10" {
		t.Fatalf("416 Content-Range %q", h.Get("Content-Range"))
	}
	_ = lastMod
}

// Directories are not objects, except as markers "dir/"; files written
// through the mount have ETags (a version tag until persisted) and a
// Content-Type guessed from their name.
func TestGetDirectoriesAndMountFiles(t *testing.T) {
	e := newEnv(t, false, func(o *store.Options) { o.WriteType = store.MustCache })
	e.must(200, req{method: "PUT", path: "/bkt"})
	e.must(200, req{method: "PUT", path: "/bkt/dir/"})
	h, b := e.must(200, req{method: "GET", path: "/bkt/dir/"})
	if len(b) != 0 || h.Get("ETag") != `"`+emptyETag+`"` || h.Get("Content-Length") != "0" {
		t.Fatalf("marker: %v %q", h, b)
	}
	e.must(200, req{method: "HEAD", path: "/bkt/dir/"})
	e.mustErr(404, "NoSuchKey", req{method: "GET", path: "/bkt/dir"})
	e.mustErr(404, "NoSuchKey", req{method: "GET", path: "/bkt/nodir/"})

	// A file written the way the mount writes it.
	d, err := e.st.Resolve(bg, "/bkt/dir")
	if err != nil {
		t.Fatal(err)
	}
	_, fh, err := e.st.Create(bg, d.Ino, "page.html", 0o644, store.Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	fh.Write(bg, []byte("<p>hi</p>"), 0)
	fh.Release(bg)
	h, b = e.must(200, req{method: "GET", path: "/bkt/dir/page.html"})
	if string(b) != "<p>hi</p>" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.HasSuffix(h.Get("ETag"), `-1"`) {
		t.Fatalf("mount file: %v %q", h, b)
	}
	e.must(304, req{method: "GET", path: "/bkt/dir/page.html", hdr: map[string]string{"If-None-Match": h.Get("ETag")}})
	// Symlinks are no objects.
	if _, err := e.st.Symlink(bg, d.Ino, "link", "page.html", store.Cred{}); err != nil {
		t.Fatal(err)
	}
	e.mustErr(404, "NoSuchKey", req{method: "GET", path: "/bkt/dir/link"})
	_, b = e.must(200, req{method: "GET", path: "/bkt?prefix=dir/"})
	if strings.Contains(string(b), "link") || !strings.Contains(string(b), "dir/page.html") {
		t.Fatalf("listing: %s", b)
	}
}

// A PUT and a GET of a large object cost bounded memory whatever its size:
// bodies stream, nothing buffers them.
func TestLargeObjectBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 512 MiB")
	}
	e := newEnv(t, false, func(o *store.Options) { o.WriteType = store.MustCache })
	e.must(200, req{method: "PUT", path: "/bkt"})
	const size = 512 << 20
	pattern := randBytes(9, 1<<20)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
		}
	}()
	hr, _ := http.NewRequest("PUT", e.url+"/bkt/large", io.LimitReader(&cycle{b: pattern}, size))
	hr.ContentLength = size
	resp, err := http.DefaultClient.Do(hr)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, rng := range []string{"", "bytes=1000-"} {
		r := req{method: "GET", path: "/bkt/large"}
		if rng != "" {
			r.hdr = map[string]string{"Range": rng}
		}
		resp = e.do(r)
		want := &cycle{b: pattern}
		if rng != "" {
			io.CopyN(io.Discard, want, 1000)
		}
		buf, wbuf := make([]byte, 1<<20), make([]byte, 1<<20)
		var n int64
		for {
			m, err := io.ReadFull(resp.Body, buf)
			if m > 0 {
				want.Read(wbuf[:m])
				if !bytes.Equal(buf[:m], wbuf[:m]) {
					t.Fatalf("content differs near %d", n)
				}
				n += int64(m)
			}
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if rng == "" && n != size || rng != "" && n != size-1000 {
			t.Fatalf("GET %q: %d bytes", rng, n)
		}
	}
	close(stop)
	wg.Wait()
	// The test's own buffers and the store's pooled ones are a few MiB;
	// the object is 512.
	if grown := int64(peak.Load()) - int64(base); grown > 64<<20 {
		t.Fatalf("heap grew by %d MiB moving a 512 MiB object", grown>>20)
	}
}

// cycle repeats b forever.
type cycle struct {
	b   []byte
	off int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m := copy(p[n:], c.b[c.off:])
		n += m
		c.off = (c.off + m) % len(c.b)
	}
	return n, nil
}
