package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/retry"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

// multipartData is just over two parts: a multipart upload of three.
func multipartData() []byte {
	data := make([]byte, 2*partSize+1)
	for i := range data {
		data[i] = byte(i * 31 / 7)
	}
	return data
}

// TestMultipartAbortedWhenPartsFail: when parts fail, Put fails with a
// retryable error, the upload is aborted so that S3 keeps no parts, and
// the old object stays.
func TestMultipartAbortedWhenPartsFail(t *testing.T) {
	if testing.Short() {
		t.Skip("32 MiB uploads")
	}
	data := multipartData()
	for _, f := range []fault{failInternal, hangUp} {
		for _, size := range []int64{int64(len(data)), -1} {
			t.Run(fmt.Sprintf("%v/size%d", f, size), func(t *testing.T) {
				fk := newFakeS3(t, "bkt")
				u := fk.open(t, "s3://bkt/dir")
				if _, err := u.Put(t.Context(), "big", strings.NewReader("old"), 3); err != nil {
					t.Fatal(err)
				}
				fk.setFaults(func(op string) fault {
					if op == opUploadPart {
						return f
					}
					return pass
				})
				var body io.Reader = bytes.NewReader(data)
				if size < 0 {
					body = onlyReader{bytes.NewReader(data)}
				}
				_, err := u.Put(t.Context(), "big", body, size)
				fk.setFaults(nil)
				if err == nil || !ufs.IsRetryable(err) || !strings.Contains(err.Error(), "dir/big") {
					t.Errorf("Put with failing parts: %v; want a retryable error naming the key", err)
				}
				if fk.countOf(opCreateMultipart) == 0 || fk.countOf(opAbort) == 0 {
					t.Errorf("%d uploads started, %d aborted; want a multipart upload, aborted",
						fk.countOf(opCreateMultipart), fk.countOf(opAbort))
				}
				if ups := listUploads(t, u); len(ups) != 0 {
					t.Errorf("uploads left after the failed Put: %q", ups)
				}
				wantObject(t, u, "big", []byte("old"))
			})
		}
	}
}

// TestMultipartAbortedWhenCancelled: a Put cancelled during its upload is
// aborted all the same (minio-go sends the abort on a context of its own).
func TestMultipartAbortedWhenCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("32 MiB upload")
	}
	fk := newFakeS3(t, "bkt")
	u := fk.open(t, "s3://bkt")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fk.setFaults(func(op string) fault {
		if op == opUploadPart {
			cancel()
		}
		return pass
	})
	_, err := u.Put(ctx, "big", bytes.NewReader(multipartData()), 2*partSize+1)
	fk.setFaults(nil)
	if err == nil || ufs.IsRetryable(err) {
		t.Errorf("cancelled Put: %v; want an error that is not retryable", err)
	}
	if fk.countOf(opAbort) == 0 {
		t.Error("the cancelled upload was not aborted")
	}
	if ups := listUploads(t, u); len(ups) != 0 {
		t.Errorf("uploads left after the cancelled Put: %q", ups)
	}
	if _, err := u.Stat(t.Context(), "big"); !ufs.IsNotExist(err) {
		t.Errorf("Stat after the cancelled Put: %v", err)
	}
}

// TestRetryRecoversFromFailedParts: through the retry decorator, a Put
// whose first attempt loses parts is done again whole and succeeds.
func TestRetryRecoversFromFailedParts(t *testing.T) {
	if testing.Short() {
		t.Skip("32 MiB uploads")
	}
	fk := newFakeS3(t, "bkt")
	r := retry.New(fk.open(t, "s3://bkt"), retry.Options{InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	data := multipartData()
	// Each of the three parts is tried at most twice per Put, so four
	// failures fail at least one part twice: the first Put fails.
	fk.setFaults(failFirst(opUploadPart, 4, failInternal))
	if _, err := r.Put(t.Context(), "big", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put through failing parts: %v", err)
	}
	if n := fk.countOf(opCreateMultipart); n < 2 {
		t.Errorf("%d multipart uploads started, want the failed one and another", n)
	}
	if ups := listUploads(t, r.Unwrap().(*FS)); len(ups) != 0 {
		t.Errorf("uploads left: %q", ups)
	}
	wantObject(t, r, "big", data)
}

// TestFaultsAreClassified: 5xx answers and dropped connections are
// retryable for every method, a 403 is a permission error, and every
// error names the object.
func TestFaultsAreClassified(t *testing.T) {
	fk := newFakeS3(t, "bkt")
	u := fk.open(t, "s3://bkt/c")
	if _, err := u.Put(t.Context(), "k", strings.NewReader("v"), 1); err != nil {
		t.Fatal(err)
	}
	calls := ufstest.Calls(u, "k")
	for _, f := range []fault{failInternal, failSlowDown, hangUp, failDenied} {
		fk.setFaults(func(string) fault { return f })
		for name, call := range calls {
			err := call(t.Context())
			switch {
			case err == nil:
				t.Errorf("%s with %v succeeded", name, f)
			case f == failDenied && (ufs.IsRetryable(err) || !errors.Is(err, ufs.ErrPermission)):
				t.Errorf("%s with 403: %v; want a permission error, not retryable", name, err)
			case f != failDenied && (!ufs.IsRetryable(err) || ufs.IsNotExist(err)):
				t.Errorf("%s with %v: %v; want a retryable error", name, f, err)
			case !strings.Contains(err.Error(), "s3://bkt/c/k"):
				t.Errorf("%s: %q does not name the object", name, err)
			}
		}
	}
	fk.setFaults(nil)
	wantObject(t, u, "k", []byte("v"))
}

// wantObject checks that key holds exactly want.
func wantObject(t *testing.T, u ufs.UFS, key string, want []byte) {
	t.Helper()
	rc, err := u.ReadRange(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s holds %d bytes (%v), want %d", key, len(got), err, len(want))
	}
}
