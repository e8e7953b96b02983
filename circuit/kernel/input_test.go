package kernel

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Shared helpers of the input-layer tests.

// inputLeafCase is a leaf structure used by the table tests.
type inputLeafCase struct {
	name     string
	V        int
	off, vrs []int32
}

// inputLeafCases returns one-variable leaves and multi-variable leaves whose
// variables are permuted, so that a leaf's variables are not contiguous.
func inputLeafCases() []inputLeafCase {
	off1, vars1 := SingleVariableLeaves(5)
	return []inputLeafCase{
		{"single", 5, off1, vars1},
		// 7 variables in leaves of sizes 3, 1, 2, 1.
		{"multi", 7, []int32{0, 3, 4, 6, 7}, []int32{4, 0, 6, 2, 5, 1, 3}},
	}
}

// inputLogValues reads an input layer's output buf: (F, B, K+1) as log-values
// (F, B, K) in float64: S + log V_k.
func inputLogValues[T Float](buf []T, K int) []float64 {
	rows := len(buf) / (K + 1)
	lv := make([]float64, rows*K)
	for r := range rows {
		s := float64(buf[r*(K+1)+K])
		for k := range K {
			lv[r*K+k] = s + math.Log(float64(buf[r*(K+1)+k]))
		}
	}
	return lv
}

// inputCheckRows asserts the representation invariant: every row has
// max_k V = 1 with V in [0, 1] (or V = 0 and S = −Inf).
func inputCheckRows[T Float](t *testing.T, buf []T, K int) {
	t.Helper()
	for r := range len(buf) / (K + 1) {
		row := buf[r*(K+1) : (r+1)*(K+1)]
		m := 0.0
		for _, v := range row[:K] {
			if v < 0 || v > 1 {
				t.Fatalf("row %d: value %v outside [0, 1]", r, v)
			}
			m = max(m, float64(v))
		}
		if m != 1 && !(m == 0 && math.IsInf(float64(row[K]), -1)) {
			t.Fatalf("row %d: max V = %v, S = %v; want max 1", r, m, row[K])
		}
	}
}

// inputMask returns a (B, V) mask with each entry missing with probability
// frac, and sample allMissing (if ≥ 0) entirely missing.
func inputMask(rng *rand.Rand, B, V int, frac float64, allMissing int) []bool {
	m := make([]bool, B*V)
	for i := range m {
		m[i] = rng.Float64() < frac
	}
	if allMissing >= 0 {
		for v := range V {
			m[allMissing*V+v] = true
		}
	}
	return m
}

// inputLoss is ℓ = Σ G ⊙ log-values, the loss whose gradient the FD checks
// compare: buf and g are (F, B, K+1), entry K of g unused.
func inputLoss[T Float](buf, g []T, K int) float64 {
	lv := inputLogValues(buf, K)
	s := 0.0
	for r := range len(buf) / (K + 1) {
		for k := range K {
			s += float64(g[r*(K+1)+k]) * lv[r*K+k]
		}
	}
	return s
}

// inputRandGrad returns a random output gradient (F, B, K+1) with entry K 0.
func inputRandGrad(rng *rand.Rand, F, B, K int) []float64 {
	g := make([]float64, F*B*(K+1))
	for r := range F * B {
		for k := range K {
			g[r*(K+1)+k] = rng.NormFloat64()
		}
	}
	return g
}

// inputCheckFD compares an analytic gradient with central differences of
// loss around params, entry by entry: |a − n| ≤ 1e-6·max(|a|, |n|) + 1e-9.
// The five-point central stencil (error O(h⁴)) with h = 1e-4 keeps both
// truncation and rounding error far below the tolerance.
func inputCheckFD(t *testing.T, name string, params, analytic []float64, loss func() float64) {
	t.Helper()
	const h = 1e-4
	worst := 0.0
	at := func(i int, x float64) float64 {
		p := params[i]
		params[i] = x
		l := loss()
		params[i] = p
		return l
	}
	for i := range params {
		p := params[i]
		n := (8*(at(i, p+h)-at(i, p-h)) - (at(i, p+2*h) - at(i, p-2*h))) / (12 * h)
		a := analytic[i]
		err := math.Abs(a - n)
		if err > 1e-6*max(math.Abs(a), math.Abs(n))+1e-9 {
			t.Fatalf("%s[%d]: analytic %.12g, finite difference %.12g", name, i, a, n)
		}
		worst = max(worst, err/max(math.Abs(a), math.Abs(n), 1e-300))
	}
	t.Logf("%s: %d entries, worst relative error %.2g", name, len(params), worst)
}

// inputWithWorkers runs fn with Workers set to w, restoring it afterwards.
func inputWithWorkers(w int, fn func()) {
	old := Workers
	Workers = w
	defer func() { Workers = old }()
	fn()
}

func inputSameBits[T Float](t *testing.T, name string, a, b []T) {
	t.Helper()
	for i := range a {
		if math.Float64bits(float64(a[i])) != math.Float64bits(float64(b[i])) {
			t.Fatalf("%s[%d]: %v with 1 worker, %v with 4", name, i, a[i], b[i])
		}
	}
}

// chiSquare returns Pearson's statistic of counts against probabilities p
// (normalized here) and its degrees of freedom (cells with p > 0, minus 1).
func chiSquare(counts []int, p []float64) (stat float64, df int) {
	n, total := 0, 0.0
	for _, c := range counts {
		n += c
	}
	for _, q := range p {
		total += q
	}
	for c, q := range p {
		if q == 0 {
			continue
		}
		e := float64(n) * q / total
		stat += (float64(counts[c]) - e) * (float64(counts[c]) - e) / e
		df++
	}
	return stat, df - 1
}

func TestInputLeavesValidation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		off, vrs []int32
		V        int
		want     string
	}{
		{"ok", []int32{0, 2, 3}, []int32{2, 0, 1}, 3, ""},
		{"no leaves", []int32{0}, nil, 3, "at least one leaf"},
		{"bad end", []int32{0, 2, 4}, []int32{2, 0, 1}, 3, "offsets run"},
		{"empty leaf", []int32{0, 2, 2, 3}, []int32{2, 0, 1}, 3, "leaf 1 is empty"},
		{"out of range", []int32{0, 2, 3}, []int32{2, 0, 3}, 3, "variable 3"},
		{"twice", []int32{0, 2, 3}, []int32{2, 0, 2}, 3, "variable 2 is in leaves 0 and 1"},
		{"uncovered", []int32{0, 2}, []int32{2, 0}, 3, "variable 1 is in no leaf"},
		{"no variables", []int32{0, 1}, []int32{0}, 0, "V = 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewInputLeaves(tc.off, tc.vrs, tc.V)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if l.F != 2 || l.LeafOf(0) != 0 || l.LeafOf(1) != 1 || l.LeafOf(2) != 0 {
					t.Fatalf("F = %d, leafOf = %v", l.F, l.leafOf)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// The constructors report leaf errors with their own prefix.
	if _, err := NewCategorical[float64]([]int32{0, 1}, []int32{0}, 2, 3, 4, CategoricalSoftmax); err == nil ||
		!strings.Contains(err.Error(), "categorical input") || !strings.Contains(err.Error(), "variable 1 is in no leaf") {
		t.Fatalf("NewCategorical: %v", err)
	}
}

func TestInputValidateCategories(t *testing.T) {
	x := []uint8{0, 1, 2, 3, 3, 2, 1, 0, 0, 7, 1, 9} // B = 3, V = 4
	if err := ValidateCategories(x, 4, 10); err != nil {
		t.Fatal(err)
	}
	err := ValidateCategories(x, 4, 4)
	var de *InputDataError
	if !errors.As(err, &de) || de.Sample != 2 || de.Variable != 1 || de.Value != 7 {
		t.Fatalf("got %#v, want sample 2, variable 1, value 7", err)
	}
	for _, s := range []string{"sample 2", "variable 1", "value 7", "0..3"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err, s)
		}
	}
	if err := ValidateCategories(x, 5, 10); err == nil {
		t.Error("len(x) = 12 with V = 5 accepted")
	}
}

func TestInputFillMarginalized(t *testing.T) {
	buf := []float32{9, 9, 9, 9, 9, 9, 9, 9}
	FillMarginalized(buf, 3)
	want := []float32{1, 1, 1, 0, 1, 1, 1, 0}
	for i := range buf {
		if buf[i] != want[i] {
			t.Fatalf("got %v, want %v", buf, want)
		}
	}
}
