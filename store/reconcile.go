package store

import (
	"errors"
	"os"

	"github.com/hoardfs/hoard/store/cache"
	"github.com/hoardfs/hoard/store/meta"
)

// reconcileCache brings the cache files and their records into agreement at
// start-up, after a clean stop or a crash:
//   - a record whose inode is gone, or whose file is missing, is dropped;
//   - a record marked dirty on a persisted file is dropped with its file:
//     uncommitted writes reached the file before the crash, so it no longer
//     matches the UFS, which holds the committed content;
//   - a cache file that no record names (a put that never committed, a
//     replaced version) is deleted;
//   - the rest is accounted against the quota, clean blocks as evictable.
//
// A set bit is trusted because bits are only set after the block's bytes
// were synced.
func (s *Store) reconcileCache() error {
	bs := s.cache.BlockSize()
	b := s.db.NewBatch("reconcile cache")
	for ino, cs := range s.db.CacheStates() {
		n, err := s.db.Inode(ino)
		drop := err != nil || n.Nlink == 0 || n.Type != TypeFile || cs.BlockSize != bs
		if !drop && cs.Dirty && n.State == Persisted && n.DataInUFS {
			s.log.Warn("cache file had uncommitted writes at crash; dropping it, the UFS has the committed content", "ino", ino)
			drop = true
		}
		if !drop {
			if _, err := os.Stat(s.cache.Path(ino, cs.CacheID)); err != nil {
				drop = true
			}
		}
		if drop {
			b.DeleteCacheState(ino)
			s.cache.Remove(ino, cs.CacheID)
			if err == nil && n.Nlink == 0 {
				b.DeleteInode(ino)
			}
			continue
		}
		bm := cache.Bitmap(cs.Bitmap)
		s.cache.Account(accounted(bm, n.Size, bs, 0, nblocks(n.Size, bs)))
		if n.State == Persisted && !cs.Dirty && !n.Pinned {
			for i := range nblocks(n.Size, bs) {
				if bm.Has(i) {
					s.cache.AddClean(cache.Block{Ino: ino, CacheID: cs.CacheID, Index: i}, blockLen(i, n.Size, bs))
				}
			}
		}
		if cs.Dirty {
			cs.Dirty = false
			b.PutCacheState(ino, cs)
		}
	}
	if err := b.Commit(true); err != nil {
		return err
	}
	return s.cache.Files(func(ino, id uint64, path string) {
		cs, err := s.db.CacheState(ino)
		if errors.Is(err, meta.ErrNotFound) || (err == nil && cs.CacheID != id) {
			os.Remove(path)
		}
	})
}
