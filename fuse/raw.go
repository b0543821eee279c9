package fuse

import (
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// rawFS wraps go-fuse's node bridge to reach the few protocol fields its
// node API hides:
//
//   - the backing file id of a passthrough open: we register backing files
//     ourselves (node_open.go) rather than through go-fuse's
//     FilePassthroughFder, so that which cache file backs an inode, who
//     shares it and when it is unregistered are decided under one lock of
//     ours (go-fuse releases its registration after our Release returns,
//     and a new open in between would inherit a backing file for content
//     the store has replaced);
//   - the kill-setuid flags of WRITE and OPEN with FUSE_HANDLE_KILLPRIV_V2.
//
// Everything else goes to the bridge untouched.
type rawFS struct {
	fuse.RawFileSystem
	m *mountState
}

func (r *rawFS) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	if in.Mode&fuse.OPEN_KILL_SUIDGID != 0 && in.Flags&syscall.O_TRUNC != 0 && r.m.killpriv() {
		r.m.killPrivIno(r.ctx(cancel, &in.InHeader), in.NodeId)
	}
	st := r.RawFileSystem.Open(cancel, in, out)
	if st.Ok() && out.OpenFlags&fuse.FOPEN_PASSTHROUGH != 0 {
		out.BackingID = r.m.io.backingID(in.NodeId)
	}
	return st
}

func (r *rawFS) Create(cancel <-chan struct{}, in *fuse.CreateIn, name string, out *fuse.CreateOut) fuse.Status {
	st := r.RawFileSystem.Create(cancel, in, name, out)
	if !st.Ok() {
		return st
	}
	if in.OpenFlags&fuse.OPEN_KILL_SUIDGID != 0 && in.Flags&syscall.O_TRUNC != 0 && r.m.killpriv() {
		// An existing file (made by another door since the kernel last
		// looked) was opened with O_TRUNC.
		r.m.killPrivIno(r.ctx(cancel, &in.InHeader), out.NodeId)
	}
	if out.OpenFlags&fuse.FOPEN_PASSTHROUGH != 0 {
		out.BackingID = r.m.io.backingID(out.NodeId)
	}
	return st
}

func (r *rawFS) Writev(cancel <-chan struct{}, in *fuse.WriteIn, data [][]byte) (uint32, fuse.Status) {
	if in.WriteFlags&fuse.WRITE_KILL_SUIDGID != 0 {
		r.m.killPrivIno(r.ctx(cancel, &in.InHeader), in.NodeId)
	}
	return r.RawFileSystem.Writev(cancel, in, data)
}

// ctx is a store context for a raw request.
func (r *rawFS) ctx(cancel <-chan struct{}, h *fuse.InHeader) reqCtx {
	return reqCtx{&fuse.Context{Caller: h.Caller, Cancel: cancel}, r.m.base}
}
