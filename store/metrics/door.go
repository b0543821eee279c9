package metrics

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fuseDoor is the hoard_fuse_* families.
type fuseDoor struct {
	opsVec  *prometheus.CounterVec
	errsVec *prometheus.CounterVec
	durVec  *prometheus.HistogramVec
	ops     *table[string, *fuseOp]

	// Totals, kept as plain atomics so that the sampler reads them without
	// gathering; the byte ones are the exported counters themselves.
	count, read, written atomic.Int64
}

type fuseOp struct {
	ops, errs prometheus.Counter
	dur       prometheus.Observer
}

func (d *fuseDoor) init(reg prometheus.Registerer) {
	d.opsVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hoard_fuse_ops_total",
		Help: "FUSE requests that reached the daemon, by operation (passthrough reads and writes never do).",
	}, []string{"op"})
	d.errsVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hoard_fuse_op_errors_total",
		Help: "FUSE requests answered with an error (ENOENT of a lookup included), by operation.",
	}, []string{"op"})
	d.durVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hoard_fuse_op_duration_seconds",
		Help:    "Time the daemon took to answer a FUSE request, by operation.",
		Buckets: latencyBuckets,
	}, []string{"op"})
	d.ops = newTable(func(op string) *fuseOp {
		return &fuseOp{d.opsVec.WithLabelValues(op), d.errsVec.WithLabelValues(op), d.durVec.WithLabelValues(op)}
	})
	reg.MustRegister(d.opsVec, d.errsVec, d.durVec,
		counterFunc("hoard_fuse_bytes_read_total", "Bytes applications read through the daemon's FUSE path.", &d.read),
		counterFunc("hoard_fuse_bytes_written_total", "Bytes applications wrote through the daemon's FUSE path.", &d.written))
}

// FuseOp records one FUSE request that started at start; err is its
// outcome (nil for success). op is the request's name in lower case as the
// kernel calls it ("lookup", "getattr", "read", "write", ...): a small,
// fixed set, since every name becomes a series.
func (r *Registry) FuseOp(op string, start time.Time, err error) {
	if r == nil {
		return
	}
	r.fuseOp(op, time.Since(start), err != nil)
}

// FuseOpFailed is FuseOp for callers that hold a status rather than an
// error (a fuse.Status, an errno).
func (r *Registry) FuseOpFailed(op string, start time.Time, failed bool) {
	if r == nil {
		return
	}
	r.fuseOp(op, time.Since(start), failed)
}

func (r *Registry) fuseOp(op string, d time.Duration, failed bool) {
	r.fuse.ops.get(op).observe(d, failed, &r.fuse.count)
}

func (o *fuseOp) observe(d time.Duration, failed bool, count *atomic.Int64) {
	o.ops.Inc()
	if failed {
		o.errs.Inc()
	}
	o.dur.Observe(d.Seconds())
	count.Add(1)
}

// FuseOpRecorder records one FUSE operation, resolved once: a caller that
// keeps one per operation saves the name lookup of FuseOp on every request.
type FuseOpRecorder struct {
	o     *fuseOp
	count *atomic.Int64
}

// FuseOpFor returns the recorder of op; nil (which records nothing) when r
// is nil.
func (r *Registry) FuseOpFor(op string) *FuseOpRecorder {
	if r == nil {
		return nil
	}
	return &FuseOpRecorder{r.fuse.ops.get(op), &r.fuse.count}
}

// Done records one request of the operation that started at start and
// failed or not.
func (f *FuseOpRecorder) Done(start time.Time, failed bool) {
	if f == nil {
		return
	}
	f.o.observe(time.Since(start), failed, f.count)
}

// FuseBytes records bytes read and written by applications through the
// daemon (not through passthrough, which the daemon never sees).
func (r *Registry) FuseBytes(read, written int64) {
	if r == nil {
		return
	}
	if read > 0 {
		r.fuse.read.Add(read)
	}
	if written > 0 {
		r.fuse.written.Add(written)
	}
}

// s3Door is the hoard_s3_* families.
type s3Door struct {
	opsVec *prometheus.CounterVec
	durVec *prometheus.HistogramVec
	ops    *table[s3Key, *s3Op]

	count, read, written atomic.Int64
}

type s3Key struct {
	op   string
	code int
}

type s3Op struct {
	ops prometheus.Counter
	dur prometheus.Observer
}

func (d *s3Door) init(reg prometheus.Registerer) {
	d.opsVec = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hoard_s3_ops_total",
		Help: "S3 requests by operation (AWS's name) and HTTP status code.",
	}, []string{"op", "code"})
	d.durVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hoard_s3_op_duration_seconds",
		Help:    "Time from an S3 request's arrival to the end of its response body, by operation.",
		Buckets: latencyBuckets,
	}, []string{"op"})
	d.ops = newTable(func(k s3Key) *s3Op {
		return &s3Op{d.opsVec.WithLabelValues(k.op, strconv.Itoa(k.code)), d.durVec.WithLabelValues(k.op)}
	})
	reg.MustRegister(d.opsVec, d.durVec,
		counterFunc("hoard_s3_bytes_read_total", "Object bytes S3 clients read (GetObject response bodies).", &d.read),
		counterFunc("hoard_s3_bytes_written_total", "Object bytes S3 clients wrote (PutObject and UploadPart request bodies).", &d.written))
}

// S3Op records one S3 request: its operation (AWS's name, such as
// "GetObject"; see OpName), the status it was answered with and when it
// started. WrapS3 calls it for every request.
func (r *Registry) S3Op(op string, status int, start time.Time) {
	if r == nil {
		return
	}
	r.s3Op(op, status, time.Since(start))
}

func (r *Registry) s3Op(op string, status int, d time.Duration) {
	o := r.s3.ops.get(s3Key{op, status})
	o.ops.Inc()
	o.dur.Observe(d.Seconds())
	r.s3.count.Add(1)
}

// S3Bytes records object bytes read and written by S3 clients.
func (r *Registry) S3Bytes(read, written int64) {
	if r == nil {
		return
	}
	if read > 0 {
		r.s3.read.Add(read)
	}
	if written > 0 {
		r.s3.written.Add(written)
	}
}
