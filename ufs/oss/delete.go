package oss

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// deleteBatch is the most keys one DeleteMultipleObjects takes.
const deleteBatch = 1000

// maxNamed is how many keys that failed to delete an error names.
const maxNamed = 10

// errNotDeleted is OSS answering that it failed to delete some keys.
var errNotDeleted = errors.New("OSS did not delete")

// Delete removes keys with DeleteMultipleObjects, 1000 at a time. OSS
// reports missing keys as deleted, so Delete is idempotent; a marker "d/"
// is one object, so deleting it leaves the keys under it alone. Keys OSS
// fails to delete make Delete fail with a retryable error naming them.
func (f *FS) Delete(ctx context.Context, keys ...string) error {
	for start := 0; start < len(keys); start += deleteBatch {
		if err := f.deleteBatch(ctx, keys[start:min(start+deleteBatch, len(keys))]); err != nil {
			return err
		}
	}
	return nil
}

// deleteBatch is one DeleteMultipleObjects in quiet mode, in which OSS
// answers with the keys it failed to delete and with nothing when it
// deleted them all. The SDK's DeleteObjects does not read a quiet answer,
// so the request is made one level down.
func (f *FS) deleteBatch(ctx context.Context, batch []string) error {
	var req strings.Builder
	req.WriteString("<Delete><Quiet>true</Quiet>")
	for _, k := range batch {
		if err := f.checkKey("delete", k); err != nil {
			return err
		}
		req.WriteString("<Object><Key>" + oss.EscapeXml(f.key(k)) + "</Key></Object>")
	}
	req.WriteString("</Delete>")
	what := batch[0]
	if len(batch) > 1 {
		what = fmt.Sprintf("%s (and %d more)", batch[0], len(batch)-1)
	}
	answer, err := f.bucket.DeleteMultipleObjectsXml(req.String(), oss.WithContext(ctx))
	if err != nil {
		return f.errorf(ctx, "delete", what, err)
	}
	failed, err := f.failedDeletes(answer)
	if err != nil {
		return f.errorf(ctx, "delete", what, err)
	}
	if len(failed) == 0 {
		return nil
	}
	named := strings.Join(failed[:min(len(failed), maxNamed)], ", ")
	if len(failed) > maxNamed {
		named += ", ..."
	}
	// OSS gives no reason, and deleting again is harmless: retryable.
	return ufs.Retryable(fmt.Errorf("oss: delete %s: %w %d of %d keys: %s",
		f.uri(what), errNotDeleted, len(failed), len(batch), named))
}

// deleteResult is the answer to a DeleteMultipleObjects. Keys come
// URL-encoded: the SDK asks for encoding-type=url.
type deleteResult struct {
	EncodingType string `xml:"EncodingType"`
	Deleted      []struct {
		Key string `xml:"Key"`
	} `xml:"Deleted"`
}

// failedDeletes returns the UFS keys a quiet DeleteMultipleObjects answer
// lists: those OSS failed to delete.
func (f *FS) failedDeletes(answer string) ([]string, error) {
	if strings.TrimSpace(answer) == "" {
		return nil, nil
	}
	var res deleteResult
	if err := xml.Unmarshal([]byte(answer), &res); err != nil {
		return nil, fmt.Errorf("reading the DeleteMultipleObjects answer: %w", err)
	}
	keys := make([]string, 0, len(res.Deleted))
	for _, d := range res.Deleted {
		k := d.Key
		if res.EncodingType == "url" {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				return nil, fmt.Errorf("reading the DeleteMultipleObjects answer: key %q: %w", d.Key, err)
			}
		}
		keys = append(keys, strings.TrimPrefix(k, f.prefix))
	}
	return keys, nil
}
