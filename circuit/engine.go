package circuit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/nn"
)

// Engine is how a compiled program computes the circuit's layers.
type Engine int

const (
	// Fused runs every built-in layer as one fused op (its kernel of
	// package circuit/kernel, with a hand-written backward), the values
	// between fused layers in the per-row scaled representation. A layer
	// without a kernel (a registered one) runs its graph forward in the
	// middle, with conversions on either side. The default.
	Fused Engine = iota
	// Graph runs every layer's Forward: the paper's math as nn ops (einsum
	// contractions and log-sum-exp) differentiated by Gorgonia. It is the
	// reference the fused kernels are tested against, and several times
	// slower.
	Graph
)

var engineNames = []string{"fused", "graph"}

func (e Engine) String() string {
	if int(e) < len(engineNames) && e >= 0 {
		return engineNames[e]
	}
	return fmt.Sprintf("Engine(%d)", int(e))
}

// ParseEngine parses "fused" or "graph".
func ParseEngine(s string) (Engine, error) {
	for i, n := range engineNames {
		if s == n {
			return Engine(i), nil
		}
	}
	return 0, fmt.Errorf("unknown engine %q (want %s)", s, strings.Join(engineNames, " or "))
}

// act is a layer's output in a pass: its log-values (F, B, K), or its
// scaled rows (F, B, K+1) as fused ops exchange them, or both. The missing
// form is made on demand by a conversion op, once.
type act struct {
	log, scaled *nn.Node
	f, b, k     int
}

// logValues returns the log-values, converting scaled rows if need be.
func (a *act) logValues() *nn.Node {
	if a.log == nil {
		a.log = applyT(a.scaled.Graph().DType(), &toLogOp[float32]{F: a.f, B: a.b, K: a.k}, &toLogOp[float64]{F: a.f, B: a.b, K: a.k}, a.scaled)
	}
	return a.log
}

// scaledRows returns the scaled rows, converting log-values if need be.
func (a *act) scaledRows() *nn.Node {
	if a.scaled == nil {
		a.scaled = applyT(a.log.Graph().DType(), &fromLogOp[float32]{F: a.f, B: a.b, K: a.k}, &fromLogOp[float64]{F: a.f, B: a.b, K: a.k}, a.log)
	}
	return a.scaled
}

// applyT applies the float32 or float64 instance of an op.
func applyT(dt nn.DType, op32, op64 nn.Fused, in ...*nn.Node) *nn.Node {
	if dt == nn.Float64 {
		return nn.Apply(op64, in...)
	}
	return nn.Apply(op32, in...)
}

// semiring selects what a pass computes: sums (the circuit's value) or
// maxima (MAP's max-product value).
type semiring int

const (
	sumProduct semiring = iota
	maxProduct
)

// wiring builds passes of one circuit on one graph.
type wiring struct {
	c      *Circuit
	g      *nn.Graph
	engine Engine
	// bound holds each fused layer's reparameterized parameters, bound once
	// per graph so that every pass shares them (and, under Clamp, their
	// gradient buffers).
	bound map[int][]*nn.Node
}

func newWiring(c *Circuit, g *nn.Graph, e Engine) *wiring {
	return &wiring{c: c, g: g, engine: e, bound: map[int][]*nn.Node{}}
}

// fused returns layer i's kernel interface when the engine runs it fused.
func (w *wiring) fused(i int) (fusedLayer, bool) {
	if w.engine != Fused {
		return nil, false
	}
	fl, ok := w.c.Layers[i].(fusedLayer)
	return fl, ok
}

// pass wires every inner layer over input (the input layer's output for b
// samples). In the max-product semiring every layer runs its MaxForward
// (graph engine only). marginal marks the partition-function pass, whose
// input takes no gradient.
func (w *wiring) pass(input *act, b int, sr semiring, marginal bool) ([]*act, error) {
	p := w.c.plan
	acts := []*act{input}
	for i := range p.Layers {
		l := &p.Layers[i]
		srcs := make([]*act, len(l.Sources))
		for s, li := range l.Sources {
			srcs[s] = acts[li]
		}
		var out *act
		var err error
		if fl, ok := w.fused(i); ok && sr == sumProduct {
			out, err = w.fusedLayer(i, fl, srcs, b, marginal)
		} else {
			out, err = w.graphLayer(i, srcs, b, sr)
		}
		if err != nil {
			return nil, err
		}
		acts = append(acts, out)
	}
	return acts, nil
}

// layerName names plan layer i in errors and graph dumps.
func (w *wiring) layerName(i int) string {
	l := &w.c.plan.Layers[i]
	if l.Kind == Mixing {
		return fmt.Sprintf("mixing[layers.%d F=%d H=%d]", i, l.F(), l.Arity)
	}
	return fmt.Sprintf("%v[layers.%d F=%d A=%d]", w.c.opts.Layer, i, l.F(), l.Arity)
}

// graphLayer gathers layer i's input in log space and runs its Forward
// (or MaxForward):
//
//	sources (F_s, B, Kin) -> concat (ΣF_s, B, Kin) -> gather (F·A, B, Kin) -> x (F, A, B, Kin) -> (F, B, Kout)
func (w *wiring) graphLayer(i int, srcs []*act, b int, sr semiring) (out *act, err error) {
	l := &w.c.plan.Layers[i]
	logs := make([]*nn.Node, len(srcs))
	offs := make([]int, len(srcs))
	total := 0
	for s, a := range srcs {
		logs[s], offs[s] = a.logValues(), total
		total += a.f
	}
	idx := make([]int, len(l.Refs))
	for j, r := range l.Refs {
		idx[j] = offs[r.Src] + int(r.Fold)
	}
	all := logs[0]
	if len(logs) > 1 {
		all = nn.Concat(0, logs...)
	}
	if !isRange(idx, total) {
		all = nn.Gather(all, 0, idx)
	}
	x := nn.Reshape(all, l.F(), l.Arity, b, l.Kin)
	layer := w.c.Layers[i]
	defer func() {
		// A registered layer's wiring mistake panics in nn; name the layer.
		if r := recover(); r != nil {
			err = fmt.Errorf("circuit: %s: %v", w.layerName(i), r)
		}
	}()
	var y *nn.Node
	if sr == maxProduct {
		mp, ok := layer.(MaxProduct)
		if !ok {
			return nil, fmt.Errorf("circuit: layer %s (%T) does not implement circuit.MaxProduct (MaxForward), which MAP needs", w.layerName(i), layer)
		}
		y = mp.MaxForward(x)
	} else {
		y = layer.Forward(x)
	}
	if want := []int{l.F(), b, l.Kout}; !slices.Equal(y.Shape(), want) {
		return nil, fmt.Errorf("circuit: %s: Forward returned shape %v, want %v (F, B, Kout)", w.layerName(i), y.Shape(), want)
	}
	return &act{log: y, f: l.F(), b: b, k: l.Kout}, nil
}

// isRange reports whether idx is 0, 1, …, n−1.
func isRange(idx []int, n int) bool {
	if len(idx) != n {
		return false
	}
	for i, v := range idx {
		if v != i {
			return false
		}
	}
	return true
}

// fusedLayer wires layer i as one fused op over its sources' scaled rows
// and its reparameterized parameters.
func (w *wiring) fusedLayer(i int, fl fusedLayer, srcs []*act, b int, marginal bool) (*act, error) {
	p := w.c.plan
	l := &p.Layers[i]
	ins := make([]*nn.Node, 0, len(srcs)+3)
	srcFolds := make([]int, len(srcs))
	srcGrad := make([]bool, len(srcs))
	for s, a := range srcs {
		ins = append(ins, a.scaledRows())
		srcFolds[s] = a.f
		srcGrad[s] = !(marginal && l.Sources[s] == 0)
	}
	params, ok := w.bound[i]
	if !ok {
		for _, fp := range fl.fusedParams() {
			params = append(params, w.reparam(fp))
		}
		w.bound[i] = params
	}
	ins = append(ins, params...)
	wr := kernel.Wiring{F: l.F(), A: l.Arity, B: b, Kin: l.Kin, Kout: l.Kout, Refs: l.Refs, SrcFolds: srcFolds}
	name := w.layerName(i)
	var out *nn.Node
	var err error
	if w.g.DType() == nn.Float64 {
		out, err = applyLayerOp[float64](fl.fusedKernel(), wr, name, srcGrad, ins)
	} else {
		out, err = applyLayerOp[float32](fl.fusedKernel(), wr, name, srcGrad, ins)
	}
	if err != nil {
		return nil, fmt.Errorf("circuit: %s: %w", name, err)
	}
	return &act{scaled: out, f: l.F(), b: b, k: l.Kout}, nil
}

func applyLayerOp[T kernel.Float](ks kernelSpec, wr kernel.Wiring, name string, srcGrad []bool, ins []*nn.Node) (*nn.Node, error) {
	op, err := newLayerOp[T](ks, wr)
	if err != nil {
		return nil, err
	}
	op.name, op.nsrc, op.srcGrad = name, len(srcGrad), srcGrad
	return nn.Apply(op, ins...), nil
}

// reparam binds a parameter through its reparameterization op (under
// Clamp an nn.Identity, which costs no copy and funnels every pass's
// gradient into one buffer that becomes the parameter's gradient).
func (w *wiring) reparam(fp fusedParam) *nn.Node {
	node := w.g.Param(fp.p)
	sh := fp.p.Shape()
	return applyT(w.g.DType(),
		&reparamOp[float32]{kind: fp.kind, shape: sh, outer: fp.outer, n: fp.n, inner: fp.inner},
		&reparamOp[float64]{kind: fp.kind, shape: sh, outer: fp.outer, n: fp.n, inner: fp.inner},
		node)
}

// kernelKind is which kernel a built-in layer runs in the fused engine.
type kernelKind int

const (
	kernelCP kernelKind = iota
	kernelCPR
	kernelTucker
	kernelMixing
)

// kernelSpec selects a built-in layer's kernel.
type kernelSpec struct {
	kind   kernelKind
	shared bool // CP: one weight fold for every fold (CP-XS, CP-S)
	rank   int  // CP-R
}

// fusedParam is one parameter of a fused layer, in kernel order, with its
// reparameterization: the parameter seen as (outer, n, inner), normalized
// along n under Softmax.
type fusedParam struct {
	p               *nn.Param
	kind            Param
	outer, n, inner int
}

// lastAxis is a weight normalized along its last axis.
func lastAxis(p *nn.Param, kind Param) fusedParam {
	sh := p.Shape()
	last := sh[len(sh)-1]
	return fusedParam{p: p, kind: kind, outer: p.Len() / last, n: last, inner: 1}
}

// fusedLayer is implemented by the built-in layers, which have a kernel
// for the fused engine: which kernel, and its parameters in kernel order.
type fusedLayer interface {
	fusedKernel() kernelSpec
	fusedParams() []fusedParam
}

// inputAct wires the data pass's input layer: its fused op (fused engine)
// or its graph forward.
func (w *wiring) inputAct(x, missing *nn.Node, b int, em, train bool, sr semiring) (*act, error) {
	p := w.c.plan
	a := &act{f: len(p.Leaves), b: b, k: p.InputUnits}
	if w.engine == Fused && sr == sumProduct {
		n, err := w.c.inputNode(w.g, x, missing, b, em, train)
		if err != nil {
			return nil, err
		}
		a.scaled = n
		return a, nil
	}
	a.log = w.c.Input.forward(x, missing, em, sr == maxProduct)
	return a, nil
}

// marginalAct is the partition-function pass's input: every variable
// integrated out, so every unit reads log 1 = 0.
func (w *wiring) marginalAct() *act {
	p := w.c.plan
	a := &act{f: len(p.Leaves), b: 1, k: p.InputUnits}
	if w.engine == Fused {
		anchor := w.g.Param(w.c.Input.anyParam())
		a.scaled = applyT(w.g.DType(),
			&marginalOp[float32]{F: a.f, B: 1, K: a.k}, &marginalOp[float64]{F: a.f, B: 1, K: a.k}, anchor)
		return a
	}
	a.log = w.g.Const(make([]float64, a.f*a.k), a.f, 1, a.k)
	return a
}

// readout reads the root region's units: (B, Classes) log-values.
func (w *wiring) readout(root *act) *nn.Node {
	p := w.c.plan
	loc := p.RegionLoc[p.Root]
	if root.scaled != nil && root.log == nil {
		return applyT(w.g.DType(),
			&readoutOp[float32]{F: root.f, Fold: loc.Fold, B: root.b, K: root.k},
			&readoutOp[float64]{F: root.f, Fold: loc.Fold, B: root.b, K: root.k}, root.scaled)
	}
	lv := root.logValues()
	if root.f > 1 {
		lv = nn.Gather(lv, 0, []int{loc.Fold})
	}
	return nn.Reshape(lv, root.b, root.k)
}
