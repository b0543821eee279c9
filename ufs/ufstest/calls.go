package ufstest

import (
	"context"
	"io"
	"strings"

	"github.com/hoardfs/hoard/ufs"
)

// Calls is one call of each UFS method on u, named by the method, for
// tests that check how a backend's failures are classified: each reads,
// writes, copies (key to key+"2"), deletes or lists around key, and
// returns the call's error. ReadRange reads its body through, so that a
// failure in the middle of it counts.
func Calls(u ufs.UFS, key string) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"Stat": func(ctx context.Context) error { _, err := u.Stat(ctx, key); return err },
		"ReadRange": func(ctx context.Context) error {
			rc, err := u.ReadRange(ctx, key, 0, -1)
			if err == nil {
				_, err = io.ReadAll(rc)
				rc.Close()
			}
			return err
		},
		"Put":    func(ctx context.Context) error { _, err := u.Put(ctx, key, strings.NewReader("w"), 1); return err },
		"Copy":   func(ctx context.Context) error { _, err := u.Copy(ctx, key, key+"2"); return err },
		"Delete": func(ctx context.Context) error { return u.Delete(ctx, key+"2") },
		"List": func(ctx context.Context) error {
			_, err := u.List(ctx, ufs.ListOptions{Prefix: key})
			return err
		},
	}
}
