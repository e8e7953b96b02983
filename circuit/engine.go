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
// form is made on demand by a conversion op, once. In signed log-space
// (real weights) log holds log|value| and sign the signs (nil: positive).
type act struct {
	log, scaled, sign *nn.Node
	f, b, k           int
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
		if fl, ok := w.fused(i); ok && sr == sumProduct && !w.c.signed() {
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

// gatherInput gathers layer i's input from its sources' nodes (one of
// each act: log-values or signs), in the layout Forward takes:
//
//	sources (F_s, B, Kin) -> concat (ΣF_s, B, Kin) -> gather (F·A, B, Kin) -> x (F, A, B, Kin)
func (w *wiring) gatherInput(i int, srcs []*act, b int, node func(*act) *nn.Node) *nn.Node {
	l := &w.c.plan.Layers[i]
	// Each source gives only the folds the layer reads, gathered before
	// they are concatenated: concatenating whole sources (the input layer's
	// every leaf, for each layer) made memory and time grow with the
	// product of the depth and the width.
	rows := make([][]int, len(srcs))
	at := make([]map[int]int, len(srcs)) // fold of source s -> its row in rows[s]
	for _, r := range l.Refs {
		s, f := r.Src, int(r.Fold)
		if at[s] == nil {
			at[s] = map[int]int{}
		}
		if _, ok := at[s][f]; !ok {
			at[s][f] = len(rows[s])
			rows[s] = append(rows[s], f)
		}
	}
	var parts []*nn.Node
	offs := make([]int, len(srcs))
	total := 0
	for s, a := range srcs {
		if rows[s] == nil {
			continue
		}
		n := node(a)
		if !isRange(rows[s], a.f) {
			n = nn.Gather(n, 0, rows[s])
		}
		parts, offs[s] = append(parts, n), total
		total += len(rows[s])
	}
	idx := make([]int, len(l.Refs))
	for j, r := range l.Refs {
		idx[j] = offs[r.Src] + at[r.Src][int(r.Fold)]
	}
	all := parts[0]
	if len(parts) > 1 {
		all = nn.Concat(0, parts...)
	}
	if !isRange(idx, total) {
		all = nn.Gather(all, 0, idx)
	}
	return nn.Reshape(all, l.F(), l.Arity, b, l.Kin)
}

// graphLayer gathers layer i's input in log space and runs its Forward
// (or MaxForward; SignedForward for a circuit with real weights):
// x (F, A, B, Kin) -> (F, B, Kout).
func (w *wiring) graphLayer(i int, srcs []*act, b int, sr semiring) (out *act, err error) {
	l := &w.c.plan.Layers[i]
	x := w.gatherInput(i, srcs, b, (*act).logValues)
	layer := w.c.Layers[i]
	defer func() {
		// A registered layer's wiring mistake panics in nn; name the layer.
		if r := recover(); r != nil {
			err = fmt.Errorf("circuit: %s: %v", w.layerName(i), r)
		}
	}()
	if w.c.signed() {
		return w.signedLayer(i, srcs, x, b)
	}
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

// signedLayer runs layer i's SignedForward on its gathered log-magnitudes x
// and their signs.
func (w *wiring) signedLayer(i int, srcs []*act, x *nn.Node, b int) (*act, error) {
	l := &w.c.plan.Layers[i]
	sl, ok := w.c.Layers[i].(SignedLayer)
	if !ok {
		return nil, fmt.Errorf("circuit: layer %s (%T) does not implement circuit.SignedLayer (SignedForward), which real weights need", w.layerName(i), w.c.Layers[i])
	}
	var sx *nn.Node
	for _, a := range srcs {
		if a.sign != nil {
			sx = w.gatherInput(i, srcs, b, (*act).signs)
			break
		}
	}
	y, sy := sl.SignedForward(x, sx)
	if want := []int{l.F(), b, l.Kout}; !slices.Equal(y.Shape(), want) || !slices.Equal(sy.Shape(), want) {
		return nil, fmt.Errorf("circuit: %s: SignedForward returned shapes %v, %v, want %v (F, B, Kout)", w.layerName(i), y.Shape(), sy.Shape(), want)
	}
	return &act{log: y, sign: sy, f: l.F(), b: b, k: l.Kout}, nil
}

// signs returns the act's sign node, ones when its values are positive.
func (a *act) signs() *nn.Node {
	if a.sign == nil {
		g := a.logValues().Graph()
		a.sign = g.Const(constant(a.f*a.b*a.k, 1), a.f, a.b, a.k)
	}
	return a.sign
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
func (w *wiring) inputAct(x, missing *nn.Node, b int, m inputPass, sr semiring) (*act, error) {
	p := w.c.plan
	a := &act{f: len(p.Leaves), b: b, k: p.InputUnits}
	if w.engine == Fused && sr == sumProduct {
		n, err := w.c.inputNode(w.g, x, missing, b, m)
		if err != nil {
			return nil, err
		}
		a.scaled = n
		return a, nil
	}
	m.max = sr == maxProduct
	a.log, a.sign = w.c.Input.forward(x, missing, m)
	return a, nil
}

// marginalAct is the partition-function pass's input: every variable
// integrated out, so every unit of a normalized input layer reads log 1 =
// 0.
func (w *wiring) marginalAct() *act {
	p := w.c.plan
	a := &act{f: len(p.Leaves), b: 1, k: p.InputUnits}
	switch {
	case w.engine == Fused:
		anchor := w.g.Param(w.c.Input.anyParam())
		a.scaled = applyT(w.g.DType(),
			&marginalOp[float32]{F: a.f, B: 1, K: a.k}, &marginalOp[float64]{F: a.f, B: 1, K: a.k}, anchor)
	case w.c.Input.plain():
		a.log = w.g.Const(make([]float64, a.f*a.k), a.f, 1, a.k)
	default:
		// A product's input units are not normalized: each integrates to
		// its own value, which the input layer computes with every
		// variable missing.
		v := p.NumVars
		a.log, a.sign = w.c.Input.forward(w.g.Const(make([]float64, v), 1, v), w.g.Const(constant(v, 1), 1, v), inputPass{})
	}
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
