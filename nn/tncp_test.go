package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

var cpCases = []CPConfig{
	{OutModes: []int{2, 3}, InModes: []int{3, 2}, Rank: 3},
	{OutModes: []int{2, 1, 2}, InModes: []int{1, 3, 2}, Rank: 2},
	{OutModes: []int{3, 2, 2}, InModes: []int{2, 2, 3}, Rank: 2, Bias: true},
}

func TestCPGradCheck(t *testing.T) {
	for i, cfg := range cpCases {
		for _, ltr := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/ltr=%v", i, ltr), func(t *testing.T) {
				tnGradCheck(t, cpChain(cfg.OutModes, cfg.InModes, cfg.Rank, ltr), 2, uint64(i))
			})
		}
	}
}

func TestCPModuleGradCheck(t *testing.T) {
	l, err := NewCPLinear(CPConfig{OutModes: []int{2, 3}, InModes: []int{3, 2}, Rank: 2, Bias: true}, Float64, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	moduleGradCheck(t, l, tnRand(rand.New(rand.NewPCG(3, 4)), 2*6), []int{2, 6})
}

func TestCPForwardMatchesDense(t *testing.T) {
	for i, cfg := range cpCases {
		for order := 1; order <= 2; order++ {
			l, err := NewCPLinear(cfg, Float64, rand.New(rand.NewPCG(3, uint64(i))))
			if err != nil {
				t.Fatal(err)
			}
			l.order = order
			params := 0
			for k := range cfg.OutModes {
				params += cfg.Rank * cfg.OutModes[k] * cfg.InModes[k]
			}
			if cfg.Bias {
				params += sizeOf(cfg.OutModes)
			}
			t.Run(fmt.Sprintf("%d/order=%d", i, order), func(t *testing.T) { checkTNLayer(t, l, l.Bias, params, uint64(i)) })
		}
	}
}

// A W of exact CP rank R (a CPLinear's Dense) is recovered at rank R; the
// reported error is the measured one; the tolerance search finds a rank
// whose fit reaches the tolerance.
func TestCPFromDense(t *testing.T) {
	src, err := NewCPLinear(CPConfig{OutModes: []int{3, 4}, InModes: []int{4, 3}, Rank: 2}, Float64, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	w := src.Dense()
	l, fit, err := CPFromDense(w, nil, []int{3, 4}, []int{4, 3}, Truncation{Rank: 2, Sweeps: 500}, Float64)
	if err != nil {
		t.Fatal(err)
	}
	e := distance(w, l.Dense())
	if e > 1e-6*norm(w) {
		t.Errorf("rank-2 W fitted at rank 2 with relative error %.3g", e/norm(w))
	}
	if math.Abs(e-fit.Error) > 1e-12*norm(w) || !math.IsNaN(fit.ErrorBound) {
		t.Errorf("error %.6g, reported %.6g (bound %v, want NaN)", e, fit.Error, fit.ErrorBound)
	}
	noisy := slices.Clone(w)
	for i, v := range tnRand(rand.New(rand.NewPCG(1, 9)), len(w)) {
		noisy[i] += 0.01 * v
	}
	l, fit, err = CPFromDense(noisy, nil, []int{3, 4}, []int{4, 3}, Truncation{Tol: 0.05}, Float64)
	if err != nil {
		t.Fatal(err)
	}
	if fit.RelError() > 0.05 || l.Rank() > 2 {
		t.Errorf("tolerance 0.05: rank %d, relative error %.4g; rank 2 reaches it", l.Rank(), fit.RelError())
	}
}

// The spectrum of the one bond is the terms' norms: the CP-ALS weights λ
// for a layer built from a dense W.
func TestCPBondSpectra(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	w := tnRand(rng, 36)
	l, _, err := CPFromDense(w, nil, []int{2, 3}, []int{3, 2}, Truncation{Rank: 3}, Float64)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.BondSpectra()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Bond != "rank" || len(got[0].Values) != 3 {
		t.Fatalf("spectra %+v, want one bond of 3 values", got)
	}
	// Each term's norm by brute force: the norm of its Kronecker product.
	var want []float64
	for r := range 3 {
		one := &CPLinear{}
		for _, f := range l.Factors {
			per := f.Len() / 3
			one.Factors = append(one.Factors, fitParam("f", Float64, f.Value()[r*per:(r+1)*per], 1, f.shape[1], f.shape[2]))
		}
		want = append(want, norm(one.Dense()))
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(want)))
	if e := gcMaxAbsDiff(got[0].Values, want); e > 1e-12 {
		t.Errorf("spectrum %v, term norms %v", got[0].Values, want)
	}
}

func TestCPBondActivations(t *testing.T) {
	l, err := NewCPLinear(cpCases[2], Float64, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := l.BondActivations(tnRand(rand.New(rand.NewPCG(1, 1)), 3*12), 3)
	if err != nil {
		t.Fatal(err)
	}
	// d = 3: the rank index lives in the states after the first two steps.
	if len(st) != 2 || st[0].Bond != "rank" || len(st[0].RMS) != 2 {
		t.Fatalf("got %+v, want two states of the 2-term rank bond", st)
	}
}
