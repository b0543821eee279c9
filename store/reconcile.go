package store

import (
	"errors"
	"fmt"
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
//   - a record marked Unsynced (blocks recorded when they were in the
//     kernel, before a sync) is trusted after a crash of the daemon, its
//     file synced now; after a crash of the machine its blocks may have
//     been lost with the kernel: a persisted file is dropped (the UFS has
//     the content), the rest kept with a warning naming the inode;
//   - the rest is accounted against the quota, clean blocks as evictable.
//
// Any other set bit is trusted because it was set only after the block's
// bytes were synced.
func (s *Store) reconcileCache(machineCrashed bool) error {
	bs := s.cache.BlockSize()
	b := s.db.NewBatch("reconcile cache")
	for ino, cs := range s.db.CacheStates() {
		n, err := s.db.Inode(ino)
		drop := err != nil || n.Nlink == 0 || n.Type != TypeFile || cs.BlockSize != bs
		if !drop && cs.Dirty && n.State == Persisted && n.DataInUFS {
			s.log.Warn("cache file had uncommitted writes at crash; dropping it, the UFS has the committed content", "ino", ino)
			drop = true
		}
		if !drop && cs.Unsynced && machineCrashed {
			if n.State == Persisted && n.DataInUFS {
				s.log.Warn("cache file was not yet synced when the machine went down; dropping it, the UFS has the content", "ino", ino)
				drop = true
			} else {
				s.log.Error("file closed without fsync less than a second before the machine went down: its latest bytes may be lost", "ino", ino, "size", n.Size)
			}
		}
		cut := false
		if !drop {
			st, err := os.Stat(s.cache.Path(ino, cs.CacheID))
			if err != nil {
				drop = true
			} else {
				cut = trimCut(cs, st.Size(), n.Size, bs)
			}
			if cut {
				s.log.Warn("cache file shorter than its record: the blocks past its end are lost", "ino", ino,
					"file", st.Size(), "size", n.Size, "persisted", n.State == Persisted)
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
		if n.State == Persisted && !cs.Dirty {
			for i := range nblocks(n.Size, bs) {
				if bm.Has(i) {
					s.registerPersisted(cache.Block{Ino: ino, CacheID: cs.CacheID, Index: i}, blockLen(i, n.Size, bs), n.Pinned)
				}
			}
		}
		if cs.Unsynced && !machineCrashed {
			if err := syncFile(s.cache.Path(ino, cs.CacheID)); err != nil {
				b.Discard()
				return fmt.Errorf("sync cache file of inode %d: %w", ino, err)
			}
		}
		if cs.Dirty || cs.Unsynced || cut {
			cs.Dirty, cs.Unsynced = false, false
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

// trimCut clears from cs the blocks that end past the end of their cache
// file (cut short while the store was stopped: by hand, or by a disk that
// lost its end), so that they are fetched again, or read as lost, rather
// than read as zeros. It reports whether it cleared any.
func trimCut(cs *meta.CacheState, fileLen, size, bs int64) bool {
	bm := cache.Bitmap(cs.Bitmap)
	cut := false
	for i := range nblocks(size, bs) {
		if bm.Has(i) && min((i+1)*bs, size) > fileLen {
			bm.Clear(i)
			cut = true
		}
	}
	cs.Bitmap = bm
	return cut
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
