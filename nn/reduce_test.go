package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refReduce reduces x (given shape) along axis with a plain loop over every
// multi-index: kind is "sum", "max" or "lse" (the latter in the textbook
// max-shifted form).
func refReduce(kind string, x []float64, shape []int, axis int) []float64 {
	outShape := append(append([]int(nil), shape[:axis]...), shape[axis+1:]...)
	outSize := 1
	for _, d := range outShape {
		outSize *= d
	}
	out := make([]float64, outSize)
	strides := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	idx := make([]int, len(outShape))
	for o := range outSize {
		// decode o into idx (row-major over outShape)
		r := o
		for i := len(outShape) - 1; i >= 0; i-- {
			idx[i] = r % outShape[i]
			r /= outShape[i]
		}
		at := func(k int) float64 {
			off := 0
			for i, j := 0, 0; i < len(shape); i++ {
				if i == axis {
					off += k * strides[i]
					continue
				}
				off += idx[j] * strides[i]
				j++
			}
			return x[off]
		}
		switch kind {
		case "sum":
			for k := range shape[axis] {
				out[o] += at(k)
			}
		case "max":
			out[o] = math.Inf(-1)
			for k := range shape[axis] {
				out[o] = math.Max(out[o], at(k))
			}
		case "lse":
			m := math.Inf(-1)
			for k := range shape[axis] {
				m = math.Max(m, at(k))
			}
			if math.IsInf(m, -1) {
				out[o] = m
				continue
			}
			sum := 0.0
			for k := range shape[axis] {
				sum += math.Exp(at(k) - m)
			}
			out[o] = m + math.Log(sum)
		}
	}
	return out
}

var reduceShapes = [][]int{{5}, {3, 4}, {2, 3, 4}, {2, 3, 4, 5}, {2, 1, 3, 2, 3}}

func reduceFn(kind string) func(*gorgonia.Node, int) (*gorgonia.Node, error) {
	switch kind {
	case "sum":
		return sumAxis
	case "max":
		return maxAxis
	}
	return logSumExp
}

// TestReduceForward checks sum, max and logsumexp on every axis of tensors
// of rank 1 to 5 against loops, in float64 and float32.
func TestReduceForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kind := range []string{"sum", "max", "lse"} {
		for _, shape := range reduceShapes {
			for axis := range shape {
				x := gcRand(rng, -3, 3, shape...)
				want := refReduce(kind, x.Data().([]float64), shape, axis)
				for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
					name := fmt.Sprintf("%s/%v/axis%d/%v", kind, shape, axis, dt)
					in := x
					tol := 1e-12
					if dt == tensor.Float32 {
						in = gcFloat32(x)
						tol = 1e-5
					}
					gotShape, got, err := gcForward([]*tensor.Dense{in}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
						return reduceFn(kind)(xs[0], axis)
					})
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if wantShape := dropAxis(tensor.Shape(shape), axis); gotShape.TotalSize() != len(want) || len(gotShape) != len(wantShape) {
						t.Fatalf("%s: shape %v, want %v", name, gotShape, wantShape)
					}
					if d := gcMaxAbsDiff(gcAsFloat64(got), want); d > tol {
						t.Fatalf("%s: max |diff| %g", name, d)
					}
				}
			}
		}
	}
}

// TestReduceNegativeAxis: axis -1 is the last axis.
func TestReduceNegativeAxis(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := gcRand(rng, -1, 1, 2, 3, 4)
	_, got, err := gcForward([]*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return sumAxis(xs[0], -1)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := gcMaxAbsDiff(gcAsFloat64(got), refReduce("sum", x.Data().([]float64), []int{2, 3, 4}, 2)); d > 1e-12 {
		t.Fatalf("axis -1: max |diff| %g", d)
	}
}

// TestReduceGradients: finite-difference checks of sum, max and logsumexp
// on every axis of 2-D, 3-D and 4-D tensors (the middle axes of the 4-D
// tensor are the ones Gorgonia gets wrong).
func TestReduceGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, kind := range []string{"sum", "max", "lse"} {
		for _, shape := range [][]int{{3, 4}, {2, 3, 4}, {2, 3, 2, 3}} {
			for axis := range shape {
				t.Run(fmt.Sprintf("%s/%v/axis%d", kind, shape, axis), func(t *testing.T) {
					// distinct values (no ties for max) spread by more than the FD step
					x := gcRand(rng, -3, 3, shape...)
					gradCheck(t, []*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
						return reduceFn(kind)(xs[0], axis)
					})
				})
			}
		}
	}
}

// TestLogSumExpInfinities: −Inf entries contribute nothing and give zero
// gradient, a row of only −Inf gives −Inf and no NaN anywhere, huge values
// do not overflow.
func TestLogSumExpInfinities(t *testing.T) {
	inf := math.Inf(-1)
	x := tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float64{
		0, inf, math.Log(3), // log(1+3)
		inf, inf, inf, // all −Inf
		1000, 1000, inf, // 1000 + log 2, no overflow
	}))
	g := gorgonia.NewGraph()
	xs := gcInputs(g, "x", []*tensor.Dense{x})
	y, err := logSumExp(xs[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	w := gorgonia.NewTensor(g, tensor.Float64, 1, gorgonia.WithShape(3), gorgonia.WithName("w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, 1, 1}))))
	prod := gorgonia.Must(gorgonia.HadamardProd(y, w))
	loss := gorgonia.Must(gorgonia.Sum(prod))
	grads, err := gorgonia.Grad(loss, xs[0])
	if err != nil {
		t.Fatal(err)
	}
	var yv, gv gorgonia.Value
	gorgonia.Read(y, &yv)
	gorgonia.Read(grads[0], &gv)
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	ys, _ := gcFloat64s(yv)
	want := []float64{math.Log(4), inf, 1000 + math.Log(2)}
	if d := gcMaxAbsDiff(ys, want); d > 1e-12 {
		t.Fatalf("logsumexp %v, want %v", ys, want)
	}
	gs, _ := gcFloat64s(gv)
	wantG := []float64{0.25, 0, 0.75, 0, 0, 0, 0.5, 0.5, 0}
	if d := gcMaxAbsDiff(gs, wantG); d > 1e-12 {
		t.Fatalf("gradient %v, want %v (softmax, zero for −Inf entries and all −Inf rows)", gs, wantG)
	}
}

// TestExpandAxis checks expandAxis against a loop and its gradient (a sum).
func TestExpandAxis(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := gcRand(rng, -1, 1, 2, 3)
	for axis := range 3 {
		shape, got, err := gcForward([]*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
			return expandAxis(xs[0], axis, 4)
		})
		if err != nil {
			t.Fatal(err)
		}
		if shape[axis] != 4 || shape.TotalSize() != 24 {
			t.Fatalf("axis %d: shape %v", axis, shape)
		}
		// every slice along the new axis equals x
		pre, n, post := splitAxis(shape, axis)
		d := gcAsFloat64(got)
		xd := x.Data().([]float64)
		for p := range pre {
			for i := range n {
				for q := range post {
					if d[(p*n+i)*post+q] != xd[p*post+q] {
						t.Fatalf("axis %d: entry (%d,%d,%d) = %v, want %v", axis, p, i, q, d[(p*n+i)*post+q], xd[p*post+q])
					}
				}
			}
		}
		gradCheck(t, []*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
			return expandAxis(xs[0], axis, 4)
		})
	}
}

// TestReduceErrors: bad axes and scalars are errors naming the op and shape.
func TestReduceErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("x"))
	for _, f := range []struct {
		name string
		fn   func(*gorgonia.Node, int) (*gorgonia.Node, error)
	}{{"sumAxis", sumAxis}, {"maxAxis", maxAxis}, {"logSumExp", logSumExp}} {
		_, err := f.fn(x, 2)
		if err == nil || !gcContainsAll(err.Error(), f.name, "(2, 3)") {
			t.Fatalf("%s axis 2 of (2,3): error %v", f.name, err)
		}
	}
	s := gorgonia.NewScalar(g, tensor.Float64, gorgonia.WithName("s"))
	if _, err := sumAxis(s, 0); err == nil {
		t.Fatal("sumAxis of a scalar: no error")
	}
	xi := gorgonia.NewTensor(g, tensor.Int, 1, gorgonia.WithShape(3), gorgonia.WithName("xi"))
	if _, err := logSumExp(xi, 0); err == nil {
		t.Fatal("logSumExp of an int tensor: no error")
	}
}

func gcFloat32(x *tensor.Dense) *tensor.Dense {
	d := x.Data().([]float64)
	f := make([]float32, len(d))
	for i, v := range d {
		f[i] = float32(v)
	}
	return tensor.New(tensor.WithShape(x.Shape().Clone()...), tensor.WithBacking(f))
}

func gcAsFloat64(d any) []float64 {
	switch s := d.(type) {
	case []float64:
		return s
	case []float32:
		out := make([]float64, len(s))
		for i, v := range s {
			out[i] = float64(v)
		}
		return out
	}
	return nil
}

func gcContainsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// BenchmarkLogSumExp: a (F=64, B=256, K=32) float32 tensor reduced over K
// (last axis) and over B (a middle axis), forward+backward.
func BenchmarkLogSumExp(b *testing.B) {
	for _, axis := range []int{2, 1} {
		b.Run(fmt.Sprintf("axis%d", axis), func(b *testing.B) {
			benchGraph(b, [][]int{{64, 256, 32}}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) {
				return logSumExp(xs[0], axis)
			})
		})
	}
}

// Sum and Mean of every element use Gorgonia's Sum over all axes, which is
// right at ranks 4 and 5, unlike its middle-axis reductions.
func TestSumAllAxes(t *testing.T) {
	for _, shape := range [][]int{{2, 3, 4, 5}, {2, 3, 4, 3, 2}} {
		n := tensor.Shape(shape).TotalSize()
		vals := make([]float64, n)
		want := 0.0
		for i := range vals {
			vals[i] = float64((i * 37) % 101)
			want += vals[i]
		}
		for _, c := range []struct {
			op   func(*Node) *Node
			want float64
		}{{Sum, want}, {Mean, want / float64(n)}} {
			got, err := runConst(Float64, func(g *Graph) *Node { return c.op(g.Const(vals, shape...)) })
			if err != nil || len(got) != 1 || math.Abs(got[0]-c.want) > 1e-9 {
				t.Errorf("%v: got %v (%v), want %v", shape, got, err, c.want)
			}
		}
	}
}
