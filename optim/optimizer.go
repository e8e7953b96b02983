package optim

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tenpc/tenpc/nn"
)

// Optimizer updates a fixed set of parameters from their accumulated
// gradients. Adam and SGD implement it.
type Optimizer interface {
	// Step takes one optimization step over the non-frozen parameters:
	// set the learning rate from the schedule (if any), clip the gradients
	// (if configured), update the values, apply the projections (ClampMin
	// first, then the configured ones), and zero the gradients.
	Step()

	// ZeroGrad clears the gradients of the non-frozen parameters. Step does
	// it already; call it to discard gradients without stepping.
	ZeroGrad()

	// LR is the learning rate the next Step uses (when a schedule is
	// configured, the rate the schedule gives for the next step).
	LR() float64

	// SetLR sets the learning rate. With a schedule configured, the next
	// Step overrides it with the schedule's value. SetLR panics if lr is
	// negative, NaN or infinite.
	SetLR(lr float64)

	// Steps is the number of steps taken so far (restored by LoadState).
	Steps() int

	// Params returns the parameters the optimizer was built over, in order
	// (a new slice; the parameters themselves are shared).
	Params() []*nn.Param

	// State returns the optimizer's state as named arrays, ready to be
	// appended to an nn.State next to the model's parameters. The arrays
	// are copies.
	State() []nn.Array

	// LoadState restores the state saved by State from arrays, looking
	// arrays up by name and ignoring the ones it does not own (the model's
	// parameters, say). It returns an error wrapping ErrState, naming the
	// array, when an array is missing or has the wrong shape or element
	// kind, or when arrays hold another kind of optimizer's state; the
	// optimizer is unchanged then.
	LoadState(arrays []nn.Array) error
}

// ErrState is wrapped by every error LoadState returns.
var ErrState = errors.New("optim: bad optimizer state")

// stepNames lists the step-counter array of every optimizer kind, so that
// LoadState can say which kind a state belongs to.
var stepNames = map[string]string{
	"adam.step": "Adam",
	"sgd.step":  "SGD",
}

// core is what every optimizer shares: the parameter list, the learning
// rate and its schedule, the step counter, clipping and projections.
type core struct {
	kind        string // "adam", "sgd": the middle of every state name
	params      []*nn.Param
	names       []string // each parameter's full name: its state is "<name>.<kind>.…"
	lr          float64
	steps       int
	maxGradNorm float64 // 0: no clipping
	schedule    Schedule
	projections []Projection
	live        []*nn.Param // scratch: the non-frozen params of this step
}

func newCore(kind string, named []nn.NamedParam, lr, maxGradNorm float64, s Schedule, proj []Projection) core {
	seen := make(map[string]bool, len(named))
	params := make([]*nn.Param, len(named))
	names := make([]string, len(named))
	for i, p := range named {
		if p.Param == nil {
			panic(fmt.Sprintf("optim: parameter %d (%q) is nil", i, p.Name))
		}
		if seen[p.Name] {
			panic(fmt.Sprintf("optim: two parameters are named %q; state names would clash (prefix the modules' names: nn.Prefix)", p.Name))
		}
		seen[p.Name] = true
		params[i], names[i] = p.Param, p.Name
	}
	c := core{
		kind:        kind,
		params:      params,
		names:       names,
		lr:          lr,
		maxGradNorm: maxGradNorm,
		schedule:    s,
		projections: slices.Clone(proj),
	}
	if s != nil {
		c.lr = c.scheduled(0)
	}
	return c
}

func (c *core) scheduled(step int) float64 {
	lr := c.schedule.LR(step)
	if !validLR(lr) {
		panic(fmt.Sprintf("optim: schedule gave learning rate %v at step %d", lr, step))
	}
	return lr
}

func validLR(lr float64) bool { return lr >= 0 && !math.IsInf(lr, 1) }

func (c *core) LR() float64 { return c.lr }

func (c *core) SetLR(lr float64) {
	if !validLR(lr) {
		panic(fmt.Sprintf("optim: SetLR(%v): the learning rate must be finite and non-negative", lr))
	}
	c.lr = lr
}

func (c *core) Steps() int { return c.steps }

func (c *core) Params() []*nn.Param { return slices.Clone(c.params) }

func (c *core) ZeroGrad() {
	for _, p := range c.params {
		if !p.Frozen() {
			p.ZeroGrad()
		}
	}
}

// begin starts a step: it fixes the learning rate, collects the non-frozen
// parameters and clips their gradients.
func (c *core) begin() {
	if c.schedule != nil {
		c.lr = c.scheduled(c.steps)
	}
	c.live = c.live[:0]
	for _, p := range c.params {
		if !p.Frozen() {
			c.live = append(c.live, p)
		}
	}
	if c.maxGradNorm > 0 {
		ClipGradNorm(c.live, c.maxGradNorm)
	}
}

// end finishes a step: projections, zeroed gradients, the step counter, and
// the learning rate of the next step. clamped says the update itself
// already applied ClampMin (in the same order: before the projections).
func (c *core) end(clamped bool) {
	if !clamped {
		ClampMin(c.live)
	}
	for _, proj := range c.projections {
		proj(c.live)
	}
	for _, p := range c.live {
		p.ZeroGrad()
	}
	c.steps++
	if c.schedule != nil {
		c.lr = c.scheduled(c.steps)
	}
}

// state returns the shared arrays: "<kind>.step" and "<kind>.lr".
func (c *core) state() []nn.Array {
	return []nn.Array{
		{Name: c.kind + ".step", Shape: []int{1}, I64: []int64{int64(c.steps)}},
		{Name: c.kind + ".lr", Shape: []int{1}, F64: []float64{c.lr}},
	}
}

// stateReader looks arrays up by name and checks them.
type stateReader struct {
	kind   string
	byName map[string]*nn.Array
}

func newStateReader(kind string, arrays []nn.Array) (*stateReader, error) {
	r := &stateReader{kind: kind, byName: make(map[string]*nn.Array, len(arrays))}
	for i := range arrays {
		a := &arrays[i]
		if _, dup := r.byName[a.Name]; dup {
			return nil, fmt.Errorf("%w: array %q appears twice", ErrState, a.Name)
		}
		r.byName[a.Name] = a
	}
	own := kind + ".step"
	if r.byName[own] == nil {
		for name, other := range stepNames {
			if name != own && r.byName[name] != nil {
				return nil, fmt.Errorf("%w: the arrays hold %s state (%q), not %s state (no %q)",
					ErrState, other, name, stepNames[own], own)
			}
		}
	}
	return r, nil
}

// get returns the array called name after checking that it exists and has
// the given shape.
func (r *stateReader) get(name string, shape []int) (*nn.Array, error) {
	a := r.byName[name]
	if a == nil {
		return nil, fmt.Errorf("%w: no array %q", ErrState, name)
	}
	if !slices.Equal(a.Shape, shape) {
		return nil, fmt.Errorf("%w: array %q has shape %v, want %v", ErrState, name, a.Shape, shape)
	}
	return a, nil
}

// core reads "<kind>.step" and "<kind>.lr".
func (r *stateReader) core() (steps int, lr float64, err error) {
	name := r.kind + ".step"
	a, err := r.get(name, []int{1})
	if err != nil {
		return 0, 0, err
	}
	if len(a.I64) != 1 {
		return 0, 0, fmt.Errorf("%w: array %q must hold one int64", ErrState, name)
	}
	if a.I64[0] < 0 || a.I64[0] > math.MaxInt32 {
		return 0, 0, fmt.Errorf("%w: array %q holds step count %d", ErrState, name, a.I64[0])
	}
	steps = int(a.I64[0])
	name = r.kind + ".lr"
	if a, err = r.get(name, []int{1}); err != nil {
		return 0, 0, err
	}
	if len(a.F64) != 1 {
		return 0, 0, fmt.Errorf("%w: array %q must hold one float64", ErrState, name)
	}
	if !validLR(a.F64[0]) {
		return 0, 0, fmt.Errorf("%w: array %q holds learning rate %v", ErrState, name, a.F64[0])
	}
	return steps, a.F64[0], nil
}

// buffer is one per-parameter state buffer (a moment estimate, a momentum
// buffer) of the parameter's shape and element type: exactly one of f32 and
// f64 is non-nil.
type buffer struct {
	f32 []float32
	f64 []float64
}

func newBuffer(p *nn.Param) buffer {
	if p.DType() == nn.Float32 {
		return buffer{f32: make([]float32, p.Len())}
	}
	return buffer{f64: make([]float64, p.Len())}
}

// array returns a copy of b as an array named name with p's shape.
func (b buffer) array(name string, p *nn.Param) nn.Array {
	a := nn.Array{Name: name, Shape: p.Shape()}
	if b.f32 != nil {
		a.F32 = slices.Clone(b.f32)
	} else {
		a.F64 = slices.Clone(b.f64)
	}
	return a
}

// buffer reads the array called name into a new buffer for p (called
// pname) after checking its shape and element type.
func (r *stateReader) buffer(name string, p *nn.Param, pname string) (buffer, error) {
	a, err := r.get(name, p.Shape())
	if err != nil {
		return buffer{}, err
	}
	switch {
	case p.DType() == nn.Float32 && a.F32 != nil && len(a.F32) == p.Len():
		return buffer{f32: slices.Clone(a.F32)}, nil
	case p.DType() == nn.Float64 && a.F64 != nil && len(a.F64) == p.Len():
		return buffer{f64: slices.Clone(a.F64)}, nil
	}
	return buffer{}, fmt.Errorf("%w: array %q must hold %d %s values for parameter %q",
		ErrState, name, p.Len(), p.DType(), pname)
}

// float is the element type of parameters; every kernel is written once
// over it.
type float interface{ ~float32 | ~float64 }
