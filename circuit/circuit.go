package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// Circuit is a folded tensorized circuit as a tree of nn modules: the
// input layer and one module per folded inner layer, in plan order (so
// nn.NamedParams names the parameters "input.logits", "layers.3.weight", …
// and nn.SaveModule/LoadModule and nn.Summary work on it). Compile and
// Wire build its graph; the queries read its current parameters.
type Circuit struct {
	Input *InputLayer
	// Layers[i] is the module of Plan().Layers[i]: a *MixingLayer for a
	// mixing layer, the layer family's module (*CPLayer, *CPRLayer,
	// *TuckerLayer or a registered one) for a sum-product layer.
	Layers []InnerLayer

	plan *Plan
	opts Options
	ref  refState // the reference evaluator's float64 copy and programs

	// factors are the two circuits of a product (Multiply), nil otherwise.
	factors []*Circuit
	// Mono is a squared circuit's monotonic factor m (Options.MonoUnits):
	// p = m·c²/Z. Nil for other circuits.
	Mono *Circuit

	// sq is Multiply(c, c), or Multiply(m, Multiply(c, c)) with a
	// monotonic factor, made when a squared circuit first needs it.
	sqMu sync.Mutex
	sq   *Circuit
}

// Plan is the circuit's folded structure.
func (c *Circuit) Plan() *Plan { return c.plan }

// Options are the options the circuit was built with (defaults filled in),
// with the engine of SetEngine.
func (c *Circuit) Options() Options { return c.opts }

// SetEngine chooses the engine of the programs compiled from now on
// (Options.Engine; programs compiled before keep theirs). The engine is
// not part of the model: both compute the same circuit.
func (c *Circuit) SetEngine(e Engine) error {
	if e != Fused && e != Graph {
		return fmt.Errorf("circuit: unknown engine %v", e)
	}
	c.opts.Engine = e
	return nil
}

// Params lists the circuit's parameters with their full names
// ("input.logits", "layers.3.weight"): the names of model files,
// checkpoints and optimizer state.
func (c *Circuit) Params() []nn.NamedParam { return nn.NamedParams(c) }

// Normalized reports whether the circuit is normalized by construction
// (softmax weights, no CP-S scales), so log Z = 0 needs no pass of its own.
func (c *Circuit) Normalized() bool {
	def, _ := layerDef(c.opts.Layer)
	return c.opts.Param == Softmax && def.Normalized && c.factors == nil
}

// Describe implements nn.Describer: the circuit's variables, layers and
// root units.
func (c *Circuit) Describe() string {
	if c.factors != nil {
		return fmt.Sprintf("product of %v and %v, %d variables, %d layers → %d", c.factors[0].opts.Layer, c.factors[1].opts.Layer, c.plan.NumVars, len(c.Layers)+1, c.plan.Classes)
	}
	s := fmt.Sprintf("%v, %d variables, %d layers → %d", c.opts.Layer, c.plan.NumVars, len(c.Layers)+1, c.plan.Classes)
	if c.squared() {
		s += ", squared"
	}
	if c.Mono != nil {
		s += fmt.Sprintf(", times a monotonic circuit of K=%d", c.Mono.opts.Units)
	}
	return s
}

// engine is the engine c's programs run on: Options.Engine, or the graph
// engine for circuits the fused kernels do not compute (real weights,
// products, mixed inputs).
func (c *Circuit) engine() Engine {
	if c.signed() || !c.Input.plain() {
		return Graph
	}
	return c.opts.Engine
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
	if opt.Columns != nil && len(opt.Columns) != plan.NumVars {
		return nil, fmt.Errorf("circuit: %d Columns for a region graph over %d variables", len(opt.Columns), plan.NumVars)
	}
	def, _ := layerDef(opt.Layer)
	total := int64(inputParamCount(plan, &opt))
	counted := true
	for i := range plan.Layers {
		n, ok := layerParamCount(&plan.Layers[i], &opt, def)
		total += int64(n)
		counted = counted && ok
	}
	if err := opt.checkParams(total); err != nil {
		return nil, err
	}
	if opt.Param == Real {
		// The partition function of a squared circuit is its product with
		// itself, which needs one decomposition per scope.
		if err := oneSplitEach(plan.graph, "the region graph"); err != nil {
			return nil, fmt.Errorf("circuit: real weights (a squared circuit): %w", err)
		}
	}
	c, err := newCircuit(plan, opt, def, rand.New(rand.NewPCG(opt.Seed, 0x7e9c)))
	if err != nil {
		return nil, err
	}
	if opt.MonoUnits > 0 {
		if c.Mono, err = Build(rg, opt.monoOptions()); err != nil {
			return nil, fmt.Errorf("circuit: the monotonic factor (MonoUnits %d): %w", opt.MonoUnits, err)
		}
		counted = false
		// c near a constant, so that p = m·c²/Z starts near m.
		c.Input.flatten(rand.New(rand.NewPCG(opt.Seed, 0x5a17)))
	}
	if !counted {
		if err := opt.checkParams(int64(nn.ParamCount(c))); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// newCircuit builds the modules of plan under o, drawing their initial
// weights from rng.
func newCircuit(plan *Plan, o Options, def LayerDef, rng *rand.Rand) (*Circuit, error) {
	c := &Circuit{plan: plan, opts: o}
	c.Input = newInputLayer(plan, &o, rng)
	for i := range plan.Layers {
		l := &plan.Layers[i]
		s := layerSpec(l, &o, rng)
		if l.Kind == Mixing {
			c.Layers = append(c.Layers, newMixing(s, o.LearnMixing))
			continue
		}
		m, err := def.New(s)
		if err != nil {
			return nil, fmt.Errorf("circuit: layers.%d (%v F=%d A=%d): %w", i, o.Layer, l.F(), l.Arity, err)
		}
		if m == nil {
			return nil, fmt.Errorf("circuit: layers.%d: the %v factory returned no layer", i, o.Layer)
		}
		c.Layers = append(c.Layers, m)
	}
	return c, nil
}

// rebuild returns a circuit of c's structure and options with element type
// dt and parameters to be copied in (a product: the product of its
// factors' rebuilds, a square staying a square).
func (c *Circuit) rebuild(dt nn.DType) (*Circuit, error) {
	if c.factors != nil {
		a, err := c.factors[0].rebuild(dt)
		if err != nil {
			return nil, err
		}
		b := a
		if c.factors[1] != c.factors[0] {
			if b, err = c.factors[1].rebuild(dt); err != nil {
				return nil, err
			}
		}
		return Multiply(a, b)
	}
	o := c.opts
	o.DType = dt
	def, _ := layerDef(o.Layer)
	r, err := newCircuit(c.plan, o, def, rand.New(rand.NewPCG(0, 0)))
	if err != nil || c.Mono == nil {
		return r, err
	}
	r.Mono, err = c.Mono.rebuild(dt)
	return r, err
}

// layerSpec is the spec of plan layer l under o.
func layerSpec(l *LayerPlan, o *Options, rng *rand.Rand) LayerSpec {
	s := LayerSpec{Layer: o.Layer, Folds: l.F(), Arity: l.Arity, Kin: l.Kin, Kout: l.Kout,
		Rank: o.Rank, Param: o.Param, Init: o.Init, DType: o.DType, Rand: rng}
	if l.Kind == Mixing {
		s.Layer = "mixing"
	}
	return s
}

// layerParamCount is one folded layer's parameter count (mixing: F·H·K) and
// whether it is known before the layer is built (a registered layer
// without ParamCount).
func layerParamCount(l *LayerPlan, o *Options, def LayerDef) (int, bool) {
	if l.Kind == Mixing {
		return l.F() * l.Arity * l.Kout, true
	}
	if def.ParamCount == nil {
		return 0, false
	}
	return def.ParamCount(layerSpec(l, o, nil)), true
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
	def, _ := layerDef(o.Layer)
	if !def.Binary || !hasWidePartition(rg) {
		return NewPlan(rg, o.InputUnits, o.Units, o.Classes)
	}
	bin, err := regiongraph.Binarize(rg)
	if err != nil {
		return nil, err
	}
	p, err := NewPlan(bin, o.InputUnits, o.Units, o.Classes)
	if err != nil {
		return nil, fmt.Errorf("%w (in the region graph binarized for %v layers)", err, o.Layer)
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

func logInPlace(p *nn.Param) {
	v := p.Value()
	for i := range v {
		v[i] = math.Log(v[i])
	}
	p.SetValue(v)
}

// inputNode wires the data pass's input layer: x (B, V) and missing (B, V).
func (c *Circuit) inputNode(g *nn.Graph, x, missing *nn.Node, b int, m inputPass) (*nn.Node, error) {
	if c.opts.DType == nn.Float64 {
		return inputOpNode[float64](c, g, x, missing, b, m)
	}
	return inputOpNode[float32](c, g, x, missing, b, m)
}

// inputOpNode wires the data pass's input layer. Under EM the categorical
// logits are kept normalized (log-probabilities), so the layer reads them
// with the exp parameterization: the same forward, and a gradient that is
// exactly the expected counts. A training program's categorical table does
// not look for unchanged parameters (the optimizer changes them all).
// Softening transforms the parameters before the kernel reads them.
func inputOpNode[T kernel.Float](c *Circuit, g *nn.Graph, x, missing *nn.Node, b int, m inputPass) (*nn.Node, error) {
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
		if m.em {
			param = kernel.CategoricalExp
		}
		op.cat, err = kernel.NewCategorical[T](p.LeafOff, leafVars, p.NumSlots, p.InputUnits, o.Values, param)
		if err == nil && m.train {
			op.cat.SetReuse(false)
		}
		th := g.Param(c.Input.Logits)
		if softens(m.soften) {
			th = softenLogits(th, m.soften)
		}
		ins = append(ins, th)
	case Bernoulli:
		op.bin, err = kernel.NewBernoulli[T](p.LeafOff, leafVars, p.NumSlots, p.InputUnits)
		q := g.Param(c.Input.Logits)
		if softens(m.soften) {
			q = softenBernoulli(q, m.soften)
		}
		ins = append(ins, q)
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

// Wire builds the circuit's evaluation for a batch of b samples on g, on
// the engine of Options.Engine: inputs named prefix+"x" and
// prefix+"missing", and the circuit's and partition function's log-values.
// Its outputs are ordinary nodes: a larger network can take them as
// inputs (a classifier head on c(x) − log Z, say), and gradients flow back
// into the circuit's parameters through either engine.
//
// For a squared circuit (real weights) Circuit is log c(x)² with the
// missing variables integrated out of c(x)², computed by the product
// Multiply(c, c) (whose root units y·C + y it reads), and LogZ that
// product's log Z. Its parameters are c's.
func (c *Circuit) Wire(g *nn.Graph, b int, prefix string) (*Nodes, error) {
	return c.wire(g, b, prefix, wireMode{engine: c.engine()})
}

// wireMode says how wire builds a circuit's evaluation.
type wireMode struct {
	engine Engine
	// em selects the EM wiring (exp-parameterized categorical inputs, no
	// partition-function pass: EM keeps the circuit normalized).
	em    bool
	train bool
	// complete says that no variable is missing: a squared circuit's data
	// pass is then 2·log|c(x)|, on c itself rather than on its square.
	complete bool
	// soften is the data pass's softening β (Softened; 0: hard evidence).
	soften float64
}

// wire builds the evaluation (see Wire).
func (c *Circuit) wire(g *nn.Graph, b int, prefix string, m wireMode) (*Nodes, error) {
	if g.DType() != c.opts.DType {
		return nil, fmt.Errorf("circuit: graph is %v, circuit is %v", g.DType(), c.opts.DType)
	}
	n := &Nodes{}
	if c.floatData() {
		n.X = g.Input(prefix+"x", b, c.plan.NumVars)
	} else {
		n.X = g.InputOf(prefix+"x", nn.Uint8, b, c.plan.NumVars)
	}
	n.Missing = g.InputOf(prefix+"missing", nn.Uint8, b, c.plan.NumVars)
	if c.squared() {
		return n, c.wireSquared(g, n, b, m)
	}
	w := newWiring(c, g, m.engine)
	in, err := w.inputAct(n.X, n.Missing, b, inputPass{em: m.em, train: m.train, soften: m.soften}, sumProduct)
	if err != nil {
		return nil, err
	}
	data, err := w.pass(in, b, sumProduct, false)
	if err != nil {
		return nil, err
	}
	root := c.plan.RegionLoc[c.plan.Root].Layer
	n.Circuit = w.readout(data[root])
	if !c.Normalized() && !m.em {
		zp, err := w.pass(w.marginalAct(), 1, sumProduct, true)
		if err != nil {
			return nil, err
		}
		n.LogZ = w.readout(zp[root])
	}
	return n, nil
}

// wireSquared wires a squared circuit's data pass (2·log|c(x)| on c when
// m.complete, plus log m(x) with a monotonic factor; else on the square)
// and its partition function (the square with every variable integrated
// out) into n.
func (c *Circuit) wireSquared(g *nn.Graph, n *Nodes, b int, m wireMode) error {
	sq, err := c.square()
	if err != nil {
		return err
	}
	diag := diagonal(c.plan.Classes)
	if m.complete {
		lc, err := rootPass(c, g, n, b, m.train)
		if err != nil {
			return err
		}
		n.Circuit = nn.Scale(lc, 2)
		if c.Mono != nil {
			// m, monotonic, runs on its own engine (fused by default).
			lm, err := rootPass(c.Mono, g, n, b, m.train)
			if err != nil {
				return err
			}
			n.Circuit = nn.Add(n.Circuit, lm)
		}
	} else {
		lq, err := rootPass(sq, g, n, b, m.train)
		if err != nil {
			return err
		}
		n.Circuit = nn.Gather(lq, 1, diag)
	}
	wq := newWiring(sq, g, Graph)
	zp, err := wq.pass(wq.marginalAct(), 1, sumProduct, true)
	if err != nil {
		return err
	}
	n.LogZ = nn.Gather(wq.readout(zp[sq.plan.RegionLoc[sq.plan.Root].Layer]), 1, diag)
	return nil
}

// rootPass wires c's data pass over n's inputs on c's engine (the graph
// engine for signed circuits and products) and returns its root units'
// log-values (B, Classes).
func rootPass(c *Circuit, g *nn.Graph, n *Nodes, b int, train bool) (*nn.Node, error) {
	w := newWiring(c, g, c.engine())
	in, err := w.inputAct(n.X, n.Missing, b, inputPass{train: train}, sumProduct)
	if err != nil {
		return nil, err
	}
	data, err := w.pass(in, b, sumProduct, false)
	if err != nil {
		return nil, err
	}
	return w.readout(data[c.plan.RegionLoc[c.plan.Root].Layer]), nil
}

// floatData reports whether the circuit takes float data (Gaussian
// inputs) rather than uint8 categories.
func (c *Circuit) floatData() bool { return c.opts.Input == Gaussian || c.opts.Columns != nil }

// mixed reports whether the circuit has mixed inputs (Options.Columns).
func (c *Circuit) mixed() bool { return c.opts.Columns != nil }
