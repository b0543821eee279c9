package oss

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/hoardfs/hoard/ufs"
)

// ReadRange is one GetObject with a Range header, sent with
// x-oss-range-behavior: standard: OSS then clips a range that runs past the
// end, and answers 416 for one that starts at or past it, which is the
// empty reader the contract asks for. Without it OSS would ignore such a
// range and send the whole object.
func (f *FS) ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("oss: read %s: negative offset %d", f.uri(key), off)
	}
	if length == 0 {
		// Nothing to fetch, but a missing object is still an error.
		info, err := f.Stat(ctx, key)
		if err != nil {
			return nil, err
		}
		if err := ufs.CheckETag(ctx, f.uri(key), info.ETag); err != nil {
			return nil, fmt.Errorf("oss: %w", err)
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	if key == "" {
		return nil, f.errorf(ctx, "read", key, errRootNotObject)
	}
	opts := []oss.Option{oss.WithContext(ctx), oss.AcceptEncoding("identity")}
	ranged := off > 0 || length > 0
	if ranged {
		spec := strconv.FormatInt(off, 10) + "-"
		if length > 0 {
			spec += strconv.FormatInt(off+length-1, 10)
		}
		opts = append(opts, oss.NormalizedRange(spec), oss.RangeBehavior("standard"))
	}
	if etag := ufs.IfMatch(ctx); etag != "" {
		opts = append(opts, oss.IfMatch(`"`+etag+`"`))
	}
	res, err := f.bucket.DoGetObject(&oss.GetObjectRequest{ObjectKey: f.key(key)}, opts)
	if err != nil {
		var se oss.ServiceError
		if errors.As(err, &se) && se.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			return io.NopCloser(strings.NewReader("")), nil
		}
		if errors.As(err, &se) && se.StatusCode == http.StatusPreconditionFailed {
			return nil, fmt.Errorf("oss: read %s: it is no longer the version with ETag %s: %w", f.uri(key), ufs.IfMatch(ctx), ufs.ErrChanged)
		}
		return nil, f.errorf(ctx, "read", key, err)
	}
	resp := res.Response
	if err := ufs.CheckETag(ctx, f.uri(key), resp.Headers.Get("ETag")); err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("oss: %w", err)
	}
	r := &reader{f: f, ctx: ctx, key: key, body: resp.Body, rd: resp.Body}
	switch {
	case ranged && resp.StatusCode == http.StatusOK:
		// A server that ignored the range sent everything: skip to off.
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil && err != io.EOF {
			resp.Body.Close()
			return nil, f.errorf(ctx, "read", key, err)
		}
		if length > 0 {
			r.rd = io.LimitReader(resp.Body, length)
		}
	case !ranged && resp.Headers.Get(oss.HTTPHeaderOssCRC64) != "":
		// The SDK computes the CRC-64 of a whole-object body as it is
		// read; compare it with OSS's at EOF.
		r.crc, r.want = res.ClientCRC, res.ServerCRC
	}
	return r, nil
}

// reader is a GetObject body that classifies read errors and, for whole
// objects, checks the CRC-64 at EOF.
type reader struct {
	f    *FS
	ctx  context.Context
	key  string
	body io.ReadCloser
	rd   io.Reader
	crc  hash.Hash64 // nil: nothing to check
	want uint64
}

func (r *reader) Read(p []byte) (int, error) {
	// The transport notices a cancelled context only when it next waits
	// for the network; bytes already received would still flow.
	if r.ctx.Err() != nil {
		return 0, r.f.errorf(r.ctx, "read", r.key, r.ctx.Err())
	}
	n, err := r.rd.Read(p)
	switch {
	case err == io.EOF && r.crc != nil && r.crc.Sum64() != r.want:
		return n, r.f.errorf(r.ctx, "read", r.key, oss.CheckDownloadCRC(r.crc.Sum64(), r.want))
	case err != nil && err != io.EOF:
		return n, r.f.errorf(r.ctx, "read", r.key, err)
	}
	return n, err
}

func (r *reader) Close() error { return r.body.Close() }
