package fuse

import (
	"context"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"

	"github.com/hoardfs/hoard/store"
)

// Extended attributes live in the store's metadata, in every namespace
// (user, trusted, security). With FUSE_HANDLE_KILLPRIV_V2 the kernel asks
// for security.capability once per inode and attribute refresh instead of
// before every write; the answer is an ordinary store lookup.

var _ = (fs.NodeGetxattrer)((*node)(nil))

// Getxattr copies the value into dest, or with an empty dest reports its
// size; a dest too small is ERANGE with the size, as getxattr(2) wants.
func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	n.m.stats.getxattrs.Add(1)
	v, err := n.m.st.GetXattr(n.m.ctx(ctx), n.ino(), attr)
	if err != nil {
		return 0, n.m.errno("getxattr", err)
	}
	if len(dest) == 0 {
		return uint32(len(v)), 0
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

var _ = (fs.NodeSetxattrer)((*node)(nil))

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if strings.HasPrefix(attr, "system.") {
		// POSIX ACLs (system.posix_acl_*) and the like are not kept: saying
		// so makes cp -a, tar and rsync fall back to chmod, where storing
		// them silently would leave the mode they created the file with.
		return syscall.EOPNOTSUPP
	}
	var sf int
	if flags&xattrCreate != 0 {
		sf |= store.XattrCreate
	}
	if flags&xattrReplace != 0 {
		sf |= store.XattrReplace
	}
	return n.m.errno("setxattr", n.m.st.SetXattr(n.m.ctx(ctx), n.ino(), attr, data, sf))
}

// setxattr(2) flags.
const (
	xattrCreate  = 1
	xattrReplace = 2
)

var _ = (fs.NodeRemovexattrer)((*node)(nil))

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	return n.m.errno("removexattr", n.m.st.RemoveXattr(n.m.ctx(ctx), n.ino(), attr))
}

var _ = (fs.NodeListxattrer)((*node)(nil))

// Listxattr writes the names, each NUL-terminated, into dest, with the
// same size protocol as Getxattr.
func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	names, err := n.m.st.ListXattr(n.m.ctx(ctx), n.ino())
	if err != nil {
		return 0, n.m.errno("listxattr", err)
	}
	size := 0
	for _, nm := range names {
		size += len(nm) + 1
	}
	if len(dest) == 0 {
		return uint32(size), 0
	}
	if len(dest) < size {
		return uint32(size), syscall.ERANGE
	}
	off := 0
	for _, nm := range names {
		off += copy(dest[off:], nm)
		dest[off] = 0
		off++
	}
	return uint32(size), 0
}
