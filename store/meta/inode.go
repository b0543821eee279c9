package meta

import (
	"fmt"
	"sort"
)

// FileType is the kind of an inode. Stored on disk: never renumber.
type FileType uint8

const (
	TypeFile    FileType = 1
	TypeDir     FileType = 2
	TypeSymlink FileType = 3
)

func (t FileType) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeDir:
		return "dir"
	case TypeSymlink:
		return "symlink"
	}
	return fmt.Sprintf("FileType(%d)", uint8(t))
}

// PersistState says whether a file's current content is in the UFS. Stored
// on disk: never renumber.
type PersistState uint8

const (
	// NotPersisted: the content lives only in the cache (MUST_CACHE, or not
	// committed yet).
	NotPersisted PersistState = 1
	// ToBePersisted: committed and queued for the UFS.
	ToBePersisted PersistState = 2
	// Persisted: the UFS holds exactly the current content.
	Persisted PersistState = 3
)

func (s PersistState) String() string {
	switch s {
	case NotPersisted:
		return "NOT_PERSISTED"
	case ToBePersisted:
		return "TO_BE_PERSISTED"
	case Persisted:
		return "PERSISTED"
	}
	return fmt.Sprintf("PersistState(%d)", uint8(s))
}

// WriteType is Alluxio's write type. Stored on disk: never renumber.
type WriteType uint8

const (
	MustCache    WriteType = 1 // cache only, never persisted
	CacheThrough WriteType = 2 // cache and UFS before the commit returns
	Through      WriteType = 3 // UFS before the commit returns, not kept in cache
	AsyncThrough WriteType = 4 // cache now, UFS through the persist queue
)

var writeTypeNames = map[WriteType]string{
	MustCache: "MUST_CACHE", CacheThrough: "CACHE_THROUGH", Through: "THROUGH", AsyncThrough: "ASYNC_THROUGH",
}

func (w WriteType) String() string {
	if s, ok := writeTypeNames[w]; ok {
		return s
	}
	return fmt.Sprintf("WriteType(%d)", uint8(w))
}

// ParseWriteType parses an Alluxio write type name such as "ASYNC_THROUGH".
func ParseWriteType(s string) (WriteType, error) {
	for w, name := range writeTypeNames {
		if name == s {
			return w, nil
		}
	}
	return 0, fmt.Errorf("unknown write type %q: want MUST_CACHE, CACHE_THROUGH, THROUGH or ASYNC_THROUGH", s)
}

// Fingerprint identifies the UFS object that holds (or held) a file's
// content, so that changes made to the UFS outside Hoard can be detected.
type Fingerprint struct {
	Key   string // UFS key relative to the mount's UFS root
	ETag  string
	Size  int64
	Mtime int64 // unix nanoseconds
}

// Inode is one file, directory or symlink.
//
// Invariants: Parent/Name is the inode's first link (for a directory, its only
// one); the root has Parent 0; an open file whose last link is gone has
// Nlink 0 and Parent 0 until it is released. Size is the committed size.
// Version counts commits of new content. When DataInUFS is set, the UFS
// object UFS.Key holds the content of version Version. Which local cache file
// holds the content, and which of its blocks, is the inode's CacheState.
type Inode struct {
	Ino   uint64
	Gen   uint64
	Type  FileType
	Mode  uint32 // permission bits, setuid/setgid/sticky included; no type bits
	Uid   uint32
	Gid   uint32
	Owner string
	Group string
	Nlink uint32
	Size  int64
	Atime int64 // unix nanoseconds
	Mtime int64
	Ctime int64

	Target string // symlink target

	Parent uint64
	Name   string
	Mount  uint32 // id of the mount the inode lives under

	Version   uint64
	State     PersistState
	WriteType WriteType
	UFS       Fingerprint
	DataInUFS bool

	// S3 attributes.
	ETag        string            // hex MD5 (or md5-of-md5s-N) of the content, "" when unknown
	ContentType string            // "" means the default
	Meta        map[string]string // lower-case header name -> value: x-amz-meta-*, content-encoding, ...
	Tags        map[string]string

	Pinned   bool
	SyncedAt int64 // directories: when the listing was last merged with the UFS (unix ns), 0 never
	Crtime   int64 // creation time, unix ns

	// TTL, when set, is when (unix ns) TTLAction happens to the inode:
	// TTLFree drops its cached blocks, TTLDelete removes it.
	TTL       int64
	TTLAction TTLAction
}

// TTLAction is what happens when a TTL expires. Stored on disk: never
// renumber.
type TTLAction uint8

const (
	TTLDelete TTLAction = 1
	TTLFree   TTLAction = 2
)

func (a TTLAction) String() string {
	switch a {
	case TTLDelete:
		return "DELETE"
	case TTLFree:
		return "FREE"
	}
	return ""
}

const inodeRecordVersion = 1

// Encode serializes the inode.
func (n *Inode) Encode() []byte {
	e := enc{b: make([]byte, 0, 96+len(n.Name)+len(n.UFS.Key))}
	e.b = append(e.b, inodeRecordVersion)
	e.u(n.Ino)
	e.u(n.Gen)
	e.u(uint64(n.Type))
	e.u(uint64(n.Mode))
	e.u(uint64(n.Uid))
	e.u(uint64(n.Gid))
	e.s(n.Owner)
	e.s(n.Group)
	e.u(uint64(n.Nlink))
	e.i(n.Size)
	e.i(n.Atime)
	e.i(n.Mtime)
	e.i(n.Ctime)
	e.s(n.Target)
	e.u(n.Parent)
	e.s(n.Name)
	e.u(uint64(n.Mount))
	e.u(n.Version)
	e.u(uint64(n.State))
	e.u(uint64(n.WriteType))
	e.s(n.UFS.Key)
	e.s(n.UFS.ETag)
	e.i(n.UFS.Size)
	e.i(n.UFS.Mtime)
	e.bool(n.DataInUFS)
	e.s(n.ETag)
	e.s(n.ContentType)
	e.strMap(n.Meta)
	e.strMap(n.Tags)
	e.bool(n.Pinned)
	e.i(n.SyncedAt)
	e.i(n.Crtime)
	e.i(n.TTL)
	e.u(uint64(n.TTLAction))
	return e.b
}

// DecodeInode parses a record written by Encode.
func DecodeInode(b []byte) (*Inode, error) {
	if len(b) == 0 || b[0] != inodeRecordVersion {
		return nil, fmt.Errorf("%w: inode record version", ErrCorrupt)
	}
	d := dec{b: b[1:]}
	n := &Inode{}
	n.Ino = d.u()
	n.Gen = d.u()
	n.Type = FileType(d.u())
	n.Mode = uint32(d.u())
	n.Uid = uint32(d.u())
	n.Gid = uint32(d.u())
	n.Owner = d.s()
	n.Group = d.s()
	n.Nlink = uint32(d.u())
	n.Size = d.i()
	n.Atime = d.i()
	n.Mtime = d.i()
	n.Ctime = d.i()
	n.Target = d.s()
	n.Parent = d.u()
	n.Name = d.s()
	n.Mount = uint32(d.u())
	n.Version = d.u()
	n.State = PersistState(d.u())
	n.WriteType = WriteType(d.u())
	n.UFS.Key = d.s()
	n.UFS.ETag = d.s()
	n.UFS.Size = d.i()
	n.UFS.Mtime = d.i()
	n.DataInUFS = d.bool()
	n.ETag = d.s()
	n.ContentType = d.s()
	n.Meta = d.strMap()
	n.Tags = d.strMap()
	n.Pinned = d.bool()
	n.SyncedAt = d.i()
	n.Crtime = d.i()
	n.TTL = d.i()
	n.TTLAction = TTLAction(d.u())
	if d.err != nil {
		return nil, fmt.Errorf("inode: %w", d.err)
	}
	return n, nil
}

// Clone returns a deep copy, so that a caller can modify it freely.
func (n *Inode) Clone() *Inode {
	c := *n
	c.Meta = cloneMap(n.Meta)
	c.Tags = cloneMap(n.Tags)
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
