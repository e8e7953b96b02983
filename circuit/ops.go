package circuit

import (
	"fmt"
	"slices"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/internal/vec"
	"github.com/tenpc/tenpc/nn"
)

// This file wraps the kernels of circuit/kernel as nn.Fused ops: one op per
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
//
// When a variable is in several leaves, cols lists the data column of each
// input slot and the op gathers x and the mask into (B, slots) buffers.
type inputOp[T kernel.Float] struct {
	kind       InputKind
	F, B, K, V int
	cat        *kernel.Categorical[T]
	bin        *kernel.Binomial[T]
	gauss      *kernel.Gaussian[T]
	miss       []bool
	cols       []int32
	x8, m8     []uint8
	xf         []T
}

func (o *inputOp[T]) Name() string { return fmt.Sprintf("input[%v F=%d K=%d]", o.kind, o.F, o.K) }
func (o *inputOp[T]) OutShape(in [][]int) ([]int, error) {
	return shape3(o.F, o.B, o.K), nil
}
func (o *inputOp[T]) DiffWRT(i int) bool { return i >= 2 }

// data returns the kernel's view of x and the mask: (B, slots).
func (o *inputOp[T]) data(in []nn.Buf) (x8 []uint8, xf []T, miss []bool) {
	m := in[1].U8
	x8, m8 := in[0].U8, m
	if in[0].U8 == nil {
		xf = view[T](in[0])
	}
	if o.cols != nil {
		s := len(o.cols)
		for b := range o.B {
			for j, c := range o.cols {
				o.m8[b*s+j] = m[b*o.V+int(c)]
				if x8 != nil {
					o.x8[b*s+j] = x8[b*o.V+int(c)]
				} else {
					o.xf[b*s+j] = xf[b*o.V+int(c)]
				}
			}
		}
		m8 = o.m8
		if x8 != nil {
			x8 = o.x8
		} else {
			xf = o.xf
		}
	}
	any := false
	for i, v := range m8 {
		o.miss[i] = v != 0
		any = any || v != 0
	}
	if any {
		miss = o.miss
	}
	return x8, xf, miss
}

func (o *inputOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	x8, xf, miss := o.data(in)
	switch o.kind {
	case Gaussian:
		o.gauss.Prepare(view[T](in[2]), view[T](in[3]))
		o.gauss.Forward(xf, miss, view[T](out))
	case Categorical:
		o.cat.Table(view[T](in[2]))
		o.cat.Forward(x8, miss, view[T](out))
	default:
		o.bin.Table(view[T](in[2]))
		o.bin.Forward(x8, miss, view[T](out))
	}
}

func (o *inputOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	x8, xf, miss := o.data(in)
	switch o.kind {
	case Gaussian:
		o.gauss.Backward(xf, miss, view[T](g), view[T](dIn[2]), view[T](dIn[3]))
	case Categorical:
		o.cat.BackwardSet(x8, miss, view[T](g), view[T](dIn[2]))
	default:
		o.bin.Backward(x8, miss, view[T](g), view[T](dIn[2]))
	}
}

// OverwritesGrad implements nn.GradOverwriter: a categorical layer writes
// the whole gradient of its logits (input 2).
func (o *inputOp[T]) OverwritesGrad(i int) bool { return i == 2 && o.kind == Categorical }

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

// layerOp is a folded inner layer (CP, CP-XS, CP-S, CP-R, Tucker or
// mixing): sources first, then the layer's (reparameterized) weights. It
// runs its kernel through kernel.Layer, made by the backend of the buffers'
// device.
//
//	inputs: sources s (F_s, B, Kin+1)…, params…
//	output: (F, B, Kout+1)
type layerOp[T kernel.Float] struct {
	name    string
	nsrc    int
	srcGrad []bool // whether each source takes a gradient
	out     []int
	k       kernel.Layer[T]
}

func (o *layerOp[T]) Name() string                       { return o.name }
func (o *layerOp[T]) OutShape(in [][]int) ([]int, error) { return o.out, nil }
func (o *layerOp[T]) DiffWRT(i int) bool                 { return i >= o.nsrc || o.srcGrad[i] }

// WritesFresh implements nn.FreshWriter: every kernel writes the first
// gradient of a source fold (see kernel.SetFresh); CP also of a weight fold.
func (o *layerOp[T]) WritesFresh(i int) bool { return i < o.nsrc+o.k.FreshParams() }
func (o *layerOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	onCPU(o.name, in)
	o.k.Forward(views[T](in[:o.nsrc]), views[T](in[o.nsrc:]), view[T](out))
}
func (o *layerOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	d := make([][]T, len(dIn))
	fresh := make([][]bool, len(dIn))
	for i := range d {
		d[i] = optional[T](dIn[i])
		fresh[i] = dIn[i].Fresh
	}
	o.k.SetFresh(fresh[:o.nsrc], fresh[o.nsrc:])
	o.k.Backward(views[T](in[:o.nsrc]), views[T](in[o.nsrc:]), view[T](g), d[:o.nsrc], d[o.nsrc:])
}

// onCPU panics unless every buffer is on the CPU, the one device with
// kernels (kernel.CPU).
func onCPU(op string, bufs []nn.Buf) {
	for i, b := range bufs {
		if b.Device != nn.CPU {
			panic(fmt.Sprintf("circuit: %s: input %d is on %v; only the CPU has kernels", op, i, b.Device))
		}
	}
}

// newLayerOp makes the op of a built-in layer's kernel over wiring wr.
func newLayerOp[T kernel.Float](ks kernelSpec, wr kernel.Wiring) (*layerOp[T], error) {
	op := &layerOp[T]{out: shape3(wr.F, wr.B, wr.Kout)}
	be := kernel.CPU[T]()
	var err error
	switch ks.kind {
	case kernelMixing:
		op.k, err = be.Mixing(wr)
	case kernelCP:
		var wfold []int32
		if ks.shared {
			wfold = make([]int32, wr.F)
		}
		op.k, err = be.CP(wr, wfold)
	case kernelCPR:
		op.k, err = be.CPR(wr, ks.rank)
	case kernelTucker:
		op.k, err = be.Tucker(wr)
	}
	if err != nil {
		return nil, err
	}
	return op, nil
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

// Identity implements nn.Identity: clamped weights are the raw parameter,
// passed on without a copy, and their gradient buffer is the parameter's.
func (o *reparamOp[T]) Identity() bool { return o.kind == Clamp }
func (o *reparamOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	reparamInto(view[T](out), view[T](in[0]), o.kind, o.outer, o.n, o.inner)
}
func (o *reparamOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	w, gv, d := view[T](out), view[T](g), view[T](dIn[0])
	switch o.kind {
	case Clamp:
		vec.Chunks(len(gv), func(_, lo, hi int) { vec.Add(d[lo:hi], gv[lo:hi]) })
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

// toLogOp reads a layer's scaled rows in log space, for a consumer that
// takes log-values (a graph-engine layer, the readout of a stock graph):
//
//	input (F, B, K+1) -> output (F, B, K) = S + log V;  dInput[…, k] += dOutput[…, k]
//
// (the gradient of a scaled buffer is with respect to the log-values).
type toLogOp[T kernel.Float] struct{ F, B, K int }

func (o *toLogOp[T]) Name() string { return fmt.Sprintf("toLog[F=%d K=%d]", o.F, o.K) }
func (o *toLogOp[T]) OutShape(in [][]int) ([]int, error) {
	if !slices.Equal(in[0], shape3(o.F, o.B, o.K)) {
		return nil, fmt.Errorf("want %v", shape3(o.F, o.B, o.K))
	}
	return []int{o.F, o.B, o.K}, nil
}
func (o *toLogOp[T]) DiffWRT(int) bool { return true }
func (o *toLogOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	kernel.LogValues(view[T](in[0]), o.F, o.B, o.K, view[T](out))
}
func (o *toLogOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	kernel.SeedGrad(view[T](g), o.F, o.B, o.K, view[T](dIn[0]))
}

// fromLogOp turns log-values into scaled rows, for a fused layer reading a
// graph-engine layer:
//
//	input (F, B, K) -> output (F, B, K+1), S = max_k, V = exp(x − S);  dInput[…, k] += dOutput[…, k]
type fromLogOp[T kernel.Float] struct{ F, B, K int }

func (o *fromLogOp[T]) Name() string { return fmt.Sprintf("fromLog[F=%d K=%d]", o.F, o.K) }
func (o *fromLogOp[T]) OutShape(in [][]int) ([]int, error) {
	if !slices.Equal(in[0], []int{o.F, o.B, o.K}) {
		return nil, fmt.Errorf("want %v", []int{o.F, o.B, o.K})
	}
	return shape3(o.F, o.B, o.K), nil
}
func (o *fromLogOp[T]) DiffWRT(int) bool { return true }
func (o *fromLogOp[T]) Forward(in []nn.Buf, out nn.Buf) {
	kernel.FromLog(view[T](in[0]), o.K, view[T](out))
}
func (o *fromLogOp[T]) Backward(in []nn.Buf, out, g nn.Buf, dIn []nn.Buf) {
	gv, d := view[T](g), view[T](dIn[0])
	for r := range o.F * o.B {
		src := gv[r*(o.K+1) : r*(o.K+1)+o.K]
		dst := d[r*o.K : r*o.K+o.K]
		for k, v := range src {
			dst[k] += v
		}
	}
}
