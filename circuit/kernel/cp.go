package kernel

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/internal/vec"
)

// CP is the collapsed CP sum-product layer (also CP-XS and CP-S). Fold f
// multiplies the projections of its A inputs:
//
//	Z_a = X_a W_aᵀ                (B, Kout), W_a = W[WFold[f], a] (Kout, Kin)
//	H   = Scale[f] ⊙ ∏_a Z_a      formed in float64
//	out = H / m_b,  S = Σ_a S_a + log m_b,  m_b = max_k H[b, k]
//
// Layouts (row-major):
//
//	w      (Fw, A, Kout, Kin)  Fw = max(WFold)+1: F for plain CP, 1 for CP-XS
//	scale  (F, Kout)           CP-S only; nil otherwise; entries > 0
//	srcs   s: (SrcFolds[s], B, Kin+1)
//	out    (F, B, Kout+1)
//
// Zeros: a row where every H is 0 (for example an input row with S = −Inf)
// is written as V = 0, S = −Inf. In the backward an entry with Z_a[b,k] = 0
// has an infinite partial derivative; it is defined to pass no gradient to
// input a or to W_a (T_a[b,k] := 0), so gradients stay finite.
//
// Forward caches the projections Z_a; Backward must follow a Forward with
// the same srcs and weights. A CP is not safe for concurrent use.
type CP[T Float] struct {
	gather[T]
	WFold []int32 // weight fold of each fold (len F)
	Fw    int     // number of weight folds

	z     []T // cache (F, A, B, Kout)
	wslot []int32
	// CSR over weight folds shared by several folds, in increasing fold order.
	wgrpStart, wgrpFolds []int32
	wgrpW                []int32 // the weight fold of each group
	dws                  []T     // (shared folds, A, Kout, Kin)
	freshW               []bool  // see SetFreshWeights

	// per-chunk workspace
	h    []float64 // (chunks, Kout)
	t, d []T       // (chunks, B, Kout), (chunks, B, Kin)

	// arguments of the running call, read by the cached fold functions
	srcs, dSrcs            [][]T
	w, scale, out, g       []T
	dW, dScale             []T
	nc                     int
	sp                     spread
	fwdChunk, bwdChunk, wr func(int)
}

// NewCP validates the wiring and allocates the workspace of a CP layer.
// wfold maps each fold to its weight fold: nil means the identity (plain CP,
// Fw = F); all zeros is CP-XS (one weight tensor shared by every fold).
// A must be at least 2.
func NewCP[T Float](wr Wiring, wfold []int32) (*CP[T], error) {
	l := &CP[T]{}
	if err := l.gather.init(wr, "NewCP"); err != nil {
		return nil, err
	}
	l.pairs = true // dx entries are added as one rounded value each
	if wr.A < 2 {
		return nil, fmt.Errorf("kernel.NewCP: arity %d, want at least 2", wr.A)
	}
	if wfold == nil {
		wfold = make([]int32, wr.F)
		for f := range wfold {
			wfold[f] = int32(f)
		}
	}
	if len(wfold) != wr.F {
		return nil, fmt.Errorf("kernel.NewCP: %d weight folds given for %d folds", len(wfold), wr.F)
	}
	l.WFold = wfold
	for f, wf := range wfold {
		if wf < 0 {
			return nil, fmt.Errorf("kernel.NewCP: fold %d has weight fold %d", f, wf)
		}
		l.Fw = max(l.Fw, int(wf)+1)
	}
	// Weight folds used by several folds get scratch slots and a fixed-order sum.
	users := make([][]int32, l.Fw)
	for f, wf := range wfold {
		users[wf] = append(users[wf], int32(f))
	}
	l.wslot = make([]int32, wr.F)
	for f := range l.wslot {
		l.wslot[f] = -1
	}
	l.wgrpStart = []int32{0}
	for wf, fs := range users {
		if len(fs) < 2 {
			continue
		}
		for _, f := range fs {
			l.wslot[f] = int32(len(l.wgrpFolds))
			l.wgrpFolds = append(l.wgrpFolds, f)
		}
		l.wgrpStart = append(l.wgrpStart, int32(len(l.wgrpFolds)))
		l.wgrpW = append(l.wgrpW, int32(wf))
	}
	l.z = make([]T, wr.F*wr.A*wr.B*wr.Kout)
	l.fwdChunk, l.bwdChunk, l.wr = l.forwardChunk, l.backwardChunk, l.reduceWeights
	return l, nil
}

// SetFreshWeights is SetFresh for dW, per weight fold (len Fw; nil: none):
// for the next Backward only, a marked weight fold's gradient holds
// leftovers, written instead of added into, and unmarked.
func (l *CP[T]) SetFreshWeights(fresh []bool) {
	if fresh != nil && len(fresh) != l.Fw {
		panic(fmt.Sprintf("kernel.CP.SetFreshWeights: %d marks, want %d", len(fresh), l.Fw))
	}
	l.freshW = fresh
}

// WeightLen is the length of the weight tensor, Fw*A*Kout*Kin.
func (l *CP[T]) WeightLen() int { return l.Fw * l.A * l.Kout * l.Kin }

func (l *CP[T]) check(name string, srcs [][]T, w, scale, out []T) {
	l.checkSrcs(name, srcs, nil)
	if len(w) != l.WeightLen() {
		panic(fmt.Sprintf("kernel.%s: weights have %d elements, want (%d, %d, %d, %d)", name, len(w), l.Fw, l.A, l.Kout, l.Kin))
	}
	if scale != nil && len(scale) != l.F*l.Kout {
		panic(fmt.Sprintf("kernel.%s: scale has %d elements, want (%d, %d) or nil", name, len(scale), l.F, l.Kout))
	}
	if len(out) != l.F*l.B*(l.Kout+1) {
		panic(fmt.Sprintf("kernel.%s: output has %d elements, want (%d, %d, %d)", name, len(out), l.F, l.B, l.Kout+1))
	}
}

func (l *CP[T]) workspace() {
	l.nc = chunks(l.F)
	l.sp.start(l.F, l.nc)
	l.h = grow(l.h, l.nc*l.Kout)
	l.t = grow(l.t, l.nc*l.B*l.Kout)
	l.d = grow(l.d, l.nc*l.B*l.Kin)
	l.growWT(l.nc, l.Kin*l.Kout)
}

// Forward computes the layer; scale is nil unless CP-S.
//
//	srcs: s (SrcFolds[s], B, Kin+1), w: (Fw, A, Kout, Kin), scale: (F, Kout) -> out: (F, B, Kout+1)
func (l *CP[T]) Forward(srcs [][]T, w, scale, out []T) {
	l.check("CP.Forward", srcs, w, scale, out)
	l.workspace()
	l.srcs, l.w, l.scale, l.out = srcs, w, scale, out
	ParallelFor(l.nc, l.fwdChunk)
	l.srcs, l.w, l.scale, l.out = nil, nil, nil, nil
}

func (l *CP[T]) forwardChunk(c int) {
	B, A, Kin, Kout := l.B, l.A, l.Kin, l.Kout
	h := l.h[c*Kout : (c+1)*Kout]
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		wf := int(l.WFold[f])
		for a := range A {
			x := l.in(l.srcs, f*A+a)
			wa := l.w[(wf*A+a)*Kout*Kin : (wf*A+a+1)*Kout*Kin]
			gemmNT(B, Kout, Kin, x, Kin+1, wa, Kin, l.zblk(f, a), Kout, l.wtChunk(c, Kin*Kout))
		}
		out := l.out[f*B*(Kout+1) : (f+1)*B*(Kout+1)]
		z0, z1 := l.zblk(f, 0), l.zblk(f, 1)
		var sc []T
		if l.scale != nil {
			sc = l.scale[f*Kout : (f+1)*Kout]
		}
		if sc == nil && A == 2 {
			// The common case, in one vectorized pass.
			vec.ProdNorm(z0, z1, l.in(l.srcs, f*A)[Kin:], l.in(l.srcs, f*A+1)[Kin:], Kin+1, B, Kout, out)
			continue
		}
		for b := range B {
			// H = Scale ⊙ ∏_a Z_a in float64; the two inputs every fold has first.
			r0, r1 := z0[b*Kout:(b+1)*Kout], z1[b*Kout:(b+1)*Kout]
			s := 0.0
			for a := range A {
				s += float64(l.in(l.srcs, f*A+a)[b*(Kin+1)+Kin])
			}
			row := out[b*(Kout+1) : (b+1)*(Kout+1)]
			if sc != nil {
				for k := range h {
					h[k] = float64(sc[k]) * float64(r0[k]) * float64(r1[k])
				}
			} else {
				for k := range h {
					h[k] = float64(r0[k]) * float64(r1[k])
				}
			}
			for a := 2; a < A; a++ {
				for k, v := range l.zblk(f, a)[b*Kout : (b+1)*Kout] {
					h[k] *= float64(v)
				}
			}
			normalize(h, s, row)
		}
	}
}

func (l *CP[T]) zblk(f, a int) []T {
	n := l.B * l.Kout
	i := f*l.A + a
	return l.z[i*n : i*n+n]
}

// normalize writes the row [h/m, s + log m], m = max h (h ≥ 0), or
// [0…, −Inf] when every h is 0; a NaN in h makes the row NaN.
func normalize[T Float](h []float64, s float64, row []T) {
	// The maximum over the bit patterns: for non-negative floats they order
	// like the values, and the integer max compiles to a conditional move,
	// with no branch to mispredict (a NaN's pattern beats every number, so a
	// NaN propagates into the row).
	var mb uint64
	for _, v := range h {
		mb = max(mb, math.Float64bits(v))
	}
	normalizeMax(h, mb, s, row)
}

// normalizeMax is normalize given mb, the largest bit pattern in h.
func normalizeMax[T Float](h []float64, mb uint64, s float64, row []T) {
	m := math.Float64frombits(mb)
	K := len(h)
	if m == 0 {
		clear(row[:K])
		row[K] = T(math.Inf(-1))
		return
	}
	inv := 1 / m
	if isFloat32[T]() {
		// In float64, m·(1/m) is within an ulp of 1 and every v·(1/m) with
		// v < m is below 1 by more than float32's half-ulp (v ≤ m(1−2⁻⁵²)),
		// so rounding to float32 gives exactly 1 at the maximum and ≤ 1
		// elsewhere: no per-element check needed.
		for k, v := range h {
			row[k] = T(v * inv)
		}
	} else {
		for k, v := range h {
			row[k] = T(v * inv)
			if v == m { // v·(1/v) may round to 1−ulp
				row[k] = 1
			}
		}
	}
	row[K] = T(s + math.Log(m))
}

// isFloat32 reports whether T is float32 (a constant per instantiation).
func isFloat32[T Float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// Backward adds the gradients of ℓ given g = ∂ℓ/∂(output log-values): into
// dSrcs (input log-values), dW and dScale. Any of dSrcs, dSrcs[s], dW and
// dScale may be nil to skip that gradient. It reads the projections cached
// by the last Forward, which must have had the same srcs, w and scale.
//
//	g: (F, B, Kout+1) -> dSrcs: s (SrcFolds[s], B, Kin+1), dW: (Fw, A, Kout, Kin), dScale: (F, Kout)
func (l *CP[T]) Backward(srcs [][]T, w, scale, g []T, dSrcs [][]T, dW, dScale []T) {
	l.check("CP.Backward", srcs, w, scale, g)
	l.checkSrcs("CP.Backward", srcs, dSrcs)
	if dW != nil && len(dW) != len(w) {
		panic(fmt.Sprintf("kernel.CP.Backward: dW has %d elements, want %d", len(dW), len(w)))
	}
	if dScale != nil && (scale == nil || len(dScale) != len(scale)) {
		panic(fmt.Sprintf("kernel.CP.Backward: dScale has %d elements, want %d", len(dScale), len(scale)))
	}
	l.workspace()
	if dW != nil && len(l.wgrpFolds) > 0 {
		l.dws = grow(l.dws, len(l.wgrpFolds)*l.A*l.Kout*l.Kin)
	}
	if dW == nil {
		l.freshW = nil
	}
	l.beginBackward(dSrcs)
	l.srcs, l.w, l.scale, l.g, l.dSrcs, l.dW, l.dScale = srcs, w, scale, g, dSrcs, dW, dScale
	ParallelFor(l.nc, l.bwdChunk)
	l.reduceInputs(dSrcs)
	if dW != nil && len(l.wgrpFolds) > 0 {
		ParallelFor((len(l.wgrpStart)-1)*l.A*l.Kout, l.wr)
		if l.freshW != nil {
			for _, wf := range l.wgrpW {
				l.freshW[wf] = false
			}
		}
	}
	l.srcs, l.w, l.scale, l.g, l.dSrcs, l.dW, l.dScale = nil, nil, nil, nil, nil, nil, nil
	l.freshW = nil
}

func (l *CP[T]) backwardChunk(c int) {
	B, A, Kin, Kout := l.B, l.A, l.Kin, l.Kout
	t := l.t[c*B*Kout : (c+1)*B*Kout]
	d := l.d[c*B*Kin : (c+1)*B*Kin]
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		wf := int(l.WFold[f])
		g := l.g[f*B*(Kout+1) : (f+1)*B*(Kout+1)]
		// A weight fold of its own (wslot < 0) is written by this fold only.
		beta := T(1)
		if l.dW != nil && l.wslot[f] < 0 && l.freshW != nil && l.freshW[wf] {
			beta, l.freshW[wf] = 0, false
		}
		for a := range A {
			// T_a = G ⊘ Z_a (0 where Z_a = 0)   (B, Kout)
			vec.Quot(g, Kout+1, l.zblk(f, a), t, B, Kout)
			x := l.in(l.srcs, f*A+a)
			wa := l.w[(wf*A+a)*Kout*Kin : (wf*A+a+1)*Kout*Kin]
			if l.dW != nil {
				// dW_a += T_aᵀ X_a   (Kout, Kin)
				if s := int(l.wslot[f]); s >= 0 {
					gemm(true, false, Kout, Kin, B, t, Kout, x, Kin+1, 0, l.dws[(s*A+a)*Kout*Kin:(s*A+a+1)*Kout*Kin], Kin)
				} else {
					gemm(true, false, Kout, Kin, B, t, Kout, x, Kin+1, beta, l.dW[(wf*A+a)*Kout*Kin:(wf*A+a+1)*Kout*Kin], Kin)
				}
			}
			if dx, set := l.dInSet(l.dSrcs, f*A+a); dx != nil {
				// dlog X_a += X_a ⊙ (T_a W_a)   (B, Kin)
				if nativeGemm && isFloat32[T]() {
					vec.GemmMul(B, Kin, Kout, t, Kout, 1, wa, Kin, x, Kin+1, set, dx, Kin+1, d)
				} else {
					gemm(false, false, B, Kin, Kout, t, Kout, wa, Kin, 0, d, Kin)
					vec.Hadamard(x, Kin+1, d, dx, B, Kin, set)
				}
				if set {
					l.setScale(dx)
				}
				l.done(f*A + a)
			}
		}
		if l.dScale != nil {
			// ∂ log H_k / ∂ Scale_k = 1 / Scale_k
			sc, ds := l.scale[f*Kout:(f+1)*Kout], l.dScale[f*Kout:(f+1)*Kout]
			for k := range Kout {
				var sum T
				for b := range B {
					sum += g[b*(Kout+1)+k]
				}
				ds[k] += sum / sc[k]
			}
		}
	}
}

// reduceWeights sums the scratch weight gradients of one (group, a, k) row
// into dW, in increasing fold order (the first written, not added, into a
// fresh weight fold; Backward unmarks the groups' folds afterwards).
func (l *CP[T]) reduceWeights(i int) {
	Kin, Kout, A := l.Kin, l.Kout, l.A
	grp, ak := i/(A*Kout), i%(A*Kout)
	wf := int(l.wgrpW[grp])
	dst := l.dW[(wf*A*Kout+ak)*Kin : (wf*A*Kout+ak+1)*Kin]
	set := l.freshW != nil && l.freshW[wf]
	for _, f := range l.wgrpFolds[l.wgrpStart[grp]:l.wgrpStart[grp+1]] {
		s := int(l.wslot[f])
		src := l.dws[(s*A*Kout+ak)*Kin : (s*A*Kout+ak+1)*Kin]
		if set {
			copy(dst, src)
			set = false
			continue
		}
		for j, v := range src {
			dst[j] += v
		}
	}
}
