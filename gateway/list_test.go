package gateway

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
)

// refList is the S3 listing semantics, computed the obvious way over the
// sorted list of every key: the reference the lister must match.
func refList(keys []string, prefix, delim, after, from string, max int) (items []string, truncated bool) {
	lastCP := ""
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || (after != "" && k <= after) || (from != "" && k < from) {
			continue
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if cp == lastCP || cp == after {
					continue
				}
				lastCP = cp
				k = cp
			}
		}
		if len(items) == max {
			return items, true
		}
		items = append(items, k)
	}
	return items, false
}

// randomTree fills bucket b with random keys whose names are chosen to sort
// around '/' ("a", "a-b", "a.c", "a0", "a!", ...), and a few empty
// directories; it returns every key the bucket then has, sorted.
func randomTree(t *testing.T, e *env, b string, seed uint64, n int) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	if _, err := e.st.MkdirAll(bg, "/"+b, store.Cred{}); err != nil {
		t.Fatal(err)
	}
	parts := []string{"a", "a-b", "a.c", "a0", "a!", "b", "ab", "a b", "é", "a~", "a+", "z"}
	files := map[string]bool{}
	dirs := map[string]bool{}
	for range n {
		depth := 1 + r.IntN(3)
		var comps []string
		for range depth {
			comps = append(comps, parts[r.IntN(len(parts))])
		}
		key := strings.Join(comps, "/")
		if r.IntN(8) == 0 {
			if _, err := e.st.MkdirAll(bg, "/"+b+"/"+key, store.Cred{}); err == nil {
				for i := 1; i <= len(comps); i++ {
					dirs[strings.Join(comps[:i], "/")] = true
				}
			}
			continue
		}
		if _, err := e.st.PutObject(bg, "/"+b+"/"+key, bytes.NewReader([]byte(key)), store.PutOptions{Size: -1}); err == nil {
			files[key] = true
			for i := 1; i < len(comps); i++ {
				dirs[strings.Join(comps[:i], "/")] = true
			}
		}
	}
	var keys []string
	for f := range files {
		keys = append(keys, f)
	}
	for d := range dirs {
		empty := true
		for k := range files {
			if strings.HasPrefix(k, d+"/") {
				empty = false
			}
		}
		for k := range dirs {
			if strings.HasPrefix(k, d+"/") {
				empty = false
			}
		}
		if empty {
			keys = append(keys, d+"/")
		}
	}
	sort.Strings(keys)
	return keys
}

func runLister(t *testing.T, e *env, b, prefix, delim, after, from string, max int) ([]string, bool) {
	bn, err := e.st.Resolve(bg, "/"+b)
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	truncated := false
	l := &lister{st: e.st, ctx: bg, prefix: prefix, delim: delim, after: after, from: from}
	l.yield = func(it listItem) bool {
		if len(items) == max {
			truncated = true
			return false
		}
		items = append(items, it.key)
		return true
	}
	if err := l.run(bn.Ino); err != nil {
		t.Fatal(err)
	}
	return items, truncated
}

// The lister against the reference, on random trees, prefixes,
// delimiters, markers and page sizes.
func TestListerMatchesReference(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { listerVsReference(t, seed) })
	}
}

func listerVsReference(t *testing.T, seed uint64) {
	e := newEnv(t, false)
	keys := randomTree(t, e, "b", seed, 400)
	if len(keys) < 50 {
		t.Fatalf("tree too small: %d keys", len(keys))
	}
	r := rand.New(rand.NewPCG(seed, 2))
	prefixes := []string{"", "a", "a/", "a-", "a/a", "a/b/", "é", "z/z/", "nope", "a b/", "a/a!"}
	delims := []string{"", "/", "-", "b", "a/"}
	for i := range 400 {
		prefix := prefixes[r.IntN(len(prefixes))]
		delim := delims[r.IntN(len(delims))]
		after, from := "", ""
		switch r.IntN(4) {
		case 1:
			after = keys[r.IntN(len(keys))]
		case 2:
			after = keys[r.IntN(len(keys))]
			after = after[:r.IntN(len(after)+1)] // a marker that is no key
		case 3:
			from = keys[r.IntN(len(keys))]
		}
		max := 1 + r.IntN(30)
		want, wantTrunc := refList(keys, prefix, delim, after, from, max)
		got, gotTrunc := runLister(t, e, "b", prefix, delim, after, from, max)
		if strings.Join(got, "|") != strings.Join(want, "|") || gotTrunc != wantTrunc {
			t.Fatalf("case %d: prefix %q delim %q after %q from %q max %d:\ngot  %q (truncated %v)\nwant %q (truncated %v)",
				i, prefix, delim, after, from, max, got, gotTrunc, want, wantTrunc)
		}
	}
}

// Paging through a listing over HTTP gives every key once, in order, for
// v1 (marker) and v2 (continuation token), with and without delimiter.
func TestListPagination(t *testing.T) {
	e := newEnv(t, false)
	keys := randomTree(t, e, "b", 3, 250)
	for _, v2 := range []bool{false, true} {
		for _, delim := range []string{"", "/"} {
			for _, prefix := range []string{"", "a/"} {
				want, _ := refList(keys, prefix, delim, "", "", 1<<30)
				var got []string
				token := ""
				for page := 0; ; page++ {
					q := url.Values{"max-keys": {"7"}, "prefix": {prefix}, "delimiter": {delim}, "encoding-type": {"url"}}
					if v2 {
						q.Set("list-type", "2")
						if token != "" {
							q.Set("continuation-token", token)
						}
					} else if token != "" {
						q.Set("marker", token)
					}
					_, body := e.must(200, req{method: "GET", path: "/b?" + q.Encode()})
					var res struct {
						IsTruncated           bool
						NextMarker            string
						NextContinuationToken string
						KeyCount              int
						Contents              []struct{ Key string }
						CommonPrefixes        []struct{ Prefix string }
					}
					if err := xml.Unmarshal(body, &res); err != nil {
						t.Fatal(err)
					}
					var pageKeys []string
					for _, c := range res.Contents {
						k, _ := url.QueryUnescape(c.Key)
						pageKeys = append(pageKeys, k)
					}
					for _, c := range res.CommonPrefixes {
						k, _ := url.QueryUnescape(c.Prefix)
						pageKeys = append(pageKeys, k)
					}
					sort.Strings(pageKeys)
					got = append(got, pageKeys...)
					if v2 && res.KeyCount != len(pageKeys) {
						t.Fatalf("KeyCount %d, %d entries", res.KeyCount, len(pageKeys))
					}
					if !res.IsTruncated {
						break
					}
					token = res.NextContinuationToken
					if !v2 {
						token, _ = url.QueryUnescape(res.NextMarker)
					}
					if page > 1000 || token == "" {
						t.Fatalf("no progress: %+v", res)
					}
				}
				if strings.Join(got, "|") != strings.Join(want, "|") {
					t.Fatalf("v2=%v delim %q prefix %q:\ngot  %q\nwant %q", v2, delim, prefix, got, want)
				}
			}
		}
	}
}

// The page of the Alluxio documentation: max-keys and a continuation-token
// that names the first key of the next page.
func TestListAlluxioContinuationToken(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/api/v1/s3/testbucket"})
	for _, k := range []string{"key1", "key2", "key3", "testobject"} {
		e.must(200, req{method: "PUT", path: "/api/v1/s3/testbucket/" + k, body: []byte("x")})
	}
	for _, tc := range []struct {
		query string
		want  string
		trunc bool
	}{
		{"max-keys=2", "key1,key2", true},
		{"max-keys=2&continuation-token=key3", "key3,testobject", false},
		{"list-type=2&max-keys=2&continuation-token=key3", "key3,testobject", false},
		{"marker=key1", "key2,key3,testobject", false},
		{"list-type=2&start-after=key2", "key3,testobject", false},
		{"list-type=2&max-keys=0", "", false},
		{"prefix=key&max-keys=1000", "key1,key2,key3", false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			_, body := e.must(200, req{method: "GET", path: "/api/v1/s3/testbucket?" + tc.query})
			var res struct {
				IsTruncated bool
				Contents    []struct{ Key string }
			}
			xml.Unmarshal(body, &res)
			var keys []string
			for _, c := range res.Contents {
				keys = append(keys, c.Key)
			}
			if strings.Join(keys, ",") != tc.want || res.IsTruncated != tc.trunc {
				t.Fatalf("got %v (truncated %v), want %s (%v)", keys, res.IsTruncated, tc.want, tc.trunc)
			}
		})
	}
}

func TestListDetails(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	e.must(200, req{method: "PUT", path: "/bkt/dir/a b+c", body: []byte("12345"), hdr: map[string]string{"Authorization": "AWS bob:"}})
	e.must(200, req{method: "PUT", path: "/bkt/empty/"})
	for _, tc := range []struct {
		name, query string
		check       func(t *testing.T, body string)
	}{
		{"v1 has owners", "", func(t *testing.T, b string) {
			if !strings.Contains(b, "<Owner><ID>bob</ID>") || !strings.Contains(b, "<Key>dir/a b+c</Key>") || !strings.Contains(b, "<Size>5</Size>") {
				t.Fatal(b)
			}
		}},
		{"v2 without fetch-owner has none", "list-type=2", func(t *testing.T, b string) {
			if strings.Contains(b, "<Owner>") || !strings.Contains(b, "<KeyCount>2</KeyCount>") {
				t.Fatal(b)
			}
		}},
		{"v2 fetch-owner", "list-type=2&fetch-owner=true", func(t *testing.T, b string) {
			if !strings.Contains(b, "<Owner><ID>bob</ID>") {
				t.Fatal(b)
			}
		}},
		{"url encoding", "list-type=2&encoding-type=url", func(t *testing.T, b string) {
			if !strings.Contains(b, "<Key>dir/a%20b%2Bc</Key>") || !strings.Contains(b, "<EncodingType>url</EncodingType>") {
				t.Fatal(b)
			}
		}},
		{"empty directory is a marker key", "prefix=empty", func(t *testing.T, b string) {
			if !strings.Contains(b, "<Key>empty/</Key>") || !strings.Contains(b, `<ETag>&#34;`+emptyETag) {
				t.Fatal(b)
			}
		}},
		{"delimiter", "delimiter=/", func(t *testing.T, b string) {
			if !strings.Contains(b, "<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>empty/</Prefix>") {
				t.Fatal(b)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, body := e.must(200, req{method: "GET", path: "/bkt?" + tc.query})
			tc.check(t, string(body))
		})
	}
	e.mustErr(400, "InvalidArgument", req{method: "GET", path: "/bkt?max-keys=-1"})
	e.mustErr(400, "InvalidArgument", req{method: "GET", path: "/bkt?encoding-type=base64"})
	e.mustErr(404, "NoSuchBucket", req{method: "GET", path: "/nobucket?list-type=2"})
}

// A page deep into a big directory costs about its own size: the listing
// resumes in the store's iterator, it does not read from the start again.
// (Empty directories stand for the keys: they list as markers and cost no
// file to make.)
func BenchmarkListPage(b *testing.B) {
	e := newEnv(b, false)
	bk, _ := e.st.MkdirAll(bg, "/b", store.Cred{})
	const n = 20000
	for i := range n {
		if _, err := e.st.Mkdir(bg, bk.Ino, fmt.Sprintf("k%06d", i), 0o755, store.Cred{}); err != nil {
			b.Fatal(err)
		}
	}
	var first, deep time.Duration
	for b.Loop() {
		start := time.Now()
		runLister(nil, e, "b", "", "", "", "", 1000)
		first = time.Since(start)
		start = time.Now()
		runLister(nil, e, "b", "", "", fmt.Sprintf("k%06d/", n-1001), "", 1000)
		deep = time.Since(start)
	}
	b.ReportMetric(float64(first.Microseconds())/1000, "first-page-ms")
	b.ReportMetric(float64(deep.Microseconds())/1000, "last-page-ms")
	b.ReportMetric(float64(deep)/float64(first), "ratio")
}
