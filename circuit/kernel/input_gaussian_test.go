package kernel

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// gaussLogPDF is log N(x; μ, e^{2ρ}) computed directly.
func gaussLogPDF(x, mu, rho float64) float64 {
	s := math.Exp(rho)
	return -0.5*math.Log(2*math.Pi*s*s) - (x-mu)*(x-mu)/(2*s*s)
}

func gaussParams(rng *rand.Rand, V, K int) (mu, rho []float64) {
	mu, rho = make([]float64, V*K), make([]float64, V*K)
	for i := range mu {
		mu[i] = rng.NormFloat64()
		rho[i] = 0.5 * rng.NormFloat64()
	}
	return mu, rho
}

func gaussData(rng *rand.Rand, B, V int) []float64 {
	x := make([]float64, B*V)
	for i := range x {
		x[i] = 1.5 * rng.NormFloat64()
	}
	return x
}

func TestGaussianForwardMatchesLogSpace(t *testing.T) {
	const B, K = 6, 3
	for _, lc := range inputLeafCases() {
		for _, masked := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(31, 0))
			l, err := NewGaussian[float64](lc.off, lc.vrs, lc.V, K)
			if err != nil {
				t.Fatal(err)
			}
			mu, rho := gaussParams(rng, lc.V, K)
			x := gaussData(rng, B, lc.V)
			var miss []bool
			if masked {
				miss = inputMask(rng, B, lc.V, 0.3, 5)
			}
			out := make([]float64, l.F*B*(K+1))
			l.Prepare(mu, rho)
			l.Forward(x, miss, out)
			inputCheckRows(t, out, K)
			lv := inputLogValues(out, K)
			for f := range l.F {
				for b := range B {
					for k := range K {
						want := 0.0
						for _, v := range l.vars(f) {
							if i := b*lc.V + int(v); miss == nil || !miss[i] {
								want += gaussLogPDF(x[i], mu[int(v)*K+k], rho[int(v)*K+k])
							}
						}
						got := lv[(f*B+b)*K+k]
						if math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
							t.Fatalf("%s masked=%v leaf %d sample %d unit %d: %.15g, want %.15g",
								lc.name, masked, f, b, k, got, want)
						}
						if masked && b == 5 && got != 0 {
							t.Fatalf("all-missing sample: log-value %v, want 0", got)
						}
						if v := int(l.vars(f)[0]); f == 0 && b == 0 {
							if d := l.LogDensity(v, k, x[v]); math.Abs(d-gaussLogPDF(x[v], mu[v*K+k], rho[v*K+k])) > 1e-12 {
								t.Fatalf("LogDensity(%d, %d) = %v", v, k, d)
							}
						}
					}
				}
			}
		}
	}
}

func TestGaussianNormalization(t *testing.T) {
	// Trapezoid rule on [−40, 40] with step 1e-3, every unit of one variable.
	const K, lo, hi, n = 4, -40.0, 40.0, 80001
	off, vrs := SingleVariableLeaves(1)
	l, err := NewGaussian[float64](off, vrs, 1, K)
	if err != nil {
		t.Fatal(err)
	}
	mu := []float64{-2, 0, 1.5, 3}
	rho := []float64{-1, 0, 0.5, 1}
	l.Prepare(mu, rho)
	h := (hi - lo) / (n - 1)
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + float64(i)*h
	}
	out := make([]float64, n*(K+1))
	l.Forward(x, nil, out)
	lv := inputLogValues(out, K)
	for k := range K {
		sum, mean := 0.0, 0.0
		for i := range n {
			w := h
			if i == 0 || i == n-1 {
				w = h / 2
			}
			sum += w * math.Exp(lv[i*K+k])
			mean += w * x[i] * math.Exp(lv[i*K+k])
		}
		if math.Abs(sum-1) > 1e-6 || math.Abs(mean-mu[k]) > 1e-6 {
			t.Errorf("unit %d: ∫p = %.10f, ∫x·p = %.10f; want 1 and %v", k, sum, mean, mu[k])
		}
	}
}

func TestGaussianGradient(t *testing.T) {
	const B, K = 5, 3
	for _, lc := range inputLeafCases() {
		rng := rand.New(rand.NewPCG(32, 0))
		l, err := NewGaussian[float64](lc.off, lc.vrs, lc.V, K)
		if err != nil {
			t.Fatal(err)
		}
		mu, rho := gaussParams(rng, lc.V, K)
		x := gaussData(rng, B, lc.V)
		miss := inputMask(rng, B, lc.V, 0.25, 2)
		g := inputRandGrad(rng, l.F, B, K)
		out := make([]float64, l.F*B*(K+1))
		loss := func() float64 {
			l.Prepare(mu, rho)
			l.Forward(x, miss, out)
			return inputLoss(out, g, K)
		}
		loss()
		dMu, dRho := make([]float64, len(mu)), make([]float64, len(rho))
		l.Backward(x, miss, g, dMu, dRho)
		inputCheckFD(t, lc.name+" dμ", mu, dMu, loss)
		inputCheckFD(t, lc.name+" dρ", rho, dRho, loss)
	}
}

func TestGaussianWorkersBitIdentical(t *testing.T) {
	lc := inputLeafCases()[1]
	const B, K = 13, 6
	rng := rand.New(rand.NewPCG(33, 0))
	mu64, rho64 := gaussParams(rng, lc.V, K)
	x64 := gaussData(rng, B, lc.V)
	f32 := func(a []float64) []float32 {
		r := make([]float32, len(a))
		for i, v := range a {
			r[i] = float32(v)
		}
		return r
	}
	mu, rho, x := f32(mu64), f32(rho64), f32(x64)
	miss := inputMask(rng, B, lc.V, 0.2, 0)
	F := len(lc.off) - 1
	g := f32(inputRandGrad(rng, F, B, K))
	run := func(w int) (out, dMu, dRho []float32) {
		inputWithWorkers(w, func() {
			l, err := NewGaussian[float32](lc.off, lc.vrs, lc.V, K)
			if err != nil {
				t.Fatal(err)
			}
			out = make([]float32, F*B*(K+1))
			dMu, dRho = make([]float32, len(mu)), make([]float32, len(mu))
			l.Prepare(mu, rho)
			l.Forward(x, miss, out)
			l.Backward(x, miss, g, dMu, dRho)
		})
		return out, dMu, dRho
	}
	o1, m1, r1 := run(1)
	o4, m4, r4 := run(4)
	inputSameBits(t, "out", o1, o4)
	inputSameBits(t, "dμ", m1, m4)
	inputSameBits(t, "dρ", r1, r4)
}

func TestGaussianValidateData(t *testing.T) {
	x := []float32{0, 1, 2, -3, 4, 5, float32(math.NaN()), 7, 8} // B = 3, V = 3
	if err := ValidateGaussianData(x[:6], 3); err != nil {
		t.Fatal(err)
	}
	err := ValidateGaussianData(x, 3)
	var de *InputDataError
	if !errors.As(err, &de) || de.Sample != 2 || de.Variable != 0 || !math.IsNaN(de.Value) {
		t.Fatalf("got %v, want sample 2, variable 0, NaN", err)
	}
	for _, s := range []string{"sample 2", "variable 0", "NaN", "not finite"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err, s)
		}
	}
	err = ValidateGaussianData([]float64{0, 1, math.Inf(-1), 3}, 2)
	if !errors.As(err, &de) || de.Sample != 1 || de.Variable != 0 || !strings.Contains(err.Error(), "-Inf") {
		t.Fatalf("got %v, want sample 1, variable 0, -Inf", err)
	}
}

func TestGaussianSample(t *testing.T) {
	const n = 20000
	off, vrs := SingleVariableLeaves(2)
	l, err := NewGaussian[float64](off, vrs, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	mu, rho := []float64{0, 0, 2.5, -1}, []float64{0, 0, math.Log(0.5), 0.3}
	l.Prepare(mu, rho)
	draw := func(seed uint64) []float64 {
		r := rand.New(rand.NewPCG(seed, 3))
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = l.Sample(r, 1, 0)
		}
		return xs
	}
	xs := draw(41)
	m, s2 := 0.0, 0.0
	for _, x := range xs {
		m += x
	}
	m /= n
	for _, x := range xs {
		s2 += (x - m) * (x - m)
	}
	s2 /= n - 1
	// Standard errors: σ/√n = 0.0035 for the mean, σ²·√(2/n) = 0.0025 for the
	// variance; allow 5 of them.
	if math.Abs(m-2.5) > 5*0.5/math.Sqrt(n) || math.Abs(s2-0.25) > 5*0.25*math.Sqrt(2.0/n) {
		t.Errorf("mean %v, variance %v; want 2.5, 0.25", m, s2)
	}
	again := draw(41)
	for i := range xs {
		if xs[i] != again[i] {
			t.Fatalf("same seed, sample %d differs", i)
		}
	}
	if got := l.Mode(1, 1); got != -1 {
		t.Errorf("Mode(1, 1) = %v, want μ = -1", got)
	}
	row := []float64{7, 7}
	l.ModeLeaf(1, 0, row)
	if row[0] != 7 || row[1] != 2.5 {
		t.Errorf("ModeLeaf(1, 0) wrote %v, want [7 2.5]", row)
	}
}

func benchmarkGaussian(b *testing.B, backward bool) {
	const V, B, K = 784, 256, 32
	off, vrs := SingleVariableLeaves(V)
	l, err := NewGaussian[float32](off, vrs, V, K)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	mu, rho := make([]float32, V*K), make([]float32, V*K)
	for i := range mu {
		mu[i], rho[i] = float32(rng.NormFloat64()), float32(0.3*rng.NormFloat64())
	}
	x := make([]float32, B*V)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	out := make([]float32, V*B*(K+1))
	g := make([]float32, len(out))
	for i := range g {
		g[i] = float32(rng.NormFloat64())
	}
	dMu, dRho := make([]float32, V*K), make([]float32, V*K)
	l.Prepare(mu, rho)
	l.Forward(x, nil, out)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l.Forward(x, nil, out)
		if backward {
			l.Backward(x, nil, g, dMu, dRho)
		}
	}
}

func BenchmarkGaussianForward(b *testing.B)         { benchmarkGaussian(b, false) }
func BenchmarkGaussianForwardBackward(b *testing.B) { benchmarkGaussian(b, true) }
