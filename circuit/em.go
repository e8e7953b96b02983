package circuit

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/tenpc/tenpc/circuit/kernel"
	"github.com/tenpc/tenpc/internal/vec"
	"github.com/tenpc/tenpc/nn"
)

// EM is expectation-maximization for a circuit with clamp- or
// exp-parameterized weights and categorical, Bernoulli, binomial or
// Gaussian inputs. After every M-step each sum unit's weights move towards
// their (smoothed) normalized expected counts,
//
//	w ← (1 − η) w + η · (n + α) / (Σ n + J·α),   n_kj = w_kj · Σ_b ∂ log c(x_b) / ∂w_kj,
//
// (J the unit's number of weights, α the pseudo-count) and every input
// distribution towards its (smoothed) maximum-likelihood estimate under the
// expected sufficient statistics (see the input families below); η = 1
// replaces the parameters. A "sum unit" is one row of a weight matrix: a
// CP/CP-XS weight row over Kin, a CP-R projection row over Kin and output
// row over R, a Tucker row over Kin², a mixing unit over its H partitions.
//
// # Expected counts from the gradient
//
// The counts come from the gradient of a program compiled with CompileEM,
// whatever its engine: its loss is −mean log c(x) without log Z, and the
// circuit is kept normalized. A weight's count is the weight times its
// gradient (an exp-parameterized weight's gradient already is its count); a
// categorical input's logits are read as log-probabilities, so their
// gradient is the expected count of each value. For the other families the
// gradient of the distribution's parameters mixes two statistics: the
// expected number of samples R a unit explains (its flow) and their
// weighted sums. R is the flow into the unit from the layers above it: the
// counts of the weights that read it, summed over the units they feed.
//
// # Input families (α the pseudo-count, R a unit's flow)
//
//	categorical  p_c = (n_c + α) / (R + C·α)
//	Bernoulli    p = (Σ r·x + α) / (R + 2α), the logit set to log p/(1−p)
//	binomial     p = (Σ r·x + α) / (N·R + 2α) for N = C − 1 trials
//	Gaussian     μ = Σ r·x / (R + α), σ² = (Σ r·(x − μ)² + α·(1 + μ²)) / (R + α),
//	             σ ≥ MinStd: α pseudo-samples of a standard normal (data
//	             on a unit scale, as -scale standard gives)
//
// Under online EM (η < 1) the expectation parameters (p, μ and E[x²]) move
// by η. Logits are kept within ±emMaxLogit.
//
// # Online, mini-batch and full-batch EM
//
// Step pools the counts of EMConfig.Batches batches and then takes an
// M-step: Batches = 1 is online (mini-batch) EM, Batches = the batches of
// an epoch with step size 1 is classic full-batch EM, which never decreases
// the training likelihood (with α = 0). SetBatch gives each batch's size,
// which scales its counts to samples: pooled batches weigh by their size,
// and the pseudo-count is in samples.
//
// EM implements optim.Optimizer: use it as any optimizer, with the program
// from CompileEM:
//
//	prog, _ := c.CompileEM(256)
//	em, _ := circuit.NewEM(c, circuit.EMConfig{StepSize: 0.05, PseudoCount: 0.1})
//	for … { nll, _ := prog.Step(x); em.SetBatch(n); em.Step() }
type EM struct {
	c       *Circuit
	cfg     EMConfig
	eta     float64 // the step size of the next M-step
	steps   int     // M-steps taken
	batch   float64 // samples in the batch of the next Step
	pooled  int     // batches pooled since the last M-step
	weights []emRows
	input   *emInput
}

// emRows describes a parameter's sum units: viewed as (outer, n, inner),
// each (outer, inner) pair is one unit normalized over n. acc pools the
// expected counts, in the parameter's layout; last, when not nil, holds
// the last batch's (the inputs' flows read them).
type emRows struct {
	p               *nn.Param
	outer, n, inner int
	logSpace        bool // the parameter holds log-probabilities (exp weights, categorical inputs)
	acc, last       []float64
}

// EMConfig configures EM. The zero value is online EM with step size 0.05
// and no smoothing.
type EMConfig struct {
	// StepSize η in (0, 1] (default 0.05, Einsum Networks' online EM).
	StepSize float64
	// Schedule, when set, gives the step size of M-step t (0 for the first)
	// instead: optim's schedules (Constant, StepDecay, Cosine, WarmUp) and
	// EMDecay satisfy it. Its values must lie in (0, 1].
	Schedule Schedule
	// Batches is the number of Step calls whose counts one M-step pools
	// (default 1: online EM).
	Batches int
	// PseudoCount α ≥ 0 is added to every expected count (see EM): Laplace
	// smoothing at α = 1, a Dirichlet (Beta) prior of concentration 1 + α.
	PseudoCount float64
	// MinStd floors the standard deviation of Gaussian inputs (default
	// 1e-3).
	MinStd float64
}

// Schedule gives the step size of an M-step from its index; optim.Schedule
// has the same method, so optim's schedules serve as EM's.
type Schedule interface {
	LR(step int) float64
}

// emMaxLogit bounds the logits of Bernoulli and binomial inputs that EM
// sets: σ(±30) is 1 − 9.4e-14, so an input whose every sample agrees stays
// finite in float32.
const emMaxLogit = 30

func (c *Circuit) emSupported() error {
	switch {
	case c.opts.Param != Clamp && c.opts.Param != Exp:
		return fmt.Errorf("circuit: EM needs clamp- or exp-parameterized weights (their counts come from the gradient), the circuit uses %v", c.opts.Param)
	case c.opts.Layer == CPS:
		return errors.New("circuit: EM does not apply to CP-S layers (their scales are not sum weights)")
	case !slices.Contains(builtinLayers, c.opts.Layer):
		return fmt.Errorf("circuit: EM supports the built-in layers, not %v (it needs to know which weights form a sum unit)", c.opts.Layer)
	case c.plan.Classes != 1:
		return fmt.Errorf("circuit: EM needs one root unit, the circuit has %d", c.plan.Classes)
	case c.opts.Layer == CPXS && !c.allCategorical():
		return fmt.Errorf("circuit: EM with %v inputs needs each fold's own weights above the inputs (their counts give the inputs' flow); CP-XS shares them", c.inputDescription())
	case c.plan.RegionLoc[c.plan.Root].Layer == 0:
		return errors.New("circuit: EM needs a sum-product layer: the root is an input region")
	}
	return nil
}

// NewEM prepares c for EM: it checks the circuit and the configuration,
// normalizes every sum unit's weights and sets categorical input logits to
// log-probabilities.
func NewEM(c *Circuit, cfg EMConfig) (*EM, error) {
	if err := c.emSupported(); err != nil {
		return nil, err
	}
	if cfg.StepSize == 0 {
		cfg.StepSize = 0.05
	}
	if cfg.Batches == 0 {
		cfg.Batches = 1
	}
	if cfg.MinStd == 0 {
		cfg.MinStd = 1e-3
	}
	switch {
	case !(cfg.StepSize > 0 && cfg.StepSize <= 1):
		return nil, fmt.Errorf("circuit: EM step size %v outside (0, 1]", cfg.StepSize)
	case cfg.Batches < 1:
		return nil, fmt.Errorf("circuit: EM pools %d batches, want ≥ 1", cfg.Batches)
	case !(cfg.PseudoCount >= 0) || math.IsInf(cfg.PseudoCount, 0):
		return nil, fmt.Errorf("circuit: EM pseudo-count %v, want a finite value ≥ 0", cfg.PseudoCount)
	case !(cfg.MinStd > 0) || math.IsInf(cfg.MinStd, 0):
		return nil, fmt.Errorf("circuit: EM minimum standard deviation %v, want a finite value > 0", cfg.MinStd)
	}
	e := &EM{c: c, cfg: cfg, eta: cfg.StepSize, batch: 1}
	for _, l := range c.Layers {
		// A built-in layer's kernel parameters are its sum units: each
		// (outer, inner) pair normalized along n.
		for _, fp := range l.(fusedLayer).fusedParams() {
			if !fp.p.Frozen() {
				e.weights = append(e.weights, emRows{p: fp.p, outer: fp.outer, n: fp.n, inner: fp.inner,
					logSpace: fp.kind == Exp, acc: make([]float64, fp.p.Len())})
			}
		}
	}
	for _, r := range e.weights {
		r.normalize()
	}
	e.input = newEMInput(c)
	for i := range e.weights {
		if e.input.readsCounts(e.weights[i].p) {
			e.weights[i].last = make([]float64, e.weights[i].p.Len())
		}
	}
	if err := e.setEta(); err != nil {
		return nil, err
	}
	return e, nil
}

// setEta sets the step size of the next M-step from the schedule.
func (e *EM) setEta() error {
	if e.cfg.Schedule == nil {
		return nil
	}
	eta := e.cfg.Schedule.LR(e.steps)
	if !(eta > 0 && eta <= 1) {
		return fmt.Errorf("circuit: EM schedule gives step size %v at step %d, outside (0, 1]", eta, e.steps)
	}
	e.eta = eta
	return nil
}

// normalize makes every unit of r a distribution over n (log-probabilities
// in log space, else clamped at ClampMin).
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

// addCounts adds r's expected counts of one batch of n samples to r.acc
// (and writes them to r.last): the weight times the gradient of the mean
// log c (−the loss's gradient), times n; in log space the gradient itself.
func (r *emRows) addCounts(n float64) {
	if r.p.DType() == nn.Float64 {
		addCounts(r.p.Float64s(), r.p.Grad64(), n, r.logSpace, r.acc, r.last)
		return
	}
	addCounts(r.p.Float32s(), r.p.Grad32(), n, r.logSpace, r.acc, r.last)
}

func addCounts[T kernel.Float](v, g []T, n float64, logSpace bool, acc, last []float64) {
	vec.Chunks(len(g), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			c := -float64(g[i]) * n
			if !logSpace {
				c *= float64(v[i])
			}
			c = max(c, 0)
			acc[i] += c
			if last != nil {
				last[i] = c
			}
		}
	})
}

// update moves every unit of r towards its smoothed normalized counts in
// r.acc by eta, and clears r.acc. A unit with no count and no smoothing
// keeps its weights.
func (r *emRows) update(eta, alpha float64) {
	if r.p.DType() == nn.Float64 {
		updateRows(r, r.p.Float64s(), eta, alpha)
	} else {
		updateRows(r, r.p.Float32s(), eta, alpha)
	}
	clear(r.acc)
}

func updateRows[T kernel.Float](r *emRows, v []T, eta, alpha float64) {
	stride := r.inner
	logKeep := math.Log1p(-eta)
	vec.Chunks(r.outer, func(_, lo, hi int) {
		for a := lo; a < hi; a++ {
			for c := range r.inner {
				base := a*r.n*r.inner + c
				total := float64(r.n) * alpha
				for j := range r.n {
					total += r.acc[base+j*stride]
				}
				if !(total > 0) || math.IsInf(total, 0) {
					continue
				}
				for j := range r.n {
					i := base + j*stride
					p := (r.acc[i] + alpha) / total
					switch {
					case r.logSpace && p == 0:
						// log((1 − η)·e^v) without exp and log (−Inf at η = 1,
						// hence the floor): most of a 256-valued pixel's
						// values have no count in a batch.
						v[i] = T(max(float64(v[i])+logKeep, logSmallest))
					case !r.logSpace:
						v[i] = T(max((1-eta)*float64(v[i])+eta*p, ClampMin))
					case eta == 1:
						v[i] = T(math.Log(max(p, math.SmallestNonzeroFloat64)))
					default:
						v[i] = T(math.Log(max((1-eta)*math.Exp(float64(v[i]))+eta*p, math.SmallestNonzeroFloat64)))
					}
				}
			}
		}
	})
}

// logSmallest is the log of the smallest positive float64, the floor of
// EM's log-probabilities.
var logSmallest = math.Log(math.SmallestNonzeroFloat64)

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

// SetBatch sets the number of samples n ≥ 1 whose mean gradient the next
// Steps read (Program.Step's n; until it is called, 1).
func (e *EM) SetBatch(n int) {
	if n < 1 {
		panic(fmt.Sprintf("circuit: EM batch of %d samples", n))
	}
	e.batch = float64(n)
}

// Step adds the expected counts of the gradient to the pool and zeroes the
// gradients; after EMConfig.Batches calls it takes an M-step.
func (e *EM) Step() {
	for i := range e.weights {
		e.weights[i].addCounts(e.batch)
	}
	e.input.accumulate(e.weights, e.batch)
	e.ZeroGrad()
	if e.pooled++; e.pooled < e.cfg.Batches {
		return
	}
	for i := range e.weights {
		e.weights[i].update(e.eta, e.cfg.PseudoCount)
	}
	e.input.update(e.eta, e.cfg.PseudoCount, e.cfg.MinStd)
	e.pooled = 0
	e.steps++
	if err := e.setEta(); err != nil {
		panic(err.Error())
	}
}

// ZeroGrad clears the gradients of every parameter.
func (e *EM) ZeroGrad() {
	for _, p := range nn.Params(e.c) {
		p.ZeroGrad()
	}
}

// LR is the step size η of the next M-step.
func (e *EM) LR() float64 { return e.eta }

// SetLR sets the step size η (panics outside (0, 1]); with a Schedule, the
// next M-step's value replaces it.
func (e *EM) SetLR(lr float64) {
	if !(lr > 0 && lr <= 1) {
		panic(fmt.Sprintf("circuit: EM step size %v outside (0, 1]", lr))
	}
	e.eta = lr
}

// Steps is the number of M-steps taken.
func (e *EM) Steps() int { return e.steps }

// Params lists the parameters EM updates.
func (e *EM) Params() []*nn.Param {
	out := make([]*nn.Param, 0, len(e.weights)+2)
	for _, r := range e.weights {
		out = append(out, r.p)
	}
	return append(out, e.input.params()...)
}

// pool is every accumulator, in a fixed order.
func (e *EM) pool() [][]float64 {
	var out [][]float64
	for _, r := range e.weights {
		out = append(out, r.acc)
	}
	return append(out, e.input.pool()...)
}

// State is EM's state: its M-step count, step size, and the counts pooled
// since the last M-step.
func (e *EM) State() []nn.Array {
	st := []nn.Array{
		{Name: "em.step", Shape: []int{1}, I64: []int64{int64(e.steps)}},
		{Name: "em.lr", Shape: []int{1}, F64: []float64{e.eta}},
		{Name: "em.pooled", Shape: []int{1}, I64: []int64{int64(e.pooled)}},
	}
	if e.pooled > 0 {
		var flat []float64
		for _, a := range e.pool() {
			flat = append(flat, a...)
		}
		st = append(st, nn.Array{Name: "em.pool", Shape: []int{len(flat)}, F64: flat})
	}
	return st
}

// LoadState restores State's arrays (a state without em.pooled, from
// before pooling existed, has none pooled).
func (e *EM) LoadState(arrays []nn.Array) error {
	find := func(name string) *nn.Array {
		for i := range arrays {
			if arrays[i].Name == name {
				return &arrays[i]
			}
		}
		return nil
	}
	step, lr, pooled, pool := find("em.step"), find("em.lr"), find("em.pooled"), find("em.pool")
	if step == nil || len(step.I64) != 1 || lr == nil || len(lr.F64) != 1 {
		return errors.New("circuit: EM state: arrays em.step (int64[1]) and em.lr (float64[1]) are missing or malformed")
	}
	if !(lr.F64[0] > 0 && lr.F64[0] <= 1) {
		return fmt.Errorf("circuit: EM state: step size %v outside (0, 1]", lr.F64[0])
	}
	n := 0
	if pooled != nil {
		if len(pooled.I64) != 1 || pooled.I64[0] < 0 || pooled.I64[0] >= int64(e.cfg.Batches) {
			return fmt.Errorf("circuit: EM state: em.pooled is malformed or not below the %d batches an M-step pools", e.cfg.Batches)
		}
		n = int(pooled.I64[0])
	}
	accs := e.pool()
	size := 0
	for _, a := range accs {
		size += len(a)
	}
	if n > 0 && (pool == nil || len(pool.F64) != size) {
		return fmt.Errorf("circuit: EM state: %d batches pooled but no em.pool of %d counts", n, size)
	}
	e.steps, e.eta, e.pooled = int(step.I64[0]), lr.F64[0], n
	off := 0
	for _, a := range accs {
		if n > 0 {
			copy(a, pool.F64[off:off+len(a)])
		} else {
			clear(a)
		}
		off += len(a)
	}
	return nil
}

// EMDecay is the step-size schedule of stochastic-approximation EM (Sato &
// Ishii 2000; Cappé & Moulines 2009): η_t = Base · (1 + t/Every)^(−Kappa),
// which with 0.5 < Kappa ≤ 1 satisfies Σ η = ∞, Σ η² < ∞ as t grows.
type EMDecay struct {
	// Base is the step size of the first M-step, in (0, 1].
	Base float64
	// Kappa ≥ 0 is the decay's exponent (0: constant).
	Kappa float64
	// Every sets the time scale: after Every M-steps the step size is
	// Base·2^(−Kappa) (Every ≤ 0 means 1).
	Every int
}

// LR implements Schedule.
func (d EMDecay) LR(step int) float64 {
	every := float64(max(d.Every, 1))
	return d.Base * math.Pow(1+float64(step)/every, -d.Kappa)
}

// allCategorical reports whether every input is categorical.
func (c *Circuit) allCategorical() bool {
	for _, k := range c.varKinds() {
		if k.kind != Categorical {
			return false
		}
	}
	return true
}

// inputDescription names the circuit's input family, "mixed" for mixed
// inputs.
func (c *Circuit) inputDescription() string {
	if c.mixed() {
		return "mixed"
	}
	return c.opts.Input.String()
}
