package kernel

import (
	"runtime"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Float is the element type of every kernel.
type Float interface{ ~float32 | ~float64 }

// Ref locates one input of one fold: fold Fold of source buffer Src.
type Ref struct{ Src, Fold int32 }

// Workers is the number of goroutines kernels use (0 means GOMAXPROCS).
var Workers = 0

func workers() int {
	if Workers > 0 {
		return Workers
	}
	return runtime.GOMAXPROCS(0)
}

// ParallelFor calls fn(i) for every i in [0, n), spreading the calls over the
// workers in contiguous chunks. fn must not write memory another i writes.
func ParallelFor(n int, fn func(i int)) {
	w := min(workers(), n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	// The calling goroutine runs the first chunk itself: one goroutine fewer
	// to start and wake per call.
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}()
	}
	for i := range min(chunk, n) {
		fn(i)
	}
	wg.Wait()
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C with row-major operands, op
// being the transpose when tA/tB are set; it dispatches to blas32 or blas64
// (whichever implementation package nn selected: OpenBLAS or pure Go).
func Gemm[T Float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	default:
		panic("kernel.Gemm: unsupported element type")
	}
}
