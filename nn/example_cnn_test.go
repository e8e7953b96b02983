package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
)

// bars draws n noisy 8×8 images of a bar 4 pixels long, horizontal (label
// 0) or vertical (label 1), at a random place: x (n, 1, 8, 8), labels (n).
func bars(rng *rand.Rand, n int) ([]float32, []int) {
	const side, length = 8, 4
	x := make([]float32, n*side*side)
	labels := make([]int, n)
	for i := range n {
		img := x[i*side*side : (i+1)*side*side]
		for j := range img {
			img[j] = float32(0.2 * rng.NormFloat64())
		}
		labels[i] = rng.IntN(2)
		r, c := rng.IntN(side-length+1), rng.IntN(side)
		for k := range length {
			if labels[i] == 0 {
				img[c*side+r+k] = 1 // row c, columns r..r+3
			} else {
				img[(r+k)*side+c] = 1 // column c, rows r..r+3
			}
		}
	}
	return x, labels
}

// A small CNN tells horizontal from vertical bars. One model, two
// programs: the training program (cross-entropy, dropout on) and the
// evaluation program (logits, dropout off) share its parameters.
func Example_cnn() {
	rng := rand.New(rand.NewPCG(1, 2))
	model := nn.NewSequential(
		nn.NewConv2d(nn.Conv2dConfig{In: 1, Out: 4, Kernel: [2]int{3, 3}, Padding: [2]int{1, 1}}, nn.Float32, rng), // (N, 4, 8, 8)
		nn.Func(nn.ReLU),
		nn.NewMaxPool2d(2, 2, 0), // (N, 4, 4, 4)
		nn.Func(nn.Flatten),      // (N, 64)
		nn.NewDropout(0.2, rng),
		nn.NewLinear(64, 2, nn.Float32, true, rng), // (N, 2)
	)

	const batch, test = 32, 500
	g := nn.NewGraph(nn.Float32)
	loss := nn.CrossEntropy(model.Forward(g.Input("x", batch, 1, 8, 8)), g.Labels("y", batch))
	train, err := g.Compile(nn.Minimize(loss))
	if err != nil {
		panic(err)
	}
	ge := nn.NewGraph(nn.Float32)
	ge.Output("logits", model.Forward(ge.Input("x", test, 1, 8, 8)))
	eval, err := ge.Compile()
	if err != nil {
		panic(err)
	}

	opt := optim.NewAdam(nn.NamedParams(model), optim.AdamConfig{LR: 0.01})
	for range 400 {
		x, y := bars(rng, batch)
		if _, err := train.Step(nn.Feed{"x": x, "y": y}); err != nil {
			panic(err)
		}
		opt.Step()
	}

	x, y := bars(rng, test)
	if err := eval.Run(nn.Feed{"x": x}); err != nil {
		panic(err)
	}
	logits, err := eval.Output("logits")
	if err != nil {
		panic(err)
	}
	fmt.Printf("test accuracy %.2f\n", nn.Accuracy(logits, y))
	// Output: test accuracy 1.00
}
