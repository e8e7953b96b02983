package optim

import (
	"math"

	"github.com/tenpc/tenpc/nn"
)

// GradNorm returns the global L2 norm of the gradients of the non-frozen
// parameters among params, √(Σ g²) over every element, accumulated in
// float64 whatever the parameters' type.
func GradNorm(params []*nn.Param) float64 {
	var ss float64
	for _, p := range params {
		if p.Frozen() {
			continue
		}
		if p.DType() == nn.Float32 {
			ss += sumSquares(p.Grad32())
		} else {
			ss += sumSquares(p.Grad64())
		}
	}
	return math.Sqrt(ss)
}

func sumSquares[T float](g []T) float64 {
	var s float64
	for _, x := range g {
		s += float64(x) * float64(x)
	}
	return s
}

// ClipGradNorm scales the gradients of the non-frozen parameters among
// params in place so that their global L2 norm (see GradNorm) is at most
// maxNorm, and returns the norm before clipping. Gradients whose norm is
// already at most maxNorm are untouched, as they are when the norm is NaN or
// infinite (the returned norm says so; scaling cannot repair them).
//
// Unlike torch.nn.utils.clip_grad_norm_, the scale is exactly
// maxNorm/norm, with no 1e-6 added to the norm, so the clipped norm equals
// maxNorm up to rounding.
func ClipGradNorm(params []*nn.Param, maxNorm float64) float64 {
	norm := GradNorm(params)
	if !(norm > maxNorm) || math.IsInf(norm, 1) {
		return norm
	}
	scale := maxNorm / norm
	for _, p := range params {
		if p.Frozen() {
			continue
		}
		if p.DType() == nn.Float32 {
			scaleSlice(p.Grad32(), scale)
		} else {
			scaleSlice(p.Grad64(), scale)
		}
	}
	return norm
}

func scaleSlice[T float](g []T, scale float64) {
	for i, x := range g {
		g[i] = T(float64(x) * scale)
	}
}
