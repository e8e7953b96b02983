package circuit

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/nn"
)

// The built-in product layers (see Multiply): the Kronecker product of two
// CP-family layers, and of two Tucker layers. Their inputs hold, for fold
// f and input a, the K_a·K_b products x_{a,i}·y_{a,j} at i·K_b + j (or,
// with variables integrated out, ∫ of them, which is why a product layer
// takes a (K_a·K_b)-vector and not two vectors), and they contract them
// with the two factors' weights one factor at a time, never forming the
// Kronecker product of the weights.

// cpForm is a layer of the CP family seen as per-input projections U, their
// Hadamard product over the inputs, an optional output map O and optional
// scales:
//
//	out_k = scale_{f,k} · Σ_r O[f, k, r] · ∏_a Σ_i U[f, a, r, i] · x_{a,i}
//
// CP is U = W with O the identity (R = Kout), CP-S adds the scales, CP-R
// has both U and O; the product of two such layers is one too, whose U, O
// and scales are the Kronecker products of its factors'.
type cpForm struct {
	folds, arity, rank, kin, kout int
	// u returns U (F, A, R, Kin), or (1, A, R, Kin) when shared (every
	// fold uses fold 0).
	u      func(g *nn.Graph) *nn.Node
	shared bool
	// out returns O (F, Kout, R); nil: the identity.
	out func(g *nn.Graph) *nn.Node
	// logScale returns log scale (F, Kout); nil: no scales.
	logScale func(g *nn.Graph) *nn.Node
	// values returns U and O (nil for the identity) in float64, in the
	// layouts above, for the descent rules.
	values func() (u, o []float64)
}

// cpFormer is implemented by the CP-family layers (and their products).
type cpFormer interface{ cpForm() cpForm }

// tuckerForm is a Tucker layer: W (F, Kout, Kin·Kin), out_k = Σ_{ij}
// W[f, k, i·Kin + j] x_{1,i} x_{2,j}; values returns W in float64.
type tuckerForm struct {
	folds, kin, kout int
	w                func(g *nn.Graph) *nn.Node
	values           func() []float64
}

// tuckerFormer is implemented by Tucker layers (and their products).
type tuckerFormer interface{ tuckerForm() tuckerForm }

func (l *CPLayer) cpForm() cpForm {
	s := l.spec
	f := cpForm{folds: s.Folds, arity: s.Arity, rank: s.Kout, kin: s.Kin, kout: s.Kout, shared: l.shared(),
		u:      func(g *nn.Graph) *nn.Node { return s.Weights(g, l.Weight) },
		values: func() ([]float64, []float64) { return s.EffectiveWeights(l.Weight), nil }}
	if l.Scale != nil {
		f.logScale = func(g *nn.Graph) *nn.Node { return nn.Reshape(l.logScale(g), s.Folds, s.Kout) }
	}
	return f
}

func (l *CPRLayer) cpForm() cpForm {
	s := l.spec
	return cpForm{folds: s.Folds, arity: s.Arity, rank: s.Rank, kin: s.Kin, kout: s.Kout,
		u:   func(g *nn.Graph) *nn.Node { return s.Weights(g, l.Weight) },
		out: func(g *nn.Graph) *nn.Node { return s.Weights(g, l.Out) },
		values: func() ([]float64, []float64) {
			return s.EffectiveWeights(l.Weight), s.EffectiveWeights(l.Out)
		}}
}

func (l *TuckerLayer) tuckerForm() tuckerForm {
	s := l.spec
	return tuckerForm{folds: s.Folds, kin: s.Kin, kout: s.Kout,
		w:      func(g *nn.Graph) *nn.Node { return s.Weights(g, l.Weight) },
		values: func() []float64 { return s.EffectiveWeights(l.Weight) }}
}

// pairInputs gathers b's per-(fold, input) tensor w (F_b or 1, A, rest…)
// into the product's layout (F, A, rest…): row (f, a) is b's (BFolds[f],
// BInputs[f·A+a]). Without pairing it returns w as it is.
func (s ProductSpec) pairInputs(w *nn.Node, shared bool) (*nn.Node, bool) {
	if s.BFolds == nil {
		return w, shared
	}
	sh := w.Shape()
	flat := nn.Reshape(w, append([]int{sh[0] * sh[1]}, sh[2:]...)...)
	return nn.Reshape(nn.Gather(flat, 0, s.inputRows(shared)), append([]int{s.Folds, s.Arity}, sh[2:]...)...), false
}

// inputRows is the row of b's (fold·A + input) for every (f, a).
func (s ProductSpec) inputRows(shared bool) []int {
	idx := make([]int, s.Folds*s.Arity)
	for f := range s.Folds {
		for a := range s.Arity {
			bf := s.BFolds[f]
			if shared {
				bf = 0
			}
			idx[f*s.Arity+a] = bf*s.Arity + s.BInputs[f*s.Arity+a]
		}
	}
	return idx
}

// pairFolds gathers b's per-fold tensor w (F_b, rest…) into (F, rest…).
func (s ProductSpec) pairFolds(w *nn.Node) *nn.Node {
	if s.BFolds == nil || w == nil {
		return w
	}
	return nn.Gather(w, 0, s.BFolds)
}

// gatherRows picks rows of vals (rows of n values) in idx's order; nil
// idx returns vals.
func gatherRows(vals []float64, n int, idx []int) []float64 {
	if idx == nil || vals == nil {
		return vals
	}
	out := make([]float64, 0, len(idx)*n)
	for _, r := range idx {
		out = append(out, vals[r*n:(r+1)*n]...)
	}
	return out
}

// cpProduct is the product of two CP-family layers A and B.
type cpProduct struct {
	A, B   InnerLayer
	fa, fb cpForm
	spec   ProductSpec
}

func newCPProduct(a, b InnerLayer, fa, fb cpForm, s ProductSpec) *cpProduct {
	return &cpProduct{A: a, B: b, fa: fa, fb: fb, spec: s}
}

// Describe implements nn.Describer.
func (l *cpProduct) Describe() string {
	return fmt.Sprintf("product F=%d A=%d %d·%d → %d·%d", l.spec.Folds, l.spec.Arity, l.fa.kin, l.fb.kin, l.fa.kout, l.fb.kout)
}

// bU is b's U in the product's fold and input order.
func (l *cpProduct) bU(g *nn.Graph) (*nn.Node, bool) {
	return l.spec.pairInputs(l.fb.u(g), l.fb.shared)
}

// Forward implements InnerLayer (both factors' weights non-negative).
func (l *cpProduct) Forward(x *nn.Node) *nn.Node {
	y, _ := l.SignedForward(x, nil)
	return y
}

// SignedForward implements SignedLayer:
//
//	x, sx (F, A, B, Ki_a·Ki_b) -> e (F, A, B, Ki_a, Ki_b), shifted by its maximum over (i, j)
//	  -> Σ_i U_a[f, a, r, i] e[.., i, j] (F, A, B, R_a, Ki_b) -> Σ_j U_b[f, a, s, j] · (F, A, B, R_a, R_b)
//	  -> Σ_a log|·| (F, B, R_a·R_b) -> O_a ⊗ O_b -> (F, B, Ko_a·Ko_b), + log scale_a ⊕ log scale_b
func (l *cpProduct) SignedForward(x, sx *nn.Node) (y, sy *nn.Node) {
	g := x.Graph()
	fa, fb := l.fa, l.fb
	F, A, b := l.spec.Folds, l.spec.Arity, x.Shape()[2]
	ua := fa.u(g)
	ub, sharedB := l.bU(g)
	e, m := shiftedSigned(x, sx, 3)
	e = nn.Reshape(e, F, A, b, fa.kin, fb.kin)
	specA := "fabij,fari->fabrj"
	if fa.shared {
		ua, specA = nn.Reshape(ua, A, fa.rank, fa.kin), "fabij,ari->fabrj"
	}
	specB := "fabrj,fasj->fabrs"
	if sharedB {
		ub, specB = nn.Reshape(ub, A, fb.rank, fb.kin), "fabrj,asj->fabrs"
	}
	z := nn.Reshape(nn.Einsum(specB, nn.Einsum(specA, e, ua), ub), F, A, b, fa.rank*fb.rank)
	y = nn.Add(nn.SumAxis(logAbs(z), 1), nn.Reshape(nn.SumAxis(m, 1), F, b, 1))
	sy = signProd(signOf(z), 1)
	if fa.out != nil || fb.out != nil {
		y, sy = l.outMap(g, y, sy, b)
	}
	if ls := l.logScale(g); ls != nil {
		y = nn.Add(y, nn.Reshape(ls, F, 1, fa.kout*fb.kout))
	}
	return y, sy
}

// outMap applies O_a ⊗ O_b (either may be the identity) to z (F, B,
// R_a·R_b) in signed log-space: (F, B, Ko_a·Ko_b).
func (l *cpProduct) outMap(g *nn.Graph, z, sz *nn.Node, b int) (y, sy *nn.Node) {
	fa, fb := l.fa, l.fb
	F := l.spec.Folds
	e, m := shiftedSigned(z, sz, 2)
	t := nn.Reshape(e, F, b, fa.rank, fb.rank)
	if fb.out != nil {
		t = nn.Einsum("fbrs,fls->fbrl", t, l.spec.pairFolds(fb.out(g)))
	}
	if fa.out != nil {
		t = nn.Einsum("fbrl,fkr->fbkl", t, fa.out(g))
	}
	t = nn.Reshape(t, F, b, fa.kout*fb.kout)
	return nn.Add(logAbs(t), m), signOf(t)
}

// logScale is log scale_a[k] + log scale_b[l] at k·Ko_b + l, (F,
// Ko_a·Ko_b), or nil when neither factor has scales.
func (l *cpProduct) logScale(g *nn.Graph) *nn.Node {
	fa, fb := l.fa, l.fb
	if fa.logScale == nil && fb.logScale == nil {
		return nil
	}
	F := l.spec.Folds
	sa, sb := g.Const(make([]float64, F*fa.kout), F, fa.kout), g.Const(make([]float64, F*fb.kout), F, fb.kout)
	if fa.logScale != nil {
		sa = fa.logScale(g)
	}
	if fb.logScale != nil {
		sb = l.spec.pairFolds(fb.logScale(g))
	}
	return nn.Reshape(nn.Add(nn.Reshape(sa, F, fa.kout, 1), nn.Reshape(sb, F, 1, fb.kout)), F, fa.kout*fb.kout)
}

// MaxForward implements MaxProduct, maximizing over i and j one at a time
// (the terms separate):
//
//	t (F, A, B, Ki_a, R_b) = max_j (log U_b[f, a, s, j] + x[.., i·Ki_b + j])
//	z (F, B, R_a·R_b)      = Σ_a max_i (log U_a[f, a, r, i] + t[.., i, s])
//	out                    = max over O_b's, then O_a's terms, + log scales
func (l *cpProduct) MaxForward(x *nn.Node) *nn.Node {
	g := x.Graph()
	fa, fb := l.fa, l.fb
	F, A, b := l.spec.Folds, l.spec.Arity, x.Shape()[2]
	ua := nn.Log(fa.u(g))
	ubn, _ := l.bU(g)
	ub := nn.Log(ubn)
	x6 := nn.Reshape(x, F, A, b, fa.kin, 1, fb.kin)
	t := nn.MaxAxis(nn.Add(x6, nn.Reshape(ub, ub.Shape()[0], A, 1, 1, fb.rank, fb.kin)), 5) // (F, A, B, Ki_a, R_b)
	t6 := nn.Reshape(t, F, A, b, 1, fa.kin, fb.rank)
	u := nn.MaxAxis(nn.Add(t6, nn.Reshape(ua, ua.Shape()[0], A, 1, fa.rank, fa.kin, 1)), 4) // (F, A, B, R_a, R_b)
	z := nn.SumAxis(u, 1)                                                                   // (F, B, R_a, R_b)
	if fb.out != nil {
		lo := nn.Log(l.spec.pairFolds(fb.out(g)))
		z = nn.MaxAxis(nn.Add(nn.Reshape(z, F, b, fa.rank, 1, fb.rank), nn.Reshape(lo, F, 1, 1, fb.kout, fb.rank)), 4)
	}
	if fa.out != nil {
		lo := nn.Log(fa.out(g))
		z = nn.MaxAxis(nn.Add(nn.Reshape(z, F, b, 1, fa.rank, fb.kout), nn.Reshape(lo, F, 1, fa.kout, fa.rank, 1)), 3)
	}
	out := nn.Reshape(z, F, b, fa.kout*fb.kout)
	if ls := l.logScale(g); ls != nil {
		out = nn.Add(out, nn.Reshape(ls, F, 1, fa.kout*fb.kout))
	}
	return out
}

// maxElems is the largest intermediate of MaxForward per row, for the
// evaluator's row count.
func (l *cpProduct) maxElems() int {
	fa, fb := l.fa, l.fb
	return l.spec.Folds * l.spec.Arity * max(fa.kin*fb.rank*fb.kin, fa.rank*fa.kin*fb.rank, fa.rank*fb.kout*fb.rank, fa.kout*fa.rank*fb.kout)
}

// values returns the factors' U and O in float64, b's in the product's
// fold and input order.
func (l *cpProduct) values() (ua, oa, ub, ob []float64) {
	ua, oa = l.fa.values()
	ub, ob = l.fb.values()
	if l.spec.BFolds != nil {
		ub = gatherRows(ub, l.fb.rank*l.fb.kin, l.spec.inputRows(l.fb.shared))
		ob = gatherRows(ob, l.fb.kout*l.fb.rank, l.spec.BFolds)
	}
	return ua, oa, ub, ob
}

// Descent implements Descender (non-negative weights): a pair (r, s) with
// term log O_a[f, k, r] + log O_b[f, l, s] + Σ_a ⊕_{ij} (log U_a[f, a, r, i]
// + log U_b[f, a, s, j] + in_a[i·Ki_b + j]) when either factor has an
// output map (r = k, s = l otherwise), then per input a a pair (i, j) with
// term log U_a[f, a, r, i] + log U_b[f, a, s, j] + in_a[i·Ki_b + j].
func (l *cpProduct) Descent() func(d *Downward, f, k int, in [][]float64, choice []int) {
	fa, fb := l.fa, l.fb
	ua, oa, ub, ob := l.values()
	lua, loa, lub, lob := logOf(ua), logOf(oa), logOf(ub), logOf(ob)
	A, Ka, Kb := l.spec.Arity, fa.kin, fb.kin
	t := make([]float64, Ka*Kb)
	z := make([]float64, fa.rank*fb.rank)
	urow := func(lu []float64, shared bool, rank, kin, f, a, r int) []float64 {
		if shared {
			f = 0
		}
		return lu[((f*A+a)*rank+r)*kin:][:kin]
	}
	terms := func(f, a, r, s int, in []float64) []float64 {
		ra, rb := urow(lua, fa.shared, fa.rank, Ka, f, a, r), urow(lub, fb.shared && l.spec.BFolds == nil, fb.rank, Kb, f, a, s)
		for i, wa := range ra {
			for j, wb := range rb {
				t[i*Kb+j] = wa + wb + in[i*Kb+j]
			}
		}
		return t
	}
	outTerm := func(lo []float64, kout, rank, f, k, r int) float64 {
		if lo == nil {
			if r == k {
				return 0
			}
			return math.Inf(-1)
		}
		return lo[(f*kout+k)*rank+r]
	}
	return func(d *Downward, f, unit int, in [][]float64, choice []int) {
		k, lu := unit/fb.kout, unit%fb.kout
		r, s := k, lu
		if fa.out != nil || fb.out != nil {
			for rr := range fa.rank {
				for ss := range fb.rank {
					v := outTerm(loa, fa.kout, fa.rank, f, k, rr) + outTerm(lob, fb.kout, fb.rank, f, lu, ss)
					if !math.IsInf(v, -1) {
						for a := range A {
							v += d.Sum(terms(f, a, rr, ss, in[a]))
						}
					}
					z[rr*fb.rank+ss] = v
				}
			}
			rs := d.Pick(z)
			r, s = rs/fb.rank, rs%fb.rank
		}
		for a := range A {
			choice[a] = d.Pick(terms(f, a, r, s, in[a]))
		}
	}
}

// cpForm implements cpFormer: the Kronecker products of the factors' U, O
// and scales, so that a product multiplies again.
func (l *cpProduct) cpForm() cpForm {
	fa, fb, sp := l.fa, l.fb, l.spec
	F, A := sp.Folds, sp.Arity
	ra, rb, ka, kb := fa.rank, fb.rank, fa.kin, fb.kin
	out := cpForm{folds: F, arity: A, rank: ra * rb, kin: ka * kb, kout: fa.kout * fb.kout}
	sharedB := fb.shared && sp.BFolds == nil
	out.shared = fa.shared && sharedB
	out.u = func(g *nn.Graph) *nn.Node {
		ua := fa.u(g)
		ub, _ := l.bU(g)
		la, lb := "fari", "fasj"
		if fa.shared {
			ua, la = nn.Reshape(ua, A, ra, ka), "ari"
		}
		if sharedB {
			ub, lb = nn.Reshape(ub, A, rb, kb), "asj"
		}
		if out.shared {
			return nn.Reshape(nn.Einsum(la+","+lb+"->arsij", ua, ub), 1, A, ra*rb, ka*kb)
		}
		return nn.Reshape(nn.Einsum(la+","+lb+"->farsij", ua, ub), F, A, ra*rb, ka*kb)
	}
	if fa.out != nil || fb.out != nil {
		eye := func(g *nn.Graph, k int) *nn.Node {
			v := make([]float64, F*k*k)
			for f := range F {
				for i := range k {
					v[(f*k+i)*k+i] = 1
				}
			}
			return g.Const(v, F, k, k)
		}
		out.out = func(g *nn.Graph) *nn.Node {
			oa, ob := eye(g, fa.kout), eye(g, fb.kout)
			if fa.out != nil {
				oa = fa.out(g)
			}
			if fb.out != nil {
				ob = sp.pairFolds(fb.out(g))
			}
			return nn.Reshape(nn.Einsum("fkr,fls->fklrs", oa, ob), F, fa.kout*fb.kout, ra*rb)
		}
	}
	if fa.logScale != nil || fb.logScale != nil {
		out.logScale = l.logScale
	}
	out.values = func() ([]float64, []float64) {
		ua, oa, ub, ob := l.values()
		fu := F
		if out.shared {
			fu = 1
		}
		u := make([]float64, fu*A*ra*rb*ka*kb)
		for f := range fu {
			for a := range A {
				fA, fB := f, f
				if fa.shared {
					fA = 0
				}
				if sharedB {
					fB = 0
				}
				for r := range ra {
					for s := range rb {
						for i := range ka {
							for j := range kb {
								u[((((f*A+a)*ra+r)*rb+s)*ka+i)*kb+j] = ua[((fA*A+a)*ra+r)*ka+i] * ub[((fB*A+a)*rb+s)*kb+j]
							}
						}
					}
				}
			}
		}
		if oa == nil && ob == nil {
			return u, nil
		}
		get := func(o []float64, kout, rank, f, k, r int) float64 {
			if o == nil {
				if k == r {
					return 1
				}
				return 0
			}
			return o[(f*kout+k)*rank+r]
		}
		ko, kob := fa.kout, fb.kout
		o := make([]float64, F*ko*kob*ra*rb)
		for f := range F {
			for k := range ko {
				for lo := range kob {
					for r := range ra {
						for s := range rb {
							o[(((f*ko+k)*kob+lo)*ra+r)*rb+s] = get(oa, ko, ra, f, k, r) * get(ob, kob, rb, f, lo, s)
						}
					}
				}
			}
		}
		return u, o
	}
	return out
}

// tuckerProduct is the product of two Tucker layers A and B.
type tuckerProduct struct {
	A, B   InnerLayer
	fa, fb tuckerForm
	spec   ProductSpec
}

func newTuckerProduct(a, b InnerLayer, fa, fb tuckerForm, s ProductSpec) *tuckerProduct {
	return &tuckerProduct{A: a, B: b, fa: fa, fb: fb, spec: s}
}

// Describe implements nn.Describer.
func (l *tuckerProduct) Describe() string {
	return fmt.Sprintf("product F=%d A=2 %d·%d → %d·%d", l.spec.Folds, l.fa.kin, l.fb.kin, l.fa.kout, l.fb.kout)
}

// bIndex is, for the product's layout of b's W (F, Kout_b, Kin_b²), the
// entry of b's W (F_b, Kout_b, Kin_b²) it reads: b's fold BFolds[f], with
// i and j swapped where b's fold lists the two inputs the other way.
func (l *tuckerProduct) bIndex() []int {
	sp, kb, ko := l.spec, l.fb.kin, l.fb.kout
	idx := make([]int, 0, sp.Folds*ko*kb*kb)
	for f := range sp.Folds {
		swap := sp.BInputs[2*f] == 1
		for k := range ko {
			for i := range kb {
				for j := range kb {
					ii, jj := i, j
					if swap {
						ii, jj = j, i
					}
					idx = append(idx, ((sp.BFolds[f]*ko+k)*kb+ii)*kb+jj)
				}
			}
		}
	}
	return idx
}

// bW is b's W in the product's fold and input order, (F, Kout_b, Kin_b²).
func (l *tuckerProduct) bW(g *nn.Graph) *nn.Node {
	w := l.fb.w(g)
	if l.spec.BFolds == nil {
		return w
	}
	sh := w.Shape()
	flat := nn.Reshape(w, sh[0]*sh[1]*sh[2], 1)
	return nn.Reshape(nn.Gather(flat, 0, l.bIndex()), l.spec.Folds, sh[1], sh[2])
}

// Forward implements InnerLayer (both factors' weights non-negative).
func (l *tuckerProduct) Forward(x *nn.Node) *nn.Node {
	y, _ := l.SignedForward(x, nil)
	return y
}

// SignedForward implements SignedLayer, contracting the two inputs' (Ki_a,
// Ki_b) matrices Z1, Z2 with W_a and W_b one index at a time:
//
//	out[k, l] = Σ_{i,j,I,J} W_a[k, i, j] W_b[l, I, J] Z1[i, I] Z2[j, J]
//	Z1 (F, B, i, I) ·W_a -> (F, B, k, j, I) ·W_b -> (F, B, k, l, j, J) ·Z2 -> (F, B, k·l)
func (l *tuckerProduct) SignedForward(x, sx *nn.Node) (y, sy *nn.Node) {
	g := x.Graph()
	fa, fb := l.fa, l.fb
	F, b := l.spec.Folds, x.Shape()[2]
	in := func(n *nn.Node, a int) *nn.Node {
		if n == nil {
			return nil
		}
		return nn.Reshape(nn.Gather(n, 1, []int{a}), F, b, fa.kin*fb.kin)
	}
	e1, m1 := shiftedSigned(in(x, 0), in(sx, 0), 2)
	e2, m2 := shiftedSigned(in(x, 1), in(sx, 1), 2)
	wa := nn.Reshape(fa.w(g), F, fa.kout, fa.kin, fa.kin)
	wb := nn.Reshape(l.bW(g), F, fb.kout, fb.kin, fb.kin)
	u := nn.Einsum("fbiI,fkij->fbkjI", nn.Reshape(e1, F, b, fa.kin, fb.kin), wa)
	v := nn.Einsum("fbkjI,flIJ->fbkljJ", u, wb)
	z := nn.Reshape(nn.Einsum("fbkljJ,fbjJ->fbkl", v, nn.Reshape(e2, F, b, fa.kin, fb.kin)), F, b, fa.kout*fb.kout)
	return nn.Add(nn.Add(logAbs(z), m1), m2), signOf(z)
}

// Descent implements Descender (non-negative weights): one (i, I, j, J)
// with term log W_a[f, k, i·Ki_a + j] + log W_b[f, l, I·Ki_b + J] +
// in_1[i·Ki_b + I] + in_2[j·Ki_b + J].
func (l *tuckerProduct) Descent() func(d *Downward, f, k int, in [][]float64, choice []int) {
	fa, fb := l.fa, l.fb
	lwa := logOf(fa.values())
	wb := fb.values()
	if l.spec.BFolds != nil {
		wb = gatherRows(wb, 1, l.bIndex())
	}
	lwb := logOf(wb)
	ka, kb := fa.kin, fb.kin
	t := make([]float64, ka*ka*kb*kb)
	return func(d *Downward, f, unit int, in [][]float64, choice []int) {
		k, lu := unit/fb.kout, unit%fb.kout
		ra, rb := lwa[(f*fa.kout+k)*ka*ka:][:ka*ka], lwb[(f*fb.kout+lu)*kb*kb:][:kb*kb]
		for i := range ka {
			for I := range kb {
				for j := range ka {
					for J := range kb {
						t[((i*kb+I)*ka+j)*kb+J] = ra[i*ka+j] + rb[I*kb+J] + in[0][i*kb+I] + in[1][j*kb+J]
					}
				}
			}
		}
		p := d.Pick(t)
		choice[0], choice[1] = p/(ka*kb), p%(ka*kb)
	}
}

// tuckerForm implements tuckerFormer: W_a ⊗ W_b as a Tucker core over
// the product's units, entry ((i·Ki_b + I)·Ki + j·Ki_b + J) of unit
// k·Ko_b + l.
func (l *tuckerProduct) tuckerForm() tuckerForm {
	fa, fb := l.fa, l.fb
	F := l.spec.Folds
	ki := fa.kin * fb.kin
	return tuckerForm{folds: F, kin: ki, kout: fa.kout * fb.kout,
		w: func(g *nn.Graph) *nn.Node {
			wa := nn.Reshape(fa.w(g), F, fa.kout, fa.kin, fa.kin)
			wb := nn.Reshape(l.bW(g), F, fb.kout, fb.kin, fb.kin)
			return nn.Reshape(nn.Einsum("fkij,flIJ->fkliIjJ", wa, wb), F, fa.kout*fb.kout, ki*ki)
		},
		values: func() []float64 {
			wa, wb := fa.values(), fb.values()
			if l.spec.BFolds != nil {
				wb = gatherRows(wb, 1, l.bIndex())
			}
			ka, kb := fa.kin, fb.kin
			w := make([]float64, F*fa.kout*fb.kout*ki*ki)
			for f := range F {
				for k := range fa.kout {
					for lo := range fb.kout {
						for i := range ka {
							for I := range kb {
								for j := range ka {
									for J := range kb {
										w[(((f*fa.kout+k)*fb.kout+lo)*ki+i*kb+I)*ki+j*kb+J] = wa[((f*fa.kout+k)*ka+i)*ka+j] * wb[((f*fb.kout+lo)*kb+I)*kb+J]
									}
								}
							}
						}
					}
				}
			}
			return w
		}}
}
