package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/hoardfs/hoard/store/cache"
	"github.com/hoardfs/hoard/ufs"
)

const (
	oExcl   = os.O_EXCL
	oTrunc  = os.O_TRUNC
	oAppend = os.O_APPEND
	oAccess = os.O_RDONLY | os.O_WRONLY | os.O_RDWR
)

// Handle is an open file. Its methods are safe for concurrent use.
type Handle struct {
	s        *Store
	fd       *fileData
	ino      uint64
	flags    int
	readType ReadType
	ctx      context.Context // origin and types of the opener
	lastEnd  atomic.Int64    // end of the previous read, to spot sequential readers
	exposed  atomic.Bool
	extWrite bool // counted in fileData.extWriters; guarded by fd.mu
	released atomic.Bool
}

// Open opens file ino. flags are os.O_* flags: O_TRUNC truncates (a commit
// point), O_APPEND makes every write append.
func (s *Store) Open(ctx context.Context, ino uint64, flags int) (*Handle, error) {
	n, err := s.inode(ino)
	if err != nil {
		return nil, opErr("open", inoStr(ino), err)
	}
	return s.openHandle(ctx, n, flags)
}

func (s *Store) openHandle(ctx context.Context, n *Inode, flags int) (*Handle, error) {
	if n.Type == TypeDir {
		return nil, opErr("open", inoStr(n.Ino), ErrIsDir)
	}
	if flags&oAccess != os.O_RDONLY || flags&oTrunc != 0 {
		if err := s.writable(n); err != nil {
			return nil, opErr("open", inoStr(n.Ino), err)
		}
	}
	fd, err := s.acquire(n.Ino)
	if err != nil {
		return nil, opErr("open", inoStr(n.Ino), err)
	}
	m, _ := s.mounts.get(n.Mount) // nil (the default) for a mount gone meanwhile
	h := &Handle{s: s, fd: fd, ino: n.Ino, flags: flags, readType: s.readTypeFor(ctx, m), ctx: ctx}
	if flags&oTrunc != 0 && flags&oAccess != os.O_RDONLY {
		if err := h.Truncate(ctx, 0); err != nil {
			h.Release(ctx)
			return nil, err
		}
	}
	return h, nil
}

// Ino is the inode number of the open file.
func (h *Handle) Ino() uint64 { return h.ino }

// Size is the current size, uncommitted writes included.
func (h *Handle) Size() int64 {
	fd := h.fd
	fd.mu.Lock()
	defer fd.mu.Unlock()
	fd.refreshLocked()
	return fd.size
}

// ReadAt implements io.ReaderAt.
func (h *Handle) ReadAt(p []byte, off int64) (int, error) { return h.Read(h.ctx, p, off) }

// Read reads up to len(p) bytes at off. Blocks not in the cache are fetched
// from the UFS (and cached, unless the read type is NO_CACHE); a sequential
// reader also starts fetching the blocks after the ones it asked for.
func (h *Handle) Read(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, opErr("read", inoStr(h.ino), ErrInvalid)
	}
	fd, s := h.fd, h.s
	if fd.ext.Load() > 0 {
		fd.mu.Lock()
		err := fd.refreshLocked()
		fd.mu.Unlock()
		if err != nil {
			return 0, opErr("read", inoStr(h.ino), err)
		}
	}
	seq := h.lastEnd.Swap(off+int64(len(p))) == off
	bs := s.cache.BlockSize()
	for attempt := 0; ; attempt++ {
		fd.mu.RLock()
		if off >= fd.size {
			fd.mu.RUnlock()
			return 0, io.EOF
		}
		end := min(off+int64(len(p)), fd.size)
		missing, wait := fd.missingLocked(off, end)
		if len(missing) == 0 && len(wait) == 0 {
			n, err := fd.readLocked(p[:end-off], off)
			fd.mu.RUnlock()
			if attempt == 0 {
				s.opts.Observer.CacheHit(int((end-1)/bs - off/bs + 1))
			}
			if seq && h.readType != NoCache {
				h.readahead(end)
			}
			if err == nil && end < off+int64(len(p)) {
				err = io.EOF
			}
			return n, err
		}
		srcOK := fd.src.ok
		fd.mu.RUnlock()
		if attempt == 0 {
			s.opts.Observer.CacheMiss(len(missing) + len(wait))
		}
		if !srcOK {
			return 0, opErr("read", inoStr(h.ino), fmt.Errorf("blocks %v lost: %w", missing, ErrIO))
		}
		// After a few rounds of blocks evicted as soon as they land (the
		// cache is full of blocks that cannot go, and these are the only
		// clean ones), the read stops trying to cache them.
		if h.readType == NoCache || attempt >= 3 {
			return h.readThrough(ctx, p[:end-off], off, end < off+int64(len(p)))
		}
		for _, ch := range wait {
			select {
			case <-ch:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		if len(missing) > 0 {
			if seq {
				h.readahead(missing[len(missing)-1]*s.cache.BlockSize() + 1)
			}
			if err := fd.fetch(ctx, missing); err != nil {
				if errors.Is(err, ErrNoSpace) { // no room to cache them: a read still reads
					return h.readThrough(ctx, p[:end-off], off, end < off+int64(len(p)))
				}
				return 0, opErr("read", inoStr(h.ino), mapUFSErr(err))
			}
		}
	}
}

// readLocked reads from the cache file; holes read as zeros.
func (fd *fileData) readLocked(p []byte, off int64) (int, error) {
	if fd.f == nil {
		clear(p)
		return len(p), nil
	}
	n, err := fd.f.ReadAt(p, off)
	if err == io.EOF {
		// The cache file is sparse and may be shorter than the file.
		clear(p[n:])
		n, err = len(p), nil
	}
	bs := fd.s.cache.BlockSize()
	if fd.persisted {
		for i := off / bs; i*bs < off+int64(len(p)); i++ {
			fd.s.cache.Touch(cache.Block{Ino: fd.ino, CacheID: fd.cacheID, Index: i})
		}
	}
	return n, err
}

// readThrough serves a read without caching what it reads: blocks in the
// cache come from the cache file (they may hold writes the UFS does not
// have yet), the others straight from the UFS.
func (h *Handle) readThrough(ctx context.Context, p []byte, off int64, eof bool) (int, error) {
	fd := h.fd
	bs := h.s.cache.BlockSize()
	for done := 0; done < len(p); {
		pos := off + int64(done)
		chunk := p[done:min(len(p), done+int(bs-pos%bs))]
		fd.mu.RLock()
		if fd.bitmap.Has(pos / bs) {
			// Under the read lock, so that the block cannot be evicted
			// (punched out) half-way.
			_, err := fd.readLocked(chunk, pos)
			fd.mu.RUnlock()
			if err != nil {
				return done, opErr("read", inoStr(h.ino), fmt.Errorf("%v: %w", err, ErrIO))
			}
		} else {
			src := fd.src
			fd.mu.RUnlock()
			m, err := h.s.mounts.get(src.mount)
			if err != nil {
				return done, opErr("read", inoStr(h.ino), err)
			}
			if err := ufs.ReadFull(ufs.WithIfMatch(ctx, src.etag), m.ufs, src.key, pos, chunk); err != nil {
				return done, opErr("read", inoStr(h.ino), mapUFSErr(err))
			}
		}
		done += len(chunk)
	}
	if eof {
		return len(p), io.EOF
	}
	return len(p), nil
}

// readahead starts fetching, in the background, the blocks that a
// sequential reader reaching end will want next. The blocks are claimed
// before it returns, so the reader waits for them instead of asking twice.
func (h *Handle) readahead(end int64) {
	fd, s := h.fd, h.s
	bs := s.cache.BlockSize()
	fd.mu.RLock()
	missing, _ := fd.missingLocked(end, end+int64(s.opts.Readahead)*bs)
	ok := fd.src.ok
	fd.mu.RUnlock()
	if len(missing) == 0 || !ok {
		return
	}
	job, err := fd.startFetch(missing)
	if err != nil || job == nil {
		return
	}
	s.files.Lock()
	fd.refs++ // keep it alive while fetching
	s.files.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.release(fd)
		if err := job.run(s.closeCtx); err != nil {
			s.log.Debug("readahead", "ino", fd.ino, "err", err)
		}
	}()
}

// Write writes p at off (at the end with O_APPEND) and returns the offset
// written at. The bytes are visible to every reader at once and durable at
// the next commit point.
func (h *Handle) Write(ctx context.Context, p []byte, off int64) (int, error) {
	if h.flags&oAccess == os.O_RDONLY {
		return 0, opErr("write", inoStr(h.ino), ErrBadFD)
	}
	if off < 0 {
		return 0, opErr("write", inoStr(h.ino), ErrInvalid)
	}
	n, err := h.fd.write(ctx, p, off, h.flags&oAppend != 0)
	return n, opErr("write", inoStr(h.ino), err)
}

// WriteAt implements io.WriterAt.
func (h *Handle) WriteAt(p []byte, off int64) (int, error) { return h.Write(h.ctx, p, off) }

func (fd *fileData) write(ctx context.Context, p []byte, off int64, appendMode bool) (int, error) {
	s := fd.s
	bs := s.cache.BlockSize()
	for round := 0; ; round++ {
		fd.mu.Lock()
		if err := fd.refreshLocked(); err != nil {
			fd.mu.Unlock()
			return 0, err
		}
		if appendMode {
			off = fd.size
		}
		end := off + int64(len(p))
		// Partly overwritten blocks that hold data only the UFS has must be
		// fetched first; wholly overwritten ones need not be. Blocks being
		// fetched must land before we write over them.
		var need []int64
		var wait []chan struct{}
		for _, i := range []int64{off / bs, (end - 1) / bs} {
			if i*bs >= fd.size || fd.bitmap.Has(i) {
				continue
			}
			if ch, ok := fd.fetching[i]; ok {
				wait = append(wait, ch)
			} else if off > i*bs || end < min((i+1)*bs, fd.size) {
				need = append(need, i)
			}
		}
		for i := off / bs; i*bs < end; i++ {
			if ch, ok := fd.fetching[i]; ok {
				wait = append(wait, ch)
			}
		}
		// The first change of a file read from the UFS brings back what
		// is not cached of it: see fillLocked.
		m, w := fd.fillLocked(fd.size, off, end)
		need, wait = append(need, m...), append(wait, w...)
		// Extending past the end: the old last block must be whole first.
		if off > fd.size && fd.size%bs != 0 && !fd.bitmap.Has(fd.size/bs) && fd.src.ok {
			need = append(need, fd.size/bs)
		}
		if len(need) == 0 && len(wait) == 0 {
			break
		}
		fd.mu.Unlock()
		if round == fetchRounds {
			return 0, errCannotHold
		}
		for _, ch := range wait {
			<-ch
		}
		if len(need) > 0 {
			if err := fd.fetch(ctx, need); err != nil {
				return 0, mapUFSErr(err)
			}
		}
	}
	defer fd.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if err := fd.markDirtyLocked(); err != nil {
		return 0, err
	}
	if err := fd.ensureFileLocked(); err != nil {
		return 0, err
	}
	end := off + int64(len(p))
	newSize := max(fd.size, end)
	from := min(off, fd.size) / bs
	to := nblocks(newSize, bs)
	before := accounted(fd.bitmap, fd.size, bs, from, to)
	after := fd.bitmap.Clone()
	for i := from; i < to; i++ {
		after.Set(i) // written, or a hole between the old end and off
	}
	if err := s.cache.Reserve(accounted(after, newSize, bs, from, to) - before); err != nil {
		return 0, err
	}
	var n int
	err := s.writeCache(int64(len(p)), func() (err error) {
		n, err = fd.f.WriteAt(p, off)
		return err
	})
	if err != nil {
		s.cache.Release(accounted(after, newSize, bs, from, to) - before)
		return 0, err
	}
	fd.bitmap = after
	fd.size = newSize
	fd.mtime = nowNs()
	fd.writes++
	fd.noteOwnChangeLocked()
	return n, nil
}

// Grow extends the file to size with zeros if it is shorter, atomically
// (fallocate); it is a commit point when it changes anything.
func (h *Handle) Grow(ctx context.Context, size int64) error {
	fd := h.fd
	fd.mu.Lock()
	err := fd.refreshLocked()
	short := fd.size < size
	fd.mu.Unlock()
	if err != nil || !short {
		return opErr("grow", inoStr(h.ino), err)
	}
	if err := fd.truncateIf(ctx, size, func(cur int64) bool { return cur < size }); err != nil {
		return opErr("grow", inoStr(h.ino), err)
	}
	return h.commit(ctx, false)
}

// Truncate sets the size; it is a commit point.
func (h *Handle) Truncate(ctx context.Context, size int64) error {
	if err := h.fd.truncateIf(ctx, size, nil); err != nil {
		return opErr("truncate", inoStr(h.ino), err)
	}
	return h.commit(ctx, false)
}

func (s *Store) truncate(ctx context.Context, ino uint64, size int64) error {
	h, err := s.Open(ctx, ino, os.O_WRONLY)
	if err != nil {
		return err
	}
	defer h.Release(ctx)
	return h.Truncate(ctx, size)
}

// truncateIf sets the size when cond, given the current size under the
// lock, allows it (nil: always).
func (fd *fileData) truncateIf(ctx context.Context, size int64, cond func(cur int64) bool) error {
	if size < 0 {
		return ErrInvalid
	}
	s := fd.s
	bs := s.cache.BlockSize()
	// The block the new end falls in keeps some old bytes: it must be here.
	for round := 0; ; round++ {
		fd.mu.Lock()
		if err := fd.refreshLocked(); err != nil {
			fd.mu.Unlock()
			return err
		}
		need, wait := fd.fillLocked(min(size, fd.size), 0, 0)
		if i := size / bs; size%bs != 0 && i*bs < fd.size && !fd.bitmap.Has(i) && fd.src.ok {
			need = append(need, i)
		}
		if len(need) == 0 && len(wait) == 0 {
			break
		}
		fd.mu.Unlock()
		if round == fetchRounds {
			return errCannotHold
		}
		for _, ch := range wait {
			<-ch
		}
		if err := fd.fetch(ctx, need); err != nil {
			return mapUFSErr(err)
		}
	}
	defer fd.mu.Unlock()
	if cond != nil && !cond(fd.size) {
		return nil
	}
	if err := fd.markDirtyLocked(); err != nil {
		return err
	}
	if err := fd.ensureFileLocked(); err != nil {
		return err
	}
	old := fd.size
	if size == old {
		fd.mtime = nowNs()
		return nil
	}
	lo := min(old, size) / bs
	hi := nblocks(max(old, size), bs)
	before := accounted(fd.bitmap, old, bs, lo, hi)
	after := fd.bitmap.Clone()
	if size < old {
		after.Truncate(nblocks(size, bs))
	} else {
		for i := lo; i < hi; i++ {
			after.Set(i)
		}
	}
	delta := accounted(after, size, bs, lo, hi) - before
	if err := s.cache.Reserve(delta); err != nil {
		return err
	}
	if err := fd.f.Truncate(size); err != nil {
		s.cache.Release(delta)
		return err
	}
	fd.bitmap, fd.size, fd.mtime = after, size, nowNs()
	fd.writes++
	fd.noteOwnChangeLocked()
	return nil
}

// Flush commits the writes made so far (close(2) calls it). Errors of the
// commit, and of the upload with CACHE_THROUGH and THROUGH, surface here.
func (h *Handle) Flush(ctx context.Context) error { return h.commit(ctx, false) }

// Fsync commits like Flush.
func (h *Handle) Fsync(ctx context.Context) error { return h.commit(ctx, true) }

// Release commits what is left and closes the handle.
func (h *Handle) Release(ctx context.Context) error {
	if h.released.Swap(true) {
		return nil
	}
	err := h.commit(ctx, false)
	h.fd.mu.Lock()
	if h.exposed.Load() {
		h.fd.exposed--
	}
	if h.extWrite {
		h.extWrite = false
		h.fd.extWriters--
		h.fd.ext.Add(-1)
		if h.fd.extWriters == 0 && h.fd.marked && !h.fd.dirty {
			// The kernel can no longer write behind our back: the record
			// need not warn of it any more.
			h.fd.marked = false
			if err := h.fd.saveStateLocked(false); err != nil {
				h.s.log.Warn("clear the dirty mark", "ino", h.ino, "err", err)
			}
		}
		if !h.fd.dirty && h.fd.persisted {
			h.fd.makeCleanLocked() // nothing was written: evictable again
		}
	}
	h.fd.mu.Unlock()
	h.s.release(h.fd)
	return err
}

// commit publishes the file's uncommitted changes: the new size, mtime and
// version are committed with the persist task in one batch. Like close(2)
// on a local file system, the commit survives a crash of the daemon at once
// (the bytes and the record are in the kernel) and one of the machine once
// synced, within a second in the background; with hard (fsync(2)) the cache
// file and the record are synced before commit returns. With CACHE_THROUGH
// and THROUGH the upload runs before commit returns.
func (h *Handle) commit(ctx context.Context, hard bool) error {
	fd, s := h.fd, h.s
	fd.mu.Lock()
	if err := fd.refreshLocked(); err != nil {
		fd.mu.Unlock()
		return opErr("commit", inoStr(h.ino), err)
	}
	if !fd.dirty {
		fd.mu.Unlock()
		return h.syncCommitted(hard)
	}
	writes := fd.writes
	if hard && fd.f != nil {
		if err := fd.f.Sync(); err != nil {
			fd.mu.Unlock()
			return opErr("commit", inoStr(h.ino), fmt.Errorf("sync cache file: %w", err))
		}
	}
	fd.mu.Unlock()

	s.treeMu.Lock()
	fd.mu.Lock()
	if !fd.dirty {
		fd.mu.Unlock()
		s.treeMu.Unlock()
		return h.syncCommitted(hard) // another handle committed our writes
	}
	if hard && fd.writes != writes && fd.f != nil {
		if err := fd.f.Sync(); err != nil {
			fd.mu.Unlock()
			s.treeMu.Unlock()
			return opErr("commit", inoStr(h.ino), err)
		}
	}
	n, err := s.inode(h.ino)
	if err != nil {
		fd.mu.Unlock()
		s.treeMu.Unlock()
		return opErr("commit", inoStr(h.ino), err)
	}
	n.Size, n.Mtime = fd.size, fd.mtime
	n.Ctime = nowNs()
	n.Version++
	if w, ok := h.ctx.Value(writeTypeKey{}).(WriteType); ok && w != 0 {
		n.WriteType = w // asked for by whoever opened the handle
	}
	n.ETag = ""
	n.DataInUFS = false
	n.State = NotPersisted
	b := s.db.NewBatch("commit")
	if n.Nlink > 0 {
		if err := s.queuePersistLocked(b, n); err != nil {
			b.Discard()
			fd.mu.Unlock()
			s.treeMu.Unlock()
			return opErr("commit", inoStr(h.ino), err)
		}
	}
	// While the kernel may write the cache file (passthrough), the record
	// stays marked dirty: a write it makes after an upload reaches the
	// file before we hear of it, so a mark set then would come too late.
	fd.marked = fd.extWriters > 0 && fd.f != nil
	if fd.f != nil {
		if hard {
			fd.durable = fd.bitmap.Clone() // the file was synced above
		}
		st := fd.recordLocked()
		b.PutCacheState(h.ino, st)
		if st.Unsynced {
			s.syncLater(h.ino) // on the disk within a second
		}
	}
	b.PutInode(n)
	wait, err := b.CommitAsync()
	if err == nil {
		fd.dirty = false
		fd.src.ok = false
		fd.writeType = n.WriteType
	}
	fd.mu.Unlock()
	s.treeMu.Unlock()
	if err == nil {
		err = wait()
	}
	if err == nil && hard {
		err = s.db.SyncCommitted()
	}
	if err != nil {
		return opErr("commit", inoStr(h.ino), err)
	}
	s.feed.publish(Event{Kind: Changed, Ino: h.ino, Origin: originOf(ctx)})
	switch n.WriteType {
	case CacheThrough, Through:
		if err := s.persist.now(ctx, h.ino); err != nil {
			return opErr("commit", inoStr(h.ino), err)
		}
	default:
		s.persist.kick()
	}
	return nil
}

// syncCommitted makes an fsync(2) with nothing left to commit durable all
// the same: writes an earlier close or flush committed are in the kernel
// only (their record says Unsynced) until the background sync, and fsync
// promises them on the disk now.
func (h *Handle) syncCommitted(hard bool) error {
	if !hard {
		return nil
	}
	fd := h.fd
	fd.mu.Lock()
	var err error
	if fd.f != nil && fd.stateLocked().Unsynced {
		if err = fd.f.Sync(); err == nil {
			fd.durable = fd.bitmap.Clone()
			err = fd.saveStateLocked(false)
		}
	}
	fd.mu.Unlock()
	if err == nil {
		err = h.s.db.SyncCommitted() // that record, and the commit before it
	}
	return opErr("fsync", inoStr(h.ino), err)
}

// CacheFile returns the cache file when every block of the file is cached,
// for serving it without the daemon (FUSE passthrough, sendfile). Until the
// handle is released its blocks are not evicted. When writable is true the
// caller may write through the file: the next commit adopts its size. ok is
// false when the file is not wholly cached.
func (h *Handle) CacheFile(writable bool) (f *os.File, ok bool, err error) {
	fd := h.fd
	fd.mu.Lock()
	defer fd.mu.Unlock()
	bs := h.s.cache.BlockSize()
	if fd.size > 0 && !fd.bitmap.All(nblocks(fd.size, bs)) {
		return nil, false, nil
	}
	if fd.f == nil {
		if err := fd.ensureFileLocked(); err != nil {
			return nil, false, err
		}
	}
	if st, err := fd.f.Stat(); err == nil && st.Size() != fd.size {
		// The kernel reads the file's own size: make it exact.
		if err := fd.f.Truncate(fd.size); err != nil {
			return nil, false, err
		}
	}
	if writable && !h.extWrite {
		// The kernel may write the file from now on: the record must say
		// so first, and changes are adopted as they are seen.
		if err := fd.markRecordLocked(); err != nil {
			return nil, false, err
		}
		if fd.persisted {
			bs := h.s.cache.BlockSize()
			for i := range nblocks(fd.size, bs) {
				h.s.cache.Forget(cache.Block{Ino: fd.ino, CacheID: fd.cacheID, Index: i})
			}
		}
		if fd.extWriters == 0 {
			fd.adopted.size, fd.adopted.mtime = -1, -1
			if st, err := fd.f.Stat(); err == nil {
				fd.adopted.size, fd.adopted.mtime = st.Size(), st.ModTime().UnixNano()
			}
		}
		h.extWrite = true
		fd.extWriters++
		fd.ext.Add(1)
	}
	if !h.exposed.Swap(true) {
		fd.exposed++
	}
	return fd.f, true, nil
}

// OpenCacheFile opens a new descriptor of the cache file when the file is
// wholly cached, for sendfile (which needs its own file offset). The file
// stays pinned until the handle is released.
func (h *Handle) OpenCacheFile() (*os.File, bool, error) {
	f, ok, err := h.CacheFile(false)
	if !ok || err != nil {
		return nil, ok, err
	}
	nf, err := os.Open(f.Name())
	if err != nil {
		return nil, false, err
	}
	return nf, true, nil
}

// mapUFSErr turns a UFS failure into the errno a caller should see.
func mapUFSErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", syscall.EINTR, err)
	case ufs.IsNotExist(err):
		return fmt.Errorf("object vanished from the UFS: %v: %w", err, ErrStale)
	case ufs.IsChanged(err):
		// Replaced in the UFS behind Hoard's back: the next sync of its
		// directory makes a new file of the new object.
		return fmt.Errorf("object changed in the UFS while being read: %v: %w", err, ErrStale)
	case errors.Is(err, cache.ErrNoSpace), errors.Is(err, ErrNoSpace):
		return err
	case errors.Is(err, ErrIO):
		return err
	}
	return fmt.Errorf("%v: %w", err, ErrIO)
}
