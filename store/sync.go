package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store/meta"
	"github.com/hoardfs/hoard/ufs"
)

// Objects in the UFS appear in the namespace when their directory is first
// listed or looked up in, and are merged again (new, changed and deleted
// objects) once the directory's listing is older than the sync interval. The
// merge streams the UFS listing and the directory's entries side by side in
// the same order, so a directory of any size merges in bounded memory.

// syncDue reports whether directory d must be merged with the UFS now.
func (s *Store) syncDue(d *Inode) bool {
	switch {
	case d.SyncedAt == 0:
		return true
	case s.opts.SyncInterval < 0:
		return false
	case s.opts.SyncInterval == 0:
		return true
	}
	return time.Since(time.Unix(0, d.SyncedAt)) >= s.opts.SyncInterval
}

// ensureSynced merges directory ino with its UFS listing when that is due.
func (s *Store) ensureSynced(ctx context.Context, ino uint64) error {
	d, err := s.inode(ino)
	if err != nil {
		return err
	}
	return s.ensureSyncedDir(ctx, d)
}

// ensureSyncedDir is ensureSynced for directory d, already read.
func (s *Store) ensureSyncedDir(ctx context.Context, d *Inode) error {
	ino := d.Ino
	if d.Type != TypeDir || !s.syncDue(d) {
		return nil
	}
	err := s.syncs.do(ino, func() error {
		d, err := s.inode(ino)
		if err != nil {
			return err
		}
		if !s.syncDue(d) {
			return nil
		}
		return s.syncDir(ctx, d)
	})
	if err != nil && d.SyncedAt != 0 && !errors.Is(err, ErrStale) {
		// Listed before: go on with what we know; the next access retries.
		s.log.Warn("UFS sync failed; serving the last listing", "ino", ino, "err", err)
		return nil
	}
	return err
}

// SyncDir merges directory path with the UFS now, whatever the interval.
func (s *Store) SyncDir(ctx context.Context, ino uint64) error {
	d, err := s.dirInode(ino)
	if err != nil {
		return opErr("sync", inoStr(ino), err)
	}
	return opErr("sync", inoStr(ino), s.syncs.do(ino, func() error { return s.syncDir(ctx, d) }))
}

// ensureSubtreeSynced loads every directory under ino.
func (s *Store) ensureSubtreeSynced(ctx context.Context, ino uint64) error {
	if err := s.ensureSynced(ctx, ino); err != nil {
		return err
	}
	var dirs []uint64
	for de, err := range s.db.Dentries(ino, "") {
		if err != nil {
			return err
		}
		if de.Type == TypeDir {
			dirs = append(dirs, de.Ino)
		}
	}
	for _, d := range dirs {
		if err := s.ensureSubtreeSynced(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// ufsEntry is one child of a directory in the UFS listing.
type ufsEntry struct {
	name string
	dir  bool
	info ufs.ObjectInfo
}

// sortKey orders entries as an object store lists them: a directory sorts
// as its name followed by "/".
func sortKey(name string, dir bool) string {
	if dir {
		return name + "/"
	}
	return name
}

func (s *Store) syncDir(ctx context.Context, d *Inode) error {
	m, err := s.mounts.get(d.Mount)
	if err != nil {
		return err
	}
	prefix, err := s.dirPrefix(m, d.Ino)
	if err != nil {
		return err
	}
	start := time.Now()
	next, stopU := iter.Pull2(s.listUFS(ctx, m, prefix))
	defer stopU()
	ns := newNSStream(s.db.Dentries(d.Ino, ""))
	defer ns.stop()

	var changes []syncChange
	flush := func() error {
		if len(changes) == 0 {
			return nil
		}
		err := s.applySync(ctx, m, d.Ino, prefix, changes)
		changes = changes[:0]
		return err
	}
	u, uerr, uok := next()
	n, nok := ns.next()
	for uok || nok {
		if uerr != nil {
			return fmt.Errorf("list %s%s: %w", m.URI, prefix, uerr)
		}
		var uk, nk string
		if uok {
			uk = sortKey(u.name, u.dir)
		}
		if nok {
			nk = sortKey(n.Name, n.Type == TypeDir)
		}
		switch {
		case uok && (!nok || uk < nk):
			uu := u
			changes = append(changes, syncChange{ufs: &uu})
			u, uerr, uok = next()
		case nok && (!uok || nk < uk):
			nn := n
			changes = append(changes, syncChange{ns: &nn})
			n, nok = ns.next()
		default:
			uu, nn := u, n
			changes = append(changes, syncChange{ufs: &uu, ns: &nn})
			u, uerr, uok = next()
			n, nok = ns.next()
		}
		if len(changes) >= 512 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := ns.err; err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	cur, err := s.inode(d.Ino)
	if err != nil {
		return err
	}
	cur.SyncedAt = start.UnixNano()
	b := s.db.NewBatch("sync dir")
	b.PutInode(cur)
	return b.Commit(false)
}

// listUFS streams the children of prefix in the UFS, page by page, in key
// order: objects and common prefixes merged, the directory's own marker and
// keys that cannot be names left out.
func (s *Store) listUFS(ctx context.Context, m *mountEntry, prefix string) iter.Seq2[ufsEntry, error] {
	return func(yield func(ufsEntry, error) bool) {
		after := ""
		for {
			page, err := m.ufs.List(ctx, ufs.ListOptions{Prefix: prefix, Delimiter: "/", StartAfter: after})
			if err != nil {
				yield(ufsEntry{}, err)
				return
			}
			entries := make([]ufsEntry, 0, len(page.Objects)+len(page.CommonPrefixes))
			for _, o := range page.Objects {
				name := strings.TrimPrefix(o.Key, prefix)
				if name == "" || strings.HasSuffix(name, "/") {
					continue
				}
				entries = append(entries, ufsEntry{name: name, info: o})
			}
			for _, p := range page.CommonPrefixes {
				name := strings.TrimSuffix(strings.TrimPrefix(p, prefix), "/")
				entries = append(entries, ufsEntry{name: name, dir: true, info: ufs.ObjectInfo{Key: p}})
			}
			sort.Slice(entries, func(i, j int) bool {
				return sortKey(entries[i].name, entries[i].dir) < sortKey(entries[j].name, entries[j].dir)
			})
			for _, e := range entries {
				if err := checkName(e.name); err != nil {
					s.log.Warn("UFS key cannot be a path; not shown", "uri", m.URI, "key", prefix+e.name, "err", err)
					continue
				}
				if !yield(e, nil) {
					return
				}
			}
			if !page.Truncated {
				return
			}
			after = page.NextStartAfter
		}
	}
}

// nsStream yields a directory's entries in the UFS's order. Pebble returns
// them by name; a directory "a" must come after "a-b" and "a.c" (since
// '-' and '.' sort before '/'), so directories wait in a small sorted list
// until every name that sorts before "a/" has passed.
type nsStream struct {
	pull    func() (meta.Dentry, error, bool)
	stop    func()
	peeked  *meta.Dentry
	pending []meta.Dentry // directories, sorted by sortKey
	err     error
}

func newNSStream(seq iter.Seq2[meta.Dentry, error]) *nsStream {
	pull, stop := iter.Pull2(seq)
	return &nsStream{pull: pull, stop: stop}
}

func (st *nsStream) next() (meta.Dentry, bool) {
	for {
		if st.peeked == nil && st.err == nil {
			d, err, ok := st.pull()
			if err != nil {
				st.err = err
			} else if ok {
				st.peeked = &d
			}
		}
		if len(st.pending) > 0 && (st.peeked == nil || st.pending[0].Name+"/" < st.peeked.Name) {
			d := st.pending[0]
			st.pending = st.pending[1:]
			return d, true
		}
		if st.peeked == nil {
			return meta.Dentry{}, false
		}
		d := *st.peeked
		st.peeked = nil
		if d.Type != TypeDir {
			return d, true
		}
		i := sort.Search(len(st.pending), func(i int) bool { return st.pending[i].Name > d.Name })
		st.pending = append(st.pending, meta.Dentry{})
		copy(st.pending[i+1:], st.pending[i:])
		st.pending[i] = d
	}
}

// syncChange pairs a UFS entry with the namespace entry of the same name;
// either may be missing.
type syncChange struct {
	ufs *ufsEntry
	ns  *meta.Dentry
}

// applySync applies one page of merge results. Every change is checked
// again under treeMu, since the namespace may have changed since the
// listing: local changes always win over what the UFS shows.
func (s *Store) applySync(ctx context.Context, m *mountEntry, dir uint64, prefix string, changes []syncChange) error {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	parent, err := s.inode(dir)
	if err != nil {
		return err
	}
	b := s.db.NewBatch("sync")
	var evs []Event
	var forget []uint64
	for _, c := range changes {
		switch {
		case c.ufs != nil && c.ns == nil:
			if _, err := s.db.Lookup(dir, c.ufs.name); err == nil {
				continue // a local entry took the name, or a type conflict
			}
			if s.db.Tombstoned(m.ID, c.ufs.info.Key) {
				continue // deleted here; the UFS delete is queued
			}
			n, err := s.inodeFromUFS(parent, c.ufs)
			if err != nil {
				b.Discard()
				return err
			}
			b.PutInode(n)
			b.PutDentry(dir, n.Name, n.Ino, n.Type)
			if n.Type == TypeFile {
				b.PutLink(n.Ino, dir, n.Name)
			} else {
				parent.Nlink++
			}
			evs = append(evs, Event{Kind: Created, Ino: n.Ino, Parent: dir, Name: n.Name})
		case c.ufs != nil && c.ns != nil:
			if c.ns.Type != TypeFile || c.ufs.dir {
				continue
			}
			n, err := s.db.Inode(c.ns.Ino)
			if err != nil || !n.DataInUFS || n.State != Persisted || n.UFS.Key != c.ufs.info.Key || s.isDirty(n.Ino) {
				continue
			}
			if sameObject(n.UFS, c.ufs.info) {
				continue
			}
			if n.Nlink > 1 {
				// Its other names must see the change too: in place.
				s.replaceFromUFSLocked(b, n, c.ufs.info)
				evs = append(evs, Event{Kind: Changed, Ino: n.Ino})
				continue
			}
			// Changed outside Hoard: a new file in its place, as a put
			// makes one, so that whoever has the old one open keeps what
			// it cached of it.
			nn, err := s.inodeFromUFS(parent, c.ufs)
			if err != nil {
				b.Discard()
				return err
			}
			nn.Mode, nn.Uid, nn.Gid, nn.Owner, nn.Group = n.Mode, n.Uid, n.Gid, n.Owner, n.Group
			nn.WriteType = n.WriteType
			b.DeleteDentry(dir, c.ns.Name)
			s.dropLinkLocked(b, n, dir, c.ns.Name)
			forget = append(forget, n.Ino)
			b.PutInode(nn)
			b.PutDentry(dir, nn.Name, nn.Ino, TypeFile)
			b.PutLink(nn.Ino, dir, nn.Name)
			evs = append(evs,
				Event{Kind: Removed, Ino: n.Ino, Parent: dir, Name: c.ns.Name},
				Event{Kind: Created, Ino: nn.Ino, Parent: dir, Name: nn.Name})
		case c.ns != nil:
			n, err := s.db.Inode(c.ns.Ino)
			if err != nil || n.State != Persisted {
				continue
			}
			if cur, err := s.db.Lookup(dir, c.ns.Name); err != nil || cur.Ino != c.ns.Ino {
				continue
			}
			switch n.Type {
			case TypeFile:
				if !n.DataInUFS || s.isDirty(n.Ino) {
					continue
				}
				b.DeleteDentry(dir, c.ns.Name)
				s.dropLinkLocked(b, n, dir, c.ns.Name)
				if n.Nlink == 0 {
					forget = append(forget, n.Ino)
				}
			case TypeDir:
				if n.Mount != parent.Mount || s.db.HasChildren(n.Ino) || s.db.PendingTasks(n.Ino) {
					continue
				}
				b.DeleteDentry(dir, c.ns.Name)
				b.DeleteInode(n.Ino)
				parent.Nlink--
			default:
				continue
			}
			evs = append(evs, Event{Kind: Removed, Ino: n.Ino, Parent: dir, Name: c.ns.Name})
		}
	}
	if len(evs) > 0 {
		b.PutInode(parent)
	}
	if err := b.Commit(false); err != nil {
		return err
	}
	for _, ino := range forget {
		s.forgetIfClosedLocked(ino)
	}
	for i := range evs {
		evs[i].Origin = "sync"
	}
	s.feed.publish(evs...)
	return nil
}

// sameObject compares a recorded fingerprint with a listed object.
func sameObject(fp meta.Fingerprint, o ufs.ObjectInfo) bool {
	if fp.Size != o.Size {
		return false
	}
	if fp.ETag != "" && o.ETag != "" {
		return strings.Trim(fp.ETag, `"`) == strings.Trim(o.ETag, `"`)
	}
	return fp.Mtime == o.ModTime.UnixNano()
}

func (s *Store) inodeFromUFS(parent *Inode, e *ufsEntry) (*Inode, error) {
	ino, err := s.db.NewIno()
	if err != nil {
		return nil, err
	}
	mt := e.info.ModTime.UnixNano()
	if e.info.ModTime.IsZero() {
		mt = nowNs()
	}
	n := &Inode{
		Ino: ino, Gen: 1, Uid: parent.Uid, Gid: parent.Gid, Owner: parent.Owner, Group: parent.Group,
		Atime: mt, Mtime: mt, Ctime: mt, Crtime: mt, Parent: parent.Ino, Name: e.name, Mount: parent.Mount,
		State: Persisted, WriteType: parent.WriteType,
	}
	if e.dir {
		n.Type, n.Mode, n.Nlink = TypeDir, 0o755, 2
		return n, nil
	}
	n.Type, n.Mode, n.Nlink = TypeFile, 0o644, 1
	n.Size = e.info.Size
	n.DataInUFS = true
	n.UFS = meta.Fingerprint{Key: e.info.Key, ETag: e.info.ETag, Size: e.info.Size, Mtime: mt}
	n.ETag = strings.Trim(e.info.ETag, `"`)
	return n, nil
}

// replaceFromUFSLocked points file n, which has other names, at a new UFS
// object version in place: its cached bytes are dropped (handles open on it
// see the new content on their next read).
func (s *Store) replaceFromUFSLocked(b *meta.Batch, n *Inode, o ufs.ObjectInfo) {
	n.Size = o.Size
	n.Mtime = o.ModTime.UnixNano()
	n.Ctime = nowNs()
	n.Version++
	n.UFS = meta.Fingerprint{Key: o.Key, ETag: o.ETag, Size: o.Size, Mtime: o.ModTime.UnixNano()}
	n.ETag = strings.Trim(o.ETag, `"`)
	b.PutInode(n)
	b.DeleteCacheState(n.Ino)
	s.files.Lock()
	fd := s.files.m[n.Ino]
	if fd == nil {
		s.dropCacheFileLocked(n.Ino)
		s.files.Unlock()
		return
	}
	s.files.Unlock()
	fd.mu.Lock()
	fd.dropCacheLocked()
	fd.size, fd.mtime = n.Size, n.Mtime
	fd.src.ok, fd.src.ufsSource = true, ufsSource{mount: n.Mount, key: o.Key, size: o.Size, etag: o.ETag}
	fd.persisted = true
	fd.mu.Unlock()
}

// forgetIfClosedLocked is forgetIfClosed for callers holding treeMu.
func (s *Store) forgetIfClosedLocked(ino uint64) {
	s.files.Lock()
	defer s.files.Unlock()
	if _, open := s.files.m[ino]; open {
		return
	}
	n, err := s.db.Inode(ino)
	if err != nil || n.Nlink > 0 {
		return
	}
	s.dropCacheFileLocked(ino)
	b := s.db.NewBatch("forget inode")
	b.DeleteInode(ino)
	if err := b.Commit(false); err != nil {
		s.log.Error("forget inode", "ino", ino, "err", err)
	}
}
