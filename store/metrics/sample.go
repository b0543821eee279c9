package metrics

import (
	"context"
	"sync"
	"time"
)

// Sample is the running totals at one moment; the difference of two is
// what happened in between. The web UI draws its graphs from them.
type Sample struct {
	Time                           time.Time
	FuseOps, FuseRead, FuseWritten int64
	S3Ops, S3Read, S3Written       int64
	CacheHits, CacheMisses         int64
	UFSRead, UFSWritten            int64
}

// Totals returns the running totals now.
func (r *Registry) Totals() Sample {
	return Sample{
		Time:    time.Now(),
		FuseOps: r.fuse.count.Load(), FuseRead: r.fuse.read.Load(), FuseWritten: r.fuse.written.Load(),
		S3Ops: r.s3.count.Load(), S3Read: r.s3.read.Load(), S3Written: r.s3.written.Load(),
		CacheHits: r.cache.hits.Load(), CacheMisses: r.cache.misses.Load(),
		UFSRead: r.ufs.read.Load(), UFSWritten: r.ufs.written.Load(),
	}
}

// SampleEvery is how often Run samples, and KeptSamples how many samples
// the ring keeps: ten minutes of history.
const (
	SampleEvery = time.Second
	KeptSamples = 600
)

// sampler is a ring of the last KeptSamples samples.
type sampler struct {
	mu   sync.Mutex
	ring [KeptSamples]Sample
	next int // where the next sample goes
	n    int // samples held
}

func (s *sampler) add(x Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring[s.next] = x
	s.next = (s.next + 1) % len(s.ring)
	if s.n < len(s.ring) {
		s.n++
	}
}

func (s *sampler) last() (Sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return Sample{}, false
	}
	return s.ring[(s.next+len(s.ring)-1)%len(s.ring)], true
}

func (s *sampler) all() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sample, 0, s.n)
	for i := s.n; i > 0; i-- {
		out = append(out, s.ring[(s.next+len(s.ring)-i)%len(s.ring)])
	}
	return out
}

// Run samples the totals every SampleEvery until ctx ends, so that the web
// UI shows the last minutes as soon as it is opened. Without it, Samples
// still samples whenever it is asked, and the graphs start when the page
// does.
func (r *Registry) Run(ctx context.Context) {
	t := time.NewTicker(SampleEvery)
	defer t.Stop()
	r.samples.add(r.Totals())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.samples.add(r.Totals())
		}
	}
}

// Samples returns the kept samples, oldest first, taking a new one first
// when the last is older than half SampleEvery.
func (r *Registry) Samples() []Sample {
	if r == nil {
		return nil
	}
	if l, ok := r.samples.last(); !ok || time.Since(l.Time) >= SampleEvery/2 {
		r.samples.add(r.Totals())
	}
	return r.samples.all()
}

// Rate is what happened per second between two samples.
type Rate struct {
	Time time.Time `json:"-"`
	// UnixMs is Time in milliseconds since the epoch, for JavaScript.
	UnixMs int64 `json:"t"`
	// Operations and bytes per second at each door.
	FuseOps     float64 `json:"fuseOps"`
	FuseRead    float64 `json:"fuseRead"`
	FuseWritten float64 `json:"fuseWritten"`
	S3Ops       float64 `json:"s3Ops"`
	S3Read      float64 `json:"s3Read"`
	S3Written   float64 `json:"s3Written"`
	UFSRead     float64 `json:"ufsRead"`
	UFSWritten  float64 `json:"ufsWritten"`
	// HitRatio is hits/(hits+misses) of the blocks read in the interval,
	// or -1 when nothing was read through the cache.
	HitRatio float64 `json:"hitRatio"`
}

// Rates turns consecutive samples into rates; one fewer than samples.
func Rates(samples []Sample) []Rate {
	var out []Rate
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		dt := b.Time.Sub(a.Time).Seconds()
		if dt <= 0 {
			continue
		}
		per := func(x, y int64) float64 { return float64(y-x) / dt }
		hr := -1.0
		if h, m := b.CacheHits-a.CacheHits, b.CacheMisses-a.CacheMisses; h+m > 0 {
			hr = float64(h) / float64(h+m)
		}
		out = append(out, Rate{
			Time: b.Time, UnixMs: b.Time.UnixMilli(),
			FuseOps: per(a.FuseOps, b.FuseOps), FuseRead: per(a.FuseRead, b.FuseRead), FuseWritten: per(a.FuseWritten, b.FuseWritten),
			S3Ops: per(a.S3Ops, b.S3Ops), S3Read: per(a.S3Read, b.S3Read), S3Written: per(a.S3Written, b.S3Written),
			UFSRead: per(a.UFSRead, b.UFSRead), UFSWritten: per(a.UFSWritten, b.UFSWritten),
			HitRatio: hr,
		})
	}
	return out
}
