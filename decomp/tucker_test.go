package decomp

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// fullRankShapes includes a mode larger than the product of the others
// (7 > 2·3), where the thin SVD of its unfolding lacks vectors.
var fullRankShapes = [][]int{{3, 4, 5}, {2, 3, 2, 3}, {7, 2, 3}, {1, 4, 3}, {5, 5}}

func TestTuckerFullRankExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 100))
	for _, shape := range fullRankShapes {
		x := randomTensor(rng, shape...)
		for name, d := range tuckerBoth(t, x, shape) {
			checkTuckerResult(t, x, d)
			if e := relErrT(t, x, d.Full()); e > 1e-12 {
				t.Errorf("%s %v at full rank: relative error %.3g", name, shape, e)
			}
			if nc, nx := d.Core.Norm(), x.Norm(); math.Abs(nc-nx) > 1e-12*nx {
				t.Errorf("%s %v: ‖core‖ = %v, ‖x‖ = %v", name, shape, nc, nx)
			}
		}
	}
}

// TestTuckerKnownRank rebuilds a tensor of multilinear rank (2, 3, 2) at
// that rank.
func TestTuckerKnownRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 100))
	ranks := []int{2, 3, 2}
	truth := &Tucker{Core: randomTensor(rng, ranks...)}
	for n, In := range []int{5, 6, 4} {
		f := mat.NewDense(In, ranks[n], nil)
		for i := range In {
			for j := range ranks[n] {
				f.Set(i, j, rng.NormFloat64())
			}
		}
		truth.Factors = append(truth.Factors, f)
	}
	x := truth.Full()
	for name, d := range tuckerBoth(t, x, ranks) {
		checkTuckerResult(t, x, d)
		if e := relErrT(t, x, d.Full()); e > 1e-12 {
			t.Errorf("%s at the true ranks: relative error %.3g", name, e)
		}
	}
}

// TestHOOINotWorseThanHOSVD checks, on Gaussian tensors at truncated ranks,
// that HOOI's error is at most HOSVD's (and below it where HOSVD is not
// optimal), that HOOI ends at a fixed point, and that HOSVD's squared error
// is at most the sum over modes of the squared singular values it drops (De
// Lathauwer et al. 2000, Property 10).
func TestHOOINotWorseThanHOSVD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 100))
	for _, c := range []struct {
		shape, ranks []int
		optimal      bool // HOSVD is optimal: one mode truncated, as for a matrix
	}{
		{[]int{6, 7, 8}, []int{2, 3, 4}, false},
		{[]int{5, 5, 5, 5}, []int{2, 2, 3, 1}, false},
		{[]int{9, 4}, []int{2, 2}, true},
		{[]int{8, 8, 8}, []int{8, 1, 8}, true},
	} {
		x := randomTensor(rng, c.shape...)
		hosvd, err := HOSVD(x, c.ranks)
		if err != nil {
			t.Fatal(err)
		}
		hooi, err := HOOI(x, c.ranks, &TuckerOptions{MaxIter: 300, Tol: -1})
		if err != nil {
			t.Fatal(err)
		}
		checkTuckerResult(t, x, hosvd)
		checkTuckerResult(t, x, hooi)
		eS, eO := relErrT(t, x, hosvd.Full()), relErrT(t, x, hooi.Full())
		if eO > eS+1e-12 {
			t.Errorf("%v ranks %v: HOOI error %.17g exceeds HOSVD's %.17g", c.shape, c.ranks, eO, eS)
		}
		if hooi.Trace[0] != hosvd.Trace[0] || len(hooi.Trace) != 301 || hooi.Converged {
			t.Errorf("%v: HOOI trace starts at %v (HOSVD %v), has %d entries, converged %v; want HOSVD's start, 301, false",
				c.shape, hooi.Trace[0], hosvd.Trace[0], len(hooi.Trace), hooi.Converged)
		}
		if !c.optimal && eO >= eS-1e-6 {
			t.Errorf("%v ranks %v: HOOI error %.17g does not improve on HOSVD's %.17g", c.shape, c.ranks, eO, eS)
		}
		t.Logf("%v ranks %v: HOSVD %.6g, HOOI %.6g", c.shape, c.ranks, eS, eO)
		checkHOOIStationary(t, x, hooi)
		var bound float64
		for n, r := range c.ranks {
			var svd mat.SVD
			u, _ := x.Unfold(n)
			if !svd.Factorize(u, mat.SVDNone) {
				t.Fatal("SVD failed")
			}
			for _, s := range svd.Values(nil)[r:] {
				bound += s * s
			}
		}
		if abs := eS * x.Norm(); abs > math.Sqrt(bound)*(1+1e-12) {
			t.Errorf("%v ranks %v: HOSVD error %.17g exceeds the bound %.17g", c.shape, c.ranks, abs, math.Sqrt(bound))
		}
	}
}

// checkHOOIStationary checks that d is a fixed point of HOOI: for every
// mode n, Factors[n] spans the leading left singular subspace of
// Y = X ×_{m≠n} U_mᵀ, so ‖Core‖² = ‖U_nᵀ·Y₍ₙ₎‖² equals the sum of Y₍ₙ₎'s rₙ
// largest squared singular values.
func checkHOOIStationary(t *testing.T, x *Tensor, d *Tucker) {
	t.Helper()
	core := d.Core.Norm()
	for n, r := range d.Core.Shape {
		y := x
		for m, u := range d.Factors {
			if m != n {
				y = y.modeProduct(u.T(), m)
			}
		}
		var svd mat.SVD
		if !svd.Factorize(y.unfold(n), mat.SVDNone) {
			t.Fatal("SVD failed")
		}
		best := norm2(svd.Values(nil)[:r])
		if math.Abs(best-core) > 1e-7*x.Norm() {
			t.Errorf("mode %d: ‖core‖ = %.17g, but the best rank-%d projection keeps %.17g", n, core, r, best)
		}
	}
}

// tuckerBoth returns HOSVD and HOOI of x at ranks.
func tuckerBoth(t *testing.T, x *Tensor, ranks []int) map[string]*Tucker {
	t.Helper()
	s, err := HOSVD(x, ranks)
	if err != nil {
		t.Fatal(err)
	}
	o, err := HOOI(x, ranks, nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*Tucker{"HOSVD": s, "HOOI": o}
}

// checkTuckerResult checks the invariants of a Tucker result: core shape equal to
// the factors' column counts, orthonormal factor columns, a non-increasing
// trace ending at the true error.
func checkTuckerResult(t *testing.T, x *Tensor, d *Tucker) {
	t.Helper()
	checkTrace(t, d.Trace)
	if e, last := relErrT(t, x, d.Full()), d.Trace[len(d.Trace)-1]; math.Abs(e-last) > 1e-12 {
		t.Errorf("trace ends at %.17g, the result's error is %.17g", last, e)
	}
	for n, f := range d.Factors {
		rows, cols := f.Dims()
		if rows != x.Shape[n] || cols != d.Core.Shape[n] {
			t.Fatalf("factor %d is %d×%d, want %d×%d", n, rows, cols, x.Shape[n], d.Core.Shape[n])
		}
		var g mat.Dense
		g.Mul(f.T(), f)
		if !mat.EqualApprox(&g, eye(cols), 1e-13) {
			t.Errorf("factor %d columns are not orthonormal:\n%v", n, mat.Formatted(&g))
		}
	}
	if r := d.Ranks(); !slices.Equal(r, d.Core.Shape) {
		t.Errorf("Ranks() = %v, core shape %v", r, d.Core.Shape)
	}
}

func eye(n int) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := range n {
		m.Set(i, i, 1)
	}
	return m
}

func TestTuckerBadInput(t *testing.T) {
	x := randomTensor(rand.New(rand.NewPCG(4, 100)), 3, 4)
	for _, c := range []struct {
		name  string
		x     *Tensor
		ranks []int
		opts  *TuckerOptions
		input string
	}{
		{"nil", nil, []int{1, 1}, nil, "tensor"},
		{"ranks length", x, []int{1}, nil, "ranks"},
		{"rank 0", x, []int{0, 2}, nil, "ranks"},
		{"rank above size", x, []int{4, 2}, nil, "ranks"},
		{"negative MaxIter", x, []int{1, 1}, &TuckerOptions{MaxIter: -3}, "TuckerOptions.MaxIter"},
		{"NaN Tol", x, []int{1, 1}, &TuckerOptions{Tol: math.NaN()}, "TuckerOptions.Tol"},
	} {
		_, err := HOOI(c.x, c.ranks, c.opts)
		checkInputErr(t, c.name, err, "HOOI", c.input)
		if c.opts == nil {
			_, err = HOSVD(c.x, c.ranks)
			checkInputErr(t, c.name, err, "HOSVD", c.input)
		}
	}
}
