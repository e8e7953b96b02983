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

// smallGraphs are region graphs over 6 variables with and without mixing
// regions and with binary and 4-way partitions.
func smallGraphs(t *testing.T) map[string]*regiongraph.Graph {
	t.Helper()
	s := regiongraph.Shape{C: 1, H: 2, W: 3}
	gs := map[string]*regiongraph.Graph{}
	for name, build := range map[string]func() (*regiongraph.Graph, error){
		"qt2": func() (*regiongraph.Graph, error) { return regiongraph.QuadTree(s, 2) },
		"qt4": func() (*regiongraph.Graph, error) {
			return regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 2}, 4)
		},
		"qg":  func() (*regiongraph.Graph, error) { return regiongraph.QuadGraph(s) },
		"pd":  func() (*regiongraph.Graph, error) { return regiongraph.PoonDomingos(s, []float64{1}, -1) },
		"rbt": func() (*regiongraph.Graph, error) { return regiongraph.RandomBinaryTree(6, 2, 2, 1) },
	} {
		g, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		gs[name] = g
	}
	return gs
}

func binaryOnly(g *regiongraph.Graph) bool {
	for _, p := range g.Partitions {
		if len(p.Inputs) != 2 {
			return false
		}
	}
	return true
}

// Σ_x p(x) = 1 through the compiled program, for every layer type and
// parameterization, on graphs with and without mixing regions.
func TestSumsToOne(t *testing.T) {
	for name, rg := range smallGraphs(t) {
		for _, layer := range []Layer{CP, CPXS, CPS, CPR, Tucker} {
			if layer == Tucker && !binaryOnly(rg) {
				continue
			}
			for _, par := range []Param{Clamp, Softmax, Exp} {
				c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Values: 3, Param: par, LearnMixing: true, DType: nn.Float64, Seed: 7})
				if err != nil {
					t.Fatal(err)
				}
				prog, err := c.Compile(64, false)
				if err != nil {
					t.Fatal(err)
				}
				v := rg.NumVars
				x := allAssignments(v, 3)
				ll := make([]float64, len(x)/v)
				if err := prog.LogLikelihood(x, nil, ll); err != nil {
					t.Fatal(err)
				}
				if got := logSumExp(ll); math.Abs(got) > 1e-9 {
					t.Errorf("%s/%v/%v: log Σ_x p(x) = %g, want 0", name, layer, par, got)
				}
			}
		}
	}
}
