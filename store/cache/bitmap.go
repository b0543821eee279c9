package cache

// Bitmap records which blocks of a cache file are present: bit i for block i.
// It grows on Set; bits past its end read as unset.
type Bitmap []byte

// Has reports whether block i is present.
func (b Bitmap) Has(i int64) bool {
	if i < 0 || i/8 >= int64(len(b)) {
		return false
	}
	return b[i/8]&(1<<(i%8)) != 0
}

// Set marks block i present, growing b as needed.
func (b *Bitmap) Set(i int64) {
	for int64(len(*b)) <= i/8 {
		*b = append(*b, 0)
	}
	(*b)[i/8] |= 1 << (i % 8)
}

// Clear marks block i absent.
func (b Bitmap) Clear(i int64) {
	if i >= 0 && i/8 < int64(len(b)) {
		b[i/8] &^= 1 << (i % 8)
	}
}

// Truncate clears every block at index n and beyond.
func (b *Bitmap) Truncate(n int64) {
	for i := n; i < int64(len(*b))*8; i++ {
		b.Clear(i)
	}
	if need := (n + 7) / 8; int64(len(*b)) > need {
		*b = (*b)[:need]
	}
}

// Count is the number of present blocks among the first n.
func (b Bitmap) Count(n int64) int64 {
	var c int64
	for i := int64(0); i < n; i++ {
		if b.Has(i) {
			c++
		}
	}
	return c
}

// All reports whether blocks 0..n-1 are all present.
func (b Bitmap) All(n int64) bool {
	for i := int64(0); i < n; i++ {
		if !b.Has(i) {
			return false
		}
	}
	return true
}

// Clone returns a copy.
func (b Bitmap) Clone() Bitmap { return append(Bitmap(nil), b...) }
