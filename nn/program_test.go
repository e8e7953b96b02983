package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/internal/vec"
	"gorgonia.org/tensor"
)

// checkProgramGrad compares Step's gradients with central finite differences
// of Run's loss, for every parameter element of ps (float64 programs only).
func checkProgramGrad(t *testing.T, prog *Program, feed Feed, ps []*Param, tol float64) {
	t.Helper()
	for _, p := range ps {
		p.ZeroGrad()
	}
	if _, err := prog.Step(feed); err != nil {
		t.Fatal(err)
	}
	const h = 1e-5
	for _, p := range ps {
		w, g := p.Float64s(), p.Grad64()
		for i := range w {
			orig := w[i]
			w[i] = orig + h
			if err := prog.Run(feed); err != nil {
				t.Fatal(err)
			}
			up, _ := prog.Loss()
			w[i] = orig - h
			if err := prog.Run(feed); err != nil {
				t.Fatal(err)
			}
			down, _ := prog.Loss()
			w[i] = orig
			fd := (up - down) / (2 * h)
			if err := relErr(g[i], fd); err > tol {
				t.Errorf("%s[%d]: analytic %.12g, finite difference %.12g (rel. error %.2g)", p.Name(), i, g[i], fd, err)
			}
		}
	}
}

func relErr(a, b float64) float64 {
	d := math.Abs(a - b)
	s := math.Max(math.Abs(a), math.Abs(b))
	if s < 1e-8 {
		return d
	}
	return d / s
}

func TestLinearGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	mlp := NewSequential(NewLinear(3, 4, Float64, true, rng), NewLinear(4, 2, Float64, true, rng))
	g := NewGraph(Float64)
	x := g.Input("x", 5, 3)
	y := g.Input("y", 5, 2)
	loss := Mean(Square(Sub(mlp.Forward(x), y)))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float64, 15)
	ys := make([]float64, 10)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	for i := range ys {
		ys[i] = rng.NormFloat64()
	}
	checkProgramGrad(t, prog, Feed{"x": xs, "y": ys}, Params(mlp), 1e-6)
}

func TestParamsNames(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type block struct {
		InputLayer *Linear
		CP         *Linear `nn:"cp"`
		Skip       *Linear `nn:"-"`
	}
	m := struct {
		Layers []Module
		Head   block
	}{
		Layers: []Module{NewLinear(2, 2, Float32, true, rng), NewLinear(2, 2, Float32, false, rng)},
		Head:   block{NewLinear(2, 2, Float32, false, rng), NewLinear(2, 2, Float32, false, rng), NewLinear(2, 2, Float32, false, rng)},
	}
	var names []string
	for _, p := range NamedParams(m) {
		names = append(names, p.Name)
	}
	want := "layers.0.weight layers.0.bias layers.1.weight head.input_layer.weight head.cp.weight"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("names:\n got %s\nwant %s", got, want)
	}
}

func TestDuplicateInputName(t *testing.T) {
	g := NewGraph(Float32)
	g.Input("x", 2)
	g.Input("x", 3)
	if _, err := g.Compile(); err == nil || !strings.Contains(err.Error(), `two inputs named "x"`) {
		t.Fatalf("Compile with duplicate inputs: err = %v", err)
	}
}

func TestShapeMismatchNamesOpAndShapes(t *testing.T) {
	g := NewGraph(Float32)
	a := g.Input("a", 2, 3)
	b := g.Input("b", 4, 5)
	defer func() {
		r := recover()
		var se *ShapeError
		if err, ok := r.(error); !ok || !errors.As(err, &se) {
			t.Fatalf("MatMul of mismatched shapes: recovered %v, want *ShapeError", r)
		}
		msg := se.Error()
		for _, want := range []string{"MatMul", "[2 3]", "[4 5]"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
	}()
	MatMul(a, b)
}

func TestFeedErrors(t *testing.T) {
	g := NewGraph(Float32)
	x := g.Input("x", 2, 2)
	g.Output("y", Exp(x))
	prog, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		feed Feed
		want string
	}{
		{Feed{"z": []float32{1}}, `no input "z"`},
		{Feed{"x": []float64{1, 2, 3, 4}}, "want []float32"},
		{Feed{"x": []float32{1, 2, 3}}, "3 values for shape (2, 2)"},
	} {
		if err := prog.Run(c.feed); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%v): err = %v, want %q", c.feed, err, c.want)
		}
	}
	if err := prog.Run(Feed{"x": []float32{0, 1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	out, err := prog.Output("y")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out.F32 {
		if want := float32(math.Exp(float64(i))); math.Abs(float64(v-want)) > 1e-5*float64(want) {
			t.Errorf("y[%d] = %v, want %v", i, v, want)
		}
	}
}

// Running a program twice with new data must recompute (Gorgonia's RunAll
// without Reset silently does nothing; Program hides that).
func TestRunRecomputes(t *testing.T) {
	g := NewGraph(Float64)
	x := g.Input("x", 3)
	g.Output("s", Sum(x))
	prog, err := g.Compile()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]float64{{1, 2, 3}, {4, 5, 6}} {
		if err := prog.Run(Feed{"x": c}); err != nil {
			t.Fatal(err)
		}
		out, _ := prog.Output("s")
		if want := c[0] + c[1] + c[2]; out.F64[0] != want {
			t.Errorf("sum = %v, want %v", out.F64[0], want)
		}
	}
}

// nanGradOp is the identity with a backward that yields NaN.
type nanGradOp struct{}

func (nanGradOp) Name() string                       { return "nanGrad" }
func (nanGradOp) OutShape(in [][]int) ([]int, error) { return in[0], nil }
func (nanGradOp) DiffWRT(int) bool                   { return true }
func (nanGradOp) Forward(in []Buf, out Buf)          { copy(out.F64, in[0].F64) }
func (nanGradOp) Backward(in []Buf, out, g Buf, dIn []Buf) {
	for i := range dIn[0].F64 {
		dIn[0].F64[i] += math.NaN()
	}
}

// A NaN gradient with a finite loss stops Step with an error naming the
// parameter, and leaves the accumulated gradients untouched.
func TestStepNonFiniteGradient(t *testing.T) {
	w := NewParam("layer.weight", Float64, 2)
	w.SetValue([]float64{1, 2})
	g := NewGraph(Float64)
	x := g.Input("x", 2)
	loss := Sum(Mul(g.Param(w), x))
	loss = Add(loss, Sum(Apply(nanGradOp{}, g.Param(w))))
	prog, err := g.Compile(Minimize(loss))
	if err != nil {
		t.Fatal(err)
	}
	_, err = prog.Step(Feed{"x": []float64{1, 1}})
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Param != "layer.weight" {
		t.Fatalf("err = %v, want a NonFiniteError naming layer.weight", err)
	}
	for i, v := range w.Grad64() {
		if v != 0 {
			t.Errorf("grad[%d] = %v after a failed step, want 0", i, v)
		}
	}
}

// nonFinite splits large gradients in chunks checked in parallel; it must
// still report the first offending element.
func TestNonFiniteFirstAcrossChunks(t *testing.T) {
	const n = 5 * vec.MinChunk
	d := make([]float32, n)
	v := tensor.New(tensor.WithShape(n), tensor.WithBacking(d))
	if _, bad := nonFinite(v); bad {
		t.Fatal("all-zero gradient reported non-finite")
	}
	d[n-1] = float32(math.Inf(1))
	d[3*vec.MinChunk+7] = float32(math.NaN())
	if i, bad := nonFinite(v); !bad || i != 3*vec.MinChunk+7 {
		t.Fatalf("nonFinite = %d, %v; want %d", i, bad, 3*vec.MinChunk+7)
	}
	d[5] = float32(math.Inf(-1))
	if i, _ := nonFinite(v); i != 5 {
		t.Fatalf("nonFinite = %d, want 5", i)
	}
}
