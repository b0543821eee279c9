package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/store/cache"
	"github.com/hoardfs/hoard/store/meta"
	"github.com/hoardfs/hoard/ufs"
)

// fileData is the in-memory state of one file's content while handles are
// open on it or background work (fetch, persist, eviction) uses it. Every
// handle of the inode shares it, so that writes through one handle are seen
// by reads through another, as POSIX wants.
type fileData struct {
	s   *Store
	ino uint64

	refs int // guarded by s.files.Mutex

	// mu guards everything below, and the bytes of the cache file against
	// eviction: readers hold it shared while they read the file, eviction
	// takes it exclusively (with TryLock) to punch a hole.
	mu      sync.RWMutex
	f       *os.File // the cache file; nil until it exists
	cacheID uint64
	bitmap  cache.Bitmap // blocks present: what reads trust
	// durable is the part of bitmap known to be on stable storage; only
	// it is ever written to the CacheState record. Fetched blocks join it
	// after a background sync, written ones at their commit.
	durable cache.Bitmap
	// unrecorded: blocks were fetched since the record was last written.
	unrecorded bool
	// dropWhenClosed: a THROUGH file was uploaded while its cache file was
	// exposed; the last release drops the cache.
	dropWhenClosed bool
	size           int64
	mtime          int64
	dirty          bool // uncommitted changes
	marked         bool // CacheState.Dirty written for this dirty period
	persisted      bool // content is in the UFS: present blocks are clean
	pinned         bool // never evicted (fs pin)
	writeType      WriteType
	// src is the UFS object holding the content, to fetch missing blocks
	// from; ok is false when the content is only local.
	src struct {
		ok bool
		ufsSource
	}
	fetching map[int64]chan struct{} // blocks being fetched
	exposed  int                     // handles that gave the cache file to the kernel or sendfile
	// extWriters counts handles that let the kernel write the cache file
	// directly (passthrough); ext mirrors it for a lock-free check. While
	// it is positive, every use of the size first adopts what the file
	// holds (adopted is the file's size and mtime as last adopted).
	extWriters int
	ext        atomic.Int32
	adopted    struct{ size, mtime int64 }
	writes     uint64 // count of writes, to detect writes during a commit
}

func (s *Store) isOpen(ino uint64) bool {
	s.files.Lock()
	defer s.files.Unlock()
	_, ok := s.files.m[ino]
	return ok
}

// acquire returns the shared fileData of ino, loading it if needed. Every
// acquire is paired with a release.
func (s *Store) acquire(ino uint64) (*fileData, error) {
	s.files.Lock()
	defer s.files.Unlock()
	if fd, ok := s.files.m[ino]; ok {
		fd.refs++
		return fd, nil
	}
	// Loading under files.Mutex keeps content replacement (which takes it
	// when no fileData exists) from slipping between the reads below.
	n, err := s.inode(ino)
	if err != nil {
		return nil, err
	}
	if n.Type != TypeFile {
		if n.Type == TypeDir {
			return nil, ErrIsDir
		}
		return nil, ErrInvalid
	}
	fd := &fileData{s: s, ino: ino, refs: 1}
	fd.loadLocked(n)
	s.files.m[ino] = fd
	return fd, nil
}

// loadLocked (re)reads the inode's content state from its records.
func (fd *fileData) loadLocked(n *Inode) {
	s := fd.s
	fd.closeFile()
	fd.size, fd.mtime = n.Size, n.Mtime
	fd.persisted = n.State == Persisted
	fd.pinned = n.Pinned
	fd.writeType = n.WriteType
	fd.src.ok = n.DataInUFS
	fd.src.ufsSource = ufsSource{mount: n.Mount, key: n.UFS.Key, size: n.UFS.Size, etag: n.UFS.ETag}
	fd.bitmap, fd.durable, fd.cacheID = nil, nil, 0
	fd.dirty, fd.marked = false, false
	if cs, err := s.db.CacheState(fd.ino); err == nil && cs.CacheID != 0 {
		if f, err := s.cache.OpenFile(fd.ino, cs.CacheID, false); err == nil {
			fd.f, fd.cacheID, fd.bitmap = f, cs.CacheID, cache.Bitmap(cs.Bitmap)
			if cs.Unsynced {
				s.syncLater(fd.ino) // durable once the background sync says so
			} else {
				fd.durable = fd.bitmap.Clone()
			}
		}
	}
}

func (fd *fileData) closeFile() {
	if fd.f != nil {
		fd.f.Close()
		fd.f = nil
	}
}

// release drops one reference; the last one closes the cache file, and
// removes the file for good if its last link is gone.
func (s *Store) release(fd *fileData) {
	s.files.Lock()
	fd.refs--
	last := fd.refs == 0
	if last {
		delete(s.files.m, fd.ino)
	}
	s.files.Unlock()
	if !last {
		return
	}
	fd.mu.Lock()
	if fd.unrecorded && fd.f != nil {
		// Blocks fetched since the record was written: record them now,
		// while the bitmap is at hand (the background sync marks them
		// durable later).
		if err := fd.saveStateLocked(false); err != nil {
			s.log.Warn("record fetched blocks", "ino", fd.ino, "err", err)
		}
		s.syncLater(fd.ino)
	}
	fd.closeFile()
	drop := fd.dropWhenClosed
	fd.mu.Unlock()
	n, err := s.db.Inode(fd.ino)
	switch {
	case err != nil:
	case n.Nlink == 0:
		s.forgetIfClosed(fd.ino)
	case drop && n.WriteType == Through:
		s.dropCache(fd.ino) // THROUGH keeps nothing cached once uploaded
	}
}

// forgetIfClosed deletes an unlinked inode and its cache file unless a
// handle still holds it open.
func (s *Store) forgetIfClosed(ino uint64) {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	s.forgetIfClosedLocked(ino)
}

// dropCacheFileLocked removes the cache file of a file that has no
// fileData, and its accounting. The caller deletes the CacheState record.
func (s *Store) dropCacheFileLocked(ino uint64) {
	cs, err := s.db.CacheState(ino)
	if err != nil {
		return
	}
	s.unaccount(ino, cs.CacheID, cache.Bitmap(cs.Bitmap), s.cachedSizeHint(ino))
	s.cache.Remove(ino, cs.CacheID)
}

// cachedSizeHint is the size used for the accounting of an inode's blocks.
func (s *Store) cachedSizeHint(ino uint64) int64 {
	if n, err := s.db.Inode(ino); err == nil {
		return n.Size
	}
	return 0
}

// unaccount forgets every present block of a cache file.
func (s *Store) unaccount(ino, cacheID uint64, bm cache.Bitmap, size int64) {
	bs := s.cache.BlockSize()
	var total int64
	for i := int64(0); i < int64(len(bm))*8; i++ {
		if bm.Has(i) {
			s.cache.Forget(cache.Block{Ino: ino, CacheID: cacheID, Index: i})
			total += blockLen(i, size, bs)
		}
	}
	s.cache.Release(total)
}

func blockLen(i, size, bs int64) int64 {
	l := size - i*bs
	switch {
	case l <= 0:
		return 0
	case l > bs:
		return bs
	}
	return l
}

func nblocks(size, bs int64) int64 { return (size + bs - 1) / bs }

// accounted is the bytes of present blocks with index in [from, to) for a
// file of the given size.
func accounted(bm cache.Bitmap, size, bs, from, to int64) int64 {
	var t int64
	for i := from; i < to; i++ {
		if bm.Has(i) {
			t += blockLen(i, size, bs)
		}
	}
	return t
}

// ensureFileLocked creates the cache file if the file has none yet.
func (fd *fileData) ensureFileLocked() error {
	if fd.f != nil {
		return nil
	}
	id, err := fd.s.db.NewIno() // any never-used number will do
	if err != nil {
		return err
	}
	f, err := fd.s.cache.OpenFile(fd.ino, id, true) // new and empty
	if err != nil {
		return err
	}
	fd.f, fd.cacheID, fd.bitmap, fd.durable = f, id, nil, nil
	return nil
}

// saveStateLocked writes the cache presence record.
func (fd *fileData) saveStateLocked(sync bool) error {
	b := fd.s.db.NewBatch("cache state")
	b.PutCacheState(fd.ino, fd.recordLocked())
	return b.Commit(sync)
}

// recordLocked is stateLocked for a record about to be written.
func (fd *fileData) recordLocked() *meta.CacheState {
	fd.unrecorded = false
	return fd.stateLocked()
}

// stateLocked is the cache record: every present block, marked Unsynced
// while some of them are in the kernel but not yet known to be on the disk
// (written before a close, fetched): a crash of the daemon keeps those, one
// of the machine may not.
func (fd *fileData) stateLocked() *meta.CacheState {
	unsynced := false
	for i := range int64(len(fd.bitmap)) * 8 {
		if fd.bitmap.Has(i) && !fd.durable.Has(i) {
			unsynced = true
			break
		}
	}
	return &meta.CacheState{CacheID: fd.cacheID, BlockSize: fd.s.cache.BlockSize(), Bitmap: fd.bitmap.Clone(), Dirty: fd.marked, Unsynced: unsynced}
}

// markDirtyLocked notes that the content is about to change. A persisted
// file's blocks stop being evictable; its cache state is marked dirty (and
// synced) first, so that a crash before the commit does not leave a cache
// file that silently disagrees with the UFS.
func (fd *fileData) markDirtyLocked() error {
	if fd.dirty {
		return nil
	}
	if err := fd.markRecordLocked(); err != nil {
		return err
	}
	if fd.persisted {
		bs := fd.s.cache.BlockSize()
		for i := range nblocks(fd.size, bs) {
			fd.s.cache.Forget(cache.Block{Ino: fd.ino, CacheID: fd.cacheID, Index: i})
		}
	}
	fd.dirty = true
	fd.persisted = false
	return nil
}

// fetchRounds bounds how often a change fetches the blocks it needs before
// it gives up: blocks it fetched are evictable until the file is dirty, so
// a file larger than the cache would evict its own blocks for ever.
const fetchRounds = 8

// errCannotHold is a change in place that needs the whole file cached (see
// fillLocked) when the cache cannot hold it.
var errCannotHold = fmt.Errorf("changing this file in place needs all of it in the cache, which cannot hold it: %w", ErrNoSpace)

// fillLocked lists the blocks below limit to cache before the first change
// of a file whose blocks not cached are read from its UFS object: the
// commit of that change makes the object stale, and with it the only copy
// of those blocks. Blocks wholly inside [from, to), about to be
// overwritten, are left out; so is everything once the file is dirty (it
// was filled then) or has no UFS object. It returns the blocks to fetch
// and the channels of those already being fetched.
func (fd *fileData) fillLocked(limit, from, to int64) (need []int64, wait []chan struct{}) {
	if fd.dirty || !fd.src.ok {
		return nil, nil
	}
	bs := fd.s.cache.BlockSize()
	for i := int64(0); i*bs < limit; i++ {
		if fd.bitmap.Has(i) || (from <= i*bs && min((i+1)*bs, fd.size) <= to) {
			continue
		}
		if ch, ok := fd.fetching[i]; ok {
			wait = append(wait, ch)
		} else {
			need = append(need, i)
		}
	}
	return need, wait
}

// markRecordLocked sets, and syncs, the Dirty flag of a persisted file's
// cache record before its cache file may change.
func (fd *fileData) markRecordLocked() error {
	if fd.persisted && fd.f != nil && !fd.marked {
		fd.marked = true
		if err := fd.saveStateLocked(true); err != nil {
			fd.marked = false
			return err
		}
	}
	return nil
}

// refreshLocked adopts what the kernel wrote into the cache file through
// passthrough since the last look: its size, its mtime, and every block
// present. It costs one fstat, and nothing when no handle writes that way.
func (fd *fileData) refreshLocked() error {
	if fd.extWriters == 0 || fd.f == nil {
		return nil
	}
	st, err := fd.f.Stat()
	if err != nil {
		return err
	}
	size, mtime := st.Size(), st.ModTime().UnixNano()
	if size == fd.adopted.size && mtime == fd.adopted.mtime {
		return nil
	}
	if err := fd.markDirtyLocked(); err != nil {
		return err
	}
	bs := fd.s.cache.BlockSize()
	oldAcc := accounted(fd.bitmap, fd.size, bs, 0, nblocks(fd.size, bs))
	var bm cache.Bitmap
	for i := range nblocks(size, bs) {
		bm.Set(i)
	}
	newAcc := accounted(bm, size, bs, 0, nblocks(size, bs))
	if newAcc > oldAcc {
		fd.s.cache.Account(newAcc - oldAcc) // already on disk: it may go over quota
	} else {
		fd.s.cache.Release(oldAcc - newAcc)
	}
	fd.bitmap, fd.size = bm, size
	fd.mtime = max(fd.mtime, mtime)
	fd.adopted.size, fd.adopted.mtime = size, mtime
	fd.writes++
	return nil
}

// noteOwnChangeLocked records the cache file's state after a change made
// through the store itself, so that refreshLocked does not take it for a
// passthrough write.
func (fd *fileData) noteOwnChangeLocked() {
	if fd.extWriters == 0 || fd.f == nil {
		return
	}
	if st, err := fd.f.Stat(); err == nil {
		fd.adopted.size, fd.adopted.mtime = st.Size(), st.ModTime().UnixNano()
	}
}

// makeCleanLocked registers the present blocks as evictable, once the
// content is in the UFS.
func (fd *fileData) makeCleanLocked() {
	if fd.f == nil || fd.dirty {
		return
	}
	bs := fd.s.cache.BlockSize()
	for i := range nblocks(fd.size, bs) {
		if fd.bitmap.Has(i) {
			fd.s.registerPersisted(cache.Block{Ino: fd.ino, CacheID: fd.cacheID, Index: i}, blockLen(i, fd.size, bs), fd.pinned)
		}
	}
}

// registerPersisted tells the cache that a present block's bytes are in
// the UFS: evictable, unless its file is pinned.
func (s *Store) registerPersisted(b cache.Block, size int64, pinned bool) {
	if pinned {
		s.cache.AddKept(b, size)
	} else {
		s.cache.AddClean(b, size)
	}
}

// missingLocked lists the blocks overlapping [off, end) that are not
// present; wait holds channels of blocks being fetched by someone else.
func (fd *fileData) missingLocked(off, end int64) (missing []int64, wait []chan struct{}) {
	bs := fd.s.cache.BlockSize()
	if end > fd.size {
		end = fd.size
	}
	for i := off / bs; i*bs < end; i++ {
		if fd.bitmap.Has(i) {
			continue
		}
		if ch, ok := fd.fetching[i]; ok {
			wait = append(wait, ch)
			continue
		}
		missing = append(missing, i)
	}
	return missing, wait
}

// fetch reads blocks from the UFS into the cache file, in parallel, and
// returns when they are all present. Blocks that someone else is fetching
// already are skipped; the caller re-checks.
func (fd *fileData) fetch(ctx context.Context, blocks []int64) error {
	job, err := fd.startFetch(blocks)
	if err != nil || job == nil {
		return err
	}
	return job.run(ctx)
}

// fetchJob is a set of blocks this caller fetches; each block's channel in
// fileData.fetching closes as soon as that block has landed (or failed),
// so readers wait for the block they need, not for the whole set.
type fetchJob struct {
	fd      *fileData
	blocks  []int64
	f       *os.File
	cacheID uint64
	src     ufsSource
}

// ufsSource is where the blocks of a file that are not cached come from:
// the object at key under mount, of size bytes. Fetches ask for the version
// whose ETag is etag, so that a file changed in the UFS meanwhile fails the
// read (ESTALE) instead of mixing two versions.
type ufsSource struct {
	mount uint32
	key   string
	size  int64
	etag  string
}

// startFetch claims the blocks that are neither present nor being fetched.
func (fd *fileData) startFetch(blocks []int64) (*fetchJob, error) {
	bs := fd.s.cache.BlockSize()
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if !fd.src.ok {
		return nil, fmt.Errorf("%s: blocks %v are neither cached nor in the UFS: %w", inoStr(fd.ino), blocks, ErrIO)
	}
	if err := fd.ensureFileLocked(); err != nil {
		return nil, err
	}
	if fd.fetching == nil {
		fd.fetching = map[int64]chan struct{}{}
	}
	job := &fetchJob{fd: fd, f: fd.f, cacheID: fd.cacheID}
	job.src = fd.src.ufsSource
	for _, i := range blocks {
		if fd.bitmap.Has(i) || fd.fetching[i] != nil || i*bs >= fd.src.size {
			continue
		}
		fd.fetching[i] = make(chan struct{})
		job.blocks = append(job.blocks, i)
	}
	if len(job.blocks) == 0 {
		return nil, nil
	}
	return job, nil
}

// run fetches the job's blocks, at most FetchWorkers at a time across the
// whole store, and returns the first error.
func (j *fetchJob) run(ctx context.Context) error {
	fd, s := j.fd, j.fd.s
	m, merr := s.mounts.get(j.src.mount)
	errs := make([]error, len(j.blocks))
	var wg sync.WaitGroup
	for k, i := range j.blocks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := merr
			if err == nil {
				select {
				case s.fetchSem <- struct{}{}:
					err = s.fetchBlock(ufs.WithIfMatch(ctx, j.src.etag), m.ufs, j.src.key, j.src.size, j.f, i)
					<-s.fetchSem
				case <-ctx.Done():
					err = ctx.Err()
				}
			}
			errs[k] = err
			j.landed(i, err)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: fetch from %s: %w", inoStr(fd.ino), j.src.key, err)
	}
	return nil
}

// landed publishes one fetched block: present at once for readers, durable
// after the background sync.
func (j *fetchJob) landed(i int64, err error) {
	fd, s := j.fd, j.fd.s
	bs := s.cache.BlockSize()
	fd.mu.Lock()
	defer fd.mu.Unlock()
	if ch := fd.fetching[i]; ch != nil {
		delete(fd.fetching, i)
		close(ch)
	}
	if err != nil {
		return
	}
	if fd.cacheID != j.cacheID || fd.f != j.f {
		s.cache.Release(blockLen(i, j.src.size, bs)) // the file was replaced meanwhile
		return
	}
	fd.bitmap.Set(i)
	fd.unrecorded = true
	if fd.persisted {
		s.registerPersisted(cache.Block{Ino: fd.ino, CacheID: j.cacheID, Index: i}, blockLen(i, fd.size, bs), fd.pinned)
	}
	fd.s.syncLater(fd.ino)
}

// fetchBlock reads block i of the object into f, reserving its bytes in the
// cache first.
func (s *Store) fetchBlock(ctx context.Context, u ufs.UFS, key string, size int64, f *os.File, i int64) error {
	bs := s.cache.BlockSize()
	n := blockLen(i, size, bs)
	if err := s.cache.Reserve(n); err != nil {
		return err
	}
	buf := s.bufs.get(bs)
	defer s.bufs.put(buf)
	if err := ufs.ReadFull(ctx, u, key, i*bs, buf[:n]); err != nil {
		s.cache.Release(n)
		return fmt.Errorf("block %d: %w", i, err)
	}
	if err := s.writeCache(n, func() error { _, err := f.WriteAt(buf[:n], i*bs); return err }); err != nil {
		s.cache.Release(n)
		return fmt.Errorf("block %d: write cache: %w", i, err)
	}
	s.opts.Observer.CacheFetched(n)
	return nil
}

// evictBlock is the cache's Evictor: it punches out one clean block.
func (s *Store) evictBlock(b cache.Block) bool {
	s.files.Lock()
	fd, open := s.files.m[b.Ino]
	if open {
		fd.refs++
	}
	s.files.Unlock()
	if !open {
		var err error
		if fd, err = s.acquire(b.Ino); err != nil {
			return true // the file is gone; so is the block
		}
	}
	defer s.release(fd)
	if !fd.mu.TryLock() {
		return false
	}
	defer fd.mu.Unlock()
	if fd.cacheID != b.CacheID || !fd.bitmap.Has(b.Index) {
		return true // stale entry
	}
	if fd.dirty || !fd.persisted || fd.pinned || fd.exposed > 0 || fd.f == nil {
		return false
	}
	bs := s.cache.BlockSize()
	// The record must say "absent" before the bytes are gone.
	wasDurable := fd.durable.Has(b.Index)
	fd.bitmap.Clear(b.Index)
	fd.durable.Clear(b.Index)
	if err := fd.saveStateLocked(true); err != nil {
		fd.bitmap.Set(b.Index)
		if wasDurable {
			fd.durable.Set(b.Index)
		}
		return false
	}
	if err := unix.Fallocate(int(fd.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, b.Index*bs, bs); err != nil {
		s.log.Warn("evict: punch hole", "ino", b.Ino, "block", b.Index, "err", err)
	}
	return true
}

// bufPool recycles block-sized buffers.
type bufPool struct{ p sync.Pool }

func (b *bufPool) get(n int64) []byte {
	if v, ok := b.p.Get().(*[]byte); ok && int64(cap(*v)) >= n {
		return (*v)[:n]
	}
	return make([]byte, n)
}

func (b *bufPool) put(buf []byte) { b.p.Put(&buf) }

// setOpenMtime applies an explicit mtime to an open file, so that a later
// commit of its writes does not bring the old one back.
func (s *Store) setOpenMtime(ino uint64, mtime int64) {
	s.files.Lock()
	fd := s.files.m[ino]
	s.files.Unlock()
	if fd != nil {
		fd.mu.Lock()
		// Take in what passthrough wrote first, so that its later
		// adoption does not bring a newer mtime back over this one.
		fd.refreshLocked()
		fd.mtime = mtime
		fd.mu.Unlock()
	}
}

// dropCacheLocked forgets the cached bytes: the accounting, the cache file
// (open descriptors elsewhere keep it readable) and the presence record,
// which the caller deletes or replaces in its batch.
func (fd *fileData) dropCacheLocked() {
	s := fd.s
	s.unaccount(fd.ino, fd.cacheID, fd.bitmap, fd.size)
	if fd.f != nil {
		s.cache.Remove(fd.ino, fd.cacheID)
	}
	fd.closeFile()
	fd.bitmap, fd.durable, fd.cacheID = nil, nil, 0
}
