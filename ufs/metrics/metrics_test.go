package metrics_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/faults"
	"github.com/hoardfs/hoard/ufs/local"
	"github.com/hoardfs/hoard/ufs/metrics"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

// recorder counts what the decorator reports.
type recorder struct {
	mu        sync.Mutex
	reqs      map[string]int // backend/method
	errs      map[string]int // backend/method
	read, wrt int64
}

func newRecorder() *recorder {
	return &recorder{reqs: map[string]int{}, errs: map[string]int{}}
}

func (r *recorder) UFSRequest(backend, method string, start time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if start.IsZero() || time.Since(start) < 0 {
		panic("bad start")
	}
	r.reqs[backend+"/"+method]++
	if err != nil {
		r.errs[backend+"/"+method]++
	}
}

func (r *recorder) UFSError(backend, method string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[backend+"/"+method]++
}

func (r *recorder) UFSBytes(backend string, read, written int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.read += read
	r.wrt += written
}

// TestConformance: the decorator changes nothing of what a UFS does.
func TestConformance(t *testing.T) {
	ufstest.Run(t, func(t *testing.T) ufs.UFS {
		u, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return metrics.New(u, newRecorder(), "")
	})
}

func TestCounts(t *testing.T) {
	base, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	f := faults.New(base)
	rec := newRecorder()
	u := metrics.New(f, rec, "")
	if u.(ufs.Unwrapper).Unwrap() != f {
		t.Fatal("Unwrap does not give the inner UFS")
	}
	ctx := context.Background()
	if _, err := u.Put(ctx, "a/b.txt", strings.NewReader("hello world"), 11); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Stat(ctx, "missing"); !ufs.IsNotExist(err) {
		t.Fatalf("stat missing: %v", err)
	}
	rc, err := u.ReadRange(ctx, "a/b.txt", 6, -1)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); string(b) != "world" {
		t.Fatalf("read %q", b)
	}
	rc.Close()
	if _, err := u.Copy(ctx, "a/b.txt", "c.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := u.List(ctx, ufs.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := u.Delete(ctx, "c.txt"); err != nil {
		t.Fatal(err)
	}
	f.FailNext(1)
	if _, err := u.Stat(ctx, "a/b.txt"); !ufs.IsRetryable(err) {
		t.Fatalf("injected failure: %v", err)
	}
	_ = u.Capabilities()
	_ = u.String()

	want := map[string]int{"local/Put": 1, "local/Stat": 2, "local/ReadRange": 1, "local/Copy": 1, "local/List": 1, "local/Delete": 1}
	for k, n := range want {
		if rec.reqs[k] != n {
			t.Errorf("%s: %d requests, want %d (all: %v)", k, rec.reqs[k], n, rec.reqs)
		}
	}
	if len(rec.reqs) != len(want) {
		t.Errorf("requests %v, want only %v", rec.reqs, want)
	}
	if rec.errs["local/Stat"] != 2 || len(rec.errs) != 1 {
		t.Errorf("errors %v, want 2 for Stat only", rec.errs)
	}
	if rec.read != 5 || rec.wrt != 11 {
		t.Errorf("bytes read %d written %d, want 5 and 11", rec.read, rec.wrt)
	}
}

// brokenBody fails in the middle of a body.
type brokenBody struct{ ufs.UFS }

func (b brokenBody) ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	return io.NopCloser(io.MultiReader(strings.NewReader("abc"), errReader{})), nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestBrokenBodyCountsOneError(t *testing.T) {
	base, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	rec := newRecorder()
	u := metrics.New(brokenBody{base}, rec, "oss")
	rc, err := u.ReadRange(context.Background(), "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err == nil || string(b) != "abc" {
		t.Fatalf("read %q, %v", b, err)
	}
	rc.Read(make([]byte, 1)) // a second failing read is the same failure
	rc.Close()
	if rec.reqs["oss/ReadRange"] != 1 || rec.errs["oss/ReadRange"] != 1 || rec.read != 3 {
		t.Fatalf("requests %v errors %v read %d", rec.reqs, rec.errs, rec.read)
	}
}

func TestNilRecorderIsNoDecorator(t *testing.T) {
	base, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	if u := metrics.New(base, nil, ""); u != ufs.UFS(base) {
		t.Fatal("a nil recorder still wraps")
	}
}

func TestScheme(t *testing.T) {
	for in, want := range map[string]string{
		"oss://bucket/dir": "oss", "S3://b": "s3", "file:///tmp/x": "local", "/tmp/x": "local", "": "local",
	} {
		if got := metrics.Scheme(in); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", in, got, want)
		}
	}
}
