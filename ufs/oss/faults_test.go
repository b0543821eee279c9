package oss_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

func TestErrorsAreClassified(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/c")
	defer f.Close()
	if _, err := f.Put(t.Context(), "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	calls := ufstest.Calls(f, "k")
	for _, faults := range []osstest.Faults{{ErrorRate: 1}, {DropRate: 1}} {
		s.SetFaults(faults)
		for name, call := range calls {
			err := call(t.Context())
			if err == nil || !ufs.IsRetryable(err) || ufs.IsNotExist(err) {
				t.Errorf("%s with %+v: %v, want a retryable error", name, faults, err)
			}
			if err != nil && !strings.Contains(err.Error(), "oss://"+bucket+"/c/") {
				t.Errorf("%s: %q does not name the object", name, err)
			}
		}
	}
	s.SetFaults(osstest.Faults{})
	_, err := f.Stat(t.Context(), "missing")
	if !ufs.IsNotExist(err) || ufs.IsRetryable(err) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Stat(missing): %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, call := range calls {
		if err := call(ctx); !errors.Is(err, context.Canceled) || ufs.IsRetryable(err) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled, not retryable", name, err)
		}
	}
}

// TestReadsUnderFaults: a read either returns the right bytes or fails
// with a retryable error; it never returns wrong or short data as whole.
func TestReadsUnderFaults(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/r")
	defer f.Close()
	data := randBytes(2<<20, 4)
	if _, err := f.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(osstest.Faults{ErrorRate: 0.2, DropRate: 0.3})
	ok, failed := 0, 0
	for i := range 60 {
		off, length := int64(i*30000), int64(-1)
		if i%2 == 1 {
			length = 100000
		}
		want := data[off:]
		if length > 0 {
			want = want[:length]
		}
		rc, err := f.ReadRange(t.Context(), "k", off, length)
		if err == nil {
			var got []byte
			got, err = io.ReadAll(rc)
			rc.Close()
			if err == nil && !bytes.Equal(got, want) {
				t.Fatalf("ReadRange(%d, %d) returned wrong bytes without an error", off, length)
			}
		}
		if err != nil {
			failed++
			if !ufs.IsRetryable(err) {
				t.Errorf("ReadRange(%d, %d): %v is not retryable", off, length, err)
			}
		} else {
			ok++
		}
	}
	if failed == 0 || ok == 0 {
		t.Errorf("%d reads succeeded, %d failed: the faults did not bite or nothing got through", ok, failed)
	}
}

func TestCancelDuringSlowRead(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/slow")
	defer f.Close()
	data := randBytes(2<<20, 5)
	if _, err := f.Put(t.Context(), "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(osstest.Faults{Bandwidth: 256 << 10}) // 8 s for the whole object
	ctx, cancel := context.WithCancel(t.Context())
	rc, err := f.ReadRange(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = io.Copy(io.Discard, rc)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("read after cancel: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the read took %v to notice the cancellation", d)
	}

	// A server that never answers: the deadline ends the call.
	s.SetFaults(osstest.Faults{Latency: time.Hour})
	ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = f.ReadRange(ctx, "k", 0, 100)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read from a silent server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the read took %v past its deadline", d)
	}
}

func TestDeleteBatches(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/del")
	defer f.Close()
	var keys []string
	for i := range 2500 {
		k := fmt.Sprintf("k%04d", i)
		keys = append(keys, k)
		if err := s.PutObject(bucket, "del/"+k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	s.PutObject(bucket, "keep", []byte("outside the root"))
	if err := f.Delete(t.Context(), keys...); err != nil {
		t.Fatal(err)
	}
	if n := s.Count(osstest.OpDeleteMultipleObjects); n != 3 {
		t.Errorf("%d DeleteMultipleObjects requests for 2500 keys, want 3", n)
	}
	if left := s.Keys(bucket); len(left) != 1 || left[0] != "keep" {
		t.Errorf("left after Delete: %v", left)
	}
}

// TestDeleteReportsFailedKeys: keys OSS fails to delete (reported in its
// quiet answer) make Delete fail with a retryable error naming them.
func TestDeleteReportsFailedKeys(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/del")
	defer f.Close()
	var keys []string
	for i := range 1500 {
		keys = append(keys, fmt.Sprintf("k%04d", i))
	}
	stuck := []string{"stuck one", "stuck+two"} // URL-encoded in the answer
	keys = append(keys, stuck...)
	for _, k := range keys {
		if err := s.PutObject(bucket, "del/"+k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	s.SetFaults(osstest.Faults{FailDelete: []string{"del/" + stuck[0], "del/" + stuck[1]}})
	err := f.Delete(t.Context(), keys...)
	if err == nil || !ufs.IsRetryable(err) || !strings.Contains(err.Error(), "stuck one, stuck+two") {
		t.Fatalf("Delete with keys OSS did not delete: %v; want a retryable error naming them", err)
	}
	if left := s.Keys(bucket); len(left) != 2 || left[0] != "del/"+stuck[0] || left[1] != "del/"+stuck[1] {
		t.Errorf("left after Delete: %q", left)
	}

	s.SetFaults(osstest.Faults{})
	if err := f.Delete(t.Context(), stuck...); err != nil {
		t.Fatal(err)
	}
	if left := s.Keys(bucket); len(left) != 0 {
		t.Errorf("left after the second Delete: %q", left)
	}
}

// TestObjectsFromOutside: objects other tools put in the bucket are listed
// and read like Hoard's own.
func TestObjectsFromOutside(t *testing.T) {
	s := newServer(t)
	f := open(t, s, "oss://"+bucket+"/dir")
	defer f.Close()
	s.PutObject(bucket, "dir/a/b.txt", []byte("from another tool"))
	s.PutObject(bucket, "dir/c", []byte("c"))
	s.PutObject(bucket, "dir/", nil) // the root's own marker is not an entry
	s.PutObject(bucket, "dirx/not-mine", []byte("x"))
	page, err := f.List(t.Context(), ufs.ListOptions{Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != 1 || page.Objects[0].Key != "c" || len(page.CommonPrefixes) != 1 || page.CommonPrefixes[0] != "a/" {
		t.Errorf("List = %+v", page)
	}
	rc, err := f.ReadRange(t.Context(), "a/b.txt", 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "another" {
		t.Errorf("read %q", got)
	}
}
