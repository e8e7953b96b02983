package circuit

import (
	"math"
	"math/rand/v2"
	"strings"
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

// smallGraphs are region graphs over 6 variables, one per builder and a
// custom JSON graph: with and without mixing regions, with binary and wider
// partitions (qt4 has a 4-input block, cl a 4-input star, ff two 6-input
// partitions, custom a 3-input and a 5-input one), so that every layer runs
// on every region-graph family.
func smallGraphs(t *testing.T) map[string]*regiongraph.Graph {
	t.Helper()
	s := regiongraph.Shape{C: 1, H: 2, W: 3}
	gs := map[string]*regiongraph.Graph{}
	for name, build := range map[string]func() (*regiongraph.Graph, error){
		"qt2":    func() (*regiongraph.Graph, error) { return regiongraph.QuadTree(s, 2) },
		"qt4":    func() (*regiongraph.Graph, error) { return regiongraph.QuadTree(s, 4) },
		"qg":     func() (*regiongraph.Graph, error) { return regiongraph.QuadGraph(s) },
		"pd":     func() (*regiongraph.Graph, error) { return regiongraph.PoonDomingos(s, []float64{1}, -1) },
		"rbt":    func() (*regiongraph.Graph, error) { return regiongraph.RandomBinaryTree(6, 2, 2, 1) },
		"linear": func() (*regiongraph.Graph, error) { return regiongraph.LinearTree(6, 1, true, 1) },
		"ff":     func() (*regiongraph.Graph, error) { return regiongraph.FullyFactorized(6, 2) },
		"cl":     func() (*regiongraph.Graph, error) { return regiongraph.ChowLiuTree(starData(), 0, 3) },
		"custom": func() (*regiongraph.Graph, error) { return regiongraph.ReadJSON(strings.NewReader(customRG)) },
	} {
		g, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		gs[name] = g
	}
	for _, name := range []string{"qt4", "cl", "ff", "custom"} {
		if binaryOnly(gs[name]) {
			t.Fatalf("%s has only binary partitions; the tests need a wider one", name)
		}
	}
	return gs
}

// customRG is a region graph over 6 variables with a mixing root split
// 5 ways ({0} {1} {2} {3} {4,5}) and 2 ways ({0,1,2} {3,4,5}), {0,1,2}
// split 3 ways, and leaves shared between partitions.
const customRG = `{
  "regions": {
    "0": {"scope": [0, 1, 2, 3, 4, 5]},
    "1": {"scope": [0]}, "2": {"scope": [1]}, "3": {"scope": [2]},
    "4": {"scope": [3]}, "5": {"scope": [4]}, "6": {"scope": [5]},
    "7": {"scope": [4, 5]}, "8": {"scope": [0, 1, 2]}, "9": {"scope": [3, 4, 5]}
  },
  "roots": ["0"],
  "graph": [
    {"output": 0, "inputs": [1, 2, 3, 4, 7]},
    {"output": 0, "inputs": [8, 9]},
    {"output": 8, "inputs": [3, 1, 2]},
    {"output": 9, "inputs": [4, 7]},
    {"output": 7, "inputs": [5, 6]}
  ]
}`

// starData is 2000 samples of 6 ternary variables whose Chow-Liu tree
// rooted at 0 is the star 0 -> {1, 2, 3} with the chain 3 -> 4 -> 5: each
// variable copies its parent with probability 0.8, else draws uniformly.
func starData() [][]int {
	parent := []int{-1, 0, 0, 0, 3, 4}
	rng := rand.New(rand.NewPCG(4, 4))
	data := make([][]int, 2000)
	for i := range data {
		row := make([]int, len(parent))
		for v, p := range parent {
			row[v] = rng.IntN(3)
			if p >= 0 && rng.Float64() < 0.8 {
				row[v] = row[p]
			}
		}
		data[i] = row
	}
	return data
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
// parameterization, on every region-graph family (Tucker on the wide ones
// through the binarized graph).
func TestEnumerateSumsToOne(t *testing.T) {
	for name, rg := range smallGraphs(t) {
		for _, layer := range []Layer{CP, CPXS, CPS, CPR, Tucker} {
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
