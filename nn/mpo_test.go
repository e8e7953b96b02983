package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tenpc/tenpc/decomp"
)

// mpoCases are small MPO shapes: d = 2 and 3, modes of size 1, unequal
// ranks.
var mpoCases = []struct {
	out, in, ranks []int
}{
	{[]int{2, 3}, []int{3, 2}, []int{2}},
	{[]int{2, 1, 2}, []int{1, 3, 2}, []int{2, 3}},
	{[]int{3, 2, 2}, []int{2, 2, 3}, []int{3, 2}},
}

func TestMPOGradCheck(t *testing.T) {
	for i, c := range mpoCases {
		for _, ltr := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/ltr=%v", i, ltr), func(t *testing.T) {
				rs := append(append([]int{1}, c.ranks...), 1)
				tnGradCheck(t, mpoChain(c.out, c.in, rs, ltr), 2, uint64(i))
			})
		}
	}
}

// Through the module: the bias and the cores get their gradients from
// Program.Step.
func TestMPOModuleGradCheck(t *testing.T) {
	l, err := NewMPOLinear(MPOConfig{OutModes: []int{2, 3}, InModes: []int{3, 2}, Rank: 2, Bias: true}, Float64, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	moduleGradCheck(t, l, tnRand(rand.New(rand.NewPCG(3, 4)), 2*6), []int{2, 6})
}

func TestMPOForwardMatchesDense(t *testing.T) {
	for i, c := range mpoCases {
		for order := 1; order <= 2; order++ {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(order)))
			l, err := NewMPOLinear(MPOConfig{OutModes: c.out, InModes: c.in, Ranks: c.ranks, Bias: true}, Float64, rng)
			if err != nil {
				t.Fatal(err)
			}
			l.order = order
			params := sizeOf(c.out)
			rs := append(append([]int{1}, c.ranks...), 1)
			for k := range c.out {
				params += rs[k] * c.out[k] * c.in[k] * rs[k+1]
			}
			t.Run(fmt.Sprintf("%d/order=%d", i, order), func(t *testing.T) { checkTNLayer(t, l, l.Bias, params, uint64(i)) })
		}
	}
}

// Forward picks the cheaper contraction order: large out modes first and
// large in modes last make right to left cheap, the reverse left to right.
func TestMPOPicksCheaperOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		out, in []int
		ltr     bool
	}{
		{[]int{64, 4}, []int{4, 64}, false},
		{[]int{4, 64}, []int{64, 4}, true},
	} {
		l, err := NewMPOLinear(MPOConfig{OutModes: c.out, InModes: c.in, Rank: 8}, Float64, rng)
		if err != nil {
			t.Fatal(err)
		}
		rl, lr := mpoChain(c.out, c.in, []int{1, 8, 1}, false), mpoChain(c.out, c.in, []int{1, 8, 1}, true)
		want := rl.macs()
		if c.ltr {
			want = lr.macs()
		}
		if got := l.FLOPs(1) / 2; got != want || want >= max(rl.macs(), lr.macs()) {
			t.Errorf("%v←%v: %d multiply-adds, want the cheaper order's %d (the two: %d, %d)", c.out, c.in, got, want, rl.macs(), lr.macs())
		}
	}
}

// TT-SVD without truncation reconstructs W exactly; truncated, the error
// is the norm of the discarded singular values.
func TestMPOFromDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	out, in := []int{3, 4, 2}, []int{2, 5, 3}
	w := tnRand(rng, 24*30)
	b := tnRand(rng, 24)
	l, fit, err := MPOFromDense(w, b, out, in, Truncation{}, Float64)
	if err != nil {
		t.Fatal(err)
	}
	if e := distance(w, l.Dense()); e > 1e-12*norm(w) {
		t.Errorf("full rank: ‖W − Dense()‖ = %.3g", e)
	}
	if fit.ErrorBound > 1e-12 || fit.Error > 1e-12*fit.Norm {
		t.Errorf("full rank: bound %.3g, error %.3g", fit.ErrorBound, fit.Error)
	}
	if want := []int{6, 6}; !slices.Equal(fit.Ranks, want) { // min(6, 120), min(120, 6)
		t.Errorf("full-rank bonds %v, want %v", fit.Ranks, want)
	}
	if !slices.Equal(l.Bias.Value(), b) {
		t.Error("the bias was not kept")
	}
	for _, tr := range []Truncation{{Rank: 3}, {Ranks: []int{2, 5}}, {Tol: 0.3}, {Tol: 0.5, Rank: 4}} {
		l, fit, err := MPOFromDense(w, nil, out, in, tr, Float64)
		if err != nil {
			t.Fatal(err)
		}
		e := distance(w, l.Dense())
		if math.Abs(e-fit.ErrorBound) > 1e-10*norm(w) || math.Abs(e-fit.Error) > 1e-10*norm(w) {
			t.Errorf("%+v: ‖W − Dense()‖ = %.12g, bound %.12g, reported %.12g", tr, e, fit.ErrorBound, fit.Error)
		}
		if tr.Tol > 0 && tr.Rank == 0 && e > tr.Tol*norm(w)*(1+1e-12) {
			t.Errorf("%+v: relative error %.4g above the tolerance", tr, e/norm(w))
		}
		for k, r := range l.Ranks() {
			if tr.Rank > 0 && r > tr.Rank || tr.Ranks != nil && r > tr.Ranks[k] {
				t.Errorf("%+v: bond %d has rank %d above its cap", tr, k+1, r)
			}
			if len(fit.Discarded[k]) != len(fit.Spectra[k])-r {
				t.Errorf("%+v: bond %d keeps %d of %d values but discards %d", tr, k+1, r, len(fit.Spectra[k]), len(fit.Discarded[k]))
			}
		}
	}
}

// With every bond dimension 1, W is the Kronecker product of the cores
// read as m_k × n_k matrices: W[(i₀…), (j₀…)] = ∏ G_k[i_k, j_k].
func TestMPORankOneIsKronecker(t *testing.T) {
	l, err := NewMPOLinear(MPOConfig{OutModes: []int{2, 3, 2}, InModes: []int{3, 1, 2}, Rank: 1}, Float64, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	kron := []float64{1}
	rows, cols := 1, 1
	for _, c := range l.Cores {
		m, n := c.shape[1], c.shape[2]
		g := c.Value()
		next := make([]float64, rows*m*cols*n)
		for i := range rows {
			for j := range cols {
				for a := range m {
					for b := range n {
						next[(i*m+a)*(cols*n)+j*n+b] = kron[i*cols+j] * g[a*n+b]
					}
				}
			}
		}
		kron, rows, cols = next, rows*m, cols*n
	}
	if e := gcMaxAbsDiff(l.Dense(), kron); e > 1e-15 {
		t.Errorf("Dense() differs from the Kronecker product of the cores by %.3g", e)
	}
	checkTNLayer(t, l, nil, 2*3+3*1+2*2, 1)
}

// The spectra read off the cores are TT-SVD's spectra of Dense(), for a
// trained-looking MPO (random cores, not canonical).
func TestMPOBondSpectra(t *testing.T) {
	out, in := []int{2, 3, 2}, []int{3, 2, 2}
	l, err := NewMPOLinear(MPOConfig{OutModes: out, InModes: in, Ranks: []int{4, 3}}, Float64, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.BondSpectra()
	if err != nil {
		t.Fatal(err)
	}
	x, err := pairedTensor(l.Dense(), out, in)
	if err != nil {
		t.Fatal(err)
	}
	tt, err := decomp.TTSVD(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, s := range got {
		if s.Bond != fmt.Sprintf("bond %d", k+1) {
			t.Errorf("spectrum %d is named %q", k, s.Bond)
		}
		want := tt.Spectra[k][:len(s.Values)]
		if e := gcMaxAbsDiff(s.Values, want); e > 1e-10*want[0] {
			t.Errorf("bond %d: %v, TT-SVD of Dense() %v", k+1, s.Values, tt.Spectra[k])
		}
		for _, v := range tt.Spectra[k][len(s.Values):] {
			if v > 1e-10*want[0] {
				t.Errorf("bond %d: TT-SVD of Dense() finds %v beyond the bond's %d values", k+1, v, len(s.Values))
			}
		}
	}
}

// The activation statistics of a d = 2 MPO's bond, against the state
// computed by loops: right to left, Z[j₀, α, i₁, b] = Σ_{j₁} G₁[α, i₁, j₁]·x[b, j₀, j₁].
func TestMPOBondActivations(t *testing.T) {
	m, n, r := []int{2, 3}, []int{3, 2}, 3
	l, err := NewMPOLinear(MPOConfig{OutModes: m, InModes: n, Rank: r}, Float64, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	l.order = 1
	const B = 4
	x := tnRand(rand.New(rand.NewPCG(6, 6)), B*6)
	got, err := l.BondActivations(x, B)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Bond != "bond 1" {
		t.Fatalf("got %d bonds (%v), want bond 1", len(got), got)
	}
	g1 := l.Cores[1].Value() // (r, m1, n1, 1)
	vals := make([][]float64, r)
	for j0 := range n[0] {
		for a := range r {
			for i1 := range m[1] {
				for b := range B {
					z := 0.0
					for j1 := range n[1] {
						z += g1[(a*m[1]+i1)*n[1]+j1] * x[b*6+j0*n[1]+j1]
					}
					vals[a] = append(vals[a], z)
				}
			}
		}
	}
	for a := range r {
		var s, sq, mx float64
		for _, v := range vals[a] {
			s += v
			sq += v * v
			mx = math.Max(mx, math.Abs(v))
		}
		k := float64(len(vals[a]))
		mean, rms := s/k, math.Sqrt(sq/k)
		std := math.Sqrt(sq/k - mean*mean)
		st := got[0]
		for _, c := range [][2]float64{{st.Mean[a], mean}, {st.RMS[a], rms}, {st.Std[a], std}, {st.MaxAbs[a], mx}} {
			if math.Abs(c[0]-c[1]) > 1e-12 {
				t.Errorf("index %d: statistic %v, want %v", a, c[0], c[1])
			}
		}
	}
	if _, err := l.BondActivations(x[:5], B); err == nil {
		t.Error("BondActivations accepted x of the wrong length")
	}
}
