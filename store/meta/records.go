package meta

import (
	"encoding/binary"
	"fmt"
)

// Dentry is one name in a directory.
type Dentry struct {
	Name string
	Ino  uint64
	Type FileType
}

func encodeDentry(ino uint64, t FileType) []byte {
	return append(u64(make([]byte, 0, 9), ino), byte(t))
}

func decodeDentry(name string, b []byte) (Dentry, error) {
	if len(b) != 9 {
		return Dentry{}, fmt.Errorf("%w: dentry %q", ErrCorrupt, name)
	}
	return Dentry{Name: name, Ino: binary.BigEndian.Uint64(b), Type: FileType(b[8])}, nil
}

// CacheState says which blocks of an inode's cache file hold valid bytes.
// A bit is set only after the block's bytes were synced to the cache file,
// so after a crash a set bit can be trusted.
type CacheState struct {
	CacheID   uint64
	BlockSize int64
	Bitmap    []byte // bit i set: block i is present
	// Dirty is set, synced, before the first write into the cache file of
	// a persisted file: if Hoard crashes before the write is committed, the
	// cache file no longer matches the UFS and start-up drops it.
	Dirty bool
	// Unsynced says that some present blocks were in the kernel, not yet
	// on the disk, when the record was written (a close is not an fsync).
	// They are trusted after a crash of the daemon, not after a crash of
	// the machine.
	Unsynced bool
}

func (c *CacheState) encode() []byte {
	e := enc{}
	e.b = append(e.b, 1)
	e.u(c.CacheID)
	e.i(c.BlockSize)
	e.by(c.Bitmap)
	e.bool(c.Dirty)
	e.bool(c.Unsynced)
	return e.b
}

func decodeCacheState(b []byte) (*CacheState, error) {
	if len(b) == 0 || b[0] != 1 {
		return nil, fmt.Errorf("%w: cache record version", ErrCorrupt)
	}
	d := dec{b: b[1:]}
	c := &CacheState{CacheID: d.u(), BlockSize: d.i()}
	c.Bitmap = append([]byte(nil), d.by()...)
	c.Dirty = d.bool()
	c.Unsynced = d.bool() // absent in records from before it existed
	if d.err != nil {
		return nil, fmt.Errorf("cache state: %w", d.err)
	}
	return c, nil
}

// TaskKind is what a persist-queue task does. Stored on disk: never renumber.
type TaskKind uint8

const (
	// TaskPersist uploads version Version of file Ino to its path.
	TaskPersist TaskKind = 1
	// TaskDelete removes Key from mount Mount's UFS, unless a live inode
	// took that path since.
	TaskDelete TaskKind = 2
	// TaskMarker writes the directory marker of directory Ino.
	TaskMarker TaskKind = 3
)

func (k TaskKind) String() string {
	switch k {
	case TaskPersist:
		return "persist"
	case TaskDelete:
		return "delete"
	case TaskMarker:
		return "marker"
	}
	return fmt.Sprintf("TaskKind(%d)", uint8(k))
}

// Task is one entry of the durable persist queue.
type Task struct {
	Seq         uint64
	Kind        TaskKind
	Ino         uint64
	Version     uint64
	Mount       uint32
	Key         string
	Created     int64 // unix ns
	Attempts    uint32
	LastError   string
	NextAttempt int64 // unix ns; 0 = now
}

func (t *Task) encode() []byte {
	e := enc{}
	e.b = append(e.b, 1)
	e.u(uint64(t.Kind))
	e.u(t.Ino)
	e.u(t.Version)
	e.u(uint64(t.Mount))
	e.s(t.Key)
	e.i(t.Created)
	e.u(uint64(t.Attempts))
	e.s(t.LastError)
	e.i(t.NextAttempt)
	return e.b
}

func decodeTask(seq uint64, b []byte) (*Task, error) {
	if len(b) == 0 || b[0] != 1 {
		return nil, fmt.Errorf("%w: task record version", ErrCorrupt)
	}
	d := dec{b: b[1:]}
	t := &Task{Seq: seq}
	t.Kind = TaskKind(d.u())
	t.Ino = d.u()
	t.Version = d.u()
	t.Mount = uint32(d.u())
	t.Key = d.s()
	t.Created = d.i()
	t.Attempts = uint32(d.u())
	t.LastError = d.s()
	t.NextAttempt = d.i()
	if d.err != nil {
		return nil, fmt.Errorf("task %d: %w", seq, d.err)
	}
	return t, nil
}

// Mount is one entry of the mount table: a UFS attached at a path.
type Mount struct {
	ID        uint32
	Path      string // namespace path, "/" for the root mount
	URI       string // e.g. oss://bucket/dir
	Options   map[string]string
	ReadOnly  bool
	WriteType WriteType // 0: the configured default
	Created   int64
	ReadType  uint8 // the store's ReadType; 0: the configured default
}

func (m *Mount) encode() []byte {
	e := enc{}
	e.b = append(e.b, 1)
	e.u(uint64(m.ID))
	e.s(m.URI)
	e.strMap(m.Options)
	e.bool(m.ReadOnly)
	e.u(uint64(m.WriteType))
	e.i(m.Created)
	e.u(uint64(m.ReadType))
	return e.b
}

func decodeMount(path string, b []byte) (*Mount, error) {
	if len(b) == 0 || b[0] != 1 {
		return nil, fmt.Errorf("%w: mount record version", ErrCorrupt)
	}
	d := dec{b: b[1:]}
	m := &Mount{Path: path}
	m.ID = uint32(d.u())
	m.URI = d.s()
	m.Options = d.strMap()
	m.ReadOnly = d.bool()
	m.WriteType = WriteType(d.u())
	m.Created = d.i()
	if len(d.b) > 0 { // records written before mounts had a read type end here
		m.ReadType = uint8(d.u())
	}
	if d.err != nil {
		return nil, fmt.Errorf("mount %s: %w", path, d.err)
	}
	return m, nil
}
