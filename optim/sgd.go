package optim

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/nn"
)

// SGDConfig holds the settings of stochastic gradient descent. The zero value
// is plain SGD at PyTorch's default rate; every zero field means its
// documented default.
type SGDConfig struct {
	// LR is the learning rate α. Default 1e-3 (PyTorch's). Ignored when
	// Schedule is set.
	LR float64

	// Momentum is the momentum factor μ ≥ 0. Default 0 (no momentum, and
	// no momentum buffers in the state).
	Momentum float64

	// Nesterov selects Nesterov momentum (Sutskever et al., 2013, in
	// PyTorch's form). It needs Momentum > 0. Default false.
	Nesterov bool

	// WeightDecay is the coefficient λ ≥ 0 of an L2 penalty added to the
	// gradient (g += λ·θ), as in torch.optim.SGD. Default 0.
	WeightDecay float64

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
func (c SGDConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !validLR(c.LR):
		return fmt.Errorf("optim: SGD LR %v must be finite and non-negative", c.LR)
	case !(c.Momentum >= 0 && !math.IsInf(c.Momentum, 1)):
		return fmt.Errorf("optim: SGD Momentum %v must be finite and non-negative", c.Momentum)
	case c.Nesterov && c.Momentum == 0:
		return fmt.Errorf("optim: SGD Nesterov needs a positive Momentum")
	case !(c.WeightDecay >= 0 && !math.IsInf(c.WeightDecay, 1)):
		return fmt.Errorf("optim: SGD WeightDecay %v must be finite and non-negative", c.WeightDecay)
	case !(c.MaxGradNorm >= 0):
		return fmt.Errorf("optim: SGD MaxGradNorm %v must be non-negative", c.MaxGradNorm)
	}
	return nil
}

func (c SGDConfig) withDefaults() SGDConfig {
	if c.LR == 0 {
		c.LR = 1e-3
	}
	return c
}

// SGD is stochastic gradient descent with optional (Nesterov) momentum and
// L2 weight decay, with PyTorch's update rule; see the package
// documentation for the formulas.
type SGD struct {
	core
	cfg SGDConfig
	buf []buffer // momentum buffers, one per parameter; nil without momentum
}

// NewSGD returns an SGD optimizer over params. It panics if cfg is invalid
// (see SGDConfig.Validate), if a parameter is nil, or if two parameters
// share a name (their state would clash).
func NewSGD(params []nn.NamedParam, cfg SGDConfig) *SGD {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &SGD{
		core: newCore("sgd", params, cfg.LR, cfg.MaxGradNorm, cfg.Schedule, cfg.Projections),
		cfg:  cfg,
	}
	if cfg.Momentum != 0 {
		s.buf = make([]buffer, len(params))
		for i, p := range s.params {
			s.buf[i] = newBuffer(p)
		}
	}
	return s
}

// sgdStep holds the coefficients of one SGD step.
type sgdStep struct {
	lr, momentum, l2 float64
	nesterov         bool
}

// Step implements Optimizer.
func (s *SGD) Step() {
	s.begin()
	h := sgdStep{lr: s.lr, momentum: s.cfg.Momentum, l2: s.cfg.WeightDecay, nesterov: s.cfg.Nesterov}
	for i, p := range s.params {
		if p.Frozen() {
			continue
		}
		var b buffer
		if s.buf != nil {
			b = s.buf[i]
		}
		if p.DType() == nn.Float32 {
			sgdUpdate(p.Float32s(), p.Grad32(), b.f32, &h)
		} else {
			sgdUpdate(p.Float64s(), p.Grad64(), b.f64, &h)
		}
	}
	s.end(false)
}

// sgdUpdate applies one SGD step to θ in place, with gradient g and momentum
// buffer b (nil without momentum), in the precision of T:
//
//	g ← g + λ·θ
//	b ← μ·b + g                       (with momentum)
//	g ← b,  or g + μ·b with Nesterov  (with momentum)
//	θ ← θ - α·g
//
// The buffer starts at zero, so the first step sets b = g as PyTorch does.
func sgdUpdate[T float](theta, g, b []T, h *sgdStep) {
	var (
		lr = T(h.lr)
		mu = T(h.momentum)
		l2 = T(h.l2)
	)
	_ = g[len(theta)-1]
	if b != nil {
		_ = b[len(theta)-1]
	}
	for i, p := range theta {
		gi := g[i]
		if h.l2 != 0 {
			gi += l2 * p
		}
		if b != nil {
			bi := mu*b[i] + gi
			b[i] = bi
			if h.nesterov {
				gi += mu * bi
			} else {
				gi = bi
			}
		}
		theta[i] = p - lr*gi
	}
}

// State implements Optimizer. The arrays are "sgd.step" (int64, shape [1]),
// "sgd.lr" (float64, shape [1]), and with momentum, for every parameter,
// "<name>.sgd.momentum" (the parameter's shape and type).
func (s *SGD) State() []nn.Array {
	out := s.state()
	for i, p := range s.params {
		if s.buf != nil {
			out = append(out, s.buf[i].array(s.names[i]+".sgd.momentum", p))
		}
	}
	return out
}

// LoadState implements Optimizer. Without momentum, momentum buffers in
// arrays are ignored.
func (s *SGD) LoadState(arrays []nn.Array) error {
	r, err := newStateReader("sgd", arrays)
	if err != nil {
		return err
	}
	steps, lr, err := r.core()
	if err != nil {
		return err
	}
	var buf []buffer
	if s.buf != nil {
		buf = make([]buffer, len(s.params))
		for i, p := range s.params {
			if buf[i], err = r.buffer(s.names[i]+".sgd.momentum", p, s.names[i]); err != nil {
				return err
			}
		}
	}
	s.steps, s.lr, s.buf = steps, lr, buf
	return nil
}
