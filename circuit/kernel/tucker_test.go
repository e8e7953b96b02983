package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tuckerRef is the naive log-space Tucker: log out[f,b,k] =
// logsumexp_{i,j} (log W[f,k,i*K+j] + x1[b,i] + x2[b,j]).
func tuckerRef(w Wiring, lv [][]float64, wt []float64) []float64 {
	K, K2 := w.Kin, w.Kin*w.Kin
	out := make([]float64, w.F*w.B*w.Kout)
	terms := make([]float64, K2)
	for f := range w.F {
		for b := range w.B {
			x1, x2 := inLog(w, lv, f, 0, b), inLog(w, lv, f, 1, b)
			for k := range w.Kout {
				for i := range K {
					for j := range K {
						terms[i*K+j] = math.Log(wt[(f*w.Kout+k)*K2+i*K+j]) + x1[i] + x2[j]
					}
				}
				out[(f*w.B+b)*w.Kout+k] = logSumExp(terms)
			}
		}
	}
	return out
}

type tuckerTest struct {
	name                  string
	F, B, Kin, Kout, nsrc int
	spread                float64
	tiny                  bool
	self                  bool // fold 0 reads one source fold twice
}

var tuckerTests = []tuckerTest{
	{name: "small", F: 4, B: 3, Kin: 3, Kout: 4, nsrc: 2, spread: 2},
	{name: "self", F: 3, B: 2, Kin: 3, Kout: 2, nsrc: 1, spread: 2, self: true},
	{name: "scales500", F: 3, B: 4, Kin: 3, Kout: 3, nsrc: 2, spread: 250},
	{name: "clamp", F: 3, B: 3, Kin: 3, Kout: 3, nsrc: 2, spread: 2, tiny: true},
}

func (tc tuckerTest) setup(rng *rand.Rand) (Wiring, [][]float64, []float64) {
	w := randWiring(rng, tc.F, 2, tc.B, tc.Kin, tc.Kout, tc.nsrc)
	if tc.self {
		w.Refs[1] = w.Refs[0]
	}
	wt := randWeights(rng, tc.F*tc.Kout*tc.Kin*tc.Kin)
	if tc.tiny {
		atClampBound(rng, wt, 4, tc.Kout*tc.Kin*tc.Kin) // fold 0 all at the bound
	}
	return w, srcLogs(rng, w, tc.spread), wt
}

func TestTuckerForwardMatchesReference(t *testing.T) {
	for i, tc := range tuckerTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, uint64(i)))
			w, lv, wt := tc.setup(rng)
			l, err := NewTucker[float64](w)
			if err != nil {
				t.Fatal(err)
			}
			out := forwardF64(w, lv, func(srcs [][]float64, out []float64) { l.Forward(srcs, wt, out) })
			assertClose(t, "log-values", logOf(out, w.Kout), tuckerRef(w, lv, wt), 1e-12)
		})
	}
}

func TestTuckerGradients(t *testing.T) {
	for i, tc := range tuckerTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(22, uint64(i)))
			w, lv, wt := tc.setup(rng)
			l, err := NewTucker[float64](w)
			if err != nil {
				t.Fatal(err)
			}
			c := &gradCase{
				w: w, lv: lv, params: [][]float64{wt},
				fwd: func(srcs, p [][]float64, out []float64) { l.Forward(srcs, p[0], out) },
				bwd: func(srcs, p [][]float64, g []float64, dSrcs, dp [][]float64) {
					l.Backward(srcs, p[0], g, dSrcs, dp[0])
				},
				fresh: func(srcs, _ [][]bool) { l.SetFresh(srcs) },
			}
			checkGrads(t, rng, c, 1e-6)
			checkAccumulates(t, rng, c)
			checkFresh(t, rng, c)
		})
	}
}

func TestNewTuckerRejectsArity(t *testing.T) {
	if _, err := NewTucker[float64](treeWiring(2, 3, 1, 2)); err == nil {
		t.Error("NewTucker accepted arity 3")
	}
}

func runTucker[T Float](w Wiring, lv [][]float64, wt, coef []float64) (out, dW []float64, dX [][]float64) {
	l, err := NewTucker[T](w)
	if err != nil {
		panic(err)
	}
	return runOneWeight[T](l, w, lv, wt, coef)
}

func TestTuckerFloat32AndWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 0))
	F, B, K := 64, 32, 32
	if testing.Short() {
		F = 16
	}
	w := randWiring(rng, F, 2, B, K, K, 2)
	lv := srcLogs(rng, w, 5)
	wt := randWeights(rng, F*K*K*K)
	for i := range K * K * K { // fold 0: every weight tiny
		wt[i] = 1e-25
	}
	for i := range wt {
		if rng.IntN(8) == 0 {
			wt[i] = 1e-25
		}
	}
	coef := make([]float64, F*B*K)
	for i := range coef {
		coef[i] = rng.NormFloat64()
	}
	o64, w64, x64 := runTucker[float64](w, lv, wt, coef)
	var o32, w32 []float64
	var x32 [][]float64
	withWorkers(1, func() { o32, w32, x32 = runTucker[float32](w, lv, wt, coef) })
	l32 := logOf(o32, K)
	for i, v := range l32 {
		if math.IsInf(v, -1) {
			t.Fatalf("float32 log-value %d is -Inf", i)
		}
	}
	assertClose(t, "float32 log-values", l32, logOf(o64, K), 1e-4)
	gradsClose(t, w32, w64, x32, x64, 1e-4)
	var o4, w4 []float64
	var x4 [][]float64
	withWorkers(4, func() { o4, w4, x4 = runTucker[float32](w, lv, wt, coef) })
	sameResults(t, o32, w32, x32, o4, w4, x4)
}

func benchTucker(b *testing.B, backward bool) {
	const F, B, K = benchF, benchB, benchK
	rng := rand.New(rand.NewPCG(9, 13))
	l, err := NewTucker[float32](treeWiring(F, 2, B, K))
	if err != nil {
		b.Fatal(err)
	}
	srcs, dSrcs := benchSrcs(F, B, K)
	w := conv[float32](randWeights(rng, F*K*K*K))
	out := make([]float32, F*B*(K+1))
	g := conv[float32](randLogs(rng, F, B, K+1, 0))
	dw := make([]float32, len(w))
	fwd := func() { l.Forward(srcs, w, out) }
	bwd := func() { l.Backward(srcs, w, g, dSrcs, dw) }
	flops := float64(F * 2 * B * K * K * K) // GEMM flops, forward
	if !backward {
		benchLayer(b, fwd, nil, flops)
		return
	}
	benchLayer(b, fwd, bwd, 3*flops)
}

func BenchmarkTuckerForward(b *testing.B)         { benchTucker(b, false) }
func BenchmarkTuckerForwardBackward(b *testing.B) { benchTucker(b, true) }

func TestTuckerNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 0))
	const F, B, K = 4, 8, 5
	l, err := NewTucker[float32](randWiring(rng, F, 2, B, K, K, 1))
	if err != nil {
		t.Fatal(err)
	}
	srcs := [][]float32{scaled[float32](randLogs(rng, l.SrcFolds[0], B, K, 2), K)}
	dSrcs := [][]float32{make([]float32, len(srcs[0]))}
	w := conv[float32](randWeights(rng, F*K*K*K))
	out, g, dw := make([]float32, F*B*(K+1)), make([]float32, F*B*(K+1)), make([]float32, len(w))
	checkNoAllocs(t, func() { l.Forward(srcs, w, out) }, func() { l.Backward(srcs, w, g, dSrcs, dw) })
}
