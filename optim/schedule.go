package optim

import (
	"fmt"
	"math"
)

// A Schedule gives the learning rate for a step index (0 for the first).
//
// Set as AdamConfig.Schedule or SGDConfig.Schedule, a schedule is applied
// per optimizer step: the step with index t (the number of Step calls before
// it, restored by LoadState) uses LR(t). To apply a schedule per epoch
// instead, leave the config's Schedule nil and call opt.SetLR(s.LR(epoch))
// at the start of each epoch.
//
// A schedule must return a finite, non-negative rate; optimizers panic
// otherwise.
type Schedule interface {
	LR(step int) float64
}

// ScheduleFunc adapts a function to a Schedule.
type ScheduleFunc func(step int) float64

// LR returns f(step).
func (f ScheduleFunc) LR(step int) float64 { return f(step) }

// Constant is a schedule that gives the same rate at every step.
type Constant float64

// LR returns c.
func (c Constant) LR(int) float64 { return float64(c) }

// StepDecay multiplies the rate by Gamma every Every steps
// (torch.optim.lr_scheduler.StepLR): LR(t) = Base · Gamma^⌊t/Every⌋.
type StepDecay struct {
	// Base is the rate of the first Every steps.
	Base float64

	// Gamma is the decay factor. Default 0.1 (PyTorch's).
	Gamma float64

	// Every is the number of steps between decays. Every ≤ 0 means the rate
	// never decays.
	Every int
}

// LR implements Schedule.
func (s StepDecay) LR(step int) float64 {
	if s.Every <= 0 || step < s.Every {
		return s.Base
	}
	g := s.Gamma
	if g == 0 {
		g = 0.1
	}
	return s.Base * math.Pow(g, float64(step/s.Every))
}

// Cosine anneals the rate from Base to Min along half a cosine over Steps
// steps (torch.optim.lr_scheduler.CosineAnnealingLR with T_max = Steps,
// eta_min = Min), and stays at Min afterwards (where PyTorch's would rise
// again):
//
//	LR(t) = Min + (Base - Min) · (1 + cos(π·t/Steps)) / 2   for t < Steps
//	LR(t) = Min                                              for t ≥ Steps
type Cosine struct {
	// Base is the rate at step 0.
	Base float64

	// Min is the final rate. Default 0.
	Min float64

	// Steps is the length of the annealing. Steps ≤ 0 means the rate stays
	// at Base.
	Steps int
}

// LR implements Schedule.
func (c Cosine) LR(step int) float64 {
	switch {
	case c.Steps <= 0 || step <= 0:
		return c.Base
	case step >= c.Steps:
		return c.Min
	}
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*float64(step)/float64(c.Steps)))/2
}

// WarmUp ramps the rate up linearly over its first Steps steps and then
// hands over to Then, whose clock starts when the warm-up ends:
//
//	LR(t) = Then.LR(0) · (t+1)/(Steps+1)   for t < Steps
//	LR(t) = Then.LR(t - Steps)             for t ≥ Steps
//
// so the rates of the first Steps+1 steps are evenly spaced from
// Then.LR(0)/(Steps+1) up to Then.LR(0). With Then a Cosine of length N, the
// whole schedule is Steps + N steps long (the usual "cosine with warm-up").
type WarmUp struct {
	// Steps is the length of the warm-up. Steps ≤ 0 means no warm-up.
	Steps int

	// Then is the schedule after the warm-up. It must not be nil.
	Then Schedule
}

// LR implements Schedule.
func (w WarmUp) LR(step int) float64 {
	if w.Then == nil {
		panic(fmt.Sprintf("optim: WarmUp with a nil Then schedule (step %d)", step))
	}
	if step >= w.Steps {
		return w.Then.LR(step - max(w.Steps, 0))
	}
	return w.Then.LR(0) * float64(step+1) / float64(w.Steps+1)
}
