package local

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/ufs"
)

// defaultMaxKeys is the page size when ListOptions.MaxKeys is 0, as in S3.
const defaultMaxKeys = 1000

// errVanished marks an entry that disappeared (or changed type) between
// reading its directory and looking at it; the listing skips it.
var errVanished = errors.New("entry vanished")

// List returns one page of the keys under opts.Prefix in byte-wise key order,
// as an object store would: every directory is the marker "dir/" followed by
// the keys under it. The walk is depth-first and reads one directory at a
// time; within a directory, entries are sorted by their key ("name/" for a
// directory), which is what makes "a-b" < "a.txt" < "a/" < "a/x" < "a0" come
// out in the right order. Entries at or before StartAfter are skipped without
// descending into them.
//
// With Delimiter "/" subdirectories are common prefixes and are not entered.
// Any other non-empty delimiter is honoured too, by rolling up the keys of
// the full walk.
//
// A prefix whose directory part is not a valid key matches no key, so it
// lists nothing rather than failing.
func (u *FS) List(ctx context.Context, opts ufs.ListOptions) (ufs.ListPage, error) {
	if err := ctxError(ctx, "list", opts.Prefix); err != nil {
		return ufs.ListPage{}, err
	}
	startDir := opts.Prefix[:strings.LastIndex(opts.Prefix, "/")+1]
	partial := opts.Prefix[len(startDir):]
	dirName := "."
	if startDir != "" {
		if keyProblem(startDir) != "" {
			return ufs.ListPage{}, nil
		}
		dirName = fileName(startDir)
	}
	d, err := u.root.Open(dirName)
	if isMissing(err) {
		return ufs.ListPage{}, nil
	}
	if err != nil {
		return ufs.ListPage{}, opError("list", opts.Prefix, err)
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return ufs.ListPage{}, opError("list", opts.Prefix, err)
	}
	if !fi.IsDir() {
		return ufs.ListPage{}, nil
	}

	p := &pageBuilder{opts: opts, max: opts.MaxKeys}
	if p.max <= 0 {
		p.max = defaultMaxKeys
	}
	w := &walker{u: u, ctx: ctx, startAfter: opts.StartAfter, recursive: opts.Delimiter != "/", visit: p.add}
	stop := false
	if startDir != "" && partial == "" && startDir > opts.StartAfter {
		// The prefix names a directory: its own marker is the first key.
		marker := ufs.ObjectInfo{Key: startDir, ETag: emptyMD5, ModTime: fi.ModTime()}
		stop, err = p.add(startDir, func() (ufs.ObjectInfo, error) { return marker, nil })
	}
	if !stop && err == nil {
		_, err = w.walk(d, startDir, partial)
	}
	if err != nil {
		return ufs.ListPage{}, opError("list", opts.Prefix, err)
	}
	if !p.page.Truncated {
		p.page.NextStartAfter = ""
	}
	return p.page, nil
}

// pageBuilder collects one page from entries visited in key order.
type pageBuilder struct {
	opts   ufs.ListOptions
	max    int
	page   ufs.ListPage
	lastCP string // the common prefix added last, to add each only once
}

// add takes the next key in order; info describes it if it becomes an
// object. It returns stop once the page is full and one more entry exists.
func (p *pageBuilder) add(key string, info func() (ufs.ObjectInfo, error)) (stop bool, err error) {
	if d := p.opts.Delimiter; d != "" {
		if i := strings.Index(key[len(p.opts.Prefix):], d); i >= 0 {
			cp := key[:len(p.opts.Prefix)+i+len(d)]
			if cp <= p.opts.StartAfter || cp == p.lastCP {
				return false, nil
			}
			if p.full() {
				return true, nil
			}
			p.lastCP = cp
			p.page.CommonPrefixes = append(p.page.CommonPrefixes, cp)
			p.page.NextStartAfter = cp
			return false, nil
		}
	}
	if p.full() {
		return true, nil
	}
	oi, err := info()
	if errors.Is(err, errVanished) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	p.page.Objects = append(p.page.Objects, oi)
	p.page.NextStartAfter = key
	return false, nil
}

// full reports whether the page has MaxKeys entries; asked only when another
// entry is there, so it also marks the page truncated.
func (p *pageBuilder) full() bool {
	if len(p.page.Objects)+len(p.page.CommonPrefixes) < p.max {
		return false
	}
	p.page.Truncated = true
	return true
}

// walker visits the keys of a directory tree in byte-wise key order.
type walker struct {
	u          *FS
	ctx        context.Context
	startAfter string
	recursive  bool // enter subdirectories (false with delimiter "/")
	visit      func(key string, info func() (ufs.ObjectInfo, error)) (stop bool, err error)
}

// dirEntry is one entry of a directory, as a key.
type dirEntry struct {
	name string
	key  string // ends in "/" for a directory
	dir  bool
	link bool // a symlink to a regular file
}

// walk visits the entries of the open directory d, whose marker key is
// dirKey ("" for the root), whose names start with partial.
func (w *walker) walk(d *os.File, dirKey, partial string) (stop bool, err error) {
	entries, err := w.readDir(d, dirKey, partial)
	if err != nil {
		return true, err
	}
	for _, e := range entries {
		if err := w.ctx.Err(); err != nil {
			return true, err
		}
		if !e.dir {
			if e.key <= w.startAfter {
				continue
			}
			if stop, err := w.visit(e.key, func() (ufs.ObjectInfo, error) { return w.fileInfo(d, e) }); stop || err != nil {
				return true, err
			}
			continue
		}
		// All keys under e start with e.key: they are after startAfter if
		// e.key is, and some of them may be if startAfter is inside e.
		after := e.key > w.startAfter
		if after {
			if stop, err := w.visit(e.key, func() (ufs.ObjectInfo, error) { return dirInfo(d, e) }); stop || err != nil {
				return true, err
			}
		}
		if !w.recursive || !(after || strings.HasPrefix(w.startAfter, e.key)) {
			continue
		}
		sub, err := openDirAt(d, e.name)
		if errors.Is(err, errVanished) {
			continue
		}
		if err != nil {
			return true, err
		}
		stop, err := w.walk(sub, e.key, "")
		sub.Close()
		if stop || err != nil {
			return true, err
		}
	}
	return false, nil
}

// readDir returns the listable entries of d whose names start with partial,
// sorted by key. It drops the staging directory, special files, and symlinks
// that lead to directories or out of the root.
func (w *walker) readDir(d *os.File, dirKey, partial string) ([]dirEntry, error) {
	des, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	entries := make([]dirEntry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, partial) || (dirKey == "" && name == stagingDir) {
			continue
		}
		e := dirEntry{name: name, key: dirKey + name}
		switch t := de.Type(); {
		case t.IsDir():
			e.dir = true
			e.key += "/"
		case t.IsRegular():
		case t&os.ModeSymlink != 0:
			fi, err := w.u.root.Stat(e.key)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			e.link = true
		default:
			continue
		}
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b dirEntry) int { return strings.Compare(a.key, b.key) })
	return entries, nil
}

// fileInfo describes file entry e of directory d. A plain file is opened
// through d without following symlinks; a symlink through the root, which
// keeps it inside.
func (w *walker) fileInfo(d *os.File, e dirEntry) (ufs.ObjectInfo, error) {
	if e.link {
		f, info, err := w.u.openRegular("list", e.key)
		if ufs.IsNotExist(err) {
			return ufs.ObjectInfo{}, errVanished
		}
		if err == nil {
			f.Close()
		}
		return info, err
	}
	var info ufs.ObjectInfo
	err := withFd(d, func(dfd int) error {
		fd, err := unix.Openat(dfd, e.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		info, err = fileInfo(fd, e.key)
		return err
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, errNotRegular) {
		return ufs.ObjectInfo{}, errVanished
	}
	return info, err
}

// dirInfo describes directory entry e of directory d as a marker.
func dirInfo(d *os.File, e dirEntry) (ufs.ObjectInfo, error) {
	var st unix.Stat_t
	err := withFd(d, func(dfd int) error { return unix.Fstatat(dfd, e.name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	if errors.Is(err, unix.ENOENT) || (err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR) {
		return ufs.ObjectInfo{}, errVanished
	}
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	return ufs.ObjectInfo{Key: e.key, ETag: emptyMD5, ModTime: mtime(&st)}, nil
}

// openDirAt opens subdirectory name of d without following a symlink.
func openDirAt(d *os.File, name string) (*os.File, error) {
	var fd int
	err := withFd(d, func(dfd int) error {
		var err error
		fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return nil, errVanished
	}
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}
