package nn

// Joining tensors along an axis. Each operand is viewed as (pre, n_i, post)
// around the axis, as the reductions do, so one kernel serves every rank and
// axis:
//
//	concat: x_i (pre, n_i, post) -> y (pre, Σ n_i, post)
//	        dx_i = gather(dy, axis, [o_i, o_i + n_i))   o_i = n_0 + … + n_{i−1}
//	stack:  x_i (...) -> expand each to (..., 1, ...) at axis -> concat
//
// The backward is a gather of the operand's block, so concat differentiates
// to any order.

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Concat joins xs along axis (negative counts from the end): every operand
// has the same rank and the same dimensions except along axis, where the
// result's dimension is the sum of theirs.
func Concat(axis int, xs ...*Node) *Node {
	if len(xs) == 0 {
		panic(&ShapeError{Op: "Concat", Msg: "no operands"})
	}
	g := sameGraph("Concat", xs...)
	raw := make([]*gorgonia.Node, len(xs))
	for i, x := range xs {
		raw[i] = x.n
	}
	n, err := concat(axis, raw...)
	if err != nil {
		panic(shapeErr("Concat", err.Error(), xs...))
	}
	return g.wrap(n)
}

// Stack joins xs, all of one shape, along a new axis at position axis
// (0..rank; negative counts from the end, −1 appends it): n operands of
// shape (A, B) stacked at axis 1 give (A, n, B).
func Stack(axis int, xs ...*Node) *Node {
	if len(xs) == 0 {
		panic(&ShapeError{Op: "Stack", Msg: "no operands"})
	}
	g := sameGraph("Stack", xs...)
	shape := xs[0].Shape()
	a := axis
	if a < 0 {
		a += len(shape) + 1
	}
	if a < 0 || a > len(shape) {
		panic(shapeErr("Stack", fmt.Sprintf("axis %d out of range for rank %d", axis, len(shape)), xs...))
	}
	raw := make([]*gorgonia.Node, len(xs))
	for i, x := range xs {
		if !slices.Equal(x.Shape(), shape) {
			panic(shapeErr("Stack", "shapes differ", xs...))
		}
		e, err := expandAxis(x.n, a, 1) // (...) -> (..., 1, ...)
		if err != nil {
			panic(shapeErr("Stack", err.Error(), xs...))
		}
		raw[i] = e
	}
	n, err := concat(a, raw...)
	if err != nil {
		panic(shapeErr("Stack", err.Error(), xs...))
	}
	return g.wrap(n)
}

// concat joins raw nodes along axis; a single operand is returned as is.
func concat(axis int, xs ...*gorgonia.Node) (*gorgonia.Node, error) {
	shapes := make([]tensor.Shape, len(xs))
	for i, x := range xs {
		if err := checkFloat("concat", x); err != nil {
			return nil, err
		}
		if i > 0 && x.Dtype() != xs[0].Dtype() {
			return nil, fmt.Errorf("concat: operand %d is %v, operand 0 is %v", i, x.Dtype(), xs[0].Dtype())
		}
		shapes[i] = nodeShape(x)
	}
	if len(shapes[0]) == 0 {
		return nil, fmt.Errorf("concat: cannot join scalars along an axis (use Stack)")
	}
	a, err := normAxis(axis, len(shapes[0]))
	if err != nil {
		return nil, fmt.Errorf("concat: %w for rank %d", err, len(shapes[0]))
	}
	out := shapes[0].Clone()
	for i, s := range shapes[1:] {
		if len(s) != len(out) {
			return nil, fmt.Errorf("concat: operand %d has rank %d, operand 0 has %d", i+1, len(s), len(out))
		}
		for d := range s {
			if d != a && s[d] != out[d] {
				return nil, fmt.Errorf("concat: operand %d differs from operand 0 in dimension %d (not the axis %d)", i+1, d, a)
			}
		}
		out[a] += s[a]
	}
	if len(xs) == 1 {
		return xs[0], nil
	}
	sizes := make([]int, len(xs))
	for i, s := range shapes {
		sizes[i] = s[a]
	}
	return gorgonia.ApplyOp(&concatOp{out: out, axis: a, sizes: sizes}, xs...)
}

// concatOp joins its operands, of sizes along axis, into a tensor of shape out.
type concatOp struct {
	out   tensor.Shape
	axis  int
	sizes []int
}

func (op *concatOp) inShape(i int) tensor.Shape {
	s := op.out.Clone()
	s[op.axis] = op.sizes[i]
	return s
}

func (op *concatOp) Arity() int { return len(op.sizes) }
func (op *concatOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := tensorTypeOf(len(op.out), a)
	ts := slices.Repeat([]hm.Type{t}, len(op.sizes)+1)
	return hm.NewFnType(ts...)
}
func (op *concatOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.out.Clone(), nil
}
func (op *concatOp) ReturnsPtr() bool      { return false }
func (op *concatOp) CallsExtern() bool     { return false }
func (op *concatOp) OverwritesInput() int  { return -1 }
func (op *concatOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *concatOp) Hashcode() uint32      { return opHash(op) }
func (op *concatOp) String() string {
	return fmt.Sprintf("concat{axis=%d, sizes=%v, out=%v}", op.axis, op.sizes, op.out)
}

// Do: x_i (pre, n_i, post) -> y (pre, Σ n_i, post).
func (op *concatOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != len(op.sizes) {
		return nil, fmt.Errorf("%v: want %d inputs, got %d", op, len(op.sizes), len(in))
	}
	data := make([]any, len(in))
	for i, v := range in {
		if v.Shape().TotalSize() != op.inShape(i).TotalSize() {
			return nil, fmt.Errorf("%v: input %d has shape %v, want %v", op, i, v.Shape(), op.inShape(i))
		}
		d, err := floatData(op, v)
		if err != nil {
			return nil, err
		}
		data[i] = d
	}
	pre, n, post := splitAxis(op.out, op.axis)
	switch data[0].(type) {
	case []float64:
		return newValue(tensor.Float64, op.out, concatKernel[float64](data, op.sizes, pre, n, post)), nil
	case []float32:
		return newValue(tensor.Float32, op.out, concatKernel[float32](data, op.sizes, pre, n, post)), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, data[0])
}

// concatKernel copies each x_i (pre, n_i, post) into its block of
// y (pre, n, post).
func concatKernel[T float32 | float64](xs []any, sizes []int, pre, n, post int) []T {
	y := make([]T, pre*n*post)
	off := 0
	for i, d := range xs {
		x, ni := d.([]T), sizes[i]
		for p := range pre {
			copy(y[(p*n+off)*post:(p*n+off+ni)*post], x[p*ni*post:(p+1)*ni*post])
		}
		off += ni
	}
	return y
}

func (op *concatOp) DiffWRT(n int) []bool { return slices.Repeat([]bool{true}, n) }

func (op *concatOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	res := make(gorgonia.Nodes, len(inputs))
	off := 0
	for i, ni := range op.sizes {
		idx := make([]int, ni)
		for j := range idx {
			idx[j] = off + j
		}
		off += ni
		d, err := gorgonia.ApplyOp(&gatherOp{inShape: op.out.Clone(), axis: op.axis, indices: idx}, grad)
		if err != nil {
			return nil, fmt.Errorf("%v backward: %w", op, err)
		}
		res[i] = d
	}
	return res, nil
}
