// Package s3 is the UFS backend for Amazon S3 and S3-compatible stores
// (MinIO, Ceph RGW, ...), built on minio-go v7.
//
// A UFS is opened from a URI, s3://bucket or s3://bucket/dir, and the option
// keys fs.s3.accessKeyId, fs.s3.secretKey, fs.s3.endpoint and fs.s3.region.
// Every key the UFS interface sees is relative to the root: "a/b.txt" under
// s3://bucket/dir is the object "dir/a/b.txt" in "bucket", a plain object any
// other S3 tool reads.
//
// # Errors
//
// S3 answers are classified once, in errors.go: 404 NoSuchKey becomes
// ufs.ErrNotExist, 403 (AccessDenied, SignatureDoesNotMatch, ...) becomes
// ufs.ErrPermission, and 5xx, 429, timeouts and dropped connections are
// ufs.Retryable. minio-go's own retry loop is cut down to two attempts (the
// second one is what lets it follow a region redirect); backoff belongs to
// the ufs/retry decorator, stacked once where the daemon is wired.
//
// # Fingerprints
//
// ObjectInfo.ModTime is truncated to whole seconds everywhere: HEAD reports
// Last-Modified in seconds while LIST and COPY report milliseconds, and the
// store compares fingerprints taken from either.
//
// # Limits
//
// Put with an unknown size (-1) buffers up to one part (16 MiB): a smaller
// object goes up in a single PUT, a larger one as a multipart upload of
// 16 MiB parts, four in flight, so at most 160 GiB. A failed multipart
// upload is aborted, a cancelled one too (minio-go sends the abort on a
// context of its own); only if the abort fails do the parts stay, until a
// bucket lifecycle rule removes them (the object itself never appears half
// written). Copy is server side: CopyObject
// up to 5 GiB, ComposeObject (multipart UploadPartCopy) beyond.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/hoardfs/hoard/ufs"
)

const (
	// partSize is the multipart part size and the most an unknown-size Put
	// buffers before it decides between one PUT and a multipart upload.
	partSize = 16 << 20
	// putThreads is how many parts of one upload are in flight at once.
	putThreads = 4
	// maxCopySize is the largest object one CopyObject request may copy.
	maxCopySize = 5 << 30
	// openTimeout bounds the bucket check in Open when the caller's context
	// has no deadline of its own, so a wrong endpoint fails instead of hanging.
	openTimeout = 30 * time.Second
	// minioAttempts is how many times minio-go sends one request; see the
	// package comment.
	minioAttempts = 2
)

// FS is an S3 bucket, or a directory in one, as a ufs.UFS. It is safe for
// concurrent use.
type FS struct {
	client    *minio.Client
	transport *http.Transport
	bucket    string
	root      string // "" or "dir/": prepended to every key
	endpoint  string // for error messages; never holds credentials

	// bufs holds partSize buffers for unknown-size Puts, so a busy
	// persistence queue does not allocate 16 MiB per object.
	bufs sync.Pool
}

var _ ufs.UFS = (*FS)(nil)

// Open connects to the bucket named by uri (s3://bucket or s3://bucket/dir)
// with the fs.s3.* keys in opts, and checks with one cheap request (HEAD
// bucket) that the bucket exists and the credentials are accepted. Keys in
// opts that do not start with "fs.s3." are ignored, so a whole configuration
// can be passed in; an unknown fs.s3.* key is an error.
func Open(ctx context.Context, uri string, opts map[string]string) (*FS, error) {
	bucket, root, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	o, err := parseOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", uri, err)
	}

	tr, err := minio.DefaultTransport(o.secure)
	if err != nil {
		return nil, fmt.Errorf("s3 %s: transport: %w", uri, err)
	}
	lookup := minio.BucketLookupAuto
	if o.pathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(o.host, &minio.Options{
		Creds:        credentials.NewStaticV4(o.accessKey, o.secretKey, ""),
		Secure:       o.secure,
		Transport:    &probeTransport{base: tr},
		Region:       o.region,
		BucketLookup: lookup,
		MaxRetries:   minioAttempts,
	})
	if err != nil {
		// minio-go's message names the endpoint, never the keys.
		return nil, fmt.Errorf("s3 %s: %s=%q: %w", uri, KeyEndpoint, o.endpoint, err)
	}
	f := &FS{
		client:    client,
		transport: tr,
		bucket:    bucket,
		root:      root,
		endpoint:  o.endpoint,
	}
	f.bufs.New = func() any { b := make([]byte, partSize); return &b }
	if err := f.checkBucket(ctx); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// parseURI splits s3://bucket/dir into the bucket and the key prefix "dir/".
func parseURI(uri string) (bucket, root string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("s3: %q is not an s3://bucket[/dir] URI", uri)
	}
	bucket, dir, _ := strings.Cut(rest, "/")
	if user, _, found := strings.Cut(bucket, "@"); found {
		// Never echo what may be a secret.
		name, _, _ := strings.Cut(user, ":")
		return "", "", fmt.Errorf("s3: %q: credentials do not belong in the URI; set %s and %s",
			"s3://"+name+":xxxxx@...", KeyAccessKeyID, KeySecretKey)
	}
	if err := s3utils.CheckValidBucketName(bucket); err != nil {
		return "", "", fmt.Errorf("s3: %q: bucket name %q: %w", uri, bucket, err)
	}
	dir = strings.Trim(dir, "/")
	if dir == "" {
		return bucket, "", nil
	}
	for _, seg := range strings.Split(dir, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", "", fmt.Errorf("s3: %q: directory %q has an empty, . or .. segment", uri, dir)
		}
	}
	return bucket, dir + "/", nil
}

// checkBucket fails Open early, with a message that says what to fix, when
// the bucket is missing or the credentials are refused.
func (f *FS) checkBucket(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, openTimeout)
		defer cancel()
	}
	ok, err := f.client.BucketExists(ctx, f.bucket)
	if err != nil {
		err = classify(ctx, err)
		if errors.Is(err, ufs.ErrPermission) {
			return fmt.Errorf("%s: endpoint %s refused the credentials (check %s and %s): %w",
				f, f.endpoint, KeyAccessKeyID, KeySecretKey, err)
		}
		return fmt.Errorf("%s: checking the bucket at endpoint %s (%s): %w", f, f.endpoint, KeyEndpoint, err)
	}
	if !ok {
		return fmt.Errorf("%s: bucket %q does not exist at endpoint %s", f, f.bucket, f.endpoint)
	}
	return nil
}

// String names the UFS as s3://bucket/dir; it never holds credentials.
func (f *FS) String() string {
	if f.root == "" {
		return "s3://" + f.bucket
	}
	return "s3://" + f.bucket + "/" + strings.TrimSuffix(f.root, "/")
}

// Capabilities reports server-side copy; S3 has no implicit directories.
func (f *FS) Capabilities() ufs.Capabilities {
	return ufs.Capabilities{ServerSideCopy: true}
}

// Close drops idle connections; requests in flight finish on their own.
func (f *FS) Close() error {
	f.transport.CloseIdleConnections()
	return nil
}

// objectName is the S3 key of a UFS key.
func (f *FS) objectName(key string) string { return f.root + key }

// uri names one key for error messages.
func (f *FS) uri(key string) string { return "s3://" + f.bucket + "/" + f.root + key }

// checkKey rejects keys no object can have, before a request is made.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key")
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("key %q starts with /", key)
	}
	return nil
}

// fromMinio converts an object description, keyed relative to the root.
func fromMinio(key string, oi minio.ObjectInfo) ufs.ObjectInfo {
	return ufs.ObjectInfo{
		Key:     key,
		Size:    oi.Size,
		ETag:    strings.Trim(oi.ETag, `"`),
		ModTime: oi.LastModified.Truncate(time.Second),
	}
}
