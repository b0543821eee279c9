package integration

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestOSSEndToEnd: with hoard.root.ufs=oss://bucket/dir, what is committed
// through the gateway and the mount appears as exactly bucket/dir/<path>;
// objects put behind Hoard's back are listed and read; and a restart with
// a different (empty) cache dir still reads everything, from OSS.
func TestOSSEndToEnd(t *testing.T) {
	srv := newOSS(t)
	h := newHoard(t, ossProps(srv, "hoard.user.file.metadata.sync.interval=0")...)
	h.start()
	ctx := context.Background()
	s3 := h.s3Client(t)

	body := bytes.Repeat([]byte("through the gateway "), 50_000)
	if _, err := s3.PutObject(ctx, "bk1", "k/obj", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err == nil {
		t.Fatal("PUT into a bucket that does not exist succeeded")
	}
	if err := s3.MakeBucket(ctx, "bk1", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s3.PutObject(ctx, "bk1", "k/obj", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	posix := []byte("through the mount\n")
	if err := os.WriteFile(filepath.Join(h.mnt(), "bk1/posix.txt"), posix, 0o644); err != nil {
		t.Fatal(err)
	}
	waitObject(t, srv, "dir/bk1/k/obj", body)
	waitObject(t, srv, "dir/bk1/posix.txt", posix)

	// Behind Hoard's back, straight into the bucket.
	outside := []byte("put by another OSS tool")
	if err := srv.PutObject("bucket", "dir/bk1/outside.txt", outside); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(h.mnt(), "bk1/outside.txt"))
	if err != nil || !bytes.Equal(got, outside) {
		t.Fatalf("outside object through the mount: %q %v", got, err)
	}
	h.stop(syscall.SIGTERM)

	// A different cache dir: nothing cached, everything read from OSS.
	cache2 := filepath.Join(h.dir, "cache2")
	conf, _ := os.ReadFile(h.conf)
	if err := os.WriteFile(h.conf, append(conf, "hoard.cache.dirs="+cache2+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	h.start()
	for key, want := range map[string][]byte{"k/obj": body, "posix.txt": posix, "outside.txt": outside} {
		obj, err := h.s3Client(t).GetObject(ctx, "bk1", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("after restart with a new cache dir, %s: %d bytes, %v", key, len(got), err)
		}
	}
	if entries, _ := os.ReadDir(cache2); len(entries) == 0 {
		t.Fatal("the new cache dir was not used")
	}
	h.stop(syscall.SIGTERM)
}

// waitObject waits until the OSS server holds want at key.
func waitObject(t *testing.T, srv interface {
	Object(bucket, key string) ([]byte, string, bool)
}, key string, want []byte) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _, ok := srv.Object("bucket", key)
		if ok && bytes.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("OSS bucket/%s: present %v, %d bytes, want %d", key, ok, len(got), len(want))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
