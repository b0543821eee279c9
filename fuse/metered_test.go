package fuse

import (
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hoardfs/hoard/store/metrics"
)

// fuseSeries reads the hoard_fuse_* series of g, keyed "family" or
// "family/op"; a histogram counts its samples.
func fuseSeries(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" {
					key += "/" + l.GetValue()
				}
			}
			switch {
			case m.Counter != nil:
				got[key] = m.Counter.GetValue()
			case m.Histogram != nil:
				got[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return got
}

// metricsDelta snapshots the registry's FUSE series around fn and returns
// how far each moved.
func metricsDelta(t *testing.T, reg *metrics.Registry, fn func()) map[string]float64 {
	t.Helper()
	before := fuseSeries(t, reg.Gatherer())
	fn()
	d := fuseSeries(t, reg.Gatherer())
	for k, v := range before {
		d[k] -= v
	}
	return d
}

// wantMoved checks that each series of d moved by exactly what want says.
func wantMoved(t *testing.T, what string, d map[string]float64, want map[string]float64) {
	t.Helper()
	for k, w := range want {
		if d[k] != w {
			t.Errorf("%s: %s moved by %v, want %v", what, k, d[k], w)
		}
	}
}

// TestMetrics does known traffic through a mount with a registry and
// checks that the hoard_fuse_* families moved by what the daemon saw.
// Passthrough is off so that reads and writes reach the daemon, and the
// attribute cache so that a stat does too.
func TestMetrics(t *testing.T) {
	reg := metrics.New(metrics.Options{})
	e := newEnv(t, func(e *env) {
		e.opts.Metrics = reg
		e.opts.Passthrough = false
		e.opts.AttrTimeout = 0
	})

	// Every operation has its series from the mount on, so that a
	// dashboard's rate() sees the first request.
	all := fuseSeries(t, reg.Gatherer())
	for _, name := range opNames {
		for _, fam := range []string{"hoard_fuse_ops_total", "hoard_fuse_op_errors_total", "hoard_fuse_op_duration_seconds"} {
			if _, ok := all[fam+"/"+name]; !ok {
				t.Errorf("no series %s{op=%q} after the mount", fam, name)
			}
		}
	}

	const n = 300_000
	data := randBytes(1, n)
	st := e.srv.Stats()
	d := metricsDelta(t, reg, func() {
		f, err := os.OpenFile(e.p("f"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < n; off += n / 3 {
			if _, err := f.Write(data[off : off+n/3]); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		e.waitReleases(st.Releases + 1)
	})
	st2 := e.srv.Stats()
	// How many WRITEs the kernel makes of three write(2) calls is its
	// business (it splits them at folio boundaries); what the daemon
	// counted itself is the truth.
	writes := float64(st2.Writes - st.Writes)
	wantMoved(t, "create and write", d, map[string]float64{
		"hoard_fuse_ops_total/create":          1,
		"hoard_fuse_ops_total/write":           writes,
		"hoard_fuse_op_duration_seconds/write": writes,
		"hoard_fuse_ops_total/flush":           1,
		"hoard_fuse_ops_total/release":         1,
		"hoard_fuse_op_errors_total/create":    0,
		"hoard_fuse_op_errors_total/write":     0,
		"hoard_fuse_bytes_written_total":       n,
		"hoard_fuse_bytes_read_total":          0,
	})
	if got := st2.WriteBytes - st.WriteBytes; got != n || writes < 3 {
		t.Errorf("the daemon saw %v writes of %d bytes in all, want at least 3 of %d", writes, got, n)
	}

	d = metricsDelta(t, reg, func() {
		f, err := os.Open(e.p("f"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		mustEqual(t, "read back", got, data)
		e.waitReleases(st2.Releases + 1)
	})
	st3 := e.srv.Stats()
	// The same for READs and the read-ahead window.
	wantMoved(t, "read", d, map[string]float64{
		"hoard_fuse_ops_total/open":           1,
		"hoard_fuse_ops_total/read":           float64(st3.Reads - st2.Reads),
		"hoard_fuse_op_duration_seconds/read": float64(st3.Reads - st2.Reads),
		"hoard_fuse_op_errors_total/read":     0,
		"hoard_fuse_ops_total/release":        1,
		"hoard_fuse_bytes_read_total":         n,
		"hoard_fuse_bytes_written_total":      0,
	})
	if d["hoard_fuse_ops_total/read"] < 1 {
		t.Errorf("no READ reached the daemon")
	}

	// fstat rather than stat: a path walk also asks for the attributes of
	// every directory on the way (default_permissions checks search
	// permission, and attributes expire at once here).
	f, err := os.Open(e.p("f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d = metricsDelta(t, reg, func() {
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != n {
			t.Errorf("stat: size %d, want %d", fi.Size(), n)
		}
	})
	if got := d["hoard_fuse_ops_total/getattr"] + d["hoard_fuse_ops_total/statx"]; got != 1 {
		t.Errorf("fstat: getattr and statx moved by %v, want 1", got)
	}

	// The kernel asks LOOKUP, which finds nothing (a negative entry, as
	// NegativeTimeout is set): a failed lookup, and no UNLINK is sent.
	d = metricsDelta(t, reg, func() {
		wantErrno(t, "unlink a missing name", syscall.Unlink(e.p("missing")), syscall.ENOENT)
	})
	wantMoved(t, "unlink missing", d, map[string]float64{
		"hoard_fuse_ops_total/lookup":        1,
		"hoard_fuse_op_errors_total/lookup":  1,
		"hoard_fuse_ops_total/unlink":        0,
		"hoard_fuse_bytes_written_total":     0,
		"hoard_fuse_op_errors_total/getattr": 0,
	})
}
