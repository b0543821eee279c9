package retry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/faults"
	"github.com/hoardfs/hoard/ufs/local"
	"github.com/hoardfs/hoard/ufs/retry"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

// fast keeps the tests quick: real backoff, tiny delays.
var fast = retry.Options{InitialDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, MaxAttempts: 20}

// stack returns retry over faults over a fresh local directory.
func stack(t *testing.T, opts retry.Options) (*retry.FS, *faults.FS) {
	t.Helper()
	inner, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := faults.New(inner)
	f.Seed(42)
	r := retry.New(f, opts)
	t.Cleanup(func() { r.Close() })
	return r, f
}

func randomBytes(n int) []byte {
	p := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	return p
}

func readAll(t *testing.T, u ufs.UFS, key string, off, length int64) []byte {
	t.Helper()
	rc, err := u.ReadRange(t.Context(), key, off, length)
	if err != nil {
		t.Fatalf("ReadRange(%q, %d, %d): %v", key, off, length, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return got
}

// TestConformanceOverFlakyStore runs the whole suite with a fifth of all
// calls failing: retries must hide every one of them.
func TestConformanceOverFlakyStore(t *testing.T) {
	ufstest.Run(t, func(t *testing.T) ufs.UFS {
		inner, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		f := faults.New(inner)
		f.SetErrorRate(0.2)
		f.SetPartial(0) // a consumed unseekable body is not retried; see TestPut*
		return retry.New(f, fast)
	})
}

func TestRetriesUntilSuccess(t *testing.T) {
	r, f := stack(t, fast)
	if _, err := r.Put(t.Context(), "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	f.FailNext(3)
	if _, err := r.Stat(t.Context(), "k"); err != nil {
		t.Fatalf("Stat after 3 failures: %v", err)
	}
	if n := f.Calls(faults.MethodStat); n != 4 {
		t.Errorf("Stat calls = %d, want 4", n)
	}
	if r.Unwrap() != ufs.UFS(f) {
		t.Errorf("Unwrap() = %v", r.Unwrap())
	}
}

func TestGivesUp(t *testing.T) {
	opts := fast
	opts.MaxAttempts = 4
	r, f := stack(t, opts)
	f.SetDown(true)
	_, err := r.List(t.Context(), ufs.ListOptions{})
	if !ufs.IsRetryable(err) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("List while down: %v; want a retryable error after 4 attempts", err)
	}
	if n := f.Calls(faults.MethodList); n != 4 {
		t.Errorf("List calls = %d, want 4", n)
	}
}

func TestMaxElapsed(t *testing.T) {
	r, f := stack(t, retry.Options{InitialDelay: 20 * time.Millisecond, MaxAttempts: 1000, MaxElapsed: 100 * time.Millisecond})
	f.SetDown(true)
	start := time.Now()
	_, err := r.Stat(t.Context(), "k")
	if d := time.Since(start); d > time.Second || !ufs.IsRetryable(err) {
		t.Errorf("Stat with MaxElapsed 100ms: %v after %v", err, d)
	}
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	r, f := stack(t, fast)
	_, err := r.Stat(t.Context(), "missing")
	if !ufs.IsNotExist(err) {
		t.Errorf("Stat(missing): %v", err)
	}
	if n := f.Calls(faults.MethodStat); n != 1 {
		t.Errorf("Stat calls = %d, want 1", n)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	r, f := stack(t, retry.Options{InitialDelay: 10 * time.Second})
	f.SetDown(true)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := r.Delete(ctx, "k")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Delete returned %v after its context ended", d-30*time.Millisecond)
	}
	if !errors.Is(err, context.DeadlineExceeded) || ufs.IsRetryable(err) || !strings.Contains(err.Error(), "injected") {
		t.Errorf("Delete: %v; want the deadline, not retryable, mentioning the last failure", err)
	}
}

func TestPutSeekableIsRetried(t *testing.T) {
	r, f := stack(t, fast)
	f.SetPartial(1) // every failure consumes part of the body first
	f.FailNext(3)
	data := randomBytes(3 << 20)
	body := bytes.NewReader(data)
	body.Seek(5, io.SeekStart) // Put sends from where the reader is
	if _, err := r.Put(t.Context(), "k", body, int64(len(data)-5)); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := readAll(t, r, "k", 0, -1); !bytes.Equal(got, data[5:]) {
		t.Errorf("stored %d bytes, want the %d after offset 5", len(got), len(data)-5)
	}
	if n := f.Calls(faults.MethodPut); n != 4 {
		t.Errorf("Put calls = %d, want 4", n)
	}
}

// onlyReader hides Seek.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestPutUnseekable(t *testing.T) {
	r, f := stack(t, fast)
	data := randomBytes(1 << 20)

	f.SetPartial(0) // failures before reading anything: retried
	f.FailNext(2)
	if _, err := r.Put(t.Context(), "k", onlyReader{bytes.NewReader(data)}, -1); err != nil {
		t.Fatalf("Put with failures before reading: %v", err)
	}
	if n := f.Calls(faults.MethodPut); n != 3 {
		t.Errorf("Put calls = %d, want 3", n)
	}

	f.SetPartial(1) // a failure after reading part of the body: not retried
	f.FailNext(1)
	_, err := r.Put(t.Context(), "k", onlyReader{bytes.NewReader(randomBytes(100))}, -1)
	if !ufs.IsRetryable(err) || !strings.Contains(err.Error(), "consumed") {
		t.Errorf("Put with a consumed unseekable body: %v; want a retryable error saying why it was not retried", err)
	}
	if n := f.Calls(faults.MethodPut); n != 4 {
		t.Errorf("Put calls = %d, want 4 (no retry)", n)
	}
	if got := readAll(t, r, "k", 0, -1); !bytes.Equal(got, data) {
		t.Errorf("the failed Put changed the object")
	}
}

// TestReadResumes reads through streams that break again and again.
func TestReadResumes(t *testing.T) {
	opts := fast
	opts.MaxAttempts = 50 // a stream at its end fails until an open is spared
	r, f := stack(t, opts)
	data := randomBytes(3<<20 + 11)
	if _, err := r.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	f.SetPartial(1)
	f.SetErrorRate(0.7)
	reads := 0
	for range 3 {
		for _, c := range []struct{ off, length int64 }{{0, -1}, {1000, 2 << 20}, {3 << 20, -1}, {int64(len(data)) - 5, 100}} {
			got := readAll(t, r, "k", c.off, c.length)
			reads++
			end := int64(len(data))
			if c.length >= 0 {
				end = min(end, c.off+c.length)
			}
			if !bytes.Equal(got, data[c.off:end]) {
				t.Errorf("ReadRange(%d, %d): %d bytes, not the %d expected", c.off, c.length, len(got), end-c.off)
			}
		}
	}
	if opens := f.Calls(faults.MethodReadRange); opens < int64(reads)+4 {
		t.Errorf("%d opens for %d reads: the streams did not break as planned", opens, reads)
	}
	f.SetErrorRate(0)
	rc, err := r.ReadRange(t.Context(), "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := rc.Read(make([]byte, 1)); err == nil {
		t.Errorf("Read after Close succeeded")
	}
}

// TestReadResumesOnce breaks one stream once, deterministically.
func TestReadResumesOnce(t *testing.T) {
	r, f := stack(t, fast)
	data := randomBytes(1 << 20)
	if _, err := r.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	f.SetPartial(1)
	f.FailNext(1)
	if got := readAll(t, r, "k", 10, -1); !bytes.Equal(got, data[10:]) {
		t.Errorf("read %d bytes, want %d", len(got), len(data)-10)
	}
	if n := f.Calls(faults.MethodReadRange); n != 2 {
		t.Errorf("%d opens, want 2 (one resume)", n)
	}
}

func TestReadOpenRetried(t *testing.T) {
	r, f := stack(t, fast)
	if _, err := r.Put(t.Context(), "k", strings.NewReader("hello"), 5); err != nil {
		t.Fatal(err)
	}
	f.SetPartial(0)
	f.FailNext(2)
	if got := readAll(t, r, "k", 1, 3); string(got) != "ell" {
		t.Errorf("read %q", got)
	}
}

func TestDefaults(t *testing.T) {
	d := retry.Defaults()
	if d.InitialDelay != 50*time.Millisecond || d.MaxDelay != 5*time.Second || d.MaxAttempts != 8 {
		t.Errorf("Defaults() = %+v", d)
	}
}
