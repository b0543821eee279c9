package metrics

import (
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// latencyBuckets span a FUSE getattr answered from memory (microseconds) to
// a UFS call that timed out (seconds).
var latencyBuckets = []float64{
	5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10, 30,
}

// Options configure a Registry.
type Options struct {
	// Version is reported by hoard_build_info.
	Version string
}

// Registry holds the metrics of one daemon. It has its own
// prometheus.Registry, never the process-wide default, so that two daemons
// (or two tests) in one process do not share counters.
type Registry struct {
	reg     *prometheus.Registry
	started time.Time

	fuse  fuseDoor
	s3    s3Door
	cache cacheEvents
	ufs   ufsFamilies

	samples sampler
	queue   queueMemo
}

// New returns a Registry with every family registered.
func New(o Options) *Registry {
	r := &Registry{reg: prometheus.NewRegistry(), started: time.Now()}
	r.fuse.init(r.reg)
	r.s3.init(r.reg)
	r.cache.init(r.reg)
	r.ufs.init(r.reg)

	// The runtime's and the process's standard families, under hoard_ so
	// that every name this daemon exports is its own.
	prometheus.WrapRegistererWithPrefix("hoard_", r.reg).MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "hoard_build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": o.Version, "goversion": runtime.Version()},
	})
	info.Set(1)
	start := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "hoard_start_time_seconds",
		Help: "When the daemon started, in seconds since the epoch.",
	})
	start.Set(float64(r.started.UnixNano()) / 1e9)
	r.reg.MustRegister(info, start)
	return r
}

// Started is when the Registry was made (the daemon's start).
func (r *Registry) Started() time.Time { return r.started }

// Gatherer is what /metrics serves, for tests and for other exporters.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Registerer lets other packages add their own hoard_ families.
func (r *Registry) Registerer() prometheus.Registerer { return r.reg }

// Handler serves the metrics in the Prometheus text (or protobuf) format.
// A collector that fails still leaves the others served.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// counterFunc exposes an atomic counter that the data path adds to without
// going through prometheus.
func counterFunc(name, help string, v *atomic.Int64) prometheus.CounterFunc {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
		func() float64 { return float64(v.Load()) })
}
