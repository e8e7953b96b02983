package nn

// A reshape that copies. Gorgonia's Reshape returns a view sharing its
// input's storage, but its register allocator treats the two as distinct
// values: once the view is dead to the graph, an elementwise op may write
// into it in place while the input is still live, and the input (an
// output someone reads, a parameter) is overwritten. Reshape is this op
// instead:
//
//	x (from) -> y (to), same elements in the same order;  dx = reshape(dy, from)

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"github.com/tenpc/tenpc/internal/vec"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// copyReshape reshapes x into a fresh tensor of shape to.
func copyReshape(x *gorgonia.Node, to []int) (*gorgonia.Node, error) {
	if err := checkFloat("Reshape", x); err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(&reshapeOp{from: nodeShape(x), to: slices.Clone(to)}, x)
}

type reshapeOp struct {
	buf      kept
	from, to []int
}

func (op *reshapeOp) Arity() int { return 1 }
func (op *reshapeOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorTypeOf(len(op.from), a), tensorTypeOf(len(op.to), a))
}
func (op *reshapeOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape(slices.Clone(op.to)), nil
}
func (op *reshapeOp) ReturnsPtr() bool      { return false }
func (op *reshapeOp) CallsExtern() bool     { return false }
func (op *reshapeOp) OverwritesInput() int  { return -1 }
func (op *reshapeOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *reshapeOp) Hashcode() uint32      { return opHash(op) }
func (op *reshapeOp) String() string        { return fmt.Sprintf("reshape{%v->%v}", op.from, op.to) }

func (op *reshapeOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	data, err := floatData(op, in[0])
	if err != nil {
		return nil, err
	}
	switch x := data.(type) {
	case []float64:
		y := keep[float64](&op.buf, len(x), false)
		vec.Chunks(len(x), func(_, lo, hi int) { copy(y[lo:hi], x[lo:hi]) })
		return newValue(tensor.Float64, op.to, y), nil
	case []float32:
		y := keep[float32](&op.buf, len(x), false)
		vec.Chunks(len(x), func(_, lo, hi int) { copy(y[lo:hi], x[lo:hi]) })
		return newValue(tensor.Float32, op.to, y), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, data)
}

func (op *reshapeOp) DiffWRT(int) []bool { return []bool{true} }

func (op *reshapeOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(&reshapeOp{from: op.to, to: op.from}, grad)
	return gorgonia.Nodes{d}, err
}
