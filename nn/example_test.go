package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
)

// A 2-layer MLP learns XOR: the training loop reads like PyTorch.
func Example_xor() {
	rng := rand.New(rand.NewPCG(42, 0))
	mlp := nn.NewSequential(
		nn.NewLinear(2, 8, nn.Float64, true, rng),
		nn.Func(nn.Tanh),
		nn.NewLinear(8, 1, nn.Float64, true, rng),
		nn.Func(nn.Sigmoid),
	)
	g := nn.NewGraph(nn.Float64)
	x := g.Input("x", 4, 2)
	y := g.Input("y", 4, 1)
	p := mlp.Forward(x)
	g.Output("p", p)
	loss := nn.Mean(nn.Square(nn.Sub(p, y)))
	prog, err := g.Compile(nn.Minimize(loss))
	if err != nil {
		panic(err)
	}
	opt := optim.NewAdam(nn.NamedParams(mlp), optim.AdamConfig{LR: 0.05})
	feed := nn.Feed{"x": []float64{0, 0, 0, 1, 1, 0, 1, 1}, "y": []float64{0, 1, 1, 0}}
	for range 500 {
		if _, err := prog.Step(feed); err != nil {
			panic(err)
		}
		opt.Step()
	}
	if err := prog.Run(feed); err != nil {
		panic(err)
	}
	out, _ := prog.Output("p")
	correct := 0
	for i, v := range out.F64 {
		pred := 0.0
		if v > 0.5 {
			pred = 1
		}
		if pred == feed["y"].([]float64)[i] {
			correct++
		}
	}
	fmt.Printf("accuracy %d/4\n", correct)
	// Output: accuracy 4/4
}
