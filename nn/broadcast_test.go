package nn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// refBinary applies f to a and b broadcast, by converting every output
// multi-index into an index of each operand (NumPy's rule, written out).
func refBinary(f func(x, y float64) float64, a []float64, as []int, b []float64, bs []int) ([]int, []float64) {
	n := max(len(as), len(bs))
	pad := func(s []int) []int { return append(slices.Repeat([]int{1}, n-len(s)), s...) }
	pa, pb := pad(as), pad(bs)
	out := make([]int, n)
	size := 1
	for i := range n {
		out[i] = max(pa[i], pb[i])
		size *= out[i]
	}
	y := make([]float64, size)
	idx := make([]int, n)
	for k := range size {
		r := k
		for i := n - 1; i >= 0; i-- {
			idx[i] = r % out[i]
			r /= out[i]
		}
		at := func(s []int) int {
			o := 0
			for i := range n {
				j := idx[i]
				if s[i] == 1 {
					j = 0
				}
				o = o*s[i] + j
			}
			return o
		}
		y[k] = f(a[at(pa)], b[at(pb)])
	}
	return out, y
}

var broadcastCases = [][2][]int{
	{{2, 3}, {2, 3}},
	{{2, 3}, {3}},
	{{3}, {2, 3}},
	{{2, 1}, {1, 3}},
	{{4, 1, 3}, {2, 1}},
	{{2, 3, 4, 5}, {3, 1, 1}},
	{{2, 3, 4}, {}},
	{{}, {2, 3}},
	{{1}, {2, 2}},
	{{2, 1, 4}, {2, 3, 1}},
}

var binaryOps = []struct {
	name string
	op   func(a, b *Node) *Node
	ref  func(x, y float64) float64
}{
	{"Add", Add, func(x, y float64) float64 { return x + y }},
	{"Sub", Sub, func(x, y float64) float64 { return x - y }},
	{"Mul", Mul, func(x, y float64) float64 { return x * y }},
	{"Div", Div, func(x, y float64) float64 { return x / y }},
}

// gcRandShape is gcRand for a possibly empty (scalar) shape: a scalar is a
// one-element tensor that the caller turns into a scalar node.
func gcRandShape(rng *rand.Rand, lo, hi float64, shape []int) *tensor.Dense {
	if len(shape) == 0 {
		return gcRand(rng, lo, hi, 1)
	}
	return gcRand(rng, lo, hi, shape...)
}

// asShape reshapes x to shape, turning a one-element tensor into a scalar
// node for the empty shape.
func asShape(x *Node, shape []int) *Node {
	if slices.Equal(x.Shape(), shape) {
		return x
	}
	return Reshape(x, shape...)
}

// TestBroadcastBinary: forward against the loop definition in float64 and
// float32, and gradients of both operands by finite differences, for every
// op and pair of shapes.
func TestBroadcastBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, c := range broadcastCases {
		for _, op := range binaryOps {
			name := fmt.Sprintf("%s %v %v", op.name, c[0], c[1])
			a := gcRandShape(rng, -1, 1, c[0])
			b := gcRandShape(rng, 0.5, 1.5, c[1]) // away from 0 for Div
			build := nnBuild(func(xs []*Node) *Node {
				return op.op(asShape(xs[0], c[0]), asShape(xs[1], c[1]))
			})
			wantShape, want := refBinary(op.ref, a.Data().([]float64), c[0], b.Data().([]float64), c[1])
			for _, f32 := range []bool{false, true} {
				in := []*tensor.Dense{a, b}
				tol := 1e-15
				if f32 {
					in = []*tensor.Dense{gcCast32(a), gcCast32(b)}
					tol = 1e-6
				}
				shape, got, err := gcForward64(in, build)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !slices.Equal(shape, wantShape) {
					t.Fatalf("%s: shape %v, want %v", name, shape, wantShape)
				}
				if d := gcMaxAbsDiff(got, want); d > tol {
					t.Errorf("%s (float32 %v): max |diff| %g", name, f32, d)
				}
			}
			if e, err := gradErr([]*tensor.Dense{a, b}, build); err != nil || e > gcTol {
				t.Errorf("%s: gradient error %.3g (%v)", name, e, err)
			}
		}
	}
}

// Broadcasting a bias over a batch, twice in one graph, through a whole
// program: the parameter's gradient is the sum over the repeated axes.
func TestBroadcastBiasProgram(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	b := NewParam("b", Float64, 3, 1, 1)
	s := NewParam("s", Float64, 1, 4)
	NormalInit(b, 0, 1, rng)
	NormalInit(s, 0, 1, rng)
	g := NewGraph(Float64)
	x := g.Input("x", 2, 3, 2, 4)
	y := Mul(Add(x, g.Param(b)), g.Param(s)) // (2, 3, 2, 4)
	prog, err := g.Compile(Minimize(Sum(Square(y))))
	if err != nil {
		t.Fatal(err)
	}
	xs := make([]float64, 48)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	checkProgramGrad(t, prog, Feed{"x": xs}, []*Param{b, s}, 1e-6)
}

// Incompatible shapes panic with a *ShapeError naming the op and both
// shapes.
func TestBroadcastMismatch(t *testing.T) {
	for _, c := range [][2][]int{{{2, 3}, {2}}, {{4, 3}, {2, 3}}, {{2, 3, 4}, {3, 3}}} {
		g := NewGraph(Float32)
		a, b := g.Input("a", c[0]...), g.Input("b", c[1]...)
		err := func() (err error) {
			defer func() { err = panicError(recover()) }()
			Mul(a, b)
			return nil
		}()
		var se *ShapeError
		if !errors.As(err, &se) {
			t.Fatalf("Mul %v %v: got %v, want a *ShapeError", c[0], c[1], err)
		}
		want := fmt.Sprintf("nn: Mul: shapes %v and %v: shapes do not broadcast", c[0], c[1])
		if !strings.HasPrefix(se.Error(), want) {
			t.Errorf("error %q, want it to start with %q", se.Error(), want)
		}
	}
}
