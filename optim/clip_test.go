package optim

import (
	"math"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

func TestClipGradNorm(t *testing.T) {
	// Gradients (3, 4) and (12) have global norm √(9+16+144) = 13.
	for _, tc := range []struct {
		name     string
		maxNorm  float64
		wantNorm float64 // after clipping
		clipped  bool
	}{
		{"above", 6.5, 6.5, true},
		{"far above", 1e-3, 1e-3, true},
		{"equal", 13, 13, false},
		{"below", 20, 13, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := param64("a", 0, 0)
			b := param32("b", 0)
			frozen := param64("frozen", 0)
			frozen.Freeze()
			setGrad(a, 3, 4)
			setGrad(b, 12)
			setGrad(frozen, 100)
			params := []*nn.Param{a, b, frozen}

			if n := ClipGradNorm(params, tc.maxNorm); n != 13 {
				t.Errorf("ClipGradNorm returned %v, want the norm before clipping, 13", n)
			}
			if n := GradNorm(params); math.Abs(n-tc.wantNorm) > 1e-6*tc.wantNorm {
				t.Errorf("norm after clipping = %.17g, want %.17g", n, tc.wantNorm)
			}
			if !tc.clipped {
				near(t, "a's gradient", grad(a), []float64{3, 4}, 0)
				near(t, "b's gradient", grad(b), []float64{12}, 0)
			} else {
				// The direction is kept: every gradient scales by max/13.
				s := tc.maxNorm / 13
				near(t, "a's gradient", grad(a), []float64{3 * s, 4 * s}, 1e-15)
				near(t, "b's gradient", grad(b), []float64{12 * s}, 1e-6*s)
			}
			near(t, "frozen gradient", grad(frozen), []float64{100}, 0)
		})
	}
}

// TestClipGradNormFloat64Exact checks that the clipped norm of float64
// gradients equals the bound to rounding.
func TestClipGradNormFloat64Exact(t *testing.T) {
	p := param64("p", 0, 0, 0, 0)
	setGrad(p, 1.5, -2.25, 1e3, 7)
	ClipGradNorm([]*nn.Param{p}, 0.75)
	if n := GradNorm([]*nn.Param{p}); math.Abs(n-0.75) > 1e-15 {
		t.Errorf("norm after clipping = %.17g, want 0.75", n)
	}
}

func TestClipGradNormNonFinite(t *testing.T) {
	p := param64("p", 0, 0)
	setGrad(p, math.Inf(1), 1)
	if n := ClipGradNorm([]*nn.Param{p}, 1); !math.IsInf(n, 1) {
		t.Errorf("ClipGradNorm = %v, want +Inf", n)
	}
	if g := grad(p); !math.IsInf(g[0], 1) || g[1] != 1 {
		t.Errorf("gradient %v changed; want it left alone", g)
	}
	setGrad(p, math.NaN(), 1)
	if n := ClipGradNorm([]*nn.Param{p}, 1); !math.IsNaN(n) {
		t.Errorf("ClipGradNorm = %v, want NaN", n)
	}
}

// TestOptimizerClips checks that MaxGradNorm clips before the update: plain
// SGD then moves by exactly α times the clipped gradient.
func TestOptimizerClips(t *testing.T) {
	p := param64("p", 1, 1)
	opt := NewSGD(nn.Named(p), SGDConfig{LR: 0.1, MaxGradNorm: 1})
	setGrad(p, 30, 40) // norm 50 → clipped to (0.6, 0.8)
	opt.Step()
	near(t, "after a clipped step", p.Value(), []float64{1 - 0.06, 1 - 0.08}, 1e-15)
	setGrad(p, 0.3, 0.4) // norm 0.5: untouched
	opt.Step()
	near(t, "after an unclipped step", p.Value(), []float64{0.94 - 0.03, 0.92 - 0.04}, 1e-15)
}
