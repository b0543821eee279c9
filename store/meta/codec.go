package meta

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt marks a record that cannot be decoded. It is never expected;
// seeing it means the metadata store was damaged outside of Hoard.
var ErrCorrupt = errors.New("meta: corrupt record")

// enc appends fields to a byte slice: unsigned varints, zig-zag signed
// varints and length-prefixed strings. Records start with a version byte so
// that a field can be added at the end without rewriting old records.
type enc struct{ b []byte }

func (e *enc) u(v uint64)  { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) s(v string)  { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) by(v []byte) { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *enc) strMap(m map[string]string) {
	e.u(uint64(len(m)))
	for _, k := range sortedKeys(m) {
		e.s(k)
		e.s(m[k])
	}
}

// dec reads fields written by enc. The first error sticks; callers check err
// once at the end. A record that ends early decodes the missing trailing
// fields as zero values, which is how older records gain new fields.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
}

func (d *dec) u() uint64 {
	if d.err != nil || len(d.b) == 0 {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) i() int64 {
	if d.err != nil || len(d.b) == 0 {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) by() []byte {
	n := d.u()
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.fail("length")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) s() string { return string(d.by()) }

func (d *dec) bool() bool {
	if d.err != nil || len(d.b) == 0 {
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v != 0
}

func (d *dec) strMap() map[string]string {
	n := d.u()
	if n == 0 || d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("map length")
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.s()
		m[k] = d.s()
	}
	return m
}
