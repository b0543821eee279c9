package store

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
)

// bigDirUFS is a UFS with a directory "big/" of n objects that exist only
// as listings it makes up page by page, as an object store with a million
// keys under one prefix lists them; everything else goes to the UFS inside.
type bigDirUFS struct {
	ufs.UFS
	n     int
	pages atomic.Int64
}

const bigPrefix = "big/"

func bigKey(i int) string { return fmt.Sprintf("%sk%08d", bigPrefix, i) }

func bigInfo(i int) ufs.ObjectInfo {
	return ufs.ObjectInfo{Key: bigKey(i), Size: int64(i % 4096), ETag: strconv.Itoa(i),
		ModTime: time.Unix(1700000000, 0)}
}

func (u *bigDirUFS) List(ctx context.Context, o ufs.ListOptions) (ufs.ListPage, error) {
	if o.Prefix != bigPrefix {
		page, err := u.UFS.List(ctx, o)
		if err == nil && o.Prefix == "" && o.StartAfter < bigPrefix {
			page.CommonPrefixes = append(page.CommonPrefixes, bigPrefix)
		}
		return page, err
	}
	u.pages.Add(1)
	start := 0
	if o.StartAfter != "" {
		i, err := strconv.Atoi(strings.TrimPrefix(o.StartAfter, bigPrefix+"k"))
		if err != nil {
			return ufs.ListPage{}, fmt.Errorf("start after %q: %w", o.StartAfter, err)
		}
		start = i + 1
	}
	var page ufs.ListPage
	for i := start; i < u.n && len(page.Objects) < 1000; i++ {
		page.Objects = append(page.Objects, bigInfo(i))
	}
	if last := start + len(page.Objects); last < u.n {
		page.Truncated, page.NextStartAfter = true, bigKey(last-1)
	}
	return page, nil
}

func (u *bigDirUFS) Stat(ctx context.Context, key string) (ufs.ObjectInfo, error) {
	if rest, ok := strings.CutPrefix(key, bigPrefix+"k"); ok {
		if i, err := strconv.Atoi(rest); err == nil && i < u.n {
			return bigInfo(i), nil
		}
	}
	return u.UFS.Stat(ctx, key)
}

// listBig lists /big through the store (the first listing syncs it with
// the UFS) and checks every entry, in order.
func listBig(tb testing.TB, s *Store, n int) {
	tb.Helper()
	d, err := s.Resolve(bg, "/big")
	if err != nil {
		tb.Fatal(err)
	}
	i := 0
	for de, err := range s.ReadDir(bg, d.Ino, "") {
		if err != nil {
			tb.Fatal(err)
		}
		if want := strings.TrimPrefix(bigKey(i), bigPrefix); de.Name != want {
			tb.Fatalf("entry %d is %q, want %q", i, de.Name, want)
		}
		i++
	}
	if i != n {
		tb.Fatalf("%d entries listed, %d in the UFS", i, n)
	}
}

// TestSyncLargeDir lists a directory of 10,000 objects that the store has
// not seen: every one appears once, in order, with its size.
func TestSyncLargeDir(t *testing.T) {
	const n = 10_000
	e := newEnv(t)
	big := &bigDirUFS{n: n}
	e.wrap = func(u ufs.UFS) ufs.UFS { big.UFS = u; return big }
	e.restart()
	if err := e.s.SyncDir(bg, RootIno); err != nil { // listed before big/ was there
		t.Fatal(err)
	}
	listBig(t, e.s, n)
	if p := big.pages.Load(); p != n/1000 {
		t.Fatalf("%d listing pages for %d objects, want %d", p, n, n/1000)
	}
	got, err := e.s.Resolve(bg, "/big/k00001234")
	if err != nil || got.Size != 1234%4096 {
		t.Fatalf("one of them: %+v %v", got, err)
	}
	listBig(t, e.s, n) // from the namespace now
	if p := big.pages.Load(); p != n/1000 {
		t.Fatalf("listed again from the UFS: %d pages", p)
	}
}

// BenchmarkSyncLargeDir syncs and lists a directory of 100,000 and of
// 1,000,000 objects (or $HOARD_BENCH_OBJECTS) and reports, for each, the
// objects merged per second and the peak Go heap while it ran; their ratio
// shows whether memory grows with the directory (bounded: about 1).
func BenchmarkSyncLargeDir(b *testing.B) {
	large := 1_000_000
	if v := os.Getenv("HOARD_BENCH_OBJECTS"); v != "" {
		var err error
		if large, err = strconv.Atoi(v); err != nil {
			b.Fatalf("HOARD_BENCH_OBJECTS: %v", err)
		}
	}
	small := large / 10
	peaks := map[int]float64{}
	for _, n := range []int{small, large} {
		s := newEnvB(b, b.TempDir(), func(u ufs.UFS) ufs.UFS { return &bigDirUFS{UFS: u, n: n} }).s
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}()
		start := time.Now()
		listBig(b, s, n)
		took := time.Since(start)
		close(stop)
		wg.Wait()
		mb := float64(peak.Load()-min(peak.Load(), base.HeapAlloc)) / (1 << 20)
		peaks[n] = mb
		b.ReportMetric(float64(n)/took.Seconds(), fmt.Sprintf("objects/s-%d", n))
		b.ReportMetric(mb, fmt.Sprintf("peak-heap-MB-%d", n))
	}
	b.ReportMetric(peaks[large]/max(peaks[small], 0.01), "heap-ratio-10x-objects")
}
