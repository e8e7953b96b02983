package circuit

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/regiongraph"
)

// trainSteps builds a float32 QG circuit from seed, takes n plain gradient
// steps on fixed data, and returns its parameters.
func trainSteps(t *testing.T, seed uint64, n int) [][]float32 {
	t.Helper()
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 6, W: 6})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(rg, Options{Units: 6, Values: 16, LearnMixing: true, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := c.Compile(32, true)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]uint8, 32*36)
	for i := range x {
		x[i] = uint8(rng.IntN(16))
	}
	for range n {
		if _, err := prog.Step(x); err != nil {
			t.Fatal(err)
		}
		for _, p := range c.Params() {
			w, g := p.Float32s(), p.Grad32()
			for i := range w {
				w[i] -= 0.01 * g[i]
			}
			p.ClampToMin()
			p.ZeroGrad()
		}
	}
	var out [][]float32
	for _, p := range c.Params() {
		out = append(out, append([]float32(nil), p.Float32s()...))
	}
	return out
}

// The same seed gives bit-identical parameters after several training steps
// whatever the number of goroutines the kernels use.
func TestTrainingDeterministicAcrossWorkers(t *testing.T) {
	defer func(w int) { kernel.Workers = w }(kernel.Workers)
	var runs [][][]float32
	for _, w := range []int{1, 2, 5} {
		kernel.Workers = w
		runs = append(runs, trainSteps(t, 11, 4))
	}
	for r := 1; r < len(runs); r++ {
		for i := range runs[0] {
			for j := range runs[0][i] {
				if math.Float32bits(runs[0][i][j]) != math.Float32bits(runs[r][i][j]) {
					t.Fatalf("run %d, parameter %d[%d]: %v vs %v", r, i, j, runs[r][i][j], runs[0][i][j])
				}
			}
		}
	}
	other := trainSteps(t, 12, 4)
	if math.Float32bits(other[0][0]) == math.Float32bits(runs[0][0][0]) && math.Float32bits(other[1][0]) == math.Float32bits(runs[0][1][0]) {
		t.Error("a different seed gave the same parameters")
	}
}
