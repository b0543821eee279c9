package integration

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func (h *hoard) s3Client(t *testing.T) *minio.Client {
	t.Helper()
	c, err := minio.New(h.s3, &minio.Options{Creds: credentials.NewStaticV4("alice", "anything", ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *hoard) mnt() string { return filepath.Join(h.dir, "mnt") }

// TestCrossDoor: what one door writes, the other sees at once — including
// a replacement of a file whose pages the kernel has cached — and both land
// in the UFS as plain files at the same path.
func TestCrossDoor(t *testing.T) {
	h := newHoard(t)
	h.start()
	ctx := context.Background()
	s3 := h.s3Client(t)
	mnt := h.mnt()

	if err := s3.MakeBucket(ctx, "bkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	// S3 PUT, then read through the mount at once.
	body := bytes.Repeat([]byte("s3 to fuse "), 10_000)
	if _, err := s3.PutObject(ctx, "bkt", "dir/obj", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(mnt, "bkt/dir/obj"))
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("mount read after PUT: %d bytes, %v", len(got), err)
	}

	// Write through the mount, then GET.
	want := []byte("written through the mount\n")
	if err := os.WriteFile(filepath.Join(mnt, "bkt/posix.txt"), want, 0o644); err != nil {
		t.Fatal(err)
	}
	obj, err := s3.GetObject(ctx, "bkt", "posix.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("GET after mount write: %q %v", got, err)
	}

	// Cache the pages in the kernel, replace over S3, read again.
	f, err := os.Open(filepath.Join(mnt, "bkt/posix.txt"))
	if err != nil {
		t.Fatal(err)
	}
	first, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(first, want) {
		t.Fatalf("first read %q", first)
	}
	replaced := []byte("replaced over S3, and longer than before\n")
	if _, err := s3.PutObject(ctx, "bkt", "posix.txt", bytes.NewReader(replaced), int64(len(replaced)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = os.ReadFile(filepath.Join(mnt, "bkt/posix.txt"))
	if err != nil || !bytes.Equal(got, replaced) {
		t.Fatalf("mount read after S3 overwrite: %q %v", got, err)
	}

	// Delete over S3: gone from the mount. Mkdir in the mount: a bucket.
	if err := s3.RemoveObject(ctx, "bkt", "dir/obj", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "bkt/dir/obj")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat after S3 delete: %v", err)
	}
	if err := os.Mkdir(filepath.Join(mnt, "frommount"), 0o755); err != nil {
		t.Fatal(err)
	}
	buckets, err := s3.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range buckets {
		names = append(names, b.Name)
	}
	if !slices.Contains(names, "frommount") || !slices.Contains(names, "bkt") {
		t.Fatalf("buckets %v", names)
	}

	// Both doors' files reach the UFS as plain files at their paths.
	ufs := filepath.Join(h.dir, "data/ufs")
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, errA := os.ReadFile(filepath.Join(ufs, "bkt/posix.txt"))
		if errA == nil && bytes.Equal(a, replaced) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("UFS bkt/posix.txt = %q, %v", a, errA)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A clean stop unmounts; a restart finds everything.
	h.stop(syscall.SIGTERM)
	if entries, _ := os.ReadDir(mnt); len(entries) != 0 {
		t.Fatalf("mount point not empty after stop: %v", entries)
	}
	h.start()
	got, err = os.ReadFile(filepath.Join(mnt, "bkt/posix.txt"))
	if err != nil || !bytes.Equal(got, replaced) {
		t.Fatalf("after restart: %q %v", got, err)
	}
}

// TestKilledDaemonLeavesNoStaleMount: after kill -9 the mount point is a
// dead FUSE mount; the next start clears it and serves again, and what was
// committed before the kill is there.
func TestKilledDaemonLeavesNoStaleMount(t *testing.T) {
	h := newHoard(t)
	h.start()
	p := filepath.Join(h.mnt(), "committed.txt")
	if err := os.WriteFile(p, []byte("closed before the kill"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.stop(syscall.SIGKILL)
	if _, err := os.Stat(p); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Logf("stat on the dead mount: %v", err)
	}
	h.start()
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "closed before the kill" {
		t.Fatalf("after kill -9 and restart: %q %v", got, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(h.dir, "data/ufs/committed.txt"))
		if err == nil && string(b) == "closed before the kill" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("UFS after restart: %q %v", b, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.stop(syscall.SIGTERM)
}
