package oss_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/oss/osstest"
)

// The conditions of the benchmarks: 20 ms per request and 50 MiB/s
// per connection, as one connection to real OSS carries far less than the
// link.
const (
	benchSize      = 256 << 20
	benchLatency   = 20 * time.Millisecond
	benchBandwidth = 50 << 20
)

func benchData() []byte {
	p := make([]byte, benchSize)
	rand.NewChaCha8([32]byte{1}).Read(p)
	return p
}

func benchServer(b *testing.B) *osstest.Server {
	s := newServer(b)
	s.SetFaults(osstest.Faults{Latency: benchLatency, Bandwidth: benchBandwidth})
	return s
}

// BenchmarkUpload256MiB compares one PutObject of 256 MiB with this
// package's parallel multipart upload of it.
func BenchmarkUpload256MiB(b *testing.B) {
	data := benchData()
	s := benchServer(b)
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"single-PutObject", []string{oss.KeyMultipartThreshold, "1GiB"}},
		{"multipart-8MiBx4", nil}, // the defaults
		{"multipart-8MiBx8", []string{oss.KeyMultipartConcurrency, "8"}},
		{"multipart-16MiBx8", []string{oss.KeyMultipartPartSize, "16MiB", oss.KeyMultipartConcurrency, "8"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := open(b, s, "oss://"+bucket+"/bench", tc.extra...)
			defer f.Close()
			b.SetBytes(benchSize)
			for b.Loop() {
				if _, err := f.Put(b.Context(), "up", bytes.NewReader(data), benchSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRead256MiB is the baseline of the store's cold-read benchmark:
// one GetObject stream against ranged GETs of 8 MiB, 8 in flight.
func BenchmarkRead256MiB(b *testing.B) {
	s := benchServer(b)
	s.PutObject(bucket, "bench/down", benchData())
	f := open(b, s, "oss://"+bucket+"/bench")
	defer f.Close()
	b.Run("single-GetObject", func(b *testing.B) {
		b.SetBytes(benchSize)
		for b.Loop() {
			rc, err := f.ReadRange(b.Context(), "down", 0, -1)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, rc); err != nil || n != benchSize {
				b.Fatal(n, err)
			}
			rc.Close()
		}
	})
	b.Run("ranged-8MiBx8", func(b *testing.B) {
		const block, par = 8 << 20, 8
		b.SetBytes(benchSize)
		for b.Loop() {
			var wg sync.WaitGroup
			next := make(chan int64, benchSize/block)
			for off := int64(0); off < benchSize; off += block {
				next <- off
			}
			close(next)
			for range par {
				wg.Go(func() {
					buf := make([]byte, block)
					for off := range next {
						rc, err := f.ReadRange(b.Context(), "down", off, block)
						if err != nil {
							b.Error(err)
							return
						}
						if _, err := io.ReadFull(rc, buf); err != nil {
							b.Error(err)
						}
						rc.Close()
					}
				})
			}
			wg.Wait()
		}
	})
}
