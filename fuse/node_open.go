package fuse

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/hoardfs/hoard/store"
)

var _ = (fs.NodeOpener)((*node)(nil))

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	c := n.m.ctx(ctx)
	h, err := n.m.st.Open(c, n.ino(), storeFlags(flags))
	if err != nil {
		return nil, 0, n.m.errno("open", err)
	}
	f, fuseFlags, errno := n.m.newFile(c, h, flags)
	if errno != 0 {
		h.Release(c)
	}
	return f, fuseFlags, errno
}

var _ = (fs.NodeCreater)((*node)(nil))

// Create is open(2) with O_CREAT on a name the kernel believes missing.
// The store opens the file that is there if another door made it
// meanwhile, unless O_EXCL.
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	c := n.m.ctx(ctx)
	cred, mode, err := n.m.newCred(c, n.ino(), mode, false)
	if err != nil {
		return nil, nil, 0, n.m.errno("create", err)
	}
	in, h, err := n.m.st.Create(c, n.ino(), name, mode, cred, storeFlags(flags))
	if err != nil {
		return nil, nil, 0, n.m.errno("create", err)
	}
	fillEntry(in, out)
	f, fuseFlags, errno := n.m.newFile(c, h, flags)
	if errno != 0 {
		h.Release(c)
		return nil, nil, 0, errno
	}
	return n.child(ctx, in), f, fuseFlags, 0
}

// storeFlags keeps the open flags the store acts on.
func storeFlags(flags uint32) int {
	return int(flags) & (syscall.O_ACCMODE | syscall.O_APPEND | syscall.O_TRUNC | syscall.O_EXCL)
}

// ioMode is how the kernel reaches an open file's data.
type ioMode uint8

const (
	// modeCached: through the daemon, via the kernel page cache.
	modeCached ioMode = iota
	// modePassthrough: the kernel reads and writes the cache file itself.
	modePassthrough
	// modeDirect: through the daemon, bypassing the page cache; it fits
	// beside opens in either of the other modes.
	modeDirect
)

func (md ioMode) String() string {
	return [...]string{"cached", "passthrough", "direct"}[md]
}

// ioTable tracks, per inode, the handles open in passthrough and cached
// mode, because the kernel refuses (EIO at open) to mix the two on one
// inode and takes one backing file per inode. Our counts rise before the
// kernel's (at our reply) and fall after them (RELEASE comes once the
// kernel let go), so deciding from them never contradicts the kernel.
type ioTable struct {
	mu sync.Mutex
	m  map[uint64]*ioState // inodes with handles in passthrough or cached mode
}

type ioState struct {
	// direct counts the open O_DIRECT handles served by the daemon: they
	// fit beside page-cached ones, but the kernel refuses (EIO) one whose
	// reply it handles after a passthrough open gave the inode a backing
	// file, so passthrough does not start while any is open.
	pt, cached, direct int
	// name is the cache file registered as the backing file of the
	// passthrough handles, and backingID its kernel id; both are set while
	// pt > 0.
	name      string
	backingID int32
}

// newFile decides how the kernel reaches the data of a new handle. The
// kernel's rules (fs/fuse/iomode.c) shape it: while an inode has a backing
// file, every open of it must be a passthrough open on that same file, and
// while it has page-cached opens, none may be passthrough. So:
//
//   - passthrough handles are open: share their backing file. If the store
//     replaced the content since (an S3 put, a UFS change), that file is the
//     old version: a reader reads it, as if it had opened a moment earlier,
//     and a writer gets EBUSY, because its writes would land in a file the
//     store no longer reads.
//   - every block is cached, and no page-cached opens stand in the way:
//     start passthrough on the cache file.
//   - else through the daemon: O_DIRECT without the page cache (it fits
//     beside page-cached opens, and holds passthrough off while open),
//     everything else with it.
func (m *mountState) newFile(ctx context.Context, h *store.Handle, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	f := &file{m: m, h: h, ino: h.Ino(), flags: flags}
	writable := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	// O_DIRECT needs no alignment through the daemon, as callers expect of
	// any FUSE file; O_SYNC writes must commit before they return.
	direct := flags&syscall.O_DIRECT != 0
	f.sync = flags&(syscall.O_SYNC|syscall.O_DSYNC) != 0 && writable
	eligible := m.passthrough.Load() && !direct && !f.sync && m.passthroughOK(ctx, f.ino, writable)

	name, named := "", false
	for {
		if (eligible || m.io.inPassthrough(f.ino)) && !named {
			// Only now: asking pins the blocks until release.
			cf, ok, err := h.CacheFile(false)
			if err != nil {
				return nil, 0, m.errno("open cache file", err)
			}
			if ok {
				name = cf.Name()
			}
			named = true
		}
		md, errno, retry := m.io.enter(m, f.ino, name, named, writable, eligible, direct)
		if retry {
			continue
		}
		if errno != 0 {
			return nil, 0, errno
		}
		f.mode = md
		break
	}
	m.stats.opens[f.mode].Add(1)
	switch f.mode {
	case modePassthrough:
		if writable {
			// Writes bypass the daemon: the store adopts what the cache
			// file holds at each commit point.
			if _, _, err := h.CacheFile(true); err != nil {
				m.io.release(m, f.ino, modePassthrough)
				return nil, 0, m.errno("open cache file", err)
			}
		}
		return f, fuse.FOPEN_PASSTHROUGH, 0
	case modeDirect:
		return f, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_PARALLEL_DIRECT_WRITES, 0
	}
	// No FOPEN_KEEP_CACHE: the files served this way are the partly
	// cached ones, and pages kept from before a passthrough period would
	// be stale. The page cache lives as long as the opens.
	return f, 0, 0
}

// inPassthrough reports whether ino has passthrough handles open.
func (t *ioTable) inPassthrough(ino uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[ino]
	return s != nil && s.pt > 0
}

// enter counts a new handle on ino and returns its mode (see newFile).
// name is the file's current cache file, when named and wholly cached.
// retry asks the caller to find name first: passthrough started meanwhile.
func (t *ioTable) enter(m *mountState, ino uint64, name string, named, writable, eligible, direct bool) (md ioMode, errno syscall.Errno, retry bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[ino]
	if s == nil {
		s = &ioState{}
		t.m[ino] = s
	}
	defer func() {
		if s.pt == 0 && s.cached == 0 && s.direct == 0 {
			delete(t.m, ino)
		}
	}()
	switch {
	case s.pt > 0:
		if !named {
			return 0, 0, true
		}
		if name != s.name && writable {
			m.log.Info("fuse: open for writing refused: the content was replaced while passthrough handles read the old one",
				"ino", ino)
			return 0, syscall.EBUSY, false
		}
		s.pt++
		return modePassthrough, 0, false
	case eligible && name != "" && s.cached == 0 && s.direct == 0:
		id, err := m.registerBacking(name)
		if err == nil {
			s.pt, s.name, s.backingID = 1, name, id
			return modePassthrough, 0, false
		}
	}
	if direct {
		s.direct++
		return modeDirect, 0, false
	}
	s.cached++
	return modeCached, 0, false
}

// passthroughOK reports whether a handle on ino may bypass the daemon. A
// writer of a setuid/setgid file may not while we clear those bits
// ourselves: its writes would never reach us.
func (m *mountState) passthroughOK(ctx context.Context, ino uint64, writable bool) bool {
	if !writable || !m.killpriv() {
		return true
	}
	in, err := m.st.GetAttr(ctx, ino)
	return err == nil && in.Mode&(syscall.S_ISUID|syscall.S_ISGID) == 0
}

// registerBacking registers cache file name with the kernel as a backing
// file. It opens its own descriptor, read-write since later handles that
// share the registration may write: the store's descriptor could be closed
// under us if the content is replaced meanwhile. The kernel keeps its own
// reference, so ours is closed at once.
func (m *mountState) registerBacking(name string) (int32, error) {
	fl := os.O_RDWR
	if m.opts.ReadOnly {
		fl = os.O_RDONLY
	}
	bf, err := os.OpenFile(name, fl, 0)
	if err != nil {
		return 0, err // replaced meanwhile: serve this open through the daemon
	}
	defer bf.Close()
	id, errno := m.srv.RegisterBackingFd(&fuse.BackingMap{Fd: int32(bf.Fd())})
	if errno != 0 {
		if errors.Is(errno, syscall.EPERM) || errors.Is(errno, syscall.ENOTTY) || errors.Is(errno, syscall.EINVAL) {
			m.log.Warn("fuse: the kernel refuses passthrough backing files; serving every file through the daemon", "err", errno)
			m.passthrough.Store(false)
		} else {
			m.log.Warn("fuse: passthrough backing file refused", "file", name, "err", errno)
		}
		return 0, errno
	}
	return id, nil
}

// release forgets a handle in mode md, and unregisters the backing file
// when the last passthrough handle goes.
func (t *ioTable) release(m *mountState, ino uint64, md ioMode) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[ino]
	if s == nil {
		return
	}
	switch md {
	case modePassthrough:
		s.pt--
		if s.pt == 0 {
			if errno := m.srv.UnregisterBackingFd(s.backingID); errno != 0 {
				m.log.Warn("fuse: unregister backing file", "ino", ino, "err", errno)
			}
			s.name, s.backingID = "", 0
		}
	case modeCached:
		s.cached--
	case modeDirect:
		s.direct--
	}
	if s.pt == 0 && s.cached == 0 && s.direct == 0 {
		delete(t.m, ino)
	}
}

// backingID is the backing file id of ino's passthrough handles.
func (t *ioTable) backingID(ino uint64) int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.m[ino]; s != nil {
		return s.backingID
	}
	return 0
}
