package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cpRef is the naive log-space CP: log out[f,b,k] = log scale[f,k] +
// Σ_a logsumexp_j (log W[wf,a,k,j] + x_a[b,j]).
func cpRef(w Wiring, lv [][]float64, wt []float64, wfold []int32, scale []float64) []float64 {
	out := make([]float64, w.F*w.B*w.Kout)
	terms := make([]float64, w.Kin)
	for f := range w.F {
		wf := f
		if wfold != nil {
			wf = int(wfold[f])
		}
		for b := range w.B {
			for k := range w.Kout {
				v := 0.0
				if scale != nil {
					v = math.Log(scale[f*w.Kout+k])
				}
				for a := range w.A {
					x := inLog(w, lv, f, a, b)
					for j := range w.Kin {
						terms[j] = math.Log(wt[((wf*w.A+a)*w.Kout+k)*w.Kin+j]) + x[j]
					}
					v += logSumExp(terms)
				}
				out[(f*w.B+b)*w.Kout+k] = v
			}
		}
	}
	return out
}

type cpTest struct {
	name                     string
	F, A, B, Kin, Kout, nsrc int
	xs, s                    bool    // CP-XS (all folds share weight fold 0), CP-S (scales)
	spread                   float64 // rows' log-scales spread over ±spread
	tiny                     bool    // some weights and one whole weight matrix at the clamp boundary
}

var cpTests = []cpTest{
	{name: "binary", F: 5, A: 2, B: 3, Kin: 4, Kout: 3, nsrc: 2, spread: 2},
	{name: "ternary", F: 4, A: 3, B: 2, Kin: 3, Kout: 4, nsrc: 3, spread: 2},
	{name: "xs", F: 6, A: 2, B: 3, Kin: 3, Kout: 3, nsrc: 2, xs: true, spread: 2},
	{name: "s", F: 4, A: 2, B: 3, Kin: 3, Kout: 4, nsrc: 1, xs: true, s: true, spread: 2},
	{name: "scales500", F: 4, A: 2, B: 4, Kin: 3, Kout: 3, nsrc: 2, spread: 250},
	{name: "clamp", F: 4, A: 2, B: 3, Kin: 4, Kout: 3, nsrc: 2, s: true, spread: 2, tiny: true},
}

// setup draws a CP case: wiring, source log-values, weights, fold map, scale.
func (tc cpTest) setup(rng *rand.Rand) (Wiring, [][]float64, []float64, []int32, []float64) {
	w := randWiring(rng, tc.F, tc.A, tc.B, tc.Kin, tc.Kout, tc.nsrc)
	var wfold []int32
	fw := tc.F
	if tc.xs {
		wfold = make([]int32, tc.F)
		fw = 1
	}
	wt := randWeights(rng, fw*tc.A*tc.Kout*tc.Kin)
	if tc.tiny {
		atClampBound(rng, wt, 4, tc.Kout*tc.Kin) // weight fold 0, input 0 all at the bound
	}
	var scale []float64
	if tc.s {
		scale = make([]float64, tc.F*tc.Kout)
		for i := range scale {
			scale[i] = 0.9 + 0.2*rng.Float64() // the reference paper's uniform(0.9, 1.1)
		}
	}
	return w, srcLogs(rng, w, tc.spread), wt, wfold, scale
}

func TestCPForwardMatchesReference(t *testing.T) {
	for i, tc := range cpTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(i)))
			w, lv, wt, wfold, scale := tc.setup(rng)
			l, err := NewCP[float64](w, wfold)
			if err != nil {
				t.Fatal(err)
			}
			out := forwardF64(w, lv, func(srcs [][]float64, out []float64) { l.Forward(srcs, wt, scale, out) })
			for r := range w.F * w.B {
				row := out[r*(w.Kout+1) : r*(w.Kout+1)+w.Kout]
				m := 0.0
				for _, v := range row {
					m = max(m, v)
				}
				if m != 1 {
					t.Fatalf("row %d: max V = %v, want 1", r, m)
				}
			}
			assertClose(t, "log-values", logOf(out, w.Kout), cpRef(w, lv, wt, wfold, scale), 1e-12)
		})
	}
}

func cpGradCase(w Wiring, lv [][]float64, wt []float64, wfold []int32, scale []float64) *gradCase {
	l, err := NewCP[float64](w, wfold)
	if err != nil {
		panic(err)
	}
	params := [][]float64{wt}
	if scale != nil {
		params = append(params, scale)
	}
	sc := func(p [][]float64) []float64 {
		if len(p) > 1 {
			return p[1]
		}
		return nil
	}
	written := map[int]bool{}
	for _, wf := range l.WFold {
		written[int(wf)] = true
	}
	return &gradCase{
		w: w, lv: lv, params: params,
		fwd: func(srcs, p [][]float64, out []float64) { l.Forward(srcs, p[0], sc(p), out) },
		bwd: func(srcs, p [][]float64, g []float64, dSrcs, dp [][]float64) {
			l.Backward(srcs, p[0], sc(p), g, dSrcs, dp[0], sc(dp))
		},
		fresh: func(srcs, p [][]bool) {
			l.SetFresh(srcs)
			l.SetFreshWeights(p[0])
		},
		freshParams: map[int]freshSlices{0: {l.Fw, written}},
	}
}

func TestCPGradients(t *testing.T) {
	for i, tc := range cpTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(2, uint64(i)))
			w, lv, wt, wfold, scale := tc.setup(rng)
			checkGrads(t, rng, cpGradCase(w, lv, wt, wfold, scale), 1e-6)
			checkAccumulates(t, rng, cpGradCase(w, lv, wt, wfold, scale))
			checkFresh(t, rng, cpGradCase(w, lv, wt, wfold, scale))
		})
	}
}

// A fold whose input row is all zeros (S = −Inf) must produce V = 0,
// S = −Inf and finite gradients; other rows are unaffected.
func TestCPZeroRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 0))
	w := Wiring{F: 2, A: 2, B: 2, Kin: 3, Kout: 3, SrcFolds: []int{4}, Refs: []Ref{{0, 0}, {0, 1}, {0, 2}, {0, 3}}}
	lv := randLogs(rng, 4, 2, 3, 1)
	for k := range 3 { // source fold 1, sample 0: all −Inf
		lv[(1*2+0)*3+k] = math.Inf(-1)
	}
	src := scaled[float64](lv, 3)
	wt := randWeights(rng, 2*2*3*3)
	l, _ := NewCP[float64](w, nil)
	out := make([]float64, 2*2*4)
	l.Forward([][]float64{src}, wt, nil, out)
	if out[3] != math.Inf(-1) || out[0] != 0 || out[1] != 0 || out[2] != 0 {
		t.Fatalf("zero row: got %v, want [0 0 0 -Inf]", out[:4])
	}
	want := cpRef(w, [][]float64{lv}, wt, nil, nil)
	assertClose(t, "log-values", logOf(out, 3), want, 1e-12)
	g := make([]float64, len(out))
	for i := range g {
		if i%4 != 3 {
			g[i] = 1
		}
	}
	dSrc, dW := make([]float64, len(src)), make([]float64, len(wt))
	l.Backward([][]float64{src}, wt, nil, g, [][]float64{dSrc}, dW, nil)
	for i, v := range append(dSrc, dW...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("gradient entry %d is %v", i, v)
		}
	}
	// Fold 0's second input (source fold 1) gets no gradient at sample 0.
	for j := range 3 {
		if v := dSrc[(1*2+0)*4+j]; v != 0 {
			t.Errorf("gradient of the zero row: entry %d = %v, want 0", j, v)
		}
	}
}

func TestNewCPRejects(t *testing.T) {
	good := treeWiring(2, 2, 1, 2)
	bad := []struct {
		name  string
		w     Wiring
		wfold []int32
	}{
		{"arity 1", treeWiring(2, 1, 1, 2), nil},
		{"ref out of range", Wiring{F: 1, A: 2, B: 1, Kin: 2, Kout: 2, SrcFolds: []int{2}, Refs: []Ref{{0, 0}, {0, 2}}}, nil},
		{"bad source", Wiring{F: 1, A: 2, B: 1, Kin: 2, Kout: 2, SrcFolds: []int{2}, Refs: []Ref{{0, 0}, {1, 0}}}, nil},
		{"refs count", Wiring{F: 2, A: 2, B: 1, Kin: 2, Kout: 2, SrcFolds: []int{2}, Refs: []Ref{{0, 0}, {0, 1}}}, nil},
		{"wfold count", good, []int32{0}},
		{"negative wfold", good, []int32{0, -1}},
	}
	for _, c := range bad {
		if _, err := NewCP[float64](c.w, c.wfold); err == nil {
			t.Errorf("%s: NewCP accepted it", c.name)
		}
	}
	if _, err := NewCP[float64](good, nil); err != nil {
		t.Errorf("good wiring rejected: %v", err)
	}
}

// float32 agrees with float64 at a realistic size, including a fold whose
// weights are all 1e-25: its product of projections (~1e-48) underflows
// float32 unless formed in float64 — no row may become −Inf.
func TestCPFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 0))
	const F, B, K = 64, 32, 32
	w := randWiring(rng, F, 2, B, K, K, 2)
	lv := srcLogs(rng, w, 5)
	wt := randWeights(rng, F*2*K*K)
	for i := range 2 * K * K { // fold 0: every weight tiny
		wt[i] = 1e-25
	}
	for i := 2 * K * K; i < len(wt); i++ {
		if rng.IntN(8) == 0 {
			wt[i] = 1e-25
		}
	}
	scale := make([]float64, F*K)
	for i := range scale {
		scale[i] = 0.9 + 0.2*rng.Float64()
	}
	coef := make([]float64, F*B*K)
	for i := range coef {
		coef[i] = rng.NormFloat64()
	}
	run := func(f64 bool) (out, dW, dS []float64, dX [][]float64) {
		if f64 {
			return runCP[float64](w, lv, wt, scale, coef)
		}
		return runCP[float32](w, lv, wt, scale, coef)
	}
	o64, w64, s64, x64 := run(true)
	o32, w32, s32, x32 := run(false)
	l32 := logOf(o32, K)
	for i, v := range l32 {
		if math.IsInf(v, -1) {
			t.Fatalf("float32 log-value %d is -Inf", i)
		}
	}
	assertClose(t, "float32 log-values", l32, logOf(o64, K), 1e-4)
	if e := relErrMax(w32, w64); e > 1e-4 {
		t.Errorf("float32 dW: relative error %g", e)
	}
	if e := relErrMax(s32, s64); e > 1e-4 {
		t.Errorf("float32 dScale: relative error %g", e)
	}
	for s := range x64 {
		if e := relErrMax(x32[s], x64[s]); e > 1e-4 {
			t.Errorf("float32 dSrc %d: relative error %g", s, e)
		}
	}
}

// runCP runs a forward and a backward (seeded with coef) in T and returns
// everything in float64.
func runCP[T Float](w Wiring, lv [][]float64, wt, scale, coef []float64) (out, dW, dScale []float64, dX [][]float64) {
	l, err := NewCP[T](w, nil)
	if err != nil {
		panic(err)
	}
	out, dP, dX := runLayer[T](w, lv, [][]float64{wt, scale}, coef,
		func(srcs, p [][]T, out []T) { l.Forward(srcs, p[0], p[1], out) },
		func(srcs, p [][]T, g []T, dSrcs, dp [][]T) { l.Backward(srcs, p[0], p[1], g, dSrcs, dp[0], dp[1]) })
	return out, dP[0], dP[1], dX
}

// Results are bit-identical for 1 and 4 workers, with shared source folds
// and shared (CP-XS) weights.
func TestCPWorkersDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 0))
	const F, B, K = 13, 5, 6
	w := randWiring(rng, F, 3, B, K, K, 2)
	lv := srcLogs(rng, w, 3)
	wt := randWeights(rng, 3*K*K)
	scale := randWeights(rng, F*K)
	coef := make([]float64, F*B*K)
	for i := range coef {
		coef[i] = rng.NormFloat64()
	}
	run := func() (out, dW, dS []float32, dX [][]float32) {
		l, err := NewCP[float32](w, make([]int32, F))
		if err != nil {
			t.Fatal(err)
		}
		srcs := make([][]float32, len(lv))
		for s := range lv {
			srcs[s] = scaled[float32](lv[s], K)
			dX = append(dX, make([]float32, len(srcs[s])))
		}
		out = make([]float32, F*B*(K+1))
		wT, sT := conv[float32](wt), conv[float32](scale)
		l.Forward(srcs, wT, sT, out)
		g := make([]float32, len(out))
		SeedGrad(conv[float32](coef), F, B, K, g)
		dW, dS = make([]float32, len(wt)), make([]float32, len(scale))
		l.Backward(srcs, wT, sT, g, dX, dW, dS)
		return
	}
	var o1, w1, s1, o4, w4, s4 []float32
	var x1, x4 [][]float32
	withWorkers(1, func() { o1, w1, s1, x1 = run() })
	withWorkers(4, func() { o4, w4, s4, x4 = run() })
	bitsEqual(t, "out", o1, o4)
	bitsEqual(t, "dW", w1, w4)
	bitsEqual(t, "dScale", s1, s4)
	for s := range x1 {
		bitsEqual(t, "dSrc", x1[s], x4[s])
	}
}

// With one worker, steady-state Forward and Backward allocate nothing
// (plain CP and CP-XS, whose weight gradient goes through scratch).
func TestCPNoAllocs(t *testing.T) {
	for _, shared := range []bool{false, true} {
		b := newCPBench[float32](8, 16, 8, shared)
		checkNoAllocs(t, b.forward, b.backward)
	}
}

// A NaN weight must show up as NaN in the output, not as a silent zero row.
func TestCPNaNPropagates(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 0))
	w := treeWiring(1, 2, 2, 3)
	src := scaled[float64](randLogs(rng, 2, 2, 3, 1), 3)
	wt := randWeights(rng, 2*3*3)
	for i := range 3 * 3 { // W_0 all NaN: every H is NaN
		wt[i] = math.NaN()
	}
	l, _ := NewCP[float64](w, nil)
	out := make([]float64, 2*4)
	l.Forward([][]float64{src}, wt, nil, out)
	for b := range 2 {
		if s := out[b*4+3]; !math.IsNaN(s) {
			t.Errorf("sample %d: S = %v, want NaN", b, s)
		}
	}
}
