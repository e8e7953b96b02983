package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/tenpc/tenpc/internal/vec"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled Graph: a Gorgonia tape machine plus the bookkeeping
// that hides it. Run and Step copy the feed into the inputs, reset the
// machine, run it, and collect the results, so callers never call Let, Reset
// or Read themselves.
//
// A Program compiled with Minimize also computes the gradient of the loss
// with respect to every non-frozen parameter the loss depends on; Step adds
// it into the parameters' gradient buffers (optimizers zero them).
type Program struct {
	g       *Graph
	m       G.VM
	loss    *Node
	lossVal *G.Value
	outs    map[string]*captureOp
	grads   []gradRead
	names   map[*Param]string // full names for errors (ParamNames)
	ran     bool              // a run has completed
}

type gradRead struct {
	p   *Param
	v   *G.Value       // where the gradient is after a run, unless buf is set
	buf **tensor.Dense // or: a fused op's buffer, which Step may swap with p's
}

func (gr gradRead) value() G.Value {
	if gr.buf != nil {
		return *gr.buf
	}
	return *gr.v
}

// gradBuf returns the buffer of a fused op that holds gradient node n's
// value after a run, or nil when n is not such a node. The op clears or
// overwrites the buffer in every run, so Step may swap it with a zero
// parameter gradient instead of copying it.
func gradBuf(n *G.Node) **tensor.Dense {
	op, ok := n.Op().(fusedBwd)
	switch {
	case !ok || op.token:
		return nil
	case op.s.passes(op.i):
		return &op.s.gacc
	case op.s.dIn[op.i] != nil:
		return &op.s.dIn[op.i]
	}
	return nil
}

// Option configures Compile.
type Option func(*compileConfig)

type compileConfig struct {
	loss     *Node
	training *bool
	names    []NamedParam
}

// Minimize makes the program differentiate loss (a scalar) with respect to
// the parameters it depends on. It also puts the program in training mode,
// unless Training says otherwise.
func Minimize(loss *Node) Option { return func(c *compileConfig) { c.loss = loss } }

// Training sets the program's mode, which decides what mode-dependent layers
// (Dropout) do in every run: on, they train (drop); off, they evaluate (pass
// through). Without it, a program compiled with Minimize trains and one
// compiled without evaluates, as PyTorch's model.train() and model.eval().
func Training(on bool) Option { return func(c *compileConfig) { c.training = &on } }

// ParamNames gives the program the full names of its parameters (from
// NamedParams), so that its errors name a parameter by its path in the
// model ("layers.3.weight") rather than by its local name ("weight").
func ParamNames(named []NamedParam) Option { return func(c *compileConfig) { c.names = named } }

// Compile turns the graph into a runnable Program. It returns the first
// naming error recorded while the graph was built (duplicate inputs or
// outputs), or an error if the loss is not a scalar.
func (g *Graph) Compile(opts ...Option) (prog *Program, err error) {
	if g.err != nil {
		return nil, g.err
	}
	var cfg compileConfig
	for _, o := range opts {
		o(&cfg)
	}
	defer func() {
		// Gorgonia reports some wiring problems by panicking while it
		// differentiates or compiles; surface them as errors.
		if r := recover(); r != nil {
			var se *ShapeError
			if e, ok := r.(error); ok && errors.As(e, &se) {
				err = se
				return
			}
			err = fmt.Errorf("nn: compile: %v", r)
		}
	}()
	g.training = cfg.loss != nil
	if cfg.training != nil {
		g.training = *cfg.training
	}
	p := &Program{g: g, outs: map[string]*captureOp{}, names: map[*Param]string{}}
	for _, np := range cfg.names {
		p.names[np.Param] = np.Name
	}
	// Outputs are copied as soon as they are computed, by an op that reads
	// them (so Gorgonia keeps their storage alive until then and cannot
	// reuse it in place first).
	for _, name := range g.oorder {
		n := g.outputs[name]
		shape := n.Shape()
		if len(shape) == 0 {
			shape = []int{1} // a scalar is kept as one element
		}
		op := &captureOp{name: name, shape: n.Shape(), saved: tensor.New(tensor.WithShape(shape...), tensor.Of(n.n.Dtype()))}
		Apply(op, n)
		p.outs[name] = op
	}
	if cfg.loss != nil {
		if cfg.loss.g != g {
			return nil, errors.New("nn: compile: loss belongs to another graph")
		}
		if len(cfg.loss.Shape()) != 0 {
			return nil, fmt.Errorf("nn: compile: loss must be a scalar, has shape %v", cfg.loss.Shape())
		}
		p.loss = cfg.loss
		reach := g.reachable(cfg.loss.n)
		var wrt []*G.Node
		var ps []*Param
		for _, par := range g.porder {
			n := g.params[par]
			if par.frozen || !reach[n.n.ID()] {
				continue
			}
			wrt = append(wrt, n.n)
			ps = append(ps, par)
		}
		if len(wrt) > 0 {
			gn, err := G.Grad(cfg.loss.n, wrt...)
			if err != nil {
				return nil, fmt.Errorf("nn: compile: differentiate: %w", err)
			}
			for i, n := range gn {
				if buf := gradBuf(n); buf != nil {
					p.grads = append(p.grads, gradRead{p: ps[i], buf: buf})
					continue
				}
				p.grads = append(p.grads, gradRead{p: ps[i], v: readValue(n)})
			}
		}
		p.lossVal = new(G.Value)
		G.Read(cfg.loss.n, p.lossVal)
	}
	p.m = G.NewTapeMachine(g.g)
	return p, nil
}

// readValue returns where a gradient node's value can be found after a
// run, through Gorgonia's Read. (Gradients of parameters computed by fused
// ops are read through gradBuf; named outputs through captureOp.)
func readValue(n *G.Node) *G.Value {
	v := new(G.Value)
	G.Read(n, v)
	return v
}

// reachable returns the ids of every node the node depends on.
func (g *Graph) reachable(root *G.Node) map[int64]bool {
	seen := map[int64]bool{}
	stack := []*G.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n.ID()] {
			continue
		}
		seen[n.ID()] = true
		it := g.g.From(n.ID())
		for it.Next() {
			stack = append(stack, it.Node().(*G.Node))
		}
	}
	return seen
}

// Feed maps input names to data: []float32, []float64, []uint8 or []int of
// exactly the input's size, row-major. Inputs left out keep their previous
// values.
type Feed map[string]any

func (p *Program) feed(f Feed) error {
	for name, data := range f {
		in, ok := p.g.inputs[name]
		if !ok {
			return fmt.Errorf("nn: feed: the graph has no input %q", name)
		}
		t := in.n.Value().(*tensor.Dense)
		var n int
		switch dst := t.Data().(type) {
		case []float32:
			src, ok := data.([]float32)
			if !ok {
				return fmt.Errorf("nn: feed %q: want []float32, got %T", name, data)
			}
			n = copy(dst, src)
		case []float64:
			src, ok := data.([]float64)
			if !ok {
				return fmt.Errorf("nn: feed %q: want []float64, got %T", name, data)
			}
			n = copy(dst, src)
		case []uint8:
			src, ok := data.([]uint8)
			if !ok {
				return fmt.Errorf("nn: feed %q: want []uint8, got %T", name, data)
			}
			n = copy(dst, src)
		case []int:
			src, ok := data.([]int)
			if !ok {
				return fmt.Errorf("nn: feed %q: want []int, got %T", name, data)
			}
			if c, ok := p.g.classes[name]; ok {
				for i, v := range src {
					if v < 0 || v >= c {
						return fmt.Errorf("nn: feed %q: label %d at position %d is outside [0, %d) (%d classes)", name, v, i, c, c)
					}
				}
			}
			n = copy(dst, src)
		}
		if n != t.Size() || lenOf(data) != t.Size() {
			return fmt.Errorf("nn: feed %q: %d values for shape %v (%d)", name, lenOf(data), t.Shape(), t.Size())
		}
	}
	return nil
}

func lenOf(data any) int {
	switch d := data.(type) {
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case []uint8:
		return len(d)
	case []int:
		return len(d)
	}
	return -1
}

// Run feeds the inputs and runs the program once (forward, and backward too
// if the program was compiled with Minimize; gradients are not accumulated).
func (p *Program) Run(f Feed) error {
	if err := p.feed(f); err != nil {
		return err
	}
	p.m.Reset()
	p.ran = false
	if err := p.m.RunAll(); err != nil {
		return fmt.Errorf("nn: run: %w", err)
	}
	p.ran = true
	return nil
}

// Step runs forward and backward, adds the gradient into every differentiated
// parameter's gradient buffer and returns the loss. A NaN or infinite loss is
// returned with an error and leaves the gradients untouched.
func (p *Program) Step(f Feed) (float64, error) {
	if p.loss == nil {
		return 0, errors.New("nn: Step on a program compiled without Minimize")
	}
	if err := p.Run(f); err != nil {
		return 0, err
	}
	loss, err := scalarValue(*p.lossVal)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("nn: loss is %v", loss)
	}
	// Check every gradient before touching any, so a failed step leaves
	// the accumulated gradients as they were.
	for _, gr := range p.grads {
		if i, bad := nonFinite(gr.value()); bad {
			return loss, &NonFiniteError{Param: p.nameOf(gr.p), Index: i}
		}
	}
	for _, gr := range p.grads {
		// A zero gradient takes the program's buffer, which the next run
		// overwrites, instead of a copy.
		if gr.buf != nil && gr.p.takeGrad(gr.buf) {
			continue
		}
		if err := addGrad(gr.p, gr.value()); err != nil {
			return loss, err
		}
	}
	return loss, nil
}

// nameOf is a parameter's full name if ParamNames gave it, else its own.
func (p *Program) nameOf(par *Param) string {
	if n, ok := p.names[par]; ok {
		return n
	}
	return par.Name()
}

// Loss is the loss computed by the last run.
func (p *Program) Loss() (float64, error) {
	if p.loss == nil {
		return 0, errors.New("nn: program has no loss")
	}
	return scalarValue(*p.lossVal)
}

// Output returns a view of a named output's value after the last run. The
// view is valid until the next run.
func (p *Program) Output(name string) (Buf, error) {
	c, ok := p.outs[name]
	if !ok {
		return Buf{}, fmt.Errorf("nn: no output %q", name)
	}
	if !p.ran {
		return Buf{}, fmt.Errorf("nn: output %q: the program has not run", name)
	}
	b := bufOf(c.saved)
	b.Shape = c.shape
	return b, nil
}

// Params lists the parameters bound into the program's graph, in binding order.
func (p *Program) Params() []*Param { return append([]*Param(nil), p.g.porder...) }

func scalarValue(v G.Value) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, errors.New("nn: value not computed")
	case *G.F32:
		return float64(*x), nil
	case *G.F64:
		return float64(*x), nil
	case tensor.Tensor:
		if x.Size() != 1 {
			return 0, fmt.Errorf("nn: value of shape %v is not a scalar", x.Shape())
		}
		switch d := x.Data().(type) {
		case []float32:
			return float64(d[0]), nil
		case []float64:
			return d[0], nil
		case float32:
			return float64(d), nil
		case float64:
			return d, nil
		}
	}
	return 0, fmt.Errorf("nn: unexpected scalar value %T", v)
}

func addGrad(p *Param, v G.Value) error {
	t, ok := v.(tensor.Tensor)
	if !ok || t.Size() != p.Len() {
		return fmt.Errorf("nn: gradient of %q has the wrong shape", p.name)
	}
	// Into a gradient marked zero, a copy instead of clearing and adding.
	set := p.zero
	switch src := t.Data().(type) {
	case []float32:
		dst, ok := p.grad.Data().([]float32)
		if !ok {
			return fmt.Errorf("nn: gradient of %q is float32, the parameter %v", p.name, p.dtype)
		}
		vec.Chunks(len(src), func(_, lo, hi int) { addOrCopy(dst[lo:hi], src[lo:hi], set) })
	case []float64:
		dst, ok := p.grad.Data().([]float64)
		if !ok {
			return fmt.Errorf("nn: gradient of %q is float64, the parameter %v", p.name, p.dtype)
		}
		vec.Chunks(len(src), func(_, lo, hi int) { addOrCopy(dst[lo:hi], src[lo:hi], set) })
	default:
		return fmt.Errorf("nn: gradient of %q has type %T", p.name, src)
	}
	p.zero = false
	return nil
}

func addOrCopy[T float32 | float64](dst, src []T, set bool) {
	if set {
		copy(dst, src)
	} else {
		vec.Add(dst, src)
	}
}

// NonFiniteError reports a NaN or infinite gradient: the parameter (its
// full name when the program was compiled with ParamNames, which names the
// layer; its own name otherwise) and the first offending element.
type NonFiniteError struct {
	Param string
	Index int
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("nn: gradient of %s is not finite (element %d)", e.Param, e.Index)
}

func nonFinite(v G.Value) (int, bool) {
	t, ok := v.(tensor.Tensor)
	if !ok {
		return 0, false
	}
	var first func(lo, hi int) int
	switch d := t.Data().(type) {
	case []float32:
		first = func(lo, hi int) int { return vec.FirstNonFinite(d[lo:hi]) }
	case []float64:
		first = func(lo, hi int) int { return vec.FirstNonFinite(d[lo:hi]) }
	default:
		return 0, false
	}
	// Each chunk records its first hit; the lowest chunk's is the answer.
	var hits [vec.MaxChunks]int
	for c := range hits {
		hits[c] = -1
	}
	vec.Chunks(t.Size(), func(c, lo, hi int) {
		if i := first(lo, hi); i >= 0 {
			hits[c] = lo + i
		}
	})
	for _, i := range hits {
		if i >= 0 {
			return i, true
		}
	}
	return 0, false
}

// captureOp copies a named output into a buffer of its own when the output
// is computed. Its result, a scalar zero, is unused.
type captureOp struct {
	name  string
	shape []int
	saved *tensor.Dense
}

func (o *captureOp) Name() string                             { return "output " + o.name }
func (o *captureOp) OutShape([][]int) ([]int, error)          { return nil, nil }
func (o *captureOp) DiffWRT(int) bool                         { return false }
func (o *captureOp) Backward(in []Buf, out, g Buf, dIn []Buf) {}
func (o *captureOp) Forward(in []Buf, out Buf) {
	dst := bufOf(o.saved)
	switch {
	case dst.F32 != nil:
		copy(dst.F32, in[0].F32)
	case dst.F64 != nil:
		copy(dst.F64, in[0].F64)
	case dst.U8 != nil:
		copy(dst.U8, in[0].U8)
	default:
		copy(dst.Int, in[0].Int)
	}
}
