package osstest

import "hash/crc64"

// combineCRC returns the CRC-64/ECMA of the parts' data one after the
// other, from the parts' own CRCs, so completing a 256 MiB upload does not
// read 256 MiB again.
func combineCRC(parts []*part) uint64 {
	var crc uint64
	for _, p := range parts {
		crc = crc64Combine(crc, p.crc, uint64(p.data.size))
	}
	return crc
}

// crc64Combine is zlib's crc32_combine carried to 64 bits: the CRC of A||B
// from crc(A), crc(B) and len(B), by applying len(B) zero bits to crc(A)
// with repeated squaring of the CRC's GF(2) shift operator.
func crc64Combine(crc1, crc2, len2 uint64) uint64 {
	if len2 == 0 {
		return crc1
	}
	var even, odd [64]uint64
	odd[0] = crc64.ECMA // the operator for one zero bit
	row := uint64(1)
	for n := 1; n < 64; n++ {
		odd[n] = row
		row <<= 1
	}
	gf2Square(&even, &odd) // two zero bits
	gf2Square(&odd, &even) // four zero bits
	for {
		gf2Square(&even, &odd)
		if len2&1 != 0 {
			crc1 = gf2Times(&even, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
		gf2Square(&odd, &even)
		if len2&1 != 0 {
			crc1 = gf2Times(&odd, crc1)
		}
		len2 >>= 1
		if len2 == 0 {
			break
		}
	}
	return crc1 ^ crc2
}

func gf2Times(mat *[64]uint64, vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= mat[i]
		}
	}
	return sum
}

func gf2Square(square, mat *[64]uint64) {
	for n := range 64 {
		square[n] = gf2Times(mat, mat[n])
	}
}
