package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/nn"
)

// softenedNLL returns the mean softened NLL of the samples x by brute force:
// −mean_b log Σ_x' Π_v q(x'_v | x_bv) p(x'), q(u | x) = β for u = x and
// (1 − β)/(C − 1) otherwise, p(x') from an evaluation program over every
// assignment.
func softenedNLL(t *testing.T, c *Circuit, x []uint8, beta float64) func() float64 {
	t.Helper()
	V, C := c.plan.NumVars, c.opts.Values
	all := allAssignments(V, C)
	n := len(all) / V
	eval, err := c.Compile(n, false)
	require.NoError(t, err)
	lp := make([]float64, n)
	alpha := (1 - beta) / float64(C-1)
	return func() float64 {
		require.NoError(t, eval.LogLikelihood(all, nil, lp))
		total := 0.0
		for b := range len(x) / V {
			terms := make([]float64, n)
			for i := range n {
				terms[i] = lp[i]
				for v := range V {
					if all[i*V+v] == x[b*V+v] {
						terms[i] += math.Log(beta)
					} else {
						terms[i] += math.Log(alpha)
					}
				}
			}
			total -= logSumExp(terms)
		}
		return total / float64(len(x)/V)
	}
}

// A softened training program's loss is the softened NLL of brute force,
// and its gradient that NLL's finite differences: both engines, categorical
// and Bernoulli inputs, every weight parameterization.
func TestSoftenedLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	graphs := smallGraphs(t)
	for _, name := range []string{"cl", "qt4", "custom"} {
		rg := graphs[name]
		for _, in := range []InputKind{Categorical, Bernoulli} {
			values := 3
			if in == Bernoulli {
				values = 2
			}
			x := make([]uint8, 4*rg.NumVars)
			for i := range x {
				x[i] = uint8(rng.IntN(values))
			}
			for _, par := range []Param{Softmax, Clamp, Exp} {
				for _, engine := range []Engine{Fused, Graph} {
					t.Run(fmt.Sprintf("%s/%v/%v/%v", name, in, par, engine), func(t *testing.T) {
						c, err := Build(rg, Options{Layer: CPR, Units: 3, Rank: 2, Input: in, Values: values, Param: par,
							LearnMixing: true, DType: nn.Float64, Seed: 5, Engine: engine})
						require.NoError(t, err)
						const beta = 0.9
						nll := softenedNLL(t, c, x, beta)
						train, err := c.Compile(len(x)/rg.NumVars, true, Softened(beta))
						require.NoError(t, err)
						for _, p := range c.Params() {
							p.ZeroGrad()
						}
						loss, err := train.Step(x)
						require.NoError(t, err)
						want := nll()
						assert.InDelta(t, want, loss, 1e-9*math.Abs(want), "softened loss")
						hard := softenedNLL(t, c, x, 1)()
						assert.Greater(t, math.Abs(loss-hard), 1e-5, "softening changed nothing")
						fdCheck(t, c, nll, 1e-4, 1e-6, 1e-10)
					})
				}
			}
		}
	}
}

// Full-batch EM on softened data is EM on the latent-variable model whose
// observations are noisy copies of the variables, so it never lowers the
// softened likelihood; the step's loss is that likelihood by brute force.
func TestSoftenedEMMonotone(t *testing.T) {
	graphs := smallGraphs(t)
	for _, in := range []InputKind{Categorical, Bernoulli} {
		rg := graphs["cl"]
		const n = 30
		x := emData(in, n, rg.NumVars, 3).([]uint8)
		for _, engine := range []Engine{Fused, Graph} {
			c, err := Build(rg, emOptions(in, CPR, Clamp, engine))
			require.NoError(t, err)
			em, err := NewEM(c, EMConfig{StepSize: 1})
			require.NoError(t, err)
			prog, err := c.CompileEM(n, Softened(0.8))
			require.NoError(t, err)
			nll := softenedNLL(t, c, x, 0.8)
			prev := math.Inf(1)
			for step := range 5 {
				want := nll()
				got, err := prog.Step(x)
				require.NoError(t, err)
				assert.InDelta(t, want, got, 1e-9*want, "%v %v step %d: loss", in, engine, step)
				assert.LessOrEqual(t, got, prev+1e-9, "%v %v step %d: softened NLL rose", in, engine, step)
				prev = got
				em.SetBatch(n)
				em.Step()
			}
		}
	}
}

func TestSoftenedRejects(t *testing.T) {
	rg := smallGraphs(t)["cl"]
	build := func(o Options) *Circuit {
		o.Units, o.DType, o.Seed = 2, nn.Float64, 1
		c, err := Build(rg, o)
		require.NoError(t, err)
		return c
	}
	cat := build(Options{Layer: CPR, Values: 3, Param: Softmax})
	for _, tc := range []struct {
		c     *Circuit
		train bool
		beta  float64
		want  string
	}{
		{cat, false, 0.9, "training programs"},
		{cat, true, 1.5, "want 1/C < β ≤ 1"},
		{cat, true, 0.3, "want 1/C < β ≤ 1"},
		{cat, true, math.NaN(), "want 1/C < β ≤ 1"},
		{build(Options{Layer: CPR, Input: Gaussian}), true, 0.9, "categorical or Bernoulli"},
		{build(Options{Layer: CPR, Values: 3, Param: Real}), true, 0.9, "monotonic"},
	} {
		_, err := tc.c.Compile(4, tc.train, Softened(tc.beta))
		if assert.Error(t, err, tc.want) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
}
