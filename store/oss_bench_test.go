package store

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
	"github.com/hoardfs/hoard/ufs/retry"
)

// The conditions of issue 3's benchmarks: 20 ms per request and 50 MiB/s
// per connection, since one connection to real OSS carries far less than
// the link.
const (
	ossBenchSize      = 256 << 20
	ossBenchLatency   = 20 * time.Millisecond
	ossBenchBandwidth = 50 << 20
)

func ossBenchUFS(b *testing.B, s *osstest.Server, extra ...string) ufs.UFS {
	opts := map[string]string{
		oss.KeyAccessKeyID:     osstest.DefaultAccessKeyID,
		oss.KeyAccessKeySecret: osstest.DefaultAccessKeySecret,
		oss.KeyEndpoint:        s.URL(),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		opts[extra[i]] = extra[i+1]
	}
	f, err := oss.Open(context.Background(), "oss://bench/dir", opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return retry.New(f, retry.Defaults())
}

func ossBenchStore(b *testing.B, u ufs.UFS) *Store {
	dir := b.TempDir()
	s, err := Open(Options{
		MetaDir: filepath.Join(dir, "meta"), CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota: 4 << 30, RootUFS: u, RootURI: "oss://bench/dir", SyncInterval: time.Minute,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkOSSColdRead compares a cold sequential read of a 256 MiB object
// through the store (parallel ranged GETs with readahead) with one
// single-stream GetObject of it, from the same OSS test server in the same
// run.
func BenchmarkOSSColdRead(b *testing.B) {
	srv := osstest.New(osstest.Options{})
	b.Cleanup(srv.Close)
	srv.CreateBucket("bench")
	data := randBytes(3, ossBenchSize)
	if err := srv.PutObject("bench", "dir/obj", data); err != nil {
		b.Fatal(err)
	}
	srv.SetFaults(osstest.Faults{Latency: ossBenchLatency, Bandwidth: ossBenchBandwidth})
	u := ossBenchUFS(b, srv)

	start := time.Now()
	rc, err := u.ReadRange(bg, "obj", 0, -1)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err != nil || n != ossBenchSize {
		b.Fatalf("single stream: %d %v", n, err)
	}
	single := time.Since(start)

	st := ossBenchStore(b, u)
	start = time.Now()
	h, _, err := st.OpenPath(bg, "/obj", os.O_RDONLY)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	var off int64
	for {
		k, err := h.Read(bg, buf, off)
		if !bytes.Equal(buf[:k], data[off:off+int64(k)]) {
			b.Fatalf("store read wrong bytes at %d", off)
		}
		off += int64(k)
		if err != nil {
			break
		}
	}
	h.Release(bg)
	cold := time.Since(start)
	if off != ossBenchSize {
		b.Fatalf("store read %d bytes", off)
	}
	b.ReportMetric(mbps(ossBenchSize, single), "single-GetObject-MB/s")
	b.ReportMetric(mbps(ossBenchSize, cold), "store-cold-read-MB/s")
	b.ReportMetric(single.Seconds()/cold.Seconds(), "ratio")
}

// BenchmarkOSSPersist compares the persist of a 256 MiB commit (the
// backend's parallel multipart upload, with the default 4 parts in flight
// and with 8) with one single PutObject of the same bytes, same server,
// same run.
func BenchmarkOSSPersist(b *testing.B) {
	srv := osstest.New(osstest.Options{})
	b.Cleanup(srv.Close)
	srv.CreateBucket("bench")
	srv.SetFaults(osstest.Faults{Latency: ossBenchLatency, Bandwidth: ossBenchBandwidth})
	data := randBytes(4, ossBenchSize)

	single := ossBenchUFS(b, srv, oss.KeyMultipartThreshold, "1GiB")
	start := time.Now()
	if _, err := single.Put(bg, "single", bytes.NewReader(data), ossBenchSize); err != nil {
		b.Fatal(err)
	}
	singleD := time.Since(start)

	b.ReportMetric(mbps(ossBenchSize, singleD), "single-PutObject-MB/s")
	for _, conc := range []string{"", "8"} {
		u := ossBenchUFS(b, srv)
		name := "/persisted"
		if conc != "" {
			u = ossBenchUFS(b, srv, oss.KeyMultipartConcurrency, conc)
			name += "-" + conc
		}
		st := ossBenchStore(b, u)
		if _, err := st.PutObject(WithWriteType(bg, MustCache), name, bytes.NewReader(data), PutOptions{Size: -1}); err != nil {
			b.Fatal(err)
		}
		n, _ := st.Resolve(bg, name)
		start = time.Now()
		if err := st.Persist(bg, n.Ino); err != nil {
			b.Fatal(err)
		}
		persistD := time.Since(start)
		if obj, _, ok := srv.Object("bench", "dir"+name); !ok || !bytes.Equal(obj, data) {
			b.Fatal("persisted object differs")
		}
		suffix := ""
		if conc != "" {
			suffix = "-concurrency" + conc
		}
		b.ReportMetric(mbps(ossBenchSize, persistD), "store-persist-MB/s"+suffix)
		b.ReportMetric(singleD.Seconds()/persistD.Seconds(), "ratio"+suffix)
	}
}
