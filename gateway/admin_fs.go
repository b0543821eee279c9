package gateway

// The namespace operations of the admin API: ls, stat, cat, mkdir, rm, mv,
// sync, write and persistence.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store"
)

// AdminEntry is one file, directory or symlink as the admin API shows it:
// what `hoard fs ls` prints, and more for stat.
type AdminEntry struct {
	Path       string `json:"path"`
	Type       string `json:"type"` // file, dir or symlink
	Mode       uint32 `json:"mode"` // permission bits
	ModeString string `json:"modeString"`
	Owner      string `json:"owner"`
	Group      string `json:"group"`
	Size       int64  `json:"size"`
	MtimeNs    int64  `json:"mtimeNs"`
	// State is the persistence state: NOT_PERSISTED, TO_BE_PERSISTED or
	// PERSISTED.
	State         string `json:"persistenceState"`
	CachedBytes   int64  `json:"cachedBytes"`
	CachedPercent int    `json:"cachedPercent"` // of a file; 100 for an empty one
	Pinned        bool   `json:"pinned,omitempty"`
	WriteType     string `json:"writeType,omitempty"`
	Target        string `json:"target,omitempty"` // of a symlink
	MountPoint    bool   `json:"mountPoint,omitempty"`
	Ino           uint64 `json:"ino"`
	Nlink         uint32 `json:"nlink"`
	ETag          string `json:"etag,omitempty"`
	// UFS is where the entry lives in the UFS; stat, write and
	// persistence fill it in, ls does not.
	UFS *AdminUFS `json:"ufs,omitempty"`
}

// AdminUFS is an entry's place in its UFS.
type AdminUFS struct {
	Mount string `json:"mount"` // the mount point it lives under
	URI   string `json:"uri"`   // the object's URI, persisted or not
	// InUFS says that the UFS object holds the current content (the
	// fingerprint below is that object's).
	InUFS   bool   `json:"inUfs"`
	ETag    string `json:"etag,omitempty"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtimeNs,omitempty"`
}

var adminTypeNames = map[store.FileType]string{store.TypeFile: "file", store.TypeDir: "dir", store.TypeSymlink: "symlink"}

// AdminModeString renders a type and permission bits as ls(1) does:
// "-rw-r--r--", "drwxr-xr-x", "lrwxrwxrwx", with s/S and t/T for the
// setuid, setgid and sticky bits.
func AdminModeString(typ string, mode uint32) string {
	b := []byte("----------")
	switch typ {
	case "dir":
		b[0] = 'd'
	case "symlink":
		b[0] = 'l'
	}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if mode&(1<<(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(pos int, bit uint32, set, unset byte) {
		if mode&bit != 0 {
			if b[pos] == 'x' {
				b[pos] = set
			} else {
				b[pos] = unset
			}
		}
	}
	special(3, 0o4000, 's', 'S')
	special(6, 0o2000, 's', 'S')
	special(9, 0o1000, 't', 'T')
	return string(b)
}

// entry presents inode n, found at path p. mountPoint says whether it is
// the root of a nested mount.
func (a *adminAPI) entry(p string, n *store.Inode, mountPoint bool) AdminEntry {
	e := AdminEntry{
		Path: p, Type: adminTypeNames[n.Type], Mode: n.Mode, Owner: n.Owner, Group: n.Group,
		Size: n.Size, MtimeNs: n.Mtime, State: n.State.String(), Pinned: n.Pinned,
		Target: n.Target, MountPoint: mountPoint, Ino: n.Ino, Nlink: n.Nlink, ETag: n.ETag,
	}
	e.ModeString = AdminModeString(e.Type, e.Mode)
	if n.WriteType != 0 {
		e.WriteType = n.WriteType.String()
	}
	if n.Type == store.TypeFile {
		e.CachedBytes = a.st.CachedBytes(n)
		e.CachedPercent = 100
		if n.Size > 0 {
			e.CachedPercent = int(e.CachedBytes * 100 / n.Size)
		}
	}
	return e
}

// isMountPoint says whether directory n is the root of a nested mount: its
// mount differs from its parent's.
func (a *adminAPI) isMountPoint(ctx context.Context, n *store.Inode) bool {
	if n.Type != store.TypeDir || n.Ino == store.RootIno || n.Parent == 0 {
		return false
	}
	p, err := a.st.GetAttr(ctx, n.Parent)
	return err == nil && p.Mount != n.Mount
}

// fullEntry is entry with the UFS place filled in.
func (a *adminAPI) fullEntry(ctx context.Context, p string, n *store.Inode) AdminEntry {
	e := a.entry(p, n, a.isMountPoint(ctx, n))
	for _, m := range a.st.Mounts() {
		if m.ID != n.Mount {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, strings.TrimSuffix(m.Path, "/")), "/")
		uri := strings.TrimSuffix(adminRedactURI(m.URI), "/")
		if rel != "" {
			uri += "/" + rel
		}
		if n.Type == store.TypeDir && rel != "" {
			uri += "/"
		}
		e.UFS = &AdminUFS{Mount: m.Path, URI: uri, InUFS: n.DataInUFS && n.State == store.Persisted}
		if e.UFS.InUFS {
			e.UFS.ETag, e.UFS.Size, e.UFS.MtimeNs = n.UFS.ETag, n.UFS.Size, n.UFS.Mtime
		}
		if n.Type == store.TypeDir {
			e.UFS.InUFS = n.State == store.Persisted
		}
	}
	return e
}

// adminCred is who owns what the admin API creates: the user the daemon
// runs as, as Alluxio's shell creates files as the user who runs it.
func adminCred() store.Cred {
	return store.Cred{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
}

func adminJoin(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// resolve finds path p; with sync, the directories involved are merged with
// the UFS first, whatever the sync interval: the parent (so that a file
// added, changed or removed in the UFS shows) and p itself when it is a
// directory.
func (a *adminAPI) resolve(ctx context.Context, p string, sync bool) (*store.Inode, error) {
	if !sync {
		return a.st.Resolve(ctx, p)
	}
	if p != "/" {
		d, _, err := a.st.ResolveParent(ctx, p)
		if err != nil {
			return nil, err
		}
		if err := a.st.SyncDir(ctx, d.Ino); err != nil {
			return nil, withPath(err, path.Dir(p))
		}
	}
	n, err := a.st.Resolve(ctx, p)
	if err != nil {
		return nil, err
	}
	if n.Type == store.TypeDir {
		if err := a.st.SyncDir(ctx, n.Ino); err != nil {
			return nil, withPath(err, p)
		}
	}
	return n, nil
}

// ls streams the entries of a directory (or the one entry of a file) as
// JSON lines, in name order; recursive lists every directory's entries
// right after it. limit and after page through one directory.
func (a *adminAPI) ls(w *adminWriter, r *http.Request, q adminQuery) error {
	ctx := r.Context()
	p, err := q.path("path")
	if err != nil {
		return err
	}
	recursive, err := q.bool("recursive")
	if err != nil {
		return err
	}
	sync, err := q.bool("sync")
	if err != nil {
		return err
	}
	asFile, err := q.bool("directory")
	if err != nil {
		return err
	}
	limit, err := q.int("limit", 0, 0, 1<<40)
	if err != nil {
		return err
	}
	after := q.v.Get("after")
	if after != "" && recursive {
		return adminBadRequest("after pages through one directory; it does not go with recursive")
	}
	n, err := a.resolve(ctx, p, sync)
	if err != nil {
		return err
	}
	if n.Type != store.TypeDir || asFile {
		return w.line(a.entry(p, n, a.isMountPoint(ctx, n)))
	}
	l := &adminLister{a: a, w: w, recursive: recursive, sync: sync, limit: limit}
	err = l.dir(ctx, p, n, after)
	if errors.Is(err, errAdminLimit) {
		err = nil
	}
	if err == nil && !w.streaming {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK) // an empty directory: no lines
	}
	w.Flush()
	return err
}

// errAdminLimit ends a listing that sent as many entries as asked.
var errAdminLimit = errors.New("limit reached")

// adminLister walks a directory tree for ls, one iterator per level: memory is
// bounded by the depth, never by a directory's size.
type adminLister struct {
	a         *adminAPI
	w         *adminWriter
	recursive bool
	sync      bool
	limit     int64 // 0: none
	sent      int64
}

func (l *adminLister) dir(ctx context.Context, p string, d *store.Inode, after string) error {
	for de, err := range l.a.st.ReadDir(ctx, d.Ino, after) {
		if err != nil {
			return withPath(err, p)
		}
		n, err := l.a.st.GetAttr(ctx, de.Ino)
		if err != nil {
			continue // removed since it was listed
		}
		cp := adminJoin(p, de.Name)
		if err := l.w.line(l.a.entry(cp, n, n.Type == store.TypeDir && n.Mount != d.Mount)); err != nil {
			return err
		}
		if l.sent++; l.limit > 0 && l.sent >= l.limit {
			return errAdminLimit
		}
		if l.recursive && n.Type == store.TypeDir {
			if l.sync {
				if err := l.a.st.SyncDir(ctx, n.Ino); err != nil {
					return withPath(err, cp)
				}
			}
			if err := l.dir(ctx, cp, n, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// stat answers one entry with its UFS place.
func (a *adminAPI) stat(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	n, err := a.st.Resolve(r.Context(), p)
	if err != nil {
		return err
	}
	return w.reply(http.StatusOK, a.fullEntry(r.Context(), p, n))
}

// cat streams a file's bytes, read with the request's read type.
func (a *adminAPI) cat(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	if r, err = q.readType(r); err != nil {
		return err
	}
	ctx := r.Context()
	n, err := a.st.Resolve(ctx, p)
	if err != nil {
		return err
	}
	if n.Type == store.TypeDir {
		return &adminErr{status: http.StatusBadRequest, code: "EISDIR", msg: p + " is a directory"}
	}
	h, _, err := a.st.OpenPath(ctx, p, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer h.Release(ctx)
	size := h.Size()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(size))
	w.WriteHeader(http.StatusOK)
	// adminWriter has no ReadFrom, so CopyBuffer uses this buffer: reads of
	// 1 MiB, not the 32 KiB default, keep the store's calls few.
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(w, io.NewSectionReader(h, 0, size), buf); err != nil {
		return fmt.Errorf("cat %s: %w", p, err)
	}
	return nil
}

// mkdir makes a directory; with parents, the missing ones above it too, and
// an existing directory is no error (mkdir -p).
func (a *adminAPI) mkdir(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	parents, err := q.bool("parents")
	if err != nil {
		return err
	}
	if r, err = q.writeType(r); err != nil {
		return err
	}
	ctx := r.Context()
	var n *store.Inode
	if parents {
		n, err = a.st.MkdirAll(ctx, p, adminCred())
	} else {
		var d *store.Inode
		var name string
		if d, name, err = a.st.ResolveParent(ctx, p); err == nil {
			n, err = a.st.Mkdir(ctx, d.Ino, name, 0o755, adminCred())
			err = withPath(err, p)
		}
	}
	if err != nil {
		return err
	}
	a.log.Info("admin mkdir", "path", p)
	return w.reply(http.StatusCreated, a.entry(p, n, false))
}

// AdminResult is the answer of an operation that has nothing to show but
// that it was done.
type AdminResult struct {
	Path string `json:"path"`
	Dst  string `json:"dst,omitempty"` // mv: where it went
	// Directories counts the directories merged with the UFS (sync).
	Directories int `json:"directories,omitempty"`
}

// rm removes a file or, with recursive, a directory and everything under
// it (store.RemoveAll).
func (a *adminAPI) rm(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	recursive, err := q.bool("recursive")
	if err != nil {
		return err
	}
	if p == "/" {
		return adminBadRequest("refusing to remove the root directory")
	}
	ctx := r.Context()
	n, err := a.st.Resolve(ctx, p)
	if err != nil {
		return err
	}
	if n.Type == store.TypeDir && !recursive {
		return &adminErr{status: http.StatusBadRequest, code: "EISDIR",
			msg: p + " is a directory: remove it with rm -R (recursive)"}
	}
	// The store refuses a tree that holds a mount point (EBUSY) before it
	// removes anything: an unmount detaches a UFS, an rm would delete its
	// objects.
	if err := a.st.RemoveAll(ctx, p); err != nil {
		return err
	}
	a.log.Info("admin rm", "path", p, "recursive", recursive)
	return w.reply(http.StatusOK, AdminResult{Path: p})
}

// mv renames src to dst; when dst is a directory, src moves into it. An
// existing dst file is not replaced.
func (a *adminAPI) mv(w *adminWriter, r *http.Request, q adminQuery) error {
	src, err := q.path("src")
	if err != nil {
		return err
	}
	dst, err := q.path("dst")
	if err != nil {
		return err
	}
	if src == "/" {
		return adminBadRequest("cannot move the root directory")
	}
	ctx := r.Context()
	sp, sname, err := a.st.ResolveParent(ctx, src)
	if err != nil {
		return err
	}
	if _, err := a.st.Lookup(ctx, sp.Ino, sname); err != nil {
		return withPath(err, src)
	}
	if n, err := a.st.Resolve(ctx, dst); err == nil && n.Type == store.TypeDir && dst != src {
		dst = adminJoin(dst, sname)
	}
	dp, dname, err := a.st.ResolveParent(ctx, dst)
	if err != nil {
		return err
	}
	if err := a.st.Rename(ctx, sp.Ino, sname, dp.Ino, dname, store.RenameNoReplace); err != nil {
		return withPath(err, src+" -> "+dst)
	}
	a.log.Info("admin mv", "src", src, "dst", dst)
	return w.reply(http.StatusOK, AdminResult{Path: src, Dst: dst})
}

// sync merges path with the UFS now: its parent, itself when it is a
// directory, and with recursive every directory under it.
func (a *adminAPI) sync(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	recursive, err := q.bool("recursive")
	if err != nil {
		return err
	}
	ctx := r.Context()
	n, err := a.resolve(ctx, p, true)
	if err != nil {
		return err
	}
	count := 0
	if p != "/" {
		count++ // the parent
	}
	if n.Type == store.TypeDir {
		count++
		if recursive {
			if err := a.syncTree(ctx, p, n, &count); err != nil {
				return err
			}
		}
	}
	return w.reply(http.StatusOK, AdminResult{Path: p, Directories: count})
}

func (a *adminAPI) syncTree(ctx context.Context, p string, d *store.Inode, count *int) error {
	for de, err := range a.st.ReadDir(ctx, d.Ino, "") {
		if err != nil {
			return withPath(err, p)
		}
		if de.Type != store.TypeDir {
			continue
		}
		cp := adminJoin(p, de.Name)
		if err := a.st.SyncDir(ctx, de.Ino); err != nil {
			return withPath(err, cp)
		}
		*count++
		c, err := a.st.GetAttr(ctx, de.Ino)
		if err != nil {
			continue
		}
		if err := a.syncTree(ctx, cp, c, count); err != nil {
			return err
		}
	}
	return nil
}

// write stores the request body as the file at path, with the request's
// write type. via=object (the default) is the object path: the body is
// staged and switched in atomically, as an S3 PUT. via=handle is the POSIX
// path: create (truncating), writes of chunk bytes at increasing offsets,
// close, as a program writing through the mount. runTests uses both.
func (a *adminAPI) write(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	if r, err = q.writeType(r); err != nil {
		return err
	}
	chunk, err := q.int("chunk", 1<<20, 1, 16<<20)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var n *store.Inode
	switch via := q.v.Get("via"); via {
	case "", "object":
		size := r.ContentLength // -1: unknown, anything goes
		n, err = a.st.PutObject(ctx, p, r.Body, store.PutOptions{Cred: adminCred(), Size: size})
	case "handle":
		n, err = a.writeHandle(ctx, p, r.Body, chunk)
	default:
		return adminBadRequest("parameter via = %q: want object or handle", via)
	}
	if err != nil {
		return err
	}
	return w.reply(http.StatusCreated, a.fullEntry(ctx, p, n))
}

func (a *adminAPI) writeHandle(ctx context.Context, p string, body io.Reader, chunk int64) (*store.Inode, error) {
	if p == "/" {
		return nil, adminBadRequest("cannot write the root directory")
	}
	d, err := a.st.MkdirAll(ctx, path.Dir(p), adminCred())
	if err != nil {
		return nil, err
	}
	_, h, err := a.st.Create(ctx, d.Ino, path.Base(p), 0o644, adminCred(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, withPath(err, p)
	}
	buf := make([]byte, chunk)
	var off int64
	for {
		k, rerr := io.ReadFull(body, buf)
		if k > 0 {
			if _, err := h.Write(ctx, buf[:k], off); err != nil {
				h.Release(ctx)
				return nil, withPath(err, p)
			}
			off += int64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			h.Release(ctx)
			return nil, fmt.Errorf("write %s: read body: %w", p, rerr)
		}
	}
	// Release commits: with CACHE_THROUGH and THROUGH the upload runs here
	// and its failure is ours.
	if err := h.Release(ctx); err != nil {
		return nil, withPath(err, p)
	}
	return a.st.GetAttr(ctx, h.Ino())
}

// persistence answers a file's persistence state and UFS place; with wait,
// it first waits (up to timeout) for the file to reach that state.
func (a *adminAPI) persistence(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	timeout, err := q.duration("timeout", 30*time.Second, 10*time.Minute)
	if err != nil {
		return err
	}
	want := q.v.Get("wait")
	switch want {
	case "", store.NotPersisted.String(), store.ToBePersisted.String(), store.Persisted.String():
	default:
		return adminBadRequest("parameter wait = %q: want NOT_PERSISTED, TO_BE_PERSISTED or PERSISTED", want)
	}
	ctx := r.Context()
	n, err := a.st.Resolve(ctx, p)
	if err != nil {
		return err
	}
	if want != "" {
		deadline := time.Now().Add(timeout)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n.State.String() != want {
			if time.Now().After(deadline) {
				qs := a.st.Queue()
				msg := fmt.Sprintf("%s is still %s after %v (waited for %s); persist queue: %d tasks, %d failing",
					p, n.State, timeout, want, qs.Depth, qs.Failing)
				if len(qs.LastErrors) > 0 {
					msg += "; last error: " + qs.LastErrors[0]
				}
				return &adminErr{status: http.StatusGatewayTimeout, code: "ETIMEDOUT", msg: msg}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
			// GetAttr, not Resolve: polling must not list the UFS.
			if n, err = a.st.GetAttr(ctx, n.Ino); err != nil {
				return err
			}
		}
	}
	return w.reply(http.StatusOK, a.fullEntry(ctx, p, n))
}
