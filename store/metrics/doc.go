// Package metrics is what Hoard measures about itself: one Registry per
// daemon, served at /metrics in the Prometheus text format and sampled for
// the web UI's live graphs.
//
// # Families
//
// Every name starts with hoard_. A family that belongs to one door carries
// the door in its name rather than in a label, so that a dashboard of the
// mount and one of the gateway never mix by accident:
//
//	hoard_fuse_ops_total{op}                 FUSE requests that reached the daemon
//	hoard_fuse_op_errors_total{op}           ... that answered an error
//	hoard_fuse_op_duration_seconds{op}       ... their latency (histogram)
//	hoard_fuse_bytes_read_total              bytes read by applications through the daemon
//	hoard_fuse_bytes_written_total           bytes written by applications through the daemon
//	hoard_s3_ops_total{op,code}              S3 requests by operation and HTTP status
//	hoard_s3_op_duration_seconds{op}         their latency, body included (histogram)
//	hoard_s3_bytes_read_total                GetObject response bytes
//	hoard_s3_bytes_written_total             PutObject and UploadPart request bytes
//	hoard_cache_hits_total                   blocks read from the cache (needs the store's observer)
//	hoard_cache_misses_total                 blocks fetched from the UFS (needs the store's observer)
//	hoard_cache_fetched_bytes_total          bytes of those blocks
//	hoard_cache_capacity_bytes, _used_bytes, _clean_bytes, _pinned_bytes (= _dirty_bytes + _kept_bytes)
//	hoard_cache_dirty_bytes                  bytes not yet persisted (only on this machine)
//	hoard_cache_kept_bytes                   bytes of pinned files, persisted too
//	hoard_cache_evictions_total, hoard_cache_evicted_bytes_total
//	hoard_ufs_requests_total{backend,method} calls to a UFS backend (each retry counts)
//	hoard_ufs_errors_total{backend,method,kind}  kind: not_exist, retryable, permission, canceled, other
//	hoard_ufs_request_duration_seconds{backend,method}  latency; ReadRange until the body starts
//	hoard_ufs_bytes_read_total{backend}, hoard_ufs_bytes_written_total{backend}
//	hoard_persist_queue_depth, hoard_persist_queue_oldest_age_seconds, hoard_persist_queue_failing
//	hoard_pebble_*                           the metadata store (pebble.Metrics)
//	hoard_go_*, hoard_process_*              the Go runtime and the process
//	hoard_build_info{version,goversion}, hoard_start_time_seconds
//
// # Cost
//
// The doors call the recording methods (FuseOp, FuseBytes, S3Op, ...) on
// every request, so those are allocation-free and take no lock: the
// per-label children are looked up in copy-on-write maps that only change
// the first time a label value is seen, and the FUSE mount resolves one
// FuseOpRecorder per operation when it mounts, which skips even that.
// Everything that is a state rather than an event (cache use, queue depth,
// pebble) is read at scrape time by collectors and costs the data path
// nothing. A nil *Registry records nothing, and the doors then leave their
// wrappers out, which is how BenchmarkFUSEMetrics (fuse) and
// BenchmarkGatewayMetrics (gateway) measure them with metrics on and off.
package metrics
