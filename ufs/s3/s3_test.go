package s3

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

// TestConformance runs the suite against gofakes3, each subtest in a bucket
// of its own at the bucket root.
func TestConformance(t *testing.T) {
	fk := newFakeS3(t)
	var n atomic.Int64
	ufstest.Run(t, func(t *testing.T) ufs.UFS {
		bucket := fmt.Sprintf("conf-%d", n.Add(1))
		if err := fk.backend.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
		return fk.open(t, "s3://"+bucket)
	})
}

// TestConformanceUnderDir runs the suite again with every subtest in its own
// directory of one shared bucket, next to keys that sort around it, so that
// the root prefix is applied and stripped everywhere.
func TestConformanceUnderDir(t *testing.T) {
	fk := newFakeS3(t, "shared")
	raw := fk.open(t, "s3://shared")
	var n atomic.Int64
	ufstest.Run(t, func(t *testing.T) ufs.UFS {
		dir := fmt.Sprintf("d%d", n.Add(1))
		for _, noise := range []string{dir, dir + "0", dir + "-x/y", dir + ".txt"} {
			if _, err := raw.Put(t.Context(), noise, strings.NewReader("noise"), 5); err != nil {
				t.Fatal(err)
			}
		}
		return fk.open(t, "s3://shared/"+dir+"/sub")
	})
}

// TestRealS3 runs the suite against a real S3-compatible store when
// HOARD_TEST_S3_ENDPOINT, HOARD_TEST_S3_BUCKET, HOARD_TEST_S3_AK and
// HOARD_TEST_S3_SK are set (HOARD_TEST_S3_REGION optional). Each run works
// under a fresh directory of the bucket and deletes what it wrote.
func TestRealS3(t *testing.T) {
	env := map[string]string{}
	var missing []string
	for _, k := range []string{"HOARD_TEST_S3_ENDPOINT", "HOARD_TEST_S3_BUCKET", "HOARD_TEST_S3_AK", "HOARD_TEST_S3_SK"} {
		if env[k] = os.Getenv(k); env[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Skipf("real S3 conformance NOT run: set %s", strings.Join(missing, ", "))
	}
	opts := map[string]string{
		KeyEndpoint:    env["HOARD_TEST_S3_ENDPOINT"],
		KeyAccessKeyID: env["HOARD_TEST_S3_AK"],
		KeySecretKey:   env["HOARD_TEST_S3_SK"],
		KeyRegion:      os.Getenv("HOARD_TEST_S3_REGION"),
	}
	base := fmt.Sprintf("s3://%s/hoard-test-%d", env["HOARD_TEST_S3_BUCKET"], os.Getpid())
	var n atomic.Int64
	ufstest.Run(t, func(t *testing.T) ufs.UFS {
		u, err := Open(t.Context(), fmt.Sprintf("%s/%d", base, n.Add(1)), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeAll(t, u) })
		return u
	})
}

// removeAll deletes every key under u, for tests against real stores.
func removeAll(t *testing.T, u ufs.UFS) {
	ctx := context.Background()
	opts := ufs.ListOptions{}
	for {
		page, err := u.List(ctx, opts)
		if err != nil {
			t.Logf("cleanup of %s: %v", u, err)
			return
		}
		var keys []string
		for _, o := range page.Objects {
			keys = append(keys, o.Key)
		}
		if err := u.Delete(ctx, keys...); err != nil {
			t.Logf("cleanup of %s: %v", u, err)
			return
		}
		if !page.Truncated {
			return
		}
		opts.StartAfter = page.NextStartAfter
	}
}
