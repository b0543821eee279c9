package integration

import (
	"bytes"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

// TestUnmountRefusedWhileUploadsQueued: `hoard fs unmount` of a mount with
// an upload still queued for it (its OSS refuses every write here) is
// refused with a message that says so and a non-zero exit, and changes
// nothing: the mount is still listed, its files are all there. `unmount
// --force` then detaches it and drops the upload: the objects that were in
// the bucket before are untouched, and the dropped file never lands there,
// not even once OSS works again.
func TestUnmountRefusedWhileUploadsQueued(t *testing.T) {
	fastExit(t)
	srv := newOSS(t)
	old := []byte("in the bucket before the mount")
	if err := srv.PutObject("bucket2", "dir/old.txt", old); err != nil {
		t.Fatal(err)
	}
	h := newHoard(t, noFUSE) // the root is local; only the mount is OSS
	h.start()
	h.must(mountArgs(srv, "/oss", "oss://bucket2/dir")...)
	if got := h.must("fs", "cat", "/oss/old.txt"); got != string(old) {
		t.Fatalf("cat /oss/old.txt: %q", got)
	}
	srv.SetFaults(osstest.Faults{ErrorRate: 1, Ops: []string{osstest.OpPutObject, osstest.OpInitiateMultipartUpload,
		osstest.OpUploadPart, osstest.OpCompleteMultipartUpload, osstest.OpCopyObject}})
	queued := []byte("queued, and never uploaded")
	if e, err := h.write("/oss/queued.txt", "ASYNC_THROUGH", queued); err != nil || e.State == "PERSISTED" {
		t.Fatalf("write: %+v %v", e, err)
	}
	keys := srv.Keys("bucket2")
	table := h.must("fs", "mount")
	if !regexp.MustCompile(`(?m)^oss://bucket2/dir  on  /oss  \(oss, not read-only, .*, 1 uploads queued,`).MatchString(table) {
		t.Fatalf("mount table with an upload queued:\n%s", table)
	}
	ls := h.must("fs", "ls", "-R", "/oss")

	out := h.refused("1 uploads to oss://bucket2/dir are still queued; wait for them or force", "fs", "unmount", "/oss")
	if strings.Contains(out, "Unmounted") {
		t.Fatalf("a refused unmount says it unmounted:\n%s", out)
	}
	if after := h.must("fs", "mount"); after != table {
		t.Fatalf("the mount table changed after a refused unmount:\n%s\nbefore:\n%s", after, table)
	}
	if after := h.must("fs", "ls", "-R", "/oss"); after != ls {
		t.Fatalf("the mount's files changed after a refused unmount:\n%s\nbefore:\n%s", after, ls)
	}
	if got := h.must("fs", "cat", "/oss/queued.txt"); got != string(queued) {
		t.Fatalf("cat /oss/queued.txt after a refused unmount: %q", got)
	}

	if out := h.must("fs", "unmount", "--force", "/oss"); out != "Unmounted /oss\n" {
		t.Fatalf("unmount --force: %q", out)
	}
	if table := h.must("fs", "mount"); strings.Contains(table, "/oss") {
		t.Fatalf("mount table after unmount --force:\n%s", table)
	}
	h.refused("no such file or directory", "fs", "ls", "/oss")
	if rep := h.must("fs", "report"); !strings.Contains(rep, "Persist queue depth:    0\n") {
		t.Fatalf("the dropped upload is still queued:\n%s", rep)
	}

	// OSS works again: the dropped upload must not come back.
	srv.SetFaults(osstest.Faults{})
	time.Sleep(2 * time.Second)
	if got, _, ok := srv.Object("bucket2", "dir/old.txt"); !ok || !bytes.Equal(got, old) {
		t.Fatalf("dir/old.txt after unmount --force: ok=%v %q", ok, got)
	}
	if _, _, ok := srv.Object("bucket2", "dir/queued.txt"); ok {
		t.Fatal("the upload dropped by unmount --force reached the bucket")
	}
	if after := srv.Keys("bucket2"); strings.Join(after, ",") != strings.Join(keys, ",") {
		t.Fatalf("bucket2 changed: %v, before %v", after, keys)
	}
	h.stop(syscall.SIGTERM)
}
