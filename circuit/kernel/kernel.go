package kernel

import (
	"runtime"
	"sync/atomic"

	"github.com/tenpc/tenpc/internal/vec"
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

// ParallelFor calls fn(i) for every i in [0, n) on up to Workers goroutines,
// which take the indices in blocks as they become free (see spread). fn must
// not write memory another i writes.
func ParallelFor(n int, fn func(i int)) {
	w := min(workers(), n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var sp spread
	sp.start(n, w)
	// On vec's pool of helpers (no goroutine to start and wake per call);
	// whoever takes part shares out the indices through sp.
	vec.Run(w, func(int) {
		for lo, hi, ok := sp.take(); ok; lo, hi, ok = sp.take() {
			for i := lo; i < hi; i++ {
				fn(i)
			}
		}
	})
}

// spread hands out the indices [0, n) of one parallel loop to its workers
// in blocks that shrink as the loop nears its end (guided scheduling: a
// block is a 1/(2w) share of what is left), so that a worker which starts
// late or runs slow (another process, a busier cache) leaves its share to
// the others instead of holding up the loop's end. Which worker takes an
// index must not change the result: every kernel's work per fold is its
// own, with per-worker scratch.
type spread struct {
	next int64 // atomic; a plain field so that kernels holding a spread copy as values
	n, w int
}

func (s *spread) start(n, w int) {
	atomic.StoreInt64(&s.next, 0)
	s.n, s.w = n, w
}

// cursor returns one worker's iterator over the indices it takes:
//
//	for i, ok := cur.next(); ok; i, ok = cur.next() { … }
func (s *spread) cursor() cursor { return cursor{sp: s} }

type cursor struct {
	sp     *spread
	lo, hi int
}

func (c *cursor) next() (int, bool) {
	if c.lo >= c.hi {
		lo, hi, ok := c.sp.take()
		if !ok {
			return 0, false
		}
		c.lo, c.hi = lo, hi
	}
	c.lo++
	return c.lo - 1, true
}

// take returns the next block [lo, hi), or ok = false when none is left.
func (s *spread) take() (lo, hi int, ok bool) {
	for {
		cur := atomic.LoadInt64(&s.next)
		if cur >= int64(s.n) {
			return 0, 0, false
		}
		size := max(1, (s.n-int(cur))/(2*s.w))
		if atomic.CompareAndSwapInt64(&s.next, cur, cur+int64(size)) {
			return int(cur), int(cur) + size, true
		}
	}
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
