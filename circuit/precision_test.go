package circuit

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// float32 and float64 circuits built from the same seed agree on the
// log-likelihood of MNIST-shaped data to 1e-4 relative.
func TestFloat32MatchesFloat64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two 28×28 circuits")
	}
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 28, W: 28})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	const b = 16
	x := make([]uint8, b*784)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	missing := make([]bool, len(x))
	for i := range missing {
		missing[i] = rng.IntN(5) == 0
	}
	ll := map[nn.DType][]float64{}
	for _, dt := range []nn.DType{nn.Float32, nn.Float64} {
		c, err := Build(rg, Options{Units: 8, DType: dt, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		prog, err := c.Compile(b, false)
		if err != nil {
			t.Fatal(err)
		}
		ll[dt] = make([]float64, b)
		if err := prog.LogLikelihood(x, missing, ll[dt]); err != nil {
			t.Fatal(err)
		}
	}
	for i := range b {
		a, d := ll[nn.Float32][i], ll[nn.Float64][i]
		if math.Abs(a-d) > 1e-4*math.Abs(d) {
			t.Errorf("sample %d: float32 %v, float64 %v", i, a, d)
		}
	}
}

// A region graph that is not smooth (a partition whose inputs do not cover
// exactly its output's scope: region 3 = {0} split into {0} and {1}) is
// refused before anything is built.
func TestBuildRejectsNonSmooth(t *testing.T) {
	bad := &regiongraph.Graph{
		NumVars: 2,
		Regions: []regiongraph.Region{
			{Scope: []int{0, 1}, Partitions: []int{0}},
			{Scope: []int{0}},
			{Scope: []int{1}},
			{Scope: []int{0}, Partitions: []int{1}},
		},
		Partitions: []regiongraph.Partition{{Output: 0, Inputs: []int{1, 2}}, {Output: 3, Inputs: []int{1, 2}}},
		Roots:      []int{0},
	}
	if _, err := Build(bad, Options{Units: 2}); err == nil {
		t.Error("a region graph whose partition does not cover its region was accepted")
	}
}
