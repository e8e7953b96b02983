package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Lookup reads table n at the category in column cols[n] of each sample,
// with the categories on axis 1 or 2 of the tables, and its gradient
// (finite differences) scatters back into those entries.
func TestLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, c, d, m = 3, 4, 2, 5
	cols := []int{2, 0, 2} // table 0 and 2 read column 2, table 1 column 0
	x := make([]uint8, m*3)
	for i := range x {
		x[i] = uint8(rng.IntN(c))
	}
	for _, axis := range []int{1, 2} {
		shape := []int{n, c, d}
		if axis == 2 {
			shape = []int{n, d, c}
		}
		tab := NewParam("tables", Float64, shape...)
		NormalInit(tab, 0, 1, rng)
		g := NewGraph(Float64)
		xn := g.InputOf("x", Uint8, m, 3)
		out := Lookup(g.Param(tab), axis, xn, cols) // (n, m, d)
		g.Output("out", out)
		w := g.Input("w", n, m, d)
		prog, err := g.Compile(Minimize(Sum(Square(Mul(out, w)))))
		if err != nil {
			t.Fatal(err)
		}
		feed := Feed{"x": x, "w": randn(rng, n*m*d)}
		if err := prog.Run(feed); err != nil {
			t.Fatal(err)
		}
		got, _ := prog.Output("out")
		v := tab.Value()
		for i := range n {
			for j := range m {
				cat := int(x[j*3+cols[i]])
				for k := range d {
					want := v[(i*c+cat)*d+k]
					if axis == 2 {
						want = v[(i*d+k)*c+cat]
					}
					if g := got.F64[(i*m+j)*d+k]; g != want {
						t.Fatalf("axis %d: out[%d,%d,%d] = %v, want %v", axis, i, j, k, g, want)
					}
				}
			}
		}
		checkProgramGrad(t, prog, feed, []*Param{tab}, 1e-6)
	}
}

// ToFloat converts category data; StopGradient passes values but no
// gradient: d/dw Σ w·stop(w) = stop(w) = w, not 2w.
func TestToFloatAndStopGradient(t *testing.T) {
	g := NewGraph(Float64)
	x := g.InputOf("x", Int, 3)
	f := ToFloat(x)
	w := NewParam("w", Float64, 3)
	w.SetValue([]float64{1, -2, 3})
	wn := g.Param(w)
	loss := Add(Sum(Mul(wn, StopGradient(wn))), Sum(Mul(wn, f)))
	g.Output("f", f)
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	w.ZeroGrad()
	if _, err := prog.Step(Feed{"x": []int{4, 0, 7}}); err != nil {
		t.Fatal(err)
	}
	out, _ := prog.Output("f")
	for i, want := range []float64{4, 0, 7} {
		if out.F64[i] != want {
			t.Errorf("ToFloat[%d] = %v, want %v", i, out.F64[i], want)
		}
	}
	for i, want := range []float64{1 + 4, -2 + 0, 3 + 7} {
		if got := w.Grad64()[i]; got != want {
			t.Errorf("grad[%d] = %v, want %v", i, got, want)
		}
	}
}

// In a graph that mixes fused and stock ops every way round, the gradient
// of every parameter is exact: a fused output read by a fused op and a
// stock op at once, a stock op between two fused ops, a fused op reading a
// stock op's output.
func TestMixedFusedStockGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	var calls, bwd int
	op := matmulOp{&calls, &bwd}
	w1 := NewParam("w1", Float64, 3, 4)
	w2 := NewParam("w2", Float64, 4, 4)
	w3 := NewParam("w3", Float64, 4, 2)
	for _, p := range []*Param{w1, w2, w3} {
		NormalInit(p, 0, 0.5, rng)
	}
	g := NewGraph(Float64)
	x := g.Input("x", 5, 3)
	h := Apply(op, x, g.Param(w1))         // fused
	s := Tanh(h)                           // stock, reads a fused output that a fused op reads too
	k := Apply(op, s, g.Param(w2))         // fused, reads a stock output
	y := Apply(op, Add(k, h), g.Param(w3)) // fused after a stock Add of a fused and ... fused
	loss := Add(Sum(Square(y)), Sum(Apply(op, h, g.Param(w2))))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	checkProgramGrad(t, prog, Feed{"x": randn(rng, 15)}, []*Param{w1, w2, w3}, 1e-6)
}

// Exp and Log match math on tensors and scalars, with finite-difference
// gradients.
func TestExpLog(t *testing.T) {
	w := NewParam("w", Float64, 2, 3)
	w.SetValue([]float64{0.5, 1, 2, 0.1, 3, 0.7})
	g := NewGraph(Float64)
	wn := g.Param(w)
	e, l := Exp(wn), Log(wn)
	s := Exp(Sum(Log(wn)))
	g.Output("e", e)
	g.Output("l", l)
	g.Output("s", s)
	loss := Add(Add(Sum(Mul(e, l)), s), Log(Sum(e)))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(nil); err != nil {
		t.Fatal(err)
	}
	eo, _ := prog.Output("e")
	lo, _ := prog.Output("l")
	so, _ := prog.Output("s")
	prod := 1.0
	for i, v := range w.Value() {
		if eo.F64[i] != math.Exp(v) || lo.F64[i] != math.Log(v) {
			t.Errorf("Exp/Log(%v) = %v, %v", v, eo.F64[i], lo.F64[i])
		}
		prod *= v
	}
	if math.Abs(so.F64[0]-prod) > 1e-12 {
		t.Errorf("exp Σ log w = %v, want %v", so.F64[0], prod)
	}
	checkProgramGrad(t, prog, nil, []*Param{w}, 1e-6)
}

// A broadcast op with a StopGradient operand passes the other one its
// gradient: d/dx Σ (x − stop(max_j x)) = 1 for every element.
func TestBroadcastWithStoppedOperand(t *testing.T) {
	w := NewParam("w", Float64, 2, 3)
	w.SetValue([]float64{1, 5, 2, -1, 0, 3})
	g := NewGraph(Float64)
	x := g.Param(w)
	m := Reshape(StopGradient(MaxAxis(x, 1)), 2, 1)
	prog, err := g.Compile(Minimize(Sum(Add(Sub(x, m), Mul(m, x)))))
	if err != nil {
		t.Fatal(err)
	}
	w.ZeroGrad()
	if _, err := prog.Step(nil); err != nil {
		t.Fatal(err)
	}
	// d/dx_ij [x_ij − m_i + m_i·x_ij] = 1 + m_i with m = (5, 3).
	for i, want := range []float64{6, 6, 6, 4, 4, 4} {
		if got := w.Grad64()[i]; got != want {
			t.Errorf("grad[%d] = %v, want %v", i, got, want)
		}
	}
}
