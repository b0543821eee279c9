package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/hoardfs/hoard/ufs"
)

// opError names the operation and the object in every error a method
// returns. It unwraps to the class (ufs.ErrNotExist, ufs.ErrPermission) when
// there is one, and to the underlying error.
func (f *FS) opError(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("s3 %s %s: %w", op, f.uri(key), classify(ctx, err))
}

// classify maps a minio-go or transport error onto the ufs error classes.
// The result is err itself, err joined with ufs.ErrNotExist or
// ufs.ErrPermission, or ufs.Retryable(err).
func classify(ctx context.Context, err error) error {
	if err == nil || ufs.IsRetryable(err) || errors.Is(err, ufs.ErrNotExist) || errors.Is(err, ufs.ErrPermission) {
		return err
	}
	// The caller gave up: repeating the call with the same context is
	// pointless, so this is never retryable.
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}

	var resp minio.ErrorResponse
	if errors.As(err, &resp) && (resp.Code != "" || resp.StatusCode != 0) {
		return classifyResponse(resp, err)
	}

	// No S3 answer at all: the connection failed, timed out or was cut.
	// (*url.Error is a net.Error too, whatever it wraps, so only its
	// Timeout answer counts, and *net.OpError marks a failed dial or I/O.)
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case closedBeforeAnswer(err),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &opErr),
		errors.As(err, &netErr) && netErr.Timeout():
		return ufs.Retryable(err)
	}
	return err
}

// classifyResponse maps an S3 error answer by code first, then by status.
func classifyResponse(resp minio.ErrorResponse, err error) error {
	switch resp.Code {
	case "NoSuchKey", "NoSuchVersion":
		return notExist(err)
	case "NoSuchBucket":
		// A missing bucket is a configuration fault, not a missing file:
		// the store must not conclude that every path under it is gone.
		return err
	case "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId",
		"AllAccessDisabled", "InvalidToken", "ExpiredToken", "AccountProblem":
		return permission(err)
	case "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout",
		"OperationAborted", "XMinioServerNotInitialized":
		return ufs.Retryable(err)
	}
	switch s := resp.StatusCode; {
	case s == http.StatusNotFound:
		return notExist(err)
	case s == http.StatusForbidden:
		return permission(err)
	case s == http.StatusTooManyRequests, s == http.StatusRequestTimeout, s >= 500:
		return ufs.Retryable(err)
	}
	return err
}

// closedBeforeAnswer recognises a connection the server closed before
// answering. minio-go replaces the io.EOF that net/http reports then with
// an error of its own ("Connection closed by foreign host <url>. Retry
// again."), which only its text identifies.
func closedBeforeAnswer(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) && ue.Err != nil && strings.Contains(ue.Err.Error(), "Connection closed by foreign host")
}

func notExist(err error) error   { return fmt.Errorf("%w: %w", ufs.ErrNotExist, err) }
func permission(err error) error { return fmt.Errorf("%w: %w", ufs.ErrPermission, err) }
