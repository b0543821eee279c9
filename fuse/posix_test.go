package fuse

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"
)

// TestPosix runs go-fuse's POSIX conformance tests against the mount, each
// in a directory of its own.
func TestPosix(t *testing.T) {
	e := newEnv(t)
	names := make([]string, 0, len(posixtest.All))
	for k := range posixtest.All {
		if k == "FcntlFlockLocksFile" {
			// It expects two fcntl locks of one process to conflict,
			// which POSIX record locks never do: it fails on ext4 too, and
			// go-fuse's own run leaves it out. The kernel keeps our locks
			// (TestOperations/Locks checks flock, OFD and cross-process
			// locks).
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		t.Run(k, func(t *testing.T) {
			dir := filepath.Join(e.mnt, k)
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			posixtest.All[k](t, dir)
		})
	}
}
