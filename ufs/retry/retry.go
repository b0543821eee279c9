// Package retry is a UFS decorator that repeats calls failing with a
// retryable error (ufs.IsRetryable), with exponential backoff and jitter,
// until they succeed, fail for good, run out of attempts or time, or their
// context ends.
//
// Every method is retried whole: Stat, Copy, Delete and List are idempotent.
// Put is retried only when repeating it sends the same bytes: when its
// reader is an io.Seeker (it is sought back to where it was when Put was
// called) or when the failed attempt read nothing from it. Otherwise the
// retryable error is returned at once, so that a caller who can produce the
// body again may retry at its level.
//
// ReadRange retries the open, and its reader resumes: when the stream fails
// with a retryable error (a dropped connection) it opens the rest of the
// range at the current offset and carries on. A resumed read assumes that
// the object did not change meanwhile; callers that must know compare the
// object's fingerprint.
package retry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hoardfs/hoard/ufs"
)

// Options bound the retrying. Zero fields take the defaults of Defaults.
type Options struct {
	// InitialDelay is the wait before the first retry; each retry doubles
	// it, up to MaxDelay. The actual wait is drawn between half and all of
	// it (jitter), so that clients failing together do not retry together.
	InitialDelay time.Duration
	MaxDelay     time.Duration
	// MaxAttempts bounds the calls made, the first one included.
	MaxAttempts int
	// MaxElapsed, when positive, gives up instead of waiting past this
	// long after the first attempt.
	MaxElapsed time.Duration
	// Logger gets a debug line per retry; nil logs nothing.
	Logger *slog.Logger
}

// Defaults returns the options used for zero fields: 50ms doubling to 5s, 8
// attempts (about 6s of waiting in all), no time bound.
func Defaults() Options {
	return Options{InitialDelay: 50 * time.Millisecond, MaxDelay: 5 * time.Second, MaxAttempts: 8}
}

func (o Options) withDefaults() Options {
	d := Defaults()
	if o.InitialDelay <= 0 {
		o.InitialDelay = d.InitialDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = d.MaxDelay
	}
	if o.MaxDelay < o.InitialDelay {
		o.MaxDelay = o.InitialDelay
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = d.MaxAttempts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// FS retries the calls of the UFS it wraps.
type FS struct {
	ufs.UFS
	opts Options
}

var (
	_ ufs.UFS       = (*FS)(nil)
	_ ufs.Unwrapper = (*FS)(nil)
)

// New wraps inner.
func New(inner ufs.UFS, opts Options) *FS {
	return &FS{UFS: inner, opts: opts.withDefaults()}
}

// Unwrap returns the wrapped UFS.
func (f *FS) Unwrap() ufs.UFS { return f.UFS }

// noRetry carries a retryable error that this package must not retry
// itself (see Put); do returns the error inside.
type noRetry struct{ err error }

func (e *noRetry) Error() string { return e.err.Error() }

// do calls fn until it returns nil or an error that is not retryable, the
// attempts or time run out, or ctx ends. op and key name the call in logs.
func (f *FS) do(ctx context.Context, op, key string, fn func() error) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := fn()
		var nr *noRetry
		if errors.As(err, &nr) {
			return nr.err
		}
		if err == nil || !ufs.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		delay := f.backoff(attempt)
		if attempt >= f.opts.MaxAttempts {
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		if f.opts.MaxElapsed > 0 && time.Since(start)+delay > f.opts.MaxElapsed {
			return fmt.Errorf("after %d attempts in %v: %w", attempt, time.Since(start).Round(time.Millisecond), err)
		}
		f.opts.Logger.Debug("ufs call failed, retrying", "ufs", f.UFS.String(), "op", op, "key", key,
			"attempt", attempt, "delay", delay, "err", err)
		if werr := sleep(ctx, delay); werr != nil {
			return fmt.Errorf("%w while waiting to retry after: %v", werr, err)
		}
	}
}

// backoff is the wait after the given failed attempt: InitialDelay doubled
// per attempt, capped at MaxDelay, with the upper half of it random.
func (f *FS) backoff(attempt int) time.Duration {
	d := f.opts.InitialDelay
	for i := 1; i < attempt && d < f.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, f.opts.MaxDelay)
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d or until ctx ends, and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
