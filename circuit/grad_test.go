package circuit

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
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
	const h = 1e-5
	for _, p := range c.Params() {
		if p.Frozen() {
			continue
		}
		w, g := p.Float64s(), p.Grad64()
		for i := range w {
			orig := w[i]
			w[i] = orig + h
			up := nll()
			w[i] = orig - h
			down := nll()
			w[i] = orig
			fd := (up - down) / (2 * h)
			d := math.Abs(g[i] - fd)
			if s := math.Max(math.Abs(g[i]), math.Abs(fd)); s > 1e-6 {
				d /= s
			}
			if d > tol {
				t.Errorf("%s[%d]: analytic %.10g, finite difference %.10g", p.Name(), i, g[i], fd)
			}
		}
	}
}

func TestCircuitGradientQuadTree(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]uint8, 5*6)
	for i := range x {
		x[i] = uint8(rng.IntN(3))
	}
	for _, layer := range []Layer{CP, CPXS, CPS} {
		for _, par := range []Param{Clamp, Softmax, Exp} {
			c, err := Build(rg, Options{Layer: layer, Units: 3, Values: 3, Param: par, DType: nn.Float64, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			t.Run(layer.String()+"/"+par.String(), func(t *testing.T) { checkCircuitGrad(t, c, x, 1e-6) })
		}
	}
}
