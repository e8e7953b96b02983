package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// engineStep builds the circuit of opt on engine e, runs one training step
// on x and returns the loss and every parameter's gradient by name.
func engineStep(t *testing.T, rg *regiongraph.Graph, opt Options, e Engine, x any) (float64, map[string][]float64) {
	t.Helper()
	opt.Engine = e
	c, err := Build(rg, opt)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	switch xs := x.(type) {
	case []uint8:
		n = len(xs) / rg.NumVars
	case []float32:
		n = len(xs) / rg.NumVars
	case []float64:
		n = len(xs) / rg.NumVars
	}
	prog, err := c.Compile(n, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Params() {
		p.ZeroGrad()
	}
	loss, err := prog.Step(x)
	if err != nil {
		t.Fatal(err)
	}
	grads := map[string][]float64{}
	for _, p := range c.Params() {
		if p.Frozen() {
			continue
		}
		if p.DType() == nn.Float64 {
			grads[p.Name] = append([]float64(nil), p.Grad64()...)
		} else {
			g := p.Grad32()
			grads[p.Name] = make([]float64, len(g))
			for i, v := range g {
				grads[p.Name][i] = float64(v)
			}
		}
	}
	return loss, grads
}

// checkEnginesAgree compares the two engines' loss and gradients: each
// element within tol relative to the larger of the two values, with a
// floor of floor times the parameter's largest gradient (global: the
// largest gradient of any parameter) for elements that nearly cancel: in
// float32 a gradient that is a small difference of a data term and a
// partition-function term keeps the rounding of those terms.
func checkEnginesAgree(t *testing.T, rg *regiongraph.Graph, opt Options, x any, tol, floor float64, global bool) {
	t.Helper()
	lf, gf := engineStep(t, rg, opt, Fused, x)
	lg, gg := engineStep(t, rg, opt, Graph, x)
	if d := math.Abs(lf - lg); d > tol*math.Max(math.Abs(lf), math.Abs(lg)) {
		t.Errorf("loss: fused %.12g, graph %.12g", lf, lg)
	}
	if len(gf) != len(gg) || len(gf) == 0 {
		t.Fatalf("%d gradients on the fused engine, %d on the graph engine", len(gf), len(gg))
	}
	largest := func(names ...string) float64 {
		m := 0.0
		for _, n := range names {
			for i := range gf[n] {
				m = math.Max(m, math.Max(math.Abs(gf[n][i]), math.Abs(gg[n][i])))
			}
		}
		return m
	}
	var all []string
	for name := range gf {
		all = append(all, name)
	}
	for name, a := range gf {
		b := gg[name]
		scale := largest(name)
		if global {
			scale = largest(all...)
		}
		bad := 0
		for i := range a {
			if d := math.Abs(a[i] - b[i]); d > tol*math.Max(math.Max(math.Abs(a[i]), math.Abs(b[i])), floor*scale) {
				if bad++; bad <= 3 {
					t.Errorf("%s[%d]: fused %.12g, graph %.12g", name, i, a[i], b[i])
				}
			}
		}
	}
}

// The graph engine and the fused engine give the same loss and the same
// gradient of every parameter, for every layer × parameterization ×
// region-graph family: within 1e-9 relative in float64 (elementwise, down
// to 1e-3 of the parameter's largest gradient element), 1e-4 in float32
// (relative to the largest gradient element: ‖Δg‖∞ ≤ 1e-4 ‖g‖∞).
func TestEnginesAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for name, rg := range smallGraphs(t) {
		x := make([]uint8, 5*rg.NumVars)
		for i := range x {
			x[i] = uint8(rng.IntN(3))
		}
		for _, layer := range []Layer{CP, CPXS, CPS, CPR, Tucker} {
			for _, par := range []Param{Clamp, Softmax, Exp} {
				for _, dt := range []nn.DType{nn.Float64, nn.Float32} {
					tol, floor, global := 1e-9, 1e-3, false
					if dt == nn.Float32 {
						tol, floor, global = 1e-4, 1, true
					}
					opt := Options{Layer: layer, Units: 3, Rank: 2, Values: 3, Param: par, LearnMixing: true, DType: dt, Seed: 5}
					t.Run(fmt.Sprintf("%s/%v/%v/%v", name, layer, par, dt), func(t *testing.T) {
						checkEnginesAgree(t, rg, opt, x, tol, floor, global)
					})
				}
			}
		}
	}
}

// The engines agree on every input distribution family, with data partly
// missing through the compiled program's mask (LogLikelihood) too.
func TestEnginesAgreeInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	rg, err := regiongraph.RandomBinaryTree(6, 2, 2, 1) // variables in several leaves
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []InputKind{Categorical, Bernoulli, Binomial, Gaussian} {
		values := 4
		if in == Bernoulli {
			values = 2
		}
		opt := Options{Layer: CP, Units: 3, Input: in, Values: values, Param: Clamp, DType: nn.Float64, Seed: 9}
		if in == Gaussian {
			opt.Values = 0
			x := make([]float64, 4*6)
			for i := range x {
				x[i] = rng.NormFloat64()
			}
			t.Run(in.String(), func(t *testing.T) { checkEnginesAgree(t, rg, opt, x, 1e-9, 1e-3, false) })
			continue
		}
		x := make([]uint8, 4*6)
		for i := range x {
			x[i] = uint8(rng.IntN(values))
		}
		t.Run(in.String(), func(t *testing.T) { checkEnginesAgree(t, rg, opt, x, 1e-9, 1e-3, false) })
	}
	// Marginals through the mask.
	opt := Options{Layer: CPR, Units: 3, Values: 3, DType: nn.Float64, Seed: 2}
	x := make([]uint8, 8*6)
	miss := make([]bool, len(x))
	for i := range x {
		x[i], miss[i] = uint8(rng.IntN(3)), rng.Float64() < 0.4
	}
	var ll [2][]float64
	for e, engine := range []Engine{Fused, Graph} {
		opt.Engine = engine
		c, err := Build(rg, opt)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := c.Compile(3, false)
		if err != nil {
			t.Fatal(err)
		}
		ll[e] = make([]float64, 8)
		if err := prog.LogLikelihood(x, miss, ll[e]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range ll[0] {
		if math.Abs(ll[0][i]-ll[1][i]) > 1e-9*math.Abs(ll[0][i]) {
			t.Errorf("row %d: fused %.12g, graph %.12g", i, ll[0][i], ll[1][i])
		}
	}
}

// EM's programs (exp-parameterized categorical inputs, no log Z) agree on
// both engines too.
func TestEnginesAgreeEM(t *testing.T) {
	rg := smallGraphs(t)["pd"]
	rng := rand.New(rand.NewPCG(25, 26))
	x := make([]uint8, 6*rg.NumVars)
	for i := range x {
		x[i] = uint8(rng.IntN(3))
	}
	var loss [2]float64
	var grads [2][]float64
	for e, engine := range []Engine{Fused, Graph} {
		c, err := Build(rg, Options{Layer: CPR, Units: 3, Rank: 2, Values: 3, LearnMixing: true, Engine: engine, DType: nn.Float64, Seed: 12})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewEM(c, EMConfig{}); err != nil {
			t.Fatal(err)
		}
		prog, err := c.CompileEM(6)
		if err != nil {
			t.Fatal(err)
		}
		if loss[e], err = prog.Step(x); err != nil {
			t.Fatal(err)
		}
		for _, p := range c.Params() {
			if !p.Frozen() {
				grads[e] = append(grads[e], p.Grad64()...)
			}
		}
	}
	if math.Abs(loss[0]-loss[1]) > 1e-9*math.Abs(loss[0]) {
		t.Errorf("EM loss: fused %.12g, graph %.12g", loss[0], loss[1])
	}
	for i := range grads[0] {
		if d := math.Abs(grads[0][i] - grads[1][i]); d > 1e-9*math.Max(math.Abs(grads[0][i]), 1e-6) {
			t.Errorf("EM gradient %d: fused %.12g, graph %.12g", i, grads[0][i], grads[1][i])
		}
	}
}
