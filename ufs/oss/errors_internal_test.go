package oss

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want errKind
	}{
		{oss.ServiceError{StatusCode: 404, Code: "NoSuchKey"}, kindNotExist},
		{oss.ServiceError{StatusCode: 404}, kindNotExist}, // HEAD: no body
		{oss.ServiceError{StatusCode: 404, Code: "NoSuchBucket"}, kindNoBucket},
		{oss.ServiceError{StatusCode: 404, Code: "NoSuchUpload"}, kindRetryable},
		{oss.ServiceError{StatusCode: 403, Code: "AccessDenied"}, kindPermission},
		{oss.ServiceError{StatusCode: 403, Code: "SignatureDoesNotMatch"}, kindPermission},
		{oss.ServiceError{StatusCode: 500, Code: "InternalError"}, kindRetryable},
		{oss.ServiceError{StatusCode: 503}, kindRetryable},
		{oss.ServiceError{StatusCode: 429}, kindRetryable},
		{oss.ServiceError{StatusCode: 400, Code: "InvalidArgument"}, kindOther},
		{oss.CRCCheckError{}, kindRetryable},
		{&url.Error{Op: "Get", URL: "http://x", Err: io.EOF}, kindRetryable},
		{&url.Error{Op: "Put", URL: "http://x", Err: syscall.ECONNRESET}, kindRetryable},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), kindRetryable},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, kindRetryable},
		{&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, kindOther},
		{&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, kindRetryable},
		{errors.New("object name is empty"), kindOther},
	} {
		if got := kindOf(tc.err); got != tc.want {
			t.Errorf("kindOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"123": 123, "64MB": 64 << 20, "64MiB": 64 << 20, "8 mb": 8 << 20, "1GiB": 1 << 30, "100KB": 100 << 10, "1.5M": 3 << 19,
	} {
		if got, err := parseSize("k", in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "1XB", "MB"} {
		if _, err := parseSize("k", in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"50sec": 50 * time.Second, "2min": 2 * time.Minute, "1m30s": 90 * time.Second, "500": 500 * time.Millisecond,
		"250ms": 250 * time.Millisecond, " 1.5 min ": 90 * time.Second, "1h": time.Hour, "24h": 24 * time.Hour,
	} {
		if got, err := parseDuration("k", in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "0", "-1s", "5 years", "sec", "25h", "0.1ms"} {
		if _, err := parseDuration("k", in); err == nil {
			t.Errorf("parseDuration(%q) succeeded", in)
		}
	}
}

func TestRegionOf(t *testing.T) {
	for host, want := range map[string]string{
		"oss-cn-hangzhou.aliyuncs.com":          "cn-hangzhou",
		"oss-cn-hangzhou-internal.aliyuncs.com": "cn-hangzhou",
		"OSS-US-WEST-1.aliyuncs.com":            "us-west-1",
		"bucket.oss-cn-hangzhou.aliyuncs.com":   "",
		"127.0.0.1":                             "",
		"oss.example.com":                       "",
	} {
		if got := regionOf(host); got != want {
			t.Errorf("regionOf(%q) = %q, want %q", host, got, want)
		}
	}
}
