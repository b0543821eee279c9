package osstest

import (
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
)

// blob is immutable object data held as a list of segments. Segments are
// never modified once stored, so a copy (CopyObject, UploadPartCopy) or a
// completed multipart upload shares them instead of copying bytes: a 256 MiB
// object costs 256 MiB once, however many times it is copied or assembled.
type blob struct {
	segs [][]byte
	size int64
}

// chunkSize bounds one segment read from a request body. Reading bodies in
// fixed chunks avoids the repeated grow-and-copy of one big slice.
const chunkSize = 1 << 20

// errTooLarge is returned by readBlob when the body exceeds its limit.
var errTooLarge = errors.New("osstest: body exceeds the size limit")

// errShortBody is returned by readBlob when the body ends before its
// declared length or breaks off (the client went away mid-request).
var errShortBody = errors.New("osstest: request body ended early")

// readBlob reads all of r (at most limit bytes) into a new blob, feeding
// every byte to the hashes. size is the declared length or -1. Only a body
// that ends with io.EOF, at its declared length, is complete: a client
// that dies mid-body must not leave a truncated object behind.
func readBlob(r io.Reader, size, limit int64, hashes ...hash.Hash) (blob, error) {
	var b blob
	w := io.MultiWriter(asWriters(hashes)...)
	for {
		n := int64(chunkSize)
		if size >= 0 && size-b.size < n {
			// One byte more than declared, so that the end is seen.
			n = size - b.size + 1
		}
		buf := make([]byte, n)
		m, err := fill(r, buf)
		if m > 0 {
			seg := buf[:m]
			if m < len(buf)/2 {
				// Do not pin a mostly empty chunk for the object's lifetime.
				seg = bytes.Clone(seg)
			}
			b.segs = append(b.segs, seg)
			b.size += int64(m)
			w.Write(seg)
			if b.size > limit {
				return blob{}, errTooLarge
			}
		}
		switch {
		case err == io.EOF && (size < 0 || b.size == size):
			return b, nil
		case err == io.EOF:
			return blob{}, errShortBody
		case err != nil:
			return blob{}, fmt.Errorf("%w: %w", errShortBody, err)
		}
	}
}

// fill reads into p until it is full or r fails, and returns r's error
// as it is (io.ReadFull would turn a body's own io.ErrUnexpectedEOF and a
// clean end alike into io.ErrUnexpectedEOF).
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func asWriters(hs []hash.Hash) []io.Writer {
	ws := make([]io.Writer, len(hs))
	for i, h := range hs {
		ws[i] = h
	}
	return ws
}

// blobOf wraps p without copying it.
func blobOf(p []byte) blob {
	if len(p) == 0 {
		return blob{}
	}
	return blob{segs: [][]byte{p}, size: int64(len(p))}
}

// slice returns the n bytes at off, sharing segments with b.
func (b blob) slice(off, n int64) blob {
	var out blob
	for _, s := range b.segs {
		if n == 0 {
			break
		}
		l := int64(len(s))
		if off >= l {
			off -= l
			continue
		}
		take := min(l-off, n)
		out.segs = append(out.segs, s[off:off+take])
		out.size += take
		n -= take
		off = 0
	}
	return out
}

// concat returns the blobs one after the other, sharing their segments.
func concat(bs ...blob) blob {
	var out blob
	for _, b := range bs {
		out.segs = append(out.segs, b.segs...)
		out.size += b.size
	}
	return out
}

// writeTo writes the blob to w.
func (b blob) writeTo(w io.Writer) (int64, error) {
	var total int64
	for _, s := range b.segs {
		n, err := w.Write(s)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// bytes returns a copy of the whole blob.
func (b blob) bytes() []byte {
	out := make([]byte, 0, b.size)
	for _, s := range b.segs {
		out = append(out, s...)
	}
	return out
}
