package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tenpc/tenpc/decomp"
)

var tuckerCases = []TuckerConfig{
	{OutModes: []int{2, 3}, InModes: []int{4}, OutRanks: []int{2, 2}, InRanks: []int{3}},
	{OutModes: []int{3}, InModes: []int{2, 3}, OutRanks: []int{2}, InRanks: []int{1, 3}},
	{OutModes: []int{2, 2}, InModes: []int{3, 2}, OutRanks: []int{2, 1}, InRanks: []int{2, 2}, Bias: true},
}

func TestTuckerGradCheck(t *testing.T) {
	for i, cfg := range tuckerCases {
		l, err := NewTuckerLinear(cfg, Float64, rand.New(rand.NewPCG(1, uint64(i))))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { tnGradCheck(t, l.chain(), 2, uint64(i)) })
	}
}

func TestTuckerModuleGradCheck(t *testing.T) {
	l, err := NewTuckerLinear(tuckerCases[2], Float64, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	moduleGradCheck(t, l, tnRand(rand.New(rand.NewPCG(3, 4)), 2*6), []int{2, 6})
}

func TestTuckerForwardMatchesDense(t *testing.T) {
	for i, cfg := range tuckerCases {
		l, err := NewTuckerLinear(cfg, Float64, rand.New(rand.NewPCG(2, uint64(i))))
		if err != nil {
			t.Fatal(err)
		}
		params := sizeOf(l.Core.shape)
		for _, f := range append(slices.Clone(l.OutFactors), l.InFactors...) {
			params += f.Len()
		}
		if cfg.Bias {
			params += sizeOf(cfg.OutModes)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkTNLayer(t, l, l.Bias, params, uint64(i)) })
	}
}

// HOSVD at full ranks is exact; truncated, the error stays within the
// norm of the discarded singular values of all modes.
func TestTuckerFromDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	out, in := []int{4, 3}, []int{5, 2}
	w := tnRand(rng, 12*10)
	l, fit, err := TuckerFromDense(w, nil, out, in, Truncation{}, Float64)
	if err != nil {
		t.Fatal(err)
	}
	if e := distance(w, l.Dense()); e > 1e-12*norm(w) || fit.ErrorBound != 0 {
		t.Errorf("full rank: error %.3g, bound %.3g", e, fit.ErrorBound)
	}
	for _, tr := range []Truncation{{Rank: 2}, {Ranks: []int{3, 2, 2, 1}}, {Tol: 0.8}, {Tol: 0.2, Rank: 3}} {
		l, fit, err := TuckerFromDense(w, nil, out, in, tr, Float64)
		if err != nil {
			t.Fatal(err)
		}
		e := distance(w, l.Dense())
		if e > fit.ErrorBound+1e-12*norm(w) || math.Abs(e-fit.Error) > 1e-12*norm(w) {
			t.Errorf("%+v: error %.6g, bound %.6g, reported %.6g", tr, e, fit.ErrorBound, fit.Error)
		}
		if tr.Tol > 0 && tr.Rank == 0 && e > tr.Tol*norm(w)*(1+1e-12) {
			t.Errorf("%+v: relative error %.4g above the tolerance", tr, e/norm(w))
		}
		if tr.Tol == 0.8 && sizeOf(l.Ranks()) == 4*3*5*2 {
			t.Errorf("%+v: nothing truncated", tr)
		}
		for n, r := range l.Ranks() {
			if tr.Rank > 0 && r > tr.Rank || tr.Ranks != nil && r > tr.Ranks[n] {
				t.Errorf("%+v: mode %d has rank %d above its cap", tr, n, r)
			}
		}
	}
}

// The spectra computed from the core and the factors' R factors are the
// singular values of Dense()'s mode unfoldings.
func TestTuckerBondSpectra(t *testing.T) {
	cfg := tuckerCases[2]
	l, err := NewTuckerLinear(cfg, Float64, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.BondSpectra()
	if err != nil {
		t.Fatal(err)
	}
	x, err := decomp.FromSlice(l.Dense(), append(slices.Clone(cfg.OutModes), cfg.InModes...)...)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"out 0", "out 1", "in 0", "in 1"}
	for n, s := range got {
		want, err := unfoldingSpectrum(x, n)
		if err != nil {
			t.Fatal(err)
		}
		if s.Bond != names[n] {
			t.Errorf("mode %d is named %q, want %q", n, s.Bond, names[n])
		}
		k := len(s.Values)
		if e := gcMaxAbsDiff(s.Values, want[:k]); e > 1e-10*want[0] {
			t.Errorf("mode %d: %v, from Dense() %v", n, s.Values, want)
		}
	}
}

func TestTuckerBondActivations(t *testing.T) {
	l, err := NewTuckerLinear(tuckerCases[2], Float64, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.BondActivations(tnRand(rand.New(rand.NewPCG(1, 1)), 3*6), 3)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range st {
		names = append(names, s.Bond)
		if want := map[string]int{"in 0": 2, "in 1": 2, "out 0": 2, "out 1": 1}[s.Bond]; len(s.RMS) != want {
			t.Errorf("%s has %d indices, want %d", s.Bond, len(s.RMS), want)
		}
	}
	if want := []string{"in 0", "in 1", "out 0", "out 1"}; !slices.Equal(names, want) {
		t.Errorf("bonds %v, want %v", names, want)
	}
}
