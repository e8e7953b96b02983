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

// identOp is a test Identity op; when on is false it is an ordinary op that
// copies its input and adds the gradient through.
type identOp struct {
	on       bool
	fwd, bwd *int
	shape    []int
}

func (o identOp) Name() string                       { return "testIdent" }
func (o identOp) OutShape(in [][]int) ([]int, error) { return o.shape, nil }
func (o identOp) DiffWRT(int) bool                   { return true }
func (o identOp) Identity() bool                     { return o.on }
func (o identOp) Forward(in []Buf, out Buf)          { *o.fwd++; copy(out.F64, in[0].F64) }
func (o identOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	*o.bwd++
	for i, v := range g.F64 {
		dIn[0].F64[i] += v
	}
}

// An Identity op passes its input on without running, and its consumers'
// summed gradient becomes the parameter's; Step then hands that buffer to a
// zeroed parameter instead of copying it. Gradients must equal the ordinary
// op's exactly, accumulate across Steps, and read as zero after ZeroGrad.
func TestFusedIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, 15)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	w := NewParam("w", Float64, 3, 4)
	NormalInit(w, 0, 1, rng)
	grads := map[bool][]float64{}
	for _, on := range []bool{false, true} {
		var calls, bwd, idFwd, idBwd int
		op := matmulOp{&calls, &bwd}
		g := NewGraph(Float64)
		x := g.Input("x", 5, 3)
		wi := Apply(identOp{on: on, fwd: &idFwd, bwd: &idBwd, shape: []int{3, 4}}, g.Param(w))
		y1 := Apply(op, x, wi)
		y2 := Apply(op, x, wi)
		loss := Add(Sum(Square(y1)), Sum(Exp(Scale(y2, 0.1))))
		prog, err := g.Compile(Minimize(loss))
		if err != nil {
			t.Fatal(err)
		}
		checkProgramGrad(t, prog, Feed{"x": xs}, []*Param{w}, 1e-6)
		w.ZeroGrad()
		if _, err := prog.Step(Feed{"x": xs}); err != nil {
			t.Fatal(err)
		}
		once := append([]float64(nil), w.Grad64()...)
		grads[on] = once
		if on && (idFwd != 0 || idBwd != 0) {
			t.Errorf("identity ran forward %d and backward %d times, want 0", idFwd, idBwd)
		}
		if !on && (idFwd == 0 || idBwd == 0) {
			t.Errorf("ordinary op ran forward %d and backward %d times", idFwd, idBwd)
		}
		// A second Step without ZeroGrad adds: exactly twice the gradient.
		if _, err := prog.Step(Feed{"x": xs}); err != nil {
			t.Fatal(err)
		}
		for i, v := range w.Grad64() {
			if v != 2*once[i] {
				t.Fatalf("on=%v: accumulated grad[%d] = %v, want %v", on, i, v, 2*once[i])
			}
		}
		// ZeroGrad leaves the old values in the buffer; after the swap the
		// program holds that buffer, and its next Step must not see them.
		w.ZeroGrad()
		for range 2 {
			if _, err := prog.Step(Feed{"x": xs}); err != nil {
				t.Fatal(err)
			}
		}
		for i, v := range w.Grad64() {
			if v != 2*once[i] {
				t.Fatalf("on=%v: grad[%d] = %v after ZeroGrad and two Steps, want %v", on, i, v, 2*once[i])
			}
		}
		w.ZeroGrad()
		for i, v := range w.Grad64() {
			if v != 0 {
				t.Fatalf("on=%v: grad[%d] = %v after ZeroGrad", on, i, v)
			}
		}
	}
	for i := range grads[true] {
		if grads[true][i] != grads[false][i] {
			t.Fatalf("grad[%d]: identity %v, ordinary op %v", i, grads[true][i], grads[false][i])
		}
	}
}

// An Identity op whose output feeds a stock op gets Gorgonia's gradient:
// its Backward runs, and the gradient is still exact.
func TestFusedIdentityStockConsumer(t *testing.T) {
	var idFwd, idBwd int
	w := NewParam("w", Float64, 2)
	w.SetValue([]float64{3, -4})
	g := NewGraph(Float64)
	wi := Apply(identOp{on: true, fwd: &idFwd, bwd: &idBwd, shape: []int{2}}, g.Param(w))
	prog, err := g.Compile(Minimize(Sum(Square(wi))))
	if err != nil {
		t.Fatal(err)
	}
	loss, err := prog.Step(Feed{})
	if err != nil {
		t.Fatal(err)
	}
	if loss != 25 {
		t.Errorf("loss = %v, want 25", loss)
	}
	if gw := w.Grad64(); gw[0] != 6 || gw[1] != -8 {
		t.Errorf("grad = %v, want [6 -8]", gw)
	}
	if idFwd != 0 || idBwd != 1 {
		t.Errorf("identity ran forward %d and backward %d times, want 0 and 1", idFwd, idBwd)
	}
}

// rowsOp is a test op that gathers rows of its (N, K) input; as a
// FreshWriter (fresh) it writes the first gradient of a marked row.
type rowsOp struct {
	rows  []int
	k     int
	fresh bool
}

func (o rowsOp) Name() string                       { return "testRows" }
func (o rowsOp) OutShape(in [][]int) ([]int, error) { return []int{len(o.rows), o.k}, nil }
func (o rowsOp) DiffWRT(int) bool                   { return true }
func (o rowsOp) WritesFresh(int) bool               { return o.fresh }
func (o rowsOp) Forward(in []Buf, out Buf) {
	for j, r := range o.rows {
		copy(out.F64[j*o.k:(j+1)*o.k], in[0].F64[r*o.k:(r+1)*o.k])
	}
}
func (o rowsOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	d := dIn[0]
	for j, r := range o.rows {
		set := d.Fresh != nil && d.Fresh[r]
		if set {
			d.Fresh[r] = false
		}
		for c := range o.k {
			if set {
				d.F64[r*o.k+c] = g.F64[j*o.k+c]
			} else {
				d.F64[r*o.k+c] += g.F64[j*o.k+c]
			}
		}
	}
}

// FreshWriter consumers write the first contribution to each slice of a
// gradient buffer instead of adding into a cleared one; slices nobody
// writes must still read as zero, even when the buffer held leftovers (here
// a parameter gradient handed back by an Identity swap). Gradients must
// equal the clearing path's exactly.
func TestFusedFreshWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	xs := make([]float64, 8)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	w := NewParam("w", Float64, 4, 3)   // through an Identity, gathered directly
	w1 := NewParam("w1", Float64, 2, 3) // behind a fused producer
	NormalInit(w, 0, 1, rng)
	NormalInit(w1, 0, 1, rng)
	want := map[bool][2][]float64{}
	for _, fresh := range []bool{false, true} {
		var calls, bwd, idFwd, idBwd int
		g := NewGraph(Float64)
		x := g.Input("x", 4, 2)
		wi := Apply(identOp{on: true, fwd: &idFwd, bwd: &idBwd, shape: []int{4, 3}}, g.Param(w))
		h := Apply(matmulOp{&calls, &bwd}, x, g.Param(w1)) // (4, 3)
		a := Apply(rowsOp{rows: []int{0, 1}, k: 3, fresh: fresh}, wi)
		b := Apply(rowsOp{rows: []int{1, 2, 1}, k: 3, fresh: fresh}, wi)
		c := Apply(rowsOp{rows: []int{2, 0}, k: 3, fresh: fresh}, h)
		d := Apply(rowsOp{rows: []int{0}, k: 3, fresh: fresh}, h)
		loss := Add(Add(Sum(Square(a)), Sum(Exp(Scale(b, 0.3)))), Add(Sum(Square(c)), Sum(Exp(d))))
		prog, err := g.Compile(Minimize(loss))
		if err != nil {
			t.Fatal(err)
		}
		checkProgramGrad(t, prog, Feed{"x": xs}, []*Param{w, w1}, 1e-6)
		w.ZeroGrad()
		w1.ZeroGrad()
		if _, err := prog.Step(Feed{"x": xs}); err != nil {
			t.Fatal(err)
		}
		want[fresh] = [2][]float64{append([]float64(nil), w.Grad64()...), append([]float64(nil), w1.Grad64()...)}
		for c := range 3 {
			if v := w.Grad64()[9+c]; v != 0 {
				t.Errorf("fresh=%v: gradient of the row nobody reads = %v, want 0", fresh, v)
			}
		}
		// Leftovers in the parameter's buffer go to the program at the next
		// swap; the row nobody writes must come back as zero.
		for i := range w.Grad64() {
			w.Grad64()[i] = 7
		}
		w.ZeroGrad()
		for range 2 {
			if _, err := prog.Step(Feed{"x": xs}); err != nil {
				t.Fatal(err)
			}
		}
		for i, v := range w.Grad64() {
			if v != 2*want[fresh][0][i] {
				t.Fatalf("fresh=%v: grad[%d] = %v after two Steps, want %v", fresh, i, v, 2*want[fresh][0][i])
			}
		}
	}
	for k := range 2 {
		for i := range want[true][k] {
			if want[true][k][i] != want[false][k][i] {
				t.Fatalf("param %d grad[%d]: fresh writes %v, cleared buffer %v", k, i, want[true][k][i], want[false][k][i])
			}
		}
	}
}
