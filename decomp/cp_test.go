package decomp

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// knownRank lists the exact-rank recovery cases.
var knownRank = []struct {
	shape []int
	rank  int
}{
	{[]int{4, 5, 6}, 3},
	{[]int{8, 8, 8}, 4},
	{[]int{3, 4, 5, 6}, 3},
	{[]int{2, 9, 3}, 2},
}

func TestCPALSRecoversKnownRank(t *testing.T) {
	for _, c := range knownRank {
		for seed := uint64(1); seed <= 3; seed++ {
			for _, init := range []Init{InitRandom, InitSVD} {
				rng := rand.New(rand.NewPCG(seed, 10))
				x := randomCP(rng, c.shape, c.rank, false).Full()
				res, err := CPALS(x, c.rank, &CPOptions{MaxIter: 20000, Tol: 1e-12, Init: init, Seed: seed})
				if err != nil {
					t.Fatal(err)
				}
				checkCP(t, x, res, false)
				if e := relErrT(t, x, res.Full()); e > 1e-6 || !res.Converged {
					t.Errorf("%v rank %d seed %d %v: relative error %.3g after %d sweeps (converged %v), want ≤ 1e-6",
						c.shape, c.rank, seed, init, e, len(res.Trace)-1, res.Converged)
				}
			}
		}
	}
}

// TestNonNegativeCPRecoversKnownRank fits tensors built from half-normal
// factors. Non-negative CP has local minima and swamps like any CP fit: of
// seeds 1..8 in these cases, 4×5×6 seed 5 from InitSVD stops at error 0.038
// and 2×9×3 seeds 7 and 8 are still above 1e-5 after 2·10⁴ sweeps; seeds
// 1..3 all reach 1e-9.
func TestNonNegativeCPRecoversKnownRank(t *testing.T) {
	for _, c := range knownRank {
		for seed := uint64(1); seed <= 3; seed++ {
			for _, init := range []Init{InitRandom, InitSVD} {
				rng := rand.New(rand.NewPCG(seed, 20))
				x := randomCP(rng, c.shape, c.rank, true).Full()
				res, err := NonNegativeCP(x, c.rank, &CPOptions{MaxIter: 20000, Tol: 1e-12, Init: init, Seed: seed})
				if err != nil {
					t.Fatal(err)
				}
				checkCP(t, x, res, true)
				if e := relErrT(t, x, res.Full()); e > 1e-6 || !res.Converged {
					t.Errorf("%v rank %d seed %d %v: relative error %.3g after %d sweeps (converged %v), want ≤ 1e-6",
						c.shape, c.rank, seed, init, e, len(res.Trace)-1, res.Converged)
				}
			}
		}
	}
}

// TestCPBelowRank fits tensors of higher rank, and of mixed signs for the
// non-negative fit, where neither method can reach zero error: the traces
// must still descend and the constraints hold.
func TestCPBelowRank(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 30))
	x := randomTensor(rng, 6, 7, 5)
	for _, init := range []Init{InitRandom, InitSVD} {
		for _, rank := range []int{1, 3, 9} {
			opts := &CPOptions{MaxIter: 300, Tol: -1, Init: init, Seed: 4}
			als, err := CPALS(x, rank, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkCP(t, x, als, false)
			nn, err := NonNegativeCP(x, rank, opts)
			if err != nil {
				t.Fatal(err)
			}
			checkCP(t, x, nn, true)
			if len(als.Trace) != 301 || als.Converged || len(nn.Trace) != 301 || nn.Converged {
				t.Errorf("rank %d: %d and %d trace entries (converged %v, %v), want 301 with Tol < 0",
					rank, len(als.Trace), len(nn.Trace), als.Converged, nn.Converged)
			}
			if e := als.Trace[len(als.Trace)-1]; e < 0.05 {
				t.Errorf("rank %d: CP-ALS error %.3g on a Gaussian tensor is implausibly small", rank, e)
			}
		}
	}
}

// checkCP checks the invariants every CP result keeps: one unit-norm (or,
// with weight 0, constant) column per weight and mode, weights ≥ 0, a
// non-increasing trace ending at the true error, and for nonNeg every entry
// ≥ 0.
func checkCP(t *testing.T, x *Tensor, c *CP, nonNeg bool) {
	t.Helper()
	checkTrace(t, c.Trace)
	if e, last := relErrT(t, x, c.Full()), c.Trace[len(c.Trace)-1]; math.Abs(e-last) > 1e-12 {
		t.Errorf("trace ends at %.17g, the result's error is %.17g", last, e)
	}
	for n, f := range c.Factors {
		rows, cols := f.Dims()
		if rows != x.Shape[n] || cols != c.Rank() {
			t.Fatalf("factor %d is %d×%d, want %d×%d", n, rows, cols, x.Shape[n], c.Rank())
		}
		for r := range cols {
			if nrm := mat.Norm(f.ColView(r), 2); math.Abs(nrm-1) > 1e-12 {
				t.Errorf("factor %d column %d has norm %v", n, r, nrm)
			}
			for i := range rows {
				if nonNeg && f.At(i, r) < 0 {
					t.Errorf("factor %d entry (%d, %d) = %v is negative", n, i, r, f.At(i, r))
				}
			}
		}
	}
	for r, w := range c.Weights {
		if w < 0 || math.IsNaN(w) {
			t.Errorf("weight %d is %v", r, w)
		}
	}
}

// TestCPFull checks Full against the CP formula summed entry by entry.
func TestCPFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 50))
	c := randomCP(rng, []int{2, 3, 4}, 3, false)
	c.Weights = []float64{0.5, -2, 3}
	x := c.Full()
	for i := range 2 {
		for j := range 3 {
			for k := range 4 {
				var want float64
				for r, w := range c.Weights {
					want += w * c.Factors[0].At(i, r) * c.Factors[1].At(j, r) * c.Factors[2].At(k, r)
				}
				if got := x.At(i, j, k); math.Abs(got-want) > 1e-14 {
					t.Errorf("entry (%d,%d,%d) = %v, want %v", i, j, k, got, want)
				}
			}
		}
	}
}

// TestCPErrorIdentity checks the cheap error identity against the residual
// at error levels from about 1 down to fastErrMin, below which the fits
// compute the residual: the difference must stay under the 1e-12 the
// traces' monotonicity allows.
func TestCPErrorIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 60))
	shape := []int{32, 32, 32}
	model := randomCP(rng, shape, 32, true)
	truth := model.Full()
	scale := truth.Norm() / math.Sqrt(float64(truth.Len()))
	for _, noise := range []float64{3, 1, 0.3, 0.1, 0.03, 0.0102} {
		x := truth.Clone()
		for i := range x.Data {
			x.Data[i] += noise * scale * rng.NormFloat64()
		}
		// The state holds the true model, whose error is about noise.
		s := &cpState{norm: x.Norm(), w: make([]float64, 32), a: make([]*mat.Dense, 3), gram: make([]*mat.Dense, 3), unf: []*mat.Dense{nil, nil, x.unfold(2)}}
		for r := range s.w {
			s.w[r] = 1
		}
		for n, f := range model.Factors {
			a := mat.DenseCopyOf(f)
			nrm := columnNorms(a)
			for r, v := range nrm {
				s.w[r] *= v
			}
			s.setFactorNorms(n, a, nrm)
		}
		k := s.khatriRaoBut(2)
		var m mat.Dense
		m.Mul(s.unf[2], k)
		fast, exact := math.Sqrt(s.relError2(&m, s.gramBut(2))), s.relError(k)
		if exact < fastErrMin {
			t.Errorf("noise %v: error %.3g is below fastErrMin; the case tests nothing", noise, exact)
		}
		if d := math.Abs(fast - exact); d > 1e-12 {
			t.Errorf("noise %v: identity gives %.17g, residual %.17g (difference %.3g)", noise, fast, exact, d)
		} else {
			t.Logf("error %.3g: identity and residual differ by %.3g", exact, d)
		}
	}
}

func TestCPSeedDeterminesResult(t *testing.T) {
	x := randomTensor(rand.New(rand.NewPCG(7, 70)), 4, 5, 3)
	fit := func(o *CPOptions) *CP {
		c, err := NonNegativeCP(x, 3, o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a := fit(&CPOptions{MaxIter: 10, Seed: 11})
	b := fit(&CPOptions{MaxIter: 10, Seed: 11})
	c := fit(&CPOptions{MaxIter: 10, Rand: rand.New(rand.NewPCG(11, 11))})
	d := fit(&CPOptions{MaxIter: 10, Seed: 12})
	for n := range a.Factors {
		if !mat.Equal(a.Factors[n], b.Factors[n]) || !mat.Equal(a.Factors[n], c.Factors[n]) {
			t.Errorf("factor %d differs between runs with seed 11", n)
		}
	}
	if mat.Equal(a.Factors[0], d.Factors[0]) {
		t.Error("seeds 11 and 12 gave the same factor")
	}
}

func TestCPBadInput(t *testing.T) {
	good := randomTensor(rand.New(rand.NewPCG(8, 80)), 2, 3)
	nan := good.Clone()
	nan.Data[4] = math.NaN()
	for _, c := range []struct {
		name  string
		x     *Tensor
		rank  int
		opts  *CPOptions
		input string
	}{
		{"nil tensor", nil, 1, nil, "tensor"},
		{"rank 0", good, 0, nil, "rank"},
		{"rank -2", good, -2, nil, "rank"},
		{"short data", &Tensor{Shape: []int{2, 3}, Data: make([]float64, 5)}, 1, nil, "tensor"},
		{"zero size", &Tensor{Shape: []int{2, 0}}, 1, nil, "tensor"},
		{"one mode", &Tensor{Shape: []int{4}, Data: make([]float64, 4)}, 1, nil, "tensor"},
		{"NaN entry", nan, 1, nil, "tensor"},
		{"negative MaxIter", good, 1, &CPOptions{MaxIter: -1}, "CPOptions.MaxIter"},
		{"NaN Tol", good, 1, &CPOptions{Tol: math.NaN()}, "CPOptions.Tol"},
		{"unknown Init", good, 1, &CPOptions{Init: 7}, "CPOptions.Init"},
	} {
		for fn, fit := range map[string]func(*Tensor, int, *CPOptions) (*CP, error){"CPALS": CPALS, "NonNegativeCP": NonNegativeCP} {
			_, err := fit(c.x, c.rank, c.opts)
			checkInputErr(t, c.name, err, fn, c.input)
		}
	}
}

// checkInputErr fails t unless err is a one-line *InputError from fn about
// input.
func checkInputErr(t *testing.T, name string, err error, fn, input string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Errorf("%s: %s returned %v, want an *InputError", name, fn, err)
		return
	}
	if ie.Func != fn || ie.Input != input || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "decomp."+fn+": "+input+" ") {
		t.Errorf("%s: error %q names %s/%s, want %s/%s on one line", name, err, ie.Func, ie.Input, fn, input)
	}
}

func TestInitString(t *testing.T) {
	for i, want := range map[Init]string{InitRandom: "random", InitSVD: "svd", 5: "Init(5)"} {
		if got := i.String(); got != want {
			t.Errorf("Init %d prints %q, want %q", int(i), got, want)
		}
	}
}

// randomCP returns a random rank-R CP model of the given shape: weights 1 and
// factor entries standard normal, or their absolute values when nonNeg.
// (Uniform [0, 1) factors have columns at a cosine of about 3/4, which puts
// some seeds into swamps where ALS and HALS both need over 10⁴ sweeps;
// half-normal columns meet at about 2/π.)
func randomCP(rng *rand.Rand, shape []int, rank int, nonNeg bool) *CP {
	c := &CP{Weights: make([]float64, rank), Factors: make([]*mat.Dense, len(shape))}
	for r := range c.Weights {
		c.Weights[r] = 1
	}
	for n, In := range shape {
		a := mat.NewDense(In, rank, nil)
		for i := range In {
			for r := range rank {
				v := rng.NormFloat64()
				if nonNeg {
					v = math.Abs(v)
				}
				a.Set(i, r, v)
			}
		}
		c.Factors[n] = a
	}
	return c
}

// checkTrace fails t unless trace never grows by more than 1e-12 (the trace
// holds errors relative to ‖X‖, so this is rounding relative to the tensor).
func checkTrace(t *testing.T, trace []float64) {
	t.Helper()
	for k := 1; k < len(trace); k++ {
		if trace[k] > trace[k-1]+1e-12 {
			t.Errorf("error grew at sweep %d: %.17g -> %.17g", k, trace[k-1], trace[k])
		}
	}
}
