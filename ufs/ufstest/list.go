package ufstest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

// model is what a store should hold after a test's Puts: the reference
// against which listings are checked.
type model struct {
	implicit bool                      // add a marker for every parent prefix
	objs     map[string]ufs.ObjectInfo // by key; markers of implicit dirs have no ETag
}

func newModel(implicit bool) *model {
	return &model{implicit: implicit, objs: map[string]ufs.ObjectInfo{}}
}

// add records the object Put returned.
func (m *model) add(key string, info ufs.ObjectInfo) {
	m.objs[key] = info
	if !m.implicit {
		return
	}
	for i := strings.Index(key, "/"); i >= 0 && i < len(key)-1; {
		dir := key[:i+1]
		if _, ok := m.objs[dir]; !ok {
			m.objs[dir] = ufs.ObjectInfo{Key: dir}
		}
		j := strings.Index(key[i+1:], "/")
		if j < 0 {
			break
		}
		i += 1 + j
	}
}

// entry is one listed key: an object or a common prefix.
type entry struct {
	key  string
	cp   bool
	info ufs.ObjectInfo
}

func (e entry) String() string {
	if e.cp {
		return e.key + " (prefix)"
	}
	return e.key
}

// list is the whole listing opts should produce, by the ListOptions
// contract: keys under Prefix in byte order, rolled up at the delimiter, each
// key or common prefix only when strictly after StartAfter.
func (m *model) list(opts ufs.ListOptions) []entry {
	keys := make([]string, 0, len(m.objs))
	for k := range m.objs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []entry
	lastCP := ""
	for _, k := range keys {
		if !strings.HasPrefix(k, opts.Prefix) {
			continue
		}
		if d := opts.Delimiter; d != "" {
			if i := strings.Index(k[len(opts.Prefix):], d); i >= 0 {
				cp := k[:len(opts.Prefix)+i+len(d)]
				if cp > opts.StartAfter && cp != lastCP {
					out = append(out, entry{key: cp, cp: true})
					lastCP = cp
				}
				continue
			}
		}
		if k > opts.StartAfter {
			out = append(out, entry{key: k, info: m.objs[k]})
		}
	}
	return out
}

// listAll lists every page for opts, checking each page's own invariants,
// and returns the entries in order and the number of pages.
func listAll(t *testing.T, u ufs.UFS, opts ufs.ListOptions) ([]entry, int) {
	t.Helper()
	max := opts.MaxKeys
	if max == 0 {
		max = 1000
	}
	var all []entry
	for pages := 1; ; pages++ {
		page, err := u.List(t.Context(), opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		got := merge(page)
		where := fmt.Sprintf("List(%+v) page %d", opts, pages)
		if n := len(got); n > max {
			t.Fatalf("%s: %d entries, more than MaxKeys %d", where, n, max)
		}
		if !slices.IsSortedFunc(page.Objects, func(a, b ufs.ObjectInfo) int { return strings.Compare(a.Key, b.Key) }) ||
			!slices.IsSorted(page.CommonPrefixes) {
			t.Fatalf("%s: not in ascending order: objects %v, prefixes %q", where, page.Objects, page.CommonPrefixes)
		}
		for _, e := range got {
			if e.key <= opts.StartAfter {
				t.Fatalf("%s: %q is not after StartAfter %q", where, e.key, opts.StartAfter)
			}
		}
		all = append(all, got...)
		if !page.Truncated {
			return all, pages
		}
		if page.NextStartAfter <= opts.StartAfter {
			t.Fatalf("%s: truncated, but NextStartAfter %q does not move past StartAfter %q", where, page.NextStartAfter, opts.StartAfter)
		}
		if len(got) > 0 && page.NextStartAfter < got[len(got)-1].key {
			t.Fatalf("%s: NextStartAfter %q is before the page's last entry %q", where, page.NextStartAfter, got[len(got)-1].key)
		}
		if pages > 100000 {
			t.Fatalf("%s: listing does not end", where)
		}
		opts.StartAfter = page.NextStartAfter
	}
}

// merge returns a page's objects and common prefixes in one key order.
func merge(page ufs.ListPage) []entry {
	out := make([]entry, 0, len(page.Objects)+len(page.CommonPrefixes))
	for _, o := range page.Objects {
		out = append(out, entry{key: o.Key, info: o})
	}
	for _, cp := range page.CommonPrefixes {
		out = append(out, entry{key: cp, cp: true})
	}
	slices.SortStableFunc(out, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	return out
}

// checkListing lists opts page by page and compares with the model: same
// keys in the same order, same sizes and ETags.
func checkListing(t *testing.T, u ufs.UFS, m *model, opts ufs.ListOptions) {
	t.Helper()
	got, _ := listAll(t, u, opts)
	want := m.list(opts)
	if !slices.EqualFunc(got, want, func(a, b entry) bool { return a.key == b.key && a.cp == b.cp }) {
		t.Errorf("List(%+v):\n got %d: %v\nwant %d: %v", opts, len(got), abbreviate(got), len(want), abbreviate(want))
		return
	}
	for i, g := range got {
		w := want[i].info
		if g.cp {
			continue
		}
		if g.info.Size != w.Size || (w.ETag != "" && g.info.ETag != w.ETag) {
			t.Errorf("List(%+v): %q has size %d ETag %q, want size %d ETag %q", opts, g.key, g.info.Size, g.info.ETag, w.Size, w.ETag)
		}
	}
}

// abbreviate keeps error messages about long listings readable.
func abbreviate(es []entry) string {
	if len(es) > 40 {
		return fmt.Sprint(es[:20], " ... ", es[len(es)-20:])
	}
	return fmt.Sprint(es)
}

// wantList checks one unpaginated List call against exact keys.
func wantList(t *testing.T, u ufs.UFS, opts ufs.ListOptions, objects, prefixes []string) {
	t.Helper()
	page, err := u.List(t.Context(), opts)
	if err != nil {
		t.Fatalf("List(%+v): %v", opts, err)
	}
	var keys []string
	for _, o := range page.Objects {
		keys = append(keys, o.Key)
	}
	if !slices.Equal(keys, objects) || !slices.Equal(page.CommonPrefixes, prefixes) || page.Truncated {
		t.Errorf("List(%+v) = objects %q, prefixes %q, truncated %v; want objects %q, prefixes %q",
			opts, keys, page.CommonPrefixes, page.Truncated, objects, prefixes)
	}
}

func testListEmpty(t *testing.T, u ufs.UFS) {
	wantList(t, u, ufs.ListOptions{}, nil, nil)
	wantList(t, u, ufs.ListOptions{Prefix: "nope/", Delimiter: "/"}, nil, nil)
	put(t, u, "only", []byte("x"))
	wantList(t, u, ufs.ListOptions{Prefix: "nope"}, nil, nil)
	wantList(t, u, ufs.ListOptions{StartAfter: "only"}, nil, nil)
}

// orderKeys are chosen so that byte order differs from a naive directory
// walk: '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f), '0' after it.
var orderKeys = []string{
	"a-b", "a.txt", "a/x", "a/y-1", "a/y.txt", "a/y/z", "a/y/z2", "a0", "ab",
	"b/", "b/c/d", "c/", "d/e/f/g.txt", "z", "é/x",
}

func testListOrder(t *testing.T, u ufs.UFS) {
	m := newModel(u.Capabilities().ImplicitDirs)
	for i, k := range orderKeys {
		data := payload(i, uint64(i))
		if strings.HasSuffix(k, "/") {
			data = nil // a directory marker
		}
		m.add(k, put(t, u, k, data))
	}
	for _, prefix := range []string{"", "a", "a/", "a/y", "a/y/", "a/y/z", "b", "b/", "c/", "d/e/", "nope", "a-", "é"} {
		for _, delim := range []string{"", "/"} {
			opts := ufs.ListOptions{Prefix: prefix, Delimiter: delim}
			checkListing(t, u, m, opts)
			small := opts
			small.MaxKeys = 2
			checkListing(t, u, m, small)
			// Resume after entries of the listing itself: keys, or common
			// prefixes when there is a delimiter.
			want := m.list(opts)
			for _, i := range []int{0, len(want) / 2, len(want) - 1} {
				if i >= 0 && i < len(want) {
					after := opts
					after.StartAfter = want[i].key
					checkListing(t, u, m, after)
				}
			}
		}
	}
	for _, after := range []string{"a/x", "a/", "a/y", "b", "a.txt"} {
		checkListing(t, u, m, ufs.ListOptions{StartAfter: after})
	}
	checkListing(t, u, m, ufs.ListOptions{MaxKeys: 1})
	checkListing(t, u, m, ufs.ListOptions{MaxKeys: 1, Delimiter: "/"})
}

func testListPagination(t *testing.T, u ufs.UFS) {
	var keys []string
	for i := range 1200 {
		keys = append(keys, fmt.Sprintf("flat/%04d", i))
	}
	for i := range 15 {
		for j := range 20 {
			keys = append(keys, fmt.Sprintf("tree/%02d/%02d", i, j))
		}
	}
	m := newModel(u.Capabilities().ImplicitDirs)
	var mu sync.Mutex
	putAll(t, 16, keys, func(k string) {
		info, err := u.Put(t.Context(), k, strings.NewReader(k), int64(len(k)))
		if err != nil {
			t.Errorf("Put(%q): %v", k, err)
			return
		}
		mu.Lock()
		m.add(k, info)
		mu.Unlock()
	})
	if t.Failed() {
		t.FailNow()
	}
	checkListing(t, u, m, ufs.ListOptions{Prefix: "flat/", MaxKeys: 100})
	checkListing(t, u, m, ufs.ListOptions{Prefix: "tree/", MaxKeys: 100})
	checkListing(t, u, m, ufs.ListOptions{Prefix: "tree/", Delimiter: "/", MaxKeys: 7})
	checkListing(t, u, m, ufs.ListOptions{Delimiter: "/", MaxKeys: 1})
	checkListing(t, u, m, ufs.ListOptions{}) // default page size: 1000
	if _, pages := listAll(t, u, ufs.ListOptions{Prefix: "flat/", MaxKeys: 100}); pages < 12 {
		t.Errorf("listing 1200 keys 100 at a time took %d pages, want at least 12", pages)
	}
}

// putAll runs fn for every key on n goroutines.
func putAll(t *testing.T, n int, keys []string, fn func(string)) {
	t.Helper()
	ch := make(chan string)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for k := range ch {
				fn(k)
			}
		})
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
}
