// Package faults is a UFS decorator that injects transient failures and
// latency, for tests of everything that must survive a flaky object store:
// the retry decorator, the store's persistence queue, the integration tests.
//
// Every knob can be changed while calls are in flight. An injected failure is
// retryable (ufs.IsRetryable) and matches ErrInjected. It never corrupts the
// store: a failing Put stores nothing (it may first consume part of the
// reader, as a dropped upload does), and a failing ReadRange either fails to
// open or returns a reader that fails partway, as a dropped download does.
package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoardfs/hoard/ufs"
)

// ErrInjected marks every failure this package makes up.
var ErrInjected = errors.New("faults: injected failure")

// The methods that can fail, as Calls names them.
const (
	MethodStat      = "Stat"
	MethodReadRange = "ReadRange"
	MethodPut       = "Put"
	MethodCopy      = "Copy"
	MethodDelete    = "Delete"
	MethodList      = "List"
)

// defaultPartial is the share of injected Put and ReadRange failures that
// strike midway rather than at the start.
const defaultPartial = 0.5

// FS wraps a UFS and makes some of its calls fail.
type FS struct {
	ufs.UFS

	calls map[string]*atomic.Int64 // by method; the map itself never changes

	mu struct {
		sync.Mutex
		rng       *rand.Rand    // decides which calls fail, and where
		errorRate float64       // probability that a call fails
		partial   float64       // probability that a failing Put or ReadRange fails midway
		failNext  int           // so many next calls fail
		down      bool          // every call fails
		latency   time.Duration // added before every call
	}
}

var (
	_ ufs.UFS       = (*FS)(nil)
	_ ufs.Unwrapper = (*FS)(nil)
)

// New wraps inner; it injects nothing until a knob is set. Its random
// choices are seeded at random; call Seed for a reproducible run.
func New(inner ufs.UFS) *FS {
	f := &FS{UFS: inner, calls: map[string]*atomic.Int64{}}
	for _, m := range []string{MethodStat, MethodReadRange, MethodPut, MethodCopy, MethodDelete, MethodList} {
		f.calls[m] = new(atomic.Int64)
	}
	f.mu.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	f.mu.partial = defaultPartial
	return f
}

// Unwrap returns the wrapped UFS.
func (f *FS) Unwrap() ufs.UFS { return f.UFS }

// Seed makes the following random choices reproducible.
func (f *FS) Seed(seed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.rng = rand.New(rand.NewPCG(seed, seed))
}

// SetErrorRate makes each call fail with probability p (0 to 1).
func (f *FS) SetErrorRate(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.errorRate = p
}

// SetPartial sets the probability (0 to 1, default 0.5) that an injected
// failure of Put or ReadRange strikes midway: Put then consumes part of its
// reader before failing, and ReadRange returns a reader that fails partway.
func (f *FS) SetPartial(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.partial = p
}

// FailNext makes the next n calls fail, whatever the other knobs say.
func (f *FS) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.failNext = n
}

// SetDown makes every call fail until SetDown(false), like an outage.
func (f *FS) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.down = down
}

// SetLatency delays every call by d, or until its context is done.
func (f *FS) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mu.latency = d
}

// Calls returns how many times method (MethodPut, ...) was called, failed
// calls included.
func (f *FS) Calls(method string) int64 {
	if c, ok := f.calls[method]; ok {
		return c.Load()
	}
	return 0
}

// fault is what to do to one call.
type fault struct {
	fail    bool
	partial bool   // fail midway (Put and ReadRange only)
	after   uint64 // random; where a midway failure strikes
}

// enter counts a call, waits out the latency and decides its fault. It fails
// only when ctx ends during the wait.
func (f *FS) enter(ctx context.Context, method string) (fault, error) {
	f.calls[method].Add(1)
	latency, flt := f.decide(method)
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fault{}, ctx.Err()
		}
	}
	return flt, nil
}

// decide draws one call's fault under the lock.
func (f *FS) decide(method string) (time.Duration, fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var flt fault
	switch {
	case f.mu.down:
		flt.fail = true
	case f.mu.failNext > 0:
		f.mu.failNext--
		flt.fail = true
	case f.mu.errorRate > 0:
		flt.fail = f.mu.rng.Float64() < f.mu.errorRate
	}
	if flt.fail && (method == MethodPut || method == MethodReadRange) {
		flt.partial = f.mu.rng.Float64() < f.mu.partial
		flt.after = f.mu.rng.Uint64()
	}
	return f.mu.latency, flt
}

// injected is the error of a failing call.
func injected(method, key string) error {
	return ufs.Retryable(fmt.Errorf("%w: %s %q", ErrInjected, method, key))
}
