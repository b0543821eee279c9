package osstest

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
)

// intParam reads an integer query parameter within [lo, hi], or def.
func intParam(q url.Values, name string, def, lo, hi int) (int, *ossError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errInvalidArgument("Argument "+name+" must be an integer between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi)+".", name, v)
	}
	return n, nil
}

// listing is one page of keys and common prefixes.
type listing struct {
	objects   []*object
	prefixes  []string
	truncated bool
	last      string // the greatest key or prefix in the page
}

// list walks the bucket's sorted keys after marker under prefix. With a
// delimiter, keys that contain it after the prefix roll up into one common
// prefix; a common prefix not greater than the marker is skipped, so that
// a marker that is itself a common prefix continues after that "directory".
func (c *call) list(prefix, delim, marker string, maxKeys int) (listing, *ossError) {
	var l listing
	e := c.s.store.withBucket(c.t.bucket, func(b *bucket) *ossError {
		from := prefix
		if marker >= from {
			from = marker + "\x00"
		}
		i, _ := searchStrings(b.keys, from)
		n := 0
		for ; i < len(b.keys); i++ {
			key := b.keys[i]
			if !strings.HasPrefix(key, prefix) {
				break
			}
			entry, isPrefix := key, false
			if delim != "" {
				if j := strings.Index(key[len(prefix):], delim); j >= 0 {
					entry, isPrefix = key[:len(prefix)+j+len(delim)], true
					if entry <= marker || entry == l.last {
						continue
					}
				}
			}
			if n == maxKeys {
				l.truncated = true
				break
			}
			if isPrefix {
				l.prefixes = append(l.prefixes, entry)
			} else {
				l.objects = append(l.objects, b.objects[key])
			}
			l.last = entry
			n++
		}
		return nil
	})
	return l, e
}

func searchStrings(a []string, x string) (int, bool) {
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(a) && a[lo] == x
}

func (c *call) contents(objs []*object, enc func(string) string, withOwner bool) []contents {
	out := make([]contents, 0, len(objs))
	for _, o := range objs {
		ct := contents{
			Key: enc(o.key), LastModified: isoTime(o.mtime), ETag: quote(o.etag),
			Type: o.typ, Size: o.data.size, StorageClass: "Standard",
		}
		if withOwner {
			ct.Owner = &owner{ID: "osstest", DisplayName: "osstest"}
		}
		out = append(out, ct)
	}
	return out
}

func prefixesOf(ps []string, enc func(string) string) []commonPrefix {
	out := make([]commonPrefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, commonPrefix{enc(p)})
	}
	return out
}

// listObjects is ListObjects (v1): prefix, delimiter, marker, max-keys
// (default 100, at most 1000), NextMarker when truncated.
func (c *call) listObjects() *ossError {
	q := c.t.query
	maxKeys, e := intParam(q, "max-keys", 100, 0, 1000)
	if e != nil {
		return e
	}
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	l, e := c.list(prefix, delim, marker, maxKeys)
	if e != nil {
		return e
	}
	encType, enc := c.urlEncoding()
	res := listBucketResult{
		Name: c.t.bucket, Prefix: enc(prefix), Marker: enc(marker), MaxKeys: maxKeys,
		Delimiter: enc(delim), EncodingType: encType, IsTruncated: l.truncated,
		Contents: c.contents(l.objects, enc, true), CommonPrefixes: prefixesOf(l.prefixes, enc),
	}
	if l.truncated {
		res.NextMarker = enc(l.last)
	}
	return c.writeXML(res)
}

// listObjectsV2 is ListObjectsV2 (list-type=2): continuation-token (opaque,
// it encodes the last key of the previous page), start-after, KeyCount.
func (c *call) listObjectsV2() *ossError {
	q := c.t.query
	maxKeys, e := intParam(q, "max-keys", 100, 0, 1000)
	if e != nil {
		return e
	}
	prefix, delim, startAfter := q.Get("prefix"), q.Get("delimiter"), q.Get("start-after")
	marker := startAfter
	token, hasToken := q["continuation-token"]
	if hasToken && token[0] != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token[0])
		if err != nil {
			return errInvalidArgument("The continuation token provided is incorrect.", "continuation-token", token[0])
		}
		marker = string(raw)
	}
	l, e := c.list(prefix, delim, marker, maxKeys)
	if e != nil {
		return e
	}
	encType, enc := c.urlEncoding()
	res := listBucketResultV2{
		Name: c.t.bucket, Prefix: enc(prefix), StartAfter: enc(startAfter), MaxKeys: maxKeys,
		Delimiter: enc(delim), EncodingType: encType, IsTruncated: l.truncated,
		KeyCount: len(l.objects) + len(l.prefixes),
		Contents: c.contents(l.objects, enc, q.Get("fetch-owner") == "true"), CommonPrefixes: prefixesOf(l.prefixes, enc),
	}
	if hasToken {
		res.ContinuationToken = token[0]
	}
	if l.truncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(l.last))
	}
	return c.writeXML(res)
}
