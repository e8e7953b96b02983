package circuit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// squaredAt sets some weights of a squared circuit near zero, of both
// signs, and one clearly negative, beside their N(0, 1) draws. No sum has
// all its weights near zero: a squared circuit is invariant to a sum's
// scale, so there it would vary on the weights' scale, below any finite
// difference step.
func squaredAt(c *Circuit) {
	for _, p := range c.Params() {
		if !strings.Contains(p.Name, "weight") {
			continue
		}
		w := p.Float64s()
		if len(w) < 4 {
			continue
		}
		w[0], w[1], w[2], w[len(w)-1] = 1e-6, -0.8, -1e-3, -1e-6
	}
}

// A squared circuit's training gradient matches central differences of
// the reference NLL (on c·c) for Bernoulli, binomial and Gaussian inputs
// too, with weights near zero and negative: the input layers' parameters
// get their gradient through the signed layers above.
func TestSquaredGradientInputs(t *testing.T) {
	rg, err := regiongraph.RandomBinaryTree(5, -1, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	const n, V = 6, 5
	rng := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct {
		in     InputKind
		values int
	}{{Bernoulli, 2}, {Binomial, 5}, {Gaussian, 0}} {
		t.Run(tc.in.String(), func(t *testing.T) {
			c, err := Build(rg, Options{Layer: CP, Units: 3, Input: tc.in, Values: tc.values, Param: Real, Init: Normal, DType: nn.Float64, Seed: 8})
			if err != nil {
				t.Fatal(err)
			}
			squaredAt(c)
			var x any
			nll := func() float64 {
				var ll []float64
				var err error
				if xf, ok := x.([]float64); ok {
					ll, err = c.LogProbFloat(xf, nil)
				} else {
					ll, err = c.LogProb(x.([]uint8), nil)
				}
				if err != nil {
					t.Fatal(err)
				}
				s := 0.0
				for _, v := range ll {
					s -= v
				}
				return s / n
			}
			if tc.in == Gaussian {
				xf := make([]float64, n*V)
				for i := range xf {
					xf[i] = rng.NormFloat64()
				}
				x = xf
			} else {
				x8 := make([]uint8, n*V)
				for i := range x8 {
					x8[i] = uint8(rng.IntN(tc.values))
				}
				x = x8
			}
			train, err := c.Compile(n, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.Params() {
				p.ZeroGrad()
			}
			loss, err := train.Step(x)
			if err != nil {
				t.Fatal(err)
			}
			if want := nll(); math.Abs(loss-want) > 1e-9*math.Abs(want) {
				t.Errorf("Step loss %v, reference NLL %v", loss, want)
			}
			fdCheck(t, c, nll, 1e-5, 1e-5, 1e-8)
		})
	}
}

// A squared class-conditional circuit's classifier objective,
// (1−λ)·(−log p(x, y))/V − λ·log p(y | x), has the gradient of central
// differences of the reference evaluator's, with weights near zero and
// negative.
func TestSquaredClassifierGradient(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	const C, V, vals, n = 3, 4, 3, 5
	rng := rand.New(rand.NewPCG(5, 5))
	x := make([]uint8, n*V)
	for i := range x {
		x[i] = uint8(rng.IntN(vals))
	}
	labels := []int{0, 2, 1, 1, 0}
	for _, lambda := range []float64{0, 0.5, 1} {
		c, err := Build(rg, Options{Units: 2, Classes: C, Values: vals, Param: Real, Init: Normal, DType: nn.Float64, Seed: 6})
		if err != nil {
			t.Fatal(err)
		}
		squaredAt(c)
		prog, err := c.CompileClassifier(n, lambda)
		if err != nil {
			t.Fatal(err)
		}
		objective := func() float64 {
			lp, err := c.LogProb(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := 0.0
			for i, y := range labels {
				row := lp[i*C : (i+1)*C]
				s += (1-lambda)*(-row[y]+math.Log(C))/V - lambda*(row[y]-logSumExp(row))
			}
			return s / n
		}
		for _, p := range c.Params() {
			p.ZeroGrad()
		}
		loss, err := prog.StepLabels(x, labels)
		if err != nil {
			t.Fatal(err)
		}
		if want := objective(); math.Abs(loss-want) > 1e-9*math.Abs(want) {
			t.Errorf("λ=%g: StepLabels %.12g, objective %.12g", lambda, loss, want)
		}
		fdCheck(t, c, objective, 1e-5, 1e-5, 1e-8)
	}
}
