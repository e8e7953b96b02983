package circuit

import (
	"math"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// allAssignments enumerates every x in {0..c-1}^v, row-major (v, first
// variable slowest).
func allAssignments(v, c int) []uint8 {
	n := int(math.Pow(float64(c), float64(v)))
	x := make([]uint8, n*v)
	for i := range n {
		r := i
		for j := v - 1; j >= 0; j-- {
			x[i*v+j] = uint8(r % c)
			r /= c
		}
	}
	return x
}

func logSumExp(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

func TestSumsToOneQuadTree(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, layer := range []Layer{CP, CPXS, CPS} {
		for _, par := range []Param{Clamp, Softmax, Exp} {
			c, err := Build(rg, Options{Layer: layer, Units: 3, Values: 3, Param: par, DType: nn.Float64, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			prog, err := c.Compile(64, false)
			if err != nil {
				t.Fatal(err)
			}
			x := allAssignments(6, 3)
			ll := make([]float64, len(x)/6)
			if err := prog.LogLikelihood(x, nil, ll); err != nil {
				t.Fatal(err)
			}
			if got := logSumExp(ll); math.Abs(got) > 1e-9 {
				t.Errorf("%v/%v: log Σ_x p(x) = %g, want 0", layer, par, got)
			}
		}
	}
}
