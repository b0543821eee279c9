package fuse

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
)

// The FUSE benchmarks run one workload against several targets in the
// same run, on the same disk, and report each target's figure and Hoard's
// ratios to the references:
//
//   - raw: a directory on the disk, no FUSE;
//   - loopback: go-fuse's loopback file system (fs.NewLoopbackRoot) over a
//     directory on the disk, mounted with Hoard's mount options, passthrough
//     included (go-fuse uses it as root);
//   - hoard: the Hoard mount, cache hot, MUST_CACHE (no upload competing for
//     the disk);
//   - hoard-daemon: the same without passthrough: every read and write
//     through the daemon;
//   - hoard-nokillpriv: without FUSE_HANDLE_KILLPRIV_V2, where the kernel
//     asks GETXATTR security.capability before writes;
//   - metrics-off, metrics-on: every request through the daemon (see
//     metricsTarget), without and with a metrics registry.
//
// Sizes: HOARD_BENCH_SIZE bytes for the sequential file (256 MiB by
// default), HOARD_BENCH_FILES small files (10,000). Run them with
//
//	go test -run '^$' -bench FUSE -benchtime 1x ./fuse

// benchTarget is a directory to run a workload in.
type benchTarget struct {
	name string
	dir  string
	// under is the file on the disk that holds the bytes of dir/rel, so
	// that its pages can be dropped before a cold read.
	under func(rel string) string
	stats func() Stats
	// reg is the mount's metrics registry, nil when metrics are off.
	reg *metrics.Registry
}

func benchSize(b *testing.B) int64 {
	if v := os.Getenv("HOARD_BENCH_SIZE"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			b.Fatalf("HOARD_BENCH_SIZE: %v", err)
		}
		return n
	}
	return 256 << 20
}

func benchFiles(b *testing.B) int {
	if v := os.Getenv("HOARD_BENCH_FILES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("HOARD_BENCH_FILES: %v", err)
		}
		return n
	}
	return 10_000
}

// targets sets up the named targets in one temp dir on the disk.
func targets(b *testing.B, names ...string) []benchTarget {
	requireFUSE(b)
	base := b.TempDir()
	var ts []benchTarget
	for _, name := range names {
		dir := filepath.Join(base, name)
		switch name {
		case "raw":
			os.MkdirAll(dir, 0o755)
			ts = append(ts, benchTarget{name: name, dir: dir, under: func(rel string) string { return filepath.Join(dir, rel) }})
		case "loopback":
			ts = append(ts, mountLoopback(b, dir))
		default:
			e := newEnvIn(b, dir, func(e *env) {
				e.opts.WriteType = store.MustCache
				e.sopts.Quota = 64 << 30
				e.sopts.BlockSize = 0 // the default, 4 MiB
				e.opts.Passthrough = name != "hoard-daemon"
				e.opts.HandleKillpriv = name != "hoard-nokillpriv"
				if strings.HasPrefix(name, "metrics-") {
					metricsTarget(e, name == "metrics-on")
				}
			})
			ts = append(ts, benchTarget{name: name, dir: e.mnt, under: e.cacheFileOf, stats: e.srv.Stats, reg: e.opts.Metrics})
		}
	}
	return ts
}

// cacheFileOf is the cache file of the file at rel in the mount.
func (e *env) cacheFileOf(rel string) string {
	h, _, err := e.st.OpenPath(bg, "/"+rel, os.O_RDONLY)
	if err != nil {
		e.t.Fatal(err)
	}
	defer h.Release(bg)
	f, ok, err := h.CacheFile(false)
	if err != nil || !ok {
		e.t.Fatalf("%s is not wholly cached: %v", rel, err)
	}
	return f.Name()
}

// mountLoopback mounts go-fuse's loopback file system over dir/data at
// dir/mnt with the options Hoard mounts with.
func mountLoopback(b *testing.B, dir string) benchTarget {
	data, mnt := filepath.Join(dir, "data"), filepath.Join(dir, "mnt")
	os.MkdirAll(data, 0o755)
	os.MkdirAll(mnt, 0o755)
	root, err := fs.NewLoopbackRoot(data)
	if err != nil {
		b.Fatal(err)
	}
	m := &mountState{opts: DefaultOptions()}
	mo := m.mountOptions()
	mo.FsName, mo.Name = "loopback", "loopback"
	o := m.opts
	srv, err := fs.Mount(mnt, root, &fs.Options{
		MountOptions: mo, EntryTimeout: &o.EntryTimeout, AttrTimeout: &o.AttrTimeout, NegativeTimeout: &o.NegativeTimeout,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Unmount() })
	return benchTarget{name: "loopback", dir: mnt, under: func(rel string) string { return filepath.Join(data, rel) }}
}

// dropPages evicts a file's pages from the page cache.
func dropPages(b *testing.B, path string) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		b.Fatal(err)
	}
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / (1 << 20) }

// best runs fn twice and returns the shorter time: these machines are
// noisy.
func best(fn func() time.Duration) time.Duration {
	return min(fn(), fn())
}

// ratio reports Hoard's figure over each reference's.
func ratio(b *testing.B, got map[string]float64, name string) {
	for _, ref := range []string{"loopback", "raw"} {
		ratioOf(b, got, name, "hoard", ref)
	}
}

// ratioOf reports got[target]/got[ref] as name-target/ref, when both were
// measured.
func ratioOf(b *testing.B, got map[string]float64, name, target, ref string) {
	if got[ref] > 0 && got[target] > 0 {
		b.ReportMetric(got[target]/got[ref], name+"-"+target+"/"+ref)
	}
}

// BenchmarkFUSESeq writes a file sequentially in 1 MiB calls, ending with
// fsync (Hoard's commit point, so every target pays for durability), then
// reads it back in 1 MiB calls twice: cold (its pages dropped from the page
// cache: the disk) and hot (again at once: memory).
func BenchmarkFUSESeq(b *testing.B) {
	size := benchSize(b)
	chunk := randBytes(1, 1<<20)
	buf := make([]byte, 1<<20)
	write, cold, hot := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, t := range targets(b, "raw", "loopback", "hoard", "hoard-daemon") {
		p := filepath.Join(t.dir, "seq")
		w := best(func() time.Duration {
			return writeSeq(b, p, chunk, size)
		})
		syscall.Sync()
		read := func(drop bool) time.Duration {
			if drop {
				dropPages(b, t.under("seq"))
				dropPages(b, p) // the FUSE inode's own pages, through the daemon
			}
			start := time.Now()
			f, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			var n int64
			for {
				m, err := io.ReadFull(f, buf)
				n += int64(m)
				if err != nil {
					break
				}
			}
			f.Close()
			if n != size {
				b.Fatalf("%s: read %d bytes, want %d", t.name, n, size)
			}
			return time.Since(start)
		}
		c := best(func() time.Duration { return read(true) })
		h := best(func() time.Duration { return read(false) })
		write[t.name], cold[t.name], hot[t.name] = mbps(size, w), mbps(size, c), mbps(size, h)
		b.ReportMetric(write[t.name], t.name+"-write-MB/s")
		b.ReportMetric(cold[t.name], t.name+"-coldread-MB/s")
		b.ReportMetric(hot[t.name], t.name+"-hotread-MB/s")
		if t.stats != nil {
			b.Logf("%s: %+v", t.name, t.stats())
		}
	}
	ratio(b, write, "write")
	ratio(b, cold, "coldread")
	ratio(b, hot, "hotread")
}

// BenchmarkFUSERandom4K does 4 KiB reads, then 4 KiB writes, at random
// aligned offsets of a 256 MiB file (less with a smaller
// HOARD_BENCH_SIZE), for two seconds each, pages warm.
func BenchmarkFUSERandom4K(b *testing.B) {
	size := min(benchSize(b), 256<<20)
	chunk := randBytes(2, 1<<20)
	reads, writes := map[string]float64{}, map[string]float64{}
	for _, t := range targets(b, "raw", "loopback", "hoard", "hoard-nokillpriv", "hoard-daemon") {
		p := filepath.Join(t.dir, "rand")
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < size; off += int64(len(chunk)) {
			f.Write(chunk)
		}
		f.Close()
		syscall.Sync()
		f, err = os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		buf := make([]byte, 4096)
		blocks := int(size / 4096)
		run := func(op func(off int64) error) float64 {
			// Warm up: the page cache, and the kernel's attribute and
			// security checks.
			for range 2000 {
				op(int64(rng.IntN(blocks)) * 4096)
			}
			n := 0
			start := time.Now()
			for time.Since(start) < 2*time.Second {
				for range 1000 {
					if err := op(int64(rng.IntN(blocks)) * 4096); err != nil {
						b.Fatal(err)
					}
				}
				n += 1000
			}
			return float64(n) / time.Since(start).Seconds()
		}
		reads[t.name] = run(func(off int64) error { _, err := f.ReadAt(buf, off); return err })
		writes[t.name] = run(func(off int64) error { _, err := f.WriteAt(buf, off); return err })
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(reads[t.name], t.name+"-randread-ops/s")
		b.ReportMetric(writes[t.name], t.name+"-randwrite-ops/s")
		if t.stats != nil {
			b.Logf("%s: %+v", t.name, t.stats())
		}
	}
	ratio(b, reads, "randread")
	ratio(b, writes, "randwrite")
}

// BenchmarkFUSESmallFiles creates HOARD_BENCH_FILES files of 1 KiB (each
// closed, Hoard's commit point), stats them all by path, and unlinks them,
// reporting operations per second for each phase. Hoard's close is durable
// (it fsyncs the cache file and the metadata), so the references also
// report "durablecreate": the same create with fsync before close.
func BenchmarkFUSESmallFiles(b *testing.B) {
	files := benchFiles(b)
	data := randBytes(5, 1024)
	phases := map[string]map[string]float64{"create": {}, "stat": {}, "unlink": {}}
	durable := map[string]float64{}
	for _, t := range targets(b, "raw", "loopback", "hoard") {
		if t.name != "hoard" {
			d := filepath.Join(t.dir, "durable")
			os.Mkdir(d, 0o755)
			syscall.Sync()
			start := time.Now()
			for i := range files {
				f, err := os.Create(filepath.Join(d, fmt.Sprintf("f%06d", i)))
				if err != nil {
					b.Fatal(err)
				}
				f.Write(data)
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			durable[t.name] = float64(files) / time.Since(start).Seconds()
			b.ReportMetric(durable[t.name], t.name+"-durablecreate/s")
		}
		d := filepath.Join(t.dir, "many")
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
		name := func(i int) string { return filepath.Join(d, fmt.Sprintf("f%06d", i)) }
		phase := func(ph string, fn func(i int) error) {
			// Start from a quiet disk: with the discard mount option the
			// previous target's unlinks leave trims for the next journal
			// commits, which would be charged to whoever runs next.
			syscall.Sync()
			start := time.Now()
			for i := range files {
				if err := fn(i); err != nil {
					b.Fatalf("%s %s %d: %v", t.name, ph, i, err)
				}
			}
			phases[ph][t.name] = float64(files) / time.Since(start).Seconds()
			b.ReportMetric(phases[ph][t.name], t.name+"-"+ph+"/s")
		}
		phase("create", func(i int) error { return os.WriteFile(name(i), data, 0o644) })
		phase("stat", func(i int) error { _, err := os.Stat(name(i)); return err })
		phase("unlink", func(i int) error { return os.Remove(name(i)) })
	}
	for ph, m := range phases {
		ratio(b, m, ph)
	}
	for _, ref := range []string{"loopback", "raw"} {
		if durable[ref] > 0 {
			b.ReportMetric(phases["create"]["hoard"]/durable[ref], "create-hoard/"+ref+"-durable")
		}
	}
}

// BenchmarkFUSEFio runs fio against the raw disk, the loopback and Hoard:
// sequential 1 MiB write (ending with fsync) and read of one file, cold
// (pages dropped) and hot, and 4 KiB random reads and writes for five
// seconds each. It needs fio (apt-get install fio).
func BenchmarkFUSEFio(b *testing.B) {
	if _, err := exec.LookPath("fio"); err != nil {
		b.Fatalf("fio is not installed (apt-get install fio): %v", err)
	}
	size := benchSize(b)
	jobs := []struct {
		name, args  string
		write, drop bool
	}{
		{"seqwrite", "--rw=write --bs=1M --end_fsync=1", true, false},
		{"seqread-cold", "--rw=read --bs=1M", false, true},
		{"seqread-hot", "--rw=read --bs=1M", false, false},
		{"randread", "--rw=randread --bs=4k --time_based --runtime=5", false, false},
		{"randwrite", "--rw=randwrite --bs=4k --time_based --runtime=5", true, false},
	}
	got := map[string]map[string]float64{}
	for _, t := range targets(b, "raw", "loopback", "hoard") {
		for _, j := range jobs {
			if j.drop {
				dropPages(b, t.under("fio.dat"))
			}
			args := fmt.Sprintf("--name=%s --filename=%s --size=%d --ioengine=psync --invalidate=0 --output-format=json %s",
				j.name, filepath.Join(t.dir, "fio.dat"), size, j.args)
			out, err := exec.Command("fio", strings.Fields(args)...).Output()
			if err != nil {
				b.Fatalf("fio %s on %s: %v\n%s", j.name, t.name, err, out)
			}
			var res struct {
				Jobs []struct {
					Read, Write struct {
						BwBytes float64 `json:"bw_bytes"`
						Iops    float64 `json:"iops"`
					}
				}
			}
			if err := json.Unmarshal(out, &res); err != nil || len(res.Jobs) == 0 {
				b.Fatalf("fio %s on %s: %v\n%s", j.name, t.name, err, out)
			}
			r := res.Jobs[0].Read
			if j.write {
				r = res.Jobs[0].Write
			}
			v, unit := r.BwBytes/(1<<20), "MB/s"
			if strings.HasPrefix(j.name, "rand") {
				v, unit = r.Iops, "iops"
			}
			if got[j.name] == nil {
				got[j.name] = map[string]float64{}
			}
			got[j.name][t.name] = v
			b.ReportMetric(v, "fio-"+t.name+"-"+j.name+"-"+unit)
		}
	}
	for _, j := range jobs {
		ratio(b, got[j.name], "fio-"+j.name)
	}
}

// metricsTarget makes e a target of BenchmarkFUSEMetrics, with a metrics
// registry or without. Every request goes to the daemon: no passthrough,
// and no kernel cache of attributes, entries or misses, so that a stat
// costs a lookup and a getattr per path component. That is the most
// requests a workload can make, and so the most that recording them can
// cost.
func metricsTarget(e *env, on bool) {
	e.opts.Passthrough = false
	e.opts.AttrTimeout, e.opts.EntryTimeout, e.opts.NegativeTimeout = 0, 0, 0
	if on {
		e.opts.Metrics = metrics.New(metrics.Options{})
	}
}

// BenchmarkFUSEMetrics measures what the hoard_fuse_* metrics cost: one
// workload against a mount without metrics (metrics-off) and one with a
// registry (metrics-on), both sending every request to the daemon (see
// metricsTarget):
//
//   - seqwrite: a HOARD_BENCH_SIZE file (256 MiB by default) written in
//     1 MiB calls, ending with fsync;
//   - seqread: the file read back in 1 MiB calls (each open drops the
//     kernel's pages, so the reads reach the daemon);
//   - randread: 4 KiB O_DIRECT reads at random aligned offsets of it, each
//     one READ, for a second;
//   - stat: stat(2) by path of 1,000 files in turn, for a second.
//
// Each phase runs six rounds, the two mounts taking turns to go first
// (the second finds the machine as the first left it), and reports each
// mount's median and the ratio on/off: 1 means metrics cost nothing
// measurable. Medians rather than bests: the difference looked for is
// small, and a best is whichever round the rest of the machine left alone.
func BenchmarkFUSEMetrics(b *testing.B) {
	size := benchSize(b)
	ts := targets(b, "metrics-off", "metrics-on")
	const files = 1000
	for _, t := range ts {
		d := filepath.Join(t.dir, "many")
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range files {
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d", i)), nil, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	phase := func(name, unit string, fn func(t benchTarget) float64) {
		runs := map[string][]float64{}
		for round := range 6 {
			for i := range ts {
				t := ts[(i+round)%len(ts)]
				runs[t.name] = append(runs[t.name], fn(t))
			}
		}
		got := map[string]float64{}
		for _, t := range ts {
			got[t.name] = median(runs[t.name])
			b.ReportMetric(got[t.name], t.name+"-"+name+"-"+unit)
		}
		ratioOf(b, got, name, "metrics-on", "metrics-off")
	}

	chunk := randBytes(6, 1<<20)
	phase("seqwrite", "MB/s", func(t benchTarget) float64 {
		return mbps(size, writeSeq(b, filepath.Join(t.dir, "seq"), chunk, size))
	})
	syscall.Sync()

	buf := make([]byte, 1<<20)
	phase("seqread", "MB/s", func(t benchTarget) float64 {
		start := time.Now()
		f, err := os.Open(filepath.Join(t.dir, "seq"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		var n int64
		for {
			m, err := io.ReadFull(f, buf)
			n += int64(m)
			if err != nil {
				break
			}
		}
		if n != size {
			b.Fatalf("%s: read %d bytes, want %d", t.name, n, size)
		}
		return mbps(size, time.Since(start))
	})

	phase("randread", "ops/s", func(t benchTarget) float64 {
		f, err := os.OpenFile(filepath.Join(t.dir, "seq"), os.O_RDONLY|syscall.O_DIRECT, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		rng := rand.New(rand.NewPCG(7, 8))
		blocks := int(size / 4096)
		return forOneSecond(b, func() error {
			_, err := f.ReadAt(buf[:4096], int64(rng.IntN(blocks))*4096)
			return err
		})
	})

	phase("stat", "ops/s", func(t benchTarget) float64 {
		i := 0
		return forOneSecond(b, func() error {
			i = (i + 1) % files
			_, err := os.Stat(filepath.Join(t.dir, "many", fmt.Sprintf("f%06d", i)))
			return err
		})
	})

	for _, t := range ts {
		b.Logf("%s: %+v; requests recorded: %v", t.name, t.stats(), requestsRecorded(b, t.reg))
	}
}

// median is the middle of v (the upper one of an even count).
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// forOneSecond calls op in batches of 100 for a second and returns calls
// per second.
func forOneSecond(b *testing.B, op func() error) float64 {
	n := 0
	start := time.Now()
	for time.Since(start) < time.Second {
		for range 100 {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		n += 100
	}
	return float64(n) / time.Since(start).Seconds()
}

// requestsRecorded sums hoard_fuse_ops_total of reg (0 without one), to
// show in the log that metrics-on recorded what it was sent.
func requestsRecorded(b *testing.B, reg *metrics.Registry) float64 {
	if reg == nil {
		return 0
	}
	fams, err := reg.Gatherer().Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() == "hoard_fuse_ops_total" {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// writeSeq writes size bytes to a new file at p in len(chunk) writes,
// ending with fsync, and returns the time it took. It starts from no file
// and a quiet disk: what an earlier run or target left to write back (or
// to free) must not count.
func writeSeq(b *testing.B, p string, chunk []byte, size int64) time.Duration {
	os.Remove(p)
	syscall.Sync()
	start := time.Now()
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	for off := int64(0); off < size; off += int64(len(chunk)) {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
