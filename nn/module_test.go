package nn

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// gatedSum is a module of two inputs with its own Forward signature:
// x (N, D), h (N, D) -> sigmoid(x Gᵀ) ⊙ x + Proj(h), with G (D, D).
type gatedSum struct {
	Gate *Param
	Proj *Linear
}

func (m *gatedSum) Forward(x, h *Node) *Node {
	gate := Sigmoid(MatMul(x, Transpose(x.Graph().Param(m.Gate), 1, 0))) // (N, D)
	return Add(Mul(gate, x), m.Proj.Forward(h))
}

// A module whose Forward takes two inputs is discovered and named like any
// other, inside a slice of a larger struct, and its gradients are right.
func TestMultiInputModule(t *testing.T) {
	rng := rand.New(rand.NewPCG(101, 102))
	const n, d = 3, 4
	model := struct {
		Blocks []*gatedSum
		Head   *Linear
	}{Head: NewLinear(d, 2, Float64, true, rng)}
	for range 2 {
		b := &gatedSum{Gate: NewParam("gate", Float64, d, d), Proj: NewLinear(d, d, Float64, false, rng)}
		NormalInit(b.Gate, 0, 0.5, rng)
		model.Blocks = append(model.Blocks, b)
	}
	var names []string
	for _, p := range NamedParams(model) {
		names = append(names, p.Name)
	}
	want := "blocks.0.gate blocks.0.proj.weight blocks.1.gate blocks.1.proj.weight head.weight head.bias"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names:\n got %s\nwant %s", got, want)
	}

	g := NewGraph(Float64)
	x, h := g.Input("x", n, d), g.Input("h", n, d)
	for _, b := range model.Blocks {
		x = b.Forward(x, h)
	}
	prog, err := g.Compile(Minimize(Sum(Square(model.Head.Forward(x)))))
	if err != nil {
		t.Fatal(err)
	}
	feed := Feed{"x": randn(rng, n*d), "h": randn(rng, n*d)}
	checkProgramGrad(t, prog, feed, Params(model), 1e-6)
}

// Parallel feeds its input to every branch and merges them with a
// MultiModule; inside a Sequential its parameters are named by their path.
func TestParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(103, 104))
	net := NewSequential(
		&Parallel{
			Branches: []Module{NewLinear(3, 2, Float64, true, rng), Func(Tanh), NewLinear(3, 4, Float64, false, rng)},
			Merge:    FuncN(func(xs ...*Node) *Node { return Concat(1, xs...) }), // (N, 2+3+4)
		},
		NewLinear(9, 1, Float64, true, rng),
	)
	var names []string
	for _, p := range NamedParams(net) {
		names = append(names, p.Name)
	}
	want := "layers.0.branches.0.weight layers.0.branches.0.bias layers.0.branches.2.weight layers.1.weight layers.1.bias"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("names:\n got %s\nwant %s", got, want)
	}
	g := NewGraph(Float64)
	y := net.Forward(g.Input("x", 5, 3))
	if s := y.Shape(); len(s) != 2 || s[0] != 5 || s[1] != 1 {
		t.Fatalf("output shape %v, want [5 1]", s)
	}
	prog, err := g.Compile(Minimize(Sum(Square(y))))
	if err != nil {
		t.Fatal(err)
	}
	checkProgramGrad(t, prog, Feed{"x": randn(rng, 15)}, Params(net), 1e-6)
}

func randn(rng *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.NormFloat64()
	}
	return out
}
