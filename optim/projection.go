package optim

import "github.com/tenpc/tenpc/nn"

// Projection maps parameters back onto their feasible set after an update.
// Optimizers call their projections after every step with the non-frozen
// parameters, in the order configured, after ClampMin.
type Projection func(params []*nn.Param)

// ClampMin is the projection onto each parameter's lower bound: every value
// below p.Min(), and every NaN, becomes p.Min() (see nn.Param.ClampToMin).
// Parameters without a bound (Min = -Inf) are left alone.
//
// Every optimizer runs ClampMin after every step, before its configured
// projections: a bound is a property of the parameter (nn.Param.SetMin), and
// an optimizer always respects it. This is what the clamp parameterization
// of circuit weights needs (weights ≥ 1.08e-19 after every step).
func ClampMin(params []*nn.Param) {
	for _, p := range params {
		p.ClampToMin()
	}
}
