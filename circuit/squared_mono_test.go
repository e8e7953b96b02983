package circuit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// buildMonoSquared builds a float64 squared circuit with a monotonic
// factor (MonoUnits 2), c's weights N(0, 1) draws and its inputs redrawn
// from N(0, 1), so that c is far from the near-constant start Build gives.
func buildMonoSquared(t testing.TB, rg *regiongraph.Graph, layer Layer, input InputKind, values int, seed uint64) *Circuit {
	t.Helper()
	c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, MonoUnits: 2, Input: input, Values: values, Param: Real, Init: Normal, DType: nn.Float64, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	nn.NormalInit(c.Input.Logits, 0, 1, rand.New(rand.NewPCG(seed, 3)))
	return c
}

// p = m·c²/Z is a distribution (Σ p = 1, marginals, conditionals, samples,
// compiled against reference: checkSquaredExact), and its values are m's
// times c²'s: log p − log m − log (c·c)/Z_cc is one constant over every
// state, each of the three from its own circuit. With embedding inputs,
// c's units are real values and m's categorical.
func TestMonoSquaredExact(t *testing.T) {
	for gi, qg := range productGraphs(t) {
		for li, tc := range []struct {
			layer Layer
			input InputKind
		}{{CP, Categorical}, {CPR, Categorical}, {Tucker, Categorical}, {CP, Embedding}} {
			layer, input := tc.layer, tc.input
			if layer == Tucker && !binaryOnly(qg.rg) {
				continue
			}
			t.Run(qg.name+"/"+layer.String()+"/"+input.String(), func(t *testing.T) {
				c := buildMonoSquared(t, qg.rg, layer, input, qg.values, uint64(10*gi+li))
				if c.Mono.opts.Input != Categorical {
					t.Fatalf("m has %v inputs, want categorical", c.Mono.opts.Input)
				}
				checkSquaredExact(t, c, rand.New(rand.NewPCG(uint64(li), 11)), gi == 0 && layer == CP)
				en := enumerate(t, c)
				lm, err := c.Mono.LogProb(en.x, nil)
				if err != nil {
					t.Fatal(err)
				}
				cc, err := Multiply(c, c)
				if err != nil {
					t.Fatal(err)
				}
				lc, err := cc.LogProb(en.x, nil)
				if err != nil {
					t.Fatal(err)
				}
				k := en.lp[0] - lm[0] - lc[0]
				for i := range en.lp {
					// Near a cancellation of c the logs agree in probability.
					if d := en.lp[i] - lm[i] - lc[i]; math.Abs(d-k) > 1e-9 && math.Abs(math.Exp(en.lp[i])-math.Exp(lm[i]+lc[i]+k)) > 1e-13 {
						t.Fatalf("state %d: log p − log m − log c²/Z_cc = %.12g, state 0's %.12g", i, d, k)
					}
				}
			})
		}
	}
}

// The training loss's gradients, m's parameters and c's, against finite
// differences of the reference NLL; and Build's start: c near a constant,
// so that p is m's distribution to within the inputs' small draws.
func TestMonoSquaredGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	qg := productGraphs(t)[4] // the Chow-Liu tree
	x := make([]uint8, 6*qg.rg.NumVars)
	for i := range x {
		x[i] = uint8(rng.IntN(qg.values))
	}
	for _, layer := range []Layer{CP, CPR} {
		t.Run(layer.String(), func(t *testing.T) {
			// c's weights positive but a few, near zero and negative: N(0, 1)
			// weights put some rows of x near a zero of c, where the NLL is
			// too steep for finite differences.
			c, err := Build(qg.rg, Options{Layer: layer, Units: 3, Rank: 2, MonoUnits: 2, Values: qg.values, Param: Real, DType: nn.Float64, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			nn.NormalInit(c.Input.Logits, 0, 1, rand.New(rand.NewPCG(5, 3)))
			for _, p := range c.Params() {
				if w := p.Float64s(); strings.HasPrefix(p.Name, "layers.") && len(w) > 2 {
					w[0], w[1], w[2] = 1e-6, -1e-6, -0.3
					p.SetValue(w)
				}
			}
			names := map[string]bool{}
			for _, p := range c.Params() {
				names[strings.SplitN(p.Name, ".", 2)[0]] = true
			}
			if !names["mono"] || !names["layers"] || !names["input"] {
				t.Fatalf("parameters %v: want c's (input, layers) and m's (mono)", names)
			}
			checkSquaredGrad(t, c, x, 1e-5)

			fresh, err := Build(qg.rg, Options{Layer: layer, Units: 3, Rank: 2, MonoUnits: 2, Values: qg.values, Param: Real, Init: Uniform, DType: nn.Float64, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			lp, err := fresh.LogProb(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			lm, err := fresh.Mono.LogProb(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range lp {
				if math.Abs(lp[i]-lm[i]) > 0.05 {
					t.Errorf("row %d at the start: log p %.4f, log m %.4f: c is not near a constant", i, lp[i], lm[i])
				}
			}
		})
	}
}

func TestMonoSquaredRefusals(t *testing.T) {
	rg := productGraphs(t)[0].rg
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Units: 3, MonoUnits: 2, Param: Softmax}, "needs Param Real"},
		{Options{Units: 3, MonoUnits: -1, Param: Real}, "MonoUnits must be ≥ 0"},
		{Options{Units: 3, MonoUnits: 2, Param: Real, Classes: 2}, "one root unit"},
	} {
		if _, err := Build(rg, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.opts, err, tc.want)
		}
	}
}

// A training program keeps working after other programs of the circuit,
// and of its factor m, are compiled, and its loss is the evaluation
// program's NLL. (The sequence that failed on bbc's Chow-Liu circuit while
// m's data pass ran fused, train then evaluation compiled, does not fail
// on these graphs either way; it is checked here all the same.)
func TestMonoSquaredPrograms(t *testing.T) {
	// A random recursive tree of 60 variables: nodes of many children, at
	// many depths, as Chow-Liu trees of real data have.
	rng := rand.New(rand.NewPCG(8, 8))
	parents := make([]int, 60)
	parents[0] = -1
	for v := 1; v < len(parents); v++ {
		parents[v] = rng.IntN(v)
	}
	tree, err := regiongraph.FromTree(parents)
	if err != nil {
		t.Fatal(err)
	}
	graphs := append(productGraphs(t), queryGraph{"tree60", tree, 2})
	for _, qg := range graphs {
		t.Run(qg.name, func(t *testing.T) {
			c, err := Build(qg.rg, Options{Layer: CPR, Units: 4, MonoUnits: 15, Values: qg.values, Param: Real, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(6, 6))
			x := make([]uint8, 8*qg.rg.NumVars)
			for i := range x {
				x[i] = uint8(rng.IntN(qg.values))
			}
			train, err := c.Compile(8, true)
			if err != nil {
				t.Fatal(err)
			}
			eval, err := c.Compile(8, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Mono.Compile(8, false); err != nil {
				t.Fatal(err)
			}
			loss, err := train.Step(x)
			if err != nil {
				t.Fatal(err)
			}
			ll := make([]float64, 8)
			if err := eval.LogLikelihood(x, nil, ll); err != nil {
				t.Fatal(err)
			}
			nll := 0.0
			for _, v := range ll {
				nll -= v / 8
			}
			if math.Abs(loss-nll) > 1e-4*math.Abs(nll) {
				t.Errorf("training loss %v, evaluation NLL %v", loss, nll)
			}
		})
	}
}

// The memory estimate counts m's data pass, not only its parameters.
func TestMonoSquaredMemory(t *testing.T) {
	rg := productGraphs(t)[4].rg
	o := Options{Layer: CPR, Units: 4, Values: 3, Param: Real}
	plain, err := Build(rg, o)
	if err != nil {
		t.Fatal(err)
	}
	o.MonoUnits = 15
	c, err := Build(rg, o)
	if err != nil {
		t.Fatal(err)
	}
	params := int64(nn.ParamCount(c.Mono)) * 6 * 4 // value, copy, gradients, Adam: float32
	if d := c.MemoryEstimate(256, true) - plain.MemoryEstimate(256, true); d <= params {
		t.Errorf("m adds %d bytes to the estimate, no more than its %d bytes of parameters", d, params)
	}
}
