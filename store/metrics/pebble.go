package metrics

import (
	"strconv"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoardfs/hoard/store"
)

// pebbleCollector exports the metadata store's health, read from
// pebble.DB.Metrics at scrape time: what an operator needs to see a
// compaction backlog, a growing WAL or a cold block cache coming.
type pebbleCollector struct {
	st     *store.Store
	levels [2]*prometheus.Desc // tables, bytes by level
}

// pebbleStat is one scalar of pebble.Metrics.
type pebbleStat struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	get  func(m *pebble.Metrics) float64
}

func pebbleDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("hoard_pebble_"+name, help, nil, nil)
}

var pebbleStats = []pebbleStat{
	{pebbleDesc("disk_usage_bytes", "Bytes on disk of the metadata store (tables, WAL, manifest)."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.DiskSpaceUsage()) }},
	{pebbleDesc("read_amplification", "Sublevels of L0 plus non-empty lower levels: tables a point read may visit."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.ReadAmp()) }},
	{pebbleDesc("compactions_total", "Compactions run."),
		prometheus.CounterValue, func(m *pebble.Metrics) float64 { return float64(m.Compact.Count) }},
	{pebbleDesc("compaction_debt_bytes", "Estimated bytes to compact before the LSM is in shape."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.Compact.EstimatedDebt) }},
	{pebbleDesc("compactions_in_progress", "Compactions running now."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.Compact.NumInProgress) }},
	{pebbleDesc("flushes_total", "Memtable flushes."),
		prometheus.CounterValue, func(m *pebble.Metrics) float64 { return float64(m.Flush.Count) }},
	{pebbleDesc("memtable_bytes", "Bytes allocated by memtables, flushing ones included."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.MemTable.Size) }},
	{pebbleDesc("memtables", "Memtables, flushing ones included."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.MemTable.Count) }},
	{pebbleDesc("wal_bytes", "Live bytes in the write-ahead log."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.WAL.Size) }},
	{pebbleDesc("wal_written_bytes_total", "Bytes written to the write-ahead log."),
		prometheus.CounterValue, func(m *pebble.Metrics) float64 { return float64(m.WAL.BytesWritten) }},
	{pebbleDesc("block_cache_bytes", "Bytes in pebble's block cache."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.BlockCache.Size) }},
	{pebbleDesc("block_cache_hits_total", "Block cache hits."),
		prometheus.CounterValue, func(m *pebble.Metrics) float64 { return float64(m.BlockCache.Hits) }},
	{pebbleDesc("block_cache_misses_total", "Block cache misses."),
		prometheus.CounterValue, func(m *pebble.Metrics) float64 { return float64(m.BlockCache.Misses) }},
	{pebbleDesc("table_iterators", "Open sstable iterators."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.TableIters) }},
	{pebbleDesc("tombstones", "Approximate point and range deletion tombstones in tables."),
		prometheus.GaugeValue, func(m *pebble.Metrics) float64 { return float64(m.Keys.TombstoneCount) }},
}

func newPebbleCollector(st *store.Store) *pebbleCollector {
	return &pebbleCollector{st: st, levels: [2]*prometheus.Desc{
		prometheus.NewDesc("hoard_pebble_level_tables", "Sstables in each LSM level.", []string{"level"}, nil),
		prometheus.NewDesc("hoard_pebble_level_bytes", "Bytes of the sstables in each LSM level.", []string{"level"}, nil),
	}}
}

func (c *pebbleCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range pebbleStats {
		ch <- s.desc
	}
	ch <- c.levels[0]
	ch <- c.levels[1]
}

func (c *pebbleCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.st.DB().Pebble().Metrics()
	for _, s := range pebbleStats {
		ch <- prometheus.MustNewConstMetric(s.desc, s.typ, s.get(m))
	}
	for i, l := range m.Levels {
		lv := strconv.Itoa(i)
		ch <- prometheus.MustNewConstMetric(c.levels[0], prometheus.GaugeValue, float64(l.TablesCount), lv)
		ch <- prometheus.MustNewConstMetric(c.levels[1], prometheus.GaugeValue, float64(l.TablesSize), lv)
	}
}
