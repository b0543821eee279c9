package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hoardfs/hoard/store/cache"
	"github.com/hoardfs/hoard/store/meta"
)

// The object API addresses files by path, as the S3 gateway and the admin
// API do. A put streams into a new cache file and switches the path to it
// atomically at the commit: readers see the old content or the new, never
// a mix, and a put that fails leaves nothing behind.

// PutOptions describe an object put.
type PutOptions struct {
	Cred        Cred
	Mode        uint32 // 0: 0644
	ContentType string
	Meta        map[string]string // lower-case header name -> value
	Tags        map[string]string
	// MD5, when set, is the digest the content must have (Content-MD5).
	MD5 []byte
	// Size, when >= 0, is the exact length the content must have.
	Size int64
	// ETag overrides the computed MD5 ETag (multipart: md5-of-md5s-N).
	ETag string
}

// MkdirAll makes sure directory path exists, creating what is missing.
func (s *Store) MkdirAll(ctx context.Context, path string, cred Cred) (*Inode, error) {
	parts, err := SplitPath(path)
	if err != nil {
		return nil, opErr("mkdir", path, err)
	}
	n, err := s.mkdirAll(ctx, parts, cred)
	return n, opErr("mkdir", path, err)
}

func (s *Store) mkdirAll(ctx context.Context, parts []string, cred Cred) (*Inode, error) {
	cur, err := s.inode(RootIno)
	if err != nil {
		return nil, err
	}
	for _, name := range parts {
		next, err := s.lookup(ctx, cur.Ino, name)
		if errors.Is(err, ErrNotExist) {
			next, err = s.Mkdir(ctx, cur.Ino, name, 0o755, cred)
			if errors.Is(err, ErrExist) {
				next, err = s.lookup(ctx, cur.Ino, name)
			}
		}
		if err != nil {
			return nil, err
		}
		if next.Type != TypeDir {
			return nil, ErrNotDir
		}
		cur = next
	}
	return cur, nil
}

// PutObject writes r as the whole content of the file at path, creating the
// file and its missing parent directories. It returns once the content is
// committed (and, with CACHE_THROUGH or THROUGH, in the UFS).
func (s *Store) PutObject(ctx context.Context, path string, r io.Reader, o PutOptions) (*Inode, error) {
	parts, err := SplitPath(path)
	if err != nil {
		return nil, opErr("put", path, err)
	}
	if len(parts) == 0 {
		return nil, opErr("put", path, ErrIsDir)
	}
	parent, err := s.mkdirAll(ctx, parts[:len(parts)-1], o.Cred)
	if err != nil {
		return nil, opErr("put", path, err)
	}
	name := parts[len(parts)-1]
	if err := s.writable(parent); err != nil {
		return nil, opErr("put", path, err)
	}
	// Stage under the inode number the file will have, so that the commit
	// need not rename the cache file while it holds the namespace lock: the
	// existing file's, or a new one's. If another writer changes the name
	// meanwhile, the commit renames.
	var ino uint64 // 0: a new file
	switch n, err := s.lookup(ctx, parent.Ino, name); {
	case err == nil && n.Type == TypeDir:
		return nil, opErr("put", path, ErrIsDir)
	case err == nil:
		ino = n.Ino
	}
	st, err := s.stage(ctx, r, o, ino)
	if err != nil {
		return nil, opErr("put", path, err)
	}
	n, created, err := s.commitStaged(ctx, parent.Ino, name, st, o)
	if err != nil {
		st.discard(s)
		return nil, opErr("put", path, err)
	}
	if created {
		s.feed.publish(Event{Kind: Created, Ino: n.Ino, Parent: parent.Ino, Name: name, Origin: originOf(ctx)})
	} else {
		s.feed.publish(Event{Kind: Changed, Ino: n.Ino, Origin: originOf(ctx)})
	}
	switch n.WriteType {
	case CacheThrough, Through:
		if err := s.persist.now(ctx, n.Ino); err != nil {
			return nil, opErr("put", path, err)
		}
		if cur, err := s.inode(n.Ino); err == nil {
			n = cur
		}
	default:
		s.persist.kick()
	}
	return n, nil
}

// staged is content written to a new cache file, not yet committed.
type staged struct {
	f        *os.File
	ino, id  uint64 // the file is named for (ino, id)
	freshIno bool   // ino was allocated for this content: a new file may take it
	size     int64
	md5      []byte
	reserved int64
}

func (st *staged) discard(s *Store) {
	st.f.Close()
	os.Remove(st.f.Name())
	s.cache.Release(st.reserved)
}

// stage streams r into a new cache file of inode ino (0: a new inode,
// whose number it allocates), computing its MD5 on the way and reserving
// cache space as it grows.
func (s *Store) stage(ctx context.Context, r io.Reader, o PutOptions, ino uint64) (*staged, error) {
	fresh := ino == 0
	if fresh {
		var err error
		if ino, err = s.db.NewIno(); err != nil {
			return nil, err
		}
	}
	id, err := s.db.NewIno()
	if err != nil {
		return nil, err
	}
	f, err := s.cache.OpenFile(ino, id, true)
	if err != nil {
		return nil, err
	}
	st := &staged{f: f, ino: ino, id: id, freshIno: fresh}
	sum := md5.New()
	buf := s.bufs.get(1 << 20)
	defer s.bufs.put(buf)
	for {
		if err := ctx.Err(); err != nil {
			st.discard(s)
			return nil, err
		}
		n, rerr := readFull(r, buf)
		if n > 0 {
			if err := s.cache.Reserve(int64(n)); err != nil {
				st.discard(s)
				return nil, err
			}
			st.reserved += int64(n)
			sum.Write(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				st.discard(s)
				return nil, fmt.Errorf("write cache: %w", err)
			}
			st.size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			st.discard(s)
			return nil, fmt.Errorf("read body: %w", rerr)
		}
	}
	st.md5 = sum.Sum(nil)
	if o.MD5 != nil && !bytes.Equal(o.MD5, st.md5) {
		st.discard(s)
		return nil, ErrBadDigest
	}
	if o.Size >= 0 && st.size != o.Size {
		st.discard(s)
		return nil, fmt.Errorf("content is %d bytes, %d announced: %w", st.size, o.Size, ErrInvalid)
	}
	if err := f.Sync(); err != nil {
		st.discard(s)
		return nil, fmt.Errorf("sync cache file: %w", err)
	}
	return st, nil
}

// commitStaged makes staged content the content of name in parent.
func (s *Store) commitStaged(ctx context.Context, parent uint64, name string, st *staged, o PutOptions) (*Inode, bool, error) {
	s.treeMu.Lock()
	p, m, perr := s.prepareChild(ctx, parent, name)
	var n *Inode
	created := false
	switch {
	case perr == nil:
		created = true
		ino := st.ino
		if !st.freshIno {
			// Staged under an existing file's number, which lost the name
			// meanwhile: the new file needs a number of its own.
			var err error
			if ino, err = s.db.NewIno(); err != nil {
				s.treeMu.Unlock()
				return nil, false, err
			}
		}
		n = s.newInodeAt(ino, TypeFile, 0o644, o.Cred, p, name)
		if o.Mode != 0 {
			n.Mode = o.Mode & 0o7777
		}
		n.WriteType = s.writeTypeFor(ctx, m)
	case errors.Is(perr, ErrExist):
		de, err := s.db.Lookup(parent, name)
		if err == nil && de.Type != TypeFile {
			err = ErrIsDir
		}
		if err == nil {
			n, err = s.inode(de.Ino)
		}
		if err != nil {
			s.treeMu.Unlock()
			return nil, false, err
		}
		if m, err = s.mounts.get(n.Mount); err != nil {
			s.treeMu.Unlock()
			return nil, false, err
		}
		n.WriteType = s.writeTypeFor(ctx, m)
	default:
		s.treeMu.Unlock()
		return nil, false, perr
	}
	locked := true
	unlock := func() {
		if locked {
			locked = false
			s.treeMu.Unlock()
		}
	}
	defer unlock()
	if st.ino != n.Ino {
		// Staged under a provisional number: give the file its real name.
		dst := s.cache.Path(n.Ino, st.id)
		if err := os.MkdirAll(dirOf(dst), 0o700); err != nil {
			return nil, false, err
		}
		if err := os.Rename(st.f.Name(), dst); err != nil {
			return nil, false, fmt.Errorf("cache: %w", err)
		}
		st.f.Close()
		f, err := os.OpenFile(dst, os.O_RDWR, 0)
		if err != nil {
			return nil, false, fmt.Errorf("cache: %w", err)
		}
		st.f, st.ino = f, n.Ino
	}
	now := nowNs()
	n.Size, n.Mtime, n.Ctime = st.size, now, now
	n.Version++
	n.ETag = hex.EncodeToString(st.md5)
	if o.ETag != "" {
		n.ETag = o.ETag
	}
	n.ContentType, n.Meta, n.Tags = o.ContentType, o.Meta, o.Tags
	n.DataInUFS = false
	n.State = NotPersisted
	bs := s.cache.BlockSize()
	var bm cache.Bitmap
	for i := range nblocks(st.size, bs) {
		bm.Set(i)
	}
	b := s.db.NewBatch("put")
	if err := s.queuePersistLocked(b, n); err != nil {
		b.Discard()
		return nil, false, err
	}
	b.PutInode(n)
	if created {
		b.PutDentry(parent, name, n.Ino, TypeFile)
		b.PutLink(n.Ino, parent, name)
		touchDir(b, p)
	}
	b.PutCacheState(n.Ino, &meta.CacheState{CacheID: st.id, BlockSize: bs, Bitmap: bm})

	// Switch readers: the old cache file goes (open descriptors keep it).
	s.files.Lock()
	fd := s.files.m[n.Ino]
	if fd == nil {
		s.dropCacheFileLocked(n.Ino)
	}
	s.files.Unlock()
	if fd != nil {
		fd.mu.Lock()
		fd.dropCacheLocked()
		fd.f, fd.cacheID, fd.bitmap, fd.durable = st.f, st.id, bm, bm.Clone()
		fd.size, fd.mtime = n.Size, n.Mtime
		fd.dirty, fd.marked, fd.persisted = false, false, false
		fd.src.ok = false
		fd.writeType = n.WriteType
	}
	wait, err := b.CommitAsync()
	if fd != nil {
		fd.mu.Unlock()
	} else {
		st.f.Close()
	}
	if err != nil {
		return nil, false, err
	}
	// Wait for the log without the namespace lock, so that concurrent puts
	// share one write and one sync instead of queueing for one each. A PUT
	// answered 200 is on the disk.
	unlock()
	if err := wait(); err != nil {
		return nil, false, err
	}
	return n, created, s.db.SyncCommitted()
}

// readFull fills buf from r and returns io.EOF only at the end of the
// content. Unlike io.ReadFull it passes r's own errors through as they are:
// a body cut short (io.ErrUnexpectedEOF from net/http) must fail the put,
// not end it.
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "."
}

// OpenPath opens the file at path.
func (s *Store) OpenPath(ctx context.Context, path string, flags int) (*Handle, *Inode, error) {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	h, err := s.openHandle(ctx, n, flags)
	if err != nil {
		return nil, nil, err
	}
	return h, s.overlay(n), nil
}

// ResolveParent resolves the directory of path and returns it with the
// last component.
func (s *Store) ResolveParent(ctx context.Context, path string) (*Inode, string, error) {
	parts, err := SplitPath(path)
	if err != nil {
		return nil, "", opErr("resolve", path, err)
	}
	if len(parts) == 0 {
		return nil, "", opErr("resolve", path, ErrInvalid)
	}
	dir := "/" + strings.Join(parts[:len(parts)-1], "/")
	d, err := s.Resolve(ctx, dir)
	if err != nil {
		return nil, "", err
	}
	if d.Type != TypeDir {
		return nil, "", opErr("resolve", path, ErrNotDir)
	}
	return d, parts[len(parts)-1], nil
}

// Remove removes the file or empty directory at path.
func (s *Store) Remove(ctx context.Context, path string) error {
	d, name, err := s.ResolveParent(ctx, path)
	if err != nil {
		return err
	}
	n, err := s.Lookup(ctx, d.Ino, name)
	if err != nil {
		return err
	}
	if n.Type == TypeDir {
		return s.Rmdir(ctx, d.Ino, name)
	}
	return s.Unlink(ctx, d.Ino, name)
}
