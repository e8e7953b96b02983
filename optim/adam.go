package optim

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/internal/vec"
	"github.com/tenpc/tenpc/nn"
)

// AdamConfig holds Adam's settings. The zero value is PyTorch's
// torch.optim.Adam defaults; every zero field means its documented default.
type AdamConfig struct {
	// LR is the learning rate α. Default 1e-3 (PyTorch's). Ignored when
	// Schedule is set.
	LR float64

	// Beta1 and Beta2 are the decay rates of the first and second moment
	// estimates, in (0, 1). Defaults 0.9 and 0.999. Because zero means the
	// default, Beta1 = 0 cannot be asked for; use a tiny value instead.
	Beta1, Beta2 float64

	// Eps is added to the denominator for numerical stability. Default 1e-8.
	Eps float64

	// WeightDecay is the weight-decay coefficient λ ≥ 0. Default 0 (none).
	// By default it is an L2 penalty added to the gradient (g += λ·θ), as in
	// torch.optim.Adam; with Decoupled it shrinks the parameter directly
	// (θ -= α·λ·θ), as in torch.optim.AdamW.
	WeightDecay float64

	// Decoupled selects AdamW's decoupled weight decay. Default false.
	Decoupled bool

	// MaxGradNorm, when positive, clips the gradients of all non-frozen
	// parameters together to this global L2 norm before every update (see
	// ClipGradNorm). Default 0: no clipping.
	MaxGradNorm float64

	// Schedule, when set, gives the learning rate of every step from the
	// step count (0 for the first step), overriding LR and SetLR. Default
	// nil: the rate stays at LR until SetLR changes it.
	Schedule Schedule

	// Projections run after every update, after ClampMin, on the non-frozen
	// parameters. Default nil: ClampMin only.
	Projections []Projection
}

// Validate reports the first invalid setting (after defaults are applied).
func (c AdamConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !validLR(c.LR):
		return fmt.Errorf("optim: Adam LR %v must be finite and non-negative", c.LR)
	case !(c.Beta1 > 0 && c.Beta1 < 1):
		return fmt.Errorf("optim: Adam Beta1 %v must be in (0, 1)", c.Beta1)
	case !(c.Beta2 > 0 && c.Beta2 < 1):
		return fmt.Errorf("optim: Adam Beta2 %v must be in (0, 1)", c.Beta2)
	case !(c.Eps > 0 && !math.IsInf(c.Eps, 1)):
		return fmt.Errorf("optim: Adam Eps %v must be finite and positive", c.Eps)
	case !(c.WeightDecay >= 0 && !math.IsInf(c.WeightDecay, 1)):
		return fmt.Errorf("optim: Adam WeightDecay %v must be finite and non-negative", c.WeightDecay)
	case !(c.MaxGradNorm >= 0):
		return fmt.Errorf("optim: Adam MaxGradNorm %v must be non-negative", c.MaxGradNorm)
	}
	return nil
}

func (c AdamConfig) withDefaults() AdamConfig {
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Beta1 == 0 {
		c.Beta1 = 0.9
	}
	if c.Beta2 == 0 {
		c.Beta2 = 0.999
	}
	if c.Eps == 0 {
		c.Eps = 1e-8
	}
	return c
}

// Adam is the Adam optimizer (Kingma & Ba, 2015) with PyTorch's update
// rule; see the package documentation for the formulas.
type Adam struct {
	core
	cfg  AdamConfig
	m, v []buffer // first and second moment estimates, one per parameter
}

// NewAdam returns an Adam optimizer over params. It panics if cfg is
// invalid (see AdamConfig.Validate), if a parameter is nil, or if two
// parameters share a name (their state would clash).
func NewAdam(params []nn.NamedParam, cfg AdamConfig) *Adam {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	a := &Adam{
		core: newCore("adam", params, cfg.LR, cfg.MaxGradNorm, cfg.Schedule, cfg.Projections),
		cfg:  cfg,
		m:    make([]buffer, len(params)),
		v:    make([]buffer, len(params)),
	}
	for i, p := range a.params {
		a.m[i] = newBuffer(p)
		a.v[i] = newBuffer(p)
	}
	return a
}

// Step implements Optimizer: one pass over each parameter (vec.Adam) that
// updates it and clamps it at its minimum, in parallel chunks.
func (a *Adam) Step() {
	a.begin()
	t := float64(a.steps + 1)
	h := vec.AdamStep{
		Beta1: a.cfg.Beta1, Beta2: a.cfg.Beta2, C1: 1 - a.cfg.Beta1, C2: 1 - a.cfg.Beta2,
		StepSize: a.lr / (1 - math.Pow(a.cfg.Beta1, t)),
		SqrtBC2:  math.Sqrt(1 - math.Pow(a.cfg.Beta2, t)),
		Eps:      a.cfg.Eps,
	}
	if a.cfg.Decoupled {
		h.Decoupled, h.Shrink = a.cfg.WeightDecay != 0, 1-a.lr*a.cfg.WeightDecay
	} else {
		h.Coupled, h.L2 = a.cfg.WeightDecay != 0, a.cfg.WeightDecay
	}
	for i, p := range a.params {
		if p.Frozen() {
			continue
		}
		hp := h
		hp.Clamp, hp.Min = !math.IsInf(p.Min(), -1), p.Min()
		if p.DType() == nn.Float32 {
			w, g, m, v := p.Float32s(), p.Grad32(), a.m[i].f32, a.v[i].f32
			vec.Chunks(len(w), func(_, lo, hi int) { vec.Adam(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], &hp) })
		} else {
			w, g, m, v := p.Float64s(), p.Grad64(), a.m[i].f64, a.v[i].f64
			vec.Chunks(len(w), func(_, lo, hi int) { vec.Adam(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], &hp) })
		}
	}
	a.end(true)
}

// State implements Optimizer. The arrays are "adam.step" (int64, shape
// [1]), "adam.lr" (float64, shape [1]), and for every parameter
// "<name>.adam.m" and "<name>.adam.v" (the parameter's shape and type).
func (a *Adam) State() []nn.Array {
	out := a.state()
	for i, p := range a.params {
		out = append(out, a.m[i].array(a.names[i]+".adam.m", p), a.v[i].array(a.names[i]+".adam.v", p))
	}
	return out
}

// LoadState implements Optimizer.
func (a *Adam) LoadState(arrays []nn.Array) error {
	r, err := newStateReader("adam", arrays)
	if err != nil {
		return err
	}
	steps, lr, err := r.core()
	if err != nil {
		return err
	}
	m := make([]buffer, len(a.params))
	v := make([]buffer, len(a.params))
	for i, p := range a.params {
		if m[i], err = r.buffer(a.names[i]+".adam.m", p, a.names[i]); err != nil {
			return err
		}
		if v[i], err = r.buffer(a.names[i]+".adam.v", p, a.names[i]); err != nil {
			return err
		}
	}
	a.steps, a.lr, a.m, a.v = steps, lr, m, v
	return nil
}
