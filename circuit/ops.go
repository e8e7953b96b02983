package circuit

import (
	"fmt"
	"math"
	"slices"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/nn/kernel"
)

// This file wraps the kernels of nn/kernel as nn.Fused ops: one op per
// folded layer (forward and fused backward), plus the small ops around them
// (weight reparameterization, the root read-out).

func view[T kernel.Float](b nn.Buf) []T {
	var z T
	switch any(z).(type) {
	case float32:
		return any(b.F32).([]T)
	default:
		return any(b.F64).([]T)
	}
}

func views[T kernel.Float](bs []nn.Buf) [][]T {
	out := make([][]T, len(bs))
	for i, b := range bs {
		out[i] = view[T](b)
	}
	return out
}

// optional returns nil for an empty Buf (no gradient wanted).
func optional[T kernel.Float](b nn.Buf) []T {
	if b.F32 == nil && b.F64 == nil {
		return nil
	}
	return view[T](b)
}

func shape3(f, b, k int) []int { return []int{f, b, k + 1} }

// inputOp is the input layer of the data pass.
//
//	inputs: x (B, V) uint8 (float for Gaussian), missing (B, V) uint8, params…
//	output: (F, B, K+1)
type inputOp[T kernel.Float] struct {
	kind    InputKind
	F, B, K int
	cat     *kernel.Categorical[T]
	bin     *kernel.Binomial[T]
	gauss   *kernel.Gaussian[T]
	miss    []bool
}

func (o *inputOp[T]) Name() string { return fmt.Sprintf("input[%v F=%d K=%d]", o.kind, o.F, o.K) }
func (o *inputOp[T]) OutShape(in [][]int) ([]int, error) {
	return shape3(o.F, o.B, o.K), nil
}
func (o *inputOp[T]) DiffWRT(i int) bool { return i >= 2 }

// mask converts the uint8 mask to the kernels' []bool, or nil when nothing
// is missing.
func (o *inputOp[T]) mask(m nn.Buf) []bool {
	any := false
	for i, v := range m.U8 {
		o.miss[i] = v != 0
		any = any || v != 0
	}
	if !any {
		return nil
	}
	return o.miss
}

func (o *inputOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	miss := o.mask(in[1])
	switch o.kind {
	case Gaussian:
		o.gauss.Prepare(view[T](in[2]), view[T](in[3]))
		o.gauss.Forward(view[T](in[0]), miss, view[T](out))
	case Categorical:
		o.cat.Table(view[T](in[2]))
		o.cat.Forward(in[0].U8, miss, view[T](out))
	default:
		o.bin.Table(view[T](in[2]))
		o.bin.Forward(in[0].U8, miss, view[T](out))
	}
}

func (o *inputOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	miss := o.mask(in[1])
	switch o.kind {
	case Gaussian:
		o.gauss.Backward(view[T](in[0]), miss, view[T](g), view[T](dIn[2]), view[T](dIn[3]))
	case Categorical:
		o.cat.Backward(in[0].U8, miss, view[T](g), view[T](dIn[2]))
	default:
		o.bin.Backward(in[0].U8, miss, view[T](g), view[T](dIn[2]))
	}
}

// marginalOp is the input layer of the partition-function pass: every
// variable integrated out, so every unit has log-value 0 (the input
// distributions are normalized). Its input (a parameter) only anchors it in
// the graph.
type marginalOp[T kernel.Float] struct{ F, B, K int }

func (o *marginalOp[T]) Name() string                                      { return fmt.Sprintf("marginal[F=%d K=%d]", o.F, o.K) }
func (o *marginalOp[T]) OutShape(in [][]int) ([]int, error)                { return shape3(o.F, o.B, o.K), nil }
func (o *marginalOp[T]) DiffWRT(int) bool                                  { return false }
func (o *marginalOp[T]) Forward(in []nn.Buf, out nn.Buf)                   { kernel.FillMarginalized(view[T](out), o.K) }
func (o *marginalOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {}

// cpOp is a folded CP, CP-XS or CP-S layer.
//
//	inputs: sources s (F_s, B, Kin+1)…, w (Fw, A, Kout, Kin)[, scale (F, Kout)]
//	output: (F, B, Kout+1)
type cpOp[T kernel.Float] struct {
	name    string
	k       *kernel.CP[T]
	nsrc    int
	scaled  bool
	srcGrad []bool // whether each source takes a gradient
	out     []int
}

func (o *cpOp[T]) Name() string                       { return o.name }
func (o *cpOp[T]) OutShape(in [][]int) ([]int, error) { return o.out, nil }
func (o *cpOp[T]) DiffWRT(i int) bool                 { return i >= o.nsrc || o.srcGrad[i] }
func (o *cpOp[T]) params(in []nn.Buf) (w, scale []T) {
	w = view[T](in[o.nsrc])
	if o.scaled {
		scale = view[T](in[o.nsrc+1])
	}
	return w, scale
}
func (o *cpOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	w, scale := o.params(in)
	o.k.Forward(views[T](in[:o.nsrc]), w, scale, view[T](out))
}
func (o *cpOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	w, scale := o.params(in)
	dSrcs := make([][]T, o.nsrc)
	for i := range dSrcs {
		dSrcs[i] = optional[T](dIn[i])
	}
	var dScale []T
	if o.scaled {
		dScale = view[T](dIn[o.nsrc+1])
	}
	o.k.Backward(views[T](in[:o.nsrc]), w, scale, view[T](g), dSrcs, view[T](dIn[o.nsrc]), dScale)
}

// reparamOp maps a raw parameter θ to non-negative weights W of the same
// shape, seen as (outer, n, inner) with normalization (Softmax) along n:
//
//	clamp: W = θ        exp: W = exp θ        softmax: W = softmax_n θ
type reparamOp[T kernel.Float] struct {
	kind            Param
	shape           []int
	outer, n, inner int
}

func (o *reparamOp[T]) Name() string { return fmt.Sprintf("%v%v", o.kind, o.shape) }
func (o *reparamOp[T]) OutShape(in [][]int) ([]int, error) {
	if !slices.Equal(in[0], o.shape) {
		return nil, fmt.Errorf("want shape %v", o.shape)
	}
	return o.shape, nil
}
func (o *reparamOp[T]) DiffWRT(int) bool { return true }
func (o *reparamOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	th, w := view[T](in[0]), view[T](out)
	switch o.kind {
	case Clamp:
		copy(w, th)
	case Exp:
		for i, v := range th {
			w[i] = T(math.Exp(float64(v)))
		}
	case Softmax:
		for a := range o.outer {
			for c := range o.inner {
				base := a*o.n*o.inner + c
				m := math.Inf(-1)
				for j := range o.n {
					m = max(m, float64(th[base+j*o.inner]))
				}
				s := 0.0
				for j := range o.n {
					s += math.Exp(float64(th[base+j*o.inner]) - m)
				}
				ls := m + math.Log(s)
				for j := range o.n {
					w[base+j*o.inner] = T(math.Exp(float64(th[base+j*o.inner]) - ls))
				}
			}
		}
	}
}
func (o *reparamOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	w, gv, d := view[T](out), view[T](g), view[T](dIn[0])
	switch o.kind {
	case Clamp:
		for i, v := range gv {
			d[i] += v
		}
	case Exp:
		for i, v := range gv {
			d[i] += v * w[i]
		}
	case Softmax:
		for a := range o.outer {
			for c := range o.inner {
				base := a*o.n*o.inner + c
				dot := 0.0
				for j := range o.n {
					dot += float64(gv[base+j*o.inner]) * float64(w[base+j*o.inner])
				}
				for j := range o.n {
					i := base + j*o.inner
					d[i] += T(float64(w[i]) * (float64(gv[i]) - dot))
				}
			}
		}
	}
}

// readoutOp reads the root region's units in log space.
//
//	input: root layer (F, B, K+1) -> output: (B, K) log-values of fold Fold
type readoutOp[T kernel.Float] struct{ F, Fold, B, K int }

func (o *readoutOp[T]) Name() string { return fmt.Sprintf("readout[fold %d]", o.Fold) }
func (o *readoutOp[T]) OutShape(in [][]int) ([]int, error) {
	if !slices.Equal(in[0], shape3(o.F, o.B, o.K)) {
		return nil, fmt.Errorf("want %v", shape3(o.F, o.B, o.K))
	}
	return []int{o.B, o.K}, nil
}
func (o *readoutOp[T]) DiffWRT(int) bool { return true }
func (o *readoutOp[T]) rows(buf []T) []T {
	n := o.B * (o.K + 1)
	return buf[o.Fold*n : (o.Fold+1)*n]
}
func (o *readoutOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	kernel.ToLog(o.rows(view[T](in[0])), o.K, view[T](out))
}
func (o *readoutOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	kernel.SeedGrad(view[T](g), 1, o.B, o.K, o.rows(view[T](dIn[0])))
}
