package store

import (
	"context"
	"fmt"
)

// ReadType is Alluxio's read type.
type ReadType uint8

const (
	// CachePromote caches what is read (the default).
	CachePromote ReadType = iota + 1
	// Cache caches what is read; Hoard has one cache tier, so it behaves as
	// CachePromote.
	Cache
	// NoCache reads what is not cached straight from the UFS, caching nothing.
	NoCache
)

var readTypeNames = map[ReadType]string{CachePromote: "CACHE_PROMOTE", Cache: "CACHE", NoCache: "NO_CACHE"}

func (r ReadType) String() string {
	if s, ok := readTypeNames[r]; ok {
		return s
	}
	return fmt.Sprintf("ReadType(%d)", uint8(r))
}

// ParseReadType parses an Alluxio read type name such as "CACHE_PROMOTE".
func ParseReadType(s string) (ReadType, error) {
	for r, name := range readTypeNames {
		if name == s {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown read type %q: want CACHE_PROMOTE, CACHE or NO_CACHE", s)
}

type writeTypeKey struct{}
type readTypeKey struct{}

// WithWriteType makes files created or written with ctx use write type w.
func WithWriteType(ctx context.Context, w WriteType) context.Context {
	return context.WithValue(ctx, writeTypeKey{}, w)
}

// WithReadType makes reads with ctx use read type r.
func WithReadType(ctx context.Context, r ReadType) context.Context {
	return context.WithValue(ctx, readTypeKey{}, r)
}

// writeTypeFor picks the write type: the request's, else the mount's, else
// the configured default.
func (s *Store) writeTypeFor(ctx context.Context, m *mountEntry) WriteType {
	if w, ok := ctx.Value(writeTypeKey{}).(WriteType); ok && w != 0 {
		return w
	}
	if m != nil && m.WriteType != 0 {
		return m.WriteType
	}
	return s.opts.WriteType
}

// readTypeFor picks the read type the same way.
func (s *Store) readTypeFor(ctx context.Context, m *mountEntry) ReadType {
	if r, ok := ctx.Value(readTypeKey{}).(ReadType); ok && r != 0 {
		return r
	}
	if m != nil && m.ReadType != 0 {
		return ReadType(m.ReadType)
	}
	return s.opts.ReadType
}
