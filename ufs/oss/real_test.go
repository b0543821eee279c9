package oss_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

// TestRealOSS runs the conformance suite against a real OSS bucket when
// HOARD_TEST_OSS_ENDPOINT, HOARD_TEST_OSS_BUCKET, HOARD_TEST_OSS_AK and
// HOARD_TEST_OSS_SK are set (HOARD_TEST_OSS_REGION too, for V4 with an
// endpoint the region cannot be read from). Everything it writes is under
// a fresh hoard-ufstest-* directory, removed at the end.
func TestRealOSS(t *testing.T) {
	env := map[string]string{}
	var missing []string
	for _, k := range []string{"HOARD_TEST_OSS_ENDPOINT", "HOARD_TEST_OSS_BUCKET", "HOARD_TEST_OSS_AK", "HOARD_TEST_OSS_SK"} {
		if env[k] = os.Getenv(k); env[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Skipf("not run against real OSS: %s not set", strings.Join(missing, ", "))
	}
	run := fmt.Sprintf("hoard-ufstest-%d", time.Now().UnixNano())
	base := map[string]string{
		oss.KeyEndpoint:        env["HOARD_TEST_OSS_ENDPOINT"],
		oss.KeyAccessKeyID:     env["HOARD_TEST_OSS_AK"],
		oss.KeyAccessKeySecret: env["HOARD_TEST_OSS_SK"],
	}
	root := "oss://" + env["HOARD_TEST_OSS_BUCKET"] + "/" + run
	t.Cleanup(func() { removeAll(t, root, base) })

	versions := map[string]map[string]string{"v1": {}}
	if r := os.Getenv("HOARD_TEST_OSS_REGION"); r != "" {
		versions["v4"] = map[string]string{oss.KeySignatureVersion: "v4", oss.KeyRegion: r}
	}
	for name, extra := range versions {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int64
			ufstest.Run(t, func(t *testing.T) ufs.UFS {
				opts := map[string]string{}
				for k, v := range base {
					opts[k] = v
				}
				for k, v := range extra {
					opts[k] = v
				}
				f, err := oss.Open(t.Context(), fmt.Sprintf("%s/%s-%d", root, name, n.Add(1)), opts)
				if err != nil {
					t.Fatal(err)
				}
				return f
			})
		})
	}
}

// removeAll deletes every object under root.
func removeAll(t *testing.T, root string, opts map[string]string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, err := oss.Open(ctx, root, opts)
	if err != nil {
		t.Errorf("cleaning up %s: %v", root, err)
		return
	}
	defer f.Close()
	after := ""
	for {
		page, err := f.List(ctx, ufs.ListOptions{StartAfter: after})
		if err != nil {
			t.Errorf("cleaning up %s: %v", root, err)
			return
		}
		keys := make([]string, len(page.Objects))
		for i, o := range page.Objects {
			keys[i] = o.Key
		}
		if len(keys) > 0 {
			if err := f.Delete(ctx, keys...); err != nil {
				t.Errorf("cleaning up %s: %v", root, err)
				return
			}
		}
		if !page.Truncated {
			return
		}
		after = page.NextStartAfter
	}
}
