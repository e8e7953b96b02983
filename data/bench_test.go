package data

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// BenchmarkBatches is one shuffled epoch over an MNIST-sized dataset
// (60,000 × 784) in batches of 256.
func BenchmarkBatches(b *testing.B) {
	d := seqDataset(60000, 784, 256)
	rng := rand.New(rand.NewPCG(1, 1))
	b.SetBytes(int64(len(d.X)))
	for b.Loop() {
		for range d.Batches(256, rng) {
		}
	}
}

// BenchmarkReadDEBD parses a 10,000 × 100 binary CSV (jester-sized).
func BenchmarkReadDEBD(b *testing.B) {
	var csv bytes.Buffer
	for i := range 10000 {
		for j := range 100 {
			if j > 0 {
				csv.WriteByte(',')
			}
			csv.WriteByte('0' + byte((i^j)&1))
		}
		csv.WriteByte('\n')
	}
	b.SetBytes(int64(csv.Len()))
	for b.Loop() {
		if _, err := ReadDEBD(bytes.NewReader(csv.Bytes())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadIDX parses a gzip-compressed 10,000 × 28 × 28 IDX file.
func BenchmarkReadIDX(b *testing.B) {
	d := seqDataset(10000, 784, 256)
	in := gzipBytes(b, idxBytes([]int{10000, 28, 28}, d.X))
	b.SetBytes(int64(len(d.X)))
	for b.Loop() {
		if _, err := ReadIDX(bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}
