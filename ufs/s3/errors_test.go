package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/hoardfs/hoard/ufs"
)

func TestClassify(t *testing.T) {
	resp := func(code string, status int) error {
		return minio.ErrorResponse{Code: code, StatusCode: status, Message: code + " message"}
	}
	const (
		plain = iota
		notExist
		perm
		retry
	)
	for _, c := range []struct {
		err  error
		want int
	}{
		{resp("NoSuchKey", 404), notExist},
		{resp("", 404), notExist},
		{resp("NoSuchBucket", 404), plain},
		{resp("AccessDenied", 403), perm},
		{resp("SignatureDoesNotMatch", 403), perm},
		{resp("InvalidAccessKeyId", 403), perm},
		{resp("", 403), perm},
		{resp("InternalError", 500), retry},
		{resp("SlowDown", 503), retry},
		{resp("", 502), retry},
		{resp("", 429), retry},
		{resp("RequestTimeout", 400), retry},
		{resp("InvalidArgument", 400), plain},
		{fmt.Errorf("wrapped: %w", resp("NoSuchKey", 404)), notExist},
		{&url.Error{Op: "Get", URL: "http://x", Err: syscall.ECONNRESET}, retry},
		{&url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, retry},
		{&url.Error{Op: "Get", URL: "http://x", Err: io.ErrUnexpectedEOF}, retry},
		// minio-go's stand-in for io.EOF before the answer (api.go).
		{&url.Error{Op: "Head", URL: "http://x", Err: errors.New("Connection closed by foreign host http://x. Retry again.")}, retry},
		{&url.Error{Op: "Put", URL: "http://x", Err: errors.New("http: ContentLength=10 with Body length 5")}, plain},
		{errors.New("something else"), plain},
	} {
		got := classify(context.Background(), c.err)
		class := plain
		switch {
		case ufs.IsRetryable(got):
			class = retry
		case errors.Is(got, ufs.ErrNotExist):
			class = notExist
		case errors.Is(got, ufs.ErrPermission):
			class = perm
		}
		if class != c.want {
			t.Errorf("classify(%v) = %v: class %d, want %d", c.err, got, class, c.want)
		}
		if ufs.IsRetryable(got) && (errors.Is(got, ufs.ErrNotExist) || errors.Is(got, ufs.ErrPermission)) {
			t.Errorf("classify(%v) = %v: more than one class", c.err, got)
		}
	}
}

func TestClassifyCancelledIsNotRetryable(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := classify(ctx, &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled})
	if ufs.IsRetryable(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("classify after cancel = %v; want context.Canceled, not retryable", err)
	}
}
