package fuse

import (
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/hoardfs/hoard/store/metrics"
)

// meteredFS records every request the daemon answers into the
// hoard_fuse_* families: its count, whether it failed and how long it took,
// and the bytes of reads and writes. Mount installs it around rawFS only
// when Options.Metrics is set, so that a mount without metrics pays not
// even a time.Now per request.
//
// Reads and writes of passthrough handles are done by the kernel on the
// cache file and never reach the daemon: they are not counted here, in
// hoard_fuse_ops_total or in the byte counters. Forget and batch forget
// are not timed either: the kernel expects no answer to them, and they
// would only count the dentries the kernel drops.
//
// The latency is the time the daemon took to work out the answer; go-fuse
// writes it to /dev/fuse after the method returns.
type meteredFS struct {
	fuse.RawFileSystem
	reg *metrics.Registry
	// ops holds one recorder per operation, resolved at mount time so that
	// a request costs no lookup by name.
	ops [numOps]*metrics.FuseOpRecorder
}

// op indexes meteredFS.ops.
type op uint8

const (
	opLookup op = iota
	opGetattr
	opSetattr
	opMknod
	opMkdir
	opUnlink
	opRmdir
	opRename
	opLink
	opSymlink
	opReadlink
	opAccess
	opGetxattr
	opListxattr
	opSetxattr
	opRemovexattr
	opCreate
	opTmpfile
	opOpen
	opRead
	opLseek
	opGetlk
	opSetlk
	opSetlkw
	opRelease
	opWrite
	opCopyFileRange
	opIoctl
	opFlush
	opFsync
	opFallocate
	opOpendir
	opReaddir
	opReaddirplus
	opReleasedir
	opFsyncdir
	opStatfs
	opStatx
	numOps
)

// opNames are the label values of hoard_fuse_*{op}: the kernel's names of
// the requests (FUSE_LOOKUP, ...) in lower case. RENAME and RENAME2 are
// both "rename", as go-fuse hands both to Rename.
var opNames = [numOps]string{
	opLookup:        "lookup",
	opGetattr:       "getattr",
	opSetattr:       "setattr",
	opMknod:         "mknod",
	opMkdir:         "mkdir",
	opUnlink:        "unlink",
	opRmdir:         "rmdir",
	opRename:        "rename",
	opLink:          "link",
	opSymlink:       "symlink",
	opReadlink:      "readlink",
	opAccess:        "access",
	opGetxattr:      "getxattr",
	opListxattr:     "listxattr",
	opSetxattr:      "setxattr",
	opRemovexattr:   "removexattr",
	opCreate:        "create",
	opTmpfile:       "tmpfile",
	opOpen:          "open",
	opRead:          "read",
	opLseek:         "lseek",
	opGetlk:         "getlk",
	opSetlk:         "setlk",
	opSetlkw:        "setlkw",
	opRelease:       "release",
	opWrite:         "write",
	opCopyFileRange: "copy_file_range",
	opIoctl:         "ioctl",
	opFlush:         "flush",
	opFsync:         "fsync",
	opFallocate:     "fallocate",
	opOpendir:       "opendir",
	opReaddir:       "readdir",
	opReaddirplus:   "readdirplus",
	opReleasedir:    "releasedir",
	opFsyncdir:      "fsyncdir",
	opStatfs:        "statfs",
	opStatx:         "statx",
}

func newMeteredFS(raw fuse.RawFileSystem, reg *metrics.Registry) *meteredFS {
	m := &meteredFS{RawFileSystem: raw, reg: reg}
	for i, name := range opNames {
		m.ops[i] = reg.FuseOpFor(name)
	}
	return m
}

// done records one request of o that started at start and was answered st.
func (m *meteredFS) done(o op, start time.Time, st fuse.Status) {
	m.ops[o].Done(start, !st.Ok())
}

// Lookup counts a missing name as a failure even when it is answered as a
// negative entry (OK with node id 0, which go-fuse sends instead of ENOENT
// when NegativeTimeout is set, so that the kernel caches the miss).
func (m *meteredFS) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Lookup(cancel, h, name, out)
	m.ops[opLookup].Done(start, !st.Ok() || out.NodeId == 0)
	return st
}

func (m *meteredFS) GetAttr(cancel <-chan struct{}, in *fuse.GetAttrIn, out *fuse.AttrOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.GetAttr(cancel, in, out)
	m.done(opGetattr, start, st)
	return st
}

func (m *meteredFS) SetAttr(cancel <-chan struct{}, in *fuse.SetAttrIn, out *fuse.AttrOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.SetAttr(cancel, in, out)
	m.done(opSetattr, start, st)
	return st
}

func (m *meteredFS) Mknod(cancel <-chan struct{}, in *fuse.MknodIn, name string, out *fuse.EntryOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Mknod(cancel, in, name, out)
	m.done(opMknod, start, st)
	return st
}

func (m *meteredFS) Mkdir(cancel <-chan struct{}, in *fuse.MkdirIn, name string, out *fuse.EntryOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Mkdir(cancel, in, name, out)
	m.done(opMkdir, start, st)
	return st
}

func (m *meteredFS) Unlink(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Unlink(cancel, h, name)
	m.done(opUnlink, start, st)
	return st
}

func (m *meteredFS) Rmdir(cancel <-chan struct{}, h *fuse.InHeader, name string) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Rmdir(cancel, h, name)
	m.done(opRmdir, start, st)
	return st
}

func (m *meteredFS) Rename(cancel <-chan struct{}, in *fuse.RenameIn, oldName, newName string) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Rename(cancel, in, oldName, newName)
	m.done(opRename, start, st)
	return st
}

func (m *meteredFS) Link(cancel <-chan struct{}, in *fuse.LinkIn, name string, out *fuse.EntryOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Link(cancel, in, name, out)
	m.done(opLink, start, st)
	return st
}

func (m *meteredFS) Symlink(cancel <-chan struct{}, h *fuse.InHeader, target, name string, out *fuse.EntryOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Symlink(cancel, h, target, name, out)
	m.done(opSymlink, start, st)
	return st
}

func (m *meteredFS) Readlink(cancel <-chan struct{}, h *fuse.InHeader) ([]byte, fuse.Status) {
	start := time.Now()
	out, st := m.RawFileSystem.Readlink(cancel, h)
	m.done(opReadlink, start, st)
	return out, st
}

func (m *meteredFS) Access(cancel <-chan struct{}, in *fuse.AccessIn) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Access(cancel, in)
	m.done(opAccess, start, st)
	return st
}

func (m *meteredFS) GetXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string, dest []byte) (uint32, fuse.Status) {
	start := time.Now()
	n, st := m.RawFileSystem.GetXAttr(cancel, h, attr, dest)
	m.done(opGetxattr, start, st)
	return n, st
}

func (m *meteredFS) ListXAttr(cancel <-chan struct{}, h *fuse.InHeader, dest []byte) (uint32, fuse.Status) {
	start := time.Now()
	n, st := m.RawFileSystem.ListXAttr(cancel, h, dest)
	m.done(opListxattr, start, st)
	return n, st
}

func (m *meteredFS) SetXAttr(cancel <-chan struct{}, in *fuse.SetXAttrIn, attr string, data []byte) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.SetXAttr(cancel, in, attr, data)
	m.done(opSetxattr, start, st)
	return st
}

func (m *meteredFS) RemoveXAttr(cancel <-chan struct{}, h *fuse.InHeader, attr string) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.RemoveXAttr(cancel, h, attr)
	m.done(opRemovexattr, start, st)
	return st
}

func (m *meteredFS) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Create(cancel, in, name, out)
	m.done(opCreate, start, st)
	return st
}

func (m *meteredFS) Tmpfile(cancel <-chan struct{}, in *fuse.CreateIn, out *fuse.CreateOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Tmpfile(cancel, in, out)
	m.done(opTmpfile, start, st)
	return st
}

func (m *meteredFS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Open(cancel, in, out)
	m.done(opOpen, start, st)
	return st
}

// Read counts the bytes it answers with. Hoard's reads return the data
// itself (fuse.ReadResultData), so Size is exact.
func (m *meteredFS) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	start := time.Now()
	res, st := m.RawFileSystem.Read(cancel, in, buf)
	m.done(opRead, start, st)
	if st.Ok() && res != nil {
		m.reg.FuseBytes(int64(res.Size()), 0)
	}
	return res, st
}

func (m *meteredFS) Lseek(cancel <-chan struct{}, in *fuse.LseekIn, out *fuse.LseekOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Lseek(cancel, in, out)
	m.done(opLseek, start, st)
	return st
}

func (m *meteredFS) GetLk(cancel <-chan struct{}, in *fuse.LkIn, out *fuse.LkOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.GetLk(cancel, in, out)
	m.done(opGetlk, start, st)
	return st
}

func (m *meteredFS) SetLk(cancel <-chan struct{}, in *fuse.LkIn) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.SetLk(cancel, in)
	m.done(opSetlk, start, st)
	return st
}

// SetLkw counts the time spent waiting for the lock too: that is what the
// caller waited.
func (m *meteredFS) SetLkw(cancel <-chan struct{}, in *fuse.LkIn) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.SetLkw(cancel, in)
	m.done(opSetlkw, start, st)
	return st
}

// Release has no answer status: the kernel does not wait for it.
func (m *meteredFS) Release(cancel <-chan struct{}, in *fuse.ReleaseIn) {
	start := time.Now()
	m.RawFileSystem.Release(cancel, in)
	m.done(opRelease, start, fuse.OK)
}

// Write is what go-fuse calls for WRITE when Writev answers ENOSYS.
func (m *meteredFS) Write(cancel <-chan struct{}, in *fuse.WriteIn, data []byte) (uint32, fuse.Status) {
	start := time.Now()
	n, st := m.RawFileSystem.Write(cancel, in, data)
	m.done(opWrite, start, st)
	m.wrote(n, st)
	return n, st
}

// Writev is what go-fuse calls first for WRITE. An ENOSYS answer is not
// recorded: go-fuse then calls Write, which records the request once.
func (m *meteredFS) Writev(cancel <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	start := time.Now()
	n, st := m.RawFileSystem.Writev(cancel, in, data)
	if st == fuse.ENOSYS {
		return n, st
	}
	m.done(opWrite, start, st)
	m.wrote(n, st)
	return n, st
}

// wrote counts the bytes of a write that succeeded: a failed one reaches
// the application as an error, whatever part of it landed in the cache.
func (m *meteredFS) wrote(n uint32, st fuse.Status) {
	if st.Ok() {
		m.reg.FuseBytes(0, int64(n))
	}
}

// CopyFileRange moves bytes between two files of the mount without them
// passing through an application, so they are not counted as written.
func (m *meteredFS) CopyFileRange(cancel <-chan struct{}, in *fuse.CopyFileRangeIn) (uint32, fuse.Status) {
	start := time.Now()
	n, st := m.RawFileSystem.CopyFileRange(cancel, in)
	m.done(opCopyFileRange, start, st)
	return n, st
}

func (m *meteredFS) Ioctl(cancel <-chan struct{}, in *fuse.IoctlIn, inbuf []byte, out *fuse.IoctlOut, outbuf []byte) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Ioctl(cancel, in, inbuf, out, outbuf)
	m.done(opIoctl, start, st)
	return st
}

func (m *meteredFS) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Flush(cancel, in)
	m.done(opFlush, start, st)
	return st
}

func (m *meteredFS) Fsync(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Fsync(cancel, in)
	m.done(opFsync, start, st)
	return st
}

func (m *meteredFS) Fallocate(cancel <-chan struct{}, in *fuse.FallocateIn) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Fallocate(cancel, in)
	m.done(opFallocate, start, st)
	return st
}

func (m *meteredFS) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.OpenDir(cancel, in, out)
	m.done(opOpendir, start, st)
	return st
}

func (m *meteredFS) ReadDir(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.ReadDir(cancel, in, out)
	m.done(opReaddir, start, st)
	return st
}

func (m *meteredFS) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.ReadDirPlus(cancel, in, out)
	m.done(opReaddirplus, start, st)
	return st
}

// ReleaseDir has no answer status, like Release.
func (m *meteredFS) ReleaseDir(in *fuse.ReleaseIn) {
	start := time.Now()
	m.RawFileSystem.ReleaseDir(in)
	m.done(opReleasedir, start, fuse.OK)
}

func (m *meteredFS) FsyncDir(cancel <-chan struct{}, in *fuse.FsyncIn) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.FsyncDir(cancel, in)
	m.done(opFsyncdir, start, st)
	return st
}

func (m *meteredFS) StatFs(cancel <-chan struct{}, h *fuse.InHeader, out *fuse.StatfsOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.StatFs(cancel, h, out)
	m.done(opStatfs, start, st)
	return st
}

func (m *meteredFS) Statx(cancel <-chan struct{}, in *fuse.StatxIn, out *fuse.StatxOut) fuse.Status {
	start := time.Now()
	st := m.RawFileSystem.Statx(cancel, in, out)
	m.done(opStatx, start, st)
	return st
}
