package meta

import (
	"reflect"
	"testing"
)

// FuzzDecodeInode: no record, however damaged, makes the decoder panic, and
// every record the encoder writes decodes to the same inode.
func FuzzDecodeInode(f *testing.F) {
	n := &Inode{Ino: 7, Type: TypeFile, Mode: 0o644, Name: "x", Size: 12, Meta: map[string]string{"a": "b"}, UFS: Fingerprint{Key: "d/x", ETag: "e"}}
	f.Add(n.Encode())
	f.Add([]byte{inodeRecordVersion})
	f.Add([]byte{inodeRecordVersion, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeInode(b)
		if err != nil {
			return
		}
		again, err := DecodeInode(got.Encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(again)) {
			t.Fatalf("round trip: %+v != %+v", got, again)
		}
	})
}

func normalize(n *Inode) *Inode {
	c := n.Clone()
	if len(c.Meta) == 0 {
		c.Meta = nil
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return c
}

func TestInodeRoundTrip(t *testing.T) {
	n := &Inode{Ino: 1 << 40, Gen: 3, Type: TypeSymlink, Mode: 0o4755, Uid: 1, Gid: 2, Owner: "o", Group: "g",
		Nlink: 2, Size: -1, Atime: -5, Mtime: 6, Ctime: 7, Target: "t", Parent: 9, Name: "n", Mount: 3,
		Version: 4, State: ToBePersisted, WriteType: Through, UFS: Fingerprint{"k", "e", 5, 6}, DataInUFS: true,
		ETag: "et", ContentType: "ct", Meta: map[string]string{"x": "y"}, Tags: map[string]string{"t": "v"},
		Pinned: true, SyncedAt: 8, Crtime: 9}
	got, err := DecodeInode(n.Encode())
	if err != nil || !reflect.DeepEqual(got, n) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}

// FuzzDecodeCacheState: any bytes decode to an error or to a record that
// encodes back to the same record; records from before Unsynced existed
// decode with it false.
func FuzzDecodeCacheState(f *testing.F) {
	f.Add((&CacheState{CacheID: 9, BlockSize: 4 << 20, Bitmap: []byte{0xff, 1}, Dirty: true, Unsynced: true}).encode())
	old := (&CacheState{CacheID: 9, BlockSize: 4 << 20, Bitmap: []byte{3}}).encode()
	f.Add(old[:len(old)-1]) // without the Unsynced byte
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeCacheState(b)
		if err != nil {
			return
		}
		again, err := decodeCacheState(got.encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip: %+v != %+v", got, again)
		}
	})
}

// FuzzDecodeMount: any bytes decode to a mount record or an error, and a
// record decoded re-encodes to itself.
func FuzzDecodeMount(f *testing.F) {
	m := &Mount{ID: 3, URI: "oss://b/d", Options: map[string]string{"fs.oss.endpoint": "e"}, ReadOnly: true,
		WriteType: CacheThrough, Created: 42, ReadType: 3}
	f.Add(m.encode())
	old := m.encode()
	f.Add(old[:len(old)-1]) // without the read type, as before mounts had one
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeMount("/m", b)
		if err != nil {
			return
		}
		again, err := decodeMount("/m", got.encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip: %+v != %+v", got, again)
		}
	})
}

func TestCacheStateFromBeforeUnsynced(t *testing.T) {
	b := (&CacheState{CacheID: 9, BlockSize: 64, Bitmap: []byte{3}, Dirty: true, Unsynced: true}).encode()
	old, err := decodeCacheState(b[:len(b)-1])
	if err != nil || old.Unsynced || !old.Dirty || old.CacheID != 9 {
		t.Fatalf("a record without the Unsynced byte: %+v, %v", old, err)
	}
	cur, err := decodeCacheState(b)
	if err != nil || !cur.Unsynced {
		t.Fatalf("a record with it: %+v, %v", cur, err)
	}
}

// TestMountRecord round-trips a mount record, and decodes one written
// before mounts had a read type (it ends after Created).
func TestMountRecord(t *testing.T) {
	m := &Mount{ID: 7, Path: "/oss", URI: "oss://b/d", Options: map[string]string{"fs.oss.endpoint": "e"},
		ReadOnly: true, WriteType: CacheThrough, Created: 123, ReadType: 3}
	got, err := decodeMount("/oss", m.encode())
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip: %+v %v, want %+v", got, err, m)
	}
	old := *m
	old.ReadType = 0
	b := old.encode()
	got, err = decodeMount("/oss", b[:len(b)-1]) // the old format: no read type byte
	if err != nil || !reflect.DeepEqual(got, &old) {
		t.Fatalf("old record: %+v %v, want %+v", got, err, &old)
	}
}
