package nn

// Index-select along any axis, with a backward that is right on every axis.
//
// Gorgonia's ByIndices computes its backward wrongly for axis != 0 (see
// gorgonia_defects_test.go), so gather is its own op. The indices are part of
// the op (plain Go data fixed when the graph is built, as the folded-layer
// plans in circuit are), not a graph input:
//
//	gather:     x (pre, n, post) -> y (pre, m, post),  y[p, j, q] = x[p, idx[j], q]
//	scatterAdd: dy (pre, m, post) -> dx (pre, n, post), dx[p, idx[j], q] += dy[p, j, q]
//
// Each is the other's adjoint, so both differentiate to any order. Repeated
// indices are allowed (their gradients add up).

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gather selects the entries indices[0], indices[1], ... of x along axis
// (negative counts from the end). The result has x's shape with that axis
// replaced by len(indices).
func gather(x *gorgonia.Node, axis int, indices []int) (*gorgonia.Node, error) {
	if err := checkFloat("gather", x); err != nil {
		return nil, err
	}
	shape := x.Shape()
	if x.IsScalar() || len(shape) == 0 {
		return nil, fmt.Errorf("gather: cannot index a scalar (shape %v)", shape)
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, fmt.Errorf("gather: %w for shape %v", err, shape)
	}
	if len(indices) == 0 {
		return nil, fmt.Errorf("gather: no indices for axis %d of shape %v (zero-size axes are not supported)", axis, shape)
	}
	for j, i := range indices {
		if i < 0 || i >= shape[a] {
			return nil, fmt.Errorf("gather: index %d (position %d) out of range [0, %d) for axis %d of shape %v", i, j, shape[a], a, shape)
		}
	}
	op := &gatherOp{inShape: shape.Clone(), axis: a, indices: append([]int(nil), indices...)}
	return gorgonia.ApplyOp(op, x)
}

// gatherOp is gather (scatter=false) or its adjoint scatterAdd (scatter=true).
// inShape is always the shape of the un-gathered side (x).
type gatherOp struct {
	buf     kept
	inShape tensor.Shape
	axis    int
	indices []int
	scatter bool
}

func (op *gatherOp) gathered() tensor.Shape {
	s := op.inShape.Clone()
	s[op.axis] = len(op.indices)
	return s
}

func (op *gatherOp) Arity() int { return 1 }
func (op *gatherOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	t := tensorTypeOf(len(op.inShape), a)
	return hm.NewFnType(t, t)
}
func (op *gatherOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.scatter {
		return op.inShape.Clone(), nil
	}
	return op.gathered(), nil
}
func (op *gatherOp) ReturnsPtr() bool     { return false }
func (op *gatherOp) CallsExtern() bool    { return false }
func (op *gatherOp) OverwritesInput() int { return -1 }
func (op *gatherOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "%v;%v", op.String(), op.indices)
}
func (op *gatherOp) Hashcode() uint32 { return opHash(op) }
func (op *gatherOp) String() string {
	name := "gather"
	if op.scatter {
		name = "scatterAdd"
	}
	return fmt.Sprintf("%s{axis=%d, in=%v, %d indices}", name, op.axis, op.inShape, len(op.indices))
}

func (op *gatherOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	data, err := floatData(op, in[0])
	if err != nil {
		return nil, err
	}
	pre, n, post := splitAxis(op.inShape, op.axis)
	inShape, outShape := op.inShape, op.gathered()
	if op.scatter {
		inShape, outShape = outShape, inShape
	}
	if in[0].Shape().TotalSize() != inShape.TotalSize() {
		return nil, fmt.Errorf("%v: input shape %v, want %v", op, in[0].Shape(), inShape)
	}
	switch x := data.(type) {
	case []float64:
		y := keep[float64](&op.buf, outShape.TotalSize(), op.scatter)
		gatherKernel(x, y, op.indices, pre, n, post, op.scatter)
		return newValue(tensor.Float64, outShape, y), nil
	case []float32:
		y := keep[float32](&op.buf, outShape.TotalSize(), op.scatter)
		gatherKernel(x, y, op.indices, pre, n, post, op.scatter)
		return newValue(tensor.Float32, outShape, y), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, data)
}

func (op *gatherOp) DiffWRT(inputs int) []bool { return []bool{true} }

func (op *gatherOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	adj := &gatherOp{inShape: op.inShape.Clone(), axis: op.axis, indices: op.indices, scatter: !op.scatter}
	d, err := gorgonia.ApplyOp(adj, grad)
	return gorgonia.Nodes{d}, err
}

// gatherKernel with scatter=false: src x (pre, n, post) -> dst y (pre, m, post);
// with scatter=true: src dy (pre, m, post) -> dst dx (pre, n, post), adding.
func gatherKernel[T float32 | float64](src, dst []T, idx []int, pre, n, post int, scatter bool) {
	m := len(idx)
	for p := range pre {
		for j, i := range idx {
			if !scatter {
				copy(dst[(p*m+j)*post:(p*m+j+1)*post], src[(p*n+i)*post:(p*n+i+1)*post])
				continue
			}
			d := dst[(p*n+i)*post : (p*n+i+1)*post]
			for q, v := range src[(p*m+j)*post : (p*m+j+1)*post] {
				d[q] += v
			}
		}
	}
}
