package kernel

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/internal/vec"
)

// CPR is the uncollapsed CP sum-product layer of rank R. Fold f projects
// each of its A inputs to R components, multiplies them, and mixes the
// product into Kout outputs:
//
//	P_a = X_a U_aᵀ                (B, R), U_a = U[f, a] (R, Kin)
//	H   = ∏_a P_a                 formed in float64, then Hn = H / mh_b, mh_b = max_r H[b, r]
//	Y   = Hn Oᵀ                   (B, Kout), O = O[f] (Kout, R)
//	out = Y / m_b,  S = Σ_a S_a + log mh_b + log m_b,  m_b = max_k Y[b, k]
//
// Layouts (row-major):
//
//	u      (F, A, R, Kin)
//	o      (F, Kout, R)
//	srcs   s: (SrcFolds[s], B, Kin+1)
//	out    (F, B, Kout+1)
//
// Backward (the row maxima cancel): T = G ⊘ Y; dO += Tᵀ Hn; E = T O;
// T_a = E ⊙ ∏_{a'≠a} P_a' / mh; dU_a += T_aᵀ X_a; dlog X_a += X_a ⊙ (T_a U_a).
// A zero row is written V = 0, S = −Inf; entries with Y = 0 pass no
// gradient (T := 0), as in CP. Forward caches P_a, Hn and Y; Backward must
// follow a Forward with the same srcs and weights. Not safe for concurrent use.
type CPR[T Float] struct {
	gather[T]
	R int

	p, hn, y []T // caches (F, A, B, R), (F, B, R), (F, B, Kout)

	h       []float64 // per chunk (R)
	t, e, d []T       // per chunk (B, Kout), (B, R), (B, Kin)
	ta      []T       // per chunk (B, R)

	srcs, dSrcs          [][]T
	u, o, out, g, dU, dO []T
	nc                   int
	sp                   spread
	fwdChunk, bwdChunk   func(int)
}

// NewCPR validates the wiring and allocates the workspace of a rank-R CP
// layer. A must be at least 2.
func NewCPR[T Float](wr Wiring, rank int) (*CPR[T], error) {
	l := &CPR[T]{R: rank}
	if err := l.gather.init(wr, "NewCPR"); err != nil {
		return nil, err
	}
	l.pairs = true // dx entries are added as one rounded value each
	if wr.A < 2 {
		return nil, fmt.Errorf("kernel.NewCPR: arity %d, want at least 2", wr.A)
	}
	if rank <= 0 {
		return nil, fmt.Errorf("kernel.NewCPR: rank %d, want at least 1", rank)
	}
	l.p = make([]T, wr.F*wr.A*wr.B*rank)
	l.hn = make([]T, wr.F*wr.B*rank)
	l.y = make([]T, wr.F*wr.B*wr.Kout)
	l.fwdChunk, l.bwdChunk = l.forwardChunk, l.backwardChunk
	return l, nil
}

func (l *CPR[T]) check(name string, srcs [][]T, u, o, out []T) {
	l.checkSrcs(name, srcs, nil)
	if len(u) != l.F*l.A*l.R*l.Kin {
		panic(fmt.Sprintf("kernel.%s: u has %d elements, want (%d, %d, %d, %d)", name, len(u), l.F, l.A, l.R, l.Kin))
	}
	if len(o) != l.F*l.Kout*l.R {
		panic(fmt.Sprintf("kernel.%s: o has %d elements, want (%d, %d, %d)", name, len(o), l.F, l.Kout, l.R))
	}
	if len(out) != l.F*l.B*(l.Kout+1) {
		panic(fmt.Sprintf("kernel.%s: output has %d elements, want (%d, %d, %d)", name, len(out), l.F, l.B, l.Kout+1))
	}
}

func (l *CPR[T]) workspace() {
	l.nc = chunks(l.F)
	l.sp.start(l.F, l.nc)
	B, R := l.B, l.R
	l.h = grow(l.h, l.nc*R)
	l.t = grow(l.t, l.nc*B*l.Kout)
	l.e = grow(l.e, l.nc*B*R)
	l.ta = grow(l.ta, l.nc*B*R)
	l.d = grow(l.d, l.nc*B*l.Kin)
	l.growWT(l.nc, l.wtLen())
}

// wtLen is the size of the transposed weight blocks: U_a (R, Kin), O (Kout, R).
func (l *CPR[T]) wtLen() int { return max(l.R*l.Kin, l.Kout*l.R) }

// Forward computes the layer.
//
//	srcs: s (SrcFolds[s], B, Kin+1), u: (F, A, R, Kin), o: (F, Kout, R) -> out: (F, B, Kout+1)
func (l *CPR[T]) Forward(srcs [][]T, u, o, out []T) {
	l.check("CPR.Forward", srcs, u, o, out)
	l.workspace()
	l.srcs, l.u, l.o, l.out = srcs, u, o, out
	ParallelFor(l.nc, l.fwdChunk)
	l.srcs, l.u, l.o, l.out = nil, nil, nil, nil
}

func (l *CPR[T]) forwardChunk(c int) {
	B, A, R, Kin, Kout := l.B, l.A, l.R, l.Kin, l.Kout
	h := l.h[c*R : (c+1)*R]
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		for a := range A {
			i := f*A + a
			gemmNT(B, R, Kin, l.in(l.srcs, i), Kin+1, l.u[i*R*Kin:(i+1)*R*Kin], Kin, l.p[i*B*R:(i+1)*B*R], R, l.wtChunk(c, l.wtLen()))
		}
		hn := l.hn[f*B*R : (f+1)*B*R]
		sH := l.out[f*B*(Kout+1) : (f+1)*B*(Kout+1)] // S of the product, kept in the output's S slots
		for b := range B {
			for r := range h {
				h[r] = 1
			}
			s := 0.0
			for a := range A {
				i := f*A + a
				s += float64(l.in(l.srcs, i)[b*(Kin+1)+Kin])
				for r, v := range l.p[(i*B+b)*R : (i*B+b+1)*R] {
					h[r] *= float64(v)
				}
			}
			// hn row and its log-scale, in the output row's S slot.
			tmp := hn[b*R : (b+1)*R]
			mh := 0.0
			for _, v := range h {
				if v > mh {
					mh = v
				}
			}
			if mh == 0 {
				clear(tmp)
				sH[b*(Kout+1)+Kout] = T(math.Inf(-1))
				continue
			}
			for r, v := range h {
				tmp[r] = T(v / mh)
			}
			sH[b*(Kout+1)+Kout] = T(s + math.Log(mh))
		}
		y := l.y[f*B*Kout : (f+1)*B*Kout]
		gemmNT(B, Kout, R, hn, R, l.o[f*Kout*R:(f+1)*Kout*R], R, y, Kout, l.wtChunk(c, l.wtLen()))
		out := l.out[f*B*(Kout+1) : (f+1)*B*(Kout+1)]
		for b := range B {
			row := out[b*(Kout+1) : (b+1)*(Kout+1)]
			normalizeT(y[b*Kout:(b+1)*Kout], float64(row[Kout]), row)
		}
	}
}

// Backward adds the gradients of ℓ given g = ∂ℓ/∂(output log-values) into
// dSrcs (input log-values), dU and dO; any of them (or dSrcs[s]) may be nil.
//
//	g: (F, B, Kout+1) -> dSrcs: s (SrcFolds[s], B, Kin+1), dU: (F, A, R, Kin), dO: (F, Kout, R)
func (l *CPR[T]) Backward(srcs [][]T, u, o, g []T, dSrcs [][]T, dU, dO []T) {
	l.check("CPR.Backward", srcs, u, o, g)
	l.checkSrcs("CPR.Backward", srcs, dSrcs)
	if dU != nil && len(dU) != len(u) || dO != nil && len(dO) != len(o) {
		panic(fmt.Sprintf("kernel.CPR.Backward: dU, dO have %d, %d elements, want %d, %d", len(dU), len(dO), len(u), len(o)))
	}
	l.workspace()
	l.beginBackward(dSrcs)
	l.srcs, l.u, l.o, l.g, l.dSrcs, l.dU, l.dO = srcs, u, o, g, dSrcs, dU, dO
	ParallelFor(l.nc, l.bwdChunk)
	l.reduceInputs(dSrcs)
	l.srcs, l.u, l.o, l.g, l.dSrcs, l.dU, l.dO = nil, nil, nil, nil, nil, nil, nil
}

func (l *CPR[T]) backwardChunk(c int) {
	B, A, R, Kin, Kout := l.B, l.A, l.R, l.Kin, l.Kout
	t := l.t[c*B*Kout : (c+1)*B*Kout]
	e := l.e[c*B*R : (c+1)*B*R]
	ta := l.ta[c*B*R : (c+1)*B*R]
	d := l.d[c*B*Kin : (c+1)*B*Kin]
	cur := l.sp.cursor()
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		g := l.g[f*B*(Kout+1) : (f+1)*B*(Kout+1)]
		y := l.y[f*B*Kout : (f+1)*B*Kout]
		hn := l.hn[f*B*R : (f+1)*B*R]
		o := l.o[f*Kout*R : (f+1)*Kout*R]
		// T = G ⊘ Y   (B, Kout)
		for b := range B {
			for k, v := range y[b*Kout : (b+1)*Kout] {
				if v != 0 {
					t[b*Kout+k] = g[b*(Kout+1)+k] / v
				} else {
					t[b*Kout+k] = 0
				}
			}
		}
		if l.dO != nil { // dO += Tᵀ Hn   (Kout, R)
			gemm(true, false, Kout, R, B, t, Kout, hn, R, 1, l.dO[f*Kout*R:(f+1)*Kout*R], R)
		}
		gemm(false, false, B, R, Kout, t, Kout, o, R, 0, e, R) // E = T O   (B, R)
		for a := range A {
			i := f*A + a
			// T_a = E ⊙ ∏_{a'≠a} P_a' / mh   (B, R), in float64
			for b := range B {
				mh := 0.0
				for r := range R {
					v := 1.0
					for a2 := range A {
						v *= float64(l.p[((f*A+a2)*B+b)*R+r])
					}
					if v > mh {
						mh = v
					}
				}
				for r := range R {
					v := float64(e[b*R+r])
					if mh == 0 {
						v = 0
					}
					for a2 := range A {
						if a2 != a {
							v *= float64(l.p[((f*A+a2)*B+b)*R+r])
						}
					}
					if mh != 0 {
						v /= mh
					}
					ta[b*R+r] = T(v)
				}
			}
			x := l.in(l.srcs, i)
			ua := l.u[i*R*Kin : (i+1)*R*Kin]
			if l.dU != nil { // dU_a += T_aᵀ X_a   (R, Kin)
				gemm(true, false, R, Kin, B, ta, R, x, Kin+1, 1, l.dU[i*R*Kin:(i+1)*R*Kin], Kin)
			}
			if dx, set := l.dInSet(l.dSrcs, i); dx != nil { // dlog X_a += X_a ⊙ (T_a U_a)
				gemm(false, false, B, Kin, R, ta, R, ua, Kin, 0, d, Kin)
				vec.Hadamard(x, Kin+1, d, dx, B, Kin, set)
				if set {
					l.setScale(dx)
				}
				l.done(i)
			}
		}
	}
}
