package fuse

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/store"
)

var _ = (fs.NodeMkdirer)((*node)(nil))

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	c := n.m.ctx(ctx)
	cred, mode, err := n.m.newCred(c, n.ino(), mode, true)
	if err != nil {
		return nil, n.m.errno("mkdir", err)
	}
	in, err := n.m.st.Mkdir(c, n.ino(), name, mode, cred)
	if err != nil {
		return nil, n.m.errno("mkdir", err)
	}
	fillEntry(in, out)
	return n.child(ctx, in), 0
}

var _ = (fs.NodeMknoder)((*node)(nil))

// Mknod makes regular files only: object stores hold no devices, FIFOs or
// sockets.
func (n *node) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if mode&syscall.S_IFMT != syscall.S_IFREG && mode&syscall.S_IFMT != 0 {
		return nil, syscall.EPERM
	}
	c := n.m.ctx(ctx)
	cred, mode, err := n.m.newCred(c, n.ino(), mode, false)
	if err != nil {
		return nil, n.m.errno("mknod", err)
	}
	in, h, err := n.m.st.Create(c, n.ino(), name, mode, cred, syscall.O_RDWR|syscall.O_EXCL)
	if err != nil {
		return nil, n.m.errno("mknod", err)
	}
	if err := h.Release(c); err != nil {
		return nil, n.m.errno("mknod", err)
	}
	fillEntry(in, out)
	return n.child(ctx, in), 0
}

var _ = (fs.NodeRmdirer)((*node)(nil))

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.m.errno("rmdir", n.m.st.Rmdir(n.m.ctx(ctx), n.ino(), name))
}

var _ = (fs.NodeUnlinker)((*node)(nil))

// Unlink removes a name; an open file stays readable through its handles
// until they are released (the store keeps the inode until then).
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.m.errno("unlink", n.m.st.Unlink(n.m.ctx(ctx), n.ino(), name))
}

var _ = (fs.NodeRenamer)((*node)(nil))

// Rename is rename(2) and renameat2(2) with RENAME_NOREPLACE or
// RENAME_EXCHANGE; RENAME_WHITEOUT (overlayfs) has no meaning here.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	var sf int
	switch flags {
	case 0:
	case unix.RENAME_NOREPLACE:
		sf = store.RenameNoReplace
	case unix.RENAME_EXCHANGE:
		sf = store.RenameExchange
	default:
		return syscall.EINVAL
	}
	return n.m.errno("rename", n.m.st.Rename(n.m.ctx(ctx), n.ino(), name, np.ino(), newName, sf))
}

var _ = (fs.NodeSymlinker)((*node)(nil))

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	c := n.m.ctx(ctx)
	cred, _, err := n.m.newCred(c, n.ino(), 0, false)
	if err != nil {
		return nil, n.m.errno("symlink", err)
	}
	in, err := n.m.st.Symlink(c, n.ino(), name, target, cred)
	if err != nil {
		return nil, n.m.errno("symlink", err)
	}
	fillEntry(in, out)
	return n.child(ctx, in), 0
}

var _ = (fs.NodeLinker)((*node)(nil))

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	t, ok := target.(*node)
	if !ok {
		return nil, syscall.EXDEV
	}
	in, err := n.m.st.Link(n.m.ctx(ctx), t.ino(), n.ino(), name)
	if err != nil {
		return nil, n.m.errno("link", err)
	}
	fillEntry(in, out)
	return n.child(ctx, in), 0
}

var _ = (fs.NodeOpendirHandler)((*node)(nil))

// OpendirHandle opens a directory listing. Entries stream from the store
// in batches; nothing holds a pebble iterator between two READDIR
// requests.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	in, err := n.m.st.GetAttr(n.m.ctx(ctx), n.ino())
	if err != nil {
		return nil, 0, n.m.errno("opendir", err)
	}
	if in.Type != store.TypeDir {
		return nil, 0, syscall.ENOTDIR
	}
	parent := in.Parent
	if parent == 0 || n.ino() == store.RootIno {
		parent = n.ino()
	}
	return &dirHandle{n: n, parent: parent}, 0, 0
}

// dirBatch is how many entries a directory handle reads from the store at
// a time: about what two READDIRPLUS replies hold.
const dirBatch = 128

// dirHandle is an open directory. Offsets (d_off) count entries from the
// start, "." and ".." first, so that telldir/seekdir work; a seek to an
// offset not in the last batch lists again from the start, which is what
// a stream without stable cookies costs.
type dirHandle struct {
	n      *node
	parent uint64

	batch []store.DirEntry // entries read from the store, not yet returned
	pos   int              // index in batch of the next entry
	next  uint64           // offset (index from the start) of the next entry
	after string           // name of the last entry read from the store
	eof   bool             // the store has no entries after batch
	last  store.DirEntry   // the entry Readdirent returned last, for Lookup
	// seen holds the offset and name of the entries of the last batch, so
	// that a seek back into it (an interrupted getdents) is cheap.
	seen []seenEntry
}

type seenEntry struct {
	off  uint64 // d_off of the entry: the offset after it
	name string
}

var _ = (fs.FileReaddirenter)((*dirHandle)(nil))

// Readdirent returns the next entry, or nil at the end.
func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	m := d.n.m
	switch d.next {
	case 0:
		d.next = 1
		return &fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR, Ino: d.n.ino(), Off: 1}, 0
	case 1:
		d.next = 2
		return &fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Ino: d.parent, Off: 2}, 0
	}
	if d.pos >= len(d.batch) {
		if d.eof {
			return nil, 0
		}
		if err := d.fill(m.ctx(ctx)); err != nil {
			return nil, m.errno("readdir", err)
		}
		if len(d.batch) == 0 {
			return nil, 0
		}
	}
	e := d.batch[d.pos]
	d.pos++
	d.next++
	d.last = e
	d.seen = append(d.seen, seenEntry{off: d.next, name: e.Name})
	return &fuse.DirEntry{Name: e.Name, Mode: typeBits(e.Type), Ino: e.Ino, Off: d.next}, 0
}

// fill reads the next batch of entries from the store.
func (d *dirHandle) fill(ctx context.Context) error {
	d.batch, d.pos = d.batch[:0], 0
	if len(d.seen) > 2*dirBatch {
		d.seen = append(d.seen[:0], d.seen[len(d.seen)-dirBatch:]...)
	}
	for e, err := range d.n.m.st.ReadDir(ctx, d.n.ino(), d.after) {
		if err != nil {
			return err
		}
		d.batch = append(d.batch, e)
		if len(d.batch) == dirBatch {
			d.after = e.Name
			return nil
		}
	}
	d.eof = true
	if len(d.batch) > 0 {
		d.after = d.batch[len(d.batch)-1].Name
	}
	return nil
}

var _ = (fs.FileSeekdirer)((*dirHandle)(nil))

// Seekdir continues the listing after the entry whose d_off is off.
func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if off <= 2 {
		d.restart()
		d.next = off
		return 0
	}
	for _, s := range d.seen {
		if s.off == off {
			d.batch, d.pos, d.eof = d.batch[:0], 0, false
			d.after, d.next = s.name, off
			return 0
		}
	}
	// Not seen lately: count from the start.
	d.restart()
	d.next = 2
	for d.next < off {
		e, errno := d.Readdirent(ctx)
		if errno != 0 {
			return errno
		}
		if e == nil {
			break
		}
	}
	return 0
}

func (d *dirHandle) restart() {
	d.batch, d.pos, d.eof, d.after, d.next = d.batch[:0], 0, false, "", 0
	d.seen = d.seen[:0]
}

var _ = (fs.FileLookuper)((*dirHandle)(nil))

// Lookup answers the attribute half of READDIRPLUS for the entry just
// returned: it knows the inode already, so it skips the name lookup.
func (d *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	m := d.n.m
	if name != d.last.Name {
		return d.n.Lookup(ctx, name, out)
	}
	in, err := m.st.GetAttr(m.ctx(ctx), d.last.Ino)
	if err != nil {
		return nil, m.errno("readdirplus", err)
	}
	fillEntry(in, out)
	return d.n.child(ctx, in), 0
}

var _ = (fs.FileFsyncdirer)((*dirHandle)(nil))

// Fsyncdir makes the namespace changes made so far durable: they are
// committed to the metadata store without a sync of their own (store
// package comment, Durability).
func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return d.n.m.errno("fsyncdir", d.n.m.st.SyncMeta())
}
