package oss_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
	"github.com/hoardfs/hoard/ufs/retry"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

// fastRetry retries often with tiny delays, so that tests stay quick.
var fastRetry = retry.Options{InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: 30}

// openRetrying opens uri on s, again and again while Open fails
// retryably: its probe meets the server's faults like any request.
func openRetrying(t *testing.T, s *osstest.Server, uri string, extra ...string) *oss.FS {
	t.Helper()
	for attempt := 1; ; attempt++ {
		f, err := oss.Open(t.Context(), uri, options(s, extra...))
		if err == nil {
			return f
		}
		if !ufs.IsRetryable(err) || attempt == fastRetry.MaxAttempts {
			t.Fatalf("Open(%s), attempt %d: %v", uri, attempt, err)
		}
	}
}

// replayable buffers the body of a Put whose reader cannot seek, so that
// the retry decorator may send it again. retry.FS rightly refuses to
// resend a stream it has consumed, so without this the suite's Puts of
// unknown size would fail for good whenever a fault strikes after the
// body was read.
type replayable struct{ ufs.UFS }

func (r replayable) Put(ctx context.Context, key string, body io.Reader, size int64) (ufs.ObjectInfo, error) {
	if _, ok := body.(io.Seeker); !ok && body != nil {
		data, err := io.ReadAll(body)
		if err != nil {
			return ufs.ObjectInfo{}, err
		}
		body = bytes.NewReader(data)
	}
	return r.UFS.Put(ctx, key, body, size)
}

// flakyOps is every operation the suite uses but GetObject. A dropped GET
// is resumed by retry.FS at the offset reached, which may then be in a
// newer version of the object: the suite's concurrent overwrites would see
// the splice (TestRetriedReadsUnderFaults covers GETs on their own).
var flakyOps = []string{
	osstest.OpPutObject, osstest.OpHeadObject, osstest.OpGetObjectMeta, osstest.OpDeleteObject,
	osstest.OpDeleteMultipleObjects, osstest.OpCopyObject, osstest.OpListObjects, osstest.OpListObjectsV2,
	osstest.OpInitiateMultipartUpload, osstest.OpUploadPart, osstest.OpUploadPartCopy,
	osstest.OpCompleteMultipartUpload, osstest.OpAbortMultipartUpload, osstest.OpListParts,
}

// TestConformanceOverFlakyServer runs the suite through the retry
// decorator against a server that fails a fifth of the requests and drops
// a tenth of the connections: retries must hide every one of them.
//
// Multipart uploads get milder faults: this package retries no single
// part, so a failed part fails the whole Put, which retry.FS then repeats
// from the first part; the odds that an attempt gets through fall with
// every part.
func TestConformanceOverFlakyServer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults osstest.Faults
		extra  []string
	}{
		{"v1", osstest.Faults{ErrorRate: 0.2, DropRate: 0.1, Ops: flakyOps}, nil},
		// 1 MiB parts, so the suite's 3 and 4 MiB objects are multipart
		// uploads of a few parts.
		{"v1-multipart", osstest.Faults{ErrorRate: 0.05, DropRate: 0.05, Ops: flakyOps},
			[]string{oss.KeyMultipartThreshold, "1MiB", oss.KeyMultipartPartSize, "1MiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t)
			s.SetFaults(tc.faults)
			t.Cleanup(func() { // after the parallel subtests
				if s.Count(osstest.OpPutObject) == 0 && s.Count(osstest.OpUploadPart) == 0 {
					t.Error("the suite wrote nothing")
				}
			})
			var n atomic.Int64
			ufstest.Run(t, func(t *testing.T) ufs.UFS {
				uri := fmt.Sprintf("oss://%s/flaky/%d", bucket, n.Add(1))
				return replayable{retry.New(openRetrying(t, s, uri, tc.extra...), fastRetry)}
			})
		})
	}
}

// TestRetriedReadsUnderFaults: through the retry decorator, reads of an
// object that does not change return exactly its bytes, although GETs
// fail or drop midway and are resumed.
func TestRetriedReadsUnderFaults(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/rr")
	r := retry.New(f, fastRetry)
	defer r.Close()
	data := randBytes(1<<20, 6)
	if _, err := r.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(osstest.Faults{ErrorRate: 0.2, DropRate: 0.3, Ops: []string{osstest.OpGetObject}})
	for i := range 20 {
		off, length := int64(i*40000), int64(-1)
		if i%2 == 1 {
			length = 200000
		}
		want := data[off:]
		if length > 0 {
			want = want[:length]
		}
		rc, err := r.ReadRange(t.Context(), "k", off, length)
		if err != nil {
			t.Fatalf("ReadRange(%d, %d): %v", off, length, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadRange(%d, %d): %d bytes (want %d), %v", off, length, len(got), len(want), err)
		}
	}
	if n := s.Count(osstest.OpGetObject); n <= 20 {
		t.Errorf("%d GETs for 20 reads: no fault struck", n)
	}
}

// socketTimeout is fs.oss.socket.timeout in the stall tests: short, so
// that they are quick, and far above what a local request takes.
const socketTimeout = "300ms"

// TestStalledCallsTimeOut: a server that accepts a request and then sends
// nothing fails the call after fs.oss.socket.timeout with a retryable
// timeout, whether it stalls before the answer or in the middle of its
// body. The calls' context has a deadline far beyond the socket timeout
// only so that a regression fails fast (with a context error) instead of
// hanging the test.
func TestStalledCallsTimeOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/stall", oss.KeySocketTimeout, socketTimeout)
	defer f.Close()
	data := randBytes(256<<10, 7)
	if _, err := f.Put(ctx, "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(osstest.Faults{StallRate: 1, Ops: []string{osstest.OpGetObject, osstest.OpPutObject}})
	for range 4 {
		rc, err := f.ReadRange(ctx, "k", 0, -1)
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		wantTimeout(t, "stalled read", err)
		_, err = f.Put(ctx, "k", bytes.NewReader(data), int64(len(data)))
		wantTimeout(t, "stalled put", err)
	}
	s.SetFaults(osstest.Faults{})
	rc, err := f.ReadRange(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("read after the stalls: %d bytes, %v", len(got), err)
	}
}

// wantTimeout checks that err is a retryable network timeout, not the
// caller's context ending.
func wantTimeout(t *testing.T, what string, err error) {
	t.Helper()
	var ne net.Error
	switch {
	case err == nil:
		t.Fatalf("%s succeeded", what)
	case !ufs.IsRetryable(err):
		t.Errorf("%s: %v is not retryable", what, err)
	case !errors.As(err, &ne) || !ne.Timeout():
		t.Errorf("%s: %v is not a timeout", what, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		t.Errorf("%s: %v is a context error", what, err)
	}
}

// TestSlowReadIsNotAStall: the socket timeout is about silence, not about
// how long a transfer takes. (Only reads can be tested so: the kernel takes
// a whole test upload into its socket buffers at once, and the client then
// waits for the capped server in silence, as fs.oss.socket.timeout says.)
func TestSlowReadIsNotAStall(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/slow", oss.KeySocketTimeout, socketTimeout)
	defer f.Close()
	data := randBytes(512<<10, 8)
	if _, err := f.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(osstest.Faults{Bandwidth: 512 << 10}) // a second in all
	rc, err := f.ReadRange(t.Context(), "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("slow read: %d bytes, %v", len(got), err)
	}
}

// TestStallRecoversWithRetry: through the retry decorator a call whose
// first attempts stall succeeds once the server answers again.
func TestStallRecoversWithRetry(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/recover", oss.KeySocketTimeout, socketTimeout)
	r := retry.New(f, retry.Options{InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: 100})
	defer r.Close()
	data := randBytes(256<<10, 9)
	if _, err := r.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op   string
		call func() error
	}{
		{osstest.OpGetObject, func() error {
			rc, err := r.ReadRange(t.Context(), "k", 0, -1)
			if err != nil {
				return err
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("read %d wrong bytes", len(got))
			}
			return err
		}},
		{osstest.OpPutObject, func() error {
			_, err := r.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data)))
			return err
		}},
	} {
		s.ResetCounts()
		s.SetFaults(osstest.Faults{StallRate: 1, Ops: []string{tc.op}})
		errc := make(chan error, 1)
		go func() { errc <- tc.call() }()
		// Two attempts stall before the server recovers.
		waitForCount(t, s, tc.op, 2)
		s.SetFaults(osstest.Faults{})
		if err := <-errc; err != nil {
			t.Errorf("%s through stalls: %v", tc.op, err)
		}
	}
}

// waitForCount waits until the server has had n requests of op.
func waitForCount(t *testing.T, s *osstest.Server, op string, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for s.Count(op) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d %s requests after 30s, want %d", s.Count(op), op, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
