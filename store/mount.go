package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store/meta"
	"github.com/hoardfs/hoard/ufs"
)

// MountOptions describe a nested mount.
type MountOptions struct {
	// Options are the UFS's own keys (fs.oss.*, fs.s3.*); they override
	// the daemon's for this mount only.
	Options   map[string]string
	ReadOnly  bool
	WriteType WriteType // 0: the daemon's default
	ReadType  ReadType  // 0: the daemon's default
}

// MountInfo is one entry of the mount table, safe to show: option values
// that are secrets are masked.
type MountInfo struct {
	ID        uint32
	Path      string
	URI       string
	Options   map[string]string
	ReadOnly  bool
	WriteType string
	ReadType  string
	Pending   int // persist tasks still queued for it
}

// Mount attaches the UFS at uri to the namespace at path, which must be a
// new or empty directory directly under the root mount (a mount cannot
// nest in another nested mount). The mount table lives in pebble and is
// reopened at start.
func (s *Store) Mount(ctx context.Context, path, uri string, o MountOptions) error {
	parts, err := SplitPath(path)
	if err != nil {
		return opErr("mount", path, err)
	}
	if len(parts) == 0 {
		return opErr("mount", path, fmt.Errorf("the root is mounted by hoard.root.ufs: %w", ErrInvalid))
	}
	if s.opts.OpenUFS == nil {
		return opErr("mount", path, fmt.Errorf("no UFS opener configured: %w", ErrInvalid))
	}
	parent, err := s.Resolve(ctx, "/"+strings.Join(parts[:len(parts)-1], "/"))
	if err != nil {
		return opErr("mount", path, err)
	}
	if parent.Type != TypeDir {
		return opErr("mount", path, ErrNotDir)
	}
	if parent.Mount != RootMount {
		return opErr("mount", path, fmt.Errorf("inside mount %s: mounts do not nest: %w", s.mountPath(parent.Mount), ErrInvalid))
	}
	name := parts[len(parts)-1]
	overlap := func() error {
		if m := s.mounts.overlapping(uri, o.Options); m != nil {
			return fmt.Errorf("%s overlaps %s, mounted at %s: two mounts would own the same objects: %w",
				uri, m.URI, m.Path, ErrInvalid)
		}
		return nil
	}
	if err := overlap(); err != nil {
		return opErr("mount", path, err)
	}
	u, err := s.opts.OpenUFS(ctx, uri, o.Options)
	if err != nil {
		// A store that cannot be reached now is EIO; anything else is
		// bad input (URI, options, credentials, bucket).
		kind := ErrInvalid
		if ufs.IsRetryable(err) {
			kind = ErrIO
		}
		return opErr("mount", path, fmt.Errorf("%w (%w)", err, kind))
	}
	if err := s.ensureSynced(ctx, parent.Ino); err != nil {
		u.Close()
		return opErr("mount", path, err)
	}

	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	b := s.db.NewBatch("mount")
	fail := func(err error) error { b.Discard(); u.Close(); return opErr("mount", path, err) }
	if err := overlap(); err != nil { // a mount made while this one opened its UFS
		return fail(err)
	}
	var dir *Inode
	switch de, err := s.db.Lookup(parent.Ino, name); {
	case errors.Is(err, meta.ErrNotFound):
		if dir, err = s.newInode(TypeDir, 0o755, Cred{}, parent, name); err != nil {
			return fail(err)
		}
		b.PutDentry(parent.Ino, name, dir.Ino, TypeDir)
		parent.Nlink++
		touchDir(b, parent)
	case err != nil:
		return fail(err)
	case de.Type != TypeDir:
		return fail(fmt.Errorf("%s is not a directory: %w", path, ErrNotDir))
	default:
		if s.db.HasChildren(de.Ino) {
			return fail(fmt.Errorf("%s is not empty: %w", path, ErrNotEmpty))
		}
		if dir, err = s.inode(de.Ino); err != nil {
			return fail(err)
		}
		if dir.Mount != parent.Mount {
			return fail(fmt.Errorf("%s is a mount point already: %w", path, ErrExist))
		}
	}
	id := s.mounts.nextID()
	m := &meta.Mount{ID: id, Path: "/" + strings.Join(parts, "/"), URI: uri, Options: o.Options,
		ReadOnly: o.ReadOnly, WriteType: o.WriteType, ReadType: uint8(o.ReadType), Created: time.Now().UnixNano()}
	dir.Mount, dir.SyncedAt, dir.State = id, 0, Persisted
	b.PutInode(dir)
	b.PutMount(m)
	if err := b.Commit(true); err != nil {
		return fail(err)
	}
	s.mounts.add(&mountEntry{Mount: *m, ufs: u})
	s.log.Info("mounted", "path", m.Path, "uri", uri, "readonly", o.ReadOnly)
	s.feed.publish(Event{Kind: Created, Ino: dir.Ino, Parent: parent.Ino, Name: name, Origin: originOf(ctx)})
	return nil
}

// Unmount detaches the mount at path. It never deletes anything in the UFS:
// the namespace under the mount point goes, the objects stay. It refuses
// while persists for the mount are queued, unless force is set, in which
// case those uploads are dropped.
func (s *Store) Unmount(ctx context.Context, path string, force bool) error {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return opErr("unmount", path, err)
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	m, err := s.mounts.get(n.Mount)
	if err != nil || m.ID == RootMount || m.Path != strings.TrimSuffix(path, "/") {
		return opErr("unmount", path, fmt.Errorf("not a mount point: %w", ErrInvalid))
	}
	var tasks []*meta.Task
	for t, err := range s.db.Tasks(0) {
		if err == nil && t.Mount == m.ID {
			tasks = append(tasks, t)
		}
	}
	if len(tasks) > 0 && !force {
		return opErr("unmount", path, fmt.Errorf("%d uploads to %s are still queued; wait for them or force: %w", len(tasks), m.URI, ErrBusy))
	}
	b := s.db.NewBatch("unmount")
	for _, t := range tasks {
		b.DeleteTask(t)
	}
	if err := s.forgetSubtreeLocked(b, n.Ino); err != nil {
		b.Discard()
		return opErr("unmount", path, err)
	}
	parent, err := s.inode(n.Parent)
	if err != nil {
		b.Discard()
		return opErr("unmount", path, err)
	}
	b.DeleteDentry(n.Parent, n.Name)
	b.DeleteInode(n.Ino)
	parent.Nlink--
	touchDir(b, parent)
	b.DeleteMount(m.Path)
	if err := b.Commit(true); err != nil {
		return opErr("unmount", path, err)
	}
	s.mounts.remove(m.ID)
	m.ufs.Close()
	s.log.Info("unmounted", "path", m.Path, "uri", m.URI, "dropped_uploads", len(tasks))
	s.feed.publish(Event{Kind: Removed, Ino: n.Ino, Parent: n.Parent, Name: n.Name, Origin: originOf(ctx)})
	return nil
}

// forgetSubtreeLocked deletes the records of everything under dir, and
// their cache files, without touching the UFS.
func (s *Store) forgetSubtreeLocked(b *meta.Batch, dir uint64) error {
	for de, err := range s.db.Dentries(dir, "") {
		if err != nil {
			return err
		}
		if de.Type == TypeDir {
			if err := s.forgetSubtreeLocked(b, de.Ino); err != nil {
				return err
			}
		}
		if de.Type == TypeFile {
			b.DeleteLink(de.Ino, dir, de.Name)
			s.files.Lock()
			fd := s.files.m[de.Ino]
			if fd == nil {
				s.dropCacheFileLocked(de.Ino)
			}
			s.files.Unlock()
			if fd != nil {
				fd.mu.Lock()
				fd.dropCacheLocked()
				fd.src.ok = false
				fd.mu.Unlock()
			}
		}
		b.DeleteDentry(dir, de.Name)
		b.DeleteInode(de.Ino)
	}
	return nil
}

// Mounts lists the mount table, the root mount first.
func (s *Store) Mounts() []MountInfo {
	s.mounts.mu.RLock()
	var out []MountInfo
	for _, m := range s.mounts.byID {
		wt, rt := s.writeTypeFor(context.Background(), m), s.readTypeFor(context.Background(), m)
		out = append(out, MountInfo{ID: m.ID, Path: m.Path, URI: m.URI, Options: redactOptions(m.Options),
			ReadOnly: m.ReadOnly, WriteType: wt.String(), ReadType: rt.String()})
	}
	s.mounts.mu.RUnlock()
	pending := s.db.QueueDepth()
	for i := range out {
		out[i].Pending = pending[out[i].ID]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// redactOptions masks secret option values for display.
func redactOptions(o map[string]string) map[string]string {
	if len(o) == 0 {
		return nil
	}
	out := make(map[string]string, len(o))
	for k, v := range o {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "secret") || strings.Contains(lk, "token") || strings.Contains(lk, "password") {
			v = "******"
		}
		out[k] = v
	}
	return out
}

func (s *Store) mountPath(id uint32) string {
	if m, err := s.mounts.get(id); err == nil {
		return m.Path
	}
	return fmt.Sprintf("mount %d", id)
}

func (t *mountTable) nextID() uint32 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var max uint32
	for id := range t.byID {
		max = maxU32(max, id)
	}
	return max + 1
}

func maxU32(a, b uint32) uint32 {
	if a > b {
		return a
	}
	return b
}

func (t *mountTable) add(m *mountEntry) {
	t.mu.Lock()
	t.byID[m.ID] = m
	t.mu.Unlock()
}

func (t *mountTable) remove(id uint32) {
	t.mu.Lock()
	delete(t.byID, id)
	t.mu.Unlock()
}
