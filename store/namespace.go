package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store/meta"
)

func nowNs() int64 { return time.Now().UnixNano() }

func where(parent uint64, name string) string { return fmt.Sprintf("ino %d/%s", parent, name) }

func inoStr(ino uint64) string { return fmt.Sprintf("ino %d", ino) }

// inode reads inode ino; a missing inode is ErrStale (it vanished behind the
// caller's back).
func (s *Store) inode(ino uint64) (*Inode, error) {
	n, err := s.db.Inode(ino)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, fmt.Errorf("inode %d: %w", ino, ErrStale)
	}
	return n, err
}

// dirInode reads inode ino and checks that it is a directory.
func (s *Store) dirInode(ino uint64) (*Inode, error) {
	n, err := s.inode(ino)
	if err != nil {
		return nil, err
	}
	if n.Type != TypeDir {
		return nil, ErrNotDir
	}
	return n, nil
}

// overlay applies the state of an open file that is newer than its record:
// uncommitted writes change size and mtime before the commit.
func (s *Store) overlay(n *Inode) *Inode {
	if n.Type != TypeFile {
		return n
	}
	s.files.Lock()
	fd := s.files.m[n.Ino]
	s.files.Unlock()
	if fd != nil {
		// An open file's size and mtime are the fileData's: it is updated
		// with every write and commit, while the record read above may
		// predate a commit that ran since.
		fd.mu.Lock()
		fd.refreshLocked()
		n.Size, n.Mtime = fd.size, fd.mtime
		fd.mu.Unlock()
	}
	return n
}

// GetAttr returns the attributes of inode ino.
func (s *Store) GetAttr(ctx context.Context, ino uint64) (*Inode, error) {
	n, err := s.inode(ino)
	if err != nil {
		return nil, opErr("getattr", inoStr(ino), err)
	}
	return s.overlay(n), nil
}

// Lookup finds name in directory parent, merging the directory with its UFS
// listing first when that is due.
func (s *Store) Lookup(ctx context.Context, parent uint64, name string) (*Inode, error) {
	if err := checkName(name); err != nil {
		return nil, opErr("lookup", where(parent, name), err)
	}
	n, err := s.lookup(ctx, parent, name)
	if err != nil {
		return nil, opErr("lookup", where(parent, name), err)
	}
	return s.overlay(n), nil
}

func (s *Store) lookup(ctx context.Context, parent uint64, name string) (*Inode, error) {
	d, err := s.dirInode(parent)
	if err != nil {
		return nil, err
	}
	return s.lookupIn(ctx, d, name)
}

// lookupIn is lookup in directory d, read by the caller: a path walk reads
// each directory once, as the child of the step before.
func (s *Store) lookupIn(ctx context.Context, d *Inode, name string) (*Inode, error) {
	if d.Type != TypeDir {
		return nil, ErrNotDir
	}
	if err := s.ensureSyncedDir(ctx, d); err != nil {
		return nil, err
	}
	de, err := s.db.Lookup(d.Ino, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	return s.inode(de.Ino)
}

// Resolve walks an absolute path from the root.
func (s *Store) Resolve(ctx context.Context, path string) (*Inode, error) {
	parts, err := SplitPath(path)
	if err != nil {
		return nil, opErr("resolve", path, err)
	}
	n, err := s.inode(RootIno)
	if err != nil {
		return nil, opErr("resolve", path, err)
	}
	for _, p := range parts {
		if n, err = s.lookupIn(ctx, n, p); err != nil {
			return nil, opErr("resolve", path, err)
		}
	}
	return s.overlay(n), nil
}

// SetAttrIn says which attributes to change; nil fields stay.
type SetAttrIn struct {
	Mode         *uint32 // permission bits including setuid/setgid/sticky
	Uid, Gid     *uint32
	Owner, Group *string
	Size         *int64
	Atime, Mtime *time.Time
}

// SetAttr changes attributes of inode ino. A size change truncates (or
// extends with zeros) and is a commit point.
func (s *Store) SetAttr(ctx context.Context, ino uint64, in SetAttrIn) (*Inode, error) {
	if in.Size != nil {
		if err := s.truncate(ctx, ino, *in.Size); err != nil {
			return nil, opErr("truncate", inoStr(ino), err)
		}
	}
	s.treeMu.Lock()
	n, err := s.inode(ino)
	if err != nil {
		s.treeMu.Unlock()
		return nil, opErr("setattr", inoStr(ino), err)
	}
	if err := s.writable(n); err != nil && (in.Mode != nil || in.Uid != nil || in.Gid != nil) {
		s.treeMu.Unlock()
		return nil, opErr("setattr", inoStr(ino), err)
	}
	changed := false
	if in.Mode != nil {
		n.Mode = *in.Mode & 0o7777
		changed = true
	}
	if in.Uid != nil {
		n.Uid, n.Owner = *in.Uid, s.names.user(*in.Uid)
		changed = true
	}
	if in.Gid != nil {
		n.Gid, n.Group = *in.Gid, s.names.group(*in.Gid)
		changed = true
	}
	if in.Owner != nil {
		n.Owner, changed = *in.Owner, true
	}
	if in.Group != nil {
		n.Group, changed = *in.Group, true
	}
	if in.Atime != nil {
		n.Atime, changed = in.Atime.UnixNano(), true
	}
	if in.Mtime != nil {
		n.Mtime, changed = in.Mtime.UnixNano(), true
	}
	if changed {
		n.Ctime = nowNs()
		b := s.db.NewBatch("setattr")
		b.PutInode(n)
		if err := b.Commit(false); err != nil {
			s.treeMu.Unlock()
			return nil, opErr("setattr", inoStr(ino), err)
		}
	}
	if in.Mtime != nil {
		// After the commit: a file opened before it has the old mtime and
		// gets the new one here; one opened after reads the new record.
		s.setOpenMtime(ino, n.Mtime)
	}
	s.treeMu.Unlock()
	if changed {
		s.feed.publish(Event{Kind: Changed, Ino: ino, Origin: originOf(ctx)})
	}
	return s.overlay(n), nil
}

// writable checks that inode n may be changed: its mount is not read-only.
func (s *Store) writable(n *Inode) error {
	m, err := s.mounts.get(n.Mount)
	if err != nil {
		return err
	}
	if m.ReadOnly {
		return ErrReadOnly
	}
	return nil
}

// prepareChild checks that name can be added to directory parent and
// returns the parent and its mount. Called with treeMu held.
func (s *Store) prepareChild(ctx context.Context, parent uint64, name string) (*Inode, *mountEntry, error) {
	if err := checkName(name); err != nil {
		return nil, nil, err
	}
	p, err := s.dirInode(parent)
	if err != nil {
		return nil, nil, err
	}
	if p.Nlink == 0 {
		return nil, nil, ErrNotExist // removed directory
	}
	if err := s.writable(p); err != nil {
		return nil, nil, err
	}
	m, err := s.mounts.get(p.Mount)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.db.Lookup(parent, name); err == nil {
		return p, m, ErrExist // the directory's all the same, for a caller that replaces
	} else if !errors.Is(err, meta.ErrNotFound) {
		return nil, nil, err
	}
	return p, m, nil
}

func (s *Store) newInode(t FileType, mode uint32, cred Cred, parent *Inode, name string) (*Inode, error) {
	ino, err := s.db.NewIno()
	if err != nil {
		return nil, err
	}
	return s.newInodeAt(ino, t, mode, cred, parent, name), nil
}

// newInodeAt is newInode with the number already allocated.
func (s *Store) newInodeAt(ino uint64, t FileType, mode uint32, cred Cred, parent *Inode, name string) *Inode {
	cred = s.fillCred(cred)
	now := nowNs()
	n := &Inode{
		Ino: ino, Gen: 1, Type: t, Mode: mode & 0o7777,
		Uid: cred.Uid, Gid: cred.Gid, Owner: cred.Owner, Group: cred.Group,
		Nlink: 1, Atime: now, Mtime: now, Ctime: now, Crtime: now,
		Parent: parent.Ino, Name: name, Mount: parent.Mount, State: NotPersisted,
	}
	if t == TypeDir {
		n.Nlink = 2
	}
	return n
}

// touchDir updates a directory's mtime and ctime in batch b.
func touchDir(b *meta.Batch, d *Inode) {
	d.Mtime = nowNs()
	d.Ctime = d.Mtime
	b.PutInode(d)
}

// Mkdir creates directory name in parent.
func (s *Store) Mkdir(ctx context.Context, parent uint64, name string, mode uint32, cred Cred) (*Inode, error) {
	if err := s.ensureSynced(ctx, parent); err != nil {
		return nil, opErr("mkdir", where(parent, name), err)
	}
	s.treeMu.Lock()
	n, err := s.mkdirLocked(ctx, parent, name, mode, cred)
	s.treeMu.Unlock()
	if err != nil {
		return nil, opErr("mkdir", where(parent, name), err)
	}
	s.feed.publish(Event{Kind: Created, Ino: n.Ino, Parent: parent, Name: name, Origin: originOf(ctx)})
	s.persist.kick()
	return n, nil
}

func (s *Store) mkdirLocked(ctx context.Context, parent uint64, name string, mode uint32, cred Cred) (*Inode, error) {
	p, m, err := s.prepareChild(ctx, parent, name)
	if err != nil {
		return nil, err
	}
	n, err := s.newInode(TypeDir, mode, cred, p, name)
	if err != nil {
		return nil, err
	}
	n.SyncedAt = nowNs() // new: nothing under it in the UFS to merge
	n.WriteType = s.writeTypeFor(ctx, m)
	b := s.db.NewBatch("mkdir")
	if n.WriteType != MustCache {
		n.State = ToBePersisted
		if err := b.AddTask(&meta.Task{Kind: meta.TaskMarker, Ino: n.Ino, Mount: n.Mount}); err != nil {
			b.Discard()
			return nil, err
		}
	}
	b.PutInode(n)
	b.PutDentry(parent, name, n.Ino, TypeDir)
	p.Nlink++
	touchDir(b, p)
	if err := b.Commit(false); err != nil {
		return nil, err
	}
	return n, nil
}

// Create makes a new regular file and opens it. flags are os.O_* flags;
// with O_EXCL an existing name is ErrExist, without it the existing file is
// opened instead (and truncated with O_TRUNC).
func (s *Store) Create(ctx context.Context, parent uint64, name string, mode uint32, cred Cred, flags int) (*Inode, *Handle, error) {
	if err := s.ensureSynced(ctx, parent); err != nil {
		return nil, nil, opErr("create", where(parent, name), err)
	}
	s.treeMu.Lock()
	p, m, err := s.prepareChild(ctx, parent, name)
	if errors.Is(err, ErrExist) && flags&oExcl == 0 {
		de, lerr := s.db.Lookup(parent, name)
		s.treeMu.Unlock()
		if lerr != nil {
			return nil, nil, opErr("create", where(parent, name), lerr)
		}
		if de.Type == TypeDir {
			return nil, nil, opErr("create", where(parent, name), ErrIsDir)
		}
		h, err := s.Open(ctx, de.Ino, flags)
		if err != nil {
			return nil, nil, err
		}
		n, err := s.GetAttr(ctx, de.Ino)
		if err != nil {
			h.Release(ctx)
			return nil, nil, err
		}
		return n, h, nil
	}
	if err != nil {
		s.treeMu.Unlock()
		return nil, nil, opErr("create", where(parent, name), err)
	}
	n, err := s.newInode(TypeFile, mode, cred, p, name)
	if err != nil {
		s.treeMu.Unlock()
		return nil, nil, opErr("create", where(parent, name), err)
	}
	n.WriteType = s.writeTypeFor(ctx, m)
	b := s.db.NewBatch("create")
	b.PutInode(n)
	b.PutDentry(parent, name, n.Ino, TypeFile)
	b.PutLink(n.Ino, parent, name)
	touchDir(b, p)
	if err := b.Commit(false); err != nil {
		s.treeMu.Unlock()
		return nil, nil, opErr("create", where(parent, name), err)
	}
	s.treeMu.Unlock()
	s.feed.publish(Event{Kind: Created, Ino: n.Ino, Parent: parent, Name: name, Origin: originOf(ctx)})
	// A new file is empty already: O_TRUNC must not touch its times.
	h, err := s.openHandle(ctx, n, flags&^oTrunc)
	if err != nil {
		return nil, nil, err
	}
	// A new file is a change to commit even if nothing is written: the
	// empty object must reach the UFS.
	h.fd.mu.Lock()
	h.fd.markDirtyLocked()
	h.fd.mu.Unlock()
	return n, h, nil
}

// Symlink creates a symbolic link. Object stores have no symlinks, so links
// live in the metadata only and are never persisted.
func (s *Store) Symlink(ctx context.Context, parent uint64, name, target string, cred Cred) (*Inode, error) {
	// A target is a C string to every reader of the link: a NUL would
	// cut it short.
	if target == "" || len(target) > 4095 || strings.IndexByte(target, 0) >= 0 {
		return nil, opErr("symlink", where(parent, name), ErrInvalid)
	}
	if err := s.ensureSynced(ctx, parent); err != nil {
		return nil, opErr("symlink", where(parent, name), err)
	}
	s.treeMu.Lock()
	p, _, err := s.prepareChild(ctx, parent, name)
	if err != nil {
		s.treeMu.Unlock()
		return nil, opErr("symlink", where(parent, name), err)
	}
	n, err := s.newInode(TypeSymlink, 0o777, cred, p, name)
	if err != nil {
		s.treeMu.Unlock()
		return nil, opErr("symlink", where(parent, name), err)
	}
	n.Target, n.Size = target, int64(len(target))
	b := s.db.NewBatch("symlink")
	b.PutInode(n)
	b.PutDentry(parent, name, n.Ino, TypeSymlink)
	touchDir(b, p)
	err = b.Commit(false)
	s.treeMu.Unlock()
	if err != nil {
		return nil, opErr("symlink", where(parent, name), err)
	}
	s.feed.publish(Event{Kind: Created, Ino: n.Ino, Parent: parent, Name: name, Origin: originOf(ctx)})
	return n, nil
}

// Readlink returns a symlink's target.
func (s *Store) Readlink(ctx context.Context, ino uint64) (string, error) {
	n, err := s.inode(ino)
	if err != nil {
		return "", opErr("readlink", inoStr(ino), err)
	}
	if n.Type != TypeSymlink {
		return "", opErr("readlink", inoStr(ino), ErrInvalid)
	}
	return n.Target, nil
}

// Link adds the name newName in newParent for file ino (a hard link). Each
// link is persisted as its own object.
func (s *Store) Link(ctx context.Context, ino, newParent uint64, newName string) (*Inode, error) {
	if err := s.ensureSynced(ctx, newParent); err != nil {
		return nil, opErr("link", where(newParent, newName), err)
	}
	s.treeMu.Lock()
	n, err := s.linkLocked(ctx, ino, newParent, newName)
	s.treeMu.Unlock()
	if err != nil {
		return nil, opErr("link", where(newParent, newName), err)
	}
	s.feed.publish(Event{Kind: Created, Ino: ino, Parent: newParent, Name: newName, Origin: originOf(ctx)},
		Event{Kind: Changed, Ino: ino, Origin: originOf(ctx)})
	s.persist.kick()
	return s.overlay(n), nil
}

func (s *Store) linkLocked(ctx context.Context, ino, newParent uint64, newName string) (*Inode, error) {
	n, err := s.inode(ino)
	if err != nil {
		return nil, err
	}
	if n.Type == TypeDir {
		return nil, ErrPerm
	}
	if n.Nlink == 0 {
		return nil, ErrNotExist
	}
	p, _, err := s.prepareChild(ctx, newParent, newName)
	if err != nil {
		return nil, err
	}
	if p.Mount != n.Mount {
		return nil, ErrCrossMount
	}
	n.Nlink++
	n.Ctime = nowNs()
	b := s.db.NewBatch("link")
	b.PutDentry(newParent, newName, ino, n.Type)
	if n.Type == TypeFile {
		b.PutLink(ino, newParent, newName)
		if err := s.queuePersistLocked(b, n); err != nil {
			b.Discard()
			return nil, err
		}
	}
	b.PutInode(n)
	touchDir(b, p)
	return n, b.Commit(false)
}

// queuePersistLocked queues the upload of file n's current content to every
// link's key, unless it is never to be persisted.
func (s *Store) queuePersistLocked(b *meta.Batch, n *Inode) error {
	if n.Type != TypeFile || n.WriteType == MustCache {
		return nil
	}
	n.State = ToBePersisted
	return b.AddTask(&meta.Task{Kind: meta.TaskPersist, Ino: n.Ino, Version: n.Version, Mount: n.Mount})
}

// queueDeleteLocked queues the removal of the UFS object that the entry
// name in parent had, when it may be in the UFS. The delete waits for the
// tasks queued before it for the same inode (a persist that copies from the
// old key).
func (s *Store) queueDeleteLocked(b *meta.Batch, n *Inode, parent uint64, name string) error {
	if n.Type == TypeSymlink || (n.WriteType == MustCache && !n.DataInUFS && n.Type == TypeFile) {
		return nil
	}
	if n.Type == TypeDir && n.WriteType == MustCache && n.State != Persisted {
		return nil
	}
	m, err := s.mounts.get(n.Mount)
	if err != nil {
		return err
	}
	if m.ReadOnly {
		return nil
	}
	key, err := s.ufsKey(m, parent, name, n.Type == TypeDir)
	if err != nil {
		return err
	}
	if key == "" || key == "/" {
		return nil
	}
	return b.AddTask(&meta.Task{Kind: meta.TaskDelete, Ino: n.Ino, Mount: n.Mount, Key: key})
}

// Unlink removes the name of a file or symlink. The file's data stays
// readable through handles that are open until they are released.
func (s *Store) Unlink(ctx context.Context, parent uint64, name string) error {
	if err := checkName(name); err != nil {
		return opErr("unlink", where(parent, name), err)
	}
	if err := s.ensureSynced(ctx, parent); err != nil {
		return opErr("unlink", where(parent, name), err)
	}
	s.treeMu.Lock()
	n, err := s.unlinkLocked(ctx, parent, name)
	s.treeMu.Unlock()
	if err != nil {
		return opErr("unlink", where(parent, name), err)
	}
	s.feed.publish(Event{Kind: Removed, Ino: n.Ino, Parent: parent, Name: name, Origin: originOf(ctx)})
	s.persist.kick()
	return nil
}

func (s *Store) unlinkLocked(ctx context.Context, parent uint64, name string) (*Inode, error) {
	p, err := s.dirInode(parent)
	if err != nil {
		return nil, err
	}
	if err := s.writable(p); err != nil {
		return nil, err
	}
	de, err := s.db.Lookup(parent, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	if de.Type == TypeDir {
		return nil, ErrIsDir
	}
	n, err := s.inode(de.Ino)
	if err != nil {
		return nil, err
	}
	b := s.db.NewBatch("unlink")
	if err := s.queueDeleteLocked(b, n, parent, name); err != nil {
		b.Discard()
		return nil, err
	}
	b.DeleteDentry(parent, name)
	touchDir(b, p)
	s.dropLinkLocked(b, n, parent, name)
	if err := b.Commit(false); err != nil {
		return nil, err
	}
	if n.Nlink == 0 {
		s.forgetIfClosedLocked(n.Ino)
	}
	return n, nil
}

// dropLinkLocked removes one link of n in batch b. When it was the last
// one, the caller calls forgetIfClosedLocked after the commit: the inode
// goes unless a handle holds it open.
func (s *Store) dropLinkLocked(b *meta.Batch, n *Inode, parent uint64, name string) {
	b.DeleteLink(n.Ino, parent, name)
	n.Nlink--
	n.Ctime = nowNs()
	if n.Parent == parent && n.Name == name {
		// Make another link the first one, so that pathOf keeps working.
		n.Parent, n.Name = 0, ""
		for _, l := range s.db.Links(n.Ino) {
			if l.Parent != parent || l.Name != name {
				n.Parent, n.Name = l.Parent, l.Name
				break
			}
		}
	}
	b.PutInode(n)
}

// Rmdir removes an empty directory.
func (s *Store) Rmdir(ctx context.Context, parent uint64, name string) error {
	if err := checkName(name); err != nil {
		return opErr("rmdir", where(parent, name), err)
	}
	if err := s.ensureSynced(ctx, parent); err != nil {
		return opErr("rmdir", where(parent, name), err)
	}
	// The directory may have children in the UFS that were never listed.
	if de, err := s.db.Lookup(parent, name); err == nil && de.Type == TypeDir {
		if err := s.ensureSynced(ctx, de.Ino); err != nil {
			return opErr("rmdir", where(parent, name), err)
		}
	}
	s.treeMu.Lock()
	n, err := s.rmdirLocked(ctx, parent, name)
	s.treeMu.Unlock()
	if err != nil {
		return opErr("rmdir", where(parent, name), err)
	}
	s.feed.publish(Event{Kind: Removed, Ino: n.Ino, Parent: parent, Name: name, Origin: originOf(ctx)})
	s.persist.kick()
	return nil
}

func (s *Store) rmdirLocked(ctx context.Context, parent uint64, name string) (*Inode, error) {
	p, err := s.dirInode(parent)
	if err != nil {
		return nil, err
	}
	de, err := s.db.Lookup(parent, name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	if de.Type != TypeDir {
		return nil, ErrNotDir
	}
	n, err := s.inode(de.Ino)
	if err != nil {
		return nil, err
	}
	if err := s.writable(n); err != nil {
		return nil, err
	}
	if n.Mount != p.Mount {
		return nil, fmt.Errorf("%s is a mount point: unmount it first: %w", name, ErrPerm)
	}
	if s.db.HasChildren(n.Ino) {
		return nil, ErrNotEmpty
	}
	b := s.db.NewBatch("rmdir")
	if err := s.queueDeleteLocked(b, n, parent, name); err != nil {
		b.Discard()
		return nil, err
	}
	b.DeleteDentry(parent, name)
	b.DeleteInode(n.Ino)
	p.Nlink--
	touchDir(b, p)
	return n, b.Commit(false)
}

// DirEntry is one entry of a directory listing.
type DirEntry struct {
	Name string
	Ino  uint64
	Type FileType
}

// ReadDir streams the entries of directory ino in name order, starting after
// the name after ("" from the beginning). The directory is merged with its
// UFS listing first when that is due. Entries stream from a pebble iterator,
// so a directory of any size is listed in bounded memory.
func (s *Store) ReadDir(ctx context.Context, ino uint64, after string) iter.Seq2[DirEntry, error] {
	return func(yield func(DirEntry, error) bool) {
		if _, err := s.dirInode(ino); err != nil {
			yield(DirEntry{}, opErr("readdir", inoStr(ino), err))
			return
		}
		if after == "" {
			if err := s.ensureSynced(ctx, ino); err != nil {
				yield(DirEntry{}, opErr("readdir", inoStr(ino), err))
				return
			}
		}
		for de, err := range s.db.Dentries(ino, after) {
			if err != nil {
				yield(DirEntry{}, opErr("readdir", inoStr(ino), err))
				return
			}
			if !yield(DirEntry{Name: de.Name, Ino: de.Ino, Type: de.Type}, nil) {
				return
			}
		}
	}
}

// Xattr flags, as in setxattr(2).
const (
	XattrCreate  = 1
	XattrReplace = 2
)

// GetXattr reads an extended attribute.
func (s *Store) GetXattr(ctx context.Context, ino uint64, name string) ([]byte, error) {
	v, err := s.db.Xattr(ino, name)
	if errors.Is(err, meta.ErrNotFound) {
		if _, ierr := s.inode(ino); ierr != nil {
			return nil, opErr("getxattr", inoStr(ino), ierr)
		}
		return nil, opErr("getxattr", inoStr(ino)+" "+name, ErrNoAttr)
	}
	return v, opErr("getxattr", inoStr(ino), err)
}

// ListXattr lists extended attribute names.
func (s *Store) ListXattr(ctx context.Context, ino uint64) ([]string, error) {
	if _, err := s.inode(ino); err != nil {
		return nil, opErr("listxattr", inoStr(ino), err)
	}
	return s.db.Xattrs(ino), nil
}

// SetXattr sets an extended attribute; flags as in setxattr(2).
func (s *Store) SetXattr(ctx context.Context, ino uint64, name string, value []byte, flags int) error {
	if name == "" || len(name) > 255 {
		return opErr("setxattr", inoStr(ino), ErrRange)
	}
	if len(value) > 64<<10 {
		return opErr("setxattr", inoStr(ino), ErrTooBig)
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	n, err := s.inode(ino)
	if err != nil {
		return opErr("setxattr", inoStr(ino), err)
	}
	if err := s.writable(n); err != nil {
		return opErr("setxattr", inoStr(ino), err)
	}
	_, gerr := s.db.Xattr(ino, name)
	exists := gerr == nil
	if flags&XattrCreate != 0 && exists {
		return opErr("setxattr", inoStr(ino)+" "+name, ErrExist)
	}
	if flags&XattrReplace != 0 && !exists {
		return opErr("setxattr", inoStr(ino)+" "+name, ErrNoAttr)
	}
	b := s.db.NewBatch("setxattr")
	b.PutXattr(ino, name, value)
	n.Ctime = nowNs()
	b.PutInode(n)
	if err := b.Commit(false); err != nil {
		return opErr("setxattr", inoStr(ino), err)
	}
	s.feed.publish(Event{Kind: Changed, Ino: ino, Origin: originOf(ctx)})
	return nil
}

// RemoveXattr removes an extended attribute.
func (s *Store) RemoveXattr(ctx context.Context, ino uint64, name string) error {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	n, err := s.inode(ino)
	if err != nil {
		return opErr("removexattr", inoStr(ino), err)
	}
	if err := s.writable(n); err != nil {
		return opErr("removexattr", inoStr(ino), err)
	}
	if _, err := s.db.Xattr(ino, name); err != nil {
		return opErr("removexattr", inoStr(ino)+" "+name, ErrNoAttr)
	}
	b := s.db.NewBatch("removexattr")
	b.DeleteXattr(ino, name)
	n.Ctime = nowNs()
	b.PutInode(n)
	if err := b.Commit(false); err != nil {
		return opErr("removexattr", inoStr(ino), err)
	}
	s.feed.publish(Event{Kind: Changed, Ino: ino, Origin: originOf(ctx)})
	return nil
}

// SyncMeta makes every namespace change made so far durable (fsyncdir).
func (s *Store) SyncMeta() error {
	return s.db.Sync()
}

// StatFS describes the capacity of the namespace, from the cache quota.
type StatFS struct {
	Blocks, Bfree uint64 // in units of BlockSize
	BlockSize     uint32
	Files, Ffree  uint64
	NameLen       uint32
}

// StatFS reports the cache quota as the file system's size.
func (s *Store) StatFS() StatFS {
	st := s.cache.Stats()
	const bs = 4096
	free := st.Capacity - st.Pinned
	if free < 0 {
		free = 0
	}
	return StatFS{
		Blocks: uint64(st.Capacity / bs), Bfree: uint64(free / bs), BlockSize: bs,
		Files: 1 << 40, Ffree: 1<<40 - 1, NameLen: MaxNameLen,
	}
}
