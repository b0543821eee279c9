package osstest

import (
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

func TestCRC64Combine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, sizes := range [][]int{{0}, {1}, {0, 5}, {5, 0}, {1, 1}, {1000, 3}, {100 << 10, 7, 300 << 10, 1}} {
		var all []byte
		var parts []*part
		for _, n := range sizes {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			all = append(all, p...)
			parts = append(parts, &part{data: blobOf(p), crc: crc64.Checksum(p, crcTable)})
		}
		if got, want := combineCRC(parts), crc64.Checksum(all, crcTable); got != want {
			t.Errorf("sizes %v: combined %d, direct %d", sizes, got, want)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		spec          string
		size          int64
		standard      bool
		start, n      int64
		partial, fail bool
	}{
		{"bytes=0-0", 10, false, 0, 1, true, false},
		{"bytes=2-", 10, false, 2, 8, true, false},
		{"bytes=-3", 10, false, 7, 3, true, false},
		{"bytes=5-2", 10, false, 0, 10, false, false},   // malformed: ignored
		{"items=0-1", 10, false, 0, 10, false, false},   // not bytes: ignored
		{"bytes=0-1,3-4", 10, false, 0, 2, true, false}, // first range only
		{"bytes=0-", 0, false, 0, 0, false, false},
		{"bytes=0-", 0, true, 0, 0, false, true},
		{"bytes=10-", 10, false, 0, 10, false, false},
		{"bytes=10-", 10, true, 0, 0, false, true},
		{"bytes=8-20", 10, true, 8, 2, true, false},
	} {
		start, n, partial, e := parseRange(tc.spec, tc.size, tc.standard)
		if (e != nil) != tc.fail || (e == nil && (start != tc.start || n != tc.n || partial != tc.partial)) {
			t.Errorf("parseRange(%q, %d, %v) = %d, %d, %v, %v; want %d, %d, %v, fail %v",
				tc.spec, tc.size, tc.standard, start, n, partial, e, tc.start, tc.n, tc.partial, tc.fail)
		}
	}
}
