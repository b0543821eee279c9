package fuse

import (
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/hoardfs/hoard/store"
)

// notifyLoop turns the store's change feed into kernel cache invalidations
// until the subscription closes. It runs on its own goroutine: a
// notification written from inside a FUSE handler can deadlock against the
// kernel, which may hold the very locks the invalidation needs while it
// waits for that handler's reply.
//
// Changes made through this mount are skipped (the kernel made them and
// knows); everything else (S3 puts and deletes, UFS syncs, the admin API,
// and what the store learns from the UFS) is pushed. The kernel answers ENOENT for a node or entry
// it does not cache, which is fine: there is nothing to drop. Node ids are
// store inode numbers, so no table is needed to name them.
func (m *mountState) notifyLoop(sub *store.Subscription) {
	for ev := range sub.C {
		if ev.Origin == Origin {
			continue
		}
		m.invalidate(ev)
	}
}

func (m *mountState) invalidate(ev store.Event) {
	var st fuse.Status
	switch ev.Kind {
	case store.Uploaded:
		return // persisted: nothing a reader sees changed
	case store.Created:
		// Drops a negative entry, and the parent's attributes (mtime,
		// nlink).
		st = m.srv.EntryNotify(ev.Parent, ev.Name)
	case store.Removed:
		// Drops the entry (telling inotify watchers), then the child's
		// attributes: the kernel zeroes a removed entry's link count,
		// and another link may remain.
		st = m.srv.DeleteNotify(ev.Parent, ev.Ino, ev.Name)
		if st == fuse.ENOENT {
			// The kernel caches the name for another inode (replaced
			// since): drop the name only.
			st = m.srv.EntryNotify(ev.Parent, ev.Name)
		}
		m.srv.InodeNotify(ev.Ino, -1, 0)
	case store.Changed:
		// Attributes and every cached page.
		st = m.srv.InodeNotify(ev.Ino, 0, 0)
	}
	m.stats.invalidations.Add(1)
	if !st.Ok() && st != fuse.ENOENT {
		m.log.Debug("fuse: invalidation", "event", ev.Kind.String(), "ino", ev.Ino, "parent", ev.Parent, "name", ev.Name, "status", st)
	}
}
