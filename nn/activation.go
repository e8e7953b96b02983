package nn

// Elementwise activations and the (log-)softmax normalizations on raw
// Gorgonia nodes, float32 or float64.
//
// relu, tanh and sigmoid are Gorgonia's own elementwise ops (checked against
// loops and finite differences in activation_test.go). softmax and
// logSoftmax go through this package's logSumExp, so they are stable for any
// input magnitude and right on every axis of every rank:
//
//	logSoftmax(x) = x − expand(logSumExp(x, axis))   x: (..., n, ...) -> same shape
//	softmax(x)    = exp(logSoftmax(x))

import (
	"fmt"

	"gorgonia.org/gorgonia"
)

// relu is max(x, 0) elementwise; its gradient at exactly 0 is taken as 1
// (Gorgonia's Rectify uses x ≥ 0).
func relu(x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkFloat("relu", x); err != nil {
		return nil, err
	}
	y, err := gorgonia.Rectify(x)
	if err != nil {
		return nil, fmt.Errorf("relu of %v: %w", x.Shape(), err)
	}
	return y, nil
}

// tanh is the hyperbolic tangent elementwise.
func tanh(x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkFloat("tanh", x); err != nil {
		return nil, err
	}
	y, err := gorgonia.Tanh(x)
	if err != nil {
		return nil, fmt.Errorf("tanh of %v: %w", x.Shape(), err)
	}
	return y, nil
}

// sigmoid is 1/(1+exp(−x)) elementwise.
func sigmoid(x *gorgonia.Node) (*gorgonia.Node, error) {
	if err := checkFloat("sigmoid", x); err != nil {
		return nil, err
	}
	y, err := gorgonia.Sigmoid(x)
	if err != nil {
		return nil, fmt.Errorf("sigmoid of %v: %w", x.Shape(), err)
	}
	return y, nil
}

// logSoftmax normalizes x along axis in log space: x − logsumexp(x) with the
// logsumexp repeated along the axis. Entries of −Inf stay −Inf (probability
// 0) with a zero gradient; a row that is all −Inf has no distribution and
// gives NaN.
func logSoftmax(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	if err := checkFloat("logSoftmax", x); err != nil {
		return nil, err
	}
	shape := nodeShape(x)
	if len(shape) == 0 {
		return nil, fmt.Errorf("logSoftmax: cannot normalize a scalar along axis %d", axis)
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, fmt.Errorf("logSoftmax: %w for shape %v", err, shape)
	}
	lse, err := logSumExp(x, a) // (..., n, ...) -> (..., ...)
	if err != nil {
		return nil, fmt.Errorf("logSoftmax: %w", err)
	}
	rep, err := expandAxis(lse, a, shape[a]) // -> (..., n, ...)
	if err != nil {
		return nil, fmt.Errorf("logSoftmax: %w", err)
	}
	y, err := gorgonia.Sub(x, rep)
	if err != nil {
		return nil, fmt.Errorf("logSoftmax of %v along %d: %w", shape, a, err)
	}
	return y, nil
}

// softmax normalizes x along axis: exp(logSoftmax(x, axis)); every slice
// along the axis is non-negative and sums to 1.
func softmax(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	ls, err := logSoftmax(x, axis)
	if err != nil {
		return nil, fmt.Errorf("softmax: %w", err)
	}
	y, err := gorgonia.Exp(ls)
	if err != nil {
		return nil, fmt.Errorf("softmax of %v along %d: %w", x.Shape(), axis, err)
	}
	return y, nil
}
