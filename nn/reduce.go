package nn

// Reductions along one axis that are right for every rank and every axis.
//
// Gorgonia's own Sum and Max give wrong values along a middle axis
// (2 <= k <= ndim-2) of a 4-D or larger tensor, and its LogSumExp uses a
// wrong formula (see docs/DESIGN.md, "Gorgonia defects", and
// gorgonia_defects_test.go). The ops here
// view any tensor as (pre, n, post) around the reduced axis — pre is the
// product of the dimensions before it, post of those after it — so one
// kernel serves every rank and axis, and each op carries its own backward:
//
//	sum:       x (pre, n, post) -> y (pre, post);  dx = expand(dy)
//	max:       x (pre, n, post) -> y (pre, post);  dx = dy at the first argmax, 0 elsewhere
//	logsumexp: x (pre, n, post) -> y (pre, post);  dx = dy * exp(x - y)  (exactly softmax)
//	expand:    y (pre, post) -> x (pre, n, post);  dy = sum(dx)
//
// The backward ops of max and logsumexp are first-order only (they are not
// themselves differentiable); sum and expand differentiate each other to any
// order.

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"github.com/tenpc/tenpc/internal/vec"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reduceKind names the reduction an axisReduceOp performs.
type reduceKind int

const (
	reduceSum reduceKind = iota
	reduceMax
	reduceLogSumExp
)

func (k reduceKind) String() string {
	switch k {
	case reduceSum:
		return "sum"
	case reduceMax:
		return "max"
	case reduceLogSumExp:
		return "logsumexp"
	}
	return fmt.Sprintf("reduceKind(%d)", int(k))
}

// sumAxis sums x along axis (negative counts from the end); the result has
// that axis removed, and is a scalar when x is 1-D.
func sumAxis(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	return applyReduce(reduceSum, x, axis)
}

// maxAxis takes the maximum of x along axis; the result has that axis
// removed. The gradient goes to the first maximal entry of each row.
func maxAxis(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	return applyReduce(reduceMax, x, axis)
}

// logSumExp computes log(sum(exp(x))) along axis, stably: each row is shifted
// by its maximum before exp, so no entry overflows. −Inf entries contribute
// zero; a row that is all −Inf gives −Inf (with a zero gradient); a +Inf entry
// gives +Inf. The gradient is exactly dy·softmax(x) along the axis.
func logSumExp(x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	return applyReduce(reduceLogSumExp, x, axis)
}

// expandAxis inserts a new axis of size n at position axis (0..ndim) and
// repeats x along it: the inverse shape operation of sumAxis, and its adjoint.
func expandAxis(x *gorgonia.Node, axis, n int) (*gorgonia.Node, error) {
	in := x.Shape()
	if in.IsScalar() {
		in = tensor.Shape{}
	}
	if axis < 0 {
		axis += len(in) + 1
	}
	if axis < 0 || axis > len(in) {
		return nil, fmt.Errorf("expandAxis: axis %d out of range for shape %v", axis, x.Shape())
	}
	if n <= 0 {
		return nil, fmt.Errorf("expandAxis: size %d must be positive (shape %v)", n, x.Shape())
	}
	if err := checkFloat("expandAxis", x); err != nil {
		return nil, err
	}
	out := make(tensor.Shape, 0, len(in)+1)
	out = append(out, in[:axis]...)
	out = append(out, n)
	out = append(out, in[axis:]...)
	return gorgonia.ApplyOp(&expandOp{outShape: out, axis: axis}, x)
}

func applyReduce(kind reduceKind, x *gorgonia.Node, axis int) (*gorgonia.Node, error) {
	name := kind.String() + "Axis"
	if kind == reduceLogSumExp {
		name = "logSumExp"
	}
	if err := checkFloat(name, x); err != nil {
		return nil, err
	}
	shape := x.Shape()
	if x.IsScalar() || len(shape) == 0 {
		return nil, fmt.Errorf("%s: cannot reduce a scalar (shape %v) along axis %d", name, shape, axis)
	}
	a, err := normAxis(axis, len(shape))
	if err != nil {
		return nil, fmt.Errorf("%s: %w for shape %v", name, err, shape)
	}
	return gorgonia.ApplyOp(&axisReduceOp{kind: kind, inShape: shape.Clone(), axis: a}, x)
}

// normAxis maps a possibly negative axis into 0..ndim-1.
func normAxis(axis, ndim int) (int, error) {
	a := axis
	if a < 0 {
		a += ndim
	}
	if a < 0 || a >= ndim {
		return 0, fmt.Errorf("axis %d out of range", axis)
	}
	return a, nil
}

// checkFloat rejects nodes that are not float32 or float64.
func checkFloat(op string, x *gorgonia.Node) error {
	switch x.Dtype() {
	case tensor.Float32, tensor.Float64:
		return nil
	}
	return fmt.Errorf("%s: dtype %v of node %q (shape %v) is not float32 or float64", op, x.Dtype(), x.Name(), x.Shape())
}

// splitAxis views shape as (pre, n, post) around axis.
func splitAxis(shape tensor.Shape, axis int) (pre, n, post int) {
	pre, post = 1, 1
	for i, d := range shape {
		switch {
		case i < axis:
			pre *= d
		case i > axis:
			post *= d
		}
	}
	return pre, shape[axis], post
}

// dropAxis returns shape without axis (a scalar shape when shape is 1-D).
func dropAxis(shape tensor.Shape, axis int) tensor.Shape {
	out := make(tensor.Shape, 0, len(shape)-1)
	out = append(out, shape[:axis]...)
	return append(out, shape[axis+1:]...)
}

// tensorTypeOf is the Hindley–Milner type of a float tensor of ndim axes
// (the bare element type for a scalar).
func tensorTypeOf(ndim int, a hm.Type) hm.Type {
	if ndim == 0 {
		return a
	}
	return gorgonia.TensorType{Dims: ndim, Of: a}
}

// opHash hashes an op by what its WriteHash writes, which must name every
// parameter, or Gorgonia merges distinct nodes.
func opHash(op interface{ WriteHash(hash.Hash) }) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// kept is an op's output storage, kept between runs. A run's results are
// dead by the next run (Program resets the tape machine and reads what it
// keeps by copy), so an op of this package writes each run's result into
// the storage of the last instead of allocating it anew, which spares the
// garbage collector clearing and scanning it.
type kept struct {
	f32 []float32
	f64 []float64
}

// keep returns k's n-element buffer of type T (allocated on first use),
// zeroed when zero is set.
func keep[T float32 | float64](k *kept, n int, zero bool) []T {
	var buf []T
	switch p := any(&buf).(type) {
	case *[]float32:
		if len(k.f32) != n {
			k.f32 = make([]float32, n)
			zero = false
		}
		*p = k.f32
	case *[]float64:
		if len(k.f64) != n {
			k.f64 = make([]float64, n)
			zero = false
		}
		*p = k.f64
	}
	if zero {
		vec.Chunks(n, func(_, lo, hi int) { clear(buf[lo:hi]) })
	}
	return buf
}

// newValue returns a fresh value of the given dtype and shape: a gorgonia
// scalar for the empty shape, else a dense tensor.
func newValue(dt tensor.Dtype, shape tensor.Shape, data any) gorgonia.Value {
	if len(shape) == 0 {
		switch d := data.(type) {
		case []float64:
			return gorgonia.NewF64(d[0])
		case []float32:
			return gorgonia.NewF32(d[0])
		}
	}
	return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(data))
}

// floatData returns the backing slice of a float32/float64 value (a scalar
// value as a one-element slice), materializing views.
func floatData(op fmt.Stringer, v gorgonia.Value) (any, error) {
	switch s := v.(type) {
	case *gorgonia.F64:
		return []float64{float64(*s)}, nil
	case *gorgonia.F32:
		return []float32{float32(*s)}, nil
	case *tensor.Dense:
		if s.IsMaterializable() {
			s = s.Materialize().(*tensor.Dense)
		}
		switch d := s.Data().(type) {
		case []float64:
			return d, nil
		case []float32:
			return d, nil
		case float64:
			return []float64{d}, nil
		case float32:
			return []float32{d}, nil
		}
	}
	return nil, fmt.Errorf("%v: unsupported value %T (dtype %v)", op, v, v.Dtype())
}

// opName names a caller of floatData that is not an op.
type opName string

func (n opName) String() string { return string(n) }

// ---- axisReduceOp ------------------------------------------------------

// axisReduceOp reduces one axis of a tensor of shape inShape.
type axisReduceOp struct {
	buf     kept
	kind    reduceKind
	inShape tensor.Shape
	axis    int
}

func (op *axisReduceOp) Arity() int { return 1 }
func (op *axisReduceOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorTypeOf(len(op.inShape), a), tensorTypeOf(len(op.inShape)-1, a))
}
func (op *axisReduceOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return dropAxis(op.inShape, op.axis), nil
}
func (op *axisReduceOp) ReturnsPtr() bool      { return false }
func (op *axisReduceOp) CallsExtern() bool     { return false }
func (op *axisReduceOp) OverwritesInput() int  { return -1 }
func (op *axisReduceOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *axisReduceOp) Hashcode() uint32      { return opHash(op) }
func (op *axisReduceOp) String() string {
	return fmt.Sprintf("%vAxis{axis=%d, in=%v}", op.kind, op.axis, op.inShape)
}

// x (pre, n, post) -> y (pre, post)
func (op *axisReduceOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	if in[0].Shape().TotalSize() != op.inShape.TotalSize() {
		return nil, fmt.Errorf("%v: input shape %v, want %v", op, in[0].Shape(), op.inShape)
	}
	data, err := floatData(op, in[0])
	if err != nil {
		return nil, err
	}
	pre, n, post := splitAxis(op.inShape, op.axis)
	out := dropAxis(op.inShape, op.axis)
	switch x := data.(type) {
	case []float64:
		y := keep[float64](&op.buf, pre*post, op.kind == reduceSum)
		reduceKernel(op.kind, x, y, pre, n, post)
		return newValue(tensor.Float64, out, y), nil
	case []float32:
		y := keep[float32](&op.buf, pre*post, op.kind == reduceSum)
		reduceKernel(op.kind, x, y, pre, n, post)
		return newValue(tensor.Float32, out, y), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, data)
}

func (op *axisReduceOp) DiffWRT(inputs int) []bool { return []bool{true} }

func (op *axisReduceOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	x := inputs[0]
	if op.kind == reduceSum {
		dx, err := gorgonia.ApplyOp(&expandOp{outShape: op.inShape.Clone(), axis: op.axis}, grad)
		return gorgonia.Nodes{dx}, err
	}
	dx, err := gorgonia.ApplyOp(&axisReduceGradOp{kind: op.kind, inShape: op.inShape.Clone(), axis: op.axis}, x, output, grad)
	return gorgonia.Nodes{dx}, err
}

// splitLanes calls fn over the lanes (p, q) of a (pre, n, post) view of
// work elements: in parallel chunks (vec.Chunks) when the work is large,
// split by rows of pre when there are several, else by columns of post.
// Every lane is computed whole by one call, so results do not depend on
// the split.
func splitLanes(pre, post, work int, fn func(p0, p1, q0, q1 int)) {
	if work <= 0 {
		fn(0, pre, 0, post)
		return
	}
	vec.Chunks(work, func(_, lo, hi int) {
		if pre > 1 {
			fn(lo*pre/work, hi*pre/work, 0, post)
		} else {
			fn(0, pre, lo*post/work, hi*post/work)
		}
	})
}

// reduceKernel reduces x (pre, n, post) into y (pre, post), y zero.
func reduceKernel[T float32 | float64](kind reduceKind, x, y []T, pre, n, post int) {
	splitLanes(pre, post, pre*n*post, func(p0, p1, q0, q1 int) {
		reduceLanes(kind, x, y, n, post, p0, p1, q0, q1)
	})
}

// reduceLanes reduces the lanes p in [p0, p1), q in [q0, q1).
func reduceLanes[T float32 | float64](kind reduceKind, x, y []T, n, post, p0, p1, q0, q1 int) {
	if post == 1 && kind != reduceLogSumExp {
		// The last axis: each lane is a contiguous row.
		for p := p0; p < p1; p++ {
			row := x[p*n : (p+1)*n]
			acc := row[0]
			if kind == reduceSum {
				for _, v := range row[1:] {
					acc += v
				}
			} else {
				for _, v := range row[1:] {
					if v > acc || v != v {
						acc = v
					}
				}
			}
			y[p] = acc
		}
		return
	}
	for p := p0; p < p1; p++ {
		xp := x[p*n*post : (p+1)*n*post]
		yp := y[p*post : (p+1)*post]
		switch kind {
		case reduceSum:
			for i := range n {
				row := xp[i*post : (i+1)*post]
				for q := q0; q < q1; q++ {
					yp[q] += row[q]
				}
			}
		case reduceMax:
			copy(yp[q0:q1], xp[q0:q1])
			for i := 1; i < n; i++ {
				row := xp[i*post : (i+1)*post]
				for q := q0; q < q1; q++ {
					if v := row[q]; v > yp[q] || math.IsNaN(float64(v)) {
						yp[q] = v
					}
				}
			}
		case reduceLogSumExp:
			for q := q0; q < q1; q++ {
				m := math.Inf(-1)
				for i := range n {
					if v := float64(xp[i*post+q]); v > m || math.IsNaN(v) {
						m = v
					}
				}
				if math.IsInf(m, 0) || math.IsNaN(m) {
					// all −Inf → −Inf; any +Inf → +Inf; NaN propagates.
					yp[q] = T(m)
					continue
				}
				s := 0.0
				for i := range n {
					s += math.Exp(float64(xp[i*post+q]) - m)
				}
				yp[q] = T(m + math.Log(s))
			}
		}
	}
}

// ---- axisReduceGradOp --------------------------------------------------

// axisReduceGradOp is the backward of max and logsumexp:
// (x (pre, n, post), y (pre, post), dy (pre, post)) -> dx (pre, n, post).
type axisReduceGradOp struct {
	buf     kept
	kind    reduceKind
	inShape tensor.Shape
	axis    int
}

func (op *axisReduceGradOp) Arity() int { return 3 }
func (op *axisReduceGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	xt := tensorTypeOf(len(op.inShape), a)
	yt := tensorTypeOf(len(op.inShape)-1, a)
	return hm.NewFnType(xt, yt, yt, xt)
}
func (op *axisReduceGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.inShape.Clone(), nil
}
func (op *axisReduceGradOp) ReturnsPtr() bool      { return false }
func (op *axisReduceGradOp) CallsExtern() bool     { return false }
func (op *axisReduceGradOp) OverwritesInput() int  { return -1 }
func (op *axisReduceGradOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *axisReduceGradOp) Hashcode() uint32      { return opHash(op) }
func (op *axisReduceGradOp) String() string {
	return fmt.Sprintf("%vAxisGrad{axis=%d, in=%v}", op.kind, op.axis, op.inShape)
}

func (op *axisReduceGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: want 3 inputs, got %d", op, len(in))
	}
	var ds [3]any
	for i, v := range in {
		d, err := floatData(op, v)
		if err != nil {
			return nil, err
		}
		ds[i] = d
	}
	pre, n, post := splitAxis(op.inShape, op.axis)
	switch x := ds[0].(type) {
	case []float64:
		dx := keep[float64](&op.buf, len(x), true)
		reduceGradKernel(op.kind, x, ds[1].([]float64), ds[2].([]float64), dx, pre, n, post)
		return newValue(tensor.Float64, op.inShape, dx), nil
	case []float32:
		dx := keep[float32](&op.buf, len(x), true)
		reduceGradKernel(op.kind, x, ds[1].([]float32), ds[2].([]float32), dx, pre, n, post)
		return newValue(tensor.Float32, op.inShape, dx), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, ds[0])
}

// reduceGradKernel writes dx (pre, n, post) from x, y, dy.
func reduceGradKernel[T float32 | float64](kind reduceKind, x, y, dy, dx []T, pre, n, post int) {
	splitLanes(pre, post, pre*n*post, func(p0, p1, q0, q1 int) {
		reduceGradLanes(kind, x, y, dy, dx, n, post, p0, p1, q0, q1)
	})
}

// reduceGradLanes writes the lanes p in [p0, p1), q in [q0, q1) of dx.
func reduceGradLanes[T float32 | float64](kind reduceKind, x, y, dy, dx []T, n, post, p0, p1, q0, q1 int) {
	for p := p0; p < p1; p++ {
		for q := q0; q < q1; q++ {
			yv, g := y[p*post+q], dy[p*post+q]
			base := p*n*post + q
			switch kind {
			case reduceMax:
				for i := range n {
					if x[base+i*post] == yv {
						dx[base+i*post] = g
						break
					}
				}
			case reduceLogSumExp:
				if math.IsInf(float64(yv), -1) {
					continue // all −Inf row: no entry carries weight
				}
				for i := range n {
					dx[base+i*post] = g * T(math.Exp(float64(x[base+i*post])-float64(yv)))
				}
			}
		}
	}
}

// ---- expandOp ----------------------------------------------------------

// expandOp repeats y (pre, post) along a new axis: -> x (pre, n, post) with
// x's shape outShape.
type expandOp struct {
	buf      kept
	outShape tensor.Shape
	axis     int
}

func (op *expandOp) Arity() int { return 1 }
func (op *expandOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorTypeOf(len(op.outShape)-1, a), tensorTypeOf(len(op.outShape), a))
}
func (op *expandOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.outShape.Clone(), nil
}
func (op *expandOp) ReturnsPtr() bool      { return false }
func (op *expandOp) CallsExtern() bool     { return false }
func (op *expandOp) OverwritesInput() int  { return -1 }
func (op *expandOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.String()) }
func (op *expandOp) Hashcode() uint32      { return opHash(op) }
func (op *expandOp) String() string {
	return fmt.Sprintf("expandAxis{axis=%d, out=%v}", op.axis, op.outShape)
}

func (op *expandOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: want 1 input, got %d", op, len(in))
	}
	data, err := floatData(op, in[0])
	if err != nil {
		return nil, err
	}
	pre, n, post := splitAxis(op.outShape, op.axis)
	switch y := data.(type) {
	case []float64:
		x := keep[float64](&op.buf, pre*n*post, false)
		expandKernel(y, x, pre, n, post)
		return newValue(tensor.Float64, op.outShape, x), nil
	case []float32:
		x := keep[float32](&op.buf, pre*n*post, false)
		expandKernel(y, x, pre, n, post)
		return newValue(tensor.Float32, op.outShape, x), nil
	}
	return nil, fmt.Errorf("%v: unsupported data %T", op, data)
}

func (op *expandOp) DiffWRT(inputs int) []bool { return []bool{true} }

func (op *expandOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dy, err := gorgonia.ApplyOp(&axisReduceOp{kind: reduceSum, inShape: op.outShape.Clone(), axis: op.axis}, grad)
	return gorgonia.Nodes{dy}, err
}

// expandKernel: y (pre, post) -> x (pre, n, post).
func expandKernel[T float32 | float64](y, x []T, pre, n, post int) {
	splitLanes(pre, post, pre*n*post, func(p0, p1, q0, q1 int) {
		for p := p0; p < p1; p++ {
			src := y[p*post+q0 : p*post+q1]
			for i := range n {
				copy(x[(p*n+i)*post+q0:(p*n+i)*post+q1], src)
			}
		}
	})
}
