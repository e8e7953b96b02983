package nn

import (
	G "gorgonia.org/gorgonia"
)

// The functions below are the public face of the Gorgonia-level building
// blocks in einsum.go, reduce.go, gather.go and activation.go. Each panics
// with a *ShapeError naming the op and the operands' shapes on a wiring
// mistake.

func wrapErr(op string, n *G.Node, err error, operands ...*Node) *Node {
	return operands[0].g.wrap(must(op, n, err, operands...))
}

// Einsum contracts operands by an Einstein-summation spec such as
// "fbi,fij->fbj" (batched matmul), "bi,bj->bij" (outer), "ij->ji", "ii->"
// (trace) or "ij,jk" (implicit output: the letters seen once, sorted).
func Einsum(spec string, operands ...*Node) *Node {
	g := sameGraph("Einsum "+spec, operands...)
	raw := make([]*G.Node, len(operands))
	for i, o := range operands {
		raw[i] = o.n
	}
	n, err := einsum(spec, raw...)
	if err != nil {
		panic(shapeErr("Einsum "+spec, err.Error(), operands...))
	}
	return g.wrap(n)
}

// LogSumExp returns log Σ exp(x) along axis (removed from the shape),
// computed stably with a max shift; rows of −Inf give −Inf, not NaN.
func LogSumExp(x *Node, axis int) *Node {
	n, err := logSumExp(x.n, axis)
	return wrapErr("LogSumExp", n, err, x)
}

// SumAxis sums x along axis (removed from the shape); right on every axis of
// every rank, unlike Gorgonia's Sum on middle axes of 4-D tensors.
func SumAxis(x *Node, axis int) *Node {
	n, err := sumAxis(x.n, axis)
	return wrapErr("SumAxis", n, err, x)
}

// MaxAxis takes the maximum along axis (removed from the shape).
func MaxAxis(x *Node, axis int) *Node {
	n, err := maxAxis(x.n, axis)
	return wrapErr("MaxAxis", n, err, x)
}

// Gather selects indices along axis (index-select), with a correct
// backward on every axis.
func Gather(x *Node, axis int, indices []int) *Node {
	n, err := gather(x.n, axis, indices)
	return wrapErr("Gather", n, err, x)
}

// ReLU returns max(x, 0) elementwise.
func ReLU(x *Node) *Node {
	n, err := relu(x.n)
	return wrapErr("ReLU", n, err, x)
}

// Tanh returns tanh(x) elementwise.
func Tanh(x *Node) *Node {
	n, err := tanh(x.n)
	return wrapErr("Tanh", n, err, x)
}

// Sigmoid returns 1/(1+exp(−x)) elementwise.
func Sigmoid(x *Node) *Node {
	n, err := sigmoid(x.n)
	return wrapErr("Sigmoid", n, err, x)
}

// Softmax normalizes exp(x) along axis.
func Softmax(x *Node, axis int) *Node {
	n, err := softmax(x.n, axis)
	return wrapErr("Softmax", n, err, x)
}

// LogSoftmax returns x − LogSumExp(x, axis), broadcast back.
func LogSoftmax(x *Node, axis int) *Node {
	n, err := logSoftmax(x.n, axis)
	return wrapErr("LogSoftmax", n, err, x)
}

// Func adapts a function of one node to a Module without parameters, so
// activations compose in a Sequential: NewSequential(l1, Func(Tanh), l2).
type Func func(*Node) *Node

// Forward applies the function.
func (f Func) Forward(x *Node) *Node { return f(x) }
