package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoardfs/hoard/store"
)

// cacheEvents counts what readers find in the block cache. The store tells
// the Registry through its observer hook (see CacheHit); the accounting
// (capacity, use, evictions) is read from the store at scrape time instead,
// see storeCollector.
type cacheEvents struct {
	hits, misses, fetched atomic.Int64
}

func (c *cacheEvents) init(reg prometheus.Registerer) {
	reg.MustRegister(
		counterFunc("hoard_cache_hits_total",
			"Blocks that reads found in the cache. Reads handed to the kernel (FUSE passthrough, sendfile of a cached file) are not seen.", &c.hits),
		counterFunc("hoard_cache_misses_total",
			"Blocks that reads had to wait for while they were fetched from the UFS.", &c.misses),
		counterFunc("hoard_cache_fetched_bytes_total",
			"Bytes fetched from the UFS into the cache: on demand, by readahead and by load.", &c.fetched),
	)
}

// CacheHit records that a read found blocks blocks already cached.
var _ store.Observer = (*Registry)(nil)

func (r *Registry) CacheHit(blocks int) {
	if r != nil && blocks > 0 {
		r.cache.hits.Add(int64(blocks))
	}
}

// CacheMiss records that a read waited for blocks blocks to be fetched.
func (r *Registry) CacheMiss(blocks int) {
	if r != nil && blocks > 0 {
		r.cache.misses.Add(int64(blocks))
	}
}

// CacheFetched records bytes fetched from the UFS into the cache, whoever
// asked for them (a reader, readahead, load).
func (r *Registry) CacheFetched(bytes int64) {
	if r != nil && bytes > 0 {
		r.cache.fetched.Add(bytes)
	}
}
