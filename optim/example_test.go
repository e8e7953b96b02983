package optim_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/optim"
)

// Minimize f(x, y) = (x-3)² + 2(y+1)² with Adam. A real training loop gets
// the gradient from a compiled program's Step; here it is written by hand.
func Example() {
	p := nn.NewParam("xy", nn.Float64, 2)
	opt := optim.NewAdam(nn.Named(p), optim.AdamConfig{LR: 0.1})
	for range 500 {
		xy, g := p.Float64s(), p.Grad64()
		g[0] += 2 * (xy[0] - 3) // gradients accumulate, as in a program
		g[1] += 4 * (xy[1] + 1)
		opt.Step() // update, clamp to bounds, zero the gradients
	}
	fmt.Printf("x = %.4f, y = %.4f after %d steps\n", p.Float64s()[0], p.Float64s()[1], opt.Steps())
	// Output:
	// x = 3.0000, y = -1.0000 after 500 steps
}

// A bounded parameter (the clamp parameterization of circuit weights) stays
// at or above its bound after every step, whatever the update does.
func ExampleClampMin() {
	w := nn.NewParam("w", nn.Float64, 3)
	w.SetValue([]float64{0.5, 0.01, 0.2})
	w.SetMin(1.08e-19)
	opt := optim.NewSGD(nn.Named(w), optim.SGDConfig{LR: 1})
	copy(w.Grad64(), []float64{0.1, 5, 0.1}) // w[1] would become -4.99
	opt.Step()
	fmt.Println(w.Float64s())
	// Output:
	// [0.4 1.08e-19 0.1]
}

// Cosine annealing after a linear warm-up, applied per optimizer step.
func ExampleWarmUp() {
	s := optim.WarmUp{Steps: 3, Then: optim.Cosine{Base: 0.1, Min: 0.01, Steps: 4}}
	for step := range 9 {
		fmt.Printf("%d: %.4f\n", step, s.LR(step))
	}
	// Output:
	// 0: 0.0250
	// 1: 0.0500
	// 2: 0.0750
	// 3: 0.1000
	// 4: 0.0868
	// 5: 0.0550
	// 6: 0.0232
	// 7: 0.0100
	// 8: 0.0100
}

// Save the optimizer's state next to the model's parameters and restore it
// into a new optimizer.
func ExampleAdam_State() {
	w := nn.NewParam("w", nn.Float32, 2)
	opt := optim.NewAdam(nn.Named(w), optim.AdamConfig{LR: 0.01})
	copy(w.Grad32(), []float32{1, -1})
	opt.Step()

	dir, err := os.MkdirTemp("", "optim-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "checkpoint.tenpc")
	st := &nn.State{Arrays: append([]nn.Array{{Name: "w", Shape: w.Shape(), F32: w.Float32s()}}, opt.State()...)}
	if err := nn.SaveState(path, st); err != nil {
		fmt.Println(err)
		return
	}

	loaded, err := nn.LoadState(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	w2 := nn.NewParam("w", nn.Float32, 2)
	copy(w2.Float32s(), loaded.Array("w").F32)
	opt2 := optim.NewAdam(nn.Named(w2), optim.AdamConfig{LR: 0.01})
	if err := opt2.LoadState(loaded.Arrays); err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range opt2.State() {
		fmt.Println(a.Name, a.Shape)
	}
	fmt.Println("steps:", opt2.Steps())

	// A state of the wrong kind is an error, not a panic.
	sgd := optim.NewSGD(nn.Named(w2), optim.SGDConfig{})
	fmt.Println(sgd.LoadState(loaded.Arrays))
	// Output:
	// adam.step [1]
	// adam.lr [1]
	// w.adam.m [2]
	// w.adam.v [2]
	// steps: 1
	// optim: bad optimizer state: the arrays hold Adam state ("adam.step"), not SGD state (no "sgd.step")
}
