package kernel

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/internal/vec"
)

// Mixing is the mixing (sum) layer of a region with H partitions: unit k of
// fold f is a weighted sum of unit k of its H inputs (the Wiring's arity A
// is H, and Kin = Kout = K). With the inputs' scales aligned to
// m_b = max_h S_h and c_h = exp(S_h − m_b):
//
//	y_k = Σ_h w[f,h,k] · x_h[k] · c_h      (float64)
//	out = y / M_b,  S = m_b + log M_b,     M_b = max_k y_k
//
// Layouts (row-major):
//
//	w      (F, H, K)
//	srcs   s: (SrcFolds[s], B, K+1)
//	out    (F, B, K+1)
//
// Backward: with r_k = G_k / y_k (0 where y_k = 0),
// dlog x_h[k] += r_k w[f,h,k] x_h[k] c_h and dw[f,h,k] += Σ_b r_k x_h[k] c_h.
// A row whose inputs are all zero is written V = 0, S = −Inf. The backward
// recomputes y from the inputs (there is no cache), so Forward and Backward
// only need the same srcs and w. Not safe for concurrent use.
type Mixing[T Float] struct {
	gather[T]

	// per chunk: y (B, K) the float64 sums, m (B) the aligned log-scales,
	// cb (B, H) the inputs' factors c_h, r (B, K) G ⊘ y (backward only);
	// pw the fused two-input kernels' work area
	y, m, cb, r, pw []float64

	srcs, dSrcs        [][]T
	w, out, g, dW      []T
	nc                 int
	sp                 spread
	fwdChunk, bwdChunk func(int)
}

// NewMixing validates the wiring (Kin must equal Kout) and allocates the
// workspace. A (the number of mixed inputs H) may be 1.
func NewMixing[T Float](wr Wiring) (*Mixing[T], error) {
	l := &Mixing[T]{}
	if wr.Kin != wr.Kout {
		return nil, fmt.Errorf("kernel.NewMixing: Kin=%d, Kout=%d; a mixing layer keeps its units", wr.Kin, wr.Kout)
	}
	if err := l.gather.init(wr, "NewMixing"); err != nil {
		return nil, err
	}
	l.pairs = true // dx entries are added as one rounded value each
	l.fwdChunk, l.bwdChunk = l.forwardChunk, l.backwardChunk
	return l, nil
}

func (l *Mixing[T]) check(name string, srcs [][]T, w, out []T) {
	l.checkSrcs(name, srcs, nil)
	if len(w) != l.F*l.A*l.Kin {
		panic(fmt.Sprintf("kernel.%s: weights have %d elements, want (%d, %d, %d)", name, len(w), l.F, l.A, l.Kin))
	}
	if len(out) != l.F*l.B*(l.Kin+1) {
		panic(fmt.Sprintf("kernel.%s: output has %d elements, want (%d, %d, %d)", name, len(out), l.F, l.B, l.Kin+1))
	}
}

// pairKernel reports whether folds run through vec's fused two-input
// kernels (one pass over the rows instead of four; float32 with the C
// kernels), bit for bit the multi-pass path.
func (l *Mixing[T]) pairKernel() bool {
	return l.A == 2 && nativeGemm && isFloat32[T]() && !noPairKernel
}

// noPairKernel turns the fused kernels off (tests compare the two paths).
var noPairKernel = false

func (l *Mixing[T]) workspace() {
	l.nc = chunks(l.F)
	l.sp.start(l.F, l.nc)
	if l.pairKernel() {
		l.pw = grow(l.pw, l.nc*vec.MixPairWork(l.Kin))
	}
	l.y = grow(l.y, l.nc*l.B*l.Kin)
	l.m = grow(l.m, l.nc*l.B)
	l.cb = grow(l.cb, l.nc*l.B*l.A)
}

func (l *Mixing[T]) workspaceBackward() {
	l.workspace()
	l.r = grow(l.r, l.nc*l.B*l.Kin)
}

// Forward computes the layer.
//
//	srcs: s (SrcFolds[s], B, K+1), w: (F, H, K) -> out: (F, B, K+1)
func (l *Mixing[T]) Forward(srcs [][]T, w, out []T) {
	l.check("Mixing.Forward", srcs, w, out)
	l.workspace()
	l.srcs, l.w, l.out = srcs, w, out
	ParallelFor(l.nc, l.fwdChunk)
	l.srcs, l.w, l.out = nil, nil, nil
}

// sum computes y: (B, K), the float64 sums of fold f, with the aligned
// log-scales m: (B) (−Inf for a sample whose inputs are all zero; then its
// y row is all 0) and the inputs' factors cb: (B, H).
func (l *Mixing[T]) sum(f int, y, m, cb []float64) {
	B, H, K := l.B, l.A, l.Kin
	for b := range B {
		m[b] = math.Inf(-1)
	}
	for h := range H {
		x := l.in(l.srcs, f*H+h)
		for b := range B {
			m[b] = max(m[b], float64(x[b*(K+1)+K]))
		}
	}
	for h := range H {
		x, w := l.in(l.srcs, f*H+h), l.w[(f*H+h)*K:(f*H+h+1)*K]
		vec.MixAcc(x, K+1, w, m, cb[h:], H, y, B, K, h == 0)
	}
}

func (l *Mixing[T]) chunkWork(ch int) (y, m, cb []float64) {
	B, H, K := l.B, l.A, l.Kin
	return l.y[ch*B*K : (ch+1)*B*K], l.m[ch*B : (ch+1)*B], l.cb[ch*B*H : (ch+1)*B*H]
}

func (l *Mixing[T]) forwardChunk(ch int) {
	B, K := l.B, l.Kin
	y, m, cb := l.chunkWork(ch)
	pair := l.pairKernel()
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		out := l.out[f*B*(K+1) : (f+1)*B*(K+1)]
		if pair {
			pw := l.pw[ch*vec.MixPairWork(K) : (ch+1)*vec.MixPairWork(K)]
			if !vec.MixPairForward(l.in(l.srcs, 2*f), l.in(l.srcs, 2*f+1), K+1, l.w[2*f*K:(2*f+1)*K], l.w[(2*f+1)*K:(2*f+2)*K], B, K, out, pw) {
				panic("kernel.Mixing: the fused kernel refused float32")
			}
			continue
		}
		l.sum(f, y, m, cb)
		vec.NormRows(y, m, out, B, K)
	}
}

// Backward adds the gradients of ℓ given g = ∂ℓ/∂(output log-values) into
// dSrcs (input log-values) and dW; either (or dSrcs[s]) may be nil (dW nil
// for frozen mixing weights).
//
//	g: (F, B, K+1) -> dSrcs: s (SrcFolds[s], B, K+1), dW: (F, H, K)
func (l *Mixing[T]) Backward(srcs [][]T, w, g []T, dSrcs [][]T, dW []T) {
	l.check("Mixing.Backward", srcs, w, g)
	l.checkSrcs("Mixing.Backward", srcs, dSrcs)
	if dW != nil && len(dW) != len(w) {
		panic(fmt.Sprintf("kernel.Mixing.Backward: dW has %d elements, want %d", len(dW), len(w)))
	}
	l.workspaceBackward()
	l.beginBackward(dSrcs)
	l.srcs, l.w, l.g, l.dSrcs, l.dW = srcs, w, g, dSrcs, dW
	ParallelFor(l.nc, l.bwdChunk)
	l.reduceInputs(dSrcs)
	l.srcs, l.w, l.g, l.dSrcs, l.dW = nil, nil, nil, nil, nil
}

func (l *Mixing[T]) backwardChunk(ch int) {
	B, H, K := l.B, l.A, l.Kin
	y, m, cb := l.chunkWork(ch)
	r := l.r[ch*B*K : (ch+1)*B*K]
	pair := l.pairKernel()
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		// Both inputs' gradient blocks are held at once; two refs to one
		// shared target (whose lock is not reentrant) take the other path.
		if pair && (l.tgtOf[2*f] < 0 || l.tgtOf[2*f] != l.tgtOf[2*f+1]) {
			l.backwardPair(ch, f)
			continue
		}
		// r = G ⊘ y (0 where y = 0, which covers all-zero rows)   (B, K)
		l.sum(f, y, m, cb)
		vec.QuotF64(l.g[f*B*(K+1):(f+1)*B*(K+1)], K+1, y, r, B, K)
		for h := range H {
			x := l.in(l.srcs, f*H+h)
			if l.dW != nil { // dw[f,h,k] += Σ_b r_k x_h[k] c_h, summed in float64
				vec.MixGradW(r, x, K+1, cb[h:], H, l.dW[(f*H+h)*K:(f*H+h+1)*K], B, K)
			}
			if dx, set := l.dInSet(l.dSrcs, f*H+h); dx != nil { // dlog x_h[k] += r_k w x_h[k] c_h
				vec.MixGradX(r, l.w[(f*H+h)*K:(f*H+h+1)*K], x, K+1, cb[h:], H, dx, B, K, set)
				if set {
					l.setScale(dx)
				}
				l.done(f*H + h)
			}
		}
	}
}

// backwardPair is backwardChunk's fold f through vec.MixPairBackward.
func (l *Mixing[T]) backwardPair(ch, f int) {
	B, K := l.B, l.Kin
	i0, i1 := 2*f, 2*f+1
	// Directly written targets are locked in increasing order (no two
	// workers wait on each other).
	var dx [2][]T
	var set [2]bool
	first := 0
	if l.tgtOf[i1] < l.tgtOf[i0] {
		first = 1
	}
	for _, h := range []int{first, 1 - first} {
		dx[h], set[h] = l.dInSet(l.dSrcs, 2*f+h)
	}
	var dw0, dw1 []T
	if l.dW != nil {
		dw0, dw1 = l.dW[i0*K:(i0+1)*K], l.dW[i1*K:(i1+1)*K]
	}
	pw := l.pw[ch*vec.MixPairWork(K) : (ch+1)*vec.MixPairWork(K)]
	if !vec.MixPairBackward(l.in(l.srcs, i0), l.in(l.srcs, i1), K+1, l.w[i0*K:(i0+1)*K], l.w[i1*K:(i1+1)*K],
		l.g[f*B*(K+1):(f+1)*B*(K+1)], B, K, dw0, dw1, dx[0], dx[1], set[0], set[1], pw) {
		panic("kernel.Mixing: the fused kernel refused float32")
	}
	for h := range 2 {
		if dx[h] != nil {
			if set[h] {
				l.setScale(dx[h])
			}
			l.done(2*f + h)
		}
	}
}
