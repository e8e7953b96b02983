package decomp

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkNonNegativeCP32 is the circuit-compression case: one Tucker
// fold's Kout × Kin × Kin weight tensor at K = 32 (uniform entries, each
// output's slice normalized to sum 1) fitted at rank 32 with the default
// options (100 sweeps unless the error settles first). ns/op is the time
// per fold.
func BenchmarkNonNegativeCP32(b *testing.B) {
	benchCP(b, NonNegativeCP, 32, 32)
}

// BenchmarkCPALS32 is BenchmarkNonNegativeCP32's case fitted without the
// non-negativity constraint.
func BenchmarkCPALS32(b *testing.B) {
	benchCP(b, CPALS, 32, 32)
}

// BenchmarkHOOI32 fits BenchmarkNonNegativeCP32's tensor by a Tucker
// decomposition of ranks (16, 16, 16) with the default options.
func BenchmarkHOOI32(b *testing.B) {
	x := foldTensor(32)
	for b.Loop() {
		if _, err := HOOI(x, []int{16, 16, 16}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCP(b *testing.B, fit func(*Tensor, int, *CPOptions) (*CP, error), k, rank int) {
	x := foldTensor(k)
	var sweeps int
	for b.Loop() {
		res, err := fit(x, rank, &CPOptions{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		sweeps = len(res.Trace) - 1
	}
	b.ReportMetric(float64(sweeps), "sweeps")
}

// BenchmarkTTSVD1024 splits a 1024 × 1024 Gaussian matrix, the weight
// matrix of a tensorized layer, into a train: "10modes" reshapes it to ten
// modes of 4 (row digits then column digits), "5paired" pairs the k-th row
// and column digits into five modes of 16 (the TT-matrix layout). Gaussian
// spectra are flat, so the caps, not a tolerance, set the ranks.
func BenchmarkTTSVD1024(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := randomTensor(rng, 1024, 1024)
	tenModes, err := w.Reshape(4, 4, 4, 4, 4, 4, 4, 4, 4, 4)
	if err != nil {
		b.Fatal(err)
	}
	perm, err := tenModes.Permute(0, 5, 1, 6, 2, 7, 3, 8, 4, 9)
	if err != nil {
		b.Fatal(err)
	}
	paired, err := perm.Reshape(16, 16, 16, 16, 16)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		x       *Tensor
		maxRank int
	}{
		{"10modes/maxrank=16", tenModes, 16},
		{"10modes/maxrank=64", tenModes, 64},
		{"5paired/maxrank=16", paired, 16},
		{"5paired/maxrank=64", paired, 64},
		{"5paired/full", paired, 0},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := TTSVD(c.x, &TTOptions{MaxRank: c.maxRank}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// foldTensor returns a k × k × k tensor like a Tucker fold's weights: entries
// uniform on [0, 1), each output's k × k slice normalized to sum 1.
func foldTensor(k int) *Tensor {
	rng := rand.New(rand.NewPCG(1, 2))
	x, err := New(k, k, k)
	if err != nil {
		panic(err)
	}
	for o := range k {
		slice := x.Data[o*k*k : (o+1)*k*k]
		var sum float64
		for i := range slice {
			slice[i] = rng.Float64()
			sum += slice[i]
		}
		for i := range slice {
			slice[i] /= sum
		}
	}
	return x
}
