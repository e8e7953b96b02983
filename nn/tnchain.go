package nn

// The contraction engine of the tensorized linear layers (MPOLinear,
// TuckerLinear, CPLinear).
//
// A layer maps x (B, In) to y (B, Out) through a chain of steps, each a
// small dense matrix A (one of the layer's factors, or a permutation of its
// axes) applied along one axis of a state tensor. The state keeps the batch
// as its last axis, so every step is a loop of ordinary GEMMs of at least B
// columns:
//
//	mode step:  in (P, K, Q·B) -> out (P, K2, Q·B),  out[p] = A · in[p],  A (K2, K)
//	diag step:  in (P, K, R, Q·B) or (P, R, K, Q·B) -> out (P, R, K2, Q·B) or (P, K2, R, Q·B),
//	            out[p, r] = A_r · in[p, :, r] with A (R, K2, K); with sum, out (P, K2, Q·B) = Σ_r
//
// The first state is xᵀ (In, B), the last yᵀ (Out, B). Per sample, a step
// is the sparse matrix I_P ⊗ A ⊗ I_Q (block-diagonal over r for a diag
// step): the "stack of sparse layers" view, and its non-zeros are the
// step's multiply-adds. Backward runs the steps in reverse: the gradient of
// a step's input is Aᵀ times its output's, that of A the sum over p of the
// output's gradient times the input's transpose.

import (
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/tenpc/tenpc/internal/vec"
	"gonum.org/v1/gonum/blas"
)

// tnStep is one step of a chain. Sizes are per sample: the batch multiplies
// Q at run time.
type tnStep struct {
	factor int   // which of the layer's factors A comes from
	perm   []int // A = the factor with its axes permuted so; nil: the factor as stored
	diag   bool
	sum    bool // diag: add the R products into one output
	// inRFirst and outRFirst place r before K (K2) in a diag step's input
	// (output) state; otherwise after it.
	inRFirst, outRFirst bool
	P, K, K2, Q, R      int
	// dims is the output state's shape per sample, bonds the axes of it
	// that are bonds of the network (for BondActivations).
	dims  []int
	bonds []tnBond
}

// tnBond names an axis of a state that is a bond of the network.
type tnBond struct {
	name string
	axis int
}

func (s *tnStep) inLen() int {
	if s.diag {
		return s.P * s.K * s.R * s.Q
	}
	return s.P * s.K * s.Q
}

func (s *tnStep) outLen() int {
	if s.diag && !s.sum {
		return s.P * s.R * s.K2 * s.Q
	}
	return s.P * s.K2 * s.Q
}

// macs is the step's multiply-adds per sample.
func (s *tnStep) macs() int64 {
	n := int64(s.P) * int64(s.K) * int64(s.K2) * int64(s.Q)
	if s.diag {
		n *= int64(s.R)
	}
	return n
}

// tnChain is the plan of a layer: its factors' shapes and the steps.
type tnChain struct {
	name         string
	in, out      int
	factorShapes [][]int
	steps        []tnStep
}

// macs is the chain's multiply-adds per sample.
func (c *tnChain) macs() int64 {
	var n int64
	for i := range c.steps {
		n += c.steps[i].macs()
	}
	return n
}

// check verifies that the steps fit together (a bug in a layer's plan, not
// a user error).
func (c *tnChain) check() {
	n := c.in
	for i := range c.steps {
		s := &c.steps[i]
		if s.inLen() != n {
			panic(fmt.Sprintf("nn: %s plan: step %d takes %d values per sample, the state has %d", c.name, i, s.inLen(), n))
		}
		a := 1
		for _, d := range c.factorShapes[s.factor] {
			a *= d
		}
		want := s.K * s.K2
		if s.diag {
			want *= s.R
		}
		if a != want {
			panic(fmt.Sprintf("nn: %s plan: step %d needs a factor of %d values, factor %d has %d", c.name, i, want, s.factor, a))
		}
		n = s.outLen()
	}
	if n != c.out {
		panic(fmt.Sprintf("nn: %s plan: the last state has %d values per sample, want %d", c.name, n, c.out))
	}
}

// tnOp applies a chain as a fused op: inputs x (B, In) and the factors,
// output (B, Out).
type tnOp struct {
	c   *tnChain
	r32 *tnRun[float32]
	r64 *tnRun[float64]
}

func newTNOp(c *tnChain) *tnOp {
	c.check()
	return &tnOp{c: c}
}

func (o *tnOp) Name() string { return o.c.name }

func (o *tnOp) OutShape(in [][]int) ([]int, error) {
	if len(in) != 1+len(o.c.factorShapes) {
		return nil, fmt.Errorf("want x and %d factors, got %d inputs", len(o.c.factorShapes), len(in))
	}
	if len(in[0]) != 2 || in[0][1] != o.c.in {
		return nil, fmt.Errorf("want x (N, %d)", o.c.in)
	}
	for i, s := range o.c.factorShapes {
		if !slices.Equal(in[1+i], s) {
			return nil, fmt.Errorf("factor %d has shape %v, want %v", i, in[1+i], s)
		}
	}
	return []int{in[0][0], o.c.out}, nil
}

func (o *tnOp) DiffWRT(int) bool { return true }

// OverwritesGrad: every factor's gradient is written whole (each factor
// serves one step); x's is added, as it may be shared.
func (o *tnOp) OverwritesGrad(i int) bool { return i > 0 }

func (o *tnOp) Forward(in []Buf, out Buf) {
	B := in[0].Shape[0]
	if out.F32 != nil {
		o.run32(B).forward(in[0].F32, f32s(in[1:]), out.F32)
	} else {
		o.run64(B).forward(in[0].F64, f64s(in[1:]), out.F64)
	}
}

func (o *tnOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	B := in[0].Shape[0]
	if g.F32 != nil {
		o.run32(B).backward(f32s(in[1:]), g.F32, dIn[0].F32, f32s(dIn[1:]))
	} else {
		o.run64(B).backward(f64s(in[1:]), g.F64, dIn[0].F64, f64s(dIn[1:]))
	}
}

func (o *tnOp) run32(B int) *tnRun[float32] {
	if o.r32 == nil || o.r32.B != B {
		o.r32 = newTNRun[float32](o.c, B)
	}
	return o.r32
}

func (o *tnOp) run64(B int) *tnRun[float64] {
	if o.r64 == nil || o.r64.B != B {
		o.r64 = newTNRun[float64](o.c, B)
	}
	return o.r64
}

func f32s(b []Buf) [][]float32 {
	out := make([][]float32, len(b))
	for i := range b {
		out[i] = b[i].F32
	}
	return out
}

func f64s(b []Buf) [][]float64 {
	out := make([][]float64, len(b))
	for i := range b {
		out[i] = b[i].F64
	}
	return out
}

// tnRun holds the buffers of a chain run on batches of B: the states of
// the last forward (kept for the backward), the steps' permuted factors,
// and the backward's work.
type tnRun[T float32 | float64] struct {
	c      *tnChain
	B      int
	states [][]T // states[0] = xᵀ (In, B), states[i+1] = step i's output
	a      [][]T // A of each permuted step (nil: the factor itself)
	da     [][]T // A's gradient before it is permuted back (permuted steps)
	acc    []T   // partial sums of a factor's gradient, one block per chunk
	g, h   []T   // the backward's gradient of the current state and the next
	tmp    []T   // xᵀ's gradient transposed back
}

func newTNRun[T float32 | float64](c *tnChain, B int) *tnRun[T] {
	r := &tnRun[T]{c: c, B: B, states: make([][]T, len(c.steps)+1), a: make([][]T, len(c.steps)), da: make([][]T, len(c.steps))}
	r.states[0] = make([]T, c.in*B)
	most := c.in
	for i := range c.steps {
		s := &c.steps[i]
		r.states[i+1] = make([]T, s.outLen()*B)
		most = max(most, s.outLen())
		if s.perm != nil {
			n := s.K * s.K2 * max(s.R, 1)
			r.a[i] = make([]T, n)
			r.da[i] = make([]T, n)
		}
	}
	r.g = make([]T, most*B)
	r.h = make([]T, most*B)
	r.tmp = make([]T, c.in*B)
	return r
}

// forward computes y (B, Out) from x (B, In) and the factors.
func (r *tnRun[T]) forward(x []T, factors [][]T, y []T) {
	c, B := r.c, r.B
	vec.Transpose(x, c.in, B, c.in, r.states[0]) // (In, B)
	for i := range c.steps {
		s := &c.steps[i]
		a := factors[s.factor]
		if s.perm != nil {
			permuteAxes(a, c.factorShapes[s.factor], s.perm, r.a[i])
			a = r.a[i]
		}
		stepForward(s, B, a, r.states[i], r.states[i+1])
	}
	vec.Transpose(r.states[len(c.steps)], B, c.out, B, y) // (B, Out)
}

// backward adds ∂ℓ/∂x into dx and writes ∂ℓ/∂factor into dFactors, given
// gy = ∂ℓ/∂y, after forward ran on the same x and factors.
func (r *tnRun[T]) backward(factors [][]T, gy, dx []T, dFactors [][]T) {
	c, B := r.c, r.B
	g := r.g[:c.out*B]
	vec.Transpose(gy, c.out, B, c.out, g) // (Out, B)
	for i := len(c.steps) - 1; i >= 0; i-- {
		s := &c.steps[i]
		a, da := factors[s.factor], dFactors[s.factor]
		if s.perm != nil {
			a, da = r.a[i], r.da[i]
		}
		h := r.h[:s.inLen()*B]
		r.acc = stepBackward(s, B, a, r.states[i], g, h, da, r.acc)
		if s.perm != nil {
			unpermuteAxes(da, c.factorShapes[s.factor], s.perm, dFactors[s.factor])
		}
		r.g, r.h = r.h, r.g
		g = h
	}
	vec.Transpose(g, B, c.in, B, r.tmp) // (B, In)
	vec.Add(dx, r.tmp)
}

// gemm is C = op(A)·op(B) + beta·C on row-major matrices, through the BLAS
// that package nn selected (Gemm32, Gemm64).
func gemm[T float32 | float64](tA, tB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		Gemm32().Sgemm(ta, tb, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		Gemm64().Dgemm(ta, tb, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// tnMinParallel is the fewest multiply-adds a step shares out among
// goroutines: below it (about 0.1 ms of one core) waking a helper costs
// more than it saves.
const tnMinParallel = 1 << 20

// tnParallel calls fn(i) for every i in [0, n), on up to GOMAXPROCS
// goroutines when the work (multiply-adds) is large enough. Each i writes
// its own part of the result, so the result does not depend on which
// goroutine runs which i.
func tnParallel(n int, work int64, fn func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 || work < tnMinParallel {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	vec.Run(w, func(int) {
		for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
			fn(i)
		}
	})
}

// colBlocks splits N columns into blocks so that P·blocks items keep every
// core busy (four items per core), each block at least 64 columns wide.
// It depends only on the sizes and GOMAXPROCS, so a run's result does not
// depend on scheduling.
func colBlocks(P, N int) (blocks, width int) {
	want := 4 * runtime.GOMAXPROCS(0)
	blocks = 1
	if P < want {
		blocks = min((want+P-1)/P, max(N/64, 1))
	}
	width = (N + blocks - 1) / blocks
	blocks = (N + width - 1) / width
	return blocks, width
}

// diagOffsets returns where the (K, N) matrix of (p, r) starts in a diag
// step's state, and its row stride: layout (P, R, K, N) when rFirst, else
// (P, K, R, N).
func diagOffset(p, r, K, R, N int, rFirst bool) (off, ld int) {
	if rFirst {
		return (p*R + r) * K * N, N
	}
	return p*K*R*N + r*N, R * N
}

// stepForward computes a step's output state from its input state.
func stepForward[T float32 | float64](s *tnStep, B int, a, in, out []T) {
	N := s.Q * B
	nb, w := colBlocks(s.P*max(s.R, 1), N)
	if !s.diag {
		tnParallel(s.P*nb, s.macs()*int64(B), func(i int) {
			p, c0 := i/nb, (i%nb)*w
			n := min(w, N-c0)
			gemm(false, false, s.K2, n, s.K, a, s.K, in[p*s.K*N+c0:], N, 0, out[p*s.K2*N+c0:], N)
		})
		return
	}
	if s.sum {
		nb, w = colBlocks(s.P, N)
		tnParallel(s.P*nb, s.macs()*int64(B), func(i int) {
			p, c0 := i/nb, (i%nb)*w
			n := min(w, N-c0)
			for r := range s.R {
				io, ild := diagOffset(p, r, s.K, s.R, N, s.inRFirst)
				beta := T(1)
				if r == 0 {
					beta = 0
				}
				gemm(false, false, s.K2, n, s.K, a[r*s.K2*s.K:], s.K, in[io+c0:], ild, beta, out[p*s.K2*N+c0:], N)
			}
		})
		return
	}
	tnParallel(s.P*s.R*nb, s.macs()*int64(B), func(i int) {
		pr, c0 := i/nb, (i%nb)*w
		p, r := pr/s.R, pr%s.R
		n := min(w, N-c0)
		io, ild := diagOffset(p, r, s.K, s.R, N, s.inRFirst)
		oo, old := diagOffset(p, r, s.K2, s.R, N, s.outRFirst)
		gemm(false, false, s.K2, n, s.K, a[r*s.K2*s.K:], s.K, in[io+c0:], ild, 0, out[oo+c0:], old)
	})
}

// stepBackward writes the gradient of a step's input state into gin and
// of its A into da, from the input state and the output's gradient gout.
// acc is scratch for partial sums (returned, perhaps grown).
func stepBackward[T float32 | float64](s *tnStep, B int, a, in, gout, gin, da, acc []T) []T {
	N := s.Q * B
	work := s.macs() * int64(B)
	if !s.diag {
		nb, w := colBlocks(s.P, N)
		// gin[p] = Aᵀ · gout[p]
		tnParallel(s.P*nb, work, func(i int) {
			p, c0 := i/nb, (i%nb)*w
			n := min(w, N-c0)
			gemm(true, false, s.K, n, s.K2, a, s.K, gout[p*s.K2*N+c0:], N, 0, gin[p*s.K*N+c0:], N)
		})
		// dA = Σ_p gout[p] · in[p]ᵀ, summed in fixed chunks of the (p,
		// column block) items, then the chunks in order.
		items := s.P * nb
		chunks := min(items, 2*runtime.GOMAXPROCS(0))
		if work < tnMinParallel {
			chunks = 1
		}
		size := s.K2 * s.K
		if chunks == 1 {
			for i := range items {
				p, c0 := i/nb, (i%nb)*w
				n := min(w, N-c0)
				beta := T(1)
				if i == 0 {
					beta = 0
				}
				gemm(false, true, s.K2, s.K, n, gout[p*s.K2*N+c0:], N, in[p*s.K*N+c0:], N, beta, da, s.K)
			}
			return acc
		}
		if len(acc) < chunks*size {
			acc = make([]T, chunks*size)
		}
		tnParallel(chunks, work, func(c int) {
			part := acc[c*size : (c+1)*size]
			for i := c * items / chunks; i < (c+1)*items/chunks; i++ {
				p, c0 := i/nb, (i%nb)*w
				n := min(w, N-c0)
				beta := T(1)
				if i == c*items/chunks {
					beta = 0
				}
				gemm(false, true, s.K2, s.K, n, gout[p*s.K2*N+c0:], N, in[p*s.K*N+c0:], N, beta, part, s.K)
			}
		})
		copy(da, acc[:size])
		for c := 1; c < chunks; c++ {
			vec.Add(da, acc[c*size:(c+1)*size])
		}
		return acc
	}
	// Diag step: the output gradient of (p, r) is gout's block, the same
	// block for every r when the outputs were summed.
	gOff := func(p, r int) (int, int) {
		if s.sum {
			return p * s.K2 * N, N
		}
		return diagOffset(p, r, s.K2, s.R, N, s.outRFirst)
	}
	nb, w := colBlocks(s.P*s.R, N)
	tnParallel(s.P*s.R*nb, work, func(i int) {
		pr, c0 := i/nb, (i%nb)*w
		p, r := pr/s.R, pr%s.R
		n := min(w, N-c0)
		gofs, gld := gOff(p, r)
		io, ild := diagOffset(p, r, s.K, s.R, N, s.inRFirst)
		gemm(true, false, s.K, n, s.K2, a[r*s.K2*s.K:], s.K, gout[gofs+c0:], gld, 0, gin[io+c0:], ild)
	})
	// dA_r = Σ_p gout[p, r] · in[p, :, r]ᵀ, one r per item.
	tnParallel(s.R, work, func(r int) {
		for p := range s.P {
			gofs, gld := gOff(p, r)
			io, ild := diagOffset(p, r, s.K, s.R, N, s.inRFirst)
			beta := T(1)
			if p == 0 {
				beta = 0
			}
			gemm(false, true, s.K2, s.K, N, gout[gofs:], gld, in[io:], ild, beta, da[r*s.K2*s.K:], s.K)
		}
	})
	return acc
}

// permuteAxes writes src (row-major, shape) with its axes permuted into dst:
// dst's axis i is src's axis perm[i].
func permuteAxes[T float32 | float64](src []T, shape, perm []int, dst []T) {
	permuteCopy(src, shape, perm, dst, false)
}

// unpermuteAxes is the inverse of permuteAxes: src is laid out permuted,
// dst in shape's order.
func unpermuteAxes[T float32 | float64](src []T, shape, perm []int, dst []T) {
	permuteCopy(src, shape, perm, dst, true)
}

func permuteCopy[T float32 | float64](src []T, shape, perm []int, dst []T, inverse bool) {
	n := len(shape)
	strides := make([]int, n) // of the shape's layout
	acc := 1
	for i := n - 1; i >= 0; i-- {
		strides[i] = acc
		acc *= shape[i]
	}
	pshape := make([]int, n)
	pstride := make([]int, n) // the stride in shape's layout of each permuted axis
	for i, p := range perm {
		pshape[i], pstride[i] = shape[p], strides[p]
	}
	idx := make([]int, n)
	off := 0
	for j := range acc {
		if inverse {
			dst[off] = src[j]
		} else {
			dst[j] = src[off]
		}
		for k := n - 1; k >= 0; k-- {
			idx[k]++
			off += pstride[k]
			if idx[k] < pshape[k] {
				break
			}
			off -= pstride[k] * pshape[k]
			idx[k] = 0
		}
	}
}

// sizeOf is the product of sizes (1 for none).
func sizeOf(sizes []int) int {
	n := 1
	for _, s := range sizes {
		n *= s
	}
	return n
}
