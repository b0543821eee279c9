package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store/metrics"
)

func TestRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	samples := []metrics.Sample{
		{Time: t0},
		{Time: t0.Add(2 * time.Second), FuseRead: 2000, S3Written: 400, CacheHits: 3, CacheMisses: 1, S3Ops: 10},
		{Time: t0.Add(3 * time.Second), FuseRead: 2000, S3Written: 400, CacheHits: 3, CacheMisses: 1, S3Ops: 10},
	}
	rates := metrics.Rates(samples)
	if len(rates) != 2 {
		t.Fatalf("%d rates", len(rates))
	}
	r := rates[0]
	if r.FuseRead != 1000 || r.S3Written != 200 || r.S3Ops != 5 || r.HitRatio != 0.75 {
		t.Errorf("first rate %+v", r)
	}
	if rates[1].HitRatio != -1 || rates[1].FuseRead != 0 {
		t.Errorf("idle rate %+v", rates[1])
	}
}

func TestSamplesRing(t *testing.T) {
	r := metrics.New(metrics.Options{})
	if n := len(r.Samples()); n != 1 {
		t.Fatalf("first call: %d samples, want 1", n)
	}
	if n := len(r.Samples()); n != 1 {
		t.Fatalf("second call at once: %d samples, want still 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.FuseBytes(100, 0)
	time.Sleep(metrics.SampleEvery + 200*time.Millisecond)
	cancel()
	<-done
	s := r.Samples()
	if len(s) < 2 || s[len(s)-1].FuseRead != 100 {
		t.Fatalf("samples after Run: %+v", s)
	}
	for i := 1; i < len(s); i++ {
		if s[i].Time.Before(s[i-1].Time) {
			t.Fatalf("samples out of order: %+v", s)
		}
	}
}
