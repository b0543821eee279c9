package store

import (
	"bytes"
	"os"
	"sync"
	"time"

	"github.com/hoardfs/hoard/store/cache"
	"github.com/hoardfs/hoard/store/meta"
)

// Background sync
//
// A close is not an fsync: the blocks written before it, and the blocks
// fetched from the UFS, reach the kernel at once and the disk within
// Options.BackgroundSync (a second by default), synced together. Their cache records say Unsynced until then
// (see meta.CacheState), so that a crash of the machine in between is
// recognised at the next start; a crash of the daemon loses nothing, the
// kernel has it all.

// defaultBackgroundSync is how long blocks wait in the kernel to be synced
// together (meta.SyncInterval is the same bound for the records).
const defaultBackgroundSync = time.Second

// bgSync is the set of inodes with blocks in the kernel only.
type bgSync struct {
	mu      sync.Mutex
	pending map[uint64]struct{}
}

// syncLater queues ino for the next background sync.
func (s *Store) syncLater(ino uint64) {
	s.bg.mu.Lock()
	if s.bg.pending == nil {
		s.bg.pending = map[uint64]struct{}{}
	}
	s.bg.pending[ino] = struct{}{}
	s.bg.mu.Unlock()
}

// bgSyncLoop runs the background sync every Options.BackgroundSync, and
// once more when the store closes.
func (s *Store) bgSyncLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.BackgroundSync)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.bgSyncPass()
		case <-s.closeCtx.Done():
			s.bgSyncPass()
			return
		}
	}
}

// bgSyncPass syncs every queued inode's blocks with one syncfs per cache
// dir, then records them as durable in one batch.
func (s *Store) bgSyncPass() {
	s.bg.mu.Lock()
	todo := s.bg.pending
	s.bg.pending = nil
	s.bg.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	// What the sync will cover, taken before it: an open file's present
	// blocks, a closed file's record.
	type openFile struct {
		fd   *fileData
		f    *os.File
		id   uint64
		snap cache.Bitmap
	}
	var open []openFile
	closed := map[uint64]*meta.CacheState{}
	for ino := range todo {
		s.files.Lock()
		fd := s.files.m[ino]
		if fd != nil {
			fd.refs++
		}
		s.files.Unlock()
		if fd != nil {
			fd.mu.Lock()
			open = append(open, openFile{fd, fd.f, fd.cacheID, fd.bitmap.Clone()})
			fd.mu.Unlock()
			continue
		}
		if cs, err := s.db.CacheState(ino); err == nil && cs.Unsynced {
			closed[ino] = cs
		} // else unlinked, dropped or synced meanwhile
	}
	defer func() {
		for _, o := range open {
			s.release(o.fd)
		}
	}()
	if err := s.cache.SyncAll(); err != nil {
		s.log.Warn("background sync of the cache", "err", err)
		for ino := range todo {
			s.syncLater(ino) // next pass
		}
		return
	}
	// Records change under treeMu (commits write them there).
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	b := s.db.NewBatch("background sync")
	for _, o := range open {
		fd := o.fd
		fd.mu.Lock()
		if o.f != nil && fd.f == o.f && fd.cacheID == o.id { // else replaced: the new content has its own sync
			for i := range int64(len(o.snap)) * 8 {
				if o.snap.Has(i) {
					fd.durable.Set(i)
				}
			}
			st := fd.recordLocked()
			if st.Unsynced {
				s.syncLater(fd.ino) // blocks that landed after the snapshot
			}
			b.PutCacheState(fd.ino, st)
		}
		fd.mu.Unlock()
	}
	for ino, cs := range closed {
		// Clear the mark only if nobody changed the record since it was
		// read; a fileData opened meanwhile read it as Unsynced and is
		// queued on its own.
		s.files.Lock()
		live := s.files.m[ino] != nil
		s.files.Unlock()
		cur, err := s.db.CacheState(ino)
		if live || err != nil || !cur.Unsynced || cur.CacheID != cs.CacheID || !bytes.Equal(cur.Bitmap, cs.Bitmap) {
			continue
		}
		cur.Unsynced = false
		b.PutCacheState(ino, cur)
	}
	if b.Empty() {
		b.Discard()
		return
	}
	if err := b.Commit(false); err != nil {
		s.log.Warn("background sync: record", "err", err)
	}
}
