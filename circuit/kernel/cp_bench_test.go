package kernel

import (
	"math/rand/v2"
	"testing"
)

// Benchmarks at docs/PERFORMANCE.md's CP-op size: F=64 folds, B=256, K=32,
// float32, binary folds reading a tree of source folds (no sharing).
const benchF, benchB, benchK = 64, 256, 32

type cpBench[T Float] struct {
	l                 *CP[T]
	srcs, dSrcs       [][]T
	w, out, g, dW, dS []T
	scale             []T
}

func newCPBench[T Float](F, B, K int, shared bool) *cpBench[T] {
	rng := rand.New(rand.NewPCG(9, 9))
	wr := treeWiring(F, 2, B, K)
	var wfold []int32
	fw := F
	if shared {
		wfold, fw = make([]int32, F), 1
	}
	l, err := NewCP[T](wr, wfold)
	if err != nil {
		panic(err)
	}
	src := scaled[T](randLogs(rng, 2*F, B, K, 5), K)
	b := &cpBench[T]{l: l, srcs: [][]T{src}, dSrcs: [][]T{make([]T, len(src))},
		w: conv[T](randWeights(rng, fw*2*K*K)), out: make([]T, F*B*(K+1))}
	b.g = conv[T](randLogs(rng, F, B, K+1, 0))
	b.dW = make([]T, len(b.w))
	b.forward() // size the workspace: steady state from here on
	b.backward()
	return b
}

func (b *cpBench[T]) forward()  { b.l.Forward(b.srcs, b.w, b.scale, b.out) }
func (b *cpBench[T]) backward() { b.l.Backward(b.srcs, b.w, b.scale, b.g, b.dSrcs, b.dW, b.dS) }

// cpFlops counts the GEMM flops of one CP forward (2·B·Kin·Kout per input
// per fold); the backward does twice that.
func cpFlops(F, A, B, Kin, Kout int) float64 { return float64(2 * F * A * B * Kin * Kout) }

func BenchmarkCPForward(b *testing.B) {
	bb := newCPBench[float32](benchF, benchB, benchK, false)
	b.ReportAllocs()
	for b.Loop() {
		bb.forward()
	}
	b.ReportMetric(cpFlops(benchF, 2, benchB, benchK, benchK)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkCPForwardBackward(b *testing.B) {
	bb := newCPBench[float32](benchF, benchB, benchK, false)
	b.ReportAllocs()
	for b.Loop() {
		bb.forward()
		bb.backward()
	}
	b.ReportMetric(3*cpFlops(benchF, 2, benchB, benchK, benchK)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkCPXSForwardBackward is CP-XS: one weight tensor for all folds,
// so the weight gradient goes through per-fold scratch and a fixed-order sum.
func BenchmarkCPXSForwardBackward(b *testing.B) {
	bb := newCPBench[float32](benchF, benchB, benchK, true)
	b.ReportAllocs()
	for b.Loop() {
		bb.forward()
		bb.backward()
	}
}

// BenchmarkSgemm runs only the GEMMs of one CP forward+backward (the same
// shapes and the same fold parallelism) through the machine's BLAS (Gemm:
// OpenBLAS with -tags openblas), the floor the fused kernel is measured
// against. BenchmarkGemmC runs the same GEMMs through the kernels' own C
// GEMM (the fused op's; with -tags purego, BLAS again).
func BenchmarkSgemm(b *testing.B) {
	benchCPGemms(b, func(x, w, z, dw, d, _ []float32, B, K int) {
		Gemm(false, true, B, K, K, 1, x, K+1, w, K, 0, z, K)
		Gemm(true, false, K, K, B, 1, z, K, x, K+1, 1, dw, K)
		Gemm(false, false, B, K, K, 1, z, K, w, K, 0, d, K)
	})
}

func BenchmarkGemmC(b *testing.B) {
	benchCPGemms(b, func(x, w, z, dw, d, wt []float32, B, K int) {
		gemmNT(B, K, K, x, K+1, w, K, z, K, wt)
		gemm(true, false, K, K, B, z, K, x, K+1, 1, dw, K)
		gemm(false, false, B, K, K, z, K, w, K, 0, d, K)
	})
}

// benchCPGemms times gemms, the three GEMMs of one CP input (x: (B, K+1),
// w: (K, K) -> z, dw, d; wt: K·K scratch), over every fold and input at
// the benchmark's sizes, folds in parallel.
func benchCPGemms(b *testing.B, gemms func(x, w, z, dw, d, wt []float32, B, K int)) {
	const F, A, B, K = benchF, 2, benchB, benchK
	rng := rand.New(rand.NewPCG(9, 10))
	x := conv[float32](randLogs(rng, F*A, B, K+1, 0))
	w := conv[float32](randWeights(rng, F*A*K*K))
	z := make([]float32, F*A*B*K)
	dw := make([]float32, F*A*K*K)
	d := make([]float32, F*A*B*K)
	wt := make([]float32, F*K*K)
	fold := func(f int) {
		for a := range A {
			i := f*A + a
			gemms(x[i*B*(K+1):(i+1)*B*(K+1)], w[i*K*K:(i+1)*K*K], z[i*B*K:(i+1)*B*K],
				dw[i*K*K:(i+1)*K*K], d[i*B*K:(i+1)*B*K], wt[f*K*K:(f+1)*K*K], B, K)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ParallelFor(F, fold)
	}
	b.ReportMetric(3*cpFlops(F, A, B, K, K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
