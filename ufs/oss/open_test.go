package oss_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

// A secret no message may contain.
const secret = "Sup3r-S3cret-Value"

func TestOpenConfigErrors(t *testing.T) {
	good := map[string]string{
		oss.KeyAccessKeyID:     "id",
		oss.KeyAccessKeySecret: secret,
		oss.KeyEndpoint:        "http://127.0.0.1:1",
	}
	with := func(kv ...string) map[string]string {
		o := map[string]string{}
		for k, v := range good {
			o[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<unset>" {
				delete(o, kv[i])
			} else {
				o[kv[i]] = kv[i+1]
			}
		}
		return o
	}
	for _, tc := range []struct {
		name string
		uri  string
		opts map[string]string
		want []string // all in the message
	}{
		{"missing id", "oss://b-1", with(oss.KeyAccessKeyID, "<unset>"), []string{oss.KeyAccessKeyID, "not set"}},
		{"missing secret", "oss://b-1", with(oss.KeyAccessKeySecret, ""), []string{oss.KeyAccessKeySecret, "not set"}},
		{"missing endpoint", "oss://b-1", with(oss.KeyEndpoint, "<unset>"), []string{oss.KeyEndpoint, "not set"}},
		{"endpoint scheme", "oss://b-1", with(oss.KeyEndpoint, "ftp://x.com"), []string{oss.KeyEndpoint, `"ftp://x.com"`, "malformed"}},
		{"endpoint path", "oss://b-1", with(oss.KeyEndpoint, "http://x.com/path"), []string{oss.KeyEndpoint, `"http://x.com/path"`}},
		{"endpoint junk", "oss://b-1", with(oss.KeyEndpoint, "not a host!"), []string{oss.KeyEndpoint, `"not a host!"`}},
		{"endpoint port", "oss://b-1", with(oss.KeyEndpoint, "http://x.com:99999"), []string{oss.KeyEndpoint, "port"}},
		{"endpoint with user", "oss://b-1", with(oss.KeyEndpoint, "http://u:"+secret+"@x.com"), []string{oss.KeyEndpoint, "only scheme, host and port"}},
		{"scheme", "s3://b-1/dir", good, []string{"oss://", "s3://b-1/dir"}},
		{"bucket name", "oss://Bad_Bucket", good, []string{"Bad_Bucket", "bucket name"}},
		{"dot segment", "oss://b-1/a/../b", good, []string{`".."`}},
		{"credentials in URI", "oss://id:" + secret + "@b-1/dir", good, []string{"without user", oss.KeyAccessKeySecret}},
		{"unparsable URI", "oss://\x7f:" + secret + "@b-1", good, []string{"malformed"}},
		{"signature version", "oss://b-1", with(oss.KeySignatureVersion, "v2"), []string{oss.KeySignatureVersion, `"v2"`}},
		{"v4 without region", "oss://b-1", with(oss.KeySignatureVersion, "v4"), []string{oss.KeyRegion, oss.KeySignatureVersion}},
		{"threshold", "oss://b-1", with(oss.KeyMultipartThreshold, "lots"), []string{oss.KeyMultipartThreshold, `"lots"`}},
		{"part size too small", "oss://b-1", with(oss.KeyMultipartPartSize, "10KB"), []string{oss.KeyMultipartPartSize, "100KiB"}},
		{"concurrency", "oss://b-1", with(oss.KeyMultipartConcurrency, "0"), []string{oss.KeyMultipartConcurrency}},
		{"path style", "oss://b-1", with(oss.KeyPathStyle, "maybe"), []string{oss.KeyPathStyle, `"maybe"`}},
		{"socket timeout", "oss://b-1", with(oss.KeySocketTimeout, "soon"), []string{oss.KeySocketTimeout, `"soon"`}},
		{"socket timeout zero", "oss://b-1", with(oss.KeySocketTimeout, "0"), []string{oss.KeySocketTimeout, "out of range"}},
		{"unknown key", "oss://b-1", with("fs.oss.accesKeyId", "typo"), []string{"fs.oss.accesKeyId", "unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oss.Open(context.Background(), tc.uri, tc.opts)
			if err == nil {
				t.Fatalf("Open succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestOpenDerivesRegion(t *testing.T) {
	// The region comes from an Aliyun endpoint, so v4 needs no fs.oss.region;
	// the unreachable endpoint then fails the probe, not the configuration.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := oss.Open(ctx, "oss://b-1", map[string]string{
		oss.KeyAccessKeyID: "id", oss.KeyAccessKeySecret: secret,
		oss.KeyEndpoint: "oss-cn-hangzhou.invalid-not-aliyun.example", oss.KeySignatureVersion: "v4",
	})
	if err == nil || !strings.Contains(err.Error(), oss.KeyRegion) {
		t.Errorf("non-Aliyun endpoint with v4: %v, want a message naming %s", err, oss.KeyRegion)
	}
	_, err = oss.Open(ctx, "oss://b-1", map[string]string{
		oss.KeyAccessKeyID: "id", oss.KeyAccessKeySecret: secret,
		oss.KeyEndpoint: "oss-cn-hangzhou-internal.aliyuncs.com", oss.KeySignatureVersion: "v4",
	})
	if err == nil || strings.Contains(err.Error(), oss.KeyRegion+" is required") {
		t.Errorf("Aliyun endpoint with v4: %v, want the region derived", err)
	}
}

func TestOpenWrongCredentials(t *testing.T) {
	s := newServer(t)
	for _, v := range []string{"v1", "v4"} {
		t.Run(v, func(t *testing.T) {
			extra := []string{oss.KeySignatureVersion, v, oss.KeyRegion, "cn-hangzhou"}

			o := options(s, extra...)
			o[oss.KeyAccessKeySecret] = secret
			_, err := oss.Open(context.Background(), "oss://"+bucket+"/dir", o)
			if err == nil {
				t.Fatal("Open with a wrong secret succeeded")
			}
			msg := err.Error()
			if !strings.Contains(msg, oss.KeyAccessKeySecret) || !strings.Contains(msg, "SignatureDoesNotMatch") {
				t.Errorf("wrong secret: %q does not say the signature/secret is wrong", msg)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("wrong secret: %q shows the secret", msg)
			}
			if !errors.Is(err, ufs.ErrPermission) || ufs.IsRetryable(err) {
				t.Errorf("wrong secret: %v is not ErrPermission (or is retryable)", err)
			}

			o = options(s, extra...)
			o[oss.KeyAccessKeyID] = "nobody"
			_, err = oss.Open(context.Background(), "oss://"+bucket, o)
			if err == nil || !strings.Contains(err.Error(), oss.KeyAccessKeyID) || !strings.Contains(err.Error(), "InvalidAccessKeyId") {
				t.Errorf("unknown access key id: %v", err)
			}

			if v == "v4" {
				o = options(s, oss.KeySignatureVersion, v, oss.KeyRegion, "cn-beijing")
				_, err = oss.Open(context.Background(), "oss://"+bucket, o)
				if err == nil || !strings.Contains(err.Error(), oss.KeyRegion) {
					t.Errorf("wrong region: %v", err)
				}
			}
		})
	}
}

func TestOpenMissingBucket(t *testing.T) {
	s := newServer(t)
	_, err := oss.Open(context.Background(), "oss://no-such-bucket/dir", options(s))
	if err == nil {
		t.Fatal("Open of a missing bucket succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, `"no-such-bucket" does not exist`) || !strings.Contains(msg, "NoSuchBucket") {
		t.Errorf("missing bucket: %q", msg)
	}
	if ufs.IsNotExist(err) || ufs.IsRetryable(err) {
		t.Errorf("missing bucket: %v must be neither NotExist nor retryable", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	s := osstest.New(osstest.Options{})
	url := s.URL()
	s.Close() // nothing listens there any more
	o := map[string]string{oss.KeyAccessKeyID: "id", oss.KeyAccessKeySecret: secret, oss.KeyEndpoint: url}
	_, err := oss.Open(context.Background(), "oss://"+bucket, o)
	if err == nil || !strings.Contains(err.Error(), oss.KeyEndpoint) || !ufs.IsRetryable(err) {
		t.Errorf("unreachable endpoint: %v, want a retryable error naming %s", err, oss.KeyEndpoint)
	}
}

func TestOpenCancelled(t *testing.T) {
	s := newServer(t)
	s.SetFaults(osstest.Faults{Latency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := oss.Open(ctx, "oss://"+bucket, options(s))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open past its deadline: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v after its deadline", d)
	}
}
