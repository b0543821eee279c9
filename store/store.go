// Package store is the single source of truth of Hoard: the namespace (kept
// in pebble by store/meta), file data (kept in the block cache by
// store/cache), the write and read types, the persist queue and the sync with
// the UFS. The FUSE mount and the S3 gateway are thin adapters over this
// package's API, which is why a change made through one is visible through the
// other at once.
//
// # Locking
//
// Namespace mutations (create, unlink, rename, ...) are serialized by
// Store.treeMu; they are short pebble batches. The data path never takes it:
// each open file has its own lock (fileData.mu), and reads of the namespace go
// to pebble directly. Lock order: treeMu, then files.mu, then fileData.mu.
//
// # Durability
//
// Commit points are Flush/Fsync/Release of a written handle and PutObject:
// the cache file is fsynced, then the metadata is committed with a synced
// pebble batch that also queues the persist task. Namespace-only changes are
// committed without a sync of their own and become durable with the next
// synced batch.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hoardfs/hoard/store/cache"
	"github.com/hoardfs/hoard/store/meta"
	"github.com/hoardfs/hoard/ufs"
)

// Re-exported types of the metadata schema.
type (
	Inode        = meta.Inode
	FileType     = meta.FileType
	PersistState = meta.PersistState
	WriteType    = meta.WriteType
	Mount        = meta.Mount
)

const (
	TypeFile    = meta.TypeFile
	TypeDir     = meta.TypeDir
	TypeSymlink = meta.TypeSymlink

	NotPersisted  = meta.NotPersisted
	ToBePersisted = meta.ToBePersisted
	Persisted     = meta.Persisted

	MustCache    = meta.MustCache
	CacheThrough = meta.CacheThrough
	Through      = meta.Through
	AsyncThrough = meta.AsyncThrough
)

// RootIno is the inode number of the root directory.
const RootIno uint64 = 1

// ParseWriteType parses an Alluxio write type name.
func ParseWriteType(s string) (WriteType, error) { return meta.ParseWriteType(s) }

// Options configure a Store.
type Options struct {
	MetaDir   string
	CacheDirs []string
	Quota     int64 // bytes
	BlockSize int64 // 0: cache.DefaultBlockSize

	// RootUFS is the UFS mounted at "/", and RootURI its URI.
	RootUFS ufs.UFS
	RootURI string
	// OpenUFS opens the UFS of a nested mount (backends.Open).
	OpenUFS func(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error)

	WriteType WriteType // default AsyncThrough
	ReadType  ReadType  // default CachePromote
	// SyncInterval is how stale a directory listing may get before it is
	// merged with the UFS again: < 0 never (after the first listing), 0 on
	// every access.
	SyncInterval time.Duration

	PersistWorkers int // default 4
	FetchWorkers   int // block fetches in flight across the store, default 16
	Readahead      int // blocks fetched ahead of a sequential reader, default 8
	// TTLCheckInterval is how often expired TTLs are acted on; default 10s.
	TTLCheckInterval time.Duration
	// RetryBase and RetryMax bound the backoff of failed persist tasks.
	RetryBase, RetryMax time.Duration

	Logger *slog.Logger
	// Observer is told what readers find in the cache (metrics); nil
	// observes nothing.
	Observer Observer
	// BootID names this boot of the machine, to tell a crash of the
	// daemon from one of the machine at the next start; "" reads the
	// kernel's (/proc/sys/kernel/random/boot_id). Tests set it to play a
	// reboot.
	BootID string
	// BackgroundSync is how long closed and fetched blocks may stay in the
	// kernel before they are synced to the disk (default one second).
	BackgroundSync time.Duration
}

// Observer is told what readers find in the block cache. It is called on
// the data path, from readers' goroutines: it must be cheap, must not block
// and must not call back into the store.
type Observer interface {
	// CacheHit: a read found blocks blocks already in the cache.
	CacheHit(blocks int)
	// CacheMiss: a read had to wait for blocks blocks to be fetched.
	CacheMiss(blocks int)
	// CacheFetched: bytes were fetched from the UFS into the cache.
	CacheFetched(bytes int64)
}

type nopObserver struct{}

func (nopObserver) CacheHit(int)       {}
func (nopObserver) CacheMiss(int)      {}
func (nopObserver) CacheFetched(int64) {}

// Store is the namespace and data of one Hoard daemon.
type Store struct {
	opts  Options
	log   *slog.Logger
	db    *meta.DB
	cache *cache.Cache
	feed  feed
	// bootID is the machine's boot this run started in (startRun).
	bootID string
	bg     bgSync // bgsync.go

	// treeMu serializes namespace mutations.
	treeMu sync.Mutex

	files struct {
		sync.Mutex
		m map[uint64]*fileData // inodes with open handles or in-flight work
	}

	mounts   mountTable
	persist  *persister
	syncs    flightGroup // one UFS listing merge per directory at a time
	names    nameCache
	bufs     bufPool
	keyLocks keyLocks
	fetchSem chan struct{} // bounds block fetches in flight, store-wide

	closeOnce sync.Once
	closeErr  error

	// uploadProgress maps an inode to the func(sent int64) that an upload
	// of it, run by whichever goroutine, tells how far it read its body
	// (PersistPath's progress).
	uploadProgress sync.Map
	multipart      uploadTable // multipart uploads in progress (multipart.go)
	closeCtx       context.Context
	cancel         context.CancelFunc
	wg             sync.WaitGroup
}

// Open opens the store, reconciles the cache with the metadata and starts
// the persist workers, which resume the queue left by the last run.
func Open(opts Options) (*Store, error) {
	if opts.WriteType == 0 {
		opts.WriteType = AsyncThrough
	}
	if opts.ReadType == 0 {
		opts.ReadType = CachePromote
	}
	if opts.PersistWorkers <= 0 {
		opts.PersistWorkers = 4
	}
	if opts.FetchWorkers <= 0 {
		opts.FetchWorkers = 16
	}
	if opts.Readahead <= 0 {
		opts.Readahead = 8
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 5 * time.Minute
	}
	if opts.TTLCheckInterval <= 0 {
		opts.TTLCheckInterval = 10 * time.Second
	}
	if opts.BackgroundSync <= 0 {
		opts.BackgroundSync = defaultBackgroundSync
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	if opts.RootUFS == nil {
		return nil, fmt.Errorf("store: no root UFS")
	}
	s := &Store{opts: opts, log: opts.Logger}
	s.files.m = make(map[uint64]*fileData)
	s.fetchSem = make(chan struct{}, opts.FetchWorkers)
	s.closeCtx, s.cancel = context.WithCancel(context.Background())

	if err := os.MkdirAll(opts.MetaDir, 0o700); err != nil {
		return nil, fmt.Errorf("metadata dir %s: %w", opts.MetaDir, err)
	}
	db, err := meta.Open(opts.MetaDir)
	if err != nil {
		return nil, err
	}
	s.db = db
	c, err := cache.Open(cache.Options{Dirs: opts.CacheDirs, Quota: opts.Quota, BlockSize: opts.BlockSize, Evict: s.evictBlock, Logger: opts.Logger})
	if err != nil {
		db.Close()
		return nil, err
	}
	s.cache = c
	if err := s.initRoot(); err != nil {
		c.Close()
		db.Close()
		return nil, err
	}
	if err := s.mounts.load(s); err != nil {
		c.Close()
		db.Close()
		return nil, err
	}
	machineCrashed, err := s.startRun()
	if err != nil {
		c.Close()
		db.Close()
		return nil, err
	}
	if err := s.reconcileCache(machineCrashed); err != nil {
		c.Close()
		db.Close()
		return nil, err
	}
	if _, err := s.uploads(); err != nil {
		c.Close()
		db.Close()
		return nil, err
	}
	s.persist = newPersister(s)
	s.persist.start()
	s.wg.Add(2)
	go s.ttlChecker()
	go s.bgSyncLoop()
	return s, nil
}

// Close stops the persist workers (queued tasks stay queued and resume at the
// next Open) and closes the metadata store. Handles still open are released.
// A second Close does nothing and returns the first one's error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	s.cancel()
	s.persist.stop()
	s.wg.Wait()
	s.files.Lock()
	for _, fd := range s.files.m {
		fd.closeFile()
	}
	s.files.m = map[uint64]*fileData{}
	s.files.Unlock()
	s.mounts.close()
	s.cache.Close()
	err := s.db.SetRun(meta.Run{BootID: s.bootID, Clean: true})
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// startRun records this run as unclean until Close, and reports whether
// the previous one ended with the machine: then writes that had reached
// only the kernel may be lost (see meta.CacheState.Unsynced).
func (s *Store) startRun() (machineCrashed bool, err error) {
	s.bootID = s.opts.BootID
	if s.bootID == "" {
		b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
		if err != nil {
			return false, fmt.Errorf("store: read boot id: %w", err)
		}
		s.bootID = strings.TrimSpace(string(b))
	}
	last, ok, err := s.db.LastRun()
	if err != nil {
		return false, err
	}
	if ok && !last.Clean {
		s.log.Warn("the previous run did not stop cleanly", "same_boot", last.BootID == s.bootID)
	}
	return ok && !last.Clean && last.BootID != s.bootID, s.db.SetRun(meta.Run{BootID: s.bootID})
}

// DB exposes the metadata store for metrics.
func (s *Store) DB() *meta.DB { return s.db }

// Cache exposes the block cache accounting.
func (s *Store) CacheStats() cache.Stats { return s.cache.Stats() }

// BlockSize is the cache block size.
func (s *Store) BlockSize() int64 { return s.cache.BlockSize() }

func (s *Store) initRoot() error {
	if _, err := s.db.Inode(RootIno); err == nil {
		return nil
	}
	now := time.Now().UnixNano()
	root := &meta.Inode{
		Ino: RootIno, Gen: 1, Type: TypeDir, Mode: 0o755, Nlink: 2,
		Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()),
		Atime: now, Mtime: now, Ctime: now, Crtime: now, State: Persisted,
	}
	root.Owner, root.Group = s.names.user(root.Uid), s.names.group(root.Gid)
	b := s.db.NewBatch("init root")
	b.PutInode(root)
	return b.Commit(true)
}

// Cred is who creates a file: numeric ids for POSIX, names for S3 and ls.
// Empty names are looked up from the ids.
type Cred struct {
	Uid, Gid     uint32
	Owner, Group string
}

// nameCache maps uids and gids to names, remembering the answers.
type nameCache struct {
	mu     sync.Mutex
	users  map[uint32]string
	groups map[uint32]string
}

func (c *nameCache) user(id uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.users[id]; ok {
		return n
	}
	n := strconv.FormatUint(uint64(id), 10)
	if u, err := user.LookupId(n); err == nil {
		n = u.Username
	}
	if c.users == nil {
		c.users = map[uint32]string{}
	}
	c.users[id] = n
	return n
}

func (c *nameCache) group(id uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.groups[id]; ok {
		return n
	}
	n := strconv.FormatUint(uint64(id), 10)
	if g, err := user.LookupGroupId(n); err == nil {
		n = g.Name
	}
	if c.groups == nil {
		c.groups = map[uint32]string{}
	}
	c.groups[id] = n
	return n
}

func (s *Store) fillCred(c Cred) Cred {
	if c.Owner == "" {
		c.Owner = s.names.user(c.Uid)
	}
	if c.Group == "" {
		c.Group = s.names.group(c.Gid)
	}
	return c
}

// flightGroup runs one call per key at a time; later callers wait for it.
type flightGroup struct {
	mu sync.Mutex
	m  map[uint64]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

func (g *flightGroup) do(key uint64, fn func() error) error {
	g.mu.Lock()
	if g.m == nil {
		g.m = map[uint64]*flight{}
	}
	if f, ok := g.m[key]; ok {
		g.mu.Unlock()
		<-f.done
		return f.err
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	g.mu.Unlock()
	f.err = fn()
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(f.done)
	return f.err
}
