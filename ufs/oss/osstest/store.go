package osstest

import (
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"
)

// object is one stored object. It is immutable once stored: a PUT replaces
// the whole *object, so readers holding the old one keep consistent bytes.
type object struct {
	key         string
	data        blob
	etag        string // uppercase hex, without quotes; "-N" suffix for multipart
	crc         uint64 // CRC-64/ECMA of data, as x-oss-hash-crc64ecma reports it
	mtime       time.Time
	contentType string
	meta        http.Header // x-oss-meta-* headers
	typ         string      // "Normal" or "Multipart"
}

// part is one uploaded part of a multipart upload.
type part struct {
	num   int
	data  blob
	etag  string // uppercase hex MD5, without quotes
	crc   uint64
	mtime time.Time
}

// upload is a multipart upload in progress.
type upload struct {
	id          string
	key         string
	initiated   time.Time
	contentType string
	meta        http.Header
	parts       map[int]*part
}

type bucket struct {
	name    string
	created time.Time
	objects map[string]*object
	keys    []string // the keys of objects, sorted, for listings
	uploads map[string]*upload
}

// store holds every bucket. One lock guards the maps; object bytes are read
// from the network and hashed outside of it.
type store struct {
	mu struct {
		sync.RWMutex
		buckets map[string]*bucket
	}
}

func newStore() *store {
	st := &store{}
	st.mu.buckets = map[string]*bucket{}
	return st
}

func (st *store) createBucket(name string, now time.Time) *ossError {
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.mu.buckets[name]; ok {
		return newErr(http.StatusConflict, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.", "BucketName", name)
	}
	st.mu.buckets[name] = &bucket{
		name: name, created: now,
		objects: map[string]*object{}, uploads: map[string]*upload{},
	}
	return nil
}

func (st *store) deleteBucket(name string) *ossError {
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.mu.buckets[name]
	if !ok {
		return errNoSuchBucket(name)
	}
	if len(b.objects) > 0 || len(b.uploads) > 0 {
		return newErr(http.StatusConflict, "BucketNotEmpty", "The bucket you tried to delete is not empty.", "BucketName", name)
	}
	delete(st.mu.buckets, name)
	return nil
}

// bucketNames returns every bucket name, sorted.
func (st *store) bucketNames() []string {
	st.mu.RLock()
	defer st.mu.RUnlock()
	names := make([]string, 0, len(st.mu.buckets))
	for n := range st.mu.buckets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// withBucket runs fn on the bucket under the read lock.
func (st *store) withBucket(name string, fn func(b *bucket) *ossError) *ossError {
	st.mu.RLock()
	defer st.mu.RUnlock()
	b, ok := st.mu.buckets[name]
	if !ok {
		return errNoSuchBucket(name)
	}
	return fn(b)
}

// updateBucket runs fn on the bucket under the write lock.
func (st *store) updateBucket(name string, fn func(b *bucket) *ossError) *ossError {
	st.mu.Lock()
	defer st.mu.Unlock()
	b, ok := st.mu.buckets[name]
	if !ok {
		return errNoSuchBucket(name)
	}
	return fn(b)
}

func (st *store) get(bucketName, key string) (*object, *ossError) {
	var o *object
	err := st.withBucket(bucketName, func(b *bucket) *ossError {
		o = b.objects[key]
		if o == nil {
			return errNoSuchKey(key)
		}
		return nil
	})
	return o, err
}

func (st *store) bucketExists(name string) *ossError {
	return st.withBucket(name, func(*bucket) *ossError { return nil })
}

// putLocked stores o in b, replacing any object at its key.
func (b *bucket) putLocked(o *object) {
	if _, ok := b.objects[o.key]; !ok {
		i, _ := slices.BinarySearch(b.keys, o.key)
		b.keys = slices.Insert(b.keys, i, o.key)
	}
	b.objects[o.key] = o
}

// deleteLocked removes the object at key, if any.
func (b *bucket) deleteLocked(key string) {
	if _, ok := b.objects[key]; !ok {
		return
	}
	delete(b.objects, key)
	if i, found := slices.BinarySearch(b.keys, key); found {
		b.keys = slices.Delete(b.keys, i, i+1)
	}
}

func (st *store) put(bucketName string, o *object) *ossError {
	return st.updateBucket(bucketName, func(b *bucket) *ossError {
		b.putLocked(o)
		return nil
	})
}

func (st *store) delete(bucketName, key string) *ossError {
	return st.updateBucket(bucketName, func(b *bucket) *ossError {
		b.deleteLocked(key)
		return nil
	})
}

// uploadLocked finds the upload id for key.
func (b *bucket) uploadLocked(key, id string) (*upload, *ossError) {
	u := b.uploads[id]
	if u == nil || u.key != key {
		return nil, errNoSuchUpload(id)
	}
	return u, nil
}
