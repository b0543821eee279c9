package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store/meta"
)

// TTLs, as Alluxio's `fs setTtl`: a file or directory carries an expiry
// time and an action, free (drop its cached blocks; it stays in the UFS) or
// delete (remove it, from the UFS too). A checker looks at the TTL index
// every TTLCheckInterval; the index is ordered by expiry, so a check costs
// nothing until something expires.

// TTL actions.
const (
	TTLDelete = meta.TTLDelete
	TTLFree   = meta.TTLFree
)

// ParseTTLAction parses "delete" or "free".
func ParseTTLAction(s string) (meta.TTLAction, error) {
	switch strings.ToLower(s) {
	case "delete", "":
		return TTLDelete, nil
	case "free":
		return TTLFree, nil
	}
	return 0, fmt.Errorf("unknown TTL action %q: want delete or free: %w", s, ErrInvalid)
}

// SetTTL makes action happen to path ttl from now.
func (s *Store) SetTTL(ctx context.Context, path string, ttl time.Duration, action meta.TTLAction) error {
	if ttl <= 0 {
		return opErr("setTtl", path, fmt.Errorf("TTL must be positive: %w", ErrInvalid))
	}
	return s.setTTL(ctx, path, time.Now().Add(ttl).UnixNano(), action)
}

// UnsetTTL removes path's TTL.
func (s *Store) UnsetTTL(ctx context.Context, path string) error {
	return s.setTTL(ctx, path, 0, 0)
}

func (s *Store) setTTL(ctx context.Context, path string, when int64, action meta.TTLAction) error {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return err
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	cur, err := s.inode(n.Ino)
	if err != nil {
		return opErr("setTtl", path, err)
	}
	b := s.db.NewBatch("ttl")
	if cur.TTL != 0 {
		b.DeleteTTL(cur.TTL, cur.Ino)
	}
	cur.TTL, cur.TTLAction = when, action
	if when != 0 {
		b.PutTTL(when, cur.Ino)
	}
	b.PutInode(cur)
	return opErr("setTtl", path, b.Commit(true))
}

func (s *Store) ttlChecker() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.TTLCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.closeCtx.Done():
			return
		case <-t.C:
			s.expire(s.closeCtx)
		}
	}
}

// expire carries out the TTLs that are due.
func (s *Store) expire(ctx context.Context) {
	for _, e := range s.db.Expired(time.Now().UnixNano()) {
		n, err := s.db.Inode(e.Ino)
		if err != nil || n.TTL != e.When {
			s.dropTTLEntry(e) // the inode is gone, or its TTL changed
			continue
		}
		p, err := s.pathOf(e.Ino)
		if err != nil {
			s.dropTTLEntry(e)
			continue
		}
		switch n.TTLAction {
		case TTLFree:
			err = s.Free(ctx, p)
			if errors.Is(err, ErrBusy) {
				err = nil // unpersisted or pinned files keep their blocks
			}
			if err == nil {
				err = s.UnsetTTL(ctx, p)
			}
		default:
			err = s.RemoveAll(WithOrigin(ctx, "ttl"), p)
		}
		if err != nil {
			s.log.Warn("TTL action failed; will retry", "path", p, "action", n.TTLAction, "err", err)
			continue
		}
		s.log.Info("TTL expired", "path", p, "action", n.TTLAction)
		s.dropTTLEntry(e)
	}
}

func (s *Store) dropTTLEntry(e meta.TTLEntry) {
	b := s.db.NewBatch("ttl done")
	b.DeleteTTL(e.When, e.Ino)
	if err := b.Commit(false); err != nil {
		s.log.Error("TTL index", "err", err)
	}
}

// RemoveAll removes path and, for a directory, everything under it (from
// the UFS too, through the persist queue). A mount point, or a tree that
// holds one, is refused with ErrBusy before anything is removed: an unmount
// detaches a UFS, a remove would delete its objects.
func (s *Store) RemoveAll(ctx context.Context, path string) error {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return err
	}
	if n.Type == TypeDir && n.Ino != RootIno {
		if d, _, err := s.ResolveParent(ctx, path); err != nil {
			return err
		} else if d.Mount != n.Mount {
			return opErr("rm", path, fmt.Errorf("a mount point: unmount it first: %w", ErrBusy))
		}
	}
	if n.Type == TypeDir {
		if err := s.ensureSubtreeSynced(ctx, n.Ino); err != nil {
			return opErr("rm", path, err)
		}
		if err := s.checkNoMountBelow(n); err != nil {
			return opErr("rm", path, err)
		}
		if err := s.removeChildren(ctx, n.Ino); err != nil {
			return opErr("rm", path, err)
		}
	}
	if path == "/" {
		return nil
	}
	return s.Remove(ctx, path)
}

func (s *Store) checkNoMountBelow(dir *Inode) error {
	for de, err := range s.db.Dentries(dir.Ino, "") {
		if err != nil {
			return err
		}
		if de.Type != TypeDir {
			continue
		}
		c, err := s.inode(de.Ino)
		if err != nil {
			return err
		}
		if c.Mount != dir.Mount {
			return fmt.Errorf("%s is a mount point: unmount it first: %w", de.Name, ErrBusy)
		}
		if err := s.checkNoMountBelow(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) removeChildren(ctx context.Context, dir uint64) error {
	var entries []DirEntry
	for de, err := range s.db.Dentries(dir, "") {
		if err != nil {
			return err
		}
		entries = append(entries, DirEntry{Name: de.Name, Ino: de.Ino, Type: de.Type})
		if len(entries) == 1000 {
			break // bounded memory: take the directory a page at a time
		}
	}
	for len(entries) > 0 {
		for _, de := range entries {
			if de.Type == TypeDir {
				if err := s.removeChildren(ctx, de.Ino); err != nil {
					return err
				}
				if err := s.Rmdir(ctx, dir, de.Name); err != nil && !errors.Is(err, ErrNotExist) {
					return err
				}
			} else if err := s.Unlink(ctx, dir, de.Name); err != nil && !errors.Is(err, ErrNotExist) {
				return err
			}
		}
		entries = entries[:0]
		for de, err := range s.db.Dentries(dir, "") {
			if err != nil {
				return err
			}
			entries = append(entries, DirEntry{Name: de.Name, Ino: de.Ino, Type: de.Type})
			if len(entries) == 1000 {
				break
			}
		}
	}
	return nil
}
