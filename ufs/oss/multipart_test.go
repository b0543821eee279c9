package oss_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 99))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// onlyReader hides Len, Seek and the rest: a stream of unknown length.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// multipartFS opens a FS that uploads anything above 1 MiB in 1 MiB parts,
// 4 at a time.
func multipartFS(t *testing.T, s *osstest.Server, extra ...string) *oss.FS {
	t.Helper()
	opts := append([]string{
		oss.KeyMultipartThreshold, "1MiB", oss.KeyMultipartPartSize, "1MiB", oss.KeyMultipartConcurrency, "4",
	}, extra...)
	f := open(t, s, "oss://"+bucket+"/mp", opts...)
	t.Cleanup(func() { f.Close() })
	return f
}

func TestMultipartPut(t *testing.T) {
	s := newServer(t)
	f := multipartFS(t, s)
	// Latency makes parts overlap, so the peak shows the parallelism.
	s.SetFaults(osstest.Faults{Latency: 20 * time.Millisecond})
	wantParts := int64(0)
	for i, mib := range []int{3, 5, 7, 9, 10} {
		data := randBytes(mib<<20+i*1000, uint64(i))
		parts := (len(data) + 1<<20 - 1) >> 20
		wantParts += int64(parts)
		var r io.Reader = bytes.NewReader(data)
		size := int64(len(data))
		if i%2 == 1 {
			r, size = onlyReader{r}, -1
		}
		key := fmt.Sprintf("obj%d", i)
		info, err := f.Put(t.Context(), key, r, size)
		if err != nil {
			t.Fatalf("Put(%s, %d MiB, size %d): %v", key, mib, size, err)
		}
		if info.Size != int64(len(data)) || !strings.HasSuffix(info.ETag, fmt.Sprintf("-%d", parts)) {
			t.Errorf("Put(%s): %+v, want size %d and a %d-part ETag", key, info, len(data), parts)
		}
		st, err := f.Stat(t.Context(), key)
		if err != nil || st != info {
			t.Errorf("Stat(%s) = %+v, %v; want what Put returned, %+v", key, st, err, info)
		}
		got, _, ok := s.Object(bucket, "mp/"+key)
		if !ok || !bytes.Equal(got, data) {
			t.Fatalf("object mp/%s differs from what was Put", key)
		}
	}
	if n := s.Count(osstest.OpUploadPart); n != wantParts {
		t.Errorf("%d UploadPart requests, want %d", n, wantParts)
	}
	if p := s.Peak(osstest.OpUploadPart); p < 2 || p > 4 {
		t.Errorf("at most %d parts were uploaded at once, want 2 to 4 (concurrency 4)", p)
	}
	if s.Count(osstest.OpPutObject) != 0 {
		t.Errorf("objects above the threshold went through PutObject")
	}
	if ups := s.Uploads(bucket); len(ups) != 0 {
		t.Errorf("uploads left in progress: %v", ups)
	}
}

func TestPutBelowThresholdIsOnePutObject(t *testing.T) {
	s := newServer(t)
	f := multipartFS(t, s)
	data := randBytes(1<<20, 1) // exactly the threshold
	for _, size := range []int64{int64(len(data)), -1} {
		info, err := f.Put(t.Context(), "k", onlyReader{bytes.NewReader(data)}, size)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info.ETag, "-") {
			t.Errorf("size %d: ETag %q is a multipart one", size, info.ETag)
		}
	}
	if s.Count(osstest.OpPutObject) != 2 || s.Count(osstest.OpInitiateMultipartUpload) != 0 {
		t.Errorf("counts %v", s.Counts())
	}
}

// wantNoUploads checks that no multipart upload was left behind and the
// old object is intact.
func wantNoUploads(t *testing.T, s *osstest.Server, key string, old []byte) {
	t.Helper()
	if ups := s.Uploads(bucket); len(ups) != 0 {
		t.Errorf("uploads left in progress: %v", ups)
	}
	if got, _, ok := s.Object(bucket, "mp/"+key); !ok || !bytes.Equal(got, old) {
		t.Errorf("the old object at %s was changed", key)
	}
}

func TestMultipartAbortOnFailure(t *testing.T) {
	s := newServer(t)
	f := multipartFS(t, s)
	old := []byte("old")
	if _, err := f.Put(t.Context(), "k", bytes.NewReader(old), 3); err != nil {
		t.Fatal(err)
	}
	data := randBytes(5<<20, 2)
	for _, tc := range []struct {
		name   string
		faults osstest.Faults
	}{
		// Every try of a part fails: a part is tried stepAttempts times
		// (see TestMultipartPartsRetried), so a rate below 1 lets a put
		// through now and then.
		{"parts fail", osstest.Faults{ErrorRate: 1, Ops: []string{osstest.OpUploadPart}}},
		{"parts dropped", osstest.Faults{DropRate: 1, Ops: []string{osstest.OpUploadPart}}},
		{"complete fails", osstest.Faults{ErrorRate: 1, Ops: []string{osstest.OpCompleteMultipartUpload}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.SetFaults(tc.faults)
			defer s.SetFaults(osstest.Faults{})
			for _, size := range []int64{int64(len(data)), -1} {
				_, err := f.Put(t.Context(), "k", onlyReader{bytes.NewReader(data)}, size)
				if err == nil {
					t.Fatalf("size %d: Put succeeded", size)
				}
				if !ufs.IsRetryable(err) || !strings.Contains(err.Error(), "mp/k") {
					t.Errorf("size %d: %v, want a retryable error naming the key", size, err)
				}
				wantNoUploads(t, s, "k", old)
			}
		})
	}
	if s.Count(osstest.OpAbortMultipartUpload) < 6 {
		t.Errorf("%d aborts for 6 failed uploads", s.Count(osstest.OpAbortMultipartUpload))
	}

	t.Run("source fails", func(t *testing.T) {
		boom := errors.New("boom")
		r := io.MultiReader(bytes.NewReader(data[:3<<20]), errReader{boom})
		_, err := f.Put(t.Context(), "k", r, -1)
		if !errors.Is(err, boom) || ufs.IsRetryable(err) {
			t.Errorf("Put from a failing source: %v, want the source's error, not retryable", err)
		}
		wantNoUploads(t, s, "k", old)
	})
	t.Run("source short", func(t *testing.T) {
		_, err := f.Put(t.Context(), "k", bytes.NewReader(data[:3<<20]), int64(len(data)))
		if err == nil {
			t.Errorf("Put of a source shorter than its size succeeded")
		}
		wantNoUploads(t, s, "k", old)
	})
	t.Run("source long", func(t *testing.T) {
		_, err := f.Put(t.Context(), "k", bytes.NewReader(data), 3<<20)
		if err == nil {
			t.Errorf("Put of a source longer than its size succeeded")
		}
		wantNoUploads(t, s, "k", old)
	})
	t.Run("cancelled", func(t *testing.T) {
		s.SetFaults(osstest.Faults{Bandwidth: 1 << 20}) // 5 MiB take over a second
		defer s.SetFaults(osstest.Faults{})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := f.Put(ctx, "k", bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, context.DeadlineExceeded) || ufs.IsRetryable(err) {
			t.Errorf("cancelled Put: %v, want the context's error", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("cancelled Put returned after %v", d)
		}
		wantNoUploads(t, s, "k", old)
	})
}

// TestMultipartPartsRetried: an initiate, parts and a complete that fail
// are tried again on their own, so the upload gets through without
// starting over from part 1, and leaves no upload behind.
func TestMultipartPartsRetried(t *testing.T) {
	s := newServer(t)
	f := multipartFS(t, s)
	data := randBytes(5<<20, 3)
	for _, c := range []struct {
		op    string
		fails int
	}{
		// 4: each request is tried 5 times (stepAttempts) before the
		// upload gives up.
		{osstest.OpUploadPart, 4}, // the same part, or several
		{osstest.OpInitiateMultipartUpload, 4},
		{osstest.OpCompleteMultipartUpload, 4},
	} {
		for _, size := range []int64{int64(len(data)), -1} {
			s.ResetCounts()
			s.SetFaults(osstest.Faults{FailFirst: c.fails, Ops: []string{c.op}})
			if _, err := f.Put(t.Context(), "k", onlyReader{bytes.NewReader(data)}, size); err != nil {
				t.Fatalf("%s failing %d times, size %d: %v", c.op, c.fails, size, err)
			}
			if got, _, ok := s.Object(bucket, "mp/k"); !ok || !bytes.Equal(got, data) {
				t.Fatalf("%s failing, size %d: the object is not the data put", c.op, size)
			}
			started := s.Count(osstest.OpInitiateMultipartUpload)
			if c.op == osstest.OpInitiateMultipartUpload {
				started -= int64(c.fails)
			}
			if started != 1 {
				t.Errorf("%s failing, size %d: %d uploads started, want 1: the upload started over", c.op, size, started)
			}
			if n := s.Count(c.op); n < int64(c.fails)+1 {
				t.Errorf("%s failing: %d requests, want at least %d", c.op, n, c.fails+1)
			}
		}
	}
	s.SetFaults(osstest.Faults{})
	if ups := s.Uploads(bucket); len(ups) != 0 {
		t.Errorf("uploads left in progress: %v", ups)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestMultipartCopy(t *testing.T) {
	s := newServer(t)
	f := multipartFS(t, s, oss.KeyCopyThreshold, "1MiB", oss.KeyCopyPartSize, "512KiB")
	data := randBytes(3<<20+5, 3)
	src, err := f.Put(t.Context(), "src", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.Copy(t.Context(), "src", "dst")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Count(osstest.OpUploadPartCopy); n != 7 || s.Count(osstest.OpCopyObject) != 0 {
		t.Errorf("%d UploadPartCopy and %d CopyObject requests, want 7 and 0", n, s.Count(osstest.OpCopyObject))
	}
	if got, _, _ := s.Object(bucket, "mp/dst"); !bytes.Equal(got, data) {
		t.Fatal("the copy differs")
	}
	if st, _ := f.Stat(t.Context(), "dst"); st != info || info.Size != src.Size {
		t.Errorf("Copy = %+v, Stat = %+v", info, st)
	}

	// Small objects are one CopyObject.
	if _, err := f.Put(t.Context(), "small", strings.NewReader("s"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Copy(t.Context(), "small", "small2"); err != nil || s.Count(osstest.OpCopyObject) != 1 {
		t.Errorf("small copy: %v, counts %v", err, s.Counts())
	}

	// A failing part aborts the whole copy.
	s.SetFaults(osstest.Faults{ErrorRate: 1, Ops: []string{osstest.OpUploadPartCopy}})
	_, err = f.Copy(t.Context(), "src", "dst2")
	if !ufs.IsRetryable(err) {
		t.Errorf("failed copy: %v, want retryable", err)
	}
	if _, _, ok := s.Object(bucket, "mp/dst2"); ok {
		t.Errorf("a failed copy left an object")
	}
	if ups := s.Uploads(bucket); len(ups) != 0 {
		t.Errorf("uploads left in progress: %v", ups)
	}
}
