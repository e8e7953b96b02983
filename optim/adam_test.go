package optim

import (
	"math"
	"runtime"
	"testing"

	"github.com/tenpc/tenpc/internal/vec"
	"github.com/tenpc/tenpc/nn"
)

// TestAdamQuadraticByHand follows Adam on f(x, y) = x² + 10y² from (1, 1)
// with α = 0.1 and the defaults β1 = 0.9, β2 = 0.999, ε = 1e-8, setting the
// gradient (2x, 20y) by hand before every step.
//
// Step 1: g = (2, 20); m = 0.1·g = (0.2, 2); v = 0.001·g² = (0.004, 0.4);
// the bias corrections 1-0.9 = 0.1 and 1-0.999 = 0.001 give m̂ = g and
// v̂ = g², so each coordinate moves by α·g/(|g|+ε):
//
//	x1 = 1 - 0.1·2/(2+1e-8)   = 1 - 0.1/(1+5e-9)  = 0.9000000004999999975
//	y1 = 1 - 0.1·20/(20+1e-8) = 1 - 0.1/(1+5e-10) = 0.90000000004999999997
//
// Step 2 for x: g = 2·x1 = 1.800000001;
// m = 0.9·0.2 + 0.1·1.800000001 = 0.3600000001;
// v = 0.999·0.004 + 0.001·1.800000001² = 0.0072360000036;
// bias corrections 1-0.9² = 0.19 and 1-0.999² = 0.001999;
// m̂ = 0.3600000001/0.19 = 1.8947368426315789;
// v̂ = 0.0072360000036/0.001999 = 3.6198099067533767, √v̂ = 1.9025798029920786;
// x2 = x1 - 0.1·1.8947368426315789/(1.9025798029920786+1e-8) = 0.80041222869179214524.
// The same for y (g = 18.0000000010, m = 3.60000000010, v = 0.723600000036,
// m̂ = 18.947368421578947, √v̂ = 19.025798025661279) gives
// y2 = 0.80041222777330141481.
//
// Steps 3 to 5 follow the recurrence written out in the test.
// (The literals were checked with 40-digit arithmetic.)
func TestAdamQuadraticByHand(t *testing.T) {
	const (
		lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
		tol             = 1e-12
	)
	c := []float64{1, 10} // f = c0·x² + c1·y²
	p := param64("xy", 1, 1)
	opt := NewAdam(nn.Named(p), AdamConfig{LR: lr})

	byHand := [][]float64{
		{0.9000000004999999975, 0.90000000004999999997},
		{0.80041222869179214524, 0.80041222777330141481},
	}

	// The recurrence, independently of the package.
	want := []float64{1, 1}
	var m, v [2]float64
	for step := 1; step <= 5; step++ {
		quadGrad(p, c...)
		opt.Step()

		for i := range want {
			g := 2 * c[i] * want[i]
			m[i] = b1*m[i] + (1-b1)*g
			v[i] = b2*v[i] + (1-b2)*g*g
			mHat := m[i] / (1 - math.Pow(b1, float64(step)))
			vHat := v[i] / (1 - math.Pow(b2, float64(step)))
			want[i] -= lr * mHat / (math.Sqrt(vHat) + eps)
		}
		if step <= len(byHand) {
			near(t, "recurrence vs by hand", want, byHand[step-1], tol)
		}
		near(t, "Adam step", p.Value(), want, tol)
		if opt.Steps() != step {
			t.Errorf("Steps() = %d after %d steps", opt.Steps(), step)
		}
		for _, g := range p.Grad64() {
			if g != 0 {
				t.Fatalf("gradient %v not zeroed after Step", p.Grad64())
			}
		}
	}
}

// TestAdamWeightDecay checks the coupled (L2) and decoupled (AdamW) forms of
// weight decay against the recurrence, and that they differ.
func TestAdamWeightDecay(t *testing.T) {
	const lr, b1, b2, eps, wd = 0.05, 0.8, 0.99, 1e-6, 0.3
	c := []float64{0.5, 2, 4}
	final := map[bool][]float64{}
	for _, decoupled := range []bool{false, true} {
		p := param64("w", 1, -2, 0.5)
		opt := NewAdam(nn.Named(p), AdamConfig{
			LR: lr, Beta1: b1, Beta2: b2, Eps: eps, WeightDecay: wd, Decoupled: decoupled,
		})
		want := p.Value()
		m := make([]float64, len(want))
		v := make([]float64, len(want))
		for step := 1; step <= 6; step++ {
			quadGrad(p, c...)
			opt.Step()
			for i := range want {
				g := 2 * c[i] * want[i]
				if decoupled {
					want[i] *= 1 - lr*wd
				} else {
					g += wd * want[i]
				}
				m[i] = b1*m[i] + (1-b1)*g
				v[i] = b2*v[i] + (1-b2)*g*g
				mHat := m[i] / (1 - math.Pow(b1, float64(step)))
				vHat := v[i] / (1 - math.Pow(b2, float64(step)))
				want[i] -= lr * mHat / (math.Sqrt(vHat) + eps)
			}
			near(t, "Adam with weight decay", p.Value(), want, 1e-12)
		}
		final[decoupled] = p.Value()
	}
	if final[false][0] == final[true][0] {
		t.Errorf("coupled and decoupled weight decay gave the same value %v", final[false][0])
	}
}

// TestAdamFloat32 runs the same problem in float32 and float64: the float32
// parameter stays float32 and tracks the float64 trajectory to float32
// precision.
func TestAdamFloat32(t *testing.T) {
	c := []float64{1, 3, 0.5}
	p32 := param32("w", 1, -1, 2)
	p64 := param64("w", 1, -1, 2)
	o32 := NewAdam(nn.Named(p32), AdamConfig{LR: 0.05, WeightDecay: 0.01})
	o64 := NewAdam(nn.Named(p64), AdamConfig{LR: 0.05, WeightDecay: 0.01})
	for range 20 {
		quadGrad(p32, c...)
		quadGrad(p64, c...)
		o32.Step()
		o64.Step()
	}
	if p32.Float32s() == nil || p32.Float64s() != nil {
		t.Fatal("float32 parameter changed type")
	}
	near(t, "float32 vs float64", p32.Value(), p64.Value(), 1e-5)
	for _, a := range o32.State() {
		if a.Name == "w.adam.m" && a.F32 == nil {
			t.Errorf("float32 parameter's moment %q is not float32", a.Name)
		}
	}
}

func TestAdamConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  AdamConfig
		ok   bool
	}{
		{"zero value", AdamConfig{}, true},
		{"all set", AdamConfig{LR: 0.1, Beta1: 0.5, Beta2: 0.9, Eps: 1e-6, WeightDecay: 0.1, Decoupled: true, MaxGradNorm: 1}, true},
		{"negative LR", AdamConfig{LR: -1}, false},
		{"NaN LR", AdamConfig{LR: math.NaN()}, false},
		{"Beta1 one", AdamConfig{Beta1: 1}, false},
		{"Beta2 negative", AdamConfig{Beta2: -0.5}, false},
		{"negative Eps", AdamConfig{Eps: -1}, false},
		{"negative WeightDecay", AdamConfig{WeightDecay: -1}, false},
		{"NaN MaxGradNorm", AdamConfig{MaxGradNorm: math.NaN()}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("NewAdam with an invalid config did not panic")
		}
	}()
	NewAdam(nil, AdamConfig{LR: -1})
}

func TestAdamDefaults(t *testing.T) {
	opt := NewAdam(nil, AdamConfig{})
	if opt.LR() != 1e-3 {
		t.Errorf("default LR = %v, want 1e-3", opt.LR())
	}
	if c := opt.cfg; c.Beta1 != 0.9 || c.Beta2 != 0.999 || c.Eps != 1e-8 || c.WeightDecay != 0 {
		t.Errorf("defaults = %+v", c)
	}
}

// Adam over a parameter large enough to be split gives bit-identical values
// with one and with four goroutines.
func TestAdamSplitBitIdentical(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	run := func(procs int) []float32 {
		runtime.GOMAXPROCS(procs)
		p := nn.NewParam("w", nn.Float32, 3*vec.MinChunk+5)
		w := p.Float32s()
		for i := range w {
			w[i] = float32(i%97) / 97
		}
		opt := NewAdam(nn.Named(p), AdamConfig{LR: 0.01})
		for step := range 3 {
			g := p.Grad32()
			for i := range g {
				g[i] = float32((i*(step+3))%13) - 6
			}
			opt.Step()
		}
		return append([]float32(nil), p.Float32s()...)
	}
	a, b := run(1), run(4)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("element %d: %v with 1 goroutine, %v with 4", i, a[i], b[i])
		}
	}
}
