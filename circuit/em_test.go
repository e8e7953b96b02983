package circuit

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// emData draws n samples of d variables for an input family: skewed
// categories in [0, 3) (binary for Bernoulli), or Gaussian values around
// per-variable means.
func emData(in InputKind, n, d int, seed uint64) any {
	rng := rand.New(rand.NewPCG(seed, 5))
	if in == Gaussian {
		x := make([]float64, n*d)
		for i := range x {
			x[i] = float64(i%d)/2 - 1 + rng.NormFloat64()*(0.5+float64(i%3)/4)
			if rng.IntN(3) == 0 {
				x[i] += 1.5 // a second mode
			}
		}
		return x
	}
	vals := 3
	if in == Bernoulli {
		vals = 2
	}
	x := make([]uint8, n*d)
	for i := range x {
		x[i] = uint8(min(rng.IntN(vals+1), vals-1))
	}
	return x
}

func emOptions(in InputKind, layer Layer, param Param, engine Engine) Options {
	o := Options{Layer: layer, Units: 3, Rank: 2, Input: in, Param: param, LearnMixing: true, DType: nn.Float64, Seed: 9, Engine: engine}
	if in == Categorical || in == Binomial {
		o.Values = 3
	}
	if in == Bernoulli {
		o.Values = 2
	}
	return o
}

// Full-batch EM (η = 1, α = 0) never decreases the log-likelihood and keeps
// the circuit normalized: every input family, every layer EM supports,
// clamp and exp weights, both engines, learnable mixing.
func TestEMMonotone(t *testing.T) {
	graphs := smallGraphs(t)
	for _, in := range []InputKind{Categorical, Bernoulli, Binomial, Gaussian} {
		for _, name := range []string{"qg", "qt4", "cl", "custom"} {
			rg := graphs[name]
			const n = 40
			x := emData(in, n, rg.NumVars, 7)
			for _, layer := range []Layer{CP, CPXS, CPR, Tucker} {
				if layer == CPXS && in != Categorical {
					continue
				}
				for _, param := range []Param{Clamp, Exp} {
					for _, engine := range []Engine{Fused, Graph} {
						c, err := Build(rg, emOptions(in, layer, param, engine))
						require.NoError(t, err)
						em, err := NewEM(c, EMConfig{StepSize: 1})
						require.NoError(t, err)
						prog, err := c.CompileEM(n)
						require.NoError(t, err)
						eval, err := c.Compile(16, false)
						require.NoError(t, err)
						prev := math.Inf(1)
						for step := range 6 {
							z, err := eval.LogPartition()
							require.NoError(t, err)
							require.InDelta(t, 0, z[0], 1e-9, "%v %s %v %v %v step %d: log Z", in, name, layer, param, engine, step)
							nll, err := prog.Step(x)
							require.NoError(t, err)
							assert.LessOrEqual(t, nll, prev+1e-9, "%v %s %v %v %v step %d: NLL rose", in, name, layer, param, engine, step)
							prev = nll
							em.SetBatch(n)
							em.Step()
						}
					}
				}
			}
		}
	}
}

// pairGraph is the region graph of two variables, each its own leaf, under
// one partition.
func pairGraph() *regiongraph.Graph {
	return &regiongraph.Graph{NumVars: 2,
		Regions:    []regiongraph.Region{{Scope: []int{0, 1}, Partitions: []int{0}}, {Scope: []int{0}}, {Scope: []int{1}}},
		Partitions: []regiongraph.Partition{{Output: 0, Inputs: []int{1, 2}}},
		Roots:      []int{0},
	}
}

// With one unit per region the circuit is p(x0)·p(x1), every input unit
// explains every sample, and one full-batch EM step sets each input to its
// smoothed maximum-likelihood estimate, in closed form.
func TestEMInputClosedForm(t *testing.T) {
	const n, alpha = 8, 0.5
	for _, in := range []InputKind{Categorical, Bernoulli, Binomial, Gaussian} {
		for _, a := range []float64{0, alpha} {
			o := emOptions(in, CP, Clamp, Fused)
			o.Units = 1
			c, err := Build(pairGraph(), o)
			require.NoError(t, err)
			em, err := NewEM(c, EMConfig{StepSize: 1, PseudoCount: a})
			require.NoError(t, err)
			prog, err := c.CompileEM(n)
			require.NoError(t, err)
			x := emData(in, n, 2, 3)
			_, err = prog.Step(x)
			require.NoError(t, err)
			em.SetBatch(n)
			em.Step()
			for v := range 2 {
				col := func(i int) float64 {
					if xf, ok := x.([]float64); ok {
						return xf[i*2+v]
					}
					return float64(x.([]uint8)[i*2+v])
				}
				switch in {
				case Categorical:
					lp := c.Input.Logits.Value()[v*3 : v*3+3]
					for val := range 3 {
						cnt := 0.0
						for i := range n {
							if col(i) == float64(val) {
								cnt++
							}
						}
						assert.InDelta(t, (cnt+a)/(n+3*a), math.Exp(lp[val]), 1e-9, "%v α=%v var %d value %d", in, a, v, val)
					}
				case Bernoulli, Binomial:
					trials := float64(o.Values - 1)
					sum := 0.0
					for i := range n {
						sum += col(i)
					}
					want := (sum + a) / (trials*n + 2*a)
					assert.InDelta(t, want, sigmoid(c.Input.Logits.Value()[v]), 1e-9, "%v α=%v var %d", in, a, v)
				case Gaussian:
					sum := 0.0
					for i := range n {
						sum += col(i)
					}
					mu := sum / (n + a)
					dev := 0.0
					for i := range n {
						dev += (col(i) - mu) * (col(i) - mu)
					}
					variance := (dev + a*(1+mu*mu)) / (n + a)
					assert.InDelta(t, mu, c.Input.Mean.Value()[v], 1e-9, "%v α=%v var %d mean", in, a, v)
					assert.InDelta(t, 0.5*math.Log(variance), c.Input.LogStd.Value()[v], 1e-9, "%v α=%v var %d log std", in, a, v)
				}
			}
		}
	}
}

// The root's weights carry every sample: after one full-batch step their
// smoothed values are (w₀·n + α) / (n + J·α), w₀ being the unsmoothed
// step's; a pseudo-count far above n makes every unit uniform.
func TestEMSmoothing(t *testing.T) {
	rg := smallGraphs(t)["qt4"]
	const n = 30
	x := emData(Categorical, n, rg.NumVars, 11)
	step := func(alpha float64) *Circuit {
		c, err := Build(rg, emOptions(Categorical, CP, Clamp, Fused))
		require.NoError(t, err)
		em, err := NewEM(c, EMConfig{StepSize: 1, PseudoCount: alpha})
		require.NoError(t, err)
		prog, err := c.CompileEM(n)
		require.NoError(t, err)
		_, err = prog.Step(x)
		require.NoError(t, err)
		em.SetBatch(n)
		em.Step()
		return c
	}
	last := len(step(0).Layers) - 1
	w0, _, _ := step(0).EffectiveWeights(last)
	const alpha = 2.0
	wa, _, _ := step(alpha).EffectiveWeights(last)
	j := step(0).Plan().Layers[last].Kin
	require.Equal(t, 1, step(0).Plan().Layers[last].Kout, "the root layer")
	for i := range w0 {
		assert.InDelta(t, (w0[i]*n+alpha)/(n+float64(j)*alpha), wa[i], 1e-9, "root weight %d", i)
	}
	flat := step(1e12)
	for i := range flat.Layers {
		w, _, _ := flat.EffectiveWeights(i)
		k := flat.Plan().Layers[i].Kin
		if flat.Plan().Layers[i].Kind == Mixing {
			k = flat.Plan().Layers[i].Arity
		}
		for _, v := range w {
			assert.InDelta(t, 1/float64(k), v, 1e-6, "layer %d", i)
		}
	}
	for _, lp := range flat.Input.Logits.Value() {
		assert.InDelta(t, math.Log(1.0/3), lp, 1e-6)
	}
}

// Pooling two batches of 3 and 5 samples (each told by SetBatch) is the
// same M-step as one batch of all 8, for every input family.
func TestEMPooledBatches(t *testing.T) {
	rg := smallGraphs(t)["cl"]
	d := rg.NumVars
	for _, in := range []InputKind{Categorical, Bernoulli, Gaussian} {
		x := emData(in, 8, d, 13)
		part := func(lo, hi int) any {
			if xf, ok := x.([]float64); ok {
				return xf[lo*d : hi*d]
			}
			return x.([]uint8)[lo*d : hi*d]
		}
		run := func(batches [][2]int) *Circuit {
			c, err := Build(rg, emOptions(in, CPR, Exp, Graph))
			require.NoError(t, err)
			em, err := NewEM(c, EMConfig{StepSize: 0.7, Batches: len(batches), PseudoCount: 0.3})
			require.NoError(t, err)
			prog, err := c.CompileEM(8)
			require.NoError(t, err)
			for _, b := range batches {
				_, err := prog.Step(part(b[0], b[1]))
				require.NoError(t, err)
				em.SetBatch(b[1] - b[0])
				em.Step()
			}
			assert.Equal(t, 1, em.Steps())
			return c
		}
		one, two := run([][2]int{{0, 8}}), run([][2]int{{0, 3}, {3, 8}})
		for i, p := range nn.Params(one) {
			q := nn.Params(two)[i]
			for j, v := range p.Value() {
				require.InDelta(t, v, q.Value()[j], 1e-9, "%v %s[%d]", in, p.Name(), j)
			}
		}
	}
}

// A checkpoint taken between pooled batches resumes to the same M-step.
func TestEMStateRoundTrip(t *testing.T) {
	rg := smallGraphs(t)["qt2"]
	x := emData(Gaussian, 10, rg.NumVars, 17)
	half := func(i int) any { return x.([]float64)[i*5*rg.NumVars : (i+1)*5*rg.NumVars] }
	build := func() (*Circuit, *EM, *Program) {
		c, err := Build(rg, emOptions(Gaussian, CP, Clamp, Fused))
		require.NoError(t, err)
		em, err := NewEM(c, EMConfig{Batches: 2, Schedule: EMDecay{Base: 0.9, Kappa: 0.6}})
		require.NoError(t, err)
		prog, err := c.CompileEM(5)
		require.NoError(t, err)
		return c, em, prog
	}
	c1, em1, p1 := build()
	c2, em2, p2 := build()
	for i := range 2 {
		_, err := p1.Step(half(i))
		require.NoError(t, err)
		em1.SetBatch(5)
		em1.Step()
	}
	_, err := p2.Step(half(0))
	require.NoError(t, err)
	em2.SetBatch(5)
	em2.Step()
	saved := em2.State()
	_, em3, p3 := build()
	for i, p := range nn.Params(c2) {
		nn.Params(em3.c)[i].SetValue(p.Value())
	}
	require.NoError(t, em3.LoadState(saved))
	_, err = p3.Step(half(1))
	require.NoError(t, err)
	em3.SetBatch(5)
	em3.Step()
	for i, p := range nn.Params(c1) {
		assert.Equal(t, p.Value(), nn.Params(em3.c)[i].Value(), p.Name())
	}
	assert.Equal(t, em1.LR(), em3.LR())
	assert.InDelta(t, 0.9*math.Pow(2, -0.6), em1.LR(), 1e-15, "EMDecay after one M-step")
	require.NoError(t, em3.LoadState(saved[:2]), "a state from before pooling has none pooled")
	require.Error(t, em3.LoadState(saved[:3]), "pooled batches without their counts")
	bad := append([]nn.Array(nil), saved...)
	bad[2] = nn.Array{Name: "em.pooled", Shape: []int{1}, I64: []int64{2}}
	require.Error(t, em3.LoadState(bad), "more pooled batches than an M-step pools")
}

func TestEMDecay(t *testing.T) {
	d := EMDecay{Base: 0.5, Kappa: 1, Every: 10}
	assert.Equal(t, 0.5, d.LR(0))
	assert.InDelta(t, 0.25, d.LR(10), 1e-15)
	assert.InDelta(t, 0.5/3, d.LR(20), 1e-15)
	assert.Equal(t, 0.5, EMDecay{Base: 0.5}.LR(100), "κ = 0 is constant")
}

func TestEMRejects(t *testing.T) {
	graphs := smallGraphs(t)
	rg := graphs["qt2"]
	for _, o := range []Options{
		{Units: 2, Param: Softmax},
		{Units: 2, Layer: CPS},
		{Units: 2, Layer: CPXS, Input: Gaussian},
		{Units: 2, Classes: 2},
	} {
		c, err := Build(rg, o)
		require.NoError(t, err)
		_, err = NewEM(c, EMConfig{})
		if assert.Error(t, err, "%+v", o) {
			assert.Contains(t, err.Error(), "EM")
		}
	}
	c, err := Build(rg, Options{Units: 2})
	require.NoError(t, err)
	for _, cfg := range []EMConfig{{StepSize: 1.5}, {Batches: -1}, {PseudoCount: -1}, {PseudoCount: math.Inf(1)}, {MinStd: -1},
		{Schedule: EMDecay{Base: 2}}} {
		_, err := NewEM(c, cfg)
		assert.Error(t, err, "%+v", cfg)
	}
	em, err := NewEM(c, EMConfig{})
	require.NoError(t, err)
	assert.Panics(t, func() { em.SetBatch(0) })
	assert.Panics(t, func() { em.SetLR(0) })
	if _, err := NewEM(c, EMConfig{Schedule: EMDecay{Base: 1, Kappa: -1}}); err != nil {
		assert.True(t, strings.Contains(err.Error(), "step size"), err.Error())
	}
}

// An M-step in log space moves a value with no count by log(1 − η) alone
// (the shortcut for values a batch did not see); every value must equal
// the update's formula, log((1 − η)·e^v + η·p), floored at the smallest
// float64.
func TestEMLogUpdateWithoutCounts(t *testing.T) {
	for _, eta := range []float64{0.1, 0.5, 1} {
		r := &emRows{outer: 2, n: 4, inner: 3, logSpace: true}
		size := r.outer * r.n * r.inner
		v := make([]float64, size)
		r.acc = make([]float64, size)
		rng := rand.New(rand.NewPCG(3, uint64(eta*10)))
		for i := range v {
			v[i] = math.Log(rng.Float64())
			if rng.IntN(2) == 0 {
				r.acc[i] = 10 * rng.Float64()
			}
		}
		v[0], v[5], r.acc[0], r.acc[5] = -800, math.Inf(-1), 0, 0
		want := slices.Clone(v)
		for a := range r.outer {
			for c := range r.inner {
				total := 0.0
				for j := range r.n {
					total += r.acc[(a*r.n+j)*r.inner+c]
				}
				if total == 0 {
					continue // a unit with no count keeps its values
				}
				for j := range r.n {
					i := (a*r.n+j)*r.inner + c
					p := r.acc[i] / total
					want[i] = math.Log(max((1-eta)*math.Exp(v[i])+eta*p, math.SmallestNonzeroFloat64))
				}
			}
		}
		updateRows(r, v, eta, 0)
		for i := range v {
			if math.Abs(v[i]-want[i]) > 1e-12*max(1, math.Abs(want[i])) {
				t.Errorf("η %v, value %d: %v, want %v", eta, i, v[i], want[i])
			}
		}
	}
}
