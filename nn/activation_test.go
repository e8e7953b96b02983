package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// awayFromZero pushes entries out of (−0.05, 0.05) so relu's kink is never
// within a finite-difference step.
func awayFromZero(x *tensor.Dense) *tensor.Dense {
	for i, v := range x.Data().([]float64) {
		if math.Abs(v) < 0.05 {
			x.Data().([]float64)[i] = math.Copysign(0.05, v) + v
		}
	}
	return x
}

// refSoftmax computes (log-)softmax along axis with loops, from the
// definition exp(x_i)/Σ exp(x_j) (values kept small so it is safe).
func refSoftmax(x []float64, shape []int, axis int, logSpace bool) []float64 {
	pre, n, post := splitAxis(tensor.Shape(shape), axis)
	out := make([]float64, len(x))
	for p := range pre {
		for q := range post {
			z := 0.0
			for i := range n {
				z += math.Exp(x[(p*n+i)*post+q])
			}
			for i := range n {
				k := (p*n+i)*post + q
				if logSpace {
					out[k] = x[k] - math.Log(z)
				} else {
					out[k] = math.Exp(x[k]) / z
				}
			}
		}
	}
	return out
}

// TestElementwiseActivations: forward against math, gradient by finite
// differences, in float64 and float32.
func TestElementwiseActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []struct {
		name string
		fn   func(*gorgonia.Node) (*gorgonia.Node, error)
		ref  func(float64) float64
	}{
		{"relu", relu, func(v float64) float64 { return math.Max(v, 0) }},
		{"tanh", tanh, math.Tanh},
		{"sigmoid", sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
	} {
		x := awayFromZero(gcRand(rng, -3, 3, 3, 4))
		want := make([]float64, 12)
		for i, v := range x.Data().([]float64) {
			want[i] = c.ref(v)
		}
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			in, tol := x, 1e-12
			if dt == tensor.Float32 {
				in, tol = gcFloat32(x), 1e-6
			}
			_, got, err := gcForward([]*tensor.Dense{in}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
				return c.fn(xs[0])
			})
			if err != nil {
				t.Fatalf("%s %v: %v", c.name, dt, err)
			}
			if d := gcMaxAbsDiff(gcAsFloat64(got), want); d > tol {
				t.Fatalf("%s %v: max |diff| %g", c.name, dt, d)
			}
		}
		t.Run(c.name, func(t *testing.T) {
			gradCheck(t, []*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
				return c.fn(xs[0])
			})
		})
	}
}

// TestSoftmax: forward against the definition and gradient by finite
// differences on every axis of 1-D to 4-D tensors, float64 and float32.
func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, logSpace := range []bool{false, true} {
		name, fn := "softmax", softmax
		if logSpace {
			name, fn = "logSoftmax", logSoftmax
		}
		for _, shape := range [][]int{{5}, {3, 4}, {2, 3, 4}, {2, 3, 2, 3}} {
			for axis := range shape {
				x := gcRand(rng, -2, 2, shape...)
				want := refSoftmax(x.Data().([]float64), shape, axis, logSpace)
				for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
					in, tol := x, 1e-12
					if dt == tensor.Float32 {
						in, tol = gcFloat32(x), 1e-6
					}
					gotShape, got, err := gcForward([]*tensor.Dense{in}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
						return fn(xs[0], axis)
					})
					if err != nil {
						t.Fatalf("%s %v axis %d %v: %v", name, shape, axis, dt, err)
					}
					if !gotShape.Eq(tensor.Shape(shape)) {
						t.Fatalf("%s %v axis %d: shape %v", name, shape, axis, gotShape)
					}
					if d := gcMaxAbsDiff(gcAsFloat64(got), want); d > tol {
						t.Fatalf("%s %v axis %d %v: max |diff| %g", name, shape, axis, dt, d)
					}
				}
				t.Run(fmt.Sprintf("%s/%v/axis%d", name, shape, axis), func(t *testing.T) {
					gradCheck(t, []*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
						return fn(xs[0], axis)
					})
				})
			}
		}
	}
}

// TestSoftmaxStable: inputs of ±1000 (exp overflows float64) and −Inf
// entries give the exact distribution, no NaN.
func TestSoftmaxStable(t *testing.T) {
	inf := math.Inf(-1)
	x := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float64{
		1000, 1000, -1000,
		inf, 0, math.Log(3),
	}))
	_, got, err := gcForward([]*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return softmax(xs[0], 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.5, 0.5, 0, 0, 0.25, 0.75}
	if d := gcMaxAbsDiff(gcAsFloat64(got), want); d > 1e-12 {
		t.Fatalf("softmax %v, want %v", got, want)
	}
	_, got, err = gcForward([]*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return logSoftmax(xs[0], 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantLog := []float64{-math.Ln2, -math.Ln2, -2000 - math.Ln2, inf, math.Log(0.25), math.Log(0.75)}
	if d := gcMaxAbsDiff(gcAsFloat64(got), wantLog); d > 1e-12 {
		t.Fatalf("logSoftmax %v, want %v", got, wantLog)
	}
}

// TestActivationErrors: non-float input and bad axes are errors.
func TestActivationErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	xi := gorgonia.NewTensor(g, tensor.Int, 1, gorgonia.WithShape(3), gorgonia.WithName("xi"))
	if _, err := relu(xi); err == nil || !gcContainsAll(err.Error(), "relu", "int") {
		t.Fatalf("relu of int: %v", err)
	}
	x := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("x"))
	if _, err := softmax(x, 2); err == nil || !gcContainsAll(err.Error(), "softmax", "(2, 3)") {
		t.Fatalf("softmax axis 2 of (2,3): %v", err)
	}
}
