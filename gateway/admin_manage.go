package gateway

// The management operations of the admin API: the mount table, load,
// persist, free, pin, checksum, du and report.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hoardfs/hoard/store"
)

// AdminMount is one entry of the mount table. Secret option values are
// masked; they are never sent back.
type AdminMount struct {
	Path      string            `json:"path"`
	URI       string            `json:"uri"`
	Options   map[string]string `json:"options,omitempty"`
	ReadOnly  bool              `json:"readOnly"`
	WriteType string            `json:"writeType"`
	ReadType  string            `json:"readType"`
	Pending   int               `json:"pending"` // uploads still queued for it
}

// AdminMountRequest is the body of POST /api/v1/fs/mount. Options are the
// UFS's keys (fs.oss.*, fs.s3.*), overriding the daemon's for this mount.
type AdminMountRequest struct {
	Path      string            `json:"path"`
	URI       string            `json:"uri"`
	Options   map[string]string `json:"options,omitempty"`
	ReadOnly  bool              `json:"readOnly,omitempty"`
	WriteType string            `json:"writeType,omitempty"`
	ReadType  string            `json:"readType,omitempty"`
}

func (a *adminAPI) mountTable() []AdminMount {
	var out []AdminMount
	for _, m := range a.st.Mounts() {
		am := AdminMount{Path: m.Path, URI: adminRedactURI(m.URI), ReadOnly: m.ReadOnly, WriteType: m.WriteType, ReadType: m.ReadType, Pending: m.Pending}
		if len(m.Options) > 0 {
			am.Options = maps.Clone(m.Options)
			for k := range am.Options {
				if adminSecretOption(k) {
					am.Options[k] = "******"
				}
			}
		}
		out = append(out, am)
	}
	return out
}

func (a *adminAPI) mounts(w *adminWriter, r *http.Request, q adminQuery) error {
	return w.reply(http.StatusOK, a.mountTable())
}

// mount attaches a UFS. Nothing is created unless the UFS opens (its
// endpoint answers, the bucket exists, the credentials may list it).
func (a *adminAPI) mount(w *adminWriter, r *http.Request, q adminQuery) error {
	var req AdminMountRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return adminBadRequest("mount: the body must be a JSON object {path, uri, options, readOnly, writeType, readType}: %v", err)
	}
	p, err := adminCleanPath(req.Path)
	if err != nil {
		return err
	}
	if req.URI == "" {
		return adminBadRequest("mount %s: the UFS URI is required (oss://bucket/dir, s3://bucket/dir, file:///dir)", p)
	}
	for _, k := range slices.Sorted(maps.Keys(req.Options)) {
		if !strings.HasPrefix(k, "fs.oss.") && !strings.HasPrefix(k, "fs.s3.") {
			return adminBadRequest("mount %s: unknown option %q: mount options are fs.oss.* or fs.s3.* keys (read-only, write and read type have flags of their own)", p, k)
		}
		if strings.TrimSpace(req.Options[k]) == "" {
			return adminBadRequest("mount %s: option %s has an empty value", p, k)
		}
	}
	o := store.MountOptions{Options: req.Options, ReadOnly: req.ReadOnly}
	if req.WriteType != "" {
		if o.WriteType, err = store.ParseWriteType(strings.ToUpper(req.WriteType)); err != nil {
			return adminBadRequest("mount %s: %v", p, err)
		}
	}
	if req.ReadType != "" {
		if o.ReadType, err = store.ParseReadType(strings.ToUpper(req.ReadType)); err != nil {
			return adminBadRequest("mount %s: %v", p, err)
		}
	}
	if err := a.st.Mount(r.Context(), p, req.URI, o); err != nil {
		var errno syscall.Errno
		if !errors.As(err, &errno) {
			// The UFS did not open: a bad URI, bad options, a refused
			// credential or an endpoint that does not answer. The message
			// says which; it is the request that must change.
			return &adminErr{status: http.StatusBadRequest, code: "EINVAL", msg: err.Error()}
		}
		return err
	}
	// Option names only: their values may be secrets.
	a.log.Info("admin mount", "path", p, "uri", adminRedactURI(req.URI), "options", slices.Sorted(maps.Keys(req.Options)), "readonly", req.ReadOnly)
	for _, m := range a.mountTable() {
		if m.Path == p {
			return w.reply(http.StatusCreated, m)
		}
	}
	return w.reply(http.StatusCreated, AdminMount{Path: p, URI: adminRedactURI(req.URI)})
}

func (a *adminAPI) unmount(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	force, err := q.bool("force")
	if err != nil {
		return err
	}
	if err := a.st.Unmount(r.Context(), p, force); err != nil {
		return err
	}
	a.log.Info("admin unmount", "path", p, "force", force)
	return w.reply(http.StatusOK, AdminResult{Path: p})
}

// AdminProgress is one line of a load or persist stream: bytes done of the
// bytes to do. The last line has Finished set (or is an AdminError).
type AdminProgress struct {
	Path     string `json:"path"`
	Done     int64  `json:"done"`
	Total    int64  `json:"total"`
	Finished bool   `json:"finished,omitempty"`
}

// adminProgressLines turns store progress callbacks into at most ten lines a
// second.
type adminProgressLines struct {
	w           *adminWriter
	path        string
	last        time.Time
	done, total int64
	err         error
}

func (pl *adminProgressLines) update(done, total int64) {
	pl.done, pl.total = done, total
	if pl.err != nil || time.Since(pl.last) < 100*time.Millisecond {
		return
	}
	pl.last = time.Now()
	pl.err = pl.w.line(AdminProgress{Path: pl.path, Done: done, Total: total})
	pl.w.Flush()
}

func (pl *adminProgressLines) finish() error {
	if err := pl.w.line(AdminProgress{Path: pl.path, Done: pl.done, Total: pl.total, Finished: true}); err != nil {
		return err
	}
	pl.w.Flush()
	return nil
}

// load brings every block at or under path into the cache, streaming
// progress.
func (a *adminAPI) load(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := a.st.Resolve(ctx, p); err != nil {
		return err // before the stream: a plain 404
	}
	pl := &adminProgressLines{w: w, path: p}
	if err := a.st.Load(ctx, p, pl.update); err != nil {
		return err
	}
	return pl.finish()
}

// persist uploads every file at or under path that is not in the UFS yet,
// streaming progress.
func (a *adminAPI) persist(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := a.st.Resolve(ctx, p); err != nil {
		return err
	}
	pl := &adminProgressLines{w: w, path: p}
	if err := a.st.PersistPath(ctx, p, pl.update); err != nil {
		return err
	}
	a.log.Info("admin persist", "path", p, "bytes", pl.total)
	return pl.finish()
}

func (a *adminAPI) free(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	if err := a.st.Free(r.Context(), p); err != nil {
		return err
	}
	return w.reply(http.StatusOK, AdminResult{Path: p})
}

func (a *adminAPI) pin(pinned bool) func(w *adminWriter, r *http.Request, q adminQuery) error {
	return func(w *adminWriter, r *http.Request, q adminQuery) error {
		p, err := q.path("path")
		if err != nil {
			return err
		}
		if err := a.st.SetPinned(r.Context(), p, pinned); err != nil {
			return err
		}
		a.log.Info("admin pin", "path", p, "pinned", pinned)
		return w.reply(http.StatusOK, AdminResult{Path: p})
	}
}

// setTTL makes an action (delete, the default, or free) happen to path
// once ttl has passed: a Go duration ("90s", "2h") or milliseconds, as
// Alluxio's setTtl takes.
func (a *adminAPI) setTTL(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	raw := q.v.Get("ttl")
	ttl, err := time.ParseDuration(raw)
	if err != nil {
		ms, merr := strconv.ParseInt(raw, 10, 64)
		if merr != nil {
			return fmt.Errorf("ttl %q: want a duration such as 90s or 2h, or milliseconds: %w", raw, store.ErrInvalid)
		}
		ttl = time.Duration(ms) * time.Millisecond
	}
	action, err := store.ParseTTLAction(q.v.Get("action"))
	if err != nil {
		return err
	}
	if err := a.st.SetTTL(r.Context(), p, ttl, action); err != nil {
		return err
	}
	a.log.Info("admin setTtl", "path", p, "ttl", ttl, "action", action)
	return w.reply(http.StatusOK, AdminResult{Path: p})
}

func (a *adminAPI) unsetTTL(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	if err := a.st.UnsetTTL(r.Context(), p); err != nil {
		return err
	}
	return w.reply(http.StatusOK, AdminResult{Path: p})
}

// AdminChecksum is the answer of checksum.
type AdminChecksum struct {
	Path string `json:"path"`
	MD5  string `json:"md5"`
}

func (a *adminAPI) checksum(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	if r, err = q.readType(r); err != nil {
		return err
	}
	sum, err := a.st.Checksum(r.Context(), p)
	if err != nil {
		return err
	}
	return w.reply(http.StatusOK, AdminChecksum{Path: p, MD5: sum})
}

// AdminUsage is the answer of du: totals at or under a path.
type AdminUsage struct {
	Path   string `json:"path"`
	Files  int64  `json:"files"`
	Bytes  int64  `json:"bytes"`
	Cached int64  `json:"cached"`
	Pinned int64  `json:"pinned"`
}

func (a *adminAPI) du(w *adminWriter, r *http.Request, q adminQuery) error {
	p, err := q.path("path")
	if err != nil {
		return err
	}
	u, err := a.st.Du(r.Context(), p)
	if err != nil {
		return err
	}
	return w.reply(http.StatusOK, AdminUsage{Path: p, Files: u.Files, Bytes: u.Bytes, Cached: u.Cached, Pinned: u.Pinned})
}

// AdminReport is the state of the daemon, for `hoard fs report`.
type AdminReport struct {
	Cache  AdminCacheReport `json:"cache"`
	Queue  AdminQueueReport `json:"queue"`
	Mounts []AdminMount     `json:"mounts"`
}

// AdminCacheReport is the block cache's accounting, in bytes.
type AdminCacheReport struct {
	Capacity int64 `json:"capacity"`
	Used     int64 `json:"used"`
	Clean    int64 `json:"clean"` // persisted and unpinned: evictable
	// Unevictable is Used - Clean = Dirty + Pinned.
	Unevictable int64 `json:"unevictable"`
	// Dirty: blocks not yet in the UFS, only on this machine.
	Dirty int64 `json:"dirty"`
	// Pinned: blocks of pinned files that are in the UFS too.
	Pinned       int64 `json:"pinned"`
	Evictions    int64 `json:"evictions"`
	EvictedBytes int64 `json:"evictedBytes"`
}

// AdminQueueReport is the persist queue.
type AdminQueueReport struct {
	Depth       int      `json:"depth"`
	OldestAgeMs int64    `json:"oldestAgeMs"`
	Failing     int      `json:"failing"`
	LastErrors  []string `json:"lastErrors,omitempty"`
}

func (a *adminAPI) report(w *adminWriter, r *http.Request, q adminQuery) error {
	rep := a.st.Report()
	c := rep.Cache
	out := AdminReport{
		Cache: AdminCacheReport{Capacity: c.Capacity, Used: c.Used, Clean: c.Clean, Unevictable: c.Pinned,
			Dirty: c.Dirty, Pinned: c.Kept, Evictions: c.Evictions, EvictedBytes: c.EvictedBytes},
		Queue: AdminQueueReport{Depth: rep.Queue.Depth, OldestAgeMs: rep.Queue.OldestAge.Milliseconds(),
			Failing: rep.Queue.Failing, LastErrors: rep.Queue.LastErrors},
		Mounts: a.mountTable(),
	}
	return w.reply(http.StatusOK, out)
}
