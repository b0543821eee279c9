package oss

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// errKind is how ufs sees an error.
type errKind int

const (
	kindOther errKind = iota
	kindNotExist
	kindPermission
	kindRetryable
	kindNoBucket
)

// kindOf classifies err:
//
//   - 404 (NoSuchKey, or a HEAD without a body): not exist;
//   - 404 NoSuchBucket: its own kind — a missing bucket is a configuration
//     problem, never "this file is gone";
//   - 403: permission;
//   - 5xx, 408, 429, NoSuchUpload (the upload vanished; the whole call may
//     be done again), CRC mismatches, timeouts, resets, EOFs and other
//     dropped connections: retryable;
//   - anything else: other.
func kindOf(err error) errKind {
	var se oss.ServiceError
	if errors.As(err, &se) {
		switch {
		case se.StatusCode == http.StatusNotFound && se.Code == "NoSuchBucket":
			return kindNoBucket
		case se.StatusCode == http.StatusNotFound && se.Code == "NoSuchUpload":
			return kindRetryable
		case se.StatusCode == http.StatusNotFound:
			return kindNotExist
		case se.StatusCode == http.StatusForbidden:
			return kindPermission
		case se.StatusCode >= 500, se.StatusCode == http.StatusRequestTimeout, se.StatusCode == http.StatusTooManyRequests:
			return kindRetryable
		}
		return kindOther
	}
	var ue oss.UnexpectedStatusCodeError
	if errors.As(err, &ue) && ue.Got() >= 500 {
		return kindRetryable
	}
	var crc oss.CRCCheckError
	if errors.As(err, &crc) || transient(err) {
		return kindRetryable
	}
	return kindOther
}

// classified wraps err, whose message is msg, so that ufs classifies it
// by kind.
func classified(kind errKind, msg string, err error) error {
	switch kind {
	case kindNotExist:
		return fmt.Errorf("%s: %w (%w)", msg, ufs.ErrNotExist, err)
	case kindPermission:
		return fmt.Errorf("%s: %w (%w)", msg, ufs.ErrPermission, err)
	case kindRetryable:
		return ufs.Retryable(fmt.Errorf("%s: %w", msg, err))
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// errorf wraps err, from operation op on key, into an error that says
// which object it concerns and that ufs classifies (see kindOf). When the
// call's context has ended, that is the error, and it is not retryable.
//
// The SDK's errors carry the OSS code, message and request id, never the
// credentials, and requests are signed in headers, so URLs in transport
// errors carry no secret either.
func (f *FS) errorf(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf("oss: %s %s", op, f.uri(key))
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", msg, context.Cause(ctx))
	}
	kind := kindOf(err)
	if kind == kindNoBucket {
		msg += fmt.Sprintf(": bucket %q does not exist", f.bucketName)
	}
	return classified(kind, msg, err)
}

// transient reports whether a transport error may go away on its own: the
// connection dropped, reset, timed out or was refused. Certificate errors
// and unknown host names will not.
func transient(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	var (
		unknownCA x509.UnknownAuthorityError
		badCert   x509.CertificateInvalidError
		badHost   x509.HostnameError
		recordErr tls.RecordHeaderError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &badCert) || errors.As(err, &badHost) || errors.As(err, &recordErr) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ETIMEDOUT) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	// net/http reports some drops only as text.
	msg := err.Error()
	for _, s := range []string{"server closed idle connection", "connection reset", "broken pipe",
		"transport connection broken", "unexpected EOF", "use of closed network connection"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
