package kernel

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/internal/vec"
)

// Tucker is the binary Tucker sum-product layer. Fold f mixes the outer
// product of its two inputs:
//
//	Y_b = x1_b ⊗ x2_b             (B, Kin²), Y[b, i*Kin+j] = x1[b,i]·x2[b,j]
//	Z   = Y Wᵀ                    (B, Kout), W = W[f] (Kout, Kin²)
//	out = Z / m_b,  S = S1 + S2 + log m_b,  m_b = max_k Z[b, k]
//
// Layouts (row-major):
//
//	w      (F, Kout, Kin*Kin)
//	srcs   s: (SrcFolds[s], B, Kin+1)
//	out    (F, B, Kout+1)
//
// Backward: T = G ⊘ Z (0 where Z = 0); dW += Tᵀ Y; D = T W (B, Kin²);
// dlog x1_i += x1_i Σ_j D[i,j] x2_j; dlog x2_j += x2_j Σ_i D[i,j] x1_i.
// A zero row is written V = 0, S = −Inf. Y is rebuilt in the backward
// rather than cached (it is Kin times larger than the output). Forward caches
// Z; Backward must follow a Forward with the same srcs and w. Not safe for
// concurrent use.
type Tucker[T Float] struct {
	gather[T]

	z []T // cache (F, B, Kout)

	y, d, t []T // per chunk (B, Kin²), (B, Kin²), (B, Kout)

	srcs, dSrcs        [][]T
	w, out, g, dW      []T
	nc                 int
	sp                 spread
	fwdChunk, bwdChunk func(int)
}

// NewTucker validates the wiring (A must be 2) and allocates the workspace.
func NewTucker[T Float](wr Wiring) (*Tucker[T], error) {
	l := &Tucker[T]{}
	if wr.A != 2 {
		return nil, fmt.Errorf("kernel.NewTucker: arity %d, Tucker layers are binary", wr.A)
	}
	if err := l.gather.init(wr, "NewTucker"); err != nil {
		return nil, err
	}
	l.z = make([]T, wr.F*wr.B*wr.Kout)
	l.fwdChunk, l.bwdChunk = l.forwardChunk, l.backwardChunk
	return l, nil
}

func (l *Tucker[T]) check(name string, srcs [][]T, w, out []T) {
	l.checkSrcs(name, srcs, nil)
	if len(w) != l.F*l.Kout*l.Kin*l.Kin {
		panic(fmt.Sprintf("kernel.%s: weights have %d elements, want (%d, %d, %d)", name, len(w), l.F, l.Kout, l.Kin*l.Kin))
	}
	if len(out) != l.F*l.B*(l.Kout+1) {
		panic(fmt.Sprintf("kernel.%s: output has %d elements, want (%d, %d, %d)", name, len(out), l.F, l.B, l.Kout+1))
	}
}

func (l *Tucker[T]) workspace(backward bool) {
	l.nc = chunks(l.F)
	l.sp.start(l.F, l.nc)
	n := l.B * l.Kin * l.Kin
	l.y = grow(l.y, l.nc*n)
	l.growWT(l.nc, l.Kout*l.Kin*l.Kin)
	if backward {
		l.d = grow(l.d, l.nc*n)
		l.t = grow(l.t, l.nc*l.B*l.Kout)
	}
}

// outer writes Y = x1 ⊗ x2 for the B rows of fold f.
func (l *Tucker[T]) outer(f int, y []T) {
	vec.Outer(l.in(l.srcs, 2*f), l.in(l.srcs, 2*f+1), l.Kin+1, l.B, l.Kin, y)
}

// Forward computes the layer.
//
//	srcs: s (SrcFolds[s], B, Kin+1), w: (F, Kout, Kin²) -> out: (F, B, Kout+1)
func (l *Tucker[T]) Forward(srcs [][]T, w, out []T) {
	l.check("Tucker.Forward", srcs, w, out)
	l.workspace(false)
	l.srcs, l.w, l.out = srcs, w, out
	ParallelFor(l.nc, l.fwdChunk)
	l.srcs, l.w, l.out = nil, nil, nil
}

func (l *Tucker[T]) forwardChunk(c int) {
	B, K, Kout := l.B, l.Kin, l.Kout
	K2 := K * K
	y := l.y[c*B*K2 : (c+1)*B*K2]
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		l.outer(f, y)
		z := l.z[f*B*Kout : (f+1)*B*Kout]
		gemmNT(B, Kout, K2, y, K2, l.w[f*Kout*K2:(f+1)*Kout*K2], K2, z, Kout, l.wtChunk(c, Kout*K2))
		x1, x2 := l.in(l.srcs, 2*f), l.in(l.srcs, 2*f+1)
		out := l.out[f*B*(Kout+1) : (f+1)*B*(Kout+1)]
		for b := range B {
			s := float64(x1[b*(K+1)+K]) + float64(x2[b*(K+1)+K])
			normalizeT(z[b*Kout:(b+1)*Kout], s, out[b*(Kout+1):(b+1)*(Kout+1)])
		}
	}
}

// normalizeT is normalize for a row already in T: [z/m, s + log m].
func normalizeT[T Float](z []T, s float64, row []T) {
	var mb uint64 // branch-free maximum, as in normalize
	for _, v := range z {
		mb = max(mb, math.Float64bits(float64(v)))
	}
	m := T(math.Float64frombits(mb))
	K := len(z)
	if m == 0 {
		clear(row[:K])
		row[K] = T(math.Inf(-1))
		return
	}
	inv := 1 / m
	for k, v := range z {
		row[k] = v * inv
		if v == m { // v·(1/v) may round to 1−ulp
			row[k] = 1
		}
	}
	row[K] = T(s + math.Log(float64(m)))
}

// Backward adds the gradients of ℓ given g = ∂ℓ/∂(output log-values) into
// dSrcs (input log-values) and dW; either (or dSrcs[s]) may be nil.
//
//	g: (F, B, Kout+1) -> dSrcs: s (SrcFolds[s], B, Kin+1), dW: (F, Kout, Kin²)
func (l *Tucker[T]) Backward(srcs [][]T, w, g []T, dSrcs [][]T, dW []T) {
	l.check("Tucker.Backward", srcs, w, g)
	l.checkSrcs("Tucker.Backward", srcs, dSrcs)
	if dW != nil && len(dW) != len(w) {
		panic(fmt.Sprintf("kernel.Tucker.Backward: dW has %d elements, want %d", len(dW), len(w)))
	}
	l.workspace(true)
	l.srcs, l.w, l.g, l.dSrcs, l.dW = srcs, w, g, dSrcs, dW
	ParallelFor(l.nc, l.bwdChunk)
	l.reduceInputs(dSrcs)
	l.srcs, l.w, l.g, l.dSrcs, l.dW = nil, nil, nil, nil, nil
}

func (l *Tucker[T]) backwardChunk(c int) {
	B, K, Kout := l.B, l.Kin, l.Kout
	K2 := K * K
	y := l.y[c*B*K2 : (c+1)*B*K2]
	d := l.d[c*B*K2 : (c+1)*B*K2]
	t := l.t[c*B*Kout : (c+1)*B*Kout]
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		g := l.g[f*B*(Kout+1) : (f+1)*B*(Kout+1)]
		z := l.z[f*B*Kout : (f+1)*B*Kout]
		vec.Quot(g, Kout+1, z, t, B, Kout) // T = G ⊘ Z   (B, Kout)
		wf := l.w[f*Kout*K2 : (f+1)*Kout*K2]
		if l.dW != nil { // dW += Tᵀ Y   (Kout, Kin²)
			l.outer(f, y)
			gemm(true, false, Kout, K2, B, t, Kout, y, K2, 1, l.dW[f*Kout*K2:(f+1)*Kout*K2], K2)
		}
		dx1, dx2 := l.dIn(l.dSrcs, 2*f), l.dIn(l.dSrcs, 2*f+1)
		if dx1 == nil && dx2 == nil {
			continue
		}
		gemm(false, false, B, K2, Kout, t, Kout, wf, K2, 0, d, K2) // D = T W   (B, Kin²)
		vec.TuckerGradIn(d, l.in(l.srcs, 2*f), l.in(l.srcs, 2*f+1), K+1, dx1, dx2, B, K)
	}
}
