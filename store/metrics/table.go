package metrics

import (
	"maps"
	"sync"
	"sync/atomic"
)

// table maps label values to their resolved children. Reads are one atomic
// load and one map lookup, with no lock and no allocation; a key seen for
// the first time copies the map under mu. Label sets are small and fixed
// (operation names, status codes, backends), so the copies stop early.
type table[K comparable, V any] struct {
	m    atomic.Pointer[map[K]V]
	mu   sync.Mutex
	make func(K) V
}

func newTable[K comparable, V any](mk func(K) V) *table[K, V] {
	return &table[K, V]{make: mk}
}

func (t *table[K, V]) get(k K) V {
	if m := t.m.Load(); m != nil {
		if v, ok := (*m)[k]; ok {
			return v
		}
	}
	return t.add(k)
}

func (t *table[K, V]) add(k K) V {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
	}
	m := make(map[K]V, 1)
	if old != nil {
		m = maps.Clone(*old)
	}
	v := t.make(k)
	m[k] = v
	t.m.Store(&m)
	return v
}
