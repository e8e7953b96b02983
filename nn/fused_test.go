package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// matmulOp is a test Fused op: out (N, M) = x (N, K) · w (K, M).
type matmulOp struct{ calls, bwdCalls *int }

func (matmulOp) Name() string { return "testMatmul" }
func (matmulOp) OutShape(in [][]int) ([]int, error) {
	if len(in) != 2 || len(in[0]) != 2 || len(in[1]) != 2 || in[0][1] != in[1][0] {
		return nil, fmt.Errorf("want (N, K) and (K, M)")
	}
	return []int{in[0][0], in[1][1]}, nil
}
func (matmulOp) DiffWRT(int) bool { return true }
func (o matmulOp) Forward(in []Buf, out Buf) {
	*o.calls++
	x, w := in[0], in[1]
	n, k, m := x.Shape[0], x.Shape[1], w.Shape[1]
	for i := range n {
		for j := range m {
			s := 0.0
			for l := range k {
				s += x.F64[i*k+l] * w.F64[l*m+j]
			}
			out.F64[i*m+j] = s
		}
	}
}
func (o matmulOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	*o.bwdCalls++
	x, w := in[0], in[1]
	n, k, m := x.Shape[0], x.Shape[1], w.Shape[1]
	for i := range n {
		for j := range m {
			for l := range k {
				if dIn[0].F64 != nil {
					dIn[0].F64[i*k+l] += g.F64[i*m+j] * w.F64[l*m+j]
				}
				dIn[1].F64[l*m+j] += g.F64[i*m+j] * x.F64[i*k+l]
			}
		}
	}
}

// A fused op feeding two fused consumers takes its gradient by token (summed
// in its own buffer); a fused op feeding a stock op takes Gorgonia's. Both
// must give exact gradients.
func TestFusedGradientPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var calls, bwd int
	op := matmulOp{&calls, &bwd}
	w1 := NewParam("w1", Float64, 3, 4)
	w2 := NewParam("w2", Float64, 4, 2)
	w3 := NewParam("w3", Float64, 4, 3)
	for _, p := range []*Param{w1, w2, w3} {
		NormalInit(p, 0, 1, rng)
	}
	g := NewGraph(Float64)
	x := g.Input("x", 5, 3)
	h := Apply(op, x, g.Param(w1))
	y1 := Apply(op, h, g.Param(w2))
	y2 := Apply(op, h, g.Param(w3))
	loss := Add(Sum(Square(y1)), Sum(Exp(Scale(y2, 0.1))))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	if s := h.n.Op().(fusedFwd).s; !s.outToken {
		t.Error("h feeds only fused ops but its gradient does not travel by token")
	}
	if s := y1.n.Op().(fusedFwd).s; s.outToken {
		t.Error("y1 feeds a stock op but its gradient travels by token")
	}
	xs := make([]float64, 15)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	checkProgramGrad(t, prog, Feed{"x": xs}, []*Param{w1, w2, w3}, 1e-6)
	// Forward ran once per Run/Step; backward once per run of each op.
	if calls != bwd {
		t.Errorf("forward ran %d times, backward %d: each backward must run once per forward", calls, bwd)
	}
}

// A fused op whose output is the loss gets Gorgonia's seed gradient.
func TestFusedAsLoss(t *testing.T) {
	var calls, bwd int
	w := NewParam("w", Float64, 2, 1)
	w.SetValue([]float64{2, 3})
	g := NewGraph(Float64)
	x := g.Input("x", 1, 2)
	y := Apply(matmulOp{&calls, &bwd}, x, g.Param(w))
	prog, err := g.Compile(Minimize(Reshape(y)))
	if err != nil {
		t.Fatal(err)
	}
	loss, err := prog.Step(Feed{"x": []float64{5, 7}})
	if err != nil {
		t.Fatal(err)
	}
	if loss != 31 {
		t.Errorf("loss = %v, want 31", loss)
	}
	if gw := w.Grad64(); gw[0] != 5 || gw[1] != 7 {
		t.Errorf("grad = %v, want [5 7]", gw)
	}
}
