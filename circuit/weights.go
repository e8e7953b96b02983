package circuit

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/internal/vec"
)

// Effective parameters in float64, after reparameterization: what the layers
// actually multiply by. The layers' descent rules (sampling, MAP) and the
// input tables of the downward pass read the circuit through these.

// EffectiveWeights returns the weights of built-in layer i (0-based
// index into Layers) after reparameterization, in float64, in the layouts
// of its module: w for Weight (CPLayer, CPRLayer's U, TuckerLayer,
// MixingLayer), scale for CPLayer's Scale (CP-S; else nil), out for
// CPRLayer's Out (else nil). A registered layer's weights are its own
// business: all three are nil.
func (c *Circuit) EffectiveWeights(i int) (w, scale, out []float64) {
	switch l := c.Layers[i].(type) {
	case *MixingLayer:
		return l.effective(), nil, nil
	case *CPLayer:
		w = l.spec.EffectiveWeights(l.Weight)
		if l.Scale != nil {
			scale = reparam(l.Scale.Value(), l.scaleKind(), l.Scale.Len(), 1, 1)
		}
		return w, scale, nil
	case *CPRLayer:
		return l.spec.EffectiveWeights(l.Weight), nil, l.spec.EffectiveWeights(l.Out)
	case *TuckerLayer:
		return l.spec.EffectiveWeights(l.Weight), nil, nil
	}
	return nil, nil, nil
}

// reparam applies a parameterization to θ seen as (outer, n, inner), in
// float64.
func reparam(th []float64, kind Param, outer, n, inner int) []float64 {
	w := make([]float64, len(th))
	reparamInto(w, th, kind, outer, n, inner)
	return w
}

// reparamInto writes the weights of θ seen as (outer, n, inner) into w:
// θ itself (clamp, real), exp θ (exp), or the softmax of θ along n (softmax),
// computed in float64. The compiled programs' reparamOp and EffectiveWeights
// both use it, so they agree to the last bit.
func reparamInto[T kernel.Float](w, th []T, kind Param, outer, n, inner int) {
	switch kind {
	case Clamp, Real:
		vec.Chunks(len(th), func(_, lo, hi int) { copy(w[lo:hi], th[lo:hi]) })
	case Exp:
		for i, v := range th {
			w[i] = T(math.Exp(float64(v)))
		}
	case Softmax:
		for a := range outer {
			for c := range inner {
				base := a*n*inner + c
				m := math.Inf(-1)
				for j := range n {
					m = max(m, float64(th[base+j*inner]))
				}
				s := 0.0
				for j := range n {
					s += math.Exp(float64(th[base+j*inner]) - m)
				}
				ls := m + math.Log(s)
				for j := range n {
					w[base+j*inner] = T(math.Exp(float64(th[base+j*inner]) - ls))
				}
			}
		}
	}
}

// InputLogProb returns log p(x) of input unit k in input slot v at a
// discrete value x (categorical, Bernoulli, binomial inputs). The slot of
// the variable LeafVars[i] is Plan.Slots[i]; it is the variable itself
// unless a variable is in several leaves.
func (c *Circuit) InputLogProb(v, k, x int) float64 {
	in, v := c.Input.slotLayer(v)
	K := c.plan.InputUnits
	switch in.kind {
	case Categorical:
		th := in.Logits.Value()[(v*K+k)*in.c:][:in.c]
		m := math.Inf(-1)
		for _, t := range th {
			m = max(m, t)
		}
		s := 0.0
		for _, t := range th {
			s += math.Exp(t - m)
		}
		return th[x] - m - math.Log(s)
	case Bernoulli, Binomial:
		n := in.c - 1
		q := in.Logits.Value()[v*K+k]
		lg := func(a int) float64 { r, _ := math.Lgamma(float64(a + 1)); return r }
		// log σ(q) = −softplus(−q), log σ(−q) = −softplus(q).
		lp, lq := -softplus(-q), -softplus(q)
		return lg(n) - lg(x) - lg(n-x) + float64(x)*lp + float64(n-x)*lq
	}
	if in.kind == Embedding {
		panic("circuit: InputLogProb on embedding inputs, which hold values of either sign, not probabilities")
	}
	panic("circuit: InputLogProb on Gaussian inputs; use InputLogDensity")
}

// InputLogDensity returns log N(x; μ_{v,k}, σ_{v,k}) for Gaussian inputs, v
// being an input slot as for InputLogProb.
func (c *Circuit) InputLogDensity(v, k int, x float64) float64 {
	in, v := c.Input.slotLayer(v)
	if in.kind != Gaussian {
		panic(fmt.Sprintf("circuit: InputLogDensity on a %v input; use InputLogProb", in.kind))
	}
	i := v*c.plan.InputUnits + k
	mu, rho := in.Mean.Value()[i], in.LogStd.Value()[i]
	z := (x - mu) / math.Exp(rho)
	return -0.5*z*z - rho - 0.5*math.Log(2*math.Pi)
}

// softplus is log(1 + e^t), stable for any t.
func softplus(t float64) float64 { return max(t, 0) + math.Log1p(math.Exp(-math.Abs(t))) }
