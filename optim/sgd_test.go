package optim

import (
	"math"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// TestSGDMomentumByHand follows SGD on f(x, y) = x² + 10y² from (1, 1) with
// α = 0.01, setting the gradient (2x, 20y) by hand before every step.
//
// Momentum μ = 0.9 (b ← μb + g, θ ← θ - αb):
//
//	step 1: g = (2, 20)          b = (2, 20)                          θ = (0.98, 0.8)
//	step 2: g = (1.96, 16)       b = (1.8+1.96, 18+16) = (3.76, 34)   θ = (0.9424, 0.46)
//	step 3: g = (1.8848, 9.2)    b = (3.384+1.8848, 30.6+9.2)
//	                               = (5.2688, 39.8)                   θ = (0.889712, 0.062)
//
// Nesterov, μ = 0.9 (b ← μb + g, θ ← θ - α(g + μb)):
//
//	step 1: g = (2, 20)          b = (2, 20)        g+μb = (3.8, 38)         θ = (0.962, 0.62)
//	step 2: g = (1.924, 12.4)    b = (3.724, 30.4)  g+μb = (5.2756, 39.76)   θ = (0.909244, 0.2224)
//
// Plain SGD (μ = 0): θ ← θ(1 - 2αc), so x_t = 0.98^t and y_t = 0.8^t.
func TestSGDMomentumByHand(t *testing.T) {
	c := []float64{1, 10}
	for _, tc := range []struct {
		name string
		cfg  SGDConfig
		want [][]float64
	}{
		{"momentum", SGDConfig{LR: 0.01, Momentum: 0.9}, [][]float64{
			{0.98, 0.8}, {0.9424, 0.46}, {0.889712, 0.062},
		}},
		{"nesterov", SGDConfig{LR: 0.01, Momentum: 0.9, Nesterov: true}, [][]float64{
			{0.962, 0.62}, {0.909244, 0.2224},
		}},
		{"plain", SGDConfig{LR: 0.01}, [][]float64{
			{0.98, 0.8}, {0.9604, 0.64}, {0.941192, 0.512}, {0.92236816, 0.4096},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := param64("xy", 1, 1)
			opt := NewSGD(nn.Named(p), tc.cfg)
			for i, want := range tc.want {
				quadGrad(p, c...)
				opt.Step()
				near(t, "step "+string(rune('1'+i)), p.Value(), want, 1e-12)
			}
		})
	}
}

// TestSGDRecurrence runs more steps, with weight decay, against the
// recurrence written out here.
func TestSGDRecurrence(t *testing.T) {
	const lr, mu, wd = 0.02, 0.7, 0.1
	c := []float64{0.5, 3, 1}
	for _, nesterov := range []bool{false, true} {
		p := param64("w", 2, -1, 0.25)
		opt := NewSGD(nn.Named(p), SGDConfig{LR: lr, Momentum: mu, Nesterov: nesterov, WeightDecay: wd})
		want := p.Value()
		buf := make([]float64, len(want))
		for range 10 {
			quadGrad(p, c...)
			opt.Step()
			for i := range want {
				g := 2*c[i]*want[i] + wd*want[i]
				buf[i] = mu*buf[i] + g
				if nesterov {
					g += mu * buf[i]
				} else {
					g = buf[i]
				}
				want[i] -= lr * g
			}
			near(t, "SGD", p.Value(), want, 1e-12)
		}
	}
}

func TestSGDFloat32(t *testing.T) {
	c := []float64{1, 3, 0.5}
	p32 := param32("w", 1, -1, 2)
	p64 := param64("w", 1, -1, 2)
	o32 := NewSGD(nn.Named(p32), SGDConfig{LR: 0.05, Momentum: 0.9})
	o64 := NewSGD(nn.Named(p64), SGDConfig{LR: 0.05, Momentum: 0.9})
	for range 20 {
		quadGrad(p32, c...)
		quadGrad(p64, c...)
		o32.Step()
		o64.Step()
	}
	near(t, "float32 vs float64", p32.Value(), p64.Value(), 1e-5)
}

func TestSGDConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  SGDConfig
		ok   bool
	}{
		{"zero value", SGDConfig{}, true},
		{"nesterov", SGDConfig{Momentum: 0.9, Nesterov: true}, true},
		{"nesterov without momentum", SGDConfig{Nesterov: true}, false},
		{"negative momentum", SGDConfig{Momentum: -0.1}, false},
		{"infinite LR", SGDConfig{LR: math.Inf(1)}, false},
		{"NaN weight decay", SGDConfig{WeightDecay: math.NaN()}, false},
		{"negative MaxGradNorm", SGDConfig{MaxGradNorm: -1}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	if lr := NewSGD(nil, SGDConfig{}).LR(); lr != 1e-3 {
		t.Errorf("default LR = %v, want 1e-3", lr)
	}
}
