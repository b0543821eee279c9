package gateway

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"iter"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/hoardfs/hoard/store"
)

// ListObjects (v1) and ListObjectsV2.
//
// S3 lists keys in byte order of the whole key, and a directory's keys sort
// as "name/...": "a/" comes after "a-b" and "a.c", although pebble keeps
// the directory "a" before them. The lister walks the tree depth first and,
// in each directory, holds a directory back until every name that sorts
// before "name/" has passed (as store/sync.go's nsStream does). Memory is
// bounded by the depth of the tree and those few held-back directories,
// whatever the number of keys.
//
// A listing resumes where the previous page ended without reading what it
// skips: in each directory on the way to the resume point the store's
// iterator starts after the resume point's name, and subtrees that a common
// prefix covers are skipped whole. An empty directory is listed as its
// marker key "dir/".

// listItem is one entry of a listing: a key (n set) or a common prefix.
type listItem struct {
	key    string
	prefix bool
	n      *store.Inode
}

// lister produces the keys of a bucket in S3 order.
type lister struct {
	st     *store.Store
	ctx    context.Context
	prefix string
	delim  string
	// Keys must be > after (marker, start-after, continuation token) and
	// >= from (Alluxio's continuation-token, which names the next key).
	after, from string

	yield  func(listItem) bool
	lastCP string
}

func (l *lister) pos() string {
	if l.after != "" {
		return l.after
	}
	return l.from
}

// passes reports whether key lies after the resume point.
func (l *lister) passes(key string) bool {
	return (l.after == "" || key > l.after) && (l.from == "" || key >= l.from)
}

// rollup is the common prefix that key falls in, "" if none.
func (l *lister) rollup(key string) string {
	if l.delim == "" || len(key) <= len(l.prefix) {
		return ""
	}
	i := strings.Index(key[len(l.prefix):], l.delim)
	if i < 0 {
		return ""
	}
	return key[:len(l.prefix)+i+len(l.delim)]
}

// emitKey yields key, or the common prefix it falls in.
func (l *lister) emitKey(key string, n *store.Inode) bool {
	if !l.passes(key) {
		return true
	}
	if cp := l.rollup(key); cp != "" {
		if cp == l.lastCP || cp == l.after {
			return true
		}
		l.lastCP = cp
		return l.yield(listItem{key: cp, prefix: true})
	}
	return l.yield(listItem{key: key, n: n})
}

// run lists the bucket whose directory is ino.
func (l *lister) run(ino uint64) error {
	// Start in the deepest directory that the prefix names whole: "a/b/"
	// of "a/b/c", whose names must start with "c".
	dirPart := l.prefix[:strings.LastIndex(l.prefix, "/")+1]
	for _, c := range strings.Split(strings.TrimSuffix(dirPart, "/"), "/") {
		if c == "" && dirPart == "" {
			break
		}
		n, err := l.st.Lookup(l.ctx, ino, c)
		if err != nil {
			if gone(err) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNameTooLong) {
				return nil // no such directory: no such keys
			}
			return err
		}
		if n.Type != store.TypeDir {
			return nil
		}
		ino = n.Ino
	}
	_, err := l.walk(ino, dirPart, l.prefix[len(dirPart):])
	return err
}

// gone reports whether err says an entry disappeared.
func gone(err error) bool {
	return errors.Is(err, store.ErrNotExist) || errors.Is(err, store.ErrStale) || errors.Is(err, store.ErrNotDir)
}

// walk lists directory ino, whose keys start with base, keeping the names
// that start with np. It returns false when the consumer has had enough.
func (l *lister) walk(ino uint64, base, np string) (bool, error) {
	pos := l.pos()
	if pos != "" && !strings.HasPrefix(pos, base) && pos > base {
		return true, nil // every key here sorts before the resume point
	}
	readAfter := ""
	if np != "" {
		readAfter = predecessor(np)
	}
	var inject []store.DirEntry
	if pos != "" && strings.HasPrefix(pos, base) {
		c, _, deeper := strings.Cut(pos[len(base):], "/")
		after := c
		if deeper {
			// Names before "c/" hold only keys before the resume point.
			after = c + "/"
		}
		if c != "" && strings.HasPrefix(c, np) {
			// The entry c itself: a directory holding (or following) the
			// resume point, or with from, the file it names.
			if n, err := l.st.Lookup(l.ctx, ino, c); err == nil && (n.Type == store.TypeDir || !deeper) {
				inject = append(inject, store.DirEntry{Name: c, Ino: n.Ino, Type: n.Type})
			}
		}
		// Directories named by a prefix of c that a byte below '/' follows
		// ("a" of "a-b") sort after c ("a/" > "a-b") but come before it
		// in the store: they are not behind us.
		for i := 1; i < len(c); i++ {
			if c[i] >= '/' || !strings.HasPrefix(c[:i], np) {
				continue
			}
			if n, err := l.st.Lookup(l.ctx, ino, c[:i]); err == nil && n.Type == store.TypeDir {
				inject = append(inject, store.DirEntry{Name: c[:i], Ino: n.Ino, Type: n.Type})
			}
		}
		readAfter = max(readAfter, after)
	}
	if readAfter != "" {
		// ReadDir merges a directory with the UFS only when read from the
		// start; make sure that happened.
		for _, err := range l.st.ReadDir(l.ctx, ino, "") {
			if err != nil && gone(err) {
				return true, nil
			}
			break
		}
	}
	ds := newDirStream(l.st.ReadDir(l.ctx, ino, readAfter), np, inject)
	defer ds.stop()
	empty := true
	for {
		e, ok, err := ds.next()
		if err != nil {
			if gone(err) {
				return true, nil
			}
			return false, err
		}
		if !ok {
			break
		}
		empty = false
		if l.lastCP != "" && strings.HasPrefix(base, l.lastCP) {
			return true, nil // the rest of this directory is in the prefix just listed
		}
		if e.Type == store.TypeDir {
			sub := base + e.Name + "/"
			if cp := l.rollup(sub); cp != "" {
				// The whole subtree falls in one common prefix.
				if cp == l.lastCP {
					continue
				}
				if l.passes(cp) && cp != l.after {
					l.lastCP = cp
					if !l.yield(listItem{key: cp, prefix: true}) {
						return false, nil
					}
					continue
				}
				if !strings.HasPrefix(l.pos(), cp) || cp == l.after {
					continue // all of it is before the resume point
				}
				// The resume point is inside: look for keys after it.
			}
			if cont, err := l.walk(e.Ino, sub, ""); err != nil || !cont {
				return cont, err
			}
			continue
		}
		n, err := l.st.GetAttr(l.ctx, e.Ino)
		if err != nil {
			if gone(err) {
				continue
			}
			return false, err
		}
		if !l.emitKey(base+e.Name, n) {
			return false, nil
		}
	}
	if empty && readAfter == "" && np == "" && base != "" && len(inject) == 0 {
		// An empty directory is its marker key.
		n, err := l.st.GetAttr(l.ctx, ino)
		if err == nil && !l.emitKey(base, n) {
			return false, nil
		}
	}
	return true, nil
}

// predecessor is the greatest name that sorts before every name starting
// with np (names are at most store.MaxNameLen bytes and never contain NUL).
func predecessor(np string) string {
	last := np[len(np)-1]
	if last <= 1 {
		return np[:len(np)-1]
	}
	b := []byte(np[:len(np)-1])
	b = append(b, last-1)
	for len(b) < store.MaxNameLen {
		b = append(b, 0xff)
	}
	return string(b)
}

// dirStream yields a directory's entries in S3 order: a directory "d" sorts
// as "d/". Directories wait in pending, sorted, until the next name from
// the store sorts after them.
type dirStream struct {
	pull      func() (store.DirEntry, error, bool)
	stop      func()
	np        string
	peeked    *store.DirEntry
	exhausted bool
	pending   []store.DirEntry
}

func sortKey(e store.DirEntry) string {
	if e.Type == store.TypeDir {
		return e.Name + "/"
	}
	return e.Name
}

func newDirStream(seq iter.Seq2[store.DirEntry, error], np string, inject []store.DirEntry) *dirStream {
	pull, stop := iter.Pull2(seq)
	ds := &dirStream{pull: pull, stop: stop, np: np}
	for _, e := range inject {
		ds.hold(e)
	}
	return ds
}

func (d *dirStream) hold(e store.DirEntry) {
	k := sortKey(e)
	i := sort.Search(len(d.pending), func(i int) bool { return sortKey(d.pending[i]) > k })
	d.pending = append(d.pending, store.DirEntry{})
	copy(d.pending[i+1:], d.pending[i:])
	d.pending[i] = e
}

func (d *dirStream) next() (store.DirEntry, bool, error) {
	for {
		for d.peeked == nil && !d.exhausted {
			e, err, ok := d.pull()
			switch {
			case err != nil:
				return store.DirEntry{}, false, err
			case !ok:
				d.exhausted = true
			case !strings.HasPrefix(e.Name, d.np):
				if e.Name > d.np {
					d.exhausted = true // names with the prefix are behind us
				}
			case e.Type == store.TypeSymlink:
				// Symlinks live in the metadata only: not objects.
			default:
				d.peeked = &e
			}
		}
		if len(d.pending) > 0 && (d.peeked == nil || sortKey(d.pending[0]) < d.peeked.Name) {
			e := d.pending[0]
			d.pending = d.pending[1:]
			return e, true, nil
		}
		if d.peeked == nil {
			return store.DirEntry{}, false, nil
		}
		e := *d.peeked
		d.peeked = nil
		if e.Type != store.TypeDir {
			return e, true, nil
		}
		d.hold(e)
	}
}

// encoder returns how keys are written in a listing: as they are, or with
// encoding-type=url percent-encoded (spaces as %20, which decoders that
// take '+' for a space read right too).
func encoder(q *request) (func(string) string, error) {
	switch q.query.Get("encoding-type") {
	case "":
		return func(s string) string { return s }, nil
	case "url":
		return func(s string) string { return awsEncode(s, true) }, nil
	}
	return nil, ErrInvalidEncodingType
}

// Continuation tokens are opaque to clients: "1/" and the last key or
// common prefix of the page, base64. A token that is not one is taken as
// Alluxio's, which names the first key of the next page.
func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte("1/" + key)) }

func decodeToken(t string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || !strings.HasPrefix(string(b), "1/") {
		return "", false
	}
	return string(b[2:]), true
}

type objectXML struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	Owner        *owner `xml:",omitempty"`
	StorageClass string
}

type listV1Result struct {
	XMLName        xml.Name `xml:"ListBucketResult"`
	NS             string   `xml:"xmlns,attr"`
	Name           string
	Prefix         string
	Marker         string
	NextMarker     string `xml:",omitempty"`
	MaxKeys        int
	Delimiter      string `xml:",omitempty"`
	EncodingType   string `xml:",omitempty"`
	IsTruncated    bool
	Contents       []objectXML
	CommonPrefixes []commonPrefix
}

type listV2Result struct {
	XMLName               xml.Name `xml:"ListBucketResult"`
	NS                    string   `xml:"xmlns,attr"`
	Name                  string
	Prefix                string
	StartAfter            string `xml:",omitempty"`
	ContinuationToken     string `xml:",omitempty"`
	NextContinuationToken string `xml:",omitempty"`
	KeyCount              int
	MaxKeys               int
	Delimiter             string `xml:",omitempty"`
	EncodingType          string `xml:",omitempty"`
	IsTruncated           bool
	Contents              []objectXML
	CommonPrefixes        []commonPrefix
}

func (s *server) listObjects(q *request) error {
	b, err := s.bucketDir(q)
	if err != nil {
		return err
	}
	enc, err := encoder(q)
	if err != nil {
		return err
	}
	maxKeys := 1000
	if v := q.query.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return ErrInvalidMaxKeys
		}
		maxKeys = min(n, 1000)
	}
	v2 := q.query.Get("list-type") == "2"
	l := &lister{st: s.st, ctx: q.ctx, prefix: q.query.Get("prefix"), delim: q.query.Get("delimiter")}
	token := q.query.Get("continuation-token")
	switch {
	case token != "":
		if k, ok := decodeToken(token); ok {
			l.after = k
		} else {
			l.from = token
		}
	case v2:
		l.after = q.query.Get("start-after")
	default:
		l.after = q.query.Get("marker")
	}

	var items []listItem
	truncated := false
	if maxKeys > 0 {
		l.yield = func(it listItem) bool {
			if len(items) == maxKeys {
				truncated = true
				return false
			}
			items = append(items, it)
			return true
		}
		if err := l.run(b.Ino); err != nil {
			return storeError(err, atBucket)
		}
	}

	fetchOwner := !v2 || q.query.Get("fetch-owner") == "true"
	contents := []objectXML{}
	var prefixes []commonPrefix
	for _, it := range items {
		if it.prefix {
			prefixes = append(prefixes, commonPrefix{enc(it.key)})
			continue
		}
		size := it.n.Size
		if it.n.Type == store.TypeDir {
			size = 0
		}
		o := objectXML{
			Key: enc(it.key), LastModified: fmtTime(it.n.Mtime), ETag: `"` + etagOf(it.n) + `"`,
			Size: size, StorageClass: "STANDARD",
		}
		if fetchOwner {
			o.Owner = &owner{ID: it.n.Owner, DisplayName: it.n.Owner}
		}
		contents = append(contents, o)
	}
	last := ""
	if truncated && len(items) > 0 {
		last = items[len(items)-1].key
	}
	encType := ""
	if q.query.Get("encoding-type") != "" {
		encType = "url"
	}
	if !v2 {
		res := listV1Result{
			NS: s3NS, Name: q.bucket, Prefix: enc(l.prefix), Marker: enc(q.query.Get("marker")), MaxKeys: maxKeys,
			Delimiter: enc(l.delim), EncodingType: encType, IsTruncated: truncated, Contents: contents, CommonPrefixes: prefixes,
		}
		if truncated {
			res.NextMarker = enc(last)
		}
		return writeXML(q, http.StatusOK, res)
	}
	res := listV2Result{
		NS: s3NS, Name: q.bucket, Prefix: enc(l.prefix), StartAfter: enc(q.query.Get("start-after")),
		ContinuationToken: token, KeyCount: len(items), MaxKeys: maxKeys, Delimiter: enc(l.delim),
		EncodingType: encType, IsTruncated: truncated, Contents: contents, CommonPrefixes: prefixes,
	}
	if truncated {
		res.NextContinuationToken = encodeToken(last)
	}
	return writeXML(q, http.StatusOK, res)
}
