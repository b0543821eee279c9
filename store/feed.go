package store

import (
	"context"
	"sync"
)

// EventKind says what happened to a path.
type EventKind uint8

const (
	// Created: name appeared in directory Parent.
	Created EventKind = iota + 1
	// Removed: name disappeared from directory Parent.
	Removed
	// Changed: the content or attributes of Ino changed.
	Changed
	// Uploaded: the content of Ino reached the UFS; nothing a reader sees
	// changed (its persistence state did).
	Uploaded
)

func (k EventKind) String() string {
	return [...]string{"?", "created", "removed", "changed", "uploaded"}[k]
}

// Event is one entry of the change feed.
type Event struct {
	Kind   EventKind
	Ino    uint64
	Parent uint64 // Created, Removed
	Name   string // Created, Removed
	// Origin is the door the change came through (see WithOrigin), so that
	// a subscriber can skip the changes it made itself.
	Origin string
}

type originKey struct{}

// WithOrigin tags the changes made with ctx as coming from origin ("fuse",
// "s3", "admin"); events carry the tag.
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

func originOf(ctx context.Context) string {
	s, _ := ctx.Value(originKey{}).(string)
	return s
}

// feed fans events out to subscribers. Publishing never blocks: each
// subscriber has an unbounded queue drained by its own goroutine, because a
// slow subscriber must not stall the data path and a dropped event would
// leave a stale kernel cache behind.
type feed struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// Subscription receives events on C until Close.
type Subscription struct {
	C    <-chan Event
	f    *feed
	mu   sync.Mutex
	cond *sync.Cond
	q    []Event
	done bool
}

// Subscribe starts receiving the change feed.
func (s *Store) Subscribe() *Subscription {
	ch := make(chan Event)
	sub := &Subscription{C: ch, f: &s.feed}
	sub.cond = sync.NewCond(&sub.mu)
	s.feed.mu.Lock()
	if s.feed.subs == nil {
		s.feed.subs = make(map[*Subscription]struct{})
	}
	s.feed.subs[sub] = struct{}{}
	s.feed.mu.Unlock()
	go sub.pump(ch)
	return sub
}

func (sub *Subscription) pump(ch chan<- Event) {
	defer close(ch)
	for {
		sub.mu.Lock()
		for len(sub.q) == 0 && !sub.done {
			sub.cond.Wait()
		}
		if sub.done {
			sub.mu.Unlock()
			return
		}
		ev := sub.q[0]
		sub.q = sub.q[1:]
		sub.mu.Unlock()
		ch <- ev
	}
}

// Close stops the subscription; C is closed soon after, and events still
// queued are dropped.
func (sub *Subscription) Close() {
	sub.f.mu.Lock()
	delete(sub.f.subs, sub)
	sub.f.mu.Unlock()
	sub.mu.Lock()
	sub.done = true
	sub.cond.Broadcast()
	sub.mu.Unlock()
	// Unblock a pending send.
	go func() {
		for range sub.C {
		}
	}()
}

func (f *feed) publish(evs ...Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		sub.mu.Lock()
		sub.q = append(sub.q, evs...)
		sub.cond.Signal()
		sub.mu.Unlock()
	}
}
