package circuit_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// Draw samples from a small circuit over a 2×2 binary image, complete a
// partly observed image by conditional sampling and by MAP, and score it.
func ExampleCircuit_Sample() {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 2}, 2)
	if err != nil {
		panic(err)
	}
	c, err := circuit.Build(rg, circuit.Options{Layer: circuit.CP, Units: 4, Input: circuit.Bernoulli,
		Init: circuit.Dirichlet, DType: nn.Float64, Seed: 1})
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2)) // same seed, same samples
	x, err := c.Sample(3, rng)
	if err != nil {
		panic(err)
	}
	for i := range 3 {
		fmt.Println("sample:", x[i*4:(i+1)*4])
	}

	// Pixels 0 and 3 observed as 1; pixels 1 and 2 unknown.
	obs := []bool{true, false, false, true}
	partial := []uint8{1, 0, 0, 1}
	y, err := c.SampleConditional(partial, obs, rng)
	if err != nil {
		panic(err)
	}
	fmt.Println("conditional sample:", y)
	m, logv, err := c.MAP(partial, obs)
	if err != nil {
		panic(err)
	}
	fmt.Printf("MAP completion: %v (log max-product %.4f)\n", m, logv[0])
	lp, err := c.LogProb(m, nil)
	if err != nil {
		panic(err)
	}
	lc, err := c.LogConditional(m, []bool{false, true, true, false}, obs)
	if err != nil {
		panic(err)
	}
	fmt.Printf("log p(x) = %.4f, log p(x_1, x_2 | x_0, x_3) = %.4f\n", lp[0], lc[0])
	// Output:
	// sample: [1 1 0 1]
	// sample: [1 1 1 1]
	// sample: [1 0 0 1]
	// conditional sample: [1 1 0 1]
	// MAP completion: [1 1 0 1] (log max-product -6.2697)
	// log p(x) = -1.9578, log p(x_1, x_2 | x_0, x_3) = -0.9019
}
