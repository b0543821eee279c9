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
	if n, err := s.lookup(ctx, parent.Ino, name); err == nil && n.Type == TypeDir {
		return nil, opErr("put", path, ErrIsDir)
	}
	st, err := s.stage(ctx, r, o)
	if err != nil {
		return nil, opErr("put", path, err)
	}
	n, replaced, err := s.commitStaged(ctx, parent.Ino, name, st, o)
	if err != nil {
		st.discard(s)
		return nil, opErr("put", path, err)
	}
	s.publishPut(ctx, parent.Ino, name, n, replaced)
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
	ino, id  uint64 // the inode number it is for, and its cache id
	size     int64
	md5      []byte
	reserved int64
}

func (st *staged) discard(s *Store) {
	st.f.Close()
	os.Remove(st.f.Name())
	s.cache.Release(st.reserved)
}

// stage streams r into a new cache file, named for the new inode it will
// be the content of, computing its MD5 on the way and reserving cache space
// as it grows.
func (s *Store) stage(ctx context.Context, r io.Reader, o PutOptions) (*staged, error) {
	ino, err := s.db.NewIno()
	if err != nil {
		return nil, err
	}
	id, err := s.db.NewIno()
	if err != nil {
		return nil, err
	}
	f, err := s.cache.OpenFile(ino, id, true)
	if err != nil {
		return nil, err
	}
	st := &staged{f: f, ino: ino, id: id}
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
			err := s.writeCache(int64(n), func() error { _, err := f.WriteAt(buf[:n], st.size); return err })
			if err != nil {
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

// commitStaged makes staged content the content of name in parent: a new
// file, under the inode number it was staged for. A file already there is
// replaced as rename(2) replaces one, not rewritten: its inode loses the
// name and lives on for whoever has it open (the FUSE mount's passthrough
// handles, a reader half-way through), as S3 makes a new object of every
// PUT. replaced is that file, nil when the name was free.
func (s *Store) commitStaged(ctx context.Context, parent uint64, name string, st *staged, o PutOptions) (n, replaced *Inode, err error) {
	s.treeMu.Lock()
	p, m, perr := s.prepareChild(ctx, parent, name)
	if errors.Is(perr, ErrExist) {
		replaced, perr = s.replaceableLocked(parent, name)
	}
	if perr != nil {
		s.treeMu.Unlock()
		return nil, nil, perr
	}
	n = s.newInodeAt(st.ino, TypeFile, 0o644, o.Cred, p, name)
	if o.Mode != 0 {
		n.Mode = o.Mode & 0o7777
	}
	n.WriteType = s.writeTypeFor(ctx, m)
	locked := true
	unlock := func() {
		if locked {
			locked = false
			s.treeMu.Unlock()
		}
	}
	defer unlock()
	if dst := s.cache.Path(n.Ino, st.id); st.f.Name() != dst {
		// Assembled elsewhere (a multipart upload's parts): move it in.
		if err := os.MkdirAll(dirOf(dst), 0o700); err != nil {
			return nil, nil, err
		}
		if err := os.Rename(st.f.Name(), dst); err != nil {
			return nil, nil, fmt.Errorf("cache: %w", err)
		}
		st.f.Close()
		f, err := os.OpenFile(dst, os.O_RDWR, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("cache: %w", err)
		}
		st.f = f
	}
	n.Size = st.size
	n.Version = 1 // as after a first commit through a handle
	n.ETag = hex.EncodeToString(st.md5)
	if o.ETag != "" {
		n.ETag = o.ETag
	}
	n.ContentType, n.Meta, n.Tags = o.ContentType, o.Meta, o.Tags
	bs := s.cache.BlockSize()
	var bm cache.Bitmap
	for i := range nblocks(st.size, bs) {
		bm.Set(i)
	}
	b := s.db.NewBatch("put")
	if replaced != nil {
		// As a rename over it: the new file takes the old one's UFS key
		// when it is persisted there; when it never will be, the old
		// object must go.
		if n.WriteType == MustCache {
			if err := s.queueDeleteLocked(b, replaced, parent, name); err != nil {
				b.Discard()
				return nil, nil, err
			}
		}
		b.DeleteDentry(parent, name)
		s.dropLinkLocked(b, replaced, parent, name)
	}
	if err := s.queuePersistLocked(b, n); err != nil {
		b.Discard()
		return nil, nil, err
	}
	b.PutInode(n)
	b.PutDentry(parent, name, n.Ino, TypeFile)
	b.PutLink(n.Ino, parent, name)
	touchDir(b, p)
	b.PutCacheState(n.Ino, &meta.CacheState{CacheID: st.id, BlockSize: bs, Bitmap: bm})
	wait, err := b.CommitAsync()
	st.f.Close()
	if err != nil {
		return nil, nil, err
	}
	if replaced != nil && replaced.Nlink == 0 {
		s.forgetIfClosedLocked(replaced.Ino)
	}
	// Wait for the log without the namespace lock, so that concurrent puts
	// share one write and one sync instead of queueing for one each. A PUT
	// answered 200 is on the disk.
	unlock()
	if err := wait(); err != nil {
		return nil, nil, err
	}
	return n, replaced, s.db.SyncCommitted()
}

// replaceableLocked is the file a put to name in parent replaces.
func (s *Store) replaceableLocked(parent uint64, name string) (*Inode, error) {
	de, err := s.db.Lookup(parent, name)
	if err != nil {
		return nil, err
	}
	if de.Type != TypeFile {
		return nil, ErrIsDir
	}
	return s.inode(de.Ino)
}

// publishPut tells the change feed what a put did: a new file, or a new
// file in place of another (Removed, then Created, as for a rename over
// it: the kernel must drop the old inode's name, not its pages).
func (s *Store) publishPut(ctx context.Context, parent uint64, name string, n, replaced *Inode) {
	if replaced != nil {
		s.feed.publish(Event{Kind: Removed, Ino: replaced.Ino, Parent: parent, Name: name, Origin: originOf(ctx)})
	}
	s.feed.publish(Event{Kind: Created, Ino: n.Ino, Parent: parent, Name: name, Origin: originOf(ctx)})
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
