package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/hoardfs/hoard/store/meta"
)

// Rename flags, as in renameat2(2).
const (
	RenameNoReplace = 1
	RenameExchange  = 2
)

// Rename moves oldName in oldParent to newName in newParent with POSIX
// semantics: an existing target is replaced atomically (a directory only by
// a directory, and only if empty). With RenameNoReplace an existing target
// is ErrExist; with RenameExchange the two entries swap.
//
// In the UFS, where a rename is a copy and a delete per object, the moved
// files are queued for persisting under their new keys (a server-side copy
// when their bytes are not cached) and their old keys for deletion.
func (s *Store) Rename(ctx context.Context, oldParent uint64, oldName string, newParent uint64, newName string, flags int) error {
	w := where(oldParent, oldName) + " -> " + where(newParent, newName)
	if err := checkName(oldName); err != nil {
		return opErr("rename", w, err)
	}
	if err := checkName(newName); err != nil {
		return opErr("rename", w, err)
	}
	if flags&^(RenameNoReplace|RenameExchange) != 0 || flags == RenameNoReplace|RenameExchange {
		return opErr("rename", w, ErrInvalid)
	}
	for _, p := range []uint64{oldParent, newParent} {
		if err := s.ensureSynced(ctx, p); err != nil {
			return opErr("rename", w, err)
		}
	}
	// Moving a directory moves every key under it, including keys that were
	// never listed: load the whole subtree first. A directory target must
	// be known to be empty.
	for _, e := range [][2]any{{oldParent, oldName}, {newParent, newName}} {
		if de, err := s.db.Lookup(e[0].(uint64), e[1].(string)); err == nil && de.Type == TypeDir {
			if err := s.ensureSubtreeSynced(ctx, de.Ino); err != nil {
				return opErr("rename", w, err)
			}
		}
	}
	s.treeMu.Lock()
	evs, err := s.renameLocked(ctx, oldParent, oldName, newParent, newName, flags)
	s.treeMu.Unlock()
	if err != nil {
		return opErr("rename", w, err)
	}
	origin := originOf(ctx)
	for i := range evs {
		evs[i].Origin = origin
	}
	s.feed.publish(evs...)
	s.persist.kick()
	return nil
}

func (s *Store) renameLocked(ctx context.Context, oldParent uint64, oldName string, newParent uint64, newName string, flags int) ([]Event, error) {
	op, err := s.dirInode(oldParent)
	if err != nil {
		return nil, err
	}
	np, err := s.dirInode(newParent)
	if err != nil {
		return nil, err
	}
	if err := s.writable(op); err != nil {
		return nil, err
	}
	if err := s.writable(np); err != nil {
		return nil, err
	}
	sde, err := s.db.Lookup(oldParent, oldName)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	src, err := s.inode(sde.Ino)
	if err != nil {
		return nil, err
	}
	if src.Mount != np.Mount || src.Mount != op.Mount {
		return nil, ErrCrossMount
	}
	if src.Type == TypeDir {
		if err := s.checkNotAncestor(src.Ino, newParent); err != nil {
			return nil, err
		}
	}
	var dst *Inode
	tde, err := s.db.Lookup(newParent, newName)
	switch {
	case err == nil:
		if dst, err = s.inode(tde.Ino); err != nil {
			return nil, err
		}
	case !errors.Is(err, meta.ErrNotFound):
		return nil, err
	}
	if dst != nil && dst.Ino == src.Ino {
		return nil, nil // both names are links of one file: nothing to do
	}
	if flags&RenameNoReplace != 0 && dst != nil {
		return nil, ErrExist
	}
	if flags&RenameExchange != 0 {
		if dst == nil {
			return nil, ErrNotExist
		}
		if dst.Type == TypeDir {
			if err := s.checkNotAncestor(dst.Ino, oldParent); err != nil {
				return nil, err
			}
		}
		return s.exchangeLocked(op, oldName, src, np, newName, dst)
	}

	b := s.db.NewBatch("rename")
	fail := func(err error) ([]Event, error) { b.Discard(); return nil, err }
	evs := []Event{{Kind: Removed, Ino: src.Ino, Parent: oldParent, Name: oldName}}
	if dst != nil {
		switch {
		case src.Type == TypeDir && dst.Type != TypeDir:
			return fail(ErrNotDir)
		case src.Type != TypeDir && dst.Type == TypeDir:
			return fail(ErrIsDir)
		case dst.Type == TypeDir && s.db.HasChildren(dst.Ino):
			return fail(ErrNotEmpty)
		case dst.Type == TypeDir && dst.Mount != np.Mount:
			return fail(fmt.Errorf("target is a mount point: %w", ErrPerm))
		}
		// The source takes the target's key (it is persisted there), unless
		// it is never persisted: then the old object must go.
		if src.WriteType == MustCache && !src.DataInUFS || dst.Type == TypeDir {
			if err := s.queueDeleteLocked(b, dst, newParent, newName); err != nil {
				return fail(err)
			}
		}
		b.DeleteDentry(newParent, newName)
		if dst.Type == TypeDir {
			b.DeleteInode(dst.Ino)
			np.Nlink--
		} else {
			s.dropLinkLocked(b, dst, newParent, newName)
		}
		evs = append(evs, Event{Kind: Removed, Ino: dst.Ino, Parent: newParent, Name: newName})
	}
	oldKey, err := s.entryKey(src, oldParent, oldName)
	if err != nil {
		return fail(err)
	}
	if err := s.queueMovedLocked(b, src, oldKey); err != nil {
		return fail(err)
	}
	s.moveEntryLocked(b, src, oldParent, oldName, newParent, newName)
	if src.Type == TypeDir && oldParent != newParent {
		op.Nlink--
		np.Nlink++
	}
	if oldParent == newParent {
		touchDir(b, np)
	} else {
		touchDir(b, op)
		touchDir(b, np)
	}
	if err := b.Commit(false); err != nil {
		return nil, err
	}
	if dst != nil && dst.Type != TypeDir && dst.Nlink == 0 {
		s.forgetIfClosedLocked(dst.Ino)
	}
	return append(evs, Event{Kind: Created, Ino: src.Ino, Parent: newParent, Name: newName}), nil
}

// moveEntryLocked moves the entry of n from (op, oldName) to (np, newName).
func (s *Store) moveEntryLocked(b *meta.Batch, n *Inode, op uint64, oldName string, np uint64, newName string) {
	b.DeleteDentry(op, oldName)
	b.PutDentry(np, newName, n.Ino, n.Type)
	if n.Type == TypeFile {
		b.DeleteLink(n.Ino, op, oldName)
		b.PutLink(n.Ino, np, newName)
	}
	if n.Parent == op && n.Name == oldName {
		n.Parent, n.Name = np, newName
	}
	n.Ctime = nowNs()
	b.PutInode(n)
}

func (s *Store) exchangeLocked(op *Inode, oldName string, src *Inode, np *Inode, newName string, dst *Inode) ([]Event, error) {
	if dst.Mount != src.Mount {
		return nil, ErrCrossMount
	}
	b := s.db.NewBatch("rename exchange")
	srcKey, err := s.entryKey(src, op.Ino, oldName)
	if err != nil {
		b.Discard()
		return nil, err
	}
	dstKey, err := s.entryKey(dst, np.Ino, newName)
	if err != nil {
		b.Discard()
		return nil, err
	}
	if err := s.queueMovedLocked(b, src, srcKey); err != nil {
		b.Discard()
		return nil, err
	}
	if err := s.queueMovedLocked(b, dst, dstKey); err != nil {
		b.Discard()
		return nil, err
	}
	// Swap: each dentry now names the other inode.
	b.PutDentry(op.Ino, oldName, dst.Ino, dst.Type)
	b.PutDentry(np.Ino, newName, src.Ino, src.Type)
	for _, x := range []struct {
		n            *Inode
		fromP, toP   uint64
		from, toName string
	}{{src, op.Ino, np.Ino, oldName, newName}, {dst, np.Ino, op.Ino, newName, oldName}} {
		if x.n.Type == TypeFile {
			b.DeleteLink(x.n.Ino, x.fromP, x.from)
			b.PutLink(x.n.Ino, x.toP, x.toName)
		}
		if x.n.Parent == x.fromP && x.n.Name == x.from {
			x.n.Parent, x.n.Name = x.toP, x.toName
		}
		x.n.Ctime = nowNs()
		b.PutInode(x.n)
	}
	if op.Ino != np.Ino && (src.Type == TypeDir) != (dst.Type == TypeDir) {
		if src.Type == TypeDir {
			op.Nlink--
			np.Nlink++
		} else {
			op.Nlink++
			np.Nlink--
		}
	}
	touchDir(b, op)
	if op.Ino != np.Ino {
		touchDir(b, np)
	}
	if err := b.Commit(false); err != nil {
		return nil, err
	}
	return []Event{
		{Kind: Removed, Ino: src.Ino, Parent: op.Ino, Name: oldName},
		{Kind: Removed, Ino: dst.Ino, Parent: np.Ino, Name: newName},
		{Kind: Created, Ino: dst.Ino, Parent: op.Ino, Name: oldName},
		{Kind: Created, Ino: src.Ino, Parent: np.Ino, Name: newName},
	}, nil
}

// checkNotAncestor fails with ErrInvalid when dir is dest or one of its
// ancestors: a directory cannot move into itself.
func (s *Store) checkNotAncestor(dir, dest uint64) error {
	for cur := dest; cur != 0; {
		if cur == dir {
			return ErrInvalid
		}
		if cur == RootIno {
			return nil
		}
		n, err := s.inode(cur)
		if err != nil {
			return err
		}
		cur = n.Parent
	}
	return nil
}

// entryKey is the UFS key of the entry name of n in parent.
func (s *Store) entryKey(n *Inode, parent uint64, name string) (string, error) {
	m, err := s.mounts.get(n.Mount)
	if err != nil {
		return "", err
	}
	return s.ufsKey(m, parent, name, n.Type == TypeDir)
}

// queueMovedLocked queues, for n and everything under it, a persist under
// the new key and a delete of the old key (oldKey for n itself). The
// deletes wait for the persists, which may copy from the old key.
func (s *Store) queueMovedLocked(b *meta.Batch, n *Inode, oldKey string) error {
	switch n.Type {
	case TypeFile:
		if n.WriteType == MustCache && !n.DataInUFS {
			return nil
		}
		if n.WriteType == MustCache {
			// Its old object must go, and nothing replaces it.
			return b.AddTask(&meta.Task{Kind: meta.TaskDelete, Ino: n.Ino, Mount: n.Mount, Key: oldKey})
		}
		if err := s.queuePersistLocked(b, n); err != nil {
			return err
		}
		if n.DataInUFS && n.UFS.Key == oldKey {
			// Until its persist, the file's bytes may exist only at oldKey.
			b.PutSource(n.Mount, oldKey, n.Ino)
		}
		b.PutInode(n)
		return b.AddTask(&meta.Task{Kind: meta.TaskDelete, Ino: n.Ino, Mount: n.Mount, Key: oldKey})
	case TypeDir:
		if n.WriteType != MustCache || n.State == Persisted {
			if n.WriteType != MustCache {
				if err := b.AddTask(&meta.Task{Kind: meta.TaskMarker, Ino: n.Ino, Mount: n.Mount}); err != nil {
					return err
				}
				n.State = ToBePersisted
				b.PutInode(n)
			}
			if err := b.AddTask(&meta.Task{Kind: meta.TaskDelete, Ino: n.Ino, Mount: n.Mount, Key: oldKey}); err != nil {
				return err
			}
		}
		for de, err := range s.db.Dentries(n.Ino, "") {
			if err != nil {
				return err
			}
			c, err := s.inode(de.Ino)
			if err != nil {
				return err
			}
			if c.Mount != n.Mount {
				return fmt.Errorf("%s%s is a mount point: %w", oldKey, de.Name, ErrCrossMount)
			}
			ck := oldKey + de.Name
			if c.Type == TypeDir {
				ck += "/"
			}
			if err := s.queueMovedLocked(b, c, ck); err != nil {
				return err
			}
		}
	}
	return nil
}
