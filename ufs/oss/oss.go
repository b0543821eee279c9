// Package oss is the oss:// UFS: objects in an Aliyun OSS bucket, through
// github.com/aliyun/aliyun-oss-go-sdk.
//
// # Configuration
//
// Open takes "oss://bucket" or "oss://bucket/dir" and the options Alluxio
// uses, fs.oss.accessKeyId, fs.oss.accessKeySecret and fs.oss.endpoint,
// plus the Key* constants of this package (signature version, region,
// multipart tuning). Open checks the configuration and then lists the
// bucket once, so that a wrong secret, an unknown bucket or an unreachable
// endpoint fails there with a message naming the key to fix. The secret
// never appears in an error, a log line or String.
//
// # Keys
//
// UFS key "a/b.txt" is object "dir/a/b.txt"; a directory marker "a/" is the
// zero-byte object "dir/a/". Everything is a plain object any OSS tool reads.
//
// # Writes
//
// A Put of known size up to fs.oss.multipart.threshold (64 MiB) is one
// streamed PutObject. Bigger ones, and streams of unknown length once they
// pass the threshold, are multipart uploads: parts of
// fs.oss.multipart.partSize (8 MiB) read in turn and uploaded
// fs.oss.multipart.concurrency (4) at a time, so a Put holds at most
// concurrency × partSize bytes (plus, for a stream of unknown length, what
// it read before passing the threshold). On any failure or cancellation the
// upload is aborted, so OSS keeps no orphan parts and the old object stays.
// The SDK checks every part's and object's CRC-64 against OSS's.
//
// # Reads
//
// ReadRange is one ranged GetObject, sent with x-oss-range-behavior:
// standard so that OSS clips a range running past the end instead of
// ignoring it. A whole-object read is checked against OSS's CRC-64 at EOF.
//
// # Errors and retries
//
// Errors say which object and operation failed and are classified for ufs
// (see kindOf): 404 is ufs.ErrNotExist, 403 ufs.ErrPermission, 5xx,
// timeouts and dropped connections ufs.Retryable; a missing bucket is none
// of these. This package does not retry; the ufs/retry decorator does. The
// SDK v3 never retries either (its RetryTimes is unused); only net/http may
// resend an idempotent request once when a reused connection turns out to
// be dead. A connection silent for fs.oss.socket.timeout (two minutes)
// fails the call with a retryable timeout (see transport.go), so nothing
// hangs even without a deadline.
package oss

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

var _ ufs.UFS = (*FS)(nil)

// FS is a UFS on an OSS bucket, under a key prefix.
type FS struct {
	bucket     *oss.Bucket
	bucketName string
	prefix     string // "" or "dir/"
	name       string // "oss://bucket/dir", for String and errors
	transport  *http.Transport
	log        *slog.Logger

	threshold, partSize     int64
	concurrency             int
	copyThreshold, copyPart int64

	// bufs recycles part buffers of partSize bytes between Puts.
	bufs sync.Pool
}

// Open connects to the bucket of uri ("oss://bucket" or "oss://bucket/dir")
// with the fs.oss.* options, and checks that it can list it.
func Open(ctx context.Context, uri string, opts map[string]string) (*FS, error) {
	c, err := parseConfig(uri, opts)
	if err != nil {
		return nil, err
	}
	tr := newTransport(c.socketTimeout)
	clientOpts := []oss.ClientOption{
		oss.HTTPClient(newHTTPClient(tr)),
		oss.ForcePathStyle(c.pathStyle),
		oss.EnableCRC(true),
		oss.SetLogLevel(oss.LogOff), // its debug log prints request headers
	}
	if c.v4 {
		clientOpts = append(clientOpts, oss.AuthVersion(oss.AuthV4), oss.Region(c.region))
	}
	if c.securityToken != "" {
		clientOpts = append(clientOpts, oss.SecurityToken(c.securityToken))
	}
	client, err := oss.New(c.endpoint, c.accessKeyID, c.accessKeySecret, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("oss: %s %q: %w", KeyEndpoint, opts[KeyEndpoint], err)
	}
	b, err := client.Bucket(c.bucket)
	if err != nil {
		return nil, fmt.Errorf("oss: bucket %q: %w", c.bucket, err)
	}
	f := &FS{
		bucket: b, bucketName: c.bucket, prefix: c.prefix,
		name:      "oss://" + c.bucket + "/" + strings.TrimSuffix(c.prefix, "/"),
		transport: tr,
		threshold: c.threshold, partSize: c.partSize, concurrency: c.concurrency,
		copyThreshold: c.copyThreshold, copyPart: c.copyPart,
	}
	if c.prefix == "" {
		f.name = "oss://" + c.bucket
	}
	f.log = slog.Default().With("ufs", f.name)
	if err := f.probe(ctx, c); err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	return f, nil
}

// probe lists one key under the prefix: the cheapest call that proves the
// endpoint answers, the bucket exists and the credentials may read it.
// ListObjects is used rather than GetBucketInfo because credentials scoped
// to a prefix may read their directory but not the bucket's settings.
func (f *FS) probe(ctx context.Context, c *config) error {
	_, err := f.bucket.ListObjectsV2(oss.Prefix(f.prefix), oss.MaxKeys(1), oss.WithContext(ctx))
	if err == nil {
		return nil
	}
	where := fmt.Sprintf("oss: cannot open %s at %s", f.name, c.endpoint)
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", where, ctx.Err())
	}
	var se oss.ServiceError
	if !errors.As(err, &se) {
		return classified(kindOf(err), fmt.Sprintf("%s: no answer from the endpoint (check %s)", where, KeyEndpoint), err)
	}
	var why string
	switch se.Code {
	case "NoSuchBucket":
		why = fmt.Sprintf("bucket %q does not exist at this endpoint (check the URI and %s)", c.bucket, KeyEndpoint)
	case "InvalidAccessKeyId":
		why = fmt.Sprintf("the access key id is not known to OSS (check %s)", KeyAccessKeyID)
	case "SignatureDoesNotMatch":
		why = fmt.Sprintf("OSS rejected the request signature: %s does not match %s", KeyAccessKeySecret, KeyAccessKeyID)
		if c.v4 {
			why += fmt.Sprintf(", or %s %q is not the bucket's region", KeyRegion, c.region)
		}
	case "InvalidSecurityToken", "SecurityTokenExpired":
		why = fmt.Sprintf("the STS token is invalid or expired (check %s)", KeySecurityToken)
	case "AccessDenied":
		why = fmt.Sprintf("the credentials of %s may not list the bucket", KeyAccessKeyID)
	default:
		why = "listing the bucket failed"
	}
	return classified(kindOf(err), where+": "+why, err)
}

// key returns the object key of a UFS key.
func (f *FS) key(k string) string { return f.prefix + k }

// uri names the object of UFS key k for messages: oss://bucket/dir/k.
func (f *FS) uri(k string) string { return "oss://" + f.bucketName + "/" + f.prefix + k }

// String is "oss://bucket" or "oss://bucket/dir".
func (f *FS) String() string { return f.name }

// Capabilities: copies happen inside OSS; prefixes are not directories.
func (f *FS) Capabilities() ufs.Capabilities { return ufs.Capabilities{ServerSideCopy: true} }

// Close drops idle connections. Calls in flight finish on their own.
func (f *FS) Close() error {
	f.transport.CloseIdleConnections()
	return nil
}

// checkKey refuses the empty key, which names no object (under a prefix
// it would be the prefix's own marker, which is the root, not an entry).
func (f *FS) checkKey(op, k string) error {
	if k == "" {
		return fmt.Errorf("oss: %s %s: empty key", op, f.uri(k))
	}
	return nil
}
