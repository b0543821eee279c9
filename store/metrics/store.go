package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoardfs/hoard/store"
)

// WatchStore registers the collectors that read st's state at scrape time:
// cache accounting, the persist queue and pebble. Call it once, when the
// store is open and before /metrics is served.
func (r *Registry) WatchStore(st *store.Store) {
	r.queue.mu.Lock()
	r.queue.st = st
	r.queue.mu.Unlock()
	r.reg.MustRegister(&storeCollector{r: r, st: st}, newPebbleCollector(st))
}

// queueMemo remembers the persist queue's stats for a second: Store.Queue
// walks every queued task, and both /metrics and the web UI ask for it.
type queueMemo struct {
	mu sync.Mutex
	st *store.Store
	at time.Time
	q  store.QueueStats
}

// queueMaxAge is how stale the queue's stats may be.
const queueMaxAge = time.Second

// Queue returns the persist queue's stats, at most a second old; false
// before WatchStore.
func (r *Registry) Queue() (store.QueueStats, bool) {
	if r == nil {
		return store.QueueStats{}, false
	}
	m := &r.queue
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		return store.QueueStats{}, false
	}
	if now := time.Now(); now.Sub(m.at) >= queueMaxAge {
		m.q, m.at = m.st.Queue(), now
	}
	return m.q, true
}

// storeCollector exports the cache accounting and the persist queue.
type storeCollector struct {
	r  *Registry
	st *store.Store
}

var (
	descCacheCapacity = prometheus.NewDesc("hoard_cache_capacity_bytes",
		"The cache quota (hoard.cache.quota).", nil, nil)
	descCacheUsed = prometheus.NewDesc("hoard_cache_used_bytes",
		"Bytes of every block in the cache.", nil, nil)
	descCacheClean = prometheus.NewDesc("hoard_cache_clean_bytes",
		"Bytes of cached blocks that are persisted and may be evicted.", nil, nil)
	descCachePinned = prometheus.NewDesc("hoard_cache_pinned_bytes",
		"Bytes of cached blocks that cannot be evicted: dirty ones and those of pinned files.", nil, nil)
	descCacheDirty = prometheus.NewDesc("hoard_cache_dirty_bytes",
		"Bytes of cached blocks not yet persisted: they exist only on this machine.", nil, nil)
	descCacheKept = prometheus.NewDesc("hoard_cache_kept_bytes",
		"Bytes of cached blocks of pinned files that are persisted too.", nil, nil)
	descCacheEvictions = prometheus.NewDesc("hoard_cache_evictions_total",
		"Blocks evicted from the cache to make room.", nil, nil)
	descCacheEvicted = prometheus.NewDesc("hoard_cache_evicted_bytes_total",
		"Bytes evicted from the cache to make room.", nil, nil)
	descQueueDepth = prometheus.NewDesc("hoard_persist_queue_depth",
		"Tasks in the persist queue (files to persist, markers to write, old keys to delete).", nil, nil)
	descQueueAge = prometheus.NewDesc("hoard_persist_queue_oldest_age_seconds",
		"Age of the oldest task in the persist queue; 0 when it is empty.", nil, nil)
	descQueueFailing = prometheus.NewDesc("hoard_persist_queue_failing",
		"Tasks in the persist queue that failed at least once and wait for a retry.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCacheCapacity, descCacheUsed, descCacheClean, descCachePinned,
		descCacheDirty, descCacheKept, descCacheEvictions, descCacheEvicted, descQueueDepth, descQueueAge, descQueueFailing} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	cs := c.st.CacheStats()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(descCacheCapacity, float64(cs.Capacity))
	gauge(descCacheUsed, float64(cs.Used))
	gauge(descCacheClean, float64(cs.Clean))
	gauge(descCachePinned, float64(cs.Pinned))
	gauge(descCacheDirty, float64(cs.Dirty))
	gauge(descCacheKept, float64(cs.Kept))
	counter(descCacheEvictions, float64(cs.Evictions))
	counter(descCacheEvicted, float64(cs.EvictedBytes))
	q, _ := c.r.Queue()
	gauge(descQueueDepth, float64(q.Depth))
	gauge(descQueueAge, q.OldestAge.Seconds())
	gauge(descQueueFailing, float64(q.Failing))
}
