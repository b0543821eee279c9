package fuse

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/hoardfs/hoard/store"
)

var _ = (fs.NodeLookuper)((*node)(nil))

// Lookup finds name in directory n. ENOENT is cached by the kernel for
// NegativeTimeout (go-fuse turns it into a negative entry).
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	in, err := n.m.st.Lookup(n.m.ctx(ctx), n.ino(), name)
	if err != nil {
		return nil, n.m.errno("lookup", err)
	}
	fillEntry(in, out)
	return n.child(ctx, in), 0
}

var _ = (fs.NodeGetattrer)((*node)(nil))

// Getattr answers stat(2). The store overlays uncommitted writes of open
// files, so a writer's stat sees its own size.
func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	in, err := n.m.st.GetAttr(n.m.ctx(ctx), n.ino())
	if err != nil {
		return n.m.errno("getattr", err)
	}
	fillAttr(in, &out.Attr)
	return 0
}

var _ = (fs.NodeSetattrer)((*node)(nil))

// Setattr is chmod, chown, truncate and utimens, in one store call.
func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	c := n.m.ctx(ctx)
	var sa store.SetAttrIn
	if mode, ok := in.GetMode(); ok {
		mode &= 0o7777 // setuid, setgid and sticky included: they must survive chmod
		sa.Mode = &mode
	}
	if uid, ok := in.GetUID(); ok {
		sa.Uid = &uid
	}
	if gid, ok := in.GetGID(); ok {
		sa.Gid = &gid
	}
	if size, ok := in.GetSize(); ok {
		sz := int64(size)
		sa.Size = &sz
	}
	sa.Atime = timePtr(in.GetATime())
	sa.Mtime = timePtr(in.GetMTime())

	// With FUSE_HANDLE_KILLPRIV_V2 the kernel leaves it to us to clear
	// setuid/setgid on chown and on a truncate it flags.
	chown := sa.Uid != nil || sa.Gid != nil
	if sa.Mode == nil && n.StableAttr().Mode == syscall.S_IFREG && n.m.killpriv() &&
		(chown || in.Valid&fuse.FATTR_KILL_SUIDGID != 0 && sa.Size != nil) {
		cur, err := n.m.st.GetAttr(c, n.ino())
		if err != nil {
			return n.m.errno("setattr", err)
		}
		if mode, kill := killedMode(cur.Mode); kill {
			sa.Mode = &mode
		}
	}

	res, err := n.m.st.SetAttr(c, n.ino(), sa)
	if err != nil {
		return n.m.errno("setattr", err)
	}
	fillAttr(res, &out.Attr)
	return 0
}

// killedMode is mode without the bits a write by an unprivileged caller
// clears: setuid, and setgid when group execute is set (without it, setgid
// means mandatory locking, which stays).
func killedMode(mode uint32) (uint32, bool) {
	nm := mode &^ syscall.S_ISUID
	if mode&(syscall.S_ISGID|syscall.S_IXGRP) == syscall.S_ISGID|syscall.S_IXGRP {
		nm &^= syscall.S_ISGID
	}
	return nm, nm != mode
}

// killpriv reports whether the kernel left clearing setuid/setgid to us.
func (m *mountState) killpriv() bool {
	return m.opts.HandleKillpriv && m.srv != nil && m.srv.KernelSettings().Flags64()&fuse.CAP_HANDLE_KILLPRIV_V2 != 0
}

// killPrivIno clears setuid/setgid of file ino if it has them, for a write
// or an O_TRUNC open flagged by the kernel.
func (m *mountState) killPrivIno(ctx context.Context, ino uint64) {
	cur, err := m.st.GetAttr(ctx, ino)
	if err != nil || cur.Type != store.TypeFile {
		return
	}
	if mode, kill := killedMode(cur.Mode); kill {
		if _, err := m.st.SetAttr(ctx, ino, store.SetAttrIn{Mode: &mode}); err != nil {
			m.errno("clear setuid", err)
		}
	}
}

var _ = (fs.NodeReadlinker)((*node)(nil))

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	t, err := n.m.st.Readlink(n.m.ctx(ctx), n.ino())
	if err != nil {
		return nil, n.m.errno("readlink", err)
	}
	return []byte(t), 0
}

var _ = (fs.NodeStatfser)((*node)(nil))

// Statfs reports the cache quota as the size of the file system: it is
// what a writer can fill before data must wait for the UFS.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	s := n.m.st.StatFS()
	out.Blocks, out.Bfree, out.Bavail = s.Blocks, s.Bfree, s.Bfree
	out.Files, out.Ffree = s.Files, s.Ffree
	out.Bsize, out.Frsize = s.BlockSize, s.BlockSize
	out.NameLen = s.NameLen
	return 0
}
