package integration

// Regressions: each test pins down a bug found and fixed, and says what it
// was.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

// TestOSSMultipartUploadsUnderFaults: files of several MiB, above the
// multipart threshold (1MB here, parts of 512KiB), written under the same
// faults as TestOSSFaultsLoseNothing (20% of OSS requests failing, 10%
// dropped), reach OSS intact within a minute, and no multipart upload is
// left behind.
//
// It was: a multipart upload does not retry a failed part: one failed
// UploadPart aborts the whole upload, and the retry layer starts the Put
// again from part 1. An upload of n requests then succeeds with
// probability 0.72^n per attempt (7 MiB in 15 parts: about 0.6%), so big
// files stay TO_BE_PERSISTED for minutes or for ever. And the
// AbortMultipartUpload after each failure is tried once: when it fails
// too (as 28% of requests do here) the upload and its parts stay in the
// bucket ("abort multipart upload failed; its parts stay until a
// lifecycle rule removes them" in the log).
func TestOSSMultipartUploadsUnderFaults(t *testing.T) {
	srv, h := startMultipartOSS(t)
	srv.SetFaults(osstest.Faults{ErrorRate: 0.2, DropRate: 0.1})

	files := map[string][]byte{}
	writeTypes := []string{"ASYNC_THROUGH", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"}
	for i, size := range []int{3<<20 + 17, 5 << 20, 7<<20 + 100<<10 + 3, 2<<20 + 1} {
		p := fmt.Sprintf("/multipart/big%d", i)
		files[p] = patterned(p, size) // differs part to part: misplaced parts show
		if _, err := h.write(p, writeTypes[i], files[p]); err != nil {
			// Committed all the same; the persist queue must get it there.
			t.Logf("%s (%s): %v", p, writeTypes[i], err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range sortedKeys(files) {
		data := files[p]
		left := max(time.Until(deadline), time.Second)
		code, b := h.admin("GET", "persistence", url.Values{"path": {p}, "wait": {"PERSISTED"}, "timeout": {left.Round(time.Second).String()}}, nil)
		var e adminEntry
		if code != 200 || json.Unmarshal(b, &e) != nil {
			t.Errorf("%s (%d bytes) did not reach OSS within 60s: %d %s", p, len(data), code, b)
			continue
		}
		if got, _, ok := srv.Object("bucket", "dir"+p); !ok || !bytes.Equal(got, data) {
			t.Errorf("%s in OSS: ok=%v, %d bytes, want %d (first difference at byte %d)", p, ok, len(got), len(data), firstDiff(got, data))
		}
	}
	srv.SetFaults(osstest.Faults{})
	if ups := srv.Uploads("bucket"); len(ups) != 0 {
		t.Errorf("%d multipart uploads left behind in the bucket (their parts stay, and are billed, until a lifecycle rule removes them): %v", len(ups), ups)
	}
	t.Logf("OSS requests: %d InitiateMultipartUpload, %d UploadPart, %d CompleteMultipartUpload, %d AbortMultipartUpload; %d 'abort multipart upload failed' in the log",
		srv.Count(osstest.OpInitiateMultipartUpload), srv.Count(osstest.OpUploadPart), srv.Count(osstest.OpCompleteMultipartUpload),
		srv.Count(osstest.OpAbortMultipartUpload), strings.Count(h.output(), "abort multipart upload failed"))
}

// TestDeleteBucketOfMountPointSaysWhy: S3 DeleteBucket of a read-write
// mount point is refused (see TestS3ViewOfMounts), and the refusal says
// why: it is a mount point (unmount it with `hoard fs unmount`).
//
// It was: the gateway answers 403 AccessDenied "Access Denied: the path is on
// a read-only mount" for a mount that is not read-only: the store refuses
// the rmdir of a mount point with EPERM, which the gateway maps to its
// read-only-mount error, and it does so before it looks whether the bucket
// is empty.
func TestDeleteBucketOfMountPointSaysWhy(t *testing.T) {
	fastExit(t)
	h := newHoard(t, noFUSE)
	h.start()
	h.must("fs", "mount", "/rwmount", "file://"+t.TempDir())
	code, b := h.s3do("DELETE", "/rwmount", nil)
	var e struct{ Code, Message string }
	xml.Unmarshal(b, &e)
	if code/100 == 2 || code >= 500 || e.Code == "" {
		t.Fatalf("DeleteBucket of a mount point: %d %s, want an S3 refusal", code, b)
	}
	if strings.Contains(e.Message, "read-only") || !strings.Contains(e.Message, "mount point") {
		t.Fatalf("DeleteBucket of a read-write mount point: %d %s %q; want a message that says it is a mount point, and no word of a read-only mount", code, e.Code, e.Message)
	}
}

// TestReadOnlyLocalMountWritesNothing: `hoard fs mount --readonly` of a
// local directory leaves the directory as it was, and works on a
// directory Hoard cannot write to at all (here a read-only tmpfs: a
// dataset on read-only media or a read-only bind mount).
//
// It was: opening the local UFS creates its staging directory, .hoard-tmp,
// in the mounted directory even for a read-only mount, and fails the mount
// when it cannot ("staging directory: ... read-only file system").
func TestReadOnlyLocalMountWritesNothing(t *testing.T) {
	fastExit(t)
	h := newHoard(t, noFUSE)
	h.start()
	seed := []byte("a file on read-only media")

	// A writable directory, mounted read-only: nothing may appear in it.
	rw := t.TempDir()
	if err := os.WriteFile(filepath.Join(rw, "seed.txt"), seed, 0o644); err != nil {
		t.Fatal(err)
	}
	h.must("fs", "mount", "--readonly", "/ro1", "file://"+rw)
	if out := h.must("fs", "cat", "/ro1/seed.txt"); out != string(seed) {
		t.Fatalf("cat /ro1/seed.txt: %q", out)
	}
	var names []string
	ents, _ := os.ReadDir(rw)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "seed.txt" {
		t.Errorf("a read-only mount wrote into its directory: it holds %v, was [seed.txt]", names)
	}

	// A read-only file system.
	ro := t.TempDir()
	if err := syscall.Mount("tmpfs", ro, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount a tmpfs (the test needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(ro, syscall.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(ro, "seed.txt"), seed, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", ro, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount the tmpfs read-only: %v", err)
	}
	out, err := h.command("fs", "mount", "--readonly", "/ro2", "file://"+ro)
	if err != nil {
		t.Fatalf("read-only mount of a read-only file system: %v\n%s", err, out)
	}
	if out := h.must("fs", "cat", "/ro2/seed.txt"); out != string(seed) {
		t.Fatalf("cat /ro2/seed.txt: %q", out)
	}
}
