package nn

import (
	"fmt"
	"math"
	"testing"
)

// Graph.Const used to make a Gorgonia constant outside the graph, so any op
// whose operands were all constants, Output of a constant and fused ops on a
// constant panicked with "No Graph Supplied". Each case builds such a graph,
// runs it and checks the value.
func TestConstWorksEverywhere(t *testing.T) {
	for _, dt := range []DType{Float32, Float64} {
		for _, c := range []struct {
			name  string
			build func(g *Graph) *Node
			want  []float64
		}{
			{"exp of a const", func(g *Graph) *Node { return Exp(g.Const([]float64{0, 1}, 2)) }, []float64{1, math.E}},
			{"output of a const", func(g *Graph) *Node { return g.Const([]float64{1, 2, 3, 4}, 2, 2) }, []float64{1, 2, 3, 4}},
			{"scalar const", func(g *Graph) *Node { return g.Const([]float64{2.5}) }, []float64{2.5}},
			{"const plus const", func(g *Graph) *Node {
				return Add(g.Const([]float64{1, 2}, 2), g.Const([]float64{10, 20}, 2))
			}, []float64{11, 22}},
			{"sum of a const", func(g *Graph) *Node { return Sum(g.Const([]float64{1, 2, 3}, 3)) }, []float64{6}},
			{"scaled const", func(g *Graph) *Node { return Scale(g.Const([]float64{1, 2}, 2), 3) }, []float64{3, 6}},
			{"logsumexp of a const", func(g *Graph) *Node { return LogSumExp(g.Const([]float64{0, 0}, 2), 0) }, []float64{math.Ln2}},
			{"einsum of consts", func(g *Graph) *Node {
				return Einsum("i,i->", g.Const([]float64{1, 2}, 2), g.Const([]float64{3, 4}, 2))
			}, []float64{11}},
			{"fused op on a const", func(g *Graph) *Node {
				var calls, bwd int
				return Apply(matmulOp{&calls, &bwd}, g.Const([]float64{1, 2}, 1, 2), g.Const([]float64{3, 4}, 2, 1))
			}, []float64{11}},
		} {
			if dt == Float32 && c.name == "fused op on a const" {
				continue // matmulOp is a float64 test op
			}
			t.Run(dt.String()+"/"+c.name, func(t *testing.T) {
				got, err := runConst(dt, c.build)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.want) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
				for i := range got {
					if math.Abs(got[i]-c.want[i]) > 1e-6 {
						t.Fatalf("got %v, want %v", got, c.want)
					}
				}
			})
		}
	}
}

// runConst builds one output, compiles and runs the graph, recovering a
// build panic into an error.
func runConst(dt DType, build func(g *Graph) *Node) (out []float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicError(r)
		}
	}()
	g := NewGraph(dt)
	g.Output("y", build(g))
	prog, err := g.Compile()
	if err != nil {
		return nil, err
	}
	if err := prog.Run(nil); err != nil {
		return nil, err
	}
	b, err := prog.Output("y")
	if err != nil {
		return nil, err
	}
	return b.Float64s(), nil
}

// A const takes part in a loss: it gets no gradient, the parameter does.
func TestConstInLoss(t *testing.T) {
	w := NewParam("w", Float64, 2)
	w.SetValue([]float64{1, 2})
	g := NewGraph(Float64)
	loss := Sum(Mul(g.Param(w), g.Const([]float64{3, 5}, 2)))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	l, err := prog.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	if l != 13 {
		t.Errorf("loss %v, want 13", l)
	}
	if gw := w.Grad64(); gw[0] != 3 || gw[1] != 5 {
		t.Errorf("gradient %v, want [3 5]", gw)
	}
}

// panicError turns a recovered value into an error (nil for no panic).
func panicError(r any) error {
	if r == nil {
		return nil
	}
	if e, ok := r.(error); ok {
		return e
	}
	return fmt.Errorf("panic: %v", r)
}
