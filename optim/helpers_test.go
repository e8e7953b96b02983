package optim

import (
	"math"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// param64 returns a float64 parameter of shape [len(vals)] holding vals.
func param64(name string, vals ...float64) *nn.Param {
	p := nn.NewParam(name, nn.Float64, len(vals))
	p.SetValue(vals)
	return p
}

// param32 returns a float32 parameter of shape [len(vals)] holding vals.
func param32(name string, vals ...float64) *nn.Param {
	p := nn.NewParam(name, nn.Float32, len(vals))
	p.SetValue(vals)
	return p
}

// setGrad overwrites p's gradient with g.
func setGrad(p *nn.Param, g ...float64) {
	if p.DType() == nn.Float32 {
		for i := range p.Grad32() {
			p.Grad32()[i] = float32(g[i])
		}
		return
	}
	copy(p.Grad64(), g)
}

// grad returns p's gradient as float64s.
func grad(p *nn.Param) []float64 {
	if p.DType() == nn.Float32 {
		out := make([]float64, p.Len())
		for i, g := range p.Grad32() {
			out[i] = float64(g)
		}
		return out
	}
	return append([]float64(nil), p.Grad64()...)
}

// quadGrad sets the gradient of f(θ) = Σ c_i θ_i² at p's current value:
// ∂f/∂θ_i = 2 c_i θ_i.
func quadGrad(p *nn.Param, c ...float64) {
	v := p.Value()
	g := make([]float64, len(v))
	for i := range v {
		g[i] = 2 * c[i%len(c)] * v[i]
	}
	setGrad(p, g...)
}

// near fails t unless got and want agree to within tol (absolute).
func near(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol) {
			t.Errorf("%s[%d] = %.17g, want %.17g (diff %.3g, tol %.3g)", what, i, got[i], want[i], got[i]-want[i], tol)
		}
	}
}

// bits returns the bit patterns of p's value, to compare bit for bit.
func bits(p *nn.Param) []uint64 {
	out := make([]uint64, p.Len())
	if p.DType() == nn.Float32 {
		for i, v := range p.Float32s() {
			out[i] = uint64(math.Float32bits(v))
		}
		return out
	}
	for i, v := range p.Float64s() {
		out[i] = math.Float64bits(v)
	}
	return out
}
