package store

import (
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/hoardfs/hoard/store/meta"
	"github.com/hoardfs/hoard/ufs"
)

// RootMount is the id of the mount at "/".
const RootMount uint32 = 0

// mountTable maps mount ids to their UFS. Every inode records the id of the
// mount it lives under; a mount point's directory carries its own mount's id,
// and new inodes inherit their parent's.
type mountTable struct {
	mu   sync.RWMutex
	byID map[uint32]*mountEntry
}

type mountEntry struct {
	meta.Mount
	ufs ufs.UFS
}

func (t *mountTable) load(s *Store) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID = map[uint32]*mountEntry{
		RootMount: {Mount: meta.Mount{ID: RootMount, Path: "/", URI: s.opts.RootURI}, ufs: s.opts.RootUFS},
	}
	ms, err := s.db.Mounts()
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.ID == RootMount {
			continue
		}
		if s.opts.OpenUFS == nil {
			return fmt.Errorf("mount %s (%s): no way to open nested UFS", m.Path, m.URI)
		}
		u, err := s.opts.OpenUFS(s.closeCtx, m.URI, m.Options)
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.Path, err)
		}
		t.byID[m.ID] = &mountEntry{Mount: *m, ufs: u}
	}
	return nil
}

func (t *mountTable) get(id uint32) (*mountEntry, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	m, ok := t.byID[id]
	if !ok {
		return nil, fmt.Errorf("mount %d is gone: %w", id, ErrStale)
	}
	return m, nil
}

func (t *mountTable) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, m := range t.byID {
		if id != RootMount {
			m.ufs.Close()
		}
	}
}

// pathOf is the namespace path of inode ino, through its first links.
func (s *Store) pathOf(ino uint64) (string, error) {
	if ino == RootIno {
		return "/", nil
	}
	var parts []string
	for cur := ino; cur != RootIno; {
		n, err := s.db.Inode(cur)
		if err != nil {
			return "", err
		}
		if n.Parent == 0 {
			return "", fmt.Errorf("inode %d is unlinked: %w", ino, ErrStale)
		}
		parts = append(parts, n.Name)
		cur = n.Parent
		if len(parts) > 4096 {
			return "", fmt.Errorf("inode %d: parent chain too long: %w", ino, ErrLoop)
		}
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String(), nil
}

// PathOf returns the path of inode ino (its first link for hard-linked files).
func (s *Store) PathOf(ino uint64) (string, error) { return s.pathOf(ino) }

// ufsKey is the UFS key of the entry name in directory parent, in mount m.
// Directories' keys end in "/".
func (s *Store) ufsKey(m *mountEntry, parent uint64, name string, dir bool) (string, error) {
	pp, err := s.pathOf(parent)
	if err != nil {
		return "", err
	}
	p := strings.TrimSuffix(pp, "/") + "/" + name
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(m.Path, "/")+"/")
	if !ok {
		return "", fmt.Errorf("path %s is outside mount %s: %w", p, m.Path, ErrInvalid)
	}
	if dir {
		rel += "/"
	}
	return rel, nil
}

// dirPrefix is the UFS prefix of directory ino's children in mount m: ""
// for the mount's root, "a/b/" below it.
func (s *Store) dirPrefix(m *mountEntry, ino uint64) (string, error) {
	p, err := s.pathOf(ino)
	if err != nil {
		return "", err
	}
	mp := strings.TrimSuffix(m.Path, "/")
	if p == m.Path || p == mp {
		return "", nil
	}
	rel, ok := strings.CutPrefix(p, mp+"/")
	if !ok {
		return "", fmt.Errorf("path %s is outside mount %s: %w", p, m.Path, ErrInvalid)
	}
	return rel + "/", nil
}

// overlapping returns the mount whose UFS location shares objects with
// uri's, if any: the same scheme and bucket (and endpoint, where both
// mounts name one), and one key prefix at or under the other. Two such
// mounts would each take the other's objects for its own, and a delete
// through one would remove files of the other.
func (t *mountTable) overlapping(uri string, opts map[string]string) *mountEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, m := range t.byID {
		if ufsOverlap(m.URI, uri, m.Options, opts) {
			return m
		}
	}
	return nil
}

func ufsOverlap(a, b string, ao, bo map[string]string) bool {
	ua, err := url.Parse(a)
	if err != nil {
		return false
	}
	ub, err := url.Parse(b)
	if err != nil {
		return false
	}
	if !strings.EqualFold(ua.Scheme, ub.Scheme) || ua.Host != ub.Host {
		return false
	}
	key := "fs." + strings.ToLower(ua.Scheme) + ".endpoint"
	if ea, eb := ao[key], bo[key]; ea != "" && eb != "" && ea != eb {
		return false // the same bucket name in two stores
	}
	pa, pb := cleanPrefix(ua.Path), cleanPrefix(ub.Path)
	return pa == "" || pb == "" || pa == pb ||
		strings.HasPrefix(pb, pa+"/") || strings.HasPrefix(pa, pb+"/")
}

// cleanPrefix is a URI path as a key prefix: no leading or trailing
// slash, no empty or "." components.
func cleanPrefix(p string) string {
	return strings.Trim(path.Clean("/"+p), "/")
}
