package circuit

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// checkCircuitGrad compares the training program's gradient of the mean NLL
// with central finite differences of the evaluation program's mean NLL, for
// every parameter element.
func checkCircuitGrad(t *testing.T, c *Circuit, x []uint8, tol float64) {
	t.Helper()
	n := len(x) / c.plan.NumVars
	train, err := c.Compile(n, true)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := c.Compile(n, false)
	if err != nil {
		t.Fatal(err)
	}
	ll := make([]float64, n)
	nll := func() float64 {
		if err := eval.LogLikelihood(x, nil, ll); err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for _, v := range ll {
			s -= v
		}
		return s / float64(n)
	}
	for _, p := range c.Params() {
		p.ZeroGrad()
	}
	loss, err := train.Step(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := nll(); math.Abs(loss-want) > 1e-9*math.Abs(want) {
		t.Errorf("Step loss %v, evaluation NLL %v", loss, want)
	}
	// Five-point central differences: truncation error O(h⁴), round-off
	// about ε·|NLL|/h ≈ 1e-11 at h = 1e-4.
	fdCheck(t, c, nll, 1e-4, tol, 1e-10)
}

// fdCheck compares the gradient the last step left in c's trainable
// parameters with five-point central differences of f at step h: each
// entry must agree within rtol of the larger of the two plus atol. It
// returns how many entries it checked.
func fdCheck(t *testing.T, c *Circuit, f func() float64, h, rtol, atol float64) int {
	t.Helper()
	checked := 0
	for _, p := range c.Params() {
		if p.Frozen() {
			continue
		}
		w, g := p.Float64s(), p.Grad64()
		for i := range w {
			orig := w[i]
			at := func(d float64) float64 { w[i] = orig + d; return f() }
			fd := (8*(at(h)-at(-h)) - (at(2*h) - at(-2*h))) / (12 * h)
			w[i] = orig
			if math.Abs(g[i]-fd) > rtol*math.Max(math.Abs(g[i]), math.Abs(fd))+atol {
				t.Errorf("%s[%d] = %g: analytic %.10g, finite difference %.10g", p.Name, i, orig, g[i], fd)
			}
			checked++
		}
	}
	return checked
}

func TestCircuitGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for name, rg := range smallGraphs(t) {
		x := make([]uint8, 5*rg.NumVars)
		for i := range x {
			x[i] = uint8(rng.IntN(3))
		}
		for _, layer := range []Layer{CP, CPXS, CPS, CPR, Tucker} {
			for _, par := range []Param{Clamp, Softmax, Exp} {
				c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Values: 3, Param: par, LearnMixing: true, DType: nn.Float64, Seed: 3})
				if err != nil {
					t.Fatal(err)
				}
				t.Run(name+"/"+layer.String()+"/"+par.String(), func(t *testing.T) { checkCircuitGrad(t, c, x, 1e-6) })
			}
		}
	}
}
