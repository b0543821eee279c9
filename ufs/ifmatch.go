package ufs

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrChanged is returned (wrapped) by a ReadRange made with WithIfMatch when
// the object at the key is no longer the version asked for.
var ErrChanged = errors.New("ufs: object changed")

// IsChanged reports whether err says that an object changed under a read.
func IsChanged(err error) bool { return errors.Is(err, ErrChanged) }

type ifMatchKey struct{}

// WithIfMatch makes ReadRange calls with ctx read only the version of an
// object whose ETag is etag, and fail with ErrChanged on any other: a file
// read in ranges (blocks fetched one by one, a read resumed after a dropped
// connection) then never mixes the bytes of two versions. An empty etag
// asks nothing.
func WithIfMatch(ctx context.Context, etag string) context.Context {
	return context.WithValue(ctx, ifMatchKey{}, strings.Trim(etag, `"`))
}

// IfMatch is the ETag that reads with ctx ask for, or "".
func IfMatch(ctx context.Context) string {
	etag, _ := ctx.Value(ifMatchKey{}).(string)
	return etag
}

// CheckETag is for backends: nil when a read with ctx may return the bytes
// of an object whose ETag is etag, else an ErrChanged naming what (the
// object's URI or key) and both ETags. A backend sends the condition to the
// store when it can (If-Match) and checks the answer here all the same, in
// case the store ignored it.
func CheckETag(ctx context.Context, what, etag string) error {
	want := IfMatch(ctx)
	if want == "" || strings.Trim(etag, `"`) == want {
		return nil
	}
	return fmt.Errorf("read %s: it is now the version with ETag %s, not %s: %w", what, strings.Trim(etag, `"`), want, ErrChanged)
}
