package metrics_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/ufs/local"
)

// value is the value of the series of family name whose labels include
// the pairs given (name, value, name, value, ...): a counter, a gauge, or a
// histogram's count. It fails the test when there is no such series.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	v, ok := lookup(t, g, name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

// valueOr0 is value, with 0 for a series not created yet.
func valueOr0(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	v, _ := lookup(t, g, name, labels...)
	return v
}

func lookup(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (float64, bool) {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !hasLabels(m, labels) {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount()), true
			case m.Untyped != nil:
				return m.Untyped.GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// openStore opens a store over a local UFS in a temp dir.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	dir := t.TempDir()
	u, err := local.New(filepath.Join(dir, "ufs"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{
		MetaDir: filepath.Join(dir, "meta"), CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota: 64 << 20, BlockSize: 64 << 10, RootUFS: u, RootURI: "file://" + filepath.Join(dir, "ufs"),
		SyncInterval: -1, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); u.Close() })
	return st
}
