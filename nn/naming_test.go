package nn

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// Names are computed, not stored: listing a sub-module gives paths relative
// to it and leaves the parent's names (and the parameters' own) unchanged.
func TestNamedParamsAreComputed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	enc := NewSequential(NewLinear(3, 2, Float32, true, rng), NewLinear(2, 2, Float32, false, rng))
	model := struct{ Enc, Head *Linear }{enc.Layers[1].(*Linear), NewLinear(2, 1, Float32, true, rng)}
	names := func(ps []NamedParam) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.Name)
		}
		return strings.Join(s, " ")
	}
	if got, want := names(NamedParams(enc)), "layers.0.weight layers.0.bias layers.1.weight"; got != want {
		t.Errorf("enc: %s, want %s", got, want)
	}
	if got, want := names(NamedParams(model)), "enc.weight head.weight head.bias"; got != want {
		t.Errorf("model: %s, want %s", got, want)
	}
	// Listing the parent did not rename the encoder's parameters.
	if got, want := names(NamedParams(enc)), "layers.0.weight layers.0.bias layers.1.weight"; got != want {
		t.Errorf("enc after listing the parent: %s, want %s", got, want)
	}
	for _, p := range Params(enc) {
		if p.Name() != "weight" && p.Name() != "bias" {
			t.Errorf("a parameter's own name became %q", p.Name())
		}
	}
	if got, want := names(append(Prefix("enc", NamedParams(enc)), Prefix("head", NamedParams(model.Head))...)),
		"enc.layers.0.weight enc.layers.0.bias enc.layers.1.weight head.weight head.bias"; got != want {
		t.Errorf("prefixed: %s, want %s", got, want)
	}
	w := NewParam("w", Float64, 2)
	if got := names(NamedParams(w)); got != "w" {
		t.Errorf("a lone parameter is named %q, want w", got)
	}
}

// Saving and loading a sub-module uses paths relative to it, whatever was
// listed before.
func TestModuleStateOfSubModule(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	net := NewSequential(NewLinear(2, 2, Float64, true, rng), NewLinear(2, 1, Float64, false, rng))
	_ = NamedParams(struct{ Net *Sequential }{net})
	st := ModuleState(net.Layers[1], nil)
	if len(st.Arrays) != 1 || st.Arrays[0].Name != "weight" {
		t.Fatalf("arrays %v, want one named weight", st.Arrays)
	}
	other := NewLinear(2, 1, Float64, false, rng)
	if err := LoadModuleState(other, st); err != nil {
		t.Fatal(err)
	}
	if a, b := other.Weight.Value(), net.Layers[1].(*Linear).Weight.Value(); a[0] != b[0] || a[1] != b[1] {
		t.Errorf("loaded %v, saved %v", a, b)
	}
}

// Summary lists every module with its path, type, shape and parameter
// count, and a total equal to ParamCount.
func TestSummary(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	net := NewSequential(
		NewConv2d(Conv2dConfig{In: 1, Out: 4, Kernel: [2]int{3, 3}}, Float32, rng),
		Func(ReLU),
		NewMaxPool2d(2, 2, 0),
		Func(Flatten),
		NewDropout(0.25, rng),
		NewLinear(4*13*13, 10, Float32, true, rng),
	)
	net.Layers[5].(*Linear).Bias.Freeze()
	s := Summary(net)
	t.Log("\n" + s)
	lines := strings.Split(strings.TrimSpace(s), "\n")
	want := [][]string{
		{"module", "type", "shape", "params"},
		{"(root)", "nn.Sequential", "6810"},
		{"layers.0", "nn.Conv2d", "1 → 4, kernel 3×3", "40"},
		{"layers.1", "nn.Func", "0"},
		{"layers.2", "nn.MaxPool2d", "kernel 2×2", "0"},
		{"layers.3", "nn.Func", "0"},
		{"layers.4", "nn.Dropout", "p = 0.25", "0"},
		{"layers.5", "nn.Linear", "676 → 10", "6770"},
		{"total parameters: 6810 (6800 trainable)"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, w := range want {
		for _, part := range w {
			if !strings.Contains(lines[i], part) {
				t.Errorf("line %d %q lacks %q", i, lines[i], part)
			}
		}
	}
	if ParamCount(net) != 6810 {
		t.Errorf("ParamCount %d, want 6810", ParamCount(net))
	}
}

// A program compiled with ParamNames names a parameter with a non-finite
// gradient by its path.
func TestNonFiniteErrorUsesParamNames(t *testing.T) {
	w := NewParam("weight", Float64, 2)
	g := NewGraph(Float64)
	loss := Sum(Apply(nanGradOp{}, g.Param(w)))
	prog, err := g.Compile(Minimize(loss), ParamNames(Prefix("head", Named(w))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = prog.Step(nil)
	var nf *NonFiniteError
	if !errors.As(err, &nf) || nf.Param != "head.weight" {
		t.Fatalf("err = %v, want a NonFiniteError naming head.weight", err)
	}
}
