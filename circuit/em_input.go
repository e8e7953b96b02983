package circuit

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/nn"
)

// emInput is EM's side of the input layer: the expected sufficient
// statistics of every input unit (one per slot s and unit k), pooled until
// the M-step. With mixed inputs it holds one emInput per group of the
// input layer (groups) and nothing else.
type emInput struct {
	groups []*emInput

	in      *InputLayer
	kind    InputKind
	s, k, c int
	// slots are a group's slots (nil: every slot).
	slots []int
	// cat holds the categorical counts, as the logits' rows (S·K units over
	// C values).
	cat *emRows
	// flows says how the counts of the weights above the inputs add up to
	// each input unit's flow (Bernoulli, binomial, Gaussian).
	flows []emFlow
	// r, s1, s2 (S, K) pool the flow R, and Σ r·x (Bernoulli, binomial) or
	// Σ r·(x − μ) and Σ r·(x − μ)² (Gaussian, μ the mean before the M-step).
	r, s1, s2 []float64
}

// emFlow reads the flow into input units from one weight above them: fold
// f's input a reads leaf fold leaf[f·A + a] (−1: not a leaf), and its
// unit j receives the counts of the weights at (f, a, ·, j) (CP, CP-R) or,
// for Tucker (A = 2), of W[f, ·, i·Kin + j] summed over the other input's
// unit.
type emFlow struct {
	p      *nn.Param
	tucker bool
	f, a   int
	rows   int // output (CP) or rank (CP-R) units per input; Kout for Tucker
	kin    int
	leaf   []int
}

func newEMInput(c *Circuit) *emInput {
	if c.Input.Groups != nil {
		e := &emInput{}
		for _, g := range c.Input.Groups {
			e.groups = append(e.groups, newEMFamily(c, g))
		}
		return e
	}
	return newEMFamily(c, c.Input)
}

// newEMFamily is the emInput of the single-family layer in (the circuit's
// input layer, or a group of it).
func newEMFamily(c *Circuit, in *InputLayer) *emInput {
	p := c.plan
	e := &emInput{in: in, kind: in.kind, s: len(in.slotList()), k: p.InputUnits, c: in.c, slots: in.slots}
	if e.kind == Categorical {
		// Logits (S, K, C) hold log-probabilities: their gradient is the
		// expected count of each value.
		e.cat = &emRows{p: in.Logits, outer: e.s * e.k, n: e.c, inner: 1, logSpace: true, acc: make([]float64, in.Logits.Len())}
		e.cat.normalize()
		return e
	}
	e.r, e.s1, e.s2 = make([]float64, e.s*e.k), make([]float64, e.s*e.k), make([]float64, e.s*e.k)
	for li, l := range c.Layers {
		lp := &p.Layers[li]
		fl := emFlow{f: lp.F(), a: lp.Arity, kin: lp.Kin, leaf: make([]int, len(lp.Refs))}
		reads := false
		for i, ref := range lp.Refs {
			fl.leaf[i] = -1
			if lp.Sources[ref.Src] == 0 {
				fl.leaf[i], reads = int(ref.Fold), true
			}
		}
		if !reads {
			continue
		}
		switch l := l.(type) {
		case *CPLayer:
			fl.p, fl.rows = l.Weight, lp.Kout
		case *CPRLayer:
			fl.p, fl.rows = l.Weight, l.spec.Rank
		case *TuckerLayer:
			fl.p, fl.rows, fl.tucker = l.Weight, lp.Kout, true
		default:
			// emSupported admits only the built-in layers, and mixing
			// layers read partitions, never leaves.
			panic(fmt.Sprintf("circuit: EM: layer %d (%T) reads the inputs", li, l))
		}
		e.flows = append(e.flows, fl)
	}
	return e
}

// readsCounts reports whether the flows read the batch counts of p.
func (e *emInput) readsCounts(p *nn.Param) bool {
	for _, g := range e.groups {
		if g.readsCounts(p) {
			return true
		}
	}
	for _, fl := range e.flows {
		if fl.p == p {
			return true
		}
	}
	return false
}

// flow is the flow into every input unit (S, K) from the weights' counts
// of one batch (their last).
func (e *emInput) flow(weights []emRows) []float64 {
	counts := map[*nn.Param][]float64{}
	for _, r := range weights {
		if r.last != nil {
			counts[r.p] = r.last
		}
	}
	p := e.in.plan
	leaves := make([]float64, len(p.Leaves)*e.k) // (leaf folds, K)
	for _, fl := range e.flows {
		n := counts[fl.p]
		for f := range fl.f {
			for a := range fl.a {
				lf := fl.leaf[f*fl.a+a]
				if lf < 0 {
					continue
				}
				dst := leaves[lf*e.k : (lf+1)*e.k]
				if fl.tucker {
					kk := fl.kin * fl.kin
					for o := range fl.rows {
						w := n[(f*fl.rows+o)*kk : (f*fl.rows+o+1)*kk]
						for i := range fl.kin {
							for j := range fl.kin {
								if a == 0 {
									dst[i] += w[i*fl.kin+j]
								} else {
									dst[j] += w[i*fl.kin+j]
								}
							}
						}
					}
					continue
				}
				base := (f*fl.a + a) * fl.rows * fl.kin
				for o := range fl.rows {
					for j, x := range n[base+o*fl.kin : base+(o+1)*fl.kin] {
						dst[j] += x
					}
				}
			}
		}
	}
	out := make([]float64, p.NumSlots*e.k)
	for lf := range p.Leaves {
		for i := p.LeafOff[lf]; i < p.LeafOff[lf+1]; i++ {
			copy(out[int(p.Slots[i])*e.k:(int(p.Slots[i])+1)*e.k], leaves[lf*e.k:(lf+1)*e.k])
		}
	}
	if e.slots == nil {
		return out
	}
	// A group's rows: its own slots'.
	rows := make([]float64, e.s*e.k)
	for r, s := range e.slots {
		copy(rows[r*e.k:(r+1)*e.k], out[s*e.k:(s+1)*e.k])
	}
	return rows
}

// accumulate adds one batch of n samples to the pooled statistics, the
// weights holding the batch's counts.
func (e *emInput) accumulate(weights []emRows, n float64) {
	for _, g := range e.groups {
		g.accumulate(weights, n)
	}
	if e.groups != nil {
		return
	}
	if e.kind == Categorical {
		e.cat.addCounts(n)
		return
	}
	r := e.flow(weights)
	switch e.kind {
	case Bernoulli, Binomial:
		// ∂ log p(x)/∂q = x − N·σ(q), so Σ r·x = n·(−∂loss/∂q) + N·p·R.
		trials := float64(max(e.c-1, 1))
		q, g := e.in.Logits.Value(), gradOf(e.in.Logits)
		for i := range r {
			e.r[i] += r[i]
			e.s1[i] += -g[i]*n + trials*sigmoid(q[i])*r[i]
		}
	case Gaussian:
		// ∂ log N/∂μ = (x − μ)/σ² and ∂ log N/∂ log σ = (x − μ)²/σ² − 1.
		rho := e.in.LogStd.Value()
		gm, gr := gradOf(e.in.Mean), gradOf(e.in.LogStd)
		for i := range r {
			v := math.Exp(2 * rho[i])
			e.r[i] += r[i]
			e.s1[i] += v * (-gm[i] * n)
			e.s2[i] += max(v*(-gr[i]*n+r[i]), 0)
		}
	}
}

// update moves every input unit towards its smoothed estimate by eta and
// clears the pool.
func (e *emInput) update(eta, alpha, minStd float64) {
	for _, g := range e.groups {
		g.update(eta, alpha, minStd)
	}
	if e.groups != nil {
		return
	}
	switch e.kind {
	case Categorical:
		e.cat.update(eta, alpha)
		return
	case Bernoulli, Binomial:
		trials := float64(max(e.c-1, 1))
		q := e.in.Logits.Value()
		for i := range q {
			den := trials*e.r[i] + 2*alpha
			if !(den > 0) {
				continue
			}
			p := (1-eta)*sigmoid(q[i]) + eta*(e.s1[i]+alpha)/den
			q[i] = max(-emMaxLogit, min(emMaxLogit, math.Log(p)-math.Log1p(-p)))
		}
		e.in.Logits.SetValue(q)
	case Gaussian:
		mu, rho := e.in.Mean.Value(), e.in.LogStd.Value()
		for i := range mu {
			den := e.r[i] + alpha
			if !(den > 0) {
				continue
			}
			m, v := mu[i], math.Exp(2*rho[i])
			mNew := (e.s1[i] + m*e.r[i]) / den
			d := mNew - m
			dev := max(e.s2[i]-2*d*e.s1[i]+e.r[i]*d*d, 0) // Σ r·(x − mNew)²
			vNew := (dev + alpha*(1+mNew*mNew)) / den
			m1 := (1-eta)*m + eta*mNew
			m2 := (1-eta)*(v+m*m) + eta*(vNew+mNew*mNew)
			mu[i] = m1
			rho[i] = 0.5 * math.Log(max(m2-m1*m1, minStd*minStd))
		}
		e.in.Mean.SetValue(mu)
		e.in.LogStd.SetValue(rho)
	}
	clear(e.r)
	clear(e.s1)
	clear(e.s2)
}

// params are the input parameters EM updates.
func (e *emInput) params() []*nn.Param {
	if e.groups != nil {
		var ps []*nn.Param
		for _, g := range e.groups {
			ps = append(ps, g.params()...)
		}
		return ps
	}
	if e.kind == Gaussian {
		return []*nn.Param{e.in.Mean, e.in.LogStd}
	}
	return []*nn.Param{e.in.Logits}
}

// pool lists the accumulators.
func (e *emInput) pool() [][]float64 {
	if e.groups != nil {
		var acc [][]float64
		for _, g := range e.groups {
			acc = append(acc, g.pool()...)
		}
		return acc
	}
	if e.cat != nil {
		return [][]float64{e.cat.acc}
	}
	return [][]float64{e.r, e.s1, e.s2}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
