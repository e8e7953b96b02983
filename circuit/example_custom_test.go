package circuit_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
	"github.com/tenpc/tenpc/regiongraph"
)

// cptLayer is cirkit's CP-T layer, written from nn ops: the Hadamard
// product of a fold's inputs, then a weighted sum of its units,
//
//	out_k = Σ_j W[f, k, j] · ∏_a x_{a,j}
type cptLayer struct {
	Weight *nn.Param // (F, Kout, Kin); saved as "layers.<i>.weight"
	spec   circuit.LayerSpec
}

func newCPT(s circuit.LayerSpec) (circuit.InnerLayer, error) {
	return &cptLayer{Weight: s.NewWeight("weight", s.Folds, s.Kout, s.Kin), spec: s}, nil
}

// Forward: x (F, A, B, Kin) log-values -> Σ_a (F, B, Kin) -> (F, B, Kout).
func (l *cptLayer) Forward(x *nn.Node) *nn.Node {
	prod := nn.SumAxis(x, 1) // log ∏_a x_a
	return circuit.LogEinsumExp("fbj,fkj->fbk", prod, l.spec.Weights(x.Graph(), l.Weight))
}

// Descent lets Sample descend: unit j with term log W[f, k, j] + Σ_a in_{a,j},
// and every input continues from its unit j.
func (l *cptLayer) Descent() func(d *circuit.Downward, f, k int, in [][]float64, choice []int) {
	w, s := l.spec.EffectiveWeights(l.Weight), l.spec
	t := make([]float64, s.Kin)
	return func(d *circuit.Downward, f, k int, in [][]float64, choice []int) {
		for j := range t {
			t[j] = math.Log(w[(f*s.Kout+k)*s.Kin+j])
			for a := range in {
				t[j] += in[a][j]
			}
		}
		j := d.Pick(t)
		for a := range choice {
			choice[a] = j
		}
	}
}

func init() {
	// Each unit is a convex combination of products of normalized inputs
	// over disjoint scopes: normalized under softmax weights.
	circuit.RegisterLayer("cp-t", circuit.LayerDef{New: newCPT, Normalized: true})
}

// A custom sum-product layer (cirkit's CP-T, above) registered by name,
// trained with Adam inside a circuit next to the built-in layers (the
// input layer and the mixing layers run fused), then queried: the
// distribution sums to 1 over all 64 states, it samples, and MAP, which
// needs a MaxForward the layer does not have, says so.
func ExampleRegisterLayer_custom() {
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 2, W: 3})
	if err != nil {
		panic(err)
	}
	c, err := circuit.Build(rg, circuit.Options{Layer: "cp-t", Units: 4, Input: circuit.Bernoulli,
		Param: circuit.Softmax, DType: nn.Float64, Seed: 1})
	if err != nil {
		panic(err)
	}
	// 200 images whose pixels copy their left neighbour with probability 0.9.
	rng := rand.New(rand.NewPCG(7, 7))
	data := make([]uint8, 200*6)
	for i := range data {
		data[i] = uint8(rng.IntN(2))
		if i%3 != 0 && rng.Float64() < 0.9 {
			data[i] = data[i-1]
		}
	}
	prog, err := c.Compile(200, true)
	if err != nil {
		panic(err)
	}
	opt := optim.NewAdam(c.Params(), optim.AdamConfig{LR: 0.05})
	for step := range 150 {
		nll, err := prog.Step(data)
		if err != nil {
			panic(err)
		}
		opt.Step()
		if step == 0 || step == 149 {
			fmt.Printf("step %3d: NLL %.3f nats\n", step+1, nll)
		}
	}
	all := make([]uint8, 64*6)
	for x := range 64 {
		for v := range 6 {
			all[x*6+v] = uint8(x >> (5 - v) & 1)
		}
	}
	lp, err := c.LogProb(all, nil)
	if err != nil {
		panic(err)
	}
	sum := 0.0
	for _, l := range lp {
		sum += math.Exp(l)
	}
	fmt.Printf("Σ_x p(x) = %.6f over %d states\n", sum, len(lp))
	s, err := c.Sample(2, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	fmt.Println("samples:", s[:6], s[6:])
	_, _, err = c.MAP(all[:6], make([]bool, 6))
	fmt.Println(err)
	// Output:
	// step   1: NLL 4.233 nats
	// step 150: NLL 2.363 nats
	// Σ_x p(x) = 1.000000 over 64 states
	// samples: [1 1 0 1 1 1] [1 1 1 0 0 0]
	// circuit: MAP: layer cp-t (layers.0, *circuit_test.cptLayer) does not implement circuit.MaxProduct (MaxForward), which MAP needs
}
