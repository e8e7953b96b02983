package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// mixingRef is the naive log-space mixing: log out[f,b,k] =
// logsumexp_h (log w[f,h,k] + x_h[b,k]).
func mixingRef(w Wiring, lv [][]float64, wt []float64) []float64 {
	K, H := w.Kin, w.A
	out := make([]float64, w.F*w.B*K)
	terms := make([]float64, H)
	for f := range w.F {
		for b := range w.B {
			for k := range K {
				for h := range H {
					terms[h] = math.Log(wt[(f*H+h)*K+k]) + inLog(w, lv, f, h, b)[k]
				}
				out[(f*w.B+b)*K+k] = logSumExp(terms)
			}
		}
	}
	return out
}

type mixingTest struct {
	name           string
	F, H, B, K, ns int
	spread         float64
	tiny           bool
}

var mixingTests = []mixingTest{
	{name: "two", F: 4, H: 2, B: 3, K: 4, ns: 2, spread: 2},
	{name: "three", F: 3, H: 3, B: 2, K: 3, ns: 3, spread: 2},
	{name: "one", F: 3, H: 1, B: 2, K: 3, ns: 1, spread: 2},
	{name: "scales500", F: 4, H: 2, B: 4, K: 3, ns: 2, spread: 250},
	{name: "clamp", F: 3, H: 2, B: 3, K: 3, ns: 2, spread: 2, tiny: true},
}

func (tc mixingTest) setup(rng *rand.Rand) (Wiring, [][]float64, []float64) {
	w := randWiring(rng, tc.F, tc.H, tc.B, tc.K, tc.K, tc.ns)
	wt := randWeights(rng, tc.F*tc.H*tc.K)
	if tc.tiny {
		atClampBound(rng, wt, 3, tc.H*tc.K) // fold 0 all at the bound
	}
	return w, srcLogs(rng, w, tc.spread), wt
}

func TestMixingForwardMatchesReference(t *testing.T) {
	for i, tc := range mixingTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(31, uint64(i)))
			w, lv, wt := tc.setup(rng)
			l, err := NewMixing[float64](w)
			if err != nil {
				t.Fatal(err)
			}
			out := forwardF64(w, lv, func(srcs [][]float64, out []float64) { l.Forward(srcs, wt, out) })
			assertClose(t, "log-values", logOf(out, w.Kout), mixingRef(w, lv, wt), 1e-12)
		})
	}
}

func mixingGradCase(w Wiring, lv [][]float64, wt []float64) *gradCase {
	l, err := NewMixing[float64](w)
	if err != nil {
		panic(err)
	}
	return &gradCase{
		w: w, lv: lv, params: [][]float64{wt},
		fwd: func(srcs, p [][]float64, out []float64) { l.Forward(srcs, p[0], out) },
		bwd: func(srcs, p [][]float64, g []float64, dSrcs, dp [][]float64) {
			l.Backward(srcs, p[0], g, dSrcs, dp[0])
		},
		fresh: func(srcs, _ [][]bool) { l.SetFresh(srcs) },
	}
}

func TestMixingGradients(t *testing.T) {
	for i, tc := range mixingTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(32, uint64(i)))
			w, lv, wt := tc.setup(rng)
			checkGrads(t, rng, mixingGradCase(w, lv, wt), 1e-6)
			checkAccumulates(t, rng, mixingGradCase(w, lv, wt))
			checkFresh(t, rng, mixingGradCase(w, lv, wt))
		})
	}
}

// One input row at S = −Inf drops out of the sum; when every input row is
// zero the output row is V = 0, S = −Inf and the gradients stay finite.
func TestMixingZeroRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 0))
	w := Wiring{F: 1, A: 2, B: 2, Kin: 3, Kout: 3, SrcFolds: []int{2}, Refs: []Ref{{0, 0}, {0, 1}}}
	lv := randLogs(rng, 2, 2, 3, 1)
	for k := range 3 {
		lv[(0*2+0)*3+k] = math.Inf(-1) // fold 0 sample 0: zero
		lv[(0*2+1)*3+k] = math.Inf(-1) // fold 0 sample 1: zero
		lv[(1*2+1)*3+k] = math.Inf(-1) // fold 1 sample 1: zero
	}
	src := scaled[float64](lv, 3)
	wt := randWeights(rng, 2*3)
	l, _ := NewMixing[float64](w)
	out := make([]float64, 2*4)
	l.Forward([][]float64{src}, wt, out)
	assertClose(t, "log-values", logOf(out, 3), mixingRef(w, [][]float64{lv}, wt), 1e-12)
	if !math.IsInf(out[7], -1) || out[4] != 0 {
		t.Fatalf("all-zero sample: row %v, want [0 0 0 -Inf]", out[4:])
	}
	g := []float64{1, 1, 1, 0, 1, 1, 1, 0}
	dSrc, dW := make([]float64, len(src)), make([]float64, len(wt))
	l.Backward([][]float64{src}, wt, g, [][]float64{dSrc}, dW)
	for i, v := range append(dSrc, dW...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("gradient entry %d is %v", i, v)
		}
	}
	// Sample 0 is input 1 alone: d out_k / d log x_1[k] = 1.
	for k := range 3 {
		if v := dSrc[(1*2+0)*4+k]; math.Abs(v-1) > 1e-15 {
			t.Errorf("dlog x_1[%d] = %v, want 1", k, v)
		}
	}
}

func runMixing[T Float](w Wiring, lv [][]float64, wt, coef []float64) (out, dW []float64, dX [][]float64) {
	l, err := NewMixing[T](w)
	if err != nil {
		panic(err)
	}
	return runOneWeight[T](l, w, lv, wt, coef)
}

func TestMixingFloat32AndWorkers(t *testing.T) {
	for _, H := range []int{2, 3} {
		t.Run(fmt.Sprintf("H=%d", H), func(t *testing.T) { testMixingFloat32(t, H) })
	}
}

func testMixingFloat32(t *testing.T, H int) {
	rng := rand.New(rand.NewPCG(34, uint64(H)))
	const F, B, K = 64, 32, 32
	w := randWiring(rng, F, H, B, K, K, 2)
	lv := srcLogs(rng, w, 50)
	wt := randWeights(rng, F*H*K)
	for i := range wt {
		if rng.IntN(8) == 0 {
			wt[i] = 1e-25
		}
	}
	coef := make([]float64, F*B*K)
	for i := range coef {
		coef[i] = rng.NormFloat64()
	}
	o64, w64, x64 := runMixing[float64](w, lv, wt, coef)
	var o32, w32 []float64
	var x32 [][]float64
	withWorkers(1, func() { o32, w32, x32 = runMixing[float32](w, lv, wt, coef) })
	assertClose(t, "float32 log-values", logOf(o32, K), logOf(o64, K), 1e-4)
	gradsClose(t, w32, w64, x32, x64, 1e-4)
	var o4, w4 []float64
	var x4 [][]float64
	withWorkers(4, func() { o4, w4, x4 = runMixing[float32](w, lv, wt, coef) })
	sameResults(t, o32, w32, x32, o4, w4, x4)
	// The fused two-input kernels give the multi-pass path's bits.
	noPairKernel = true
	defer func() { noPairKernel = false }()
	oM, wM, xM := runMixing[float32](w, lv, wt, coef)
	sameResults(t, o32, w32, x32, oM, wM, xM)
}

// Mixing benchmarks: F=64 folds of H=2 inputs.
func benchMixing(b *testing.B, backward bool) {
	const F, B, K = benchF, benchB, benchK
	rng := rand.New(rand.NewPCG(9, 14))
	l, err := NewMixing[float32](treeWiring(F, 2, B, K))
	if err != nil {
		b.Fatal(err)
	}
	srcs, dSrcs := benchSrcs(F, B, K)
	w := conv[float32](randWeights(rng, F*2*K))
	out := make([]float32, F*B*(K+1))
	g := conv[float32](randLogs(rng, F, B, K+1, 0))
	dw := make([]float32, len(w))
	fwd := func() { l.Forward(srcs, w, out) }
	if !backward {
		benchLayer(b, fwd, nil, 0)
		return
	}
	benchLayer(b, fwd, func() { l.Backward(srcs, w, g, dSrcs, dw) }, 0)
}

func BenchmarkMixingForward(b *testing.B)         { benchMixing(b, false) }
func BenchmarkMixingForwardBackward(b *testing.B) { benchMixing(b, true) }

func TestMixingNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 0))
	const F, B, K = 4, 8, 5
	l, err := NewMixing[float32](randWiring(rng, F, 2, B, K, K, 1))
	if err != nil {
		t.Fatal(err)
	}
	srcs := [][]float32{scaled[float32](randLogs(rng, l.SrcFolds[0], B, K, 2), K)}
	dSrcs := [][]float32{make([]float32, len(srcs[0]))}
	w := conv[float32](randWeights(rng, F*2*K))
	out, g, dw := make([]float32, F*B*(K+1)), make([]float32, F*B*(K+1)), make([]float32, len(w))
	checkNoAllocs(t, func() { l.Forward(srcs, w, out) }, func() { l.Backward(srcs, w, g, dSrcs, dw) })
}
