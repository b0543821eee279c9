package gateway

import (
	"bytes"
	"context"
	"testing"

	"github.com/hoardfs/hoard/store"
)

// TestWriteReadTypeHeaders: x-hoard-write-type decides what a PUT leaves
// in the UFS and the cache, x-hoard-read-type whether a GET caches.
func TestWriteReadTypeHeaders(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	data := randBytes(7, 300<<10)
	put := func(name, wt string) *store.Inode {
		t.Helper()
		used := e.st.CacheStats().Used
		e.must(200, req{method: "PUT", path: "/bkt/" + name, body: data, hdr: map[string]string{"x-hoard-write-type": wt}})
		n, err := e.st.Resolve(context.Background(), "/bkt/"+name)
		if err != nil {
			t.Fatal(err)
		}
		cached := e.st.CacheStats().Used - used
		switch wt {
		case "MUST_CACHE":
			if n.State != store.NotPersisted || cached != int64(len(data)) {
				t.Fatalf("%s: %v, %d bytes cached", wt, n.State, cached)
			}
		case "CACHE_THROUGH":
			if n.State != store.Persisted || cached != int64(len(data)) {
				t.Fatalf("%s: %v, %d bytes cached", wt, n.State, cached)
			}
		case "THROUGH":
			if n.State != store.Persisted || cached != 0 {
				t.Fatalf("%s: %v, %d bytes cached", wt, n.State, cached)
			}
		}
		return n
	}
	put("mc", "MUST_CACHE")
	put("ct", "CACHE_THROUGH")
	put("th", "THROUGH")
	if err := e.st.WaitPersisted(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.st.Resolve(context.Background(), "/bkt/mc"); n.State != store.NotPersisted {
		t.Fatalf("MUST_CACHE after the queue drained: %v", n.State)
	}

	get := func(rt string) int64 {
		t.Helper()
		used := e.st.CacheStats().Used
		hdr := map[string]string{}
		if rt != "" {
			hdr["x-hoard-read-type"] = rt
		}
		if _, b := e.must(200, req{method: "GET", path: "/bkt/th", hdr: hdr}); !bytes.Equal(b, data) {
			t.Fatalf("GET (%s): %d bytes", rt, len(b))
		}
		return e.st.CacheStats().Used - used
	}
	if n := get("NO_CACHE"); n != 0 {
		t.Fatalf("a NO_CACHE GET cached %d bytes", n)
	}
	if n := get(""); n != int64(len(data)) {
		t.Fatalf("a GET with the default read type cached %d bytes, want %d", n, len(data))
	}
}
