package decomp

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestTTSVDFullRankExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 200))
	for _, shape := range append(fullRankShapes, []int{2, 2, 2, 2, 2, 2}, []int{4, 1, 3}) {
		x := randomTensor(rng, shape...)
		for _, opts := range []*TTOptions{nil, {MaxRank: 1000}} {
			tt, err := TTSVD(x, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkTT(t, x, tt)
			if e := relErrT(t, x, tt.Full()); e > 1e-12 {
				t.Errorf("%v: full-rank train has relative error %.3g", shape, e)
			}
			// Gaussian data has full-rank unfoldings: rank r_k is the
			// smaller of ∏_{m<k} I_m and ∏_{m≥k} I_m, and nothing is dropped.
			r := tt.Ranks()
			for k := 1; k < len(shape); k++ {
				want := min(prod(shape[:k]), prod(shape[k:]))
				if r[k] != want || len(tt.Discarded[k-1]) != 0 {
					t.Errorf("%v: bond %d has rank %d (want %d) and drops %v", shape, k-1, r[k], want, tt.Discarded[k-1])
				}
			}
		}
	}
}

// TestTTSVDKnownRanks rebuilds a train of bond ranks (2, 3, 2) at those
// ranks from a tolerance alone.
func TestTTSVDKnownRanks(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 200))
	ranks := []int{1, 2, 3, 2, 1}
	shape := []int{3, 4, 5, 3}
	truth := &TT{}
	for k, I := range shape {
		truth.Cores = append(truth.Cores, randomTensor(rng, ranks[k], I, ranks[k+1]))
	}
	x := truth.Full()
	tt, err := TTSVD(x, &TTOptions{Tol: 1e-10})
	if err != nil {
		t.Fatal(err)
	}
	checkTT(t, x, tt)
	if got := tt.Ranks(); !slices.Equal(got, ranks) {
		t.Errorf("ranks %v, want %v", got, ranks)
	}
	if e := relErrT(t, x, tt.Full()); e > 1e-12 {
		t.Errorf("relative error %.3g at the true ranks", e)
	}
}

// TestTTSVDTruncationBound checks, for rank caps and tolerances, that the
// error is √(Σ discarded σ²), the bound of Oseledets' Theorem 2.2, and,
// under a tolerance alone, at most ε‖X‖; and that each bond keeps the fewest
// singular values the rule allows.
func TestTTSVDTruncationBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 200))
	x := randomTensor(rng, 4, 5, 3, 4, 2)
	// A smooth tensor has decaying spectra, so tolerances cut at varied ranks.
	smooth, _ := New(6, 6, 6, 6)
	for off := range smooth.Data {
		idx := index(smooth.Shape, off)
		smooth.Data[off] = 1 / (1 + float64(idx[0]+2*idx[1]+3*idx[2]+4*idx[3]))
	}
	for _, c := range []struct {
		name string
		x    *Tensor
		opts TTOptions
	}{
		{"gaussian cap 2", x, TTOptions{MaxRank: 2}},
		{"gaussian cap 1", x, TTOptions{MaxRank: 1}},
		{"gaussian per-bond caps", x, TTOptions{MaxRank: 1, MaxRanks: []int{3, 1, 4, 2}}},
		{"gaussian tol 0.3", x, TTOptions{Tol: 0.3}},
		{"gaussian tol 0.6 cap 3", x, TTOptions{Tol: 0.6, MaxRank: 3}},
		{"smooth tol 1e-3", smooth, TTOptions{Tol: 1e-3}},
		{"smooth tol 1e-6", smooth, TTOptions{Tol: 1e-6}},
		{"smooth cap 2", smooth, TTOptions{MaxRank: 2}},
	} {
		tt, err := TTSVD(c.x, &c.opts)
		if err != nil {
			t.Fatal(err)
		}
		checkTT(t, c.x, tt)
		norm := c.x.Norm()
		abs := relErrT(t, c.x, tt.Full()) * norm
		if b := tt.ErrorBound(); abs > b+1e-12*norm {
			t.Errorf("%s: error %.17g exceeds the bound %.17g", c.name, abs, b)
		} else if abs < b-1e-12*norm {
			// Each bond's truncation error is orthogonal to the later
			// ones, so TT-SVD meets the bound with equality.
			t.Errorf("%s: error %.17g is below the bound %.17g", c.name, abs, b)
		}
		if c.opts.MaxRank == 0 && abs > c.opts.Tol*norm {
			t.Errorf("%s: error %.3g exceeds ε‖X‖ = %.3g", c.name, abs, c.opts.Tol*norm)
		}
		d := len(c.x.Shape)
		delta := c.opts.Tol / math.Sqrt(float64(d-1)) * norm
		r := tt.Ranks()
		for k := range d - 1 {
			capK := c.opts.MaxRank
			if c.opts.MaxRanks != nil {
				capK = c.opts.MaxRanks[k]
			}
			kept := r[k+1]
			if capK > 0 && kept > capK {
				t.Errorf("%s: bond %d has rank %d above its cap %d", c.name, k, kept, capK)
			}
			s := tt.Spectra[k]
			if kept == capK || kept == 1 {
				continue
			}
			// Dropping one more value would have crossed δ.
			if tail := norm2(s[kept-1:]); tail <= delta {
				t.Errorf("%s: bond %d kept %d values, but dropping σ=%v too leaves a tail %v ≤ δ = %v", c.name, k, kept, s[kept-1], tail, delta)
			}
			if tail := norm2(tt.Discarded[k]); tail > delta {
				t.Errorf("%s: bond %d dropped a tail %v > δ = %v", c.name, k, tail, delta)
			}
		}
		t.Logf("%s: ranks %v, relative error %.3g, bound %.3g", c.name, r, abs/norm, tt.ErrorBound()/norm)
	}
}

// checkTT checks the invariants of a train: matching core shapes with
// r₀ = r_d = 1, left-orthonormal cores but the last, and spectra that are
// the kept values followed by Discarded.
func checkTT(t *testing.T, x *Tensor, tt *TT) {
	t.Helper()
	d := len(x.Shape)
	if len(tt.Cores) != d || len(tt.Spectra) != d-1 || len(tt.Discarded) != d-1 {
		t.Fatalf("%d cores, %d spectra, %d discarded for %d modes", len(tt.Cores), len(tt.Spectra), len(tt.Discarded), d)
	}
	r := tt.Ranks()
	if r[0] != 1 || r[d] != 1 {
		t.Errorf("boundary ranks %d, %d", r[0], r[d])
	}
	for k, c := range tt.Cores {
		if want := []int{r[k], x.Shape[k], r[k+1]}; !slices.Equal(c.Shape, want) || len(c.Data) != prod(want) {
			t.Fatalf("core %d has shape %v and %d values, want %v", k, c.Shape, len(c.Data), want)
		}
		if k == d-1 {
			continue
		}
		u := mat.NewDense(r[k]*x.Shape[k], r[k+1], c.Data)
		var g mat.Dense
		g.Mul(u.T(), u)
		if !mat.EqualApprox(&g, eye(r[k+1]), 1e-13) {
			t.Errorf("core %d is not left-orthonormal", k)
		}
		s := tt.Spectra[k]
		if len(s)-len(tt.Discarded[k]) != r[k+1] || !slices.Equal(s[r[k+1]:], tt.Discarded[k]) || !slices.IsSortedFunc(s, func(a, b float64) int { return int(math.Copysign(1, b-a)) }) {
			t.Errorf("bond %d: spectrum %v, rank %d, discarded %v", k, s, r[k+1], tt.Discarded[k])
		}
	}
}

func prod(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

func norm2(s []float64) float64 {
	var sum float64
	for _, v := range s {
		sum += v * v
	}
	return math.Sqrt(sum)
}

func TestTTSVDBadInput(t *testing.T) {
	x := randomTensor(rand.New(rand.NewPCG(4, 200)), 2, 3, 2)
	for _, c := range []struct {
		name  string
		x     *Tensor
		opts  *TTOptions
		input string
	}{
		{"nil", nil, nil, "tensor"},
		{"one mode", &Tensor{Shape: []int{3}, Data: make([]float64, 3)}, nil, "tensor"},
		{"infinite entry", &Tensor{Shape: []int{1, 2}, Data: []float64{1, math.Inf(-1)}}, nil, "tensor"},
		{"negative MaxRank", x, &TTOptions{MaxRank: -1}, "TTOptions.MaxRank"},
		{"MaxRanks length", x, &TTOptions{MaxRanks: []int{2}}, "TTOptions.MaxRanks"},
		{"MaxRanks zero", x, &TTOptions{MaxRanks: []int{2, 0}}, "TTOptions.MaxRanks"},
		{"negative Tol", x, &TTOptions{Tol: -0.1}, "TTOptions.Tol"},
		{"NaN Tol", x, &TTOptions{Tol: math.NaN()}, "TTOptions.Tol"},
	} {
		_, err := TTSVD(c.x, c.opts)
		checkInputErr(t, c.name, err, "TTSVD", c.input)
	}
}
