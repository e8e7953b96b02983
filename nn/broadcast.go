package nn

// Broadcasting for the elementwise binary ops, by NumPy's rules: shapes are
// aligned from the right, and each pair of dimensions must be equal or one
// of them 1 (a missing leading dimension counts as 1). The result takes the
// larger of each pair.
//
// The binary ops on operands of different shapes (binary.go) read each
// operand through its broadcast strides; their gradients sum over the
// repeated axes with broadcastOp, which comes in two directions, each the
// other's gradient (differentiable to any order):
//
//	expand: x (small) -> y (big),  y[i] = x[i with the broadcast axes at 0]
//	reduce: y (big) -> x (small),  x[j] = Σ y[i] over the i that map to j

import (
	"fmt"
	"hash"
	"slices"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// broadcastShape returns the shape a and b broadcast to, or false when some
// pair of aligned dimensions differs and neither is 1.
func broadcastShape(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := range n {
		da, db := dimFromRight(a, n-1-i), dimFromRight(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// dimFromRight is dimension len(s)-1-k of s, or 1 beyond its leading end.
func dimFromRight(s []int, k int) int {
	if k >= len(s) {
		return 1
	}
	return s[len(s)-1-k]
}

// broadcastOp repeats a tensor of shape small up to shape big, or (reduce)
// sums one of shape big down to small.
type broadcastOp struct {
	buf        kept
	small, big []int
	reduce     bool
}

func (op *broadcastOp) shapes() (in, out []int) {
	if op.reduce {
		return op.big, op.small
	}
	return op.small, op.big
}

func (op *broadcastOp) Arity() int { return 1 }
func (op *broadcastOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	in, out := op.shapes()
	return hm.NewFnType(tensorTypeOf(len(in), a), tensorTypeOf(len(out), a))
}
func (op *broadcastOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	_, out := op.shapes()
	return tensor.Shape(slices.Clone(out)), nil
}
func (op *broadcastOp) ReturnsPtr() bool      { return false }
func (op *broadcastOp) CallsExtern() bool     { return false }
func (op *broadcastOp) OverwritesInput() int  { return -1 }
func (op *broadcastOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *broadcastOp) Hashcode() uint32      { return opHash(op) }
func (op *broadcastOp) String() string {
	if op.reduce {
		return fmt.Sprintf("reduceTo{%v->%v}", op.big, op.small)
	}
	return fmt.Sprintf("broadcastTo{%v->%v}", op.small, op.big)
}

// Do: x (small) -> (big), or x (big) -> (small) when reducing.
func (op *broadcastOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	inShape, outShape := op.shapes()
	if in[0].Shape().TotalSize() != tensor.Shape(inShape).TotalSize() {
		return nil, fmt.Errorf("%v: input shape %v, want %v", op, in[0].Shape(), inShape)
	}
	data, err := floatData(op, in[0])
	if err != nil {
		return nil, err
	}
	strides := smallStrides(op.small, op.big)
	size := max(1, tensor.Shape(outShape).TotalSize())
	switch x := data.(type) {
	case []float64:
		y := keep[float64](&op.buf, size, op.reduce)
		broadcastKernel(op.big, strides, op.reduce, x, y)
		return newValue(tensor.Float64, outShape, y), nil
	case []float32:
		y := keep[float32](&op.buf, size, op.reduce)
		broadcastKernel(op.big, strides, op.reduce, x, y)
		return newValue(tensor.Float32, outShape, y), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, data)
}

func (op *broadcastOp) DiffWRT(int) []bool { return []bool{true} }

func (op *broadcastOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	adj := &broadcastOp{small: op.small, big: op.big, reduce: !op.reduce}
	d, err := gorgonia.ApplyOp(adj, grad)
	return gorgonia.Nodes{d}, err
}

// smallStrides returns, for each axis of big, the row-major stride of the
// matching axis of small: 0 where small has no such axis or repeats a
// dimension of 1.
func smallStrides(small, big []int) []int {
	st := make([]int, len(big))
	s := 1
	for k := range big {
		i := len(big) - 1 - k // axis of big, from the right
		d := dimFromRight(small, k)
		if d != 1 {
			st[i] = s
		}
		s *= d
	}
	return st
}

// broadcastKernel walks big in row-major order. Expanding, it reads
// small at the offset the strides give and writes big; reducing (the
// arguments swapped: src is big, dst small), it adds big into small.
func broadcastKernel[T float32 | float64](big, strides []int, reduce bool, src, dst []T) {
	// Offsets into big and small of the first element of the current block.
	var walk func(axis, bigOff, smallOff int)
	walk = func(axis, bigOff, smallOff int) {
		n := 1
		if len(big) > 0 {
			n = big[axis]
		}
		if axis >= len(big)-1 {
			st := 0
			if len(big) > 0 {
				st = strides[axis]
			}
			switch {
			case !reduce && st == 0:
				v := src[smallOff]
				for j := range n {
					dst[bigOff+j] = v
				}
			case !reduce:
				copy(dst[bigOff:bigOff+n], src[smallOff:smallOff+n])
			case st == 0:
				var s T
				for _, v := range src[bigOff : bigOff+n] {
					s += v
				}
				dst[smallOff] += s
			default:
				for j, v := range src[bigOff : bigOff+n] {
					dst[smallOff+j] += v
				}
			}
			return
		}
		inner := 1
		for _, d := range big[axis+1:] {
			inner *= d
		}
		for j := range n {
			walk(axis+1, bigOff+j*inner, smallOff+j*strides[axis])
		}
	}
	walk(0, 0, 0)
}
