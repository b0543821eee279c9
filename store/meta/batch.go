package meta

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Batch collects changes that are applied atomically by Commit.
type Batch struct {
	d     *DB
	b     *pebble.Batch
	op    string         // for error messages
	queue map[uint32]int // change of the queue's depth per mount
}

// NewBatch starts a batch; op names the operation in errors.
func (d *DB) NewBatch(op string) *Batch {
	return &Batch{d: d, b: d.db.NewBatch(), op: op}
}

// Commit applies the batch. It returns once the change is in the kernel,
// where a crash of the daemon cannot lose it; with sync, once it is on the
// disk, where a power failure cannot either (see walfs.go).
func (b *Batch) Commit(sync bool) error {
	err := b.b.Commit(pebble.Sync)
	b.b.Close()
	if err != nil {
		return fmt.Errorf("metadata commit (%s): %w", b.op, err)
	}
	b.d.applyQueueDelta(b.queue)
	if sync {
		return b.d.syncHard()
	}
	b.d.unsynced.Store(true)
	return nil
}

// CommitAsync applies the batch so that readers see it at once, and
// returns a function that waits until it is in the kernel (as Commit(false);
// the caller calls DB.Sync for the disk). A caller holding a lock applies
// under the lock and waits after releasing it, so that concurrent commits
// share one log write.
func (b *Batch) CommitAsync() (wait func() error, err error) {
	if err := b.d.db.ApplyNoSyncWait(b.b, pebble.Sync); err != nil {
		b.b.Close()
		return nil, fmt.Errorf("metadata commit (%s): %w", b.op, err)
	}
	b.d.applyQueueDelta(b.queue)
	b.d.unsynced.Store(true)
	return func() error {
		defer b.b.Close()
		if err := b.b.SyncWait(); err != nil {
			return fmt.Errorf("metadata sync (%s): %w", b.op, err)
		}
		return nil
	}, nil
}

// Discard drops the batch without applying it.
func (b *Batch) Discard() { b.b.Close() }

// Empty reports whether the batch holds no change.
func (b *Batch) Empty() bool { return b.b.Empty() }

func (b *Batch) set(k, v []byte) { _ = b.b.Set(k, v, nil) }
func (b *Batch) del(k []byte)    { _ = b.b.Delete(k, nil) }

// PutInode writes n.
func (b *Batch) PutInode(n *Inode) { b.set(inodeKey(n.Ino), n.Encode()) }

// DeleteInode removes inode ino with its xattrs and cache record.
func (b *Batch) DeleteInode(ino uint64) {
	b.del(inodeKey(ino))
	b.del(cacheKey(ino))
	for _, name := range b.d.Xattrs(ino) {
		b.del(xattrKey(ino, name))
	}
}

// PutDentry links name in parent to ino.
func (b *Batch) PutDentry(parent uint64, name string, ino uint64, t FileType) {
	b.set(dentryKey(parent, name), encodeDentry(ino, t))
}

// DeleteDentry removes name from parent.
func (b *Batch) DeleteDentry(parent uint64, name string) { b.del(dentryKey(parent, name)) }

// PutLink records that file ino is linked as name in parent.
func (b *Batch) PutLink(ino, parent uint64, name string) { b.set(linkKey(ino, parent, name), nil) }

// DeleteLink removes a link record.
func (b *Batch) DeleteLink(ino, parent uint64, name string) { b.del(linkKey(ino, parent, name)) }

// PutXattr sets one extended attribute.
func (b *Batch) PutXattr(ino uint64, name string, value []byte) { b.set(xattrKey(ino, name), value) }

// DeleteXattr removes one extended attribute.
func (b *Batch) DeleteXattr(ino uint64, name string) { b.del(xattrKey(ino, name)) }

// PutCacheState writes ino's cache presence record.
func (b *Batch) PutCacheState(ino uint64, c *CacheState) { b.set(cacheKey(ino), c.encode()) }

// DeleteCacheState removes ino's cache presence record.
func (b *Batch) DeleteCacheState(ino uint64) { b.del(cacheKey(ino)) }

// AddTask appends t to the persist queue, assigning t.Seq. A delete task
// also records a tombstone for its key, so that listings merged from the UFS
// do not bring the key back before the delete has run.
func (b *Batch) AddTask(t *Task) error {
	seq, err := b.d.newSeq()
	if err != nil {
		return err
	}
	t.Seq = seq
	if t.Created == 0 {
		t.Created = time.Now().UnixNano()
	}
	b.set(taskKey(seq), t.encode())
	b.countTask(t.Mount, +1)
	if t.Ino != 0 {
		b.set(taskInoKey(t.Ino, seq), nil)
	}
	if t.Kind == TaskDelete {
		b.set(tombstoneKey(t.Mount, t.Key), u64(nil, seq))
	}
	return nil
}

func (b *Batch) countTask(mount uint32, n int) {
	if b.queue == nil {
		b.queue = map[uint32]int{}
	}
	b.queue[mount] += n
}

// UpdateTask rewrites t (attempts, last error).
func (b *Batch) UpdateTask(t *Task) { b.set(taskKey(t.Seq), t.encode()) }

// DeleteTask removes t from the queue, with its index and tombstone.
func (b *Batch) DeleteTask(t *Task) {
	if _, err := b.d.get(taskKey(t.Seq)); err == nil {
		b.countTask(t.Mount, -1)
	}
	b.del(taskKey(t.Seq))
	if t.Ino != 0 {
		b.del(taskInoKey(t.Ino, t.Seq))
	}
	if t.Kind == TaskDelete {
		// Only the newest delete of a key owns its tombstone.
		if v, err := b.d.get(tombstoneKey(t.Mount, t.Key)); err == nil && len(v) == 8 && binary.BigEndian.Uint64(v) == t.Seq {
			b.del(tombstoneKey(t.Mount, t.Key))
		}
	}
}

// PutSource records that file ino reads its bytes from key in mount until
// it is persisted under its new key: nothing may overwrite or delete key
// before that.
func (b *Batch) PutSource(mount uint32, key string, ino uint64) {
	b.set(sourceKey(mount, key), u64(nil, ino))
}

// DeleteSource removes a source record.
func (b *Batch) DeleteSource(mount uint32, key string) { b.del(sourceKey(mount, key)) }

// PutTTL indexes inode ino as expiring at when.
func (b *Batch) PutTTL(when int64, ino uint64) { b.set(ttlKey(when, ino), nil) }

// DeleteTTL removes a TTL index entry.
func (b *Batch) DeleteTTL(when int64, ino uint64) { b.del(ttlKey(when, ino)) }

// PutMount writes a mount table entry.
func (b *Batch) PutMount(m *Mount) { b.set(mountKey(m.Path), m.encode()) }

// DeleteMount removes a mount table entry.
func (b *Batch) DeleteMount(path string) { b.del(mountKey(path)) }

// PutUpload writes staged multipart-upload state.
func (b *Batch) PutUpload(id string, v []byte) { b.set(uploadKey(id), v) }

// DeleteUpload removes staged multipart-upload state.
func (b *Batch) DeleteUpload(id string) { b.del(uploadKey(id)) }
