package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// refGather selects indices along axis with a loop over every output
// multi-index.
func refGather(x []float64, shape []int, axis int, idx []int) ([]int, []float64) {
	outShape := append([]int(nil), shape...)
	outShape[axis] = len(idx)
	size := 1
	for _, d := range outShape {
		size *= d
	}
	out := make([]float64, size)
	multi := make([]int, len(shape))
	for o := range out {
		r := o
		for i := len(outShape) - 1; i >= 0; i-- {
			multi[i] = r % outShape[i]
			r /= outShape[i]
		}
		off := 0
		for i, d := range shape {
			v := multi[i]
			if i == axis {
				v = idx[v]
			}
			off = off*d + v
		}
		out[o] = x[off]
	}
	return outShape, out
}

// gatherIndices returns indices for an axis of size n: a reversal with one
// repeat (so gradients must add up) and one omission when n > 2.
func gatherIndices(n int) []int {
	idx := []int{n - 1}
	for i := n - 1; i >= 0; i-- {
		if i != n/2 || n <= 2 {
			idx = append(idx, i)
		}
	}
	return idx
}

// TestGatherForward: every axis of 1-D to 4-D tensors, float64 and float32,
// repeated and omitted indices, against a loop.
func TestGatherForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, shape := range [][]int{{5}, {3, 4}, {2, 3, 4}, {2, 3, 4, 3}} {
		for axis := range shape {
			idx := gatherIndices(shape[axis])
			x := gcRand(rng, -1, 1, shape...)
			wantShape, want := refGather(x.Data().([]float64), shape, axis, idx)
			for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
				in := x
				if dt == tensor.Float32 {
					in = gcFloat32(x)
				}
				gotShape, got, err := gcForward([]*tensor.Dense{in}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
					return gather(xs[0], axis, idx)
				})
				if err != nil {
					t.Fatalf("%v axis %d %v: %v", shape, axis, dt, err)
				}
				if !gotShape.Eq(tensor.Shape(wantShape)) {
					t.Fatalf("%v axis %d: shape %v, want %v", shape, axis, gotShape, wantShape)
				}
				if d := gcMaxAbsDiff(gcAsFloat64(got), want); d > 1e-7 {
					t.Fatalf("%v axis %d %v: max |diff| %g", shape, axis, dt, d)
				}
			}
		}
	}
}

// TestGatherGradients: finite differences on every axis of 2-D, 3-D and 4-D
// tensors, with a repeated index, and through a second gather (the
// backward of the backward).
func TestGatherGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, shape := range [][]int{{5}, {3, 4}, {2, 3, 4}, {2, 3, 4, 3}} {
		for axis := range shape {
			t.Run(fmt.Sprintf("%v/axis%d", shape, axis), func(t *testing.T) {
				x := gcRand(rng, -1, 1, shape...)
				gradCheck(t, []*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
					y, err := gather(xs[0], axis, gatherIndices(shape[axis]))
					if err != nil {
						return nil, err
					}
					return gorgonia.Square(y) // nonlinear, so the gradient depends on x
				})
			})
		}
	}
	// gather of negative axis equals the last axis
	x := gcRand(rng, -1, 1, 2, 3)
	_, a, err := gcForward([]*tensor.Dense{x}, func(g *gorgonia.ExprGraph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return gather(xs[0], -1, []int{2, 0})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, want := refGather(x.Data().([]float64), []int{2, 3}, 1, []int{2, 0})
	if d := gcMaxAbsDiff(gcAsFloat64(a), want); d != 0 {
		t.Fatalf("axis -1: max |diff| %g", d)
	}
}

// TestScatterAddIsAdjoint: ⟨gather(x), y⟩ = ⟨x, scatterAdd(y)⟩ on every
// axis, with repeated indices (the defining property of the backward).
func TestScatterAddIsAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	shape := tensor.Shape{2, 3, 4, 3}
	for axis := range shape {
		idx := gatherIndices(shape[axis])
		gs := shape.Clone()
		gs[axis] = len(idx)
		x := gcRand(rng, -1, 1, shape...)
		y := gcRand(rng, -1, 1, gs...)
		op := &gatherOp{inShape: shape, axis: axis, indices: idx}
		adj := &gatherOp{inShape: shape, axis: axis, indices: idx, scatter: true}
		gx, err := op.Do(x)
		if err != nil {
			t.Fatal(err)
		}
		sy, err := adj.Do(y)
		if err != nil {
			t.Fatal(err)
		}
		if !sy.Shape().Eq(shape) || !gx.Shape().Eq(gs) {
			t.Fatalf("axis %d: shapes %v %v", axis, gx.Shape(), sy.Shape())
		}
		dot := func(a, b []float64) (s float64) {
			for i := range a {
				s += a[i] * b[i]
			}
			return s
		}
		l := dot(gx.Data().([]float64), y.Data().([]float64))
		r := dot(x.Data().([]float64), sy.Data().([]float64))
		if d := l - r; d > 1e-12 || d < -1e-12 {
			t.Fatalf("axis %d: <gather x, y> = %v, <x, scatter y> = %v", axis, l, r)
		}
	}
}

// TestGatherErrors: bad axis, indices out of range, no indices, scalars.
func TestGatherErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float64, 2, gorgonia.WithShape(2, 3), gorgonia.WithName("x"))
	for _, c := range []struct {
		axis int
		idx  []int
		want []string
	}{
		{2, []int{0}, []string{"gather", "axis 2", "(2, 3)"}},
		{1, []int{0, 3}, []string{"gather", "index 3", "(2, 3)"}},
		{0, []int{-1}, []string{"gather", "index -1", "(2, 3)"}},
		{0, nil, []string{"gather", "no indices", "(2, 3)"}},
	} {
		_, err := gather(x, c.axis, c.idx)
		if err == nil || !gcContainsAll(err.Error(), c.want...) {
			t.Fatalf("gather axis %d idx %v: error %v, want %q", c.axis, c.idx, err, c.want)
		}
	}
}

// BenchmarkGather: gathering 2·64 folds' inputs from a (B=256, 128, K=32)
// float32 tensor along the middle axis, forward+backward.
func BenchmarkGather(b *testing.B) {
	idx := make([]int, 128)
	for i := range idx {
		idx[i] = (i * 37) % 128
	}
	benchGraph(b, [][]int{{256, 128, 32}}, func(xs []*gorgonia.Node) (*gorgonia.Node, error) {
		return gather(xs[0], 1, idx)
	})
}
