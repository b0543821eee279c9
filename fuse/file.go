package fuse

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/store"
)

// file is an open file: a store handle and the I/O mode the kernel was
// told. In passthrough mode the kernel reads and writes the cache file
// itself and only flush, fsync, fallocate and release come here.
type file struct {
	m     *mountState
	h     *store.Handle
	ino   uint64
	flags uint32
	mode  ioMode
	sync  bool // O_SYNC or O_DSYNC: every write is a commit point
}

var _ = (fs.FileReader)((*file)(nil))

// Read reads through the store, which fetches blocks missing from the
// cache.
func (f *file) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := f.h.Read(f.m.ctx(ctx), dest, off)
	f.m.stats.reads.Add(1)
	f.m.stats.readBytes.Add(uint64(n))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, f.m.errno("read", err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

var _ = (fs.FileWriter)((*file)(nil))

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	c := f.m.ctx(ctx)
	n, err := f.h.Write(c, data, off)
	f.m.stats.writes.Add(1)
	f.m.stats.writeBytes.Add(uint64(n))
	if err != nil {
		return uint32(n), f.m.errno("write", err)
	}
	if f.sync {
		if err := f.h.Fsync(c); err != nil {
			return 0, f.m.errno("write", err)
		}
	}
	return uint32(n), 0
}

var _ = (fs.FileWritever)((*file)(nil))

// Writev joins a write the kernel handed over in pieces, so that it stays
// one store write (one O_APPEND position, one size change).
func (f *file) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	if len(data) == 1 {
		return f.Write(ctx, data[0], off)
	}
	size := 0
	for _, d := range data {
		size += len(d)
	}
	buf := make([]byte, 0, size)
	for _, d := range data {
		buf = append(buf, d...)
	}
	return f.Write(ctx, buf, off)
}

var _ = (fs.FileFlusher)((*file)(nil))

// Flush is close(2): a commit point. Errors of the commit (and of the
// upload with CACHE_THROUGH or THROUGH) are close's errors.
func (f *file) Flush(ctx context.Context) syscall.Errno {
	return f.m.errno("flush", f.h.Flush(f.m.ctx(ctx)))
}

var _ = (fs.FileFsyncer)((*file)(nil))

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return f.m.errno("fsync", f.h.Fsync(f.m.ctx(ctx)))
}

var _ = (fs.FileReleaser)((*file)(nil))

// Release closes the handle. The kernel ignores its errors, so they are
// logged; by then flush has reported them to whoever closed the file.
func (f *file) Release(ctx context.Context) syscall.Errno {
	if err := f.h.Release(f.m.ctx(ctx)); err != nil {
		f.m.log.Warn("fuse: release", "ino", f.ino, "err", err)
	}
	f.m.io.release(f.m, f.ino, f.mode)
	f.m.stats.releases.Add(1)
	return 0
}

var _ = (fs.FileAllocater)((*file)(nil))

// Allocate is fallocate(2). Space is never reserved ahead (the cache is
// sparse and shared), so mode 0 only extends the size, and KEEP_SIZE does
// nothing; punching and zeroing ranges are not supported.
func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	switch mode {
	case 0:
		return f.m.errno("fallocate", f.h.Grow(f.m.ctx(ctx), int64(off+size)))
	case unix.FALLOC_FL_KEEP_SIZE:
		return 0
	}
	return syscall.EOPNOTSUPP
}

var _ = (fs.FileLseeker)((*file)(nil))

// Lseek answers ENOSYS once, after which the kernel answers SEEK_DATA and
// SEEK_HOLE itself (the whole file is data, its end the only hole), which
// POSIX allows and which costs no round trip.
func (f *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return 0, syscall.ENOSYS
}
