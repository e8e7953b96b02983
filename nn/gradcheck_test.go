package nn

// A finite-difference gradient checker over raw Gorgonia graphs.
//
// gradErr builds one float64 graph: the inputs (named x0, x1, ...), the
// expression under test y = build(xs), and the scalar loss
// L = Σ w ⊙ y with fixed pseudo-random weights w (so every output entry
// matters, with a different weight). The analytic gradients come from
// gorgonia.Grad, read with gorgonia.Read; the numerical ones from central
// differences (L(x+h) − L(x−h)) / 2h with h = 1e-6, re-running the same
// TapeMachine with Reset after every gorgonia.Let of a perturbed input.
//
// The error of one entry is |analytic − numeric| / max(1, |analytic|,
// |numeric|): relative for gradients larger than 1, absolute below (where a
// relative error of a near-zero gradient measures only rounding).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gcTol is the largest accepted gradient error. With h = 1e-6 the
// truncation error is ~h²·|third derivative of L| ≈ 1e-12 and the rounding
// error ~1e-16·|L|/h ≈ 1e-9 for the losses used here.
const gcTol = 1e-6

// gcStep is the finite-difference step.
const gcStep = 1e-6

// gcBuild builds the expression under test from the input nodes.
type gcBuild func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error)

// gcRand returns a float64 tensor of the given shape with entries
// uniform in [lo, hi), from a seeded source.
func gcRand(rng *rand.Rand, lo, hi float64, shape ...int) *tensor.Dense {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = lo + (hi-lo)*rng.Float64()
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// gcScalar reads a scalar value (gorgonia scalar or 0-D/1-element tensor).
func gcScalar(v gorgonia.Value) (float64, error) {
	if v == nil {
		return 0, fmt.Errorf("nil value")
	}
	d, err := floatData(opName("scalarOf"), v)
	if err != nil {
		return 0, err
	}
	switch s := d.(type) {
	case []float64:
		if len(s) == 1 {
			return s[0], nil
		}
	case []float32:
		if len(s) == 1 {
			return float64(s[0]), nil
		}
	}
	return 0, fmt.Errorf("value of shape %v is not a scalar", v.Shape())
}

// gcFloat64s copies the data of a float64 value.
func gcFloat64s(v gorgonia.Value) ([]float64, error) {
	d, err := floatData(opName("float64s"), v)
	if err != nil {
		return nil, err
	}
	s, ok := d.([]float64)
	if !ok {
		return nil, fmt.Errorf("value is %T, want []float64", d)
	}
	return append([]float64(nil), s...), nil
}

// gcInputs adds one named float64 input per tensor to g.
func gcInputs(g *gorgonia.ExprGraph, prefix string, vals []*tensor.Dense) []*gorgonia.Node {
	xs := make([]*gorgonia.Node, len(vals))
	for i, v := range vals {
		xs[i] = gorgonia.NewTensor(g, v.Dtype(), v.Dims(), gorgonia.WithShape(v.Shape()...),
			gorgonia.WithName(fmt.Sprintf("%s%d", prefix, i)), gorgonia.WithValue(v.Clone()))
	}
	return xs
}

// gradErr returns the largest gradient error over all entries of all inputs.
func gradErr(inputs []*tensor.Dense, build gcBuild) (float64, error) {
	g := gorgonia.NewGraph()
	xs := gcInputs(g, "x", inputs)
	y, err := build(g, xs)
	if err != nil {
		return 0, fmt.Errorf("build: %w", err)
	}
	// L = Σ w ⊙ ravel(y), with ravel to 1-D so only Gorgonia's 1-D Sum is used.
	total := y.Shape().TotalSize()
	flat := y
	if !y.IsScalar() {
		if flat, err = gorgonia.Reshape(y, tensor.Shape{total}); err != nil {
			return 0, fmt.Errorf("ravel output %v: %w", y.Shape(), err)
		}
	} else if flat, err = gorgonia.Reshape(y, tensor.Shape{1}); err != nil {
		return 0, fmt.Errorf("ravel scalar output: %w", err)
	}
	if total == 0 {
		total = 1
	}
	wrng := rand.New(rand.NewPCG(7, 11))
	w := gorgonia.NewTensor(g, tensor.Float64, 1, gorgonia.WithShape(total), gorgonia.WithName("gc_w"),
		gorgonia.WithValue(gcRand(wrng, 0.5, 1.5, total)))
	prod, err := gorgonia.HadamardProd(flat, w)
	if err != nil {
		return 0, fmt.Errorf("weight output: %w", err)
	}
	loss, err := gorgonia.Sum(prod)
	if err != nil {
		return 0, fmt.Errorf("sum loss: %w", err)
	}
	grads, err := gorgonia.Grad(loss, xs...)
	if err != nil {
		return 0, fmt.Errorf("grad: %w", err)
	}
	var lossV gorgonia.Value
	gorgonia.Read(loss, &lossV)
	gradV := make([]gorgonia.Value, len(grads))
	for i := range grads {
		gorgonia.Read(grads[i], &gradV[i])
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	run := func() error {
		m.Reset()
		return m.RunAll()
	}
	if err := run(); err != nil {
		return 0, fmt.Errorf("run: %w", err)
	}
	analytic := make([][]float64, len(xs))
	for i := range xs {
		if analytic[i], err = gcFloat64s(gradV[i]); err != nil {
			return 0, fmt.Errorf("gradient of x%d: %w", i, err)
		}
		if len(analytic[i]) != inputs[i].Shape().TotalSize() {
			return 0, fmt.Errorf("gradient of x%d has %d entries, input has shape %v", i, len(analytic[i]), inputs[i].Shape())
		}
	}
	worst := 0.0
	for i := range xs {
		base := inputs[i].Data().([]float64)
		for j := range base {
			var f [2]float64
			for k, h := range []float64{gcStep, -gcStep} {
				pert := inputs[i].Clone().(*tensor.Dense)
				pert.Data().([]float64)[j] = base[j] + h
				if err := gorgonia.Let(xs[i], pert); err != nil {
					return 0, err
				}
				if err := run(); err != nil {
					return 0, fmt.Errorf("run perturbed: %w", err)
				}
				if f[k], err = gcScalar(lossV); err != nil {
					return 0, err
				}
			}
			if err := gorgonia.Let(xs[i], inputs[i].Clone()); err != nil {
				return 0, err
			}
			num := (f[0] - f[1]) / (2 * gcStep)
			a := analytic[i][j]
			e := math.Abs(a-num) / math.Max(1, math.Max(math.Abs(a), math.Abs(num)))
			if math.IsNaN(e) {
				return math.Inf(1), fmt.Errorf("x%d[%d]: analytic %v numeric %v", i, j, a, num)
			}
			worst = math.Max(worst, e)
		}
	}
	return worst, nil
}

// gradCheck fails t when the gradient error exceeds gcTol.
func gradCheck(t *testing.T, inputs []*tensor.Dense, build gcBuild) {
	t.Helper()
	e, err := gradErr(inputs, build)
	if err != nil {
		t.Fatalf("gradient check: %v", err)
	}
	if e > gcTol {
		t.Fatalf("gradient error %.3g > %g", e, gcTol)
	}
}

// gcForward builds build(xs) on inputs of their own dtype, runs it once, and
// returns the output's shape and data.
func gcForward(inputs []*tensor.Dense, build gcBuild) (tensor.Shape, any, error) {
	g := gorgonia.NewGraph()
	xs := gcInputs(g, "x", inputs)
	y, err := build(g, xs)
	if err != nil {
		return nil, nil, err
	}
	var yv gorgonia.Value
	gorgonia.Read(y, &yv)
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		return nil, nil, err
	}
	d, err := floatData(opName("gcForward"), yv)
	if err != nil {
		return nil, nil, err
	}
	return y.Shape().Clone(), d, nil
}

// gcMaxAbsDiff is the largest |a−b|; +Inf if lengths differ or a NaN appears
// where the other has none.
func gcMaxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	worst := 0.0
	for i := range a {
		if math.IsNaN(a[i]) != math.IsNaN(b[i]) {
			return math.Inf(1)
		}
		if a[i] == b[i] { // equal infinities
			continue
		}
		worst = math.Max(worst, math.Abs(a[i]-b[i]))
	}
	return worst
}

// TestGradCheckDetectsWrongGradient makes sure the checker can fail: an op
// whose backward is deliberately wrong (scatterAdd used as the gradient of
// a gather with different indices) must be reported.
func TestGradCheckDetectsWrongGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := gcRand(rng, -1, 1, 3, 4)
	e, err := gradErr([]*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
		op := &wrongGradOp{gatherOp{inShape: tensor.Shape{3, 4}, axis: 1, indices: []int{2, 0}}}
		return gorgonia.ApplyOp(op, xs[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if e < 0.1 {
		t.Fatalf("checker accepted a wrong gradient (error %.3g)", e)
	}
	// And accepts the right one.
	gradCheck(t, []*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return gather(xs[0], 1, []int{2, 0})
	})
}

// wrongGradOp is gather with a backward that scatters to the wrong indices.
type wrongGradOp struct{ gatherOp }

func (op *wrongGradOp) String() string { return "wrongGrad" + op.gatherOp.String() }
func (op *wrongGradOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	adj := &gatherOp{inShape: op.inShape, axis: op.axis, indices: []int{0, 2}, scatter: true}
	d, err := gorgonia.ApplyOp(adj, grad)
	return gorgonia.Nodes{d}, err
}

// nnBuild adapts a build over this package's Nodes to the checker: the raw
// inputs are wrapped in a Graph of their dtype, and a wiring panic is
// returned as an error.
func nnBuild(build func(xs []*Node) *Node) gcBuild {
	return func(eg *gorgonia.ExprGraph, raw []*gorgonia.Node) (y *gorgonia.Node, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		g := NewGraph(dtypeOf(raw[0].Dtype()))
		g.g = eg
		xs := make([]*Node, len(raw))
		for i, n := range raw {
			xs[i] = g.wrap(n)
		}
		return build(xs).n, nil
	}
}

// gcCast32 returns x's values as a float32 tensor of the same shape.
func gcCast32(x *tensor.Dense) *tensor.Dense {
	src := x.Data().([]float64)
	dst := make([]float32, len(src))
	for i, v := range src {
		dst[i] = float32(v)
	}
	return tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.WithBacking(dst))
}

// gcForward64 runs build on inputs and returns the output as float64s,
// whatever its dtype.
func gcForward64(inputs []*tensor.Dense, build gcBuild) ([]int, []float64, error) {
	shape, d, err := gcForward(inputs, build)
	if err != nil {
		return nil, nil, err
	}
	switch v := d.(type) {
	case []float64:
		return shape, v, nil
	case []float32:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return shape, out, nil
	}
	return nil, nil, fmt.Errorf("output data %T", d)
}
