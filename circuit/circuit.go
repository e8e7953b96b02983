package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/regiongraph"
)

// Circuit is a folded tensorized circuit: its plan and its parameters, laid
// out as an nn module tree (so nn.Params names them "input.logits",
// "layers.3.weight", … and nn.SaveModule/LoadModule work on it).
type Circuit struct {
	Input  *InputLayer
	Layers []*InnerLayer

	plan *Plan
	opts Options
}

// InputLayer holds the input distributions' parameters, one row per input
// slot (Plan.Slots): Logits (S, K, C) for categorical inputs, Logits (S, K)
// for Bernoulli/binomial, Mean and LogStd (S, K) for Gaussian.
type InputLayer struct {
	Logits *nn.Param
	Mean   *nn.Param
	LogStd *nn.Param
}

// InnerLayer holds one folded layer's parameters (raw, before
// reparameterization):
//
//	CP        Weight (F, A, Kout, Kin)
//	CP-XS     Weight (1, A, Kout, Kin)
//	CP-S      Weight (1, A, Kout, Kin), Scale (F, Kout)
//	CP-R      Weight (F, A, R, Kin), Out (F, Kout, R)
//	Tucker    Weight (F, Kout, Kin·Kin)
//	mixing    Weight (F, H, K)
type InnerLayer struct {
	Weight *nn.Param
	Scale  *nn.Param
	Out    *nn.Param
}

// Plan is the circuit's folded structure.
func (c *Circuit) Plan() *Plan { return c.plan }

// Options are the options the circuit was built with (defaults filled in).
func (c *Circuit) Options() Options { return c.opts }

// Params lists the circuit's parameters with their full names
// ("input.logits", "layers.3.weight"): the names of model files,
// checkpoints and optimizer state.
func (c *Circuit) Params() []nn.NamedParam { return nn.NamedParams(c) }

// Normalized reports whether the circuit is normalized by construction
// (softmax weights, no CP-S scales), so log Z = 0 needs no pass of its own.
func (c *Circuit) Normalized() bool {
	return c.opts.Param == Softmax && c.opts.Layer != CPS
}

// Build compiles a region graph and options into a circuit with freshly
// initialised parameters (seeded by opt.Seed). The circuit's plan is
// PlanFor(rg, opt): with Tucker layers, a graph with partitions of more than
// two inputs is binarized first.
func Build(rg *regiongraph.Graph, opt Options) (*Circuit, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	plan, err := planFor(rg, &opt)
	if err != nil {
		return nil, err
	}
	total := int64(inputParamCount(plan, &opt))
	for i := range plan.Layers {
		total += int64(layerParamCount(&plan.Layers[i], &opt))
	}
	if total > opt.MaxParams {
		return nil, fmt.Errorf("circuit: %d parameters (%.1f GiB as %v) exceed the limit of %d", total, float64(total)*float64(opt.DType.Size())/(1<<30), opt.DType, opt.MaxParams)
	}
	c := &Circuit{plan: plan, opts: opt}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x7e9c))
	c.Input = newInputLayer(plan, &opt, rng)
	for i := range plan.Layers {
		c.Layers = append(c.Layers, newInnerLayer(&plan.Layers[i], &opt, rng))
	}
	return c, nil
}

// PlanFor returns the plan Build folds rg into under opt: NewPlan(rg), or,
// when opt.Layer is Tucker (which takes two inputs) and rg has a partition
// of more than two inputs, NewPlan(regiongraph.Binarize(rg)). Binarize keeps
// rg's region and partition ids and depends only on rg, so the same graph
// and options always give the same plan (a model file stores rg, not the
// binarized graph). Other layers take partitions of any arity.
func PlanFor(rg *regiongraph.Graph, opt Options) (*Plan, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	return planFor(rg, &opt)
}

// planFor is PlanFor with defaults filled in and validated options.
func planFor(rg *regiongraph.Graph, o *Options) (*Plan, error) {
	if o.Layer != Tucker || !hasWidePartition(rg) {
		return NewPlan(rg, o.InputUnits, o.Units, o.Classes)
	}
	bin, err := regiongraph.Binarize(rg)
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(bin, o.InputUnits, o.Units, o.Classes)
	if err != nil {
		return nil, fmt.Errorf("%w (in the region graph binarized for Tucker layers)", err)
	}
	return p, nil
}

// hasWidePartition reports whether a partition of rg has more than two
// inputs.
func hasWidePartition(rg *regiongraph.Graph) bool {
	for _, pt := range rg.Partitions {
		if len(pt.Inputs) > 2 {
			return true
		}
	}
	return false
}

func newInputLayer(p *Plan, o *Options, rng *rand.Rand) *InputLayer {
	v, k := p.NumSlots, p.InputUnits
	in := &InputLayer{}
	switch o.Input {
	case Categorical:
		in.Logits = nn.NewParam("logits", o.DType, v, k, o.Values)
		nn.NormalInit(in.Logits, 0, 1, rng)
	case Bernoulli, Binomial:
		in.Logits = nn.NewParam("logits", o.DType, v, k)
		nn.NormalInit(in.Logits, 0, 1, rng)
	case Gaussian:
		in.Mean = nn.NewParam("mean", o.DType, v, k)
		nn.NormalInit(in.Mean, 0, 1, rng)
		in.LogStd = nn.NewParam("log_std", o.DType, v, k)
	}
	return in
}

func newInnerLayer(l *LayerPlan, o *Options, rng *rand.Rand) *InnerLayer {
	f, a := l.F(), l.Arity
	il := &InnerLayer{}
	if l.Kind == Mixing {
		il.Weight = nn.NewParam("weight", o.DType, f, a, l.Kout)
		if o.LearnMixing {
			initWeights(il.Weight, o, rng, 1, a, l.Kout)
		} else {
			// Frozen at uniform weights 1/H (softmax: logits 0).
			fill := 1 / float64(a)
			if o.Param != Clamp {
				fill = 0
				if o.Param == Exp {
					fill = math.Log(1 / float64(a))
				}
			}
			il.Weight.SetValue(constant(il.Weight.Len(), fill))
			il.Weight.Freeze()
		}
		return il
	}
	switch o.Layer {
	case CP:
		il.Weight = nn.NewParam("weight", o.DType, f, a, l.Kout, l.Kin)
		initWeights(il.Weight, o, rng, f*a*l.Kout, l.Kin, 1)
	case CPXS, CPS:
		il.Weight = nn.NewParam("weight", o.DType, 1, a, l.Kout, l.Kin)
		initWeights(il.Weight, o, rng, a*l.Kout, l.Kin, 1)
		if o.Layer == CPS {
			// Scales start uniform(0.9, 1.1), the reference protocol's.
			il.Scale = nn.NewParam("scale", o.DType, f, l.Kout)
			nn.UniformInit(il.Scale, 0.9, 1.1, rng)
			if o.Param == Clamp {
				il.Scale.SetMin(ClampMin)
			} else {
				logInPlace(il.Scale)
			}
		}
	case CPR:
		il.Weight = nn.NewParam("weight", o.DType, f, a, o.Rank, l.Kin)
		initWeights(il.Weight, o, rng, f*a*o.Rank, l.Kin, 1)
		il.Out = nn.NewParam("out", o.DType, f, l.Kout, o.Rank)
		initWeights(il.Out, o, rng, f*l.Kout, o.Rank, 1)
	case Tucker:
		il.Weight = nn.NewParam("weight", o.DType, f, l.Kout, l.Kin*l.Kin)
		initWeights(il.Weight, o, rng, f*l.Kout, l.Kin*l.Kin, 1)
	}
	return il
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// initWeights draws positive weights for a parameter seen as (outer, n,
// inner), n being the axis a unit's weights are normalized over, then stores
// them as the parameterization wants: as they are (clamp, with the lower
// bound set) or as their logarithm (softmax, exp), so every
// parameterization starts from the same circuit up to normalization.
func initWeights(p *nn.Param, o *Options, rng *rand.Rand, outer, n, inner int) {
	w := make([]float64, p.Len())
	switch o.Init {
	case Uniform:
		// The reference protocol's uniform(0.01, 0.99).
		for i := range w {
			w[i] = 0.01 + 0.98*rng.Float64()
		}
	case Normal:
		for i := range w {
			w[i] = math.Abs(rng.NormFloat64()) + ClampMin
		}
	case Dirichlet:
		// Dirichlet(1): normalized standard exponentials along n.
		for a := range outer {
			for c := range inner {
				s := 0.0
				for j := range n {
					i := a*n*inner + j*inner + c
					w[i] = rng.ExpFloat64() + ClampMin
					s += w[i]
				}
				for j := range n {
					w[a*n*inner+j*inner+c] /= s
				}
			}
		}
	}
	if o.Param != Clamp {
		for i := range w {
			w[i] = math.Log(w[i])
		}
	}
	p.SetValue(w)
	if o.Param == Clamp {
		p.SetMin(ClampMin)
	}
}

func logInPlace(p *nn.Param) {
	v := p.Value()
	for i := range v {
		v[i] = math.Log(v[i])
	}
	p.SetValue(v)
}

// pass holds the nodes of one evaluation of the circuit on a graph.
type pass struct {
	layers []*nn.Node // layer outputs, 0 = input layer
}

// weights binds a layer parameter through its reparameterization op (under
// clamp an nn.Identity, which costs no copy and funnels both passes'
// gradients into one buffer that becomes the parameter's gradient).
func (c *Circuit) weights(g *nn.Graph, p *nn.Param, outer, n, inner int, kind Param) *nn.Node {
	node := g.Param(p)
	switch c.opts.DType {
	case nn.Float64:
		return nn.Apply(&reparamOp[float64]{kind: kind, shape: p.Shape(), outer: outer, n: n, inner: inner}, node)
	default:
		return nn.Apply(&reparamOp[float32]{kind: kind, shape: p.Shape(), outer: outer, n: n, inner: inner}, node)
	}
}

// reparams binds every inner layer's parameters once per graph, so the data
// and partition-function passes share the reparameterized weights.
type reparams struct {
	w, scale, out []*nn.Node
}

func (c *Circuit) bindParams(g *nn.Graph) *reparams {
	r := &reparams{
		w:     make([]*nn.Node, len(c.Layers)),
		scale: make([]*nn.Node, len(c.Layers)),
		out:   make([]*nn.Node, len(c.Layers)),
	}
	for i, il := range c.Layers {
		l := &c.plan.Layers[i]
		sh := il.Weight.Shape()
		switch {
		case l.Kind == Mixing:
			r.w[i] = c.weights(g, il.Weight, sh[0], sh[1], sh[2], c.opts.Param)
		default:
			// Every other weight is normalized over its last axis.
			last := sh[len(sh)-1]
			r.w[i] = c.weights(g, il.Weight, il.Weight.Len()/last, last, 1, c.opts.Param)
		}
		if il.Scale != nil {
			kind := c.opts.Param
			if kind == Softmax {
				kind = Exp // a scale is not a distribution: exp keeps it positive
			}
			r.scale[i] = c.weights(g, il.Scale, il.Scale.Len(), 1, 1, kind)
		}
		if il.Out != nil {
			osh := il.Out.Shape()
			r.out[i] = c.weights(g, il.Out, il.Out.Len()/osh[2], osh[2], 1, c.opts.Param)
		}
	}
	return r
}

// forward wires one pass of the circuit over batch b: input is the input
// layer's output node.
func (c *Circuit) forward(g *nn.Graph, input *nn.Node, b int, r *reparams, marginal bool) (*pass, error) {
	ps := &pass{layers: []*nn.Node{input}}
	for i := range c.plan.Layers {
		l := &c.plan.Layers[i]
		srcs := make([]*nn.Node, len(l.Sources))
		srcFolds := make([]int, len(l.Sources))
		srcGrad := make([]bool, len(l.Sources))
		for s, li := range l.Sources {
			srcs[s] = ps.layers[li]
			srcFolds[s], _ = c.plan.LayerWidth(li)
			srcGrad[s] = !(marginal && li == 0)
		}
		wr := kernel.Wiring{F: l.F(), A: l.Arity, B: b, Kin: l.Kin, Kout: l.Kout, Refs: l.Refs, SrcFolds: srcFolds}
		name := fmt.Sprintf("%v[layer %d F=%d A=%d]", c.opts.Layer, i+1, l.F(), l.Arity)
		if l.Kind == Mixing {
			name = fmt.Sprintf("mixing[layer %d F=%d H=%d]", i+1, l.F(), l.Arity)
		}
		var out *nn.Node
		var err error
		if c.opts.DType == nn.Float64 {
			out, err = innerLayerOp[float64](c, l, wr, name, srcGrad, srcs, r, i)
		} else {
			out, err = innerLayerOp[float32](c, l, wr, name, srcGrad, srcs, r, i)
		}
		if err != nil {
			return nil, err
		}
		ps.layers = append(ps.layers, out)
	}
	return ps, nil
}

func innerLayerOp[T kernel.Float](c *Circuit, l *LayerPlan, wr kernel.Wiring, name string, srcGrad []bool, srcs []*nn.Node, r *reparams, i int) (*nn.Node, error) {
	op, err := newLayerOp[T](c.opts.Layer, c.opts.Rank, l, wr)
	if err != nil {
		return nil, fmt.Errorf("circuit: %s: %w", name, err)
	}
	op.name, op.nsrc, op.srcGrad = name, len(srcs), srcGrad
	ins := append(append([]*nn.Node(nil), srcs...), r.w[i])
	for _, extra := range []*nn.Node{r.scale[i], r.out[i]} {
		if extra != nil {
			ins = append(ins, extra)
		}
	}
	return nn.Apply(op, ins...), nil
}

// inputNode wires the data pass's input layer: x (B, V) and missing (B, V).
func (c *Circuit) inputNode(g *nn.Graph, x, missing *nn.Node, b int, em, train bool) (*nn.Node, error) {
	if c.opts.DType == nn.Float64 {
		return inputOpNode[float64](c, g, x, missing, b, em, train)
	}
	return inputOpNode[float32](c, g, x, missing, b, em, train)
}

// inputOpNode wires the data pass's input layer. Under EM the categorical
// logits are kept normalized (log-probabilities), so the layer reads them
// with the exp parameterization: the same forward, and a gradient that is
// exactly the expected counts. A training program's categorical table does
// not look for unchanged parameters (the optimizer changes them all).
func inputOpNode[T kernel.Float](c *Circuit, g *nn.Graph, x, missing *nn.Node, b int, em, train bool) (*nn.Node, error) {
	p, o := c.plan, &c.opts
	op := &inputOp[T]{kind: o.Input, F: len(p.Leaves), B: b, K: p.InputUnits, V: p.NumVars}
	leafVars := p.LeafVars
	if p.NumSlots != p.NumVars {
		// A variable in several leaves: the kernel sees one column per slot,
		// gathered from the data each step.
		op.cols = p.LeafVars
		leafVars = p.Slots
	}
	op.miss = make([]bool, b*p.NumSlots)
	var err error
	ins := []*nn.Node{x, missing}
	switch o.Input {
	case Categorical:
		param := kernel.CategoricalSoftmax
		if em {
			param = kernel.CategoricalExp
		}
		op.cat, err = kernel.NewCategorical[T](p.LeafOff, leafVars, p.NumSlots, p.InputUnits, o.Values, param)
		if err == nil && train {
			op.cat.SetReuse(false)
		}
		ins = append(ins, g.Param(c.Input.Logits))
	case Bernoulli:
		op.bin, err = kernel.NewBernoulli[T](p.LeafOff, leafVars, p.NumSlots, p.InputUnits)
		ins = append(ins, g.Param(c.Input.Logits))
	case Binomial:
		op.bin, err = kernel.NewBinomial[T](p.LeafOff, leafVars, p.NumSlots, p.InputUnits, o.Values-1)
		ins = append(ins, g.Param(c.Input.Logits))
	case Gaussian:
		op.gauss, err = kernel.NewGaussian[T](p.LeafOff, leafVars, p.NumSlots, p.InputUnits)
		ins = append(ins, g.Param(c.Input.Mean), g.Param(c.Input.LogStd))
	}
	if err != nil {
		return nil, fmt.Errorf("circuit: input layer: %w", err)
	}
	if op.cols != nil {
		op.x8 = make([]uint8, b*p.NumSlots)
		op.xf = make([]T, b*p.NumSlots)
		op.m8 = make([]uint8, b*p.NumSlots)
	}
	return nn.Apply(op, ins...), nil
}

func (c *Circuit) anyInputParam() *nn.Param {
	if c.Input.Logits != nil {
		return c.Input.Logits
	}
	return c.Input.Mean
}

func (c *Circuit) readout(root *nn.Node, b int) *nn.Node {
	p := c.plan
	folds, _ := p.LayerWidth(p.RegionLoc[p.Root].Layer)
	fold := p.RegionLoc[p.Root].Fold
	if c.opts.DType == nn.Float64 {
		return nn.Apply(&readoutOp[float64]{F: folds, Fold: fold, B: b, K: p.Classes}, root)
	}
	return nn.Apply(&readoutOp[float32]{F: folds, Fold: fold, B: b, K: p.Classes}, root)
}

// Nodes are the graph nodes of a circuit wired into a graph by Wire.
type Nodes struct {
	// X (B, V) and Missing (B, V) are the inputs: category indices as uint8
	// (float for Gaussian inputs) and a mask, 1 where a variable is missing
	// (integrated out).
	X, Missing *nn.Node
	// Circuit (B, Classes) is c(x), the unnormalized log-value of each root
	// unit with missing variables integrated out.
	Circuit *nn.Node
	// LogZ (1, Classes) is log Z, the log partition function (nil when the
	// circuit is normalized by construction).
	LogZ *nn.Node
}

// Wire builds the circuit's evaluation for a batch of b samples on g: inputs
// named prefix+"x" and prefix+"missing", and the circuit's and partition
// function's log-values.
func (c *Circuit) Wire(g *nn.Graph, b int, prefix string) (*Nodes, error) {
	return c.wire(g, b, prefix, false, false)
}

// wire builds the evaluation; em selects the EM wiring (exp-parameterized
// categorical inputs, no partition-function pass: EM keeps the circuit
// normalized).
func (c *Circuit) wire(g *nn.Graph, b int, prefix string, em, train bool) (*Nodes, error) {
	if g.DType() != c.opts.DType {
		return nil, fmt.Errorf("circuit: graph is %v, circuit is %v", g.DType(), c.opts.DType)
	}
	n := &Nodes{}
	if c.opts.Input == Gaussian {
		n.X = g.Input(prefix+"x", b, c.plan.NumVars)
	} else {
		n.X = g.InputOf(prefix+"x", nn.Uint8, b, c.plan.NumVars)
	}
	n.Missing = g.InputOf(prefix+"missing", nn.Uint8, b, c.plan.NumVars)
	r := c.bindParams(g)
	in, err := c.inputNode(g, n.X, n.Missing, b, em, train)
	if err != nil {
		return nil, err
	}
	data, err := c.forward(g, in, b, r, false)
	if err != nil {
		return nil, err
	}
	root := c.plan.RegionLoc[c.plan.Root].Layer
	n.Circuit = c.readout(data.layers[root], b)
	if !c.Normalized() && !em {
		var marg *nn.Node
		anchor := g.Param(c.anyInputParam())
		if c.opts.DType == nn.Float64 {
			marg = nn.Apply(&marginalOp[float64]{F: len(c.plan.Leaves), B: 1, K: c.plan.InputUnits}, anchor)
		} else {
			marg = nn.Apply(&marginalOp[float32]{F: len(c.plan.Leaves), B: 1, K: c.plan.InputUnits}, anchor)
		}
		zp, err := c.forward(g, marg, 1, r, true)
		if err != nil {
			return nil, err
		}
		n.LogZ = c.readout(zp.layers[root], 1)
	}
	return n, nil
}
