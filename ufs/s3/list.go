package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/hoardfs/hoard/ufs"
)

// errPageDone ends a listing on purpose once it has enough entries.
var errPageDone = errors.New("s3: listing page complete")

// List returns one page of ListObjectsV2.
//
// minio-go's list iterator yields each S3 page's objects first and its
// common prefixes after, and silently fetches the next page when the caller
// keeps reading. A page cut in the middle could therefore miss a prefix that
// sorts before objects already taken. So List asks for MaxKeys+1 entries per
// S3 page, always consumes whole S3 pages, and merges them itself; a
// listProbe in the context lets the transport refuse the next page request
// once enough entries are in. The extra entry tells whether more follow.
//
// With the delimiter, keys are rolled up into common prefixes here as well
// as on the server; entries not strictly after StartAfter are dropped and
// duplicates merged, because some servers repeat a common prefix that
// StartAfter (or their previous page) already ended in.
func (f *FS) List(ctx context.Context, opts ufs.ListOptions) (ufs.ListPage, error) {
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return ufs.ListPage{}, fmt.Errorf("s3 list %s: delimiter %q is not supported, only \"/\" or none", f.uri(opts.Prefix), opts.Delimiter)
	}
	limit := opts.MaxKeys
	if limit <= 0 {
		limit = 1000
	}
	prefix := f.objectName(opts.Prefix)
	startAfter := ""
	if opts.StartAfter != "" {
		startAfter = f.objectName(opts.StartAfter)
	}

	listCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	probe := &listProbe{want: limit + 1, cancel: cancel}
	listCtx = context.WithValue(listCtx, listProbeKey{}, probe)

	seen := map[string]bool{}
	var entries []entry
	for oi := range f.client.ListObjectsIter(listCtx, f.bucket, minio.ListObjectsOptions{
		Prefix:     prefix,
		Recursive:  opts.Delimiter == "",
		StartAfter: startAfter,
		MaxKeys:    limit + 1,
		FetchOwner: new(false), // owners are never used; smaller answers
	}) {
		if oi.Err != nil {
			if probe.done {
				break
			}
			return ufs.ListPage{}, f.opError(ctx, "list", opts.Prefix, oi.Err)
		}
		name, isPrefix := oi.Key, false
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		if i := strings.Index(name[len(prefix):], "/"); opts.Delimiter != "" && i >= 0 {
			// Roll up here too rather than trust the server: gofakes3
			// (which rclone serve s3 is built on) lists a marker one level
			// down ("d/" under prefix "") as an object, not a prefix.
			name, isPrefix = name[:len(prefix)+i+1], true
			oi = minio.ObjectInfo{Key: name}
		}
		if name <= startAfter || seen[name] || name == f.root {
			continue // the root's own marker is not an entry under it
		}
		seen[name] = true
		entries = append(entries, entry{info: fromMinio(name[len(f.root):], oi), isPrefix: isPrefix})
		probe.have = len(entries)
	}
	if !probe.done {
		if err := ctx.Err(); err != nil {
			// The iterator ends quietly when the context is cancelled.
			return ufs.ListPage{}, fmt.Errorf("s3 list %s: %w", f.uri(opts.Prefix), err)
		}
	}

	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.info.Key, b.info.Key) })
	var page ufs.ListPage
	if len(entries) > limit {
		entries = entries[:limit]
		page.Truncated = true
		page.NextStartAfter = entries[limit-1].info.Key
	}
	for _, e := range entries {
		if e.isPrefix {
			page.CommonPrefixes = append(page.CommonPrefixes, e.info.Key)
		} else {
			page.Objects = append(page.Objects, e.info)
		}
	}
	return page, nil
}

// entry is an object or a common prefix, to be merged in key order.
type entry struct {
	info     ufs.ObjectInfo
	isPrefix bool
}

// listProbe rides in a List call's context down to probeTransport. The
// transport runs in the goroutine that ranges over the list iterator, so
// the fields need no lock.
type listProbe struct {
	want   int  // entries that make a full page (MaxKeys+1)
	have   int  // entries taken so far
	done   bool // a further request was refused: the page is complete
	cancel context.CancelFunc
}

type listProbeKey struct{}

// probeTransport refuses any request of a List call that already holds
// enough entries, which ends minio-go's iterator between two S3 pages.
type probeTransport struct {
	base http.RoundTripper
}

func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if p, ok := req.Context().Value(listProbeKey{}).(*listProbe); ok && p.have >= p.want {
		p.done = true
		p.cancel() // so that minio-go does not retry the refused request
		return nil, errPageDone
	}
	return t.base.RoundTrip(req)
}
