package kernel

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tenpc/tenpc/internal/stattest"
)

// binLogProb is log p(x) of Binomial(N, σ(q)) computed directly.
func binLogProb(N int, q float64, x int) float64 {
	lg1, _ := math.Lgamma(float64(N + 1))
	lg2, _ := math.Lgamma(float64(x + 1))
	lg3, _ := math.Lgamma(float64(N - x + 1))
	// log σ(q) = −log(1 + e^{−q}), log σ(−q) = −log(1 + e^{q}).
	return lg1 - lg2 - lg3 - float64(x)*math.Log1p(math.Exp(-q)) - float64(N-x)*math.Log1p(math.Exp(q))
}

// binParams draws logits N(0, 4), with a few saturated ones (±40).
func binParams(rng *rand.Rand, V, K int) []float64 {
	q := make([]float64, V*K)
	for i := range q {
		q[i] = 2 * rng.NormFloat64()
		if rng.IntN(9) == 0 {
			q[i] = 40 * float64(1-2*rng.IntN(2))
		}
	}
	return q
}

func TestBinomialForwardMatchesLogSpace(t *testing.T) {
	const B, K = 7, 3
	for _, N := range []int{1, 5, 255} {
		for _, lc := range inputLeafCases() {
			for _, masked := range []bool{false, true} {
				rng := rand.New(rand.NewPCG(11, uint64(N)))
				l, err := NewBinomial[float64](lc.off, lc.vrs, lc.V, K, N)
				if err != nil {
					t.Fatal(err)
				}
				q := binParams(rng, lc.V, K)
				x := inputRandData(rng, B, lc.V, N+1)
				var miss []bool
				if masked {
					miss = inputMask(rng, B, lc.V, 0.3, 4)
				}
				out := make([]float64, l.F*B*(K+1))
				l.Table(q)
				l.Forward(x, miss, out)
				inputCheckRows(t, out, K)
				lv := inputLogValues(out, K)
				for f := range l.F {
					for b := range B {
						want := make([]float64, K)
						lost := make([]bool, K)
						for _, v := range l.vars(f) {
							if miss != nil && miss[b*lc.V+int(v)] {
								continue
							}
							lp := make([]float64, K)
							top := math.Inf(-1)
							for k := range K {
								lp[k] = binLogProb(N, q[int(v)*K+k], int(x[b*lc.V+int(v)]))
								want[k] += lp[k]
								top = max(top, lp[k])
							}
							// A unit more than 745 nats below the best unit on one
							// variable underflows the float64 table (its limit).
							for k := range K {
								lost[k] = lost[k] || lp[k] < top-745
							}
						}
						for k, want := range want {
							got := lv[(f*B+b)*K+k]
							if lost[k] && math.IsInf(got, -1) {
								continue
							}
							if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
								t.Fatalf("N=%d %s masked=%v leaf %d sample %d unit %d: %.15g, want %.15g",
									N, lc.name, masked, f, b, k, got, want)
							}
							if masked && b == 4 && got != 0 {
								t.Fatalf("all-missing sample: log-value %v, want 0", got)
							}
						}
					}
				}
			}
		}
	}
}

func TestBinomialNormalization(t *testing.T) {
	const K = 5
	off, vrs := SingleVariableLeaves(1)
	for _, N := range []int{1, 4, 100} {
		l, err := NewBinomial[float64](off, vrs, 1, K, N)
		if err != nil {
			t.Fatal(err)
		}
		q := []float64{-3, -0.5, 0, 0.7, 4}
		x := make([]uint8, N+1) // B = N+1 samples, x = 0..N
		for c := range x {
			x[c] = uint8(c)
		}
		out := make([]float64, (N+1)*(K+1))
		l.Table(q)
		l.Forward(x, nil, out)
		lv := inputLogValues(out, K)
		for k := range K {
			sum, mean := 0.0, 0.0
			for c := range N + 1 {
				sum += math.Exp(lv[c*K+k])
				mean += float64(c) * math.Exp(lv[c*K+k])
			}
			if math.Abs(sum-1) > 1e-13 {
				t.Errorf("N=%d unit %d: Σ_x p(x) = %.16g, want 1", N, k, sum)
			}
			// The mean pins the parameterization: N·σ(q).
			if want := float64(N) / (1 + math.Exp(-q[k])); math.Abs(mean-want) > 1e-12*float64(N) {
				t.Errorf("N=%d unit %d: mean %v, want N·σ(q) = %v", N, k, mean, want)
			}
		}
	}
}

func TestBinomialGradient(t *testing.T) {
	const B, K = 6, 3
	for _, N := range []int{1, 7} {
		for _, lc := range inputLeafCases() {
			rng := rand.New(rand.NewPCG(12, uint64(N)))
			l, err := NewBinomial[float64](lc.off, lc.vrs, lc.V, K, N)
			if err != nil {
				t.Fatal(err)
			}
			q := make([]float64, lc.V*K)
			for i := range q {
				q[i] = 2 * rng.NormFloat64()
			}
			x := inputRandData(rng, B, lc.V, N+1)
			miss := inputMask(rng, B, lc.V, 0.25, 0)
			g := inputRandGrad(rng, l.F, B, K)
			out := make([]float64, l.F*B*(K+1))
			loss := func() float64 {
				l.Table(q)
				l.Forward(x, miss, out)
				return inputLoss(out, g, K)
			}
			loss()
			d := make([]float64, len(q))
			l.Backward(x, miss, g, d)
			inputCheckFD(t, "dq", q, d, loss)
		}
	}
}

func TestBinomialWorkersBitIdentical(t *testing.T) {
	lc := inputLeafCases()[1]
	const B, K, N = 11, 4, 9
	rng := rand.New(rand.NewPCG(13, 0))
	q64 := binParams(rng, lc.V, K)
	q := make([]float32, len(q64))
	for i := range q {
		q[i] = float32(q64[i])
	}
	x := inputRandData(rng, B, lc.V, N+1)
	miss := inputMask(rng, B, lc.V, 0.2, 1)
	F := len(lc.off) - 1
	g := make([]float32, F*B*(K+1))
	for i := range g {
		g[i] = float32(rng.NormFloat64())
	}
	run := func(w int) (out, d []float32) {
		inputWithWorkers(w, func() {
			l, err := NewBinomial[float32](lc.off, lc.vrs, lc.V, K, N)
			if err != nil {
				t.Fatal(err)
			}
			out = make([]float32, F*B*(K+1))
			d = make([]float32, len(q))
			l.Table(q)
			l.Forward(x, miss, out)
			l.Backward(x, miss, g, d)
		})
		return out, d
	}
	out1, d1 := run(1)
	out4, d4 := run(4)
	inputSameBits(t, "out", out1, out4)
	inputSameBits(t, "dq", d1, d4)
}

func TestBinomialSampleChiSquare(t *testing.T) {
	const V, K, N, n = 3, 2, 6, 20000
	off, vrs := SingleVariableLeaves(V)
	l, err := NewBinomial[float64](off, vrs, V, K, N)
	if err != nil {
		t.Fatal(err)
	}
	q := []float64{0, 0, 1.2, -0.4, 3, 0.3}
	l.Table(q)
	const v, k = 1, 0 // σ(1.2) ≈ 0.77
	p := make([]float64, N+1)
	for c := range p {
		p[c] = math.Exp(binLogProb(N, q[v*K+k], c))
	}
	draw := func(seed uint64) []uint8 {
		r := rand.New(rand.NewPCG(seed, 2))
		xs := make([]uint8, n)
		for i := range xs {
			xs[i] = l.Sample(r, v, k)
		}
		return xs
	}
	xs := draw(21)
	counts := make([]int, N+1)
	for _, c := range xs {
		counts[c]++
	}
	stat, df := chiSquare(counts, p)
	if pv := stattest.ChiSquareSF(stat, float64(df)); pv <= 0.001 {
		t.Errorf("χ² = %.2f (df %d), p-value %.3g; counts %v", stat, df, pv, counts)
	}
	// Power: the counts reject the binomial of the neighbouring unit (σ(−0.4)).
	wrong := make([]float64, N+1)
	for c := range wrong {
		wrong[c] = math.Exp(binLogProb(N, q[v*K+1], c))
	}
	if stat, df := chiSquare(counts, wrong); stattest.ChiSquareSF(stat, float64(df)) > 0.001 {
		t.Errorf("counts %v not distinguished from Binomial(%d, σ(%v))", counts, N, q[v*K+1])
	}
	again := draw(21)
	for i := range xs {
		if xs[i] != again[i] {
			t.Fatalf("same seed, sample %d differs", i)
		}
	}
	// Modes: ⌊(N+1)σ(q)⌋ (no ties for these q).
	for i, want := range []uint8{3, 3, 5, 2, 6, 4} {
		if got := l.Mode(i/K, i%K); got != want {
			t.Errorf("Mode(%d, %d) = %d, want %d", i/K, i%K, got, want)
		}
	}
}

func TestBinomialBernoulliValidation(t *testing.T) {
	off, vrs := SingleVariableLeaves(2)
	l, err := NewBernoulli[float32](off, vrs, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if l.N != 1 || l.C != 2 {
		t.Fatalf("Bernoulli: N = %d, C = %d", l.N, l.C)
	}
	if err := ValidateCategories([]uint8{0, 1, 1, 2}, 2, l.N+1); err == nil {
		t.Fatal("value 2 accepted for a Bernoulli")
	}
	if _, err := NewBinomial[float32](off, vrs, 2, 3, 256); err == nil {
		t.Fatal("N = 256 accepted with uint8 data")
	}
}

func BenchmarkBinomialTable(b *testing.B) {
	const V, K, N = 784, 32, 255
	off, vrs := SingleVariableLeaves(V)
	l, err := NewBinomial[float32](off, vrs, V, K, N)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	q := make([]float32, V*K)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	l.Table(q)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.Table(q)
	}
}
