package fuse

import "testing"

// TestDirectOpenHoldsPassthroughOff: while an O_DIRECT handle served by
// the daemon is open, a new open of the same inode is not answered with
// passthrough. The kernel would give the inode a backing file, and then
// refuse with EIO a direct open whose reply it handled after that one (a
// race CI once lost); the open goes through the page cache instead, and
// passthrough starts again once the direct handle is released.
func TestDirectOpenHoldsPassthroughOff(t *testing.T) {
	tab := &ioTable{m: map[uint64]*ioState{}}
	const ino = 7
	md, errno, retry := tab.enter(nil, ino, "", true, true, false, true)
	if md != modeDirect || errno != 0 || retry {
		t.Fatalf("O_DIRECT open: %v %v %v", md, errno, retry)
	}
	// eligible, wholly cached: would be passthrough (registerBacking, which
	// needs a mount, would run and panic on the nil one here).
	md, errno, retry = tab.enter(nil, ino, "/cache/7-1", true, false, true, false)
	if md != modeCached || errno != 0 || retry {
		t.Fatalf("open beside an O_DIRECT handle: %v %v %v, want a page-cached open", md, errno, retry)
	}
	tab.release(nil, ino, modeCached)
	tab.release(nil, ino, modeDirect)
	if len(tab.m) != 0 {
		t.Fatalf("the table still tracks %d inodes after every release", len(tab.m))
	}
}
