// Package meta is Hoard's metadata store: the namespace, per-file state, the
// mount table and the persist queue, kept in pebble.
//
// The package knows records and keys, not rules: it never decides whether an
// operation is allowed. The store package does that, and writes every change
// it makes as one Batch, so that a change is applied whole or not at all.
// Every batch is in the kernel before its commit returns, so a crash of the
// daemon loses nothing acknowledged; batches that must also survive a power
// failure at once (object put, fsync, the mount table) are synced to the
// disk, and the rest are synced within a second (see walfs.go).
package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("meta: not found")

// idBlock is how many inode numbers or task sequence numbers are reserved
// with one synced write; after a crash the unused rest of a block is skipped.
const idBlock = 4096

// DB is the metadata store.
type DB struct {
	db  *pebble.DB
	dir string
	wal *walFS

	// hard orders syncHard's callers: flushed numbers their calls, each
	// made after its commit reached the kernel; synced is the highest
	// number an fdatasync is known to cover.
	hard struct {
		sync.Mutex
		synced uint64
	}
	flushed atomic.Uint64
	// unsynced is set by commits that only reached the kernel; the
	// background syncer puts them on the disk within SyncInterval.
	unsynced atomic.Bool
	stop     chan struct{}
	stopped  chan struct{}

	// queue counts the tasks of the persist queue per mount, kept in
	// memory so that asking for the depth costs nothing.
	queue struct {
		sync.Mutex
		byMount map[uint32]int
	}

	ids struct {
		sync.Mutex
		nextIno, inoLimit uint64 // allocate from [nextIno, inoLimit)
		nextSeq, seqLimit uint64
	}
}

// Open opens (creating if needed) the metadata store in dir.
func Open(dir string) (*DB, error) {
	wal := newWALFS(vfs.Default)
	opts := &pebble.Options{
		FS:           wal,
		Logger:       quietLogger{},
		MemTableSize: 32 << 20,
	}
	pdb, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open metadata store %s: %w", dir, err)
	}
	d := &DB{db: pdb, dir: dir, wal: wal, stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := d.checkFormat(); err != nil {
		pdb.Close()
		return nil, err
	}
	for _, c := range []struct {
		key         []byte
		next, limit *uint64
	}{{sysNextIno, &d.ids.nextIno, &d.ids.inoLimit}, {sysNextSeq, &d.ids.nextSeq, &d.ids.seqLimit}} {
		v, err := d.getUint(c.key)
		if err != nil {
			pdb.Close()
			return nil, err
		}
		*c.next, *c.limit = v, v
	}
	if d.ids.nextIno < 2 { // ino 1 is the root
		d.ids.nextIno, d.ids.inoLimit = 2, 2
	}
	if d.ids.nextSeq < 1 {
		d.ids.nextSeq, d.ids.seqLimit = 1, 1
	}
	d.queue.byMount = map[uint32]int{}
	for t, err := range d.Tasks(0) {
		if err == nil {
			d.queue.byMount[t.Mount]++
		}
	}
	go d.syncLoop()
	return d, nil
}

// SyncInterval bounds how long a commit stays in the kernel only: what a
// power failure can take is at most this much of the latest changes, as
// ext4's commit interval bounds it for a local file system.
const SyncInterval = time.Second

func (d *DB) syncLoop() {
	defer close(d.stopped)
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			if d.unsynced.Swap(false) {
				if err := d.syncHard(); err != nil {
					d.unsynced.Store(true) // try again; commits that need the disk see the error
				}
			}
		}
	}
}

func (d *DB) checkFormat() error {
	v, closer, err := d.db.Get(sysFormat)
	if errors.Is(err, pebble.ErrNotFound) {
		if err := d.db.Set(sysFormat, binary.BigEndian.AppendUint32(nil, FormatVersion), pebble.Sync); err != nil {
			return fmt.Errorf("metadata store %s: write format: %w", d.dir, err)
		}
		return d.syncHard()
	}
	if err != nil {
		return fmt.Errorf("metadata store %s: read format: %w", d.dir, err)
	}
	defer closer.Close()
	if len(v) != 4 {
		return fmt.Errorf("metadata store %s: %w: format record", d.dir, ErrCorrupt)
	}
	if f := binary.BigEndian.Uint32(v); f > FormatVersion {
		return fmt.Errorf("metadata store %s has format %d, newer than this binary's %d", d.dir, f, FormatVersion)
	}
	return nil
}

// Sync makes every change applied so far durable on the disk.
func (d *DB) Sync() error {
	if err := d.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("metadata sync: %w", err)
	}
	return d.syncHard()
}

// SyncCommitted puts on the disk every commit that has returned, the
// caller's included: cheaper than Sync after a Commit(false) or CommitAsync
// of one's own.
func (d *DB) SyncCommitted() error { return d.syncHard() }

// syncHard fdatasyncs the log: every commit that returned before the call
// is then on the disk. Concurrent callers share one fdatasync when one
// already covers them.
func (d *DB) syncHard() error {
	mine := d.flushed.Add(1) // every flush before this one has completed
	d.hard.Lock()
	defer d.hard.Unlock()
	if d.hard.synced >= mine {
		return nil
	}
	covers := d.flushed.Load()
	if err := d.wal.syncOpen(); err != nil {
		return fmt.Errorf("metadata sync: %w", err)
	}
	d.hard.synced = covers
	return nil
}

// Close puts everything on the disk and closes the store.
func (d *DB) Close() error {
	close(d.stop)
	<-d.stopped
	err := d.Sync()
	if cerr := d.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// Pebble gives access to the underlying database for metrics.
func (d *DB) Pebble() *pebble.DB { return d.db }

func (d *DB) getUint(key []byte) (uint64, error) {
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("metadata: read %q: %w", key, err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: counter %q", ErrCorrupt, key)
	}
	return binary.BigEndian.Uint64(v), nil
}

// alloc hands out the next id from a block, reserving a new block with a
// synced write when the current one runs out.
func (d *DB) alloc(key []byte, next, limit *uint64) (uint64, error) {
	d.ids.Lock()
	defer d.ids.Unlock()
	if *next >= *limit {
		newLimit := *next + idBlock
		err := d.db.Set(key, u64(nil, newLimit), pebble.Sync)
		if err == nil {
			err = d.syncHard() // ids must never be handed out twice
		}
		if err != nil {
			return 0, fmt.Errorf("metadata: reserve ids: %w", err)
		}
		*limit = newLimit
	}
	id := *next
	*next++
	return id, nil
}

// NewIno allocates an inode number that was never used before.
func (d *DB) NewIno() (uint64, error) {
	return d.alloc(sysNextIno, &d.ids.nextIno, &d.ids.inoLimit)
}

func (d *DB) newSeq() (uint64, error) {
	return d.alloc(sysNextSeq, &d.ids.nextSeq, &d.ids.seqLimit)
}

func (d *DB) get(key []byte) ([]byte, error) {
	v, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// Inode reads inode ino; ErrNotFound if it does not exist.
func (d *DB) Inode(ino uint64) (*Inode, error) {
	v, err := d.get(inodeKey(ino))
	if err != nil {
		return nil, fmt.Errorf("inode %d: %w", ino, err)
	}
	return DecodeInode(v)
}

// Lookup reads the entry name in directory parent; ErrNotFound if absent.
func (d *DB) Lookup(parent uint64, name string) (Dentry, error) {
	v, err := d.get(dentryKey(parent, name))
	if err != nil {
		return Dentry{}, err
	}
	return decodeDentry(name, v)
}

// scan iterates over every key with prefix p, starting at start (inclusive)
// when start is not nil. The key and value are only valid during yield.
func (d *DB) scan(p, start []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return
		}
		defer it.Close()
		ok := it.First()
		if start != nil {
			ok = it.SeekGE(start)
		}
		for ; ok; ok = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return
			}
			if !yield(it.Key(), v) {
				return
			}
		}
	}
}

// Dentries streams the entries of directory parent in name order, starting
// after the name after ("" for the beginning).
func (d *DB) Dentries(parent uint64, after string) iter.Seq2[Dentry, error] {
	return func(yield func(Dentry, error) bool) {
		p := dentryPrefix(parent)
		var start []byte
		if after != "" {
			start = append(dentryKey(parent, after), 0)
		}
		for k, v := range d.scan(p, start) {
			de, err := decodeDentry(string(k[len(p):]), v)
			if !yield(de, err) || err != nil {
				return
			}
		}
	}
}

// HasChildren reports whether directory parent has any entry.
func (d *DB) HasChildren(parent uint64) bool {
	for range d.scan(dentryPrefix(parent), nil) {
		return true
	}
	return false
}

// Link is one name of a file: the entry Name in directory Parent.
type Link struct {
	Parent uint64
	Name   string
}

// Links lists every link of file ino.
func (d *DB) Links(ino uint64) []Link {
	var out []Link
	p := linkPrefix(ino)
	for k := range d.scan(p, nil) {
		rest := k[len(p):]
		out = append(out, Link{binary.BigEndian.Uint64(rest[:8]), string(rest[8:])})
	}
	return out
}

// Xattr reads one extended attribute; ErrNotFound if absent.
func (d *DB) Xattr(ino uint64, name string) ([]byte, error) {
	return d.get(xattrKey(ino, name))
}

// Xattrs lists the names of ino's extended attributes.
func (d *DB) Xattrs(ino uint64) []string {
	var names []string
	p := xattrPrefix(ino)
	for k := range d.scan(p, nil) {
		names = append(names, string(k[len(p):]))
	}
	return names
}

// CacheState reads the cache presence record of ino; ErrNotFound if none.
func (d *DB) CacheState(ino uint64) (*CacheState, error) {
	v, err := d.get(cacheKey(ino))
	if err != nil {
		return nil, err
	}
	return decodeCacheState(v)
}

// CacheStates streams every cache presence record, for start-up.
func (d *DB) CacheStates() iter.Seq2[uint64, *CacheState] {
	return func(yield func(uint64, *CacheState) bool) {
		p := []byte{prefixCache}
		for k, v := range d.scan(p, nil) {
			cs, err := decodeCacheState(v)
			if err != nil {
				continue
			}
			if !yield(binary.BigEndian.Uint64(k[1:]), cs) {
				return
			}
		}
	}
}

// Tasks streams the persist queue in order, starting at seq from.
func (d *DB) Tasks(from uint64) iter.Seq2[*Task, error] {
	return func(yield func(*Task, error) bool) {
		p := []byte{prefixTask}
		for k, v := range d.scan(p, taskKey(from)) {
			t, err := decodeTask(binary.BigEndian.Uint64(k[1:]), v)
			if !yield(t, err) || err != nil {
				return
			}
		}
	}
}

// QueueDepth is the number of queued tasks per mount.
func (d *DB) QueueDepth() map[uint32]int {
	d.queue.Lock()
	defer d.queue.Unlock()
	out := make(map[uint32]int, len(d.queue.byMount))
	for m, n := range d.queue.byMount {
		if n > 0 {
			out[m] = n
		}
	}
	return out
}

// OldestTask is the first task of the queue, or nil.
func (d *DB) OldestTask() *Task {
	for t, err := range d.Tasks(0) {
		if err == nil {
			return t
		}
		break
	}
	return nil
}

func (d *DB) applyQueueDelta(delta map[uint32]int) {
	if len(delta) == 0 {
		return
	}
	d.queue.Lock()
	for m, n := range delta {
		d.queue.byMount[m] += n
	}
	d.queue.Unlock()
}

// Task reads one task; ErrNotFound if it is done.
func (d *DB) Task(seq uint64) (*Task, error) {
	v, err := d.get(taskKey(seq))
	if err != nil {
		return nil, err
	}
	return decodeTask(seq, v)
}

// PendingTasks reports whether any task for ino is queued.
func (d *DB) PendingTasks(ino uint64) bool {
	for range d.scan(taskInoPrefix(ino), nil) {
		return true
	}
	return false
}

// Tombstoned reports whether a delete of key in mount is queued.
func (d *DB) Tombstoned(mount uint32, key string) bool {
	_, err := d.get(tombstoneKey(mount, key))
	return err == nil
}

// Source returns the file that depends on key in mount (see PutSource), or
// ErrNotFound.
func (d *DB) Source(mount uint32, key string) (uint64, error) {
	v, err := d.get(sourceKey(mount, key))
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: source record", ErrCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// Expired lists, in expiry order, the inodes whose TTL is at or before now.
func (d *DB) Expired(now int64) []TTLEntry {
	var out []TTLEntry
	for k := range d.scan([]byte{prefixTTL}, nil) {
		when := int64(binary.BigEndian.Uint64(k[1:9]))
		if when > now {
			break
		}
		out = append(out, TTLEntry{When: when, Ino: binary.BigEndian.Uint64(k[9:17])})
	}
	return out
}

// TTLEntry is one entry of the TTL index.
type TTLEntry struct {
	When int64
	Ino  uint64
}

// Mounts lists the mount table in path order.
func (d *DB) Mounts() ([]*Mount, error) {
	var out []*Mount
	p := []byte{prefixMount}
	for k, v := range d.scan(p, nil) {
		m, err := decodeMount(string(k[1:]), v)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Upload reads staged multipart-upload state; ErrNotFound if absent.
func (d *DB) Upload(id string) ([]byte, error) { return d.get(uploadKey(id)) }

// Uploads streams every staged upload.
func (d *DB) Uploads() iter.Seq2[string, []byte] {
	return func(yield func(string, []byte) bool) {
		p := []byte{prefixUpload}
		for k, v := range d.scan(p, nil) {
			if !yield(string(k[1:]), append([]byte(nil), v...)) {
				return
			}
		}
	}
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
