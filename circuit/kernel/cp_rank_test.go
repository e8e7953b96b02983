package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// cprRef is the naive log-space rank-R CP: log out[f,b,k] =
// logsumexp_r (log O[f,k,r] + Σ_a logsumexp_j (log U[f,a,r,j] + x_a[b,j])).
func cprRef(w Wiring, R int, lv [][]float64, u, o []float64) []float64 {
	out := make([]float64, w.F*w.B*w.Kout)
	terms := make([]float64, w.Kin)
	hr := make([]float64, R)
	mix := make([]float64, R)
	for f := range w.F {
		for b := range w.B {
			for r := range R {
				hr[r] = 0
				for a := range w.A {
					x := inLog(w, lv, f, a, b)
					for j := range w.Kin {
						terms[j] = math.Log(u[(((f*w.A+a)*R)+r)*w.Kin+j]) + x[j]
					}
					hr[r] += logSumExp(terms)
				}
			}
			for k := range w.Kout {
				for r := range R {
					mix[r] = math.Log(o[(f*w.Kout+k)*R+r]) + hr[r]
				}
				out[(f*w.B+b)*w.Kout+k] = logSumExp(mix)
			}
		}
	}
	return out
}

type cprTest struct {
	name                        string
	F, A, B, Kin, Kout, R, nsrc int
	spread                      float64
	tiny                        bool
}

var cprTests = []cprTest{
	{name: "binary", F: 4, A: 2, B: 3, Kin: 3, Kout: 4, R: 5, nsrc: 2, spread: 2},
	{name: "ternary", F: 3, A: 3, B: 2, Kin: 4, Kout: 3, R: 2, nsrc: 2, spread: 2},
	{name: "scales500", F: 3, A: 2, B: 4, Kin: 3, Kout: 3, R: 3, nsrc: 2, spread: 250},
	{name: "clamp", F: 3, A: 2, B: 3, Kin: 3, Kout: 3, R: 4, nsrc: 1, spread: 2, tiny: true},
}

func (tc cprTest) setup(rng *rand.Rand) (Wiring, [][]float64, []float64, []float64) {
	w := randWiring(rng, tc.F, tc.A, tc.B, tc.Kin, tc.Kout, tc.nsrc)
	u := randWeights(rng, tc.F*tc.A*tc.R*tc.Kin)
	o := randWeights(rng, tc.F*tc.Kout*tc.R)
	if tc.tiny {
		atClampBound(rng, u, 0, tc.R*tc.Kin) // fold 0, input 0 all at the bound
		atClampBound(rng, o, 3, tc.R)        // fold 0, output 0 too
	}
	return w, srcLogs(rng, w, tc.spread), u, o
}

func TestCPRForwardMatchesReference(t *testing.T) {
	for i, tc := range cprTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(i)))
			w, lv, u, o := tc.setup(rng)
			l, err := NewCPR[float64](w, tc.R)
			if err != nil {
				t.Fatal(err)
			}
			out := forwardF64(w, lv, func(srcs [][]float64, out []float64) { l.Forward(srcs, u, o, out) })
			assertClose(t, "log-values", logOf(out, w.Kout), cprRef(w, tc.R, lv, u, o), 1e-12)
		})
	}
}

func TestCPRGradients(t *testing.T) {
	for i, tc := range cprTests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(12, uint64(i)))
			w, lv, u, o := tc.setup(rng)
			l, err := NewCPR[float64](w, tc.R)
			if err != nil {
				t.Fatal(err)
			}
			c := &gradCase{
				w: w, lv: lv, params: [][]float64{u, o},
				fwd: func(srcs, p [][]float64, out []float64) { l.Forward(srcs, p[0], p[1], out) },
				bwd: func(srcs, p [][]float64, g []float64, dSrcs, dp [][]float64) {
					l.Backward(srcs, p[0], p[1], g, dSrcs, dp[0], dp[1])
				},
				fresh: func(srcs, _ [][]bool) { l.SetFresh(srcs) },
			}
			checkGrads(t, rng, c, 1e-6)
			checkAccumulates(t, rng, c)
			checkFresh(t, rng, c)
		})
	}
}

func runCPR[T Float](w Wiring, R int, lv [][]float64, u, o, coef []float64) (out, dU, dO []float64, dX [][]float64) {
	l, err := NewCPR[T](w, R)
	if err != nil {
		panic(err)
	}
	out, dP, dX := runLayer[T](w, lv, [][]float64{u, o}, coef,
		func(srcs, p [][]T, out []T) { l.Forward(srcs, p[0], p[1], out) },
		func(srcs, p [][]T, g []T, dSrcs, dp [][]T) { l.Backward(srcs, p[0], p[1], g, dSrcs, dp[0], dp[1]) })
	return out, dP[0], dP[1], dX
}

func TestCPRFloat32AndWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0))
	const F, B, K, R = 64, 32, 32, 32
	w := randWiring(rng, F, 2, B, K, K, 2)
	lv := srcLogs(rng, w, 5)
	u := randWeights(rng, F*2*R*K)
	o := randWeights(rng, F*K*R)
	for i := range 2 * R * K { // fold 0: every projection weight tiny
		u[i] = 1e-25
	}
	for i := range u {
		if rng.IntN(8) == 0 {
			u[i] = 1e-25
		}
	}
	coef := make([]float64, F*B*K)
	for i := range coef {
		coef[i] = rng.NormFloat64()
	}
	o64, u64, oo64, x64 := runCPR[float64](w, R, lv, u, o, coef)
	var o32, u32, oo32 []float64
	var x32 [][]float64
	withWorkers(1, func() { o32, u32, oo32, x32 = runCPR[float32](w, R, lv, u, o, coef) })
	l32 := logOf(o32, K)
	for i, v := range l32 {
		if math.IsInf(v, -1) {
			t.Fatalf("float32 log-value %d is -Inf", i)
		}
	}
	assertClose(t, "float32 log-values", l32, logOf(o64, K), 1e-4)
	for name, p := range map[string][2][]float64{"dU": {u32, u64}, "dO": {oo32, oo64}, "dSrc0": {x32[0], x64[0]}, "dSrc1": {x32[1], x64[1]}} {
		if e := relErrMax(p[0], p[1]); e > 1e-4 {
			t.Errorf("float32 %s: relative error %g", name, e)
		}
	}
	var o4, u4, oo4 []float64
	var x4 [][]float64
	withWorkers(4, func() { o4, u4, oo4, x4 = runCPR[float32](w, R, lv, u, o, coef) })
	bitsEqual(t, "out", o32, o4)
	bitsEqual(t, "dU", u32, u4)
	bitsEqual(t, "dO", oo32, oo4)
	for s := range x4 {
		bitsEqual(t, "dSrc", x32[s], x4[s])
	}
}

func benchCPR(b *testing.B, backward bool) {
	const F, B, K = benchF, benchB, benchK
	const R = K
	rng := rand.New(rand.NewPCG(9, 12))
	l, err := NewCPR[float32](treeWiring(F, 2, B, K), R)
	if err != nil {
		b.Fatal(err)
	}
	srcs, dSrcs := benchSrcs(F, B, K)
	u, o := conv[float32](randWeights(rng, F*2*R*K)), conv[float32](randWeights(rng, F*K*R))
	out := make([]float32, F*B*(K+1))
	g := conv[float32](randLogs(rng, F, B, K+1, 0))
	du, do := make([]float32, len(u)), make([]float32, len(o))
	fwd := func() { l.Forward(srcs, u, o, out) }
	bwd := func() { l.Backward(srcs, u, o, g, dSrcs, du, do) }
	// GEMM flops: forward 2·B·Kin·R per input plus 2·B·R·Kout per fold.
	flops := float64(F * (2*2*B*K*R + 2*B*R*K))
	if !backward {
		benchLayer(b, fwd, nil, flops)
		return
	}
	benchLayer(b, fwd, bwd, 3*flops)
}

func BenchmarkCPRForward(b *testing.B)         { benchCPR(b, false) }
func BenchmarkCPRForwardBackward(b *testing.B) { benchCPR(b, true) }

func TestCPRNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 0))
	const F, B, K, R = 4, 8, 6, 5
	l, err := NewCPR[float32](randWiring(rng, F, 2, B, K, K, 1), R)
	if err != nil {
		t.Fatal(err)
	}
	srcs := [][]float32{scaled[float32](randLogs(rng, l.SrcFolds[0], B, K, 2), K)}
	dSrcs := [][]float32{make([]float32, len(srcs[0]))}
	u, o := conv[float32](randWeights(rng, F*2*R*K)), conv[float32](randWeights(rng, F*K*R))
	out, g := make([]float32, F*B*(K+1)), make([]float32, F*B*(K+1))
	du, do := make([]float32, len(u)), make([]float32, len(o))
	checkNoAllocs(t, func() { l.Forward(srcs, u, o, out) }, func() { l.Backward(srcs, u, o, g, dSrcs, du, do) })
}
