package faults_test

import (
	"bytes"
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
	"github.com/hoardfs/hoard/ufs/ufstest"
)

func newFaulty(t *testing.T) *faults.FS {
	t.Helper()
	inner, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := faults.New(inner)
	f.Seed(1)
	return f
}

// TestTransparent runs the conformance suite through an FS with no faults.
func TestTransparent(t *testing.T) {
	ufstest.Run(t, func(t *testing.T) ufs.UFS { return newFaulty(t) })
}

func wantInjected(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, faults.ErrInjected) || !ufs.IsRetryable(err) {
		t.Errorf("%s: %v; want a retryable injected failure", what, err)
	}
}

func TestFailNext(t *testing.T) {
	f := newFaulty(t)
	defer f.Close()
	ctx := t.Context()
	if _, ok := f.Unwrap().(*local.FS); !ok {
		t.Errorf("Unwrap() = %T", f.Unwrap())
	}
	f.FailNext(2)
	for range 2 {
		_, err := f.Stat(ctx, "k")
		wantInjected(t, "Stat", err)
	}
	if _, err := f.Stat(ctx, "k"); !ufs.IsNotExist(err) {
		t.Errorf("third Stat: %v, want the inner IsNotExist", err)
	}
	if n := f.Calls(faults.MethodStat); n != 3 {
		t.Errorf("Calls(Stat) = %d, want 3", n)
	}
	if n := f.Calls("Nope"); n != 0 {
		t.Errorf("Calls(Nope) = %d", n)
	}
}

func TestDown(t *testing.T) {
	f := newFaulty(t)
	defer f.Close()
	ctx := t.Context()
	f.SetDown(true)
	_, err := f.Put(ctx, "k", strings.NewReader("x"), 1)
	wantInjected(t, "Put", err)
	_, err = f.Stat(ctx, "k")
	wantInjected(t, "Stat", err)
	_, err = f.ReadRange(ctx, "k", 0, -1)
	if err == nil {
		t.Errorf("ReadRange succeeded while down")
	}
	_, err = f.Copy(ctx, "k", "l")
	wantInjected(t, "Copy", err)
	wantInjected(t, "Delete", f.Delete(ctx, "k"))
	_, err = f.List(ctx, ufs.ListOptions{})
	wantInjected(t, "List", err)
	f.SetDown(false)
	if _, err := f.Put(ctx, "k", strings.NewReader("x"), 1); err != nil {
		t.Errorf("Put after the outage: %v", err)
	}
	if _, err := f.UFS.Stat(ctx, "k"); err != nil {
		t.Errorf("the object of the Put after the outage: %v", err)
	}
}

func TestErrorRate(t *testing.T) {
	f := newFaulty(t)
	defer f.Close()
	f.SetErrorRate(0.3)
	failed := 0
	for range 1000 {
		if _, err := f.Stat(t.Context(), "k"); errors.Is(err, faults.ErrInjected) {
			failed++
		}
	}
	if failed < 230 || failed > 370 {
		t.Errorf("%d of 1000 calls failed at rate 0.3", failed)
	}
}

// TestFailedPutKeepsOld checks both kinds of Put failure.
func TestFailedPutKeepsOld(t *testing.T) {
	f := newFaulty(t)
	defer f.Close()
	ctx := t.Context()
	if _, err := f.Put(ctx, "k", strings.NewReader("old"), 3); err != nil {
		t.Fatal(err)
	}
	for _, partial := range []float64{0, 1} {
		f.SetPartial(partial)
		f.FailNext(1)
		body := bytes.NewReader(bytes.Repeat([]byte("n"), 4<<20))
		_, err := f.Put(ctx, "k", body, body.Size())
		wantInjected(t, "Put", err)
		consumed := body.Size() - int64(body.Len())
		if (partial == 1) != (consumed > 0) {
			t.Errorf("partial %v: Put consumed %d bytes of the reader", partial, consumed)
		}
		if partial == 1 && consumed == body.Size() {
			t.Errorf("a midway failure consumed the whole reader")
		}
		rc, err := f.UFS.ReadRange(ctx, "k", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "old" {
			t.Errorf("after a failed Put the object holds %d bytes, want the old 3", len(got))
		}
	}
}

func TestReadFailsMidway(t *testing.T) {
	f := newFaulty(t)
	defer f.Close()
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789"), 100<<10)
	if _, err := f.Put(ctx, "k", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	f.SetPartial(1)
	for _, length := range []int64{-1, 10, 0} {
		f.FailNext(1)
		rc, err := f.ReadRange(ctx, "k", 0, length)
		if err != nil {
			t.Fatalf("ReadRange: %v; want the failure while reading", err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		wantInjected(t, "reading", err)
		if !bytes.Equal(got, data[:len(got)]) || len(got) == len(data) {
			t.Errorf("length %d: read %d good bytes of %d before failing", length, len(got), len(data))
		}
	}
	f.SetPartial(0)
	f.FailNext(1)
	_, err := f.ReadRange(ctx, "k", 0, -1)
	wantInjected(t, "ReadRange", err)
}

func TestLatency(t *testing.T) {
	f := newFaulty(t)
	defer f.Close()
	f.SetLatency(50 * time.Millisecond)
	start := time.Now()
	_, _ = f.Stat(t.Context(), "k")
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("Stat took %v with 50ms latency", d)
	}
	f.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := f.List(ctx, ufs.ListOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("List with an hour of latency and a 20ms deadline: %v", err)
	}
}

// TestKnobsUnderLoad turns knobs while calls run (for the race detector).
func TestKnobsUnderLoad(t *testing.T) {
	f := newFaulty(t)
	defer f.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = f.Put(t.Context(), "k", strings.NewReader("x"), 1)
				_, _ = f.Stat(t.Context(), "k")
			}
		})
	}
	for i := range 50 {
		f.SetErrorRate(float64(i%3) / 3)
		f.FailNext(i % 2)
		f.SetDown(i%5 == 0)
		f.SetPartial(0.5)
		f.SetLatency(time.Duration(i%2) * time.Microsecond)
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if f.Calls(faults.MethodPut) == 0 {
		t.Errorf("no calls counted")
	}
}
