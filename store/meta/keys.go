package meta

import (
	"encoding/binary"
)

// Key layout of the metadata store. Every key starts with a one-byte prefix
// naming its table; integers are big-endian so that keys sort numerically.
// On-disk constants are never renumbered: a retired prefix stays listed here
// as a comment so that it is never reused.
//
//	'S' name                          -> system value (format version, next inode, next task seq,
//	                                     the last run: boot id and whether it stopped cleanly)
//	'i' ino(8)                        -> Inode (see inode.go)
//	'd' parent(8) name                -> Dentry: child ino(8) type(1)
//	'l' ino(8) parent(8) name         -> (empty) every link of a file, for persisting hard links
//	'x' ino(8) name                   -> xattr value
//	'c' ino(8)                        -> CacheState: which blocks of the inode's cache file are present
//	'q' seq(8)                        -> Task of the persist queue, executed in seq order
//	'Q' ino(8) seq(8)                 -> (empty) index of pending tasks by inode
//	't' mount(4) ufskey               -> seq(8) tombstone: a UFS key whose delete is queued
//	's' mount(4) ufskey               -> ino(8): the file whose only copy of its bytes is this
//	                                     UFS key, from before a rename, until its persist
//	'e' when(8) ino(8)                -> (empty) TTL index: inode ino expires at when (unix ns)
//	'm' path                          -> Mount
//	'u' uploadID                      -> multipart upload record (JSON, store/multipart.go)
//	'u' uploadID '/' part(5 digits)   -> one uploaded part's record (JSON)
//
// Names and keys are raw bytes; a name never contains '/' or NUL, which is
// what makes 'd' parent name unambiguous.
const (
	prefixSys       = 'S'
	prefixInode     = 'i'
	prefixDentry    = 'd'
	prefixLink      = 'l'
	prefixXattr     = 'x'
	prefixCache     = 'c'
	prefixTask      = 'q'
	prefixTaskIno   = 'Q'
	prefixTombstone = 't'
	prefixSource    = 's'
	prefixTTL       = 'e'
	prefixMount     = 'm'
	prefixUpload    = 'u'
)

// System keys under prefixSys.
var (
	sysFormat  = []byte{prefixSys, 'f'}
	sysNextIno = []byte{prefixSys, 'i'}
	sysNextSeq = []byte{prefixSys, 'q'}
	sysRun     = []byte{prefixSys, 'r'}
)

// FormatVersion is the layout version written by this code. Open refuses a
// store written by a newer version.
const FormatVersion = 1

func u64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func inodeKey(ino uint64) []byte { return u64([]byte{prefixInode}, ino) }

func dentryPrefix(parent uint64) []byte { return u64([]byte{prefixDentry}, parent) }

func dentryKey(parent uint64, name string) []byte {
	return append(dentryPrefix(parent), name...)
}

func linkPrefix(ino uint64) []byte { return u64([]byte{prefixLink}, ino) }

func linkKey(ino, parent uint64, name string) []byte {
	return append(u64(linkPrefix(ino), parent), name...)
}

func xattrPrefix(ino uint64) []byte { return u64([]byte{prefixXattr}, ino) }

func xattrKey(ino uint64, name string) []byte { return append(xattrPrefix(ino), name...) }

func cacheKey(ino uint64) []byte { return u64([]byte{prefixCache}, ino) }

func taskKey(seq uint64) []byte { return u64([]byte{prefixTask}, seq) }

func taskInoPrefix(ino uint64) []byte { return u64([]byte{prefixTaskIno}, ino) }

func taskInoKey(ino, seq uint64) []byte { return u64(taskInoPrefix(ino), seq) }

func tombstoneKey(mount uint32, key string) []byte {
	b := binary.BigEndian.AppendUint32([]byte{prefixTombstone}, mount)
	return append(b, key...)
}

func sourceKey(mount uint32, key string) []byte {
	b := binary.BigEndian.AppendUint32([]byte{prefixSource}, mount)
	return append(b, key...)
}

func ttlKey(when int64, ino uint64) []byte {
	return u64(u64([]byte{prefixTTL}, uint64(when)), ino)
}

func mountKey(path string) []byte { return append([]byte{prefixMount}, path...) }

func uploadKey(id string) []byte { return append([]byte{prefixUpload}, id...) }

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil // p is all 0xff: no upper bound
}
