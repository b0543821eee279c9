// Package cache is the block cache on local disk: where cache files live, how
// many bytes they hold against the quota, and which clean blocks to evict
// first.
//
// Each file's cached bytes live in one sparse local file per content version,
// filled and evicted in fixed-size blocks. The package owns the files'
// placement and the accounting; which blocks of a file are present is kept by
// the store (it must commit that together with the file's metadata), so
// eviction is a callback into the store.
//
// Only clean blocks (their bytes are in the UFS) are ever handed to the
// evictor: the store registers a block with AddClean when it becomes clean and
// removes it with Forget when it becomes dirty or goes away. Blocks that are
// not registered are pinned.
package cache

import (
	"container/list"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNoSpace is returned when the quota is used up by pinned blocks.
var ErrNoSpace = fmt.Errorf("cache full of blocks not yet persisted: %w", syscall.ENOSPC)

// DefaultBlockSize is the unit of fetching, tracking and eviction.
const DefaultBlockSize = 4 << 20

// Block names one block of one cache file.
type Block struct {
	Ino     uint64
	CacheID uint64
	Index   int64
}

// Evictor drops a clean block from its cache file (punching a hole) and
// returns true, or returns false when it cannot right now (the file is busy).
// It is called without the cache's lock held and must not block on locks
// that a caller of Reserve may hold: use TryLock.
type Evictor func(b Block) bool

// Options configure a Cache.
type Options struct {
	Dirs      []string // one or more directories, each on local disk
	Quota     int64    // bytes, across all dirs
	BlockSize int64    // default DefaultBlockSize
	Evict     Evictor
	Logger    *slog.Logger // nil discards
}

// Cache places cache files and accounts for their blocks.
type Cache struct {
	dirs      []string
	quota     int64
	blockSize int64
	evict     Evictor

	pools  []*filePool // one per dir (pool.go)
	refill struct {
		wake, stop, done chan struct{}
	}
	closeOnce sync.Once
	// shards remembers the subdirectories known to exist, to spare a
	// create its MkdirAll.
	shards sync.Map

	// removals is the queue of cache files to delete in the background
	// (Remove): unlinking a file on ext4 costs more than the rest of an
	// unlink of ours, and nobody needs to wait for it.
	removals struct {
		sync.Mutex
		paths []string
		wake  chan struct{} // signalled when paths grows
		done  chan struct{} // closed when the remover has stopped
		stop  bool
	}

	mu struct {
		sync.Mutex
		used      int64                   // bytes of every present block, pinned or clean
		clean     int64                   // bytes of blocks in lru
		lru       list.List               // of *entry, front is most recent
		entries   map[Block]*list.Element // clean blocks
		kept      map[Block]int64         // blocks of pinned files that are in the UFS, by size
		keptBytes int64
		evictions int64
		evicted   int64 // bytes
	}
}

type entry struct {
	b    Block
	size int64
}

// Open prepares the cache directories.
func Open(o Options) (*Cache, error) {
	if len(o.Dirs) == 0 {
		return nil, errors.New("cache: no cache directory configured")
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.Quota <= 0 {
		return nil, fmt.Errorf("cache: quota must be positive, got %d", o.Quota)
	}
	c := &Cache{dirs: o.Dirs, quota: o.Quota, blockSize: o.BlockSize, evict: o.Evict}
	c.mu.entries = make(map[Block]*list.Element)
	c.mu.kept = make(map[Block]int64)
	for _, d := range o.Dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("cache dir %s: %w", d, err)
		}
	}
	for _, d := range o.Dirs {
		c.pools = append(c.pools, &filePool{dir: d})
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c.removals.wake = make(chan struct{}, 1)
	c.removals.done = make(chan struct{})
	c.refill.wake = make(chan struct{}, 1)
	c.refill.stop = make(chan struct{})
	c.refill.done = make(chan struct{})
	go c.remover()
	go c.refiller(log)
	return c, nil
}

// BlockSize is the block size in bytes.
func (c *Cache) BlockSize() int64 { return c.blockSize }

// Quota is the byte quota.
func (c *Cache) Quota() int64 { return c.quota }

// Path is where the cache file of version cacheID of inode ino lives. Files
// are spread over the cache dirs by inode, and over 256 subdirectories.
func (c *Cache) Path(ino, cacheID uint64) string {
	return c.path(c.dirOf(ino), ino, cacheID)
}

// SameDir reports whether inode ino's cache files live in the cache dir
// that holds the file at path, so that a rename of one to the other stays
// on one file system.
func (c *Cache) SameDir(ino uint64, path string) bool {
	return strings.HasPrefix(path, c.dirs[c.dirOf(ino)]+string(filepath.Separator))
}

// dirOf is the index of the cache dir that holds inode ino's files.
func (c *Cache) dirOf(ino uint64) int {
	h := fnv.New32a()
	fmt.Fprint(h, ino)
	return int(h.Sum32() % uint32(len(c.dirs)))
}

func (c *Cache) path(dir int, ino, cacheID uint64) string {
	return filepath.Join(c.dirs[dir], fmt.Sprintf("%02x", ino&0xff), fmt.Sprintf("%x-%x", ino, cacheID))
}

// OpenFile opens a cache file for reading and writing; with create, it
// makes a new, empty one (from the pool of unnamed files, pool.go).
func (c *Cache) OpenFile(ino, cacheID uint64, create bool) (*os.File, error) {
	if !create {
		f, err := os.OpenFile(c.Path(ino, cacheID), os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
		return f, nil
	}
	i := c.dirOf(ino)
	p := c.path(i, ino, cacheID)
	if shard := filepath.Dir(p); !c.knownShard(shard) {
		if err := os.MkdirAll(shard, 0o700); err != nil {
			return nil, fmt.Errorf("cache: %w", err)
		}
		c.shards.Store(shard, true)
	}
	f, err := c.newFile(i, p)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return f, nil
}

func (c *Cache) knownShard(dir string) bool {
	_, ok := c.shards.Load(dir)
	return ok
}

// Remove deletes a cache file, in the background. Readers that hold it open
// keep reading it.
func (c *Cache) Remove(ino, cacheID uint64) {
	c.removals.Lock()
	stopped := c.removals.stop
	if !stopped {
		c.removals.paths = append(c.removals.paths, c.Path(ino, cacheID))
	}
	c.removals.Unlock()
	if stopped {
		os.Remove(c.Path(ino, cacheID))
		return
	}
	select {
	case c.removals.wake <- struct{}{}:
	default:
	}
}

// remover deletes the files Remove queued. A crash may leave some behind:
// the store's start-up deletes cache files no record names.
func (c *Cache) remover() {
	defer close(c.removals.done)
	for {
		c.removals.Lock()
		paths, stop := c.removals.paths, c.removals.stop
		c.removals.paths = nil
		c.removals.Unlock()
		for _, p := range paths {
			os.Remove(p)
		}
		if stop && len(paths) == 0 {
			return
		}
		if len(paths) == 0 {
			<-c.removals.wake
		}
	}
}

// Close stops filling the pools, drops their files and deletes the files
// still queued for removal.
func (c *Cache) Close() {
	c.closeOnce.Do(func() { close(c.refill.stop) })
	<-c.refill.done
	for _, p := range c.pools {
		p.close()
	}
	c.removals.Lock()
	c.removals.stop = true
	c.removals.Unlock()
	select {
	case c.removals.wake <- struct{}{}:
	default:
	}
	<-c.removals.done
}

// Reserve accounts n more bytes of present blocks, first evicting clean
// blocks, least recently used first, until they fit the quota. It returns
// ErrNoSpace, accounting nothing, when only pinned blocks are left.
func (c *Cache) Reserve(n int64) error {
	if n <= 0 {
		return nil
	}
	fits := func() bool {
		if c.mu.used+n <= c.quota {
			c.mu.used += n
			return true
		}
		return false
	}
	if !c.evictUntil(fits) {
		return ErrNoSpace
	}
	return nil
}

// Free evicts clean blocks, least recently used first, until at least n
// bytes are gone, and reports how many bytes it evicted. It is for a disk
// that fills before the quota does: other files share it, or the quota is
// set larger than the disk.
func (c *Cache) Free(n int64) int64 {
	c.mu.Lock()
	start := c.mu.evicted
	c.mu.Unlock()
	c.evictUntil(func() bool { return c.mu.evicted-start >= n })
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.evicted - start
}

// evictUntil evicts clean blocks, least recently used first, until enough
// (called with c.mu held) reports true; it reports false if the clean
// blocks ran out first. A block the evictor cannot take now (its file is
// busy) is skipped and goes back to the front afterwards.
func (c *Cache) evictUntil(enough func() bool) bool {
	var skipped []*entry
	defer func() {
		// Busy blocks go back to the front: they were in use just now.
		c.mu.Lock()
		for _, e := range skipped {
			if _, ok := c.mu.entries[e.b]; !ok {
				c.mu.entries[e.b] = c.mu.lru.PushFront(e)
				c.mu.clean += e.size
			}
		}
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		if enough() {
			c.mu.Unlock()
			return true
		}
		el := c.mu.lru.Back()
		if el == nil {
			c.mu.Unlock()
			return false
		}
		e := el.Value.(*entry)
		c.removeLocked(el)
		c.mu.Unlock()

		if c.evict != nil && c.evict(e.b) {
			c.mu.Lock()
			c.mu.used -= e.size
			c.mu.evictions++
			c.mu.evicted += e.size
			c.mu.Unlock()
		} else {
			skipped = append(skipped, e)
		}
	}
}

// Release un-accounts n bytes of blocks that are gone.
func (c *Cache) Release(n int64) {
	c.mu.Lock()
	c.mu.used -= n
	if c.mu.used < 0 {
		c.mu.used = 0
	}
	c.mu.Unlock()
}

// Account adds n bytes without checking the quota; used at start-up for
// blocks that are already on disk.
func (c *Cache) Account(n int64) {
	c.mu.Lock()
	c.mu.used += n
	c.mu.Unlock()
}

// AddClean makes a present block evictable; size is its length in bytes.
func (c *Cache) AddClean(b Block, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size, ok := c.mu.kept[b]; ok { // its file was unpinned
		delete(c.mu.kept, b)
		c.mu.keptBytes -= size
	}
	if el, ok := c.mu.entries[b]; ok {
		c.mu.lru.MoveToFront(el)
		return
	}
	c.mu.entries[b] = c.mu.lru.PushFront(&entry{b: b, size: size})
	c.mu.clean += size
}

// Touch marks a clean block as just used.
func (c *Cache) Touch(b Block) {
	c.mu.Lock()
	if el, ok := c.mu.entries[b]; ok {
		c.mu.lru.MoveToFront(el)
	}
	c.mu.Unlock()
}

// AddKept registers a present block of a pinned file whose bytes are in
// the UFS: never evicted, yet not dirty either. Only the statistics tell
// it from a dirty block.
func (c *Cache) AddKept(b Block, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.mu.entries[b]; ok {
		c.removeLocked(el)
	}
	if _, ok := c.mu.kept[b]; !ok {
		c.mu.kept[b] = size
		c.mu.keptBytes += size
	}
}

// Forget makes a block dirty (unevictable, not in the UFS): it was written,
// or is going away. It reports whether the block was clean.
func (c *Cache) Forget(b Block) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if size, ok := c.mu.kept[b]; ok {
		delete(c.mu.kept, b)
		c.mu.keptBytes -= size
	}
	if el, ok := c.mu.entries[b]; ok {
		c.removeLocked(el)
		return true
	}
	return false
}

func (c *Cache) removeLocked(el *list.Element) {
	e := el.Value.(*entry)
	c.mu.lru.Remove(el)
	delete(c.mu.entries, e.b)
	c.mu.clean -= e.size
}

// Stats is a snapshot of the accounting. Used = Clean + Kept + Dirty.
type Stats struct {
	Capacity     int64
	Used         int64
	Clean        int64 // evictable
	Pinned       int64 // Used - Clean: unevictable, Kept + Dirty
	Kept         int64 // blocks of pinned files, in the UFS too
	Dirty        int64 // blocks whose bytes are only here (not yet persisted)
	Evictions    int64
	EvictedBytes int64
}

// Stats returns the current accounting.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Capacity: c.quota, Used: c.mu.used, Clean: c.mu.clean, Pinned: c.mu.used - c.mu.clean,
		Kept: c.mu.keptBytes, Dirty: max(0, c.mu.used-c.mu.clean-c.mu.keptBytes),
		Evictions: c.mu.evictions, EvictedBytes: c.mu.evicted,
	}
}

// Files lists every cache file on disk as (ino, cacheID), for start-up
// reconciliation. Unparseable names are reported with ok=false via bad.
func (c *Cache) Files(fn func(ino, cacheID uint64, path string)) error {
	for _, d := range c.dirs {
		subs, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("cache dir %s: %w", d, err)
		}
		for _, sub := range subs {
			if !sub.IsDir() {
				continue
			}
			files, err := os.ReadDir(filepath.Join(d, sub.Name()))
			if err != nil {
				return fmt.Errorf("cache dir %s: %w", d, err)
			}
			for _, f := range files {
				ino, id, ok := parseName(f.Name())
				if !ok {
					continue
				}
				fn(ino, id, filepath.Join(d, sub.Name(), f.Name()))
			}
		}
	}
	return nil
}

func parseName(name string) (ino, id uint64, ok bool) {
	a, b, found := strings.Cut(name, "-")
	if !found {
		return 0, 0, false
	}
	ino, err1 := strconv.ParseUint(a, 16, 64)
	id, err2 := strconv.ParseUint(b, 16, 64)
	return ino, id, err1 == nil && err2 == nil
}

// SyncAll puts every cache file's written bytes on the disk: one syncfs(2)
// per cache dir, which commits the file system's journal once for all of
// them, where an fsync per file would commit it once each.
func (c *Cache) SyncAll() error {
	for _, dir := range c.dirs {
		d, err := os.Open(dir)
		if err != nil {
			return fmt.Errorf("cache: sync %s: %w", dir, err)
		}
		err = unix.Syncfs(int(d.Fd()))
		d.Close()
		if err != nil {
			return fmt.Errorf("cache: syncfs %s: %w", dir, err)
		}
	}
	return nil
}
