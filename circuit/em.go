package circuit

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tenpc/tenpc/nn"
)

// EM is (online, mini-batch) expectation-maximization for a circuit with
// clamp-parameterized inner weights and categorical inputs, in the form
// Einsum Networks use: after each batch, every sum unit's weights move
// towards their normalized expected counts,
//
//	w ← (1 − η) w + η · n / Σ n,     n_kj = w_kj · Σ_b ∂ log c(x_b) / ∂w_kj,
//
// and every input distribution towards its normalized expected value counts
// (η = 1 is plain mini-batch EM). The counts come from the gradient of a
// program compiled with CompileEM. A "sum unit" is one row of a weight
// matrix: a CP/CP-XS weight row over Kin, a CP-R projection row over Kin
// and output row over R, a Tucker row over Kin², a mixing unit over its H
// partitions. NewEM normalizes every such row (and the inputs) first, so the
// circuit stays normalized (Z = 1) throughout.
//
// EM implements optim.Optimizer: use it as any optimizer, with the program
// from CompileEM:
//
//	prog, _ := c.CompileEM(256)
//	em, _ := circuit.NewEM(c, circuit.EMConfig{StepSize: 0.05})
//	for … { nll, _ := prog.Step(x); em.Step() }
type EM struct {
	c     *Circuit
	eta   float64
	steps int
	rows  []emRows
}

// emRows describes a parameter's sum units: viewed as (outer, n, inner),
// each (outer, inner) pair is one unit normalized over n.
type emRows struct {
	p               *nn.Param
	outer, n, inner int
	logSpace        bool // the parameter holds log-probabilities (inputs)
}

// EMConfig configures EM.
type EMConfig struct {
	// StepSize η in (0, 1] (default 0.05, Einsum Networks' online EM).
	StepSize float64
}

func (c *Circuit) emSupported() error {
	switch {
	case c.opts.Param != Clamp:
		return fmt.Errorf("circuit: EM needs clamp-parameterized weights, the circuit uses %v", c.opts.Param)
	case c.opts.Input != Categorical:
		return fmt.Errorf("circuit: EM supports categorical inputs, the circuit has %v inputs", c.opts.Input)
	case c.opts.Layer == CPS:
		return errors.New("circuit: EM does not apply to CP-S layers (their scales are not sum weights)")
	case !slices.Contains(builtinLayers, c.opts.Layer):
		return fmt.Errorf("circuit: EM supports the built-in layers, not %v (it needs to know which weights form a sum unit)", c.opts.Layer)
	case c.plan.Classes != 1:
		return fmt.Errorf("circuit: EM needs one root unit, the circuit has %d", c.plan.Classes)
	}
	return nil
}

// NewEM prepares c for EM: it checks the circuit is supported, normalizes
// every sum unit's weights and sets the input logits to log-probabilities.
func NewEM(c *Circuit, cfg EMConfig) (*EM, error) {
	if err := c.emSupported(); err != nil {
		return nil, err
	}
	if cfg.StepSize == 0 {
		cfg.StepSize = 0.05
	}
	if !(cfg.StepSize > 0 && cfg.StepSize <= 1) {
		return nil, fmt.Errorf("circuit: EM step size %v outside (0, 1]", cfg.StepSize)
	}
	e := &EM{c: c, eta: cfg.StepSize}
	in := c.Input.Logits.Shape() // (S, K, C)
	e.rows = append(e.rows, emRows{p: c.Input.Logits, outer: in[0] * in[1], n: in[2], inner: 1, logSpace: true})
	for _, l := range c.Layers {
		// A built-in layer's kernel parameters are its sum units: each
		// (outer, inner) pair normalized along n.
		for _, fp := range l.(fusedLayer).fusedParams() {
			if !fp.p.Frozen() {
				e.rows = append(e.rows, emRows{p: fp.p, outer: fp.outer, n: fp.n, inner: fp.inner})
			}
		}
	}
	for _, r := range e.rows {
		r.normalize()
	}
	return e, nil
}

// normalize makes every unit of r a distribution over n (log-probabilities
// for inputs, clamped at ClampMin for weights).
func (r emRows) normalize() {
	v := r.p.Value()
	r.each(func(idx func(j int) int) {
		if r.logSpace {
			m := math.Inf(-1)
			for j := range r.n {
				m = max(m, v[idx(j)])
			}
			s := 0.0
			for j := range r.n {
				s += math.Exp(v[idx(j)] - m)
			}
			ls := m + math.Log(s)
			for j := range r.n {
				v[idx(j)] -= ls
			}
			return
		}
		s := 0.0
		for j := range r.n {
			s += v[idx(j)]
		}
		for j := range r.n {
			v[idx(j)] = max(v[idx(j)]/s, ClampMin)
		}
	})
	r.p.SetValue(v)
}

// each calls fn once per unit with the index function of its n entries.
func (r emRows) each(fn func(idx func(j int) int)) {
	for a := range r.outer {
		for c := range r.inner {
			base := a*r.n*r.inner + c
			fn(func(j int) int { return base + j*r.inner })
		}
	}
}

// Step moves every unit towards its normalized expected counts and zeroes
// the gradients. A unit that received no count (no data reached it) keeps
// its weights.
func (e *EM) Step() {
	for _, r := range e.rows {
		v, g := r.p.Value(), gradOf(r.p)
		counts := make([]float64, r.n)
		r.each(func(idx func(j int) int) {
			total := 0.0
			for j := range r.n {
				// The loss is −mean log c, so −g is the mean gradient of
				// log c; times the weight it is the expected count (for
				// log-probability inputs, the gradient is the count).
				n := -g[idx(j)]
				if !r.logSpace {
					n *= v[idx(j)]
				}
				counts[j] = max(n, 0)
				total += counts[j]
			}
			if !(total > 0) || math.IsInf(total, 0) {
				return
			}
			for j := range r.n {
				i := idx(j)
				if r.logSpace {
					p := (1-e.eta)*math.Exp(v[i]) + e.eta*counts[j]/total
					v[i] = math.Log(max(p, math.SmallestNonzeroFloat64))
				} else {
					v[i] = max((1-e.eta)*v[i]+e.eta*counts[j]/total, ClampMin)
				}
			}
		})
		r.p.SetValue(v)
	}
	e.ZeroGrad()
	e.steps++
}

func gradOf(p *nn.Param) []float64 {
	if p.DType() == nn.Float64 {
		return append([]float64(nil), p.Grad64()...)
	}
	g := p.Grad32()
	out := make([]float64, len(g))
	for i, x := range g {
		out[i] = float64(x)
	}
	return out
}

// ZeroGrad clears the gradients of every parameter.
func (e *EM) ZeroGrad() {
	for _, p := range nn.Params(e.c) {
		p.ZeroGrad()
	}
}

// LR is the step size η.
func (e *EM) LR() float64 { return e.eta }

// SetLR sets the step size η (panics outside (0, 1]).
func (e *EM) SetLR(lr float64) {
	if !(lr > 0 && lr <= 1) {
		panic(fmt.Sprintf("circuit: EM step size %v outside (0, 1]", lr))
	}
	e.eta = lr
}

// Steps is the number of EM steps taken.
func (e *EM) Steps() int { return e.steps }

// Params lists the parameters EM updates.
func (e *EM) Params() []*nn.Param {
	out := make([]*nn.Param, len(e.rows))
	for i, r := range e.rows {
		out[i] = r.p
	}
	return out
}

// State is EM's state: its step count and step size.
func (e *EM) State() []nn.Array {
	return []nn.Array{
		{Name: "em.step", Shape: []int{1}, I64: []int64{int64(e.steps)}},
		{Name: "em.lr", Shape: []int{1}, F64: []float64{e.eta}},
	}
}

// LoadState restores State's arrays.
func (e *EM) LoadState(arrays []nn.Array) error {
	var step, lr *nn.Array
	for i := range arrays {
		switch arrays[i].Name {
		case "em.step":
			step = &arrays[i]
		case "em.lr":
			lr = &arrays[i]
		}
	}
	if step == nil || len(step.I64) != 1 || lr == nil || len(lr.F64) != 1 {
		return errors.New("circuit: EM state: arrays em.step (int64[1]) and em.lr (float64[1]) are missing or malformed")
	}
	if !(lr.F64[0] > 0 && lr.F64[0] <= 1) {
		return fmt.Errorf("circuit: EM state: step size %v outside (0, 1]", lr.F64[0])
	}
	e.steps, e.eta = int(step.I64[0]), lr.F64[0]
	return nil
}
