package metrics

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoardfs/hoard/ufs"
	ufsmetrics "github.com/hoardfs/hoard/ufs/metrics"
)

// The UFS decorator reports into a Registry.
var _ ufsmetrics.Recorder = (*Registry)(nil)

// ufsFamilies is hoard_ufs_*: what Hoard asks of each backend. The
// ufs/metrics decorator calls the recording methods; it sits under the
// retry decorator, so that every attempt counts.
type ufsFamilies struct {
	reqVec, errVec   *prometheus.CounterVec
	durVec           *prometheus.HistogramVec
	readVec, writVec *prometheus.CounterVec

	calls *table[ufsKey, *ufsCall]
	errs  *table[ufsErrKey, prometheus.Counter]
	bytes *table[string, *ufsBytes]

	// Totals across backends, for the sampler.
	read, written atomic.Int64
}

type ufsKey struct{ backend, method string }

type ufsErrKey struct{ backend, method, kind string }

type ufsCall struct {
	reqs prometheus.Counter
	dur  prometheus.Observer
}

type ufsBytes struct{ read, written prometheus.Counter }

func (u *ufsFamilies) init(reg prometheus.Registerer) {
	labels := []string{"backend", "method"}
	u.reqVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hoard_ufs_requests_total",
		Help: "Calls to a UFS backend by method; each retry is a call.",
	}, labels)
	u.errVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hoard_ufs_errors_total",
		Help: "UFS calls that failed, by kind: not_exist, permission, retryable, canceled, other. A ReadRange body that breaks counts too.",
	}, []string{"backend", "method", "kind"})
	u.durVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hoard_ufs_request_duration_seconds",
		Help:    "Latency of UFS calls; for ReadRange, until the body starts.",
		Buckets: latencyBuckets,
	}, labels)
	u.readVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hoard_ufs_bytes_read_total",
		Help: "Bytes read from a UFS backend (ReadRange bodies).",
	}, []string{"backend"})
	u.writVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hoard_ufs_bytes_written_total",
		Help: "Bytes of objects stored in a UFS backend by successful Puts.",
	}, []string{"backend"})
	u.calls = newTable(func(k ufsKey) *ufsCall {
		return &ufsCall{u.reqVec.WithLabelValues(k.backend, k.method), u.durVec.WithLabelValues(k.backend, k.method)}
	})
	u.errs = newTable(func(k ufsErrKey) prometheus.Counter {
		return u.errVec.WithLabelValues(k.backend, k.method, k.kind)
	})
	u.bytes = newTable(func(b string) *ufsBytes {
		return &ufsBytes{u.readVec.WithLabelValues(b), u.writVec.WithLabelValues(b)}
	})
	reg.MustRegister(u.reqVec, u.errVec, u.durVec, u.readVec, u.writVec)
}

// UFSRequest records one call to a backend ("oss", "s3", "local") and
// method ("Stat", "ReadRange", "Put", ...), which started at start and
// returned err.
func (r *Registry) UFSRequest(backend, method string, start time.Time, err error) {
	if r == nil {
		return
	}
	c := r.ufs.calls.get(ufsKey{backend, method})
	c.reqs.Inc()
	c.dur.Observe(time.Since(start).Seconds())
	if err != nil {
		r.UFSError(backend, method, err)
	}
}

// UFSError records a failure that is not a call of its own: a ReadRange
// body that broke while it was read.
func (r *Registry) UFSError(backend, method string, err error) {
	if r == nil || err == nil {
		return
	}
	r.ufs.errs.get(ufsErrKey{backend, method, ErrorKind(err)}).Inc()
}

// UFSBytes records bytes read from and written to a backend.
func (r *Registry) UFSBytes(backend string, read, written int64) {
	if r == nil || (read <= 0 && written <= 0) {
		return
	}
	b := r.ufs.bytes.get(backend)
	if read > 0 {
		b.read.Add(float64(read))
		r.ufs.read.Add(read)
	}
	if written > 0 {
		b.written.Add(float64(written))
		r.ufs.written.Add(written)
	}
}

// ErrorKind classifies a UFS error for the kind label. A missing key is
// usually an answer rather than a fault (a lookup of a new name), so it is
// kept apart from the failures worth an alert.
func ErrorKind(err error) string {
	switch {
	case ufs.IsNotExist(err):
		return "not_exist"
	case errors.Is(err, ufs.ErrPermission):
		return "permission"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	case ufs.IsRetryable(err):
		return "retryable"
	}
	return "other"
}
