package oss

import (
	"context"
	"fmt"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

// deleteBatch is the most keys one DeleteMultipleObjects takes.
const deleteBatch = 1000

// Delete removes keys with DeleteMultipleObjects, 1000 at a time. OSS
// reports missing keys as deleted, so Delete is idempotent; a marker "d/"
// is one object, so deleting it leaves the keys under it alone.
func (f *FS) Delete(ctx context.Context, keys ...string) error {
	for start := 0; start < len(keys); start += deleteBatch {
		batch := keys[start:min(start+deleteBatch, len(keys))]
		objs := make([]string, 0, len(batch))
		for _, k := range batch {
			if err := f.checkKey("delete", k); err != nil {
				return err
			}
			objs = append(objs, f.key(k))
		}
		if _, err := f.bucket.DeleteObjects(objs, oss.DeleteObjectsQuiet(true), oss.WithContext(ctx)); err != nil {
			what := batch[0]
			if len(batch) > 1 {
				what = fmt.Sprintf("%s (and %d more)", batch[0], len(batch)-1)
			}
			return f.errorf(ctx, "delete", what, err)
		}
	}
	return nil
}
