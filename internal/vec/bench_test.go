package vec

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The kernels at the sizes of QG-CP K=32 B=256 on MNIST: one variable of the
// categorical table (K=32, C=256), one fold's rows (B=256, K=32), Adam
// over 1M parameters.

func BenchmarkSoftmaxTable(b *testing.B) {
	const K, C = 32, 256
	rng := rand.New(rand.NewPCG(1, 2))
	th := randRows(rng, K*C, -2, 2, 0)
	tab, ls, sc := make([]float32, C*K), make([]float64, C), make([]float64, C)
	work := make([]float64, SoftmaxWork(K, C))
	b.SetBytes(K * C * 4)
	for range b.N {
		SoftmaxTable(th, K, C, tab, ls, sc, work)
	}
}

func BenchmarkProdNorm(b *testing.B) {
	const B, K = 256, 32
	rng := rand.New(rand.NewPCG(1, 2))
	z0, z1, s := randRows(rng, B*K, 0, 1, 0), randRows(rng, B*K, 0, 1, 0), randRows(rng, B*(K+1), -5, 0, 0)
	out := make([]float32, B*(K+1))
	b.SetBytes(B * K * 4)
	for range b.N {
		ProdNorm(z0, z1, s[K:], s[K:], K+1, B, K, out)
	}
}

func BenchmarkAdam(b *testing.B) {
	const n = 1 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	th, g, m, v := randRows(rng, n, 0, 1, 0), randRows(rng, n, -1, 1, 0), randRows(rng, n, 0, 1, 0), randRows(rng, n, 0, 1, 0)
	h := AdamStep{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, StepSize: 0.01, SqrtBC2: 0.5, Eps: 1e-8, Clamp: true}
	b.SetBytes(n * 4)
	for range b.N {
		Adam(th, g, m, v, &h)
	}
}

// The three GEMMs of a CP layer's input at B=256 and K=32 or 10: the
// projection X·Wᵀ (with Wᵀ stored), the input gradient T·W and the weight
// gradient Tᵀ·X.
func BenchmarkGemmRows(b *testing.B) {
	for _, K := range []int{32, 10} {
		b.Run(fmt.Sprintf("K=%d", K), func(b *testing.B) {
			const B = 256
			rng := rand.New(rand.NewPCG(1, 2))
			x, w, t := randRows(rng, B*(K+1), 0, 1, 0), randRows(rng, K*K, 0, 1, 0), randRows(rng, B*K, -1, 1, 0)
			z, d, dw := make([]float32, B*K), make([]float32, B*K), make([]float32, K*K)
			for range b.N {
				GemmRows(B, K, K, x, K+1, 1, w, K, false, z, K)
				GemmRows(B, K, K, t, K, 1, w, K, false, d, K)
				GemmRows(K, K, B, t, 1, K, x, K+1, true, dw, K)
			}
			b.ReportMetric(3*2*B*float64(K*K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// One MNIST variable's softmax gradient (K=32, C=256).
func BenchmarkCatGradSoftmax(b *testing.B) {
	const K, C = 32, 256
	rng := rand.New(rand.NewPCG(1, 2))
	tab, d := randRows(rng, C*K, 0, 1, 0), make([]float32, K*C)
	scale, acc, tot := make([]float64, C), make([]float64, C*K), make([]float64, K)
	for i := range acc {
		acc[i] = rng.Float64()
	}
	for i := range scale {
		scale[i] = rng.Float64()
	}
	for range b.N {
		CatGradSoftmax(tab, scale, acc, tot, d, K, C, false)
	}
}

func BenchmarkQuot(b *testing.B) {
	const B, K = 256, 32
	rng := rand.New(rand.NewPCG(1, 2))
	g, z, t := randRows(rng, B*(K+1), -1, 1, 0), randRows(rng, B*K, 0, 1, 0), make([]float32, B*K)
	b.SetBytes(B * K * 4)
	for range b.N {
		Quot(g, K+1, z, t, B, K)
	}
}
