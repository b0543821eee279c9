package s3

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

// refList is what S3 would list: keys and common prefixes under prefix,
// strictly after startAfter, in order. Common prefixes end in "/".
func refList(keys []string, prefix, delim, startAfter string) (objects, prefixes []string) {
	seen := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if i := strings.Index(k[len(prefix):], "/"); delim == "/" && i >= 0 {
			cp := k[:len(prefix)+i+1]
			if cp > startAfter && !seen[cp] {
				seen[cp] = true
				prefixes = append(prefixes, cp)
			}
			continue
		}
		if k > startAfter {
			objects = append(objects, k)
		}
	}
	slices.Sort(objects)
	slices.Sort(prefixes)
	return objects, prefixes
}

// listAll pages through a listing with the given page size.
func listAll(t *testing.T, u ufs.UFS, prefix, delim string, maxKeys int) (objects, prefixes []string) {
	t.Helper()
	opts := ufs.ListOptions{Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatalf("listing does not end")
		}
		page, err := u.List(context.Background(), opts)
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		n := len(page.Objects) + len(page.CommonPrefixes)
		if maxKeys > 0 && n > maxKeys {
			t.Fatalf("List(%+v): %d entries, MaxKeys %d", opts, n, maxKeys)
		}
		if page.Truncated && n == 0 {
			t.Fatalf("List(%+v): truncated empty page", opts)
		}
		for _, o := range page.Objects {
			objects = append(objects, o.Key)
		}
		prefixes = append(prefixes, page.CommonPrefixes...)
		if !page.Truncated {
			return objects, prefixes
		}
		opts.StartAfter = page.NextStartAfter
	}
}

// TestListPagingMatchesS3 pages through random trees with every page size
// and checks the result against a model of S3 listing. It covers the
// merge of objects and common prefixes that minio-go yields apart, and
// gofakes3's habit of repeating a common prefix on the next page.
func TestListPagingMatchesS3(t *testing.T) {
	fk := newFakeS3(t, "bkt")
	rng := rand.New(rand.NewPCG(1, 2))
	names := []string{"a", "b", "c", "a/", "b/", "x.txt", "~z"}
	var keys []string
	seen := map[string]bool{}
	for len(keys) < 120 {
		var sb strings.Builder
		for d := rng.IntN(4); d >= 0; d-- {
			n := names[rng.IntN(len(names))]
			sb.WriteString(n)
			if !strings.HasSuffix(n, "/") && d > 0 {
				sb.WriteString("/")
			}
		}
		k := sb.String()
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	// Noise outside the root must never show up.
	raw := fk.open(t, "s3://bkt")
	for _, k := range []string{"dia", "dir", "dir0/x", "zzz", "dir.txt"} {
		if _, err := raw.Put(context.Background(), k, bytes.NewReader(nil), 0); err != nil {
			t.Fatal(err)
		}
	}
	u := fk.open(t, "s3://bkt/dir")
	for _, k := range keys {
		if _, err := u.Put(context.Background(), k, strings.NewReader(k), int64(len(k))); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	for _, prefix := range []string{"", "a/", "a", "b/a/", "nothing/"} {
		for _, delim := range []string{"", "/"} {
			wantO, wantP := refList(keys, prefix, delim, "")
			for _, max := range []int{1, 2, 3, 7, 0} {
				t.Run(fmt.Sprintf("prefix=%q/delim=%q/max=%d", prefix, delim, max), func(t *testing.T) {
					gotO, gotP := listAll(t, u, prefix, delim, max)
					if !slices.Equal(gotO, wantO) {
						t.Errorf("objects:\n got %q\nwant %q", gotO, wantO)
					}
					if !slices.Equal(gotP, wantP) {
						t.Errorf("prefixes:\n got %q\nwant %q", gotP, wantP)
					}
				})
			}
		}
	}
}

func TestListStartAfterCommonPrefix(t *testing.T) {
	fk := newFakeS3(t, "bkt")
	u := fk.open(t, "s3://bkt")
	for _, k := range []string{"a/1", "a/2", "a/3", "b", "c/1"} {
		if _, err := u.Put(context.Background(), k, strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
	}
	page, err := u.List(context.Background(), ufs.ListOptions{Delimiter: "/", StartAfter: "a/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range page.Objects {
		got = append(got, o.Key)
	}
	got = append(got, page.CommonPrefixes...)
	if want := []string{"b", "c/"}; !slices.Equal(got, want) || page.Truncated {
		t.Errorf("after a/: got %q truncated=%v, want %q", got, page.Truncated, want)
	}
}
