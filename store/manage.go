package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hoardfs/hoard/store/cache"
)

// The management operations behind the `hoard fs` commands: load, free,
// persist, pin, checksum, du. Each works on a file or, recursively, on a
// directory, and reports progress through an optional callback.

// Progress is called with the bytes done and the bytes to do.
type Progress func(done, total int64)

// walkFiles calls fn for every file at or under inode n, loading
// directories from the UFS as it goes.
func (s *Store) walkFiles(ctx context.Context, n *Inode, fn func(*Inode) error) error {
	switch n.Type {
	case TypeFile:
		return fn(n)
	case TypeDir:
		if err := s.ensureSynced(ctx, n.Ino); err != nil {
			return err
		}
		var children []uint64
		for de, err := range s.db.Dentries(n.Ino, "") {
			if err != nil {
				return err
			}
			children = append(children, de.Ino)
		}
		for _, ino := range children {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := s.inode(ino)
			if err != nil {
				continue // removed meanwhile
			}
			if err := s.walkFiles(ctx, s.overlay(c), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// Usage is what du and stat report.
type Usage struct {
	Files  int64
	Bytes  int64 // total size
	Cached int64 // bytes in the cache
	Pinned int64 // bytes of pinned files
}

// Du sums sizes and cached bytes at or under path.
func (s *Store) Du(ctx context.Context, path string) (Usage, error) {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	err = s.walkFiles(ctx, n, func(f *Inode) error {
		u.Files++
		u.Bytes += f.Size
		u.Cached += s.CachedBytes(f)
		if f.Pinned {
			u.Pinned += f.Size
		}
		return nil
	})
	return u, opErr("du", path, err)
}

// CachedBytes is how many bytes of file n are in the cache.
func (s *Store) CachedBytes(n *Inode) int64 {
	if n.Type != TypeFile {
		return 0
	}
	bs := s.cache.BlockSize()
	s.files.Lock()
	fd := s.files.m[n.Ino]
	s.files.Unlock()
	if fd != nil {
		fd.mu.RLock()
		defer fd.mu.RUnlock()
		return accounted(fd.bitmap, fd.size, bs, 0, nblocks(fd.size, bs))
	}
	cs, err := s.db.CacheState(n.Ino)
	if err != nil {
		return 0
	}
	return accounted(cache.Bitmap(cs.Bitmap), n.Size, bs, 0, nblocks(n.Size, bs))
}

// Load brings every block at or under path into the cache.
func (s *Store) Load(ctx context.Context, path string, progress Progress) error {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return err
	}
	var files []*Inode
	var total, done int64
	if err := s.walkFiles(ctx, n, func(f *Inode) error {
		files = append(files, f)
		total += f.Size - s.CachedBytes(f)
		return nil
	}); err != nil {
		return opErr("load", path, err)
	}
	for _, f := range files {
		fd, err := s.acquire(f.Ino)
		if err != nil {
			continue
		}
		fd.mu.RLock()
		missing, _ := fd.missingLocked(0, fd.size)
		fd.mu.RUnlock()
		bs := s.cache.BlockSize()
		for start := 0; start < len(missing); start += s.opts.FetchWorkers {
			batch := missing[start:min(start+s.opts.FetchWorkers, len(missing))]
			if err := fd.fetch(ctx, batch); err != nil {
				s.release(fd)
				return opErr("load", path, mapUFSErr(err))
			}
			for _, i := range batch {
				done += blockLen(i, f.Size, bs)
			}
			if progress != nil {
				progress(done, total)
			}
		}
		s.release(fd)
	}
	if progress != nil {
		progress(total, total)
	}
	return nil
}

// Free drops the cached blocks of every persisted, unpinned file at or
// under path; files not yet in the UFS keep theirs (freeing them would lose
// data) and are reported in the error.
func (s *Store) Free(ctx context.Context, path string) error {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return err
	}
	var kept int
	err = s.walkFiles(ctx, n, func(f *Inode) error {
		if f.State != Persisted || f.Pinned {
			kept++
			return nil
		}
		s.freeFile(f.Ino)
		return nil
	})
	if err != nil {
		return opErr("free", path, err)
	}
	if kept > 0 {
		return opErr("free", path, fmt.Errorf("%d files are pinned or not persisted yet and keep their blocks: %w", kept, ErrBusy))
	}
	return nil
}

// freeFile evicts every clean block of one persisted file.
func (s *Store) freeFile(ino uint64) {
	fd, err := s.acquire(ino)
	if err != nil {
		return
	}
	defer s.release(fd)
	fd.mu.RLock()
	id, size := fd.cacheID, fd.size
	var blocks []int64
	for i := range nblocks(size, s.cache.BlockSize()) {
		if fd.bitmap.Has(i) {
			blocks = append(blocks, i)
		}
	}
	fd.mu.RUnlock()
	bs := s.cache.BlockSize()
	for _, i := range blocks {
		b := cache.Block{Ino: ino, CacheID: id, Index: i}
		if s.cache.Forget(b) && s.evictBlock(b) {
			s.cache.Release(blockLen(i, size, bs))
		}
	}
}

// SetPinned pins (or unpins) the files at or under path: a pinned file's
// blocks are never evicted.
func (s *Store) SetPinned(ctx context.Context, path string, pinned bool) error {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return err
	}
	err = s.walkFiles(ctx, n, func(f *Inode) error {
		s.treeMu.Lock()
		cur, err := s.inode(f.Ino)
		if err == nil && cur.Pinned != pinned {
			cur.Pinned = pinned
			b := s.db.NewBatch("pin")
			b.PutInode(cur)
			err = b.Commit(false)
		}
		s.treeMu.Unlock()
		if err != nil {
			return err
		}
		fd, err := s.acquire(f.Ino)
		if err != nil {
			return nil
		}
		fd.mu.Lock()
		fd.pinned = pinned
		if fd.persisted {
			fd.makeCleanLocked() // kept when pinned, evictable when not
		}
		fd.mu.Unlock()
		s.release(fd)
		return nil
	})
	return opErr("pin", path, err)
}

// Checksum is the hex MD5 of the file's content, read through the cache.
func (s *Store) Checksum(ctx context.Context, path string) (string, error) {
	h, _, err := s.OpenPath(ctx, path, os.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer h.Release(ctx)
	sum := md5.New()
	if _, err := io.Copy(sum, io.NewSectionReader(ctxReaderAt{ctx, h}, 0, h.Size())); err != nil {
		return "", opErr("checksum", path, err)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

// PersistPath uploads every file at or under path that is not in the UFS
// yet, whatever its write type.
func (s *Store) PersistPath(ctx context.Context, path string, progress Progress) error {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return err
	}
	var files []*Inode
	var total, done int64
	if err := s.walkFiles(ctx, n, func(f *Inode) error {
		if f.State != Persisted {
			files = append(files, f)
			total += f.Size
		}
		return nil
	}); err != nil {
		return opErr("persist", path, err)
	}
	for _, f := range files {
		// Within a file too, so that one large file moves the bar; at most
		// 5 reports a second. The upload may run in a persist worker, which
		// may go on after a cancelled Persist returns: the reports take a
		// lock, and stop with Persist.
		var (
			mu      sync.Mutex
			last    time.Time
			stopped bool
		)
		if progress != nil {
			s.uploadProgress.Store(f.Ino, func(sent int64) {
				mu.Lock()
				defer mu.Unlock()
				if now := time.Now(); !stopped && now.Sub(last) >= 200*time.Millisecond && sent < f.Size {
					last = now
					progress(done+sent, total)
				}
			})
		}
		err := s.Persist(ctx, f.Ino)
		s.uploadProgress.Delete(f.Ino)
		mu.Lock()
		stopped = true
		mu.Unlock()
		if err != nil {
			return err
		}
		done += f.Size
		if progress != nil {
			progress(done, total)
		}
	}
	return nil
}

// Report is the state of the whole daemon, for `hoard fs report`.
type Report struct {
	Cache  cache.Stats
	Queue  QueueStats
	Mounts []MountInfo
}

// Report gathers cache, queue and mount state.
func (s *Store) Report() Report {
	return Report{Cache: s.cache.Stats(), Queue: s.Queue(), Mounts: s.Mounts()}
}
