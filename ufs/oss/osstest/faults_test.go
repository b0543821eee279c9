package osstest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

func TestErrorRate(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	if err := b.PutObject("k", strings.NewReader("v")); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(osstest.Faults{ErrorRate: 1, Ops: []string{osstest.OpPutObject}})
	for range 10 {
		err := b.PutObject("k", strings.NewReader("new"))
		se := serviceError(t, err)
		if se.Code != "InternalError" || (se.StatusCode != 500 && se.StatusCode != 503) {
			t.Fatalf("injected error: %+v", se)
		}
	}
	// Other operations are not affected.
	rc, err := b.GetObject("k")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "v" {
		t.Fatalf("got %q after failed puts", got)
	}
	if n := s.Count(osstest.OpPutObject); n != 11 {
		t.Errorf("PutObject count %d, want 11", n)
	}
	s.SetFaults(osstest.Faults{})
	if err := b.PutObject("k", strings.NewReader("new")); err != nil {
		t.Fatalf("after clearing faults: %v", err)
	}
}

func TestLatency(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	s.SetFaults(osstest.Faults{Latency: 100 * time.Millisecond})
	start := time.Now()
	if _, err := b.ListObjects(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("request took %v with 100ms latency", d)
	}
}

func TestDroppedConnections(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	data := randBytes(1 << 20)
	if err := b.PutObject("k", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	s.SetFaults(osstest.Faults{DropRate: 1})
	for range 20 {
		// A dropped GET fails at once or yields a short body; never
		// wrong bytes presented as whole.
		rc, err := b.GetObject("k")
		if err == nil {
			got, rerr := io.ReadAll(rc)
			rc.Close()
			if rerr == nil {
				t.Fatalf("dropped GET read %d bytes without error", len(got))
			}
			if !bytes.Equal(got, data[:len(got)]) {
				t.Fatal("dropped GET returned wrong bytes")
			}
		}
		// A dropped PUT fails. It may have been carried out (the answer
		// was lost), but never with part of the body.
		if err := b.PutObject("new", bytes.NewReader(data)); err == nil {
			t.Fatal("dropped PUT succeeded")
		}
		if got, _, ok := s.Object(testBucket, "new"); ok && !bytes.Equal(got, data) {
			t.Fatalf("a dropped PUT stored %d bytes of %d", len(got), len(data))
		}
	}
}

func TestBandwidth(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	data := randBytes(512 << 10)
	if err := b.PutObject("k", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	const rate = 2 << 20 // 512 KiB takes 250 ms per connection
	s.SetFaults(osstest.Faults{Bandwidth: rate})
	get := func() {
		rc, err := b.GetObject("k")
		if err != nil {
			t.Error(err)
			return
		}
		defer rc.Close()
		if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(len(data)) {
			t.Errorf("read %d bytes: %v", n, err)
		}
	}
	start := time.Now()
	get()
	one := time.Since(start)
	if one < 200*time.Millisecond || one > 3*time.Second {
		t.Errorf("512 KiB at 2 MiB/s took %v", one)
	}
	// The cap is per connection: four at once take about as long as one.
	start = time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(get)
	}
	wg.Wait()
	if four := time.Since(start); four > 3*one {
		t.Errorf("4 parallel reads took %v, one took %v: the cap is not per connection", four, one)
	}
	// Request bodies are capped too.
	start = time.Now()
	if err := b.PutObject("up", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("uploading 512 KiB at 2 MiB/s took %v", d)
	}
}

func TestFaultsChangeWhileRunning(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
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
				b.PutObject("k", strings.NewReader("x"))
				b.GetObjectMeta("k")
			}
		})
	}
	for i := range 50 {
		s.SetFaults(osstest.Faults{ErrorRate: float64(i%3) / 2, DropRate: float64(i%2) / 4, Bandwidth: int64(i%2) << 20})
		_ = s.Faults()
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if s.Peak(osstest.OpPutObject) < 1 || s.Counts()[osstest.OpHeadObject]+s.Counts()[osstest.OpGetObjectMeta] == 0 {
		t.Errorf("counts %v", s.Counts())
	}
}

func TestCloseWithRequestsInFlight(t *testing.T) {
	s := osstest.New(osstest.Options{})
	s.CreateBucket(testBucket)
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	s.SetFaults(osstest.Faults{Latency: time.Hour})
	errc := make(chan error, 1)
	go func() { _, err := b.ListObjects(); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a request in flight")
	}
	if err := <-errc; err == nil {
		t.Error("request in flight during Close succeeded")
	}
}

// timeoutBucket is the SDK's handle on the test bucket through a client
// that gives up on a request after d.
func timeoutBucket(t *testing.T, s *osstest.Server, d time.Duration) *oss.Bucket {
	return sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret, oss.HTTPClient(&http.Client{Timeout: d}))
}

// TestStallUntilClientGivesUp: a request stalled without end fails by the
// client's timeout, whether the stall strikes before the answer or in the
// middle of its body; nothing hangs.
func TestStallUntilClientGivesUp(t *testing.T) {
	s := newServer(t, osstest.Options{})
	data := randBytes(256 << 10)
	if err := s.PutObject(testBucket, "k", data); err != nil {
		t.Fatal(err)
	}
	b := timeoutBucket(t, s, 200*time.Millisecond)
	s.SetFaults(osstest.Faults{StallRate: 1})
	for i := range 5 {
		// ReadAll, because a stall in the body lets GetObject return.
		rc, err := b.GetObject("k")
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if !isTimeout(err) {
			t.Fatalf("stalled GET %d: %v, want a timeout", i, err)
		}
		if err := b.PutObject("up", bytes.NewReader(data)); !isTimeout(err) {
			t.Fatalf("stalled PUT %d: %v, want a timeout", i, err)
		}
	}
	s.SetFaults(osstest.Faults{})
	rc, err := b.GetObject("k")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after the stall: %d bytes, %v", len(got), err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestStallThenAnswer: a stall of fixed length delays the answer, which
// then arrives whole.
func TestStallThenAnswer(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	data := randBytes(256 << 10)
	if err := b.PutObject("k", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	const stall = 50 * time.Millisecond
	s.SetFaults(osstest.Faults{StallRate: 1, Stall: stall, Ops: []string{osstest.OpGetObject, osstest.OpPutObject}})
	for range 6 {
		start := time.Now()
		rc, err := b.GetObject("k")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GET after a stall: %d bytes, %v", len(got), err)
		}
		if err := b.PutObject("k", bytes.NewReader(data)); err != nil {
			t.Fatalf("PUT after a stall: %v", err)
		}
		if d := time.Since(start); d < 2*stall {
			t.Fatalf("a GET and a PUT took %v, less than their two stalls of %v", d, stall)
		}
	}
}

func TestCloseWithStalledRequest(t *testing.T) {
	s := osstest.New(osstest.Options{})
	s.CreateBucket(testBucket)
	s.PutObject(testBucket, "k", randBytes(64<<10))
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	s.SetFaults(osstest.Faults{StallRate: 1, Ops: []string{osstest.OpGetObject}})
	errc := make(chan error, 1)
	go func() {
		rc, err := b.GetObject("k")
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		errc <- err
	}()
	for s.Count(osstest.OpGetObject) == 0 {
		time.Sleep(time.Millisecond)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a stalled request")
	}
	if err := <-errc; err == nil {
		t.Error("a request stalled until Close succeeded")
	}
}

func TestFailDelete(t *testing.T) {
	s := newServer(t, osstest.Options{})
	b := sdkBucket(t, s, oss.AuthV1, osstest.DefaultAccessKeySecret)
	put := func(keys ...string) {
		for _, k := range keys {
			if err := s.PutObject(testBucket, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("a", "b c", "d")
	s.SetFaults(osstest.Faults{FailDelete: []string{"b c"}})

	// Verbose: the key that failed is left out.
	res, err := b.DeleteObjects([]string{"a", "b c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.DeletedObjects, ","); got != "a,d" {
		t.Errorf("verbose delete reported %q deleted, want a,d", got)
	}
	if keys := s.Keys(testBucket); len(keys) != 1 || keys[0] != "b c" {
		t.Errorf("left after delete: %q", keys)
	}

	// Quiet: only the key that failed is listed (the SDK does not parse a
	// quiet answer, so read it raw).
	put("a")
	body, err := b.DeleteMultipleObjectsXml(deleteXML(true, "a", "b c"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "<Deleted><Key>b%20c</Key></Deleted>") || strings.Contains(body, "<Key>a</Key>") {
		t.Errorf("quiet answer %q, want only the url-encoded key that failed", body)
	}
	if body, err := b.DeleteMultipleObjectsXml(deleteXML(true, "a")); err != nil || body != "" {
		t.Errorf("quiet answer without failures: %q, %v; want no body", body, err)
	}

	err = b.DeleteObject("b c")
	if se := serviceError(t, err); se.StatusCode != http.StatusInternalServerError || se.Code != "InternalError" {
		t.Errorf("DeleteObject of an undeletable key: %+v", se)
	}
	s.SetFaults(osstest.Faults{})
	if err := b.DeleteObject("b c"); err != nil {
		t.Fatal(err)
	}
	if keys := s.Keys(testBucket); len(keys) != 0 {
		t.Errorf("left after the faults were cleared: %q", keys)
	}
}

func deleteXML(quiet bool, keys ...string) string {
	x := fmt.Sprintf("<Delete><Quiet>%v</Quiet>", quiet)
	for _, k := range keys {
		x += "<Object><Key>" + oss.EscapeXml(k) + "</Key></Object>"
	}
	return x + "</Delete>"
}
