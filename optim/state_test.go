package optim

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// testParams returns two parameters of type dt, one of them bounded, with
// fixed values.
func testParams(dt nn.DType) []*nn.Param {
	a := nn.NewParam("layer.a", dt, 2, 3)
	a.SetValue([]float64{0.9, -0.4, 0.3, 1.2, -2, 0.05})
	b := nn.NewParam("layer.b", dt, 4)
	b.SetValue([]float64{0.2, 0.01, 0.6, 0.3})
	b.SetMin(1e-3)
	return []*nn.Param{a, b}
}

// setTestGrads sets a gradient that depends on the values and on the step,
// the same for every copy of the parameters.
func setTestGrads(params []*nn.Param, step int) {
	for k, p := range params {
		v := p.Value()
		g := make([]float64, len(v))
		for i := range v {
			g[i] = 2*v[i] + math.Sin(float64(3*i+k+step))
		}
		setGrad(p, g...)
	}
}

// paramArrays returns the parameters' values as state arrays.
func paramArrays(params []*nn.Param) []nn.Array {
	var out []nn.Array
	for _, p := range params {
		a := nn.Array{Name: p.Name(), Shape: p.Shape()}
		if p.DType() == nn.Float32 {
			a.F32 = slices.Clone(p.Float32s())
		} else {
			a.F64 = slices.Clone(p.Float64s())
		}
		out = append(out, a)
	}
	return out
}

// paramsFrom builds fresh parameters like testParams and fills them from st.
func paramsFrom(t *testing.T, dt nn.DType, st *nn.State) []*nn.Param {
	params := testParams(dt)
	for _, p := range params {
		a := st.Array(p.Name())
		if a == nil {
			t.Fatalf("state has no array %q", p.Name())
		}
		if dt == nn.Float32 {
			copy(p.Float32s(), a.F32)
		} else {
			copy(p.Float64s(), a.F64)
		}
	}
	return params
}

// TestStateRoundTrip saves a model and its optimizer mid-training to a file,
// loads both into fresh objects, and checks that the next steps are bit for
// bit those of the optimizer that was never interrupted.
func TestStateRoundTrip(t *testing.T) {
	for _, o := range optimizers {
		for _, dt := range []nn.DType{nn.Float32, nn.Float64} {
			t.Run(o.name+"/"+dt.String(), func(t *testing.T) {
				params := testParams(dt)
				opt := o.new(params)
				for step := range 4 {
					setTestGrads(params, step)
					opt.Step()
				}

				path := filepath.Join(t.TempDir(), "ckpt.tenpc")
				st := &nn.State{
					Meta:   map[string]string{"epoch": "1"},
					Arrays: append(paramArrays(params), opt.State()...),
				}
				if err := nn.SaveState(path, st); err != nil {
					t.Fatal(err)
				}
				loaded, err := nn.LoadState(path)
				if err != nil {
					t.Fatal(err)
				}
				params2 := paramsFrom(t, dt, loaded)
				opt2 := o.new(params2)
				if err := opt2.LoadState(loaded.Arrays); err != nil {
					t.Fatalf("LoadState: %v", err)
				}
				if opt2.Steps() != 4 || opt2.LR() != opt.LR() {
					t.Errorf("restored Steps, LR = %d, %v; want 4, %v", opt2.Steps(), opt2.LR(), opt.LR())
				}

				for step := 4; step < 9; step++ {
					setTestGrads(params, step)
					setTestGrads(params2, step)
					opt.Step()
					opt2.Step()
					for i := range params {
						if !equalU64(bits(params[i]), bits(params2[i])) {
							t.Fatalf("step %d: %s = %v after restoring, %v uninterrupted",
								step, params[i].Name(), params2[i].Value(), params[i].Value())
						}
					}
				}
			})
		}
	}
}

// TestStateNames pins the array names users and tools rely on.
func TestStateNames(t *testing.T) {
	p := param64("w", 1)
	names := func(arrays []nn.Array) []string {
		var out []string
		for _, a := range arrays {
			out = append(out, a.Name)
		}
		return out
	}
	for _, tc := range []struct {
		opt  Optimizer
		want []string
	}{
		{NewAdam(nn.Named(p), AdamConfig{}), []string{"adam.step", "adam.lr", "w.adam.m", "w.adam.v"}},
		{NewSGD(nn.Named(p), SGDConfig{Momentum: 0.9}), []string{"sgd.step", "sgd.lr", "w.sgd.momentum"}},
		{NewSGD(nn.Named(p), SGDConfig{}), []string{"sgd.step", "sgd.lr"}},
	} {
		if got := names(tc.opt.State()); !slices.Equal(got, tc.want) {
			t.Errorf("state names %v, want %v", got, tc.want)
		}
	}
	st := NewAdam(nn.Named(p), AdamConfig{}).State()
	if st[0].I64 == nil || st[1].F64 == nil {
		t.Errorf("step counter and learning rate must be int64 and float64: %+v %+v", st[0], st[1])
	}
}

// TestBadState checks that LoadState rejects bad state with an error naming
// the array, and leaves the optimizer unchanged.
func TestBadState(t *testing.T) {
	// a: float64 [2 3]; b: float32 [4].
	mixed := func() []*nn.Param {
		a := nn.NewParam("a", nn.Float64, 2, 3)
		b := nn.NewParam("b", nn.Float32, 4)
		return []*nn.Param{a, b}
	}
	stateOf := func(o Optimizer) []nn.Array {
		ps := o.Params()
		setTestGrads(ps, 0)
		o.Step()
		return o.State()
	}
	adamState := func() []nn.Array { return stateOf(NewAdam(nn.Named(mixed()...), AdamConfig{})) }
	sgdState := func() []nn.Array { return stateOf(NewSGD(nn.Named(mixed()...), SGDConfig{Momentum: 0.5})) }
	edit := func(arrays []nn.Array, name string, f func(*nn.Array)) []nn.Array {
		for i := range arrays {
			if arrays[i].Name == name {
				f(&arrays[i])
			}
		}
		return arrays
	}
	drop := func(arrays []nn.Array, name string) []nn.Array {
		return slices.DeleteFunc(arrays, func(a nn.Array) bool { return a.Name == name })
	}
	newAdam := func() Optimizer { return NewAdam(nn.Named(mixed()...), AdamConfig{}) }
	newSGD := func() Optimizer { return NewSGD(nn.Named(mixed()...), SGDConfig{Momentum: 0.5}) }

	for _, tc := range []struct {
		name   string
		opt    func() Optimizer
		arrays []nn.Array
		want   string // in the error
	}{
		{"empty", newAdam, nil, `"adam.step"`},
		{"missing moment", newAdam, drop(adamState(), "a.adam.v"), `"a.adam.v"`},
		{"missing lr", newAdam, drop(adamState(), "adam.lr"), `"adam.lr"`},
		{"wrong shape", newAdam, edit(adamState(), "a.adam.m", func(a *nn.Array) { a.Shape = []int{3, 2} }), `"a.adam.m" has shape [3 2], want [2 3]`},
		{"wrong element type", newAdam, edit(adamState(), "b.adam.m", func(a *nn.Array) {
			a.F64 = []float64{1, 2, 3, 4}
			a.F32 = nil
		}), `"b.adam.m" must hold 4 float32 values`},
		{"short data", newAdam, edit(adamState(), "a.adam.v", func(a *nn.Array) { a.F64 = a.F64[:5] }), `"a.adam.v"`},
		{"step not int", newAdam, edit(adamState(), "adam.step", func(a *nn.Array) {
			a.I64, a.F64 = nil, []float64{1}
		}), `"adam.step"`},
		{"negative step", newAdam, edit(adamState(), "adam.step", func(a *nn.Array) { a.I64[0] = -1 }), `"adam.step"`},
		{"NaN lr", newAdam, edit(adamState(), "adam.lr", func(a *nn.Array) { a.F64[0] = math.NaN() }), `"adam.lr"`},
		{"duplicate", newAdam, append(adamState(), adamState()[2]), `"a.adam.m" appears twice`},
		{"SGD state into Adam", newAdam, sgdState(), `SGD state`},
		{"Adam state into SGD", newSGD, adamState(), `Adam state`},
		{"missing momentum", newSGD, drop(sgdState(), "b.sgd.momentum"), `"b.sgd.momentum"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt()
			setTestGrads(opt.Params(), 7)
			opt.Step()
			before := opt.State()
			err := opt.LoadState(tc.arrays)
			if err == nil {
				t.Fatal("LoadState succeeded")
			}
			if !errors.Is(err, ErrState) {
				t.Errorf("error %v does not wrap ErrState", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %s", err, tc.want)
			}
			if !equalArrays(opt.State(), before) || opt.Steps() != 1 {
				t.Errorf("a failed LoadState changed the optimizer")
			}
		})
	}
}

// TestSGDWithoutMomentumIgnoresBuffers: a momentum-free SGD has no buffers
// and ignores any it is given.
func TestSGDWithoutMomentumIgnoresBuffers(t *testing.T) {
	ps := testParams(nn.Float64)
	src := NewSGD(nn.Named(ps...), SGDConfig{Momentum: 0.9})
	setTestGrads(ps, 0)
	src.Step()
	dst := NewSGD(nn.Named(testParams(nn.Float64)...), SGDConfig{})
	if err := dst.LoadState(src.State()); err != nil {
		t.Fatal(err)
	}
	if dst.Steps() != 1 {
		t.Errorf("Steps = %d, want 1", dst.Steps())
	}
}

func TestDuplicateNamesPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("two parameters with one name did not panic")
		}
	}()
	NewAdam(nn.Named(param64("w", 1), param64("w", 2)), AdamConfig{})
}

// Two sibling modules each have a parameter called "weight": listed with
// prefixes they optimize together, and their state arrays carry the full
// names, which a second optimizer over the same modules restores.
func TestSiblingModulesWithPrefixes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	enc, dec := nn.NewLinear(3, 2, nn.Float64, false, rng), nn.NewLinear(2, 3, nn.Float64, false, rng)
	params := append(nn.Prefix("enc", nn.NamedParams(enc)), nn.Prefix("dec", nn.NamedParams(dec))...)
	opt := NewAdam(params, AdamConfig{LR: 0.1})
	for _, p := range nn.Params(struct{ Enc, Dec *nn.Linear }{enc, dec}) {
		for i := range p.Grad64() {
			p.Grad64()[i] = 1
		}
	}
	opt.Step()
	var names []string
	for _, a := range opt.State() {
		names = append(names, a.Name)
	}
	if got, want := strings.Join(names, " "), "adam.step adam.lr enc.weight.adam.m enc.weight.adam.v dec.weight.adam.m dec.weight.adam.v"; got != want {
		t.Fatalf("state arrays %s, want %s", got, want)
	}
	// The same names from one struct of both modules.
	again := NewAdam(nn.NamedParams(struct{ Enc, Dec *nn.Linear }{enc, dec}), AdamConfig{LR: 0.1})
	if err := again.LoadState(opt.State()); err != nil {
		t.Fatal(err)
	}
	if again.Steps() != 1 {
		t.Errorf("restored %d steps, want 1", again.Steps())
	}
}
