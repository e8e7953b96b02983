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

// refConcat joins xs along axis with explicit multi-indices: element idx of
// the result comes from the operand whose block along axis holds idx[axis].
func refConcat(axis int, xs [][]float64, shapes [][]int) ([]int, []float64) {
	out := slices.Clone(shapes[0])
	for _, s := range shapes[1:] {
		out[axis] += s[axis]
	}
	size := 1
	for _, d := range out {
		size *= d
	}
	y := make([]float64, size)
	idx := make([]int, len(out))
	for k := range size {
		r := k
		for i := len(out) - 1; i >= 0; i-- {
			idx[i] = r % out[i]
			r /= out[i]
		}
		j, op := idx[axis], 0
		for j >= shapes[op][axis] {
			j -= shapes[op][axis]
			op++
		}
		o := 0
		for i, d := range shapes[op] {
			v := idx[i]
			if i == axis {
				v = j
			}
			o = o*d + v
		}
		y[k] = xs[op][o]
	}
	return out, y
}

// TestConcat: forward against the index definition in float64 and float32,
// gradients by finite differences, on every axis of ranks 1 to 4.
func TestConcat(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	for _, base := range [][]int{{3}, {2, 3}, {2, 3, 4}, {2, 1, 3, 2}} {
		for axis := range base {
			sizes := []int{1, 3, 2}
			var in []*tensor.Dense
			var data [][]float64
			var shapes [][]int
			for _, n := range sizes {
				s := slices.Clone(base)
				s[axis] = n
				x := gcRand(rng, -1, 1, s...)
				in, data, shapes = append(in, x), append(data, x.Data().([]float64)), append(shapes, s)
			}
			name := fmt.Sprintf("%v axis %d", base, axis)
			ax := axis
			if axis == len(base)-1 {
				ax = -1 // negative axes count from the end
			}
			build := nnBuild(func(xs []*Node) *Node { return Concat(ax, xs...) })
			wantShape, want := refConcat(axis, data, shapes)
			checkForward(t, name, in, build, wantShape, want)
			gradCheck(t, in, build)
		}
	}
}

// TestStack: n operands of one shape gain a new axis of size n at any
// position; scalars stack into a vector.
func TestStack(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	for _, base := range [][]int{{}, {3}, {2, 3}, {2, 3, 2}} {
		for axis := 0; axis <= len(base); axis++ {
			var in []*tensor.Dense
			var data [][]float64
			var shapes [][]int
			// Stacking at axis is concatenating operands with a 1 inserted there.
			s1 := slices.Insert(slices.Clone(base), axis, 1)
			for range 3 {
				x := gcRandShape(rng, -1, 1, base)
				in, data, shapes = append(in, x), append(data, x.Data().([]float64)), append(shapes, s1)
			}
			name := fmt.Sprintf("%v axis %d", base, axis)
			build := nnBuild(func(xs []*Node) *Node {
				for i := range xs {
					xs[i] = asShape(xs[i], base)
				}
				return Stack(axis, xs...)
			})
			wantShape, want := refConcat(axis, data, shapes)
			checkForward(t, name, in, build, wantShape, want)
			gradCheck(t, in, build)
		}
	}
}

// checkForward runs build in float64 and float32 and compares it with the
// reference.
func checkForward(t *testing.T, name string, in []*tensor.Dense, build gcBuild, wantShape []int, want []float64) {
	t.Helper()
	for _, f32 := range []bool{false, true} {
		xs, tol := in, 0.0
		if f32 {
			xs, tol = nil, 1e-6
			for _, x := range in {
				xs = append(xs, gcCast32(x))
			}
		}
		shape, got, err := gcForward64(xs, build)
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
}

func TestConcatStackErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		build func(g *Graph) *Node
		want  string
	}{
		{"rank", func(g *Graph) *Node { return Concat(0, g.Input("a", 2, 3), g.Input("b", 2)) }, "rank"},
		{"other dimension", func(g *Graph) *Node { return Concat(1, g.Input("a", 2, 3), g.Input("b", 3, 3)) }, "dimension 0"},
		{"axis", func(g *Graph) *Node { return Concat(2, g.Input("a", 2, 3), g.Input("b", 2, 3)) }, "axis 2 out of range"},
		{"stack shapes", func(g *Graph) *Node { return Stack(0, g.Input("a", 2, 3), g.Input("b", 2, 4)) }, "shapes differ"},
		{"stack axis", func(g *Graph) *Node { return Stack(3, g.Input("a", 2, 3)) }, "axis 3 out of range"},
		{"none", func(g *Graph) *Node { return Concat(0) }, "no operands"},
	} {
		err := func() (err error) {
			defer func() { err = panicError(recover()) }()
			c.build(NewGraph(Float32))
			return nil
		}()
		var se *ShapeError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a *ShapeError mentioning %q", c.name, err, c.want)
		}
	}
}
