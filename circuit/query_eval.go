package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tenpc/tenpc/circuit/kernel"
)

// This file is the plain-Go float64 evaluator behind the exact queries
// (LogProb, LogConditional, Sample, SampleConditional, MAP): an upward pass
// over the Plan in log space, in the sum-product or the max-product
// semiring, that keeps every layer's log-values, and a downward pass
// (backtracking) that walks one induced tree per sample from those values.
// It reads the circuit through EffectiveWeights and the input distributions,
// so it evaluates every layer kind, whether or not the compiled program
// supports it yet. It is the reference the compiled Program is tested
// against, not a fast path: one goroutine, no BLAS.

// semiring selects how the upward pass combines a unit's terms.
type semiring int

const (
	// sumProduct: sums are log-sum-exp, products are +. The value of a
	// unit is the circuit it roots, with unobserved variables integrated out.
	sumProduct semiring = iota
	// maxProduct: every sum becomes a max (see MAP for the definition per
	// layer kind), and an unobserved variable contributes max_x p_{v,k}(x).
	maxProduct
)

// queryRows is how many rows one upward pass holds at a time: it bounds the
// evaluator's memory (Σ_layers F·K·queryRows float64s) for large queries.
const queryRows = 256

// evaluator is a snapshot of a circuit's effective parameters in float64.
type evaluator struct {
	p   *Plan
	opt Options
	// w, scale, out are each inner layer's effective weights (linear, for
	// the sum-product pass); logW, logScale, logOut their logarithms (for
	// the max-product pass and backtracking). Layouts as on InnerLayer.
	w, scale, out          [][]float64
	logW, logScale, logOut [][]float64
	in                     inputTable
}

// inputTable holds the input distributions in float64, one row per input
// slot s (Plan.Slots: the variable itself unless a variable is in several
// leaves).
type inputTable struct {
	kind InputKind
	K, C int
	// Discrete inputs (categorical, Bernoulli, binomial): logp (S, K, C) is
	// log p_{s,k}(c); cdf (S, K, C) its running sum; mode (S, K) the
	// smallest most probable value and modeLogp (S, K) its log-probability.
	logp, cdf []float64
	mode      []uint8
	modeLogp  []float64
	// Gaussian inputs: mu, sigma, logSigma (S, K).
	mu, sigma, logSigma []float64
}

// halfLog2Pi is ½·log(2π), the Gaussian log-density's constant.
var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

func newEvaluator(c *Circuit) *evaluator {
	e := &evaluator{p: c.plan, opt: c.opts}
	n := len(c.Layers)
	e.w, e.scale, e.out = make([][]float64, n), make([][]float64, n), make([][]float64, n)
	e.logW, e.logScale, e.logOut = make([][]float64, n), make([][]float64, n), make([][]float64, n)
	for i := range c.Layers {
		e.w[i], e.scale[i], e.out[i] = c.EffectiveWeights(i)
		e.logW[i], e.logScale[i], e.logOut[i] = logOf(e.w[i]), logOf(e.scale[i]), logOf(e.out[i])
	}
	e.in = newInputTable(c)
	return e
}

func logOf(w []float64) []float64 {
	if w == nil {
		return nil
	}
	l := make([]float64, len(w))
	for i, v := range w {
		l[i] = math.Log(v)
	}
	return l
}

func newInputTable(c *Circuit) inputTable {
	p, o := c.plan, &c.opts
	t := inputTable{kind: o.Input, K: p.InputUnits, C: o.Values}
	vk := p.NumSlots * p.InputUnits
	if o.Input == Gaussian {
		t.mu = append([]float64(nil), c.Input.Mean.Value()...)
		t.logSigma = append([]float64(nil), c.Input.LogStd.Value()...)
		t.sigma = make([]float64, vk)
		for i, r := range t.logSigma {
			t.sigma[i] = math.Exp(r)
		}
		return t
	}
	t.logp = make([]float64, vk*t.C)
	t.cdf = make([]float64, vk*t.C)
	t.mode = make([]uint8, vk)
	t.modeLogp = make([]float64, vk)
	switch o.Input {
	case Categorical:
		// Log-softmax of the logits (S, K, C) over C, as the kernel's
		// CategoricalSoftmax.
		th := c.Input.Logits.Value()
		for i := range vk {
			row, lp := th[i*t.C:(i+1)*t.C], t.logp[i*t.C:(i+1)*t.C]
			m := math.Inf(-1)
			for _, v := range row {
				m = max(m, v)
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(v - m)
			}
			ls := m + math.Log(s)
			for j, v := range row {
				lp[j] = v - ls
			}
		}
	default: // Bernoulli, binomial: O(1) per entry.
		for v := range p.NumSlots {
			for k := range t.K {
				for x := range t.C {
					t.logp[(v*t.K+k)*t.C+x] = c.InputLogProb(v, k, x)
				}
			}
		}
	}
	for i := range vk {
		lp, cdf := t.logp[i*t.C:(i+1)*t.C], t.cdf[i*t.C:(i+1)*t.C]
		best, s := 0, 0.0
		for j, l := range lp {
			if l > lp[best] {
				best = j
			}
			s += math.Exp(l)
			cdf[j] = s
		}
		t.mode[i], t.modeLogp[i] = uint8(best), lp[best]
	}
	return t
}

// logProb is log p_{s,k}(x) of slot s at an observed entry i of ev.
func (t *inputTable) logProb(s, k int, ev *queryData, i int) float64 {
	if ev.f64 != nil {
		j := s*t.K + k
		z := (ev.f64[i] - t.mu[j]) / t.sigma[j]
		return -0.5*z*z - t.logSigma[j] - halfLog2Pi
	}
	return t.logp[(s*t.K+k)*t.C+int(ev.u8[i])]
}

// maxLogProb is log max_x p_{s,k}(x): the log-probability of the mode for
// discrete inputs, the log-density at the mean for Gaussian ones.
func (t *inputTable) maxLogProb(s, k int) float64 {
	if t.kind == Gaussian {
		return -t.logSigma[s*t.K+k] - halfLog2Pi
	}
	return t.modeLogp[s*t.K+k]
}

// draw writes a sample of p_{s,k} (with rng) or its mode (rng nil) into
// entry i of dst.
func (t *inputTable) draw(s, k int, dst *queryData, i int, rng *rand.Rand) {
	j := s*t.K + k
	if t.kind == Gaussian {
		if rng == nil {
			dst.f64[i] = t.mu[j]
		} else {
			dst.f64[i] = t.mu[j] + t.sigma[j]*rng.NormFloat64()
		}
		return
	}
	if rng == nil {
		dst.u8[i] = t.mode[j]
		return
	}
	// Inverse CDF over c = 0..C-1; cdf sums to 1 up to rounding, so scale u
	// by the stored total.
	cdf := t.cdf[j*t.C : (j+1)*t.C]
	u := rng.Float64() * cdf[t.C-1]
	prev, last := 0.0, 0
	for c, s := range cdf {
		if s > prev { // skip values of probability 0
			last = c
			if u < s {
				break
			}
		}
		prev = s
	}
	dst.u8[i] = uint8(last)
}

// queryData is a query's data: n rows of V variables, as uint8 categories
// (u8) or float64 Gaussian values (f64), and obs, true where a value is
// known (observed, not integrated out or maximized over).
type queryData struct {
	n   int
	u8  []uint8
	f64 []float64
	obs []bool
}

// upPass is one upward pass over rows [lo, lo+B) of an evidence.
type upPass struct {
	sr  semiring
	lo  int
	B   int
	ev  *queryData
	val [][]float64 // val[i]: layer i's log-values (F_i, B, K_i); 0 = input layer
}

// up runs the upward pass over rows [lo, lo+b) of ev in semiring sr.
//
//	input layer:  (F_0, B, InputUnits)
//	inner layer i: (F_i, B, Kout_i)
func (e *evaluator) up(ev *queryData, lo, b int, sr semiring) *upPass {
	ps := &upPass{sr: sr, lo: lo, B: b, ev: ev, val: make([][]float64, len(e.p.Layers)+1)}
	ps.val[0] = e.inputLayer(ev, lo, b, sr)
	for i := range e.p.Layers {
		ps.val[i+1] = e.innerLayer(ps, i)
	}
	return ps
}

// inputLayer: (F_0, B, K) log-values of the leaves. An observed variable v
// (in slot s) contributes log p_{s,k}(x_v); an unobserved one 0
// (sum-product: inputs are normalized) or log max_x p_{s,k}(x)
// (max-product).
func (e *evaluator) inputLayer(ev *queryData, lo, b int, sr semiring) []float64 {
	p, K := e.p, e.p.InputUnits
	out := make([]float64, len(p.Leaves)*b*K)
	for f := range p.Leaves {
		for r := range b {
			row := out[(f*b+r)*K : (f*b+r+1)*K]
			for idx := p.LeafOff[f]; idx < p.LeafOff[f+1]; idx++ {
				s := int(p.Slots[idx])
				i := (lo+r)*p.NumVars + int(p.LeafVars[idx])
				switch {
				case ev.obs[i]:
					for k := range row {
						row[k] += e.in.logProb(s, k, ev, i)
					}
				case sr == maxProduct:
					for k := range row {
						row[k] += e.in.maxLogProb(s, k)
					}
				}
			}
		}
	}
	return out
}

// input returns fold f's a-th input row r of layer i (0-based inner layer):
// (Kin) log-values, and where it lives.
func (ps *upPass) input(l *LayerPlan, f, a, r int) (in []float64, loc Loc) {
	ref := l.Refs[f*l.Arity+a]
	loc = Loc{Layer: l.Sources[ref.Src], Fold: int(ref.Fold)}
	off := (loc.Fold*ps.B + r) * l.Kin
	return ps.val[loc.Layer][off : off+l.Kin], loc
}

// shiftExp writes e_j = exp(in_j − m) with m = max_j in_j and returns m
// (−Inf when every in_j is −Inf; e is then left as zeros).
func shiftExp(in, e []float64) float64 {
	m := math.Inf(-1)
	for _, v := range in {
		m = max(m, v)
	}
	for j, v := range in {
		if math.IsInf(m, -1) {
			e[j] = 0
		} else {
			e[j] = math.Exp(v - m)
		}
	}
	return m
}

// logDot is log Σ_j w_j e_j (sum-product) — −Inf for an all-zero sum.
func logDot(w, e []float64) float64 {
	s := 0.0
	for j, x := range e {
		s += w[j] * x
	}
	return math.Log(s)
}

// maxPlus is max_j (lw_j + in_j).
func maxPlus(lw, in []float64) float64 {
	m := math.Inf(-1)
	for j, x := range in {
		m = max(m, lw[j]+x)
	}
	return m
}

// innerLayer computes inner layer i (0-based) from the values below it:
// (F, B, Kout). Per fold f, row b, unit k (in_a = the a-th input's
// log-values, ⊕ = log-sum-exp or max, ⊗ = +):
//
//	CP, CP-XS, CP-S  log scale_{f,k} ⊗ ⊗_a ⊕_j (log W[wf,a,k,j] ⊗ in_a,j)
//	CP-R             ⊕_r (log O[f,k,r] ⊗ z_r),  z_r = ⊗_a ⊕_j (log U[f,a,r,j] ⊗ in_a,j)
//	Tucker           ⊕_{i,j} (log W[f,k,i·Kin+j] ⊗ in_1,i ⊗ in_2,j)
//	mixing           ⊕_h (log w[f,h,k] ⊗ in_h,k)
//
// The sum-product forms run in linear space with a max shift per input row:
// ⊕_j (log W_kj + in_j) = m + log Σ_j W_kj e^{in_j − m}.
func (e *evaluator) innerLayer(ps *upPass, i int) []float64 {
	l := &e.p.Layers[i]
	F, B, A, Kin, Kout := l.F(), ps.B, l.Arity, l.Kin, l.Kout
	out := make([]float64, F*B*Kout)
	ex := make([]float64, Kin)
	sum := ps.sr == sumProduct
	switch {
	case l.Kind == Mixing:
		// w (F, H, K), H = A.
		w, lw := e.w[i], e.logW[i]
		for f := range F {
			for r := range B {
				o := out[(f*B+r)*Kout : (f*B+r+1)*Kout]
				for k := range o {
					o[k] = math.Inf(-1)
				}
				if sum {
					// m_k = max_h in_h,k, then m_k + log Σ_h w e^{in − m_k}.
					for a := range A {
						in, _ := ps.input(l, f, a, r)
						for k, v := range in {
							o[k] = max(o[k], v)
						}
					}
					s := make([]float64, Kout)
					for a := range A {
						in, _ := ps.input(l, f, a, r)
						for k, v := range in {
							if !math.IsInf(o[k], -1) {
								s[k] += w[(f*A+a)*Kout+k] * math.Exp(v-o[k])
							}
						}
					}
					for k := range o {
						if !math.IsInf(o[k], -1) {
							o[k] += math.Log(s[k])
						}
					}
				} else {
					for a := range A {
						in, _ := ps.input(l, f, a, r)
						for k, v := range in {
							o[k] = max(o[k], lw[(f*A+a)*Kout+k]+v)
						}
					}
				}
			}
		}
	case e.opt.Layer == CPR:
		// U (F, A, R, Kin), O (F, Kout, R).
		R := e.opt.Rank
		u, lu, ow, lo := e.w[i], e.logW[i], e.out[i], e.logOut[i]
		z, ez := make([]float64, R), make([]float64, R)
		for f := range F {
			for r := range B {
				clear(z)
				for a := range A {
					in, _ := ps.input(l, f, a, r)
					if sum {
						m := shiftExp(in, ex)
						for q := range R {
							z[q] += m + logDot(u[((f*A+a)*R+q)*Kin:][:Kin], ex)
						}
					} else {
						for q := range R {
							z[q] += maxPlus(lu[((f*A+a)*R+q)*Kin:][:Kin], in)
						}
					}
				}
				o := out[(f*B+r)*Kout : (f*B+r+1)*Kout]
				if sum {
					m := shiftExp(z, ez)
					for k := range o {
						o[k] = m + logDot(ow[(f*Kout+k)*R:][:R], ez)
					}
				} else {
					for k := range o {
						o[k] = maxPlus(lo[(f*Kout+k)*R:][:R], z)
					}
				}
			}
		}
	case e.opt.Layer == Tucker:
		// W (F, Kout, Kin²), binary partitions.
		w, lw := e.w[i], e.logW[i]
		ex2 := make([]float64, Kin)
		kron := make([]float64, Kin*Kin)
		for f := range F {
			for r := range B {
				in1, _ := ps.input(l, f, 0, r)
				in2, _ := ps.input(l, f, 1, r)
				o := out[(f*B+r)*Kout : (f*B+r+1)*Kout]
				if sum {
					m := shiftExp(in1, ex) + shiftExp(in2, ex2)
					for a, x := range ex {
						for b, y := range ex2 {
							kron[a*Kin+b] = x * y
						}
					}
					for k := range o {
						o[k] = m + logDot(w[(f*Kout+k)*Kin*Kin:][:Kin*Kin], kron)
					}
				} else {
					for a, x := range in1 {
						for b, y := range in2 {
							kron[a*Kin+b] = x + y
						}
					}
					for k := range o {
						o[k] = maxPlus(lw[(f*Kout+k)*Kin*Kin:][:Kin*Kin], kron)
					}
				}
			}
		}
	default: // CP, CP-XS, CP-S: W (F or 1, A, Kout, Kin), scale (F, Kout).
		w, lw, ls := e.w[i], e.logW[i], e.logScale[i]
		for f := range F {
			wf := f
			if e.opt.Layer != CP {
				wf = 0
			}
			for r := range B {
				o := out[(f*B+r)*Kout : (f*B+r+1)*Kout]
				if ls != nil {
					copy(o, ls[f*Kout:(f+1)*Kout])
				}
				for a := range A {
					in, _ := ps.input(l, f, a, r)
					blk := ((wf*A + a) * Kout) * Kin
					if sum {
						m := shiftExp(in, ex)
						for k := range o {
							o[k] += m + logDot(w[blk+k*Kin:][:Kin], ex)
						}
					} else {
						for k := range o {
							o[k] += maxPlus(lw[blk+k*Kin:][:Kin], in)
						}
					}
				}
			}
		}
	}
	return out
}

// root returns the log-value of root unit c in row r of the pass.
func (ps *upPass) root(p *Plan, r, c int) float64 {
	loc := p.RegionLoc[p.Root]
	return ps.val[loc.Layer][(loc.Fold*ps.B+r)*p.Classes+c]
}

// logZ returns log Z per root unit: the sum-product value with every
// variable integrated out.
func (e *evaluator) logZ() []float64 {
	ev := &queryData{n: 1, obs: make([]bool, e.p.NumVars)}
	if e.opt.Input == Gaussian {
		ev.f64 = make([]float64, e.p.NumVars)
	} else {
		ev.u8 = make([]uint8, e.p.NumVars)
	}
	ps := e.up(ev, 0, 1, sumProduct)
	z := make([]float64, e.p.Classes)
	for c := range z {
		z[c] = ps.root(e.p, 0, c)
	}
	return z
}

// chooser picks one term of a sum during the downward pass: with rng, at
// random with probability ∝ exp(t_i) (sampling); without, the first
// largest (MAP).
type chooser struct {
	rng *rand.Rand
	buf []float64
}

// pick returns the chosen index of the log-terms t (at least one finite).
// It overwrites t.
func (ch *chooser) pick(t []float64) int {
	best := 0
	for i, v := range t {
		if v > t[best] {
			best = i
		}
	}
	if ch.rng == nil {
		return best
	}
	m := t[best]
	if math.IsInf(m, -1) {
		return best // unreachable from a unit of nonzero value
	}
	total := 0.0
	for i, v := range t {
		t[i] = math.Exp(v - m)
		total += t[i]
	}
	u := ch.rng.Float64() * total
	cum, last := 0.0, best
	for i, p := range t {
		if p == 0 {
			continue
		}
		cum += p
		last = i
		if u < cum {
			return i
		}
	}
	return last // u fell past the rounded total
}

func (ch *chooser) terms(n int) []float64 {
	if cap(ch.buf) < n {
		ch.buf = make([]float64, n)
	}
	return ch.buf[:n]
}

// node is a unit met on the way down: unit Unit of fold Fold of layer Layer.
type node struct{ Layer, Fold, Unit int }

// down walks one induced tree from root unit 0 for pass row r, choosing
// every sum's term with ch (values from ps, which must be a sum-product pass
// for sampling and a max-product pass for MAP), and writes the unobserved
// variables of dst's row dr: a sample of p_{v,k} at each reached input unit
// k (or its mode when ch has no rng). Observed entries (ps.ev.obs of row
// ps.lo+r) are left alone.
func (e *evaluator) down(ps *upPass, r int, ch *chooser, dst *queryData, dr int) {
	p := e.p
	root := p.RegionLoc[p.Root]
	stack := []node{{root.Layer, root.Fold, 0}}
	obs := ps.ev.obs[(ps.lo+r)*p.NumVars : (ps.lo+r+1)*p.NumVars]
	for len(stack) > 0 {
		nd := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if nd.Layer == 0 {
			for idx := p.LeafOff[nd.Fold]; idx < p.LeafOff[nd.Fold+1]; idx++ {
				if v := int(p.LeafVars[idx]); !obs[v] {
					e.in.draw(int(p.Slots[idx]), nd.Unit, dst, dr*p.NumVars+v, ch.rng)
				}
			}
			continue
		}
		i := nd.Layer - 1
		l := &p.Layers[i]
		f, k, A, Kin := nd.Fold, nd.Unit, l.Arity, l.Kin
		switch {
		case l.Kind == Mixing:
			// t_h = log w[f,h,k] + in_h,k.
			t := ch.terms(A)
			locs := make([]Loc, A)
			for a := range A {
				in, loc := ps.input(l, f, a, r)
				t[a], locs[a] = e.logW[i][(f*A+a)*l.Kout+k]+in[k], loc
			}
			h := ch.pick(t)
			stack = append(stack, node{locs[h].Layer, locs[h].Fold, k})
		case e.opt.Layer == CPR:
			// t_q = log O[f,k,q] + z_q, z_q = Σ_a ⊕_j (log U[f,a,q,j] + in_a,j);
			// then per input a: t_j = log U[f,a,q,j] + in_a,j.
			R := e.opt.Rank
			lu := e.logW[i]
			z := make([]float64, R)
			for a := range A {
				in, _ := ps.input(l, f, a, r)
				for q := range R {
					lw := lu[((f*A+a)*R+q)*Kin:][:Kin]
					if ps.sr == sumProduct {
						z[q] += logSumExpPlus(lw, in)
					} else {
						z[q] += maxPlus(lw, in)
					}
				}
			}
			for q := range R {
				z[q] += e.logOut[i][(f*l.Kout+k)*R+q]
			}
			q := ch.pick(z)
			for a := range A {
				in, loc := ps.input(l, f, a, r)
				t := ch.terms(Kin)
				for j := range t {
					t[j] = lu[((f*A+a)*R+q)*Kin+j] + in[j]
				}
				stack = append(stack, node{loc.Layer, loc.Fold, ch.pick(t)})
			}
		case e.opt.Layer == Tucker:
			// t_{i,j} = log W[f,k,i·Kin+j] + in_1,i + in_2,j.
			in1, loc1 := ps.input(l, f, 0, r)
			in2, loc2 := ps.input(l, f, 1, r)
			lw := e.logW[i][(f*l.Kout+k)*Kin*Kin:][:Kin*Kin]
			t := ch.terms(Kin * Kin)
			for a := range Kin {
				for b := range Kin {
					t[a*Kin+b] = lw[a*Kin+b] + in1[a] + in2[b]
				}
			}
			ij := ch.pick(t)
			stack = append(stack, node{loc1.Layer, loc1.Fold, ij / Kin}, node{loc2.Layer, loc2.Fold, ij % Kin})
		default:
			// CP, CP-XS, CP-S: per input a, t_j = log W[wf,a,k,j] + in_a,j
			// (the scale is common to all terms).
			wf := f
			if e.opt.Layer != CP {
				wf = 0
			}
			for a := range A {
				in, loc := ps.input(l, f, a, r)
				lw := e.logW[i][((wf*A+a)*l.Kout+k)*Kin:][:Kin]
				t := ch.terms(Kin)
				for j := range t {
					t[j] = lw[j] + in[j]
				}
				stack = append(stack, node{loc.Layer, loc.Fold, ch.pick(t)})
			}
		}
	}
}

// logSumExpPlus is log Σ_j exp(lw_j + in_j).
func logSumExpPlus(lw, in []float64) float64 {
	m := maxPlus(lw, in)
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for j, x := range in {
		s += math.Exp(lw[j] + x - m)
	}
	return m + math.Log(s)
}

// newEvidence validates a query's data and masks and wraps them: x is
// []uint8 (discrete inputs) or []float64 (Gaussian inputs) with n·V entries;
// obs (n·V) says which entries are observed. Only observed entries are
// checked (categories in range, Gaussian values finite); the others may hold
// anything.
func (c *Circuit) newEvidence(x any, obs []bool, what string) (*queryData, error) {
	V := c.plan.NumVars
	ev := &queryData{obs: obs}
	var n int
	switch xs := x.(type) {
	case []uint8:
		if c.opts.Input == Gaussian {
			return nil, c.dataKindError(what)
		}
		ev.u8, n = xs, len(xs)
	case []float64:
		if c.opts.Input != Gaussian {
			return nil, c.dataKindError(what)
		}
		ev.f64, n = xs, len(xs)
	default:
		return nil, fmt.Errorf("circuit: %s: unsupported data type %T", what, x)
	}
	if n%V != 0 {
		return nil, fmt.Errorf("circuit: %s: x has %d entries, not a multiple of %d variables", what, n, V)
	}
	ev.n = n / V
	if len(obs) != n {
		return nil, fmt.Errorf("circuit: %s: mask has %d entries, want %d (the shape of x)", what, len(obs), n)
	}
	for i, o := range obs {
		if !o {
			continue
		}
		if ev.u8 != nil && int(ev.u8[i]) >= c.opts.Values {
			return nil, fmt.Errorf("circuit: %s: %w", what, &kernel.InputDataError{Sample: i / V, Variable: i % V,
				Value: float64(ev.u8[i]), Reason: fmt.Sprintf("outside 0..%d", c.opts.Values-1)})
		}
		if ev.f64 != nil && (math.IsNaN(ev.f64[i]) || math.IsInf(ev.f64[i], 0)) {
			return nil, fmt.Errorf("circuit: %s: %w", what, &kernel.InputDataError{Sample: i / V, Variable: i % V,
				Value: ev.f64[i], Reason: "not finite"})
		}
	}
	return ev, nil
}
