package fuse

import (
	"context"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/hoardfs/hoard/store"
)

// node is one file, directory or symlink the kernel knows. It holds nothing
// but the mount: its identity is the store inode number in its StableAttr,
// and everything else is asked of the store, so that a node can never
// disagree with it.
type node struct {
	fs.Inode
	m *mountState
}

var _ = (fs.InodeEmbedder)((*node)(nil))

// ino is the store inode number of n.
func (n *node) ino() uint64 { return n.StableAttr().Ino }

// child makes the kernel node of store inode in, found in directory n.
// go-fuse keeps the node it knows already when there is one.
func (n *node) child(ctx context.Context, in *store.Inode) *fs.Inode {
	return n.NewInode(ctx, &node{m: n.m}, fs.StableAttr{Mode: typeBits(in.Type), Ino: in.Ino, Gen: in.Gen})
}

// typeBits is the S_IFMT part of a store file type.
func typeBits(t store.FileType) uint32 {
	switch t {
	case store.TypeDir:
		return syscall.S_IFDIR
	case store.TypeSymlink:
		return syscall.S_IFLNK
	}
	return syscall.S_IFREG
}

// blksize is the I/O size we suggest in st_blksize: cp, stdio and friends
// size their buffers by it, and every write that reaches the daemon costs a
// round trip.
const blksize = 128 << 10

// fillAttr converts store attributes to the kernel's.
func fillAttr(in *store.Inode, out *fuse.Attr) {
	out.Ino = in.Ino
	out.Size = uint64(in.Size)
	out.Blocks = (uint64(in.Size) + 511) / 512
	out.Blksize = blksize
	out.Mode = typeBits(in.Type) | in.Mode&0o7777
	out.Nlink = in.Nlink
	out.Uid, out.Gid = in.Uid, in.Gid
	out.Rdev = 0
	out.Atime, out.Atimensec = splitNs(in.Atime)
	out.Mtime, out.Mtimensec = splitNs(in.Mtime)
	out.Ctime, out.Ctimensec = splitNs(in.Ctime)
}

func splitNs(ns int64) (uint64, uint32) {
	if ns < 0 {
		return 0, 0
	}
	return uint64(ns / 1e9), uint32(ns % 1e9)
}

// fillEntry fills a lookup answer.
func fillEntry(in *store.Inode, out *fuse.EntryOut) {
	fillAttr(in, &out.Attr)
	out.Generation = in.Gen
}

// reqCtx is a request's context (its cancellation and caller) carrying the
// mount's values (origin, write and read types) for the store.
type reqCtx struct {
	context.Context
	base context.Context
}

func (c reqCtx) Value(k any) any {
	if v := c.Context.Value(k); v != nil {
		return v
	}
	return c.base.Value(k)
}

// ctx prepares a request context for a store call.
func (m *mountState) ctx(c context.Context) context.Context { return reqCtx{c, m.base} }

// callerCred is who makes a request.
func callerCred(ctx context.Context) store.Cred {
	if c, ok := fuse.FromContext(ctx); ok {
		return store.Cred{Uid: c.Uid, Gid: c.Gid}
	}
	return store.Cred{}
}

// newCred is the owner of a new entry in directory parent: the caller, with
// the directory's group if the directory is setgid (and then a new
// directory is setgid too), as on every POSIX file system.
func (m *mountState) newCred(ctx context.Context, parent uint64, mode uint32, dir bool) (store.Cred, uint32, error) {
	cred := callerCred(ctx)
	p, err := m.st.GetAttr(ctx, parent)
	if err != nil {
		return cred, mode, err
	}
	if p.Mode&syscall.S_ISGID != 0 {
		cred.Gid = p.Gid
		if dir {
			mode |= syscall.S_ISGID
		}
	}
	return cred, mode & 0o7777, nil
}

// timePtr is a helper for store.SetAttrIn.
func timePtr(t time.Time, ok bool) *time.Time {
	if !ok {
		return nil
	}
	return &t
}
