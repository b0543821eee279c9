package osstest

import (
	"crypto/md5"
	"encoding/hex"
	"hash/crc64"
	"sort"
	"strings"
)

// PutObject stores data at bucket/key directly, as another OSS client
// would behind the back of the code under test. data is not copied: do not
// modify it afterwards.
func (s *Server) PutObject(bucket, key string, data []byte) error {
	sum := md5.Sum(data)
	o := &object{
		key: key, data: blobOf(data), etag: strings.ToUpper(hex.EncodeToString(sum[:])),
		crc: crc64.Checksum(data, crcTable), mtime: s.now(), contentType: "application/octet-stream",
		typ: "Normal",
	}
	if e := s.store.put(bucket, o); e != nil {
		return e
	}
	return nil
}

// Object returns a copy of the object at bucket/key and its ETag (without
// quotes), or ok == false.
func (s *Server) Object(bucket, key string) (data []byte, etag string, ok bool) {
	o, e := s.store.get(bucket, key)
	if e != nil {
		return nil, "", false
	}
	return o.data.bytes(), o.etag, true
}

// Keys returns every key of bucket, sorted.
func (s *Server) Keys(bucketName string) []string {
	var keys []string
	s.store.withBucket(bucketName, func(b *bucket) *ossError {
		keys = append(keys, b.keys...)
		return nil
	})
	return keys
}

// Uploads returns "key uploadId" for every multipart upload in progress in
// bucket, sorted: after a failed or cancelled upload it should be empty.
func (s *Server) Uploads(bucketName string) []string {
	var ups []string
	s.store.withBucket(bucketName, func(b *bucket) *ossError {
		for id, u := range b.uploads {
			ups = append(ups, u.key+" "+id)
		}
		return nil
	})
	sort.Strings(ups)
	return ups
}
