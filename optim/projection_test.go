package optim

import (
	"math"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// optimizers builds one of every kind of optimizer, with the options that
// change the code path.
var optimizers = []struct {
	name string
	new  func(params []*nn.Param) Optimizer
}{
	{"Adam", func(ps []*nn.Param) Optimizer { return NewAdam(nn.Named(ps...), AdamConfig{LR: 0.1}) }},
	{"Adam L2", func(ps []*nn.Param) Optimizer { return NewAdam(nn.Named(ps...), AdamConfig{LR: 0.1, WeightDecay: 0.1}) }},
	{"AdamW clipped", func(ps []*nn.Param) Optimizer {
		return NewAdam(nn.Named(ps...), AdamConfig{LR: 0.1, WeightDecay: 0.1, Decoupled: true, MaxGradNorm: 0.5})
	}},
	{"SGD", func(ps []*nn.Param) Optimizer { return NewSGD(nn.Named(ps...), SGDConfig{LR: 0.1}) }},
	{"SGD momentum", func(ps []*nn.Param) Optimizer {
		return NewSGD(nn.Named(ps...), SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 0.01})
	}},
	{"SGD Nesterov clipped scheduled", func(ps []*nn.Param) Optimizer {
		return NewSGD(nn.Named(ps...), SGDConfig{Momentum: 0.9, Nesterov: true, MaxGradNorm: 1,
			Schedule: WarmUp{Steps: 2, Then: Cosine{Base: 0.1, Steps: 10}}})
	}},
}

// TestClampAfterStep checks that every optimizer leaves bounded parameters
// at or above their bound: values the update pushes below it, and NaNs,
// become the bound.
func TestClampAfterStep(t *testing.T) {
	const bound = 1.08e-19 // the circuit package's clamp bound
	for _, o := range optimizers {
		for _, dt := range []nn.DType{nn.Float32, nn.Float64} {
			t.Run(o.name+"/"+dt.String(), func(t *testing.T) {
				p := nn.NewParam("w", dt, 4)
				p.SetValue([]float64{0.5, 1e-3, 0.2, 0.3})
				p.SetMin(bound)
				free := nn.NewParam("free", dt, 1) // no bound: may go negative
				opt := o.new([]*nn.Param{p, free})
				// Large positive gradients push w[1] (and free) far below 0;
				// w[2] becomes NaN; w[0] and w[3] only move a little.
				setGrad(p, 1e-3, 1e3, math.NaN(), -1e-3)
				setGrad(free, 1e3)
				opt.Step()

				v := p.Value()
				b := bound
				if dt == nn.Float32 {
					b = float64(float32(bound))
				}
				if v[1] != b || v[2] != b {
					t.Errorf("pushed-down and NaN values = %v, %v; want the bound %v", v[1], v[2], b)
				}
				if !(v[0] > 0.1 && v[0] != 0.5 && v[3] > 0.1 && v[3] != float64(float32(0.3)) && v[3] != 0.3) {
					t.Errorf("values in bounds were clamped or not updated: %v", v)
				}
				if f := free.Value()[0]; !(f < 0) {
					t.Errorf("unbounded parameter = %v; want it below zero", f)
				}
				for _, g := range append(grad(p), grad(free)...) {
					if g != 0 {
						t.Fatalf("gradients not zeroed after Step: %v %v", grad(p), grad(free))
					}
				}
			})
		}
	}
}

// TestProjectionsOrder checks that configured projections run after ClampMin,
// in order, on the non-frozen parameters only.
func TestProjectionsOrder(t *testing.T) {
	p := param64("p", 1, 1)
	p.SetMin(0)
	frozen := param64("frozen", 1)
	frozen.Freeze()
	var calls []string
	first := func(ps []*nn.Param) {
		if len(ps) != 1 || ps[0] != p {
			t.Errorf("projection got %d params, want only the non-frozen one", len(ps))
		}
		if v := p.Value(); v[0] < 0 {
			t.Errorf("projection ran before ClampMin: %v", v)
		}
		calls = append(calls, "first")
	}
	second := func([]*nn.Param) { calls = append(calls, "second") }
	opt := NewSGD(nn.Named(p, frozen), SGDConfig{LR: 1, Projections: []Projection{first, second}})
	setGrad(p, 5, 0.5)
	opt.Step()
	if len(calls) != 2 || calls[0] != "first" || calls[1] != "second" {
		t.Errorf("projections ran as %v", calls)
	}
	near(t, "p", p.Value(), []float64{0, 0.5}, 0)
}

// TestFrozenUntouched checks that every optimizer leaves a frozen parameter's
// value, gradient and state alone, while it updates the others.
func TestFrozenUntouched(t *testing.T) {
	for _, o := range optimizers {
		for _, dt := range []nn.DType{nn.Float32, nn.Float64} {
			t.Run(o.name+"/"+dt.String(), func(t *testing.T) {
				frozen := nn.NewParam("frozen", dt, 3)
				frozen.SetValue([]float64{0.5, -1e-30, math.NaN()})
				frozen.SetMin(0) // clamps now, at SetMin, but never again
				frozen.Freeze()
				frozen.SetValue([]float64{0.5, -1e-30, math.NaN()})
				live := nn.NewParam("live", dt, 2)
				live.SetValue([]float64{1, 2})
				opt := o.new([]*nn.Param{frozen, live})
				before := bits(frozen)
				stateBefore := arrayFor(opt.State(), "frozen")

				for range 3 {
					setGrad(frozen, 7, 8, 9)
					setGrad(live, 1, -1)
					opt.Step()
				}
				opt.ZeroGrad()
				if got := bits(frozen); !equalU64(got, before) {
					t.Errorf("frozen value changed: %v", frozen.Value())
				}
				near(t, "frozen gradient", grad(frozen), []float64{7, 8, 9}, 0)
				if got := arrayFor(opt.State(), "frozen"); !equalArrays(got, stateBefore) {
					t.Errorf("frozen state changed")
				}
				if v := live.Value(); v[0] == 1 || v[1] == 2 {
					t.Errorf("live parameter not updated: %v", v)
				}
			})
		}
	}
}

// arrayFor returns the state arrays whose names start with prefix+".".
func arrayFor(arrays []nn.Array, prefix string) []nn.Array {
	var out []nn.Array
	for _, a := range arrays {
		if len(a.Name) > len(prefix) && a.Name[:len(prefix)+1] == prefix+"." {
			out = append(out, a)
		}
	}
	return out
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalArrays(a, b []nn.Array) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].F32) != len(b[i].F32) || len(a[i].F64) != len(b[i].F64) {
			return false
		}
		for j := range a[i].F32 {
			if math.Float32bits(a[i].F32[j]) != math.Float32bits(b[i].F32[j]) {
				return false
			}
		}
		for j := range a[i].F64 {
			if math.Float64bits(a[i].F64[j]) != math.Float64bits(b[i].F64[j]) {
				return false
			}
		}
	}
	return true
}
