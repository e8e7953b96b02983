package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// eachLevel runs fn once per instruction-set level the CPU has (once, "go",
// in builds without the C kernels).
func eachLevel(t *testing.T, fn func(t *testing.T)) {
	if ok, _ := Native(); !ok {
		t.Run("go", fn)
		return
	}
	for l := detected(); l >= 0; l-- {
		old := setLevel(l)
		t.Run(levelName(l), fn)
		setLevel(old)
	}
}

// randRows fills n floats in [lo, hi) with a sprinkling of zeros.
func randRows(rng *rand.Rand, n int, lo, hi float64, zeros float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		if rng.Float64() < zeros {
			continue
		}
		s[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return s
}

// sameBits reports whether a and b are equal bit for bit, NaNs of any
// payload counting as equal.
func sameBits(a, b float32) bool {
	if a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

func checkSame(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if !sameBits(got[i], want[i]) {
			t.Fatalf("%s[%d] = %v (%#x), reference %v (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestProdNorm(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, K := range []int{1, 3, 8, 17, 32, 64} {
			B, ld := 9, 5
			z0 := randRows(rng, B*K, 0, 3, 0.1)
			z1 := randRows(rng, B*K, 0, 3, 0.1)
			s := randRows(rng, B*ld, -50, 0, 0)
			// Row 0: all zero; row 1: a NaN; row 2: tiny values (the
			// product underflows float32 but not float64); row 3: an
			// input log-scale of −Inf with finite values.
			clear(z0[:K])
			z1[K+K/2] = float32(math.NaN())
			for k := range K {
				z0[2*K+k], z1[2*K+k] = 1e-30*float32(k+1), 1e-25
			}
			s[3*ld] = float32(math.Inf(-1))
			got, want := make([]float32, B*(K+1)), make([]float32, B*(K+1))
			ProdNorm(z0, z1, s, s[2:], ld, B, K, got)
			prodNormRef(z0, z1, s, s[2:], ld, B, K, want)
			checkSame(t, fmt.Sprintf("K=%d out", K), got, want)
			if got[K] != float32(math.Inf(-1)) || got[K+1] == got[K+1] || got[2*(K+1)+K-1] != 1 {
				t.Fatalf("K=%d: zero row scale %v, NaN row %v, tiny row max %v", K, got[K], got[K+1], got[2*(K+1)+K-1])
			}
			for b := 4; b < B; b++ { // the maximum is exactly 1, every entry in [0, 1]
				mx := float32(0)
				for _, v := range got[b*(K+1) : b*(K+1)+K] {
					mx = max(mx, v)
				}
				if mx != 1 && mx != 0 {
					t.Fatalf("K=%d row %d: max %v", K, b, mx)
				}
			}
		}
	})
}

func TestProdNormFloat64(t *testing.T) {
	z0, z1 := []float64{2, 0, 4}, []float64{3, 5, 0.5}
	s := []float64{1.5, 0.25}
	out := make([]float64, 4)
	ProdNorm(z0, z1, s, s[1:], 1, 1, 3, out)
	want := []float64{1, 0, 2.0 / 6, 1.75 + math.Log(6)}
	for i := range want {
		if math.Abs(out[i]-want[i]) > 1e-15 {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
}

func TestQuot(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, K := range []int{1, 7, 32, 33} {
			B, ldg := 6, K+1
			g := randRows(rng, B*ldg, -2, 2, 0.05)
			z := randRows(rng, B*K, 0, 1, 0.2)
			g[0] = float32(math.Inf(1))
			got, want := make([]float32, B*K), make([]float32, B*K)
			Quot(g, ldg, z, got, B, K)
			quotRef(g, ldg, z, want, B, K)
			checkSame(t, fmt.Sprintf("K=%d t", K), got, want)
			for i, v := range z {
				if v == 0 && got[i] != 0 {
					t.Fatalf("K=%d: t[%d] = %v where z = 0", K, i, got[i])
				}
			}
		}
	})
}

func TestHadamard(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, K := range []int{1, 16, 31} {
			B, ld := 5, K+1
			x := randRows(rng, B*ld, 0, 1, 0)
			d := randRows(rng, B*K, -1, 1, 0)
			for _, set := range []bool{false, true} {
				got, want := randRows(rng, B*ld, -1, 1, 0), make([]float32, B*ld)
				copy(want, got)
				Hadamard(x, ld, d, got, B, K, set)
				hadamardRef(x, ld, d, want, B, K, set)
				checkSame(t, fmt.Sprintf("K=%d set=%v dx", K, set), got, want)
				if !set && got[K] != want[K] {
					t.Fatal("entry K of a row was touched")
				}
			}
		}
	})
}

func TestShortSlicesPanic(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("ProdNorm with a short output did not panic")
		}
	}()
	z := make([]float32, 8)
	ProdNorm(z, z, z, z, 1, 2, 4, make([]float32, 9)) // needs 10
}

func TestSoftmaxTable(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for _, kc := range [][2]int{{1, 2}, {3, 5}, {8, 16}, {32, 256}, {5, 13}} {
			K, C := kc[0], kc[1]
			th := randRows(rng, K*C, -3, 3, 0.05)
			if K > 1 {
				th[0] = -800 // an exp that underflows to 0 (another unit holds the value)
			}
			work := make([]float64, SoftmaxWork(K, C))
			tab, want := make([]float32, C*K), make([]float32, C*K)
			ls, sc := make([]float64, C), make([]float64, C)
			wls, wsc := make([]float64, C), make([]float64, C)
			if !SoftmaxTable(th, K, C, tab, ls, sc, work) || !softmaxTableRef(th, K, C, want, wls, wsc, make([]float64, len(work))) {
				t.Fatalf("K=%d C=%d: refused an ordinary table", K, C)
			}
			checkSame(t, fmt.Sprintf("K=%d C=%d tab", K, C), tab, want)
			for c := range C {
				if ls[c] != wls[c] || sc[c] != wsc[c] {
					t.Fatalf("K=%d C=%d: scale[%d] %v, %v; reference %v, %v", K, C, c, sc[c], ls[c], wsc[c], wls[c])
				}
				// tab·scale is the softmax over c of θ[k, ·], to float32 precision.
				for k := range K {
					m, s := math.Inf(-1), 0.0
					for j := range C {
						m = max(m, float64(th[k*C+j]))
					}
					for j := range C {
						s += math.Exp(float64(th[k*C+j]) - m)
					}
					p := math.Exp(float64(th[k*C+c])-m) / s
					if got := float64(tab[c*K+k]) * sc[c]; math.Abs(got-p) > 1e-6*p {
						t.Fatalf("K=%d C=%d: p[%d,%d] = %v, softmax %v", K, C, k, c, got, p)
					}
				}
			}
		}
		// A value whose every probability underflows (θ = −1000 against 0)
		// is refused, and the outputs are left alone.
		K, C := 2, 3
		th := []float32{0, -1000, 0, 0, -1000, 0}
		tab, ls, sc := make([]float32, C*K), make([]float64, C), make([]float64, C)
		if SoftmaxTable(th, K, C, tab, ls, sc, make([]float64, SoftmaxWork(K, C))) {
			t.Fatal("a value with probabilities of e^-1000 was accepted")
		}
		if tab[0] != 0 || sc[0] != 0 {
			t.Fatal("a refused table was written")
		}
	})
}

// TestExpFast checks ExpFast against math.Exp over its whole domain: the
// relative error stays below 1e-8, and the edges (0, the underflow
// threshold, −Inf, NaN) are exact.
// TestLogPos holds logPos to math.Log over the range of the table's
// scales (1e-300..1) and beyond.
func TestLogPos(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	worst := 0.0
	for i := range 1_000_000 {
		x := math.Exp(-700 * rng.Float64())
		if i%2 == 0 {
			x = rng.Float64() + 0.5 // around 1, where log is small
		}
		got, want := logPos(x), math.Log(x)
		err := math.Abs(got - want)
		if want != 0 {
			err /= math.Abs(want)
		}
		worst = max(worst, err)
	}
	if worst > 1e-15 {
		t.Errorf("largest relative error %.3g, want ≤ 1e-15", worst)
	}
	for _, x := range []float64{1, 2, 0.5, 1e-300, math.Sqrt2, 1.4142135623730951, 1.4142135623730954, 1e300, math.MaxFloat64} {
		if got, want := logPos(x), math.Log(x); math.Abs(got-want) > 1e-15*math.Abs(want) {
			t.Errorf("logPos(%v) = %v, want %v", x, got, want)
		}
	}
	// Subnormals, against log(x·2⁵⁴) − 54·ln 2 (math.Log on amd64 does not
	// normalize them: it gives log 4e-310 as −709.07).
	for _, x := range []float64{4e-310, 5e-324, 2.2250738585072009e-308} {
		if got, want := logPos(x), math.Log(x*(1<<54))-54*math.Ln2; math.Abs(got-want) > 1e-15*math.Abs(want) {
			t.Errorf("logPos(%v) = %v, want %v", x, got, want)
		}
	}
}

// worstRelErr is the largest relative error of f against math.Exp over a
// million x ≤ 0, a third each in [−1, 0] (logits minus their maximum),
// [−20, 0] and [lo, 0].
func worstRelErr(seed uint64, lo float64, f func(float64) float64) float64 {
	rng := rand.New(rand.NewPCG(3, seed))
	worst := 0.0
	for i := range 1_000_000 {
		x := -rng.Float64() * [3]float64{1, 20, -lo}[i%3]
		got, want := f(x), math.Exp(x)
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	return worst
}

func TestExpFast(t *testing.T) {
	if worst := worstRelErr(4, -708, expFast); worst > 1e-8 {
		t.Errorf("largest relative error %.3g, want ≤ 1e-8", worst)
	}
	for _, c := range []struct{ x, want float64 }{
		{0, 1}, {-708, math.Exp(-708)}, {-709, 0}, {math.Inf(-1), 0},
	} {
		if got := expFast(c.x); math.Abs(got-c.want) > 1e-8*c.want {
			t.Errorf("expFast(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := expFast(math.NaN()); !math.IsNaN(got) {
		t.Errorf("expFast(NaN) = %g, want NaN", got)
	}
}

// TestExp32 checks exp32 against math.Exp over its domain: the relative
// error stays below 2e-7 (float32's epsilon is 1.2e-7), 0 gives exactly 1,
// and below −87, −Inf and NaN give 0, 0 and NaN.
func TestExp32(t *testing.T) {
	// x is rounded to float32 first, so the error is exp32's alone.
	worst := worstRelErr(5, -87, func(x float64) float64 {
		return float64(exp32(float32(x))) * math.Exp(x-float64(float32(x)))
	})
	t.Logf("largest relative error %.3g", worst)
	if worst > 2e-7 {
		t.Errorf("largest relative error %.3g, want ≤ 2e-7", worst)
	}
	for _, c := range []struct{ x, want float32 }{
		{0, 1}, {float32(math.Copysign(0, -1)), 1}, {-87.5, 0}, {float32(math.Inf(-1)), 0},
	} {
		if got := exp32(c.x); got != c.want {
			t.Errorf("exp32(%g) = %g, want %g", c.x, got, c.want)
		}
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %g, want NaN", got)
	}
}

func TestAdam(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		n := 1000 + 13
		for _, h := range []AdamStep{
			{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, StepSize: 0.01 / 0.1, SqrtBC2: math.Sqrt(0.001), Eps: 1e-8},
			{Beta1: 0.8, Beta2: 0.99, C1: 0.2, C2: 0.01, StepSize: 0.3, SqrtBC2: 0.5, Eps: 1e-6, L2: 0.1, Coupled: true, Clamp: true, Min: 0.05},
			{Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, StepSize: 0.2, SqrtBC2: 0.7, Eps: 1e-8, Shrink: 0.99, Decoupled: true},
		} {
			th, g := randRows(rng, n, -1, 1, 0), randRows(rng, n, -1, 1, 0.1)
			m, v := randRows(rng, n, -0.1, 0.1, 0), randRows(rng, n, 0, 0.01, 0.1)
			th[3] = float32(math.NaN())
			wth, wg, wm, wv := append([]float32(nil), th...), append([]float32(nil), g...), append([]float32(nil), m...), append([]float32(nil), v...)
			Adam(th, g, m, v, &h)
			adamRef(wth, wg, wm, wv, &h)
			checkSame(t, "θ", th, wth)
			checkSame(t, "g", g, wg)
			checkSame(t, "m", m, wm)
			checkSame(t, "v", v, wv)
			if h.Clamp && th[3] != float32(h.Min) {
				t.Fatalf("clamped NaN = %v, want %v", th[3], h.Min)
			}
		}
	})
}

func checkSame64(t *testing.T, what string, got, want []float64) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s[%d] = %v, reference %v", what, i, got[i], want[i])
		}
	}
}

// TestMixing runs a two-input mixing fold through every mixing kernel and
// holds each to the reference, and the forward to a direct float64
// computation.
func TestMixing(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		for _, K := range []int{1, 8, 32, 37} {
			const B, H = 7, 2
			ld := K + 1
			x := [H][]float32{randRows(rng, B*ld, 0, 1, 0.1), randRows(rng, B*ld, 0, 1, 0.1)}
			w := [H][]float32{randRows(rng, K, 0.1, 1, 0), randRows(rng, K, 0.1, 1, 0)}
			for b := range B {
				x[0][b*ld+K] = float32(-30 * rng.Float64())
				x[1][b*ld+K] = float32(-30 * rng.Float64())
			}
			// Row 1: both inputs zero (log-scale −Inf); row 2: one input zero.
			x[0][ld+K], x[1][ld+K] = float32(math.Inf(-1)), float32(math.Inf(-1))
			clear(x[0][ld : ld+K])
			clear(x[1][ld : ld+K])
			x[1][2*ld+K] = float32(math.Inf(-1))
			clear(x[1][2*ld : 2*ld+K])
			m := make([]float64, B)
			for b := range B {
				m[b] = max(float64(x[0][b*ld+K]), float64(x[1][b*ld+K]))
			}
			y, wy := make([]float64, B*K), make([]float64, B*K)
			c, wc := make([]float64, B*H), make([]float64, B*H)
			for h := range H {
				MixAcc(x[h], ld, w[h], m, c[h:], H, y, B, K, h == 0)
				mixAccRef(x[h], ld, w[h], m, wc[h:], H, wy, B, K, h == 0)
			}
			checkSame64(t, "y", y, wy)
			checkSame64(t, "c", c, wc)
			out, wout := make([]float32, B*(K+1)), make([]float32, B*(K+1))
			NormRows(y, m, out, B, K)
			normRowsRef(wy, m, wout, B, K)
			checkSame(t, "out", out, wout)
			for b := range B { // against float64 log-sum-exp
				for k := range K {
					want := math.Inf(-1)
					for h := range H {
						lv := math.Log(float64(w[h][k])*float64(x[h][b*ld+k])) + float64(x[h][b*ld+K])
						want = math.Log(math.Exp(want) + math.Exp(lv))
					}
					got := math.Log(float64(out[b*(K+1)+k])) + float64(out[b*(K+1)+K])
					if math.IsInf(want, -1) != math.IsInf(got, -1) || (!math.IsInf(want, -1) && math.Abs(got-want) > 1e-5) {
						t.Fatalf("K=%d row %d unit %d: log-value %v, want %v", K, b, k, got, want)
					}
				}
			}
			g := randRows(rng, B*ld, -1, 1, 0)
			r, wr := make([]float64, B*K), make([]float64, B*K)
			QuotF64(g, ld, y, r, B, K)
			quotF64Ref(g, ld, wy, wr, B, K)
			checkSame64(t, "r", r, wr)
			for h := range H {
				dw, wdw := randRows(rng, K, -1, 1, 0), make([]float32, K)
				copy(wdw, dw)
				MixGradW(r, x[h], ld, c[h:], H, dw, B, K)
				mixGradWRef(wr, x[h], ld, wc[h:], H, wdw, B, K)
				checkSame(t, "dw", dw, wdw)
				for _, set := range []bool{false, true} {
					dx, wdx := randRows(rng, B*ld, -1, 1, 0), make([]float32, B*ld)
					copy(wdx, dx)
					MixGradX(r, w[h], x[h], ld, c[h:], H, dx, B, K, set)
					mixGradXRef(wr, w[h], x[h], ld, wc[h:], H, wdx, B, K, set)
					checkSame(t, "dx", dx, wdx)
				}
			}
		}
	})
}

func TestNormRowsFloat64(t *testing.T) {
	y := []float64{1, 4, 2, 0, 0, 0, 1, math.NaN(), 3}
	s := []float64{0.5, 2, 1}
	out := make([]float64, 12)
	NormRows(y, s, out, 3, 3)
	if out[1] != 1 || out[0] != 0.25 || out[3] != 0.5+math.Log(4) {
		t.Errorf("row 0 = %v", out[:4])
	}
	if out[4] != 0 || !math.IsInf(out[7], -1) {
		t.Errorf("zero row = %v", out[4:8])
	}
	if !math.IsNaN(out[8]) || !math.IsNaN(out[11]) {
		t.Errorf("NaN row = %v", out[8:])
	}
}

func TestCategoricalGradients(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		for _, kc := range [][2]int{{1, 2}, {5, 7}, {32, 256}} {
			K, C := kc[0], kc[1]
			const B, xs = 40, 3
			g := randRows(rng, B*(K+1), -1, 1, 0)
			x := make([]uint8, B*xs)
			miss := make([]bool, B*xs)
			for i := range x {
				x[i] = uint8(rng.IntN(C))
				miss[i] = rng.IntN(4) == 0
			}
			for _, m := range [][]bool{nil, miss} {
				acc, tot := make([]float64, C*K), make([]float64, K)
				wacc, wtot := make([]float64, C*K), make([]float64, K)
				ScatterRows(g, K+1, x, xs, m, acc, tot, B, K)
				scatterRowsRef(g, K+1, x, xs, m, wacc, wtot, B, K)
				checkSame64(t, "acc", acc, wacc)
				checkSame64(t, "tot", tot, wtot)
				n := 0.0 // every row not missing lands once in tot
				for b := range B {
					if m == nil || !m[b*xs] {
						n += float64(g[b*(K+1)])
					}
				}
				if math.Abs(tot[0]-n) > 1e-12 {
					t.Fatalf("tot[0] = %v, want %v", tot[0], n)
				}
				tab := randRows(rng, C*K, 0, 1, 0)
				scale := make([]float64, C)
				for c := range scale {
					scale[c] = rng.Float64()
				}
				for _, set := range []bool{false, true} {
					d, wd := randRows(rng, K*C, -1, 1, 0), make([]float32, K*C)
					copy(wd, d)
					CatGradSoftmax(tab, scale, acc, tot, d, K, C, set)
					catGradSoftmaxRef(tab, scale, wacc, wtot, wd, K, C, set)
					checkSame(t, "d", d, wd)
				}
			}
		}
	})
}

func TestGradientBookkeeping(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		s := randRows(rng, 1000, -1e30, 1e30, 0)
		if i := FirstNonFinite(s); i != -1 {
			t.Fatalf("finite slice: FirstNonFinite = %d", i)
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for _, at := range []int{0, 255, 256, 700, 999} {
				c := append([]float32(nil), s...)
				c[at] = bad
				c[min(at+3, 999)] = bad
				if i := FirstNonFinite(c); i != at {
					t.Fatalf("%v at %d: FirstNonFinite = %d", bad, at, i)
				}
			}
		}
		if FirstNonFinite([]float64{1, math.Inf(1)}) != 1 || FirstNonFinite([]float32{}) != -1 {
			t.Fatal("FirstNonFinite of float64 or empty slices")
		}
		dst, src := randRows(rng, 1003, -1, 1, 0), randRows(rng, 1003, -1, 1, 0)
		want := append([]float32(nil), dst...)
		Add(dst, src)
		addRef(want, src)
		checkSame(t, "Add", dst, want)
		const B, K, ld = 9, 31, 33
		for _, set := range []bool{false, true} {
			dst, src = randRows(rng, B*ld, -1, 1, 0), randRows(rng, B*ld, -1, 1, 0)
			want = append([]float32(nil), dst...)
			AddRows(dst, src, ld, B, K, set)
			addRowsRef(want, src, ld, B, K, set)
			checkSame(t, "AddRows", dst, want)
			if dst[K] != want[K] || dst[K+1] != want[K+1] {
				t.Fatal("AddRows touched entries past K")
			}
			if set && dst[ld+3] != src[ld+3] {
				t.Fatal("AddRows with set did not copy")
			}
		}
	})
}

// TestGemmRows holds GemmRows to a float64 product over shapes that cover
// whole register tiles, edge rows and columns, both orientations of the
// left factor, and accumulation.
func TestGemmRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(17, 18))
		for _, sh := range [][3]int{{256, 32, 32}, {7, 5, 3}, {33, 70, 9}, {4, 32, 1}, {1, 1, 1}, {13, 64, 100}, {6, 10, 600}, {5, 20, 300}, {100, 10, 10}} {
			M, N, P := sh[0], sh[1], sh[2]
			for _, trans := range []bool{false, true} {
				for _, acc := range []bool{false, true} {
					lda, ldb, ldc := P+1, N+2, N+3
					sai, sap := lda, 1
					na := M * lda
					if trans {
						lda = M + 1
						sai, sap, na = 1, lda, P*lda
					}
					a, b := randRows(rng, na, -1, 1, 0), randRows(rng, P*ldb, -1, 1, 0)
					c := randRows(rng, M*ldc, -1, 1, 0)
					want := make([]float64, len(c))
					for i := range M {
						for j := range ldc {
							want[i*ldc+j] = float64(c[i*ldc+j])
							if j >= N {
								continue
							}
							if !acc {
								want[i*ldc+j] = 0
							}
							for p := range P {
								want[i*ldc+j] += float64(a[i*sai+p*sap]) * float64(b[p*ldb+j])
							}
						}
					}
					GemmRows(M, N, P, a, sai, sap, b, ldb, acc, c, ldc)
					for i, w := range want {
						if math.Abs(float64(c[i])-w) > 1e-5*(1+float64(P)) {
							t.Fatalf("M=%d N=%d P=%d trans=%v acc=%v: c[%d] = %v, want %v", M, N, P, trans, acc, i, c[i], w)
						}
					}
				}
			}
		}
	})
}

// The C GEMMs flush subnormal operands and results to zero (they are
// tens of times slower), and give the caller its floating-point mode back:
// Go arithmetic after them still makes subnormals.
func TestGemmRowsSubnormals(t *testing.T) {
	native, _ := Native()
	eachLevel(t, func(t *testing.T) {
		const M, N, P = 3, 40, 5
		tiny := float32(1e-20)
		a, b, c := make([]float32, M*P), make([]float32, P*N), make([]float32, M*N)
		for i := range a {
			a[i] = tiny
		}
		for i := range b {
			b[i] = tiny
		}
		GemmRows(M, N, P, a, P, 1, b, N, false, c, N)
		for i, v := range c {
			// 5·1e-40: flushed by the C kernels, kept by pure Go.
			if native && v != 0 || !native && v <= 0 {
				t.Fatalf("c[%d] = %g (native kernels: %v)", i, v, native)
			}
		}
		x := a[:2]
		if y := x[0] * x[1]; y == 0 {
			t.Errorf("Go's %g·%g is 0 after GemmRows: the flush-to-zero mode leaked", x[0], x[1])
		}
	})
}

func TestTranspose(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(19, 20))
		for _, sh := range [][2]int{{32, 32}, {3, 17}, {9, 8}, {1, 1}} {
			r, c := sh[0], sh[1]
			ld := c + 2
			src := randRows(rng, r*ld, -1, 1, 0)
			got, want := make([]float32, r*c), make([]float32, r*c)
			Transpose(src, ld, r, c, got)
			for i := range r {
				for j := range c {
					want[j*r+i] = src[i*ld+j]
				}
			}
			checkSame(t, fmt.Sprintf("%dx%d", r, c), got, want)
		}
	})
}

func TestTuckerKernels(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, K := range []int{1, 5, 16, 32, 33} {
			const B = 6
			ld := K + 1
			x1, x2 := randRows(rng, B*ld, 0, 1, 0), randRows(rng, B*ld, 0, 1, 0)
			y, wy := make([]float32, B*K*K), make([]float32, B*K*K)
			Outer(x1, x2, ld, B, K, y)
			outerRef(x1, x2, ld, B, K, wy)
			checkSame(t, "y", y, wy)
			d := randRows(rng, B*K*K, -1, 1, 0)
			for _, which := range []int{0, 1, 2} {
				dx1, dx2 := randRows(rng, B*ld, -1, 1, 0), randRows(rng, B*ld, -1, 1, 0)
				w1, w2 := append([]float32(nil), dx1...), append([]float32(nil), dx2...)
				a1, a2, r1, r2 := dx1, dx2, w1, w2
				if which == 1 {
					a1, r1 = nil, nil
				}
				if which == 2 {
					a2, r2 = nil, nil
				}
				TuckerGradIn(d, x1, x2, ld, a1, a2, B, K)
				tuckerGradInRef(d, x1, x2, ld, r1, r2, B, K)
				checkSame(t, "dx1", dx1, w1)
				checkSame(t, "dx2", dx2, w2)
			}
			// From zero, dx1 is x1 times a dot product: check it in float64.
			dx1 := make([]float32, B*ld)
			TuckerGradIn(d, x1, x2, ld, dx1, nil, B, K)
			for b := range B {
				for i := range K {
					s := 0.0
					for j := range K {
						s += float64(d[(b*K+i)*K+j]) * float64(x2[b*ld+j])
					}
					if want := float64(x1[b*ld+i]) * s; math.Abs(float64(dx1[b*ld+i])-want) > 1e-5*(1+math.Abs(want)) {
						t.Fatalf("K=%d dx1[%d,%d] = %v, want %v", K, b, i, dx1[b*ld+i], want)
					}
				}
			}
		}
	})
}

// TestGemmMul holds GemmMul to GemmRows followed by the Hadamard product in
// float64.
func TestGemmMul(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(23, 24))
		for _, sh := range [][3]int{{256, 32, 32}, {7, 10, 32}, {9, 40, 5}} {
			M, N, P := sh[0], sh[1], sh[2]
			for _, set := range []bool{false, true} {
				a, b := randRows(rng, M*P, -1, 1, 0), randRows(rng, P*N, -1, 1, 0)
				ld := N + 1
				mul, c := randRows(rng, M*ld, 0, 1, 0), randRows(rng, M*ld, -1, 1, 0)
				want := make([]float64, len(c))
				for i := range M {
					for j := range ld {
						want[i*ld+j] = float64(c[i*ld+j])
						if j == N {
							continue
						}
						s := 0.0
						for p := range P {
							s += float64(a[i*P+p]) * float64(b[p*N+j])
						}
						if set {
							want[i*ld+j] = 0
						}
						want[i*ld+j] += float64(mul[i*ld+j]) * s
					}
				}
				GemmMul(M, N, P, a, P, 1, b, N, mul, ld, set, c, ld, make([]float32, M*N))
				for i, w := range want {
					if math.Abs(float64(c[i])-w) > 1e-5*(1+float64(P)) {
						t.Fatalf("%v set=%v: c[%d] = %v, want %v", sh, set, i, c[i], w)
					}
				}
			}
		}
	})
}

func TestGatherRows(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(25, 26))
		for _, K := range []int{1, 10, 32} {
			const C, B, xs = 7, 9, 3
			tab := randRows(rng, C*K, 0, 1, 0)
			ls := make([]float64, C)
			for c := range ls {
				ls[c] = -10 * rng.Float64()
			}
			x := make([]uint8, B*xs)
			for i := range x {
				x[i] = uint8(rng.IntN(C))
			}
			got, want := make([]float32, B*(K+1)), make([]float32, B*(K+1))
			GatherRows(tab, ls, K, x, xs, B, got)
			for b := range B {
				c := int(x[b*xs])
				copy(want[b*(K+1):], tab[c*K:(c+1)*K])
				want[b*(K+1)+K] = float32(ls[c])
			}
			checkSame(t, fmt.Sprintf("K=%d", K), got, want)
		}
	})
}

// The fused two-input mixing kernels against the multi-pass references
// they replace, bit for bit, with special rows: one input at −Inf, both at
// −Inf, a NaN log-scale, equal log-scales, zero log-scales of both signs,
// zero weights and inputs.
func TestMixPair(t *testing.T) {
	eachLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(21, 22))
		for _, K := range []int{1, 3, 8, 17, 32, 64, 70} {
			B, ld := 70, K+1
			x0, x1 := randRows(rng, B*ld, 0, 1, 0.1), randRows(rng, B*ld, 0, 1, 0.1)
			for b := range B {
				x0[b*ld+K] = float32(rng.Float64()*60 - 30)
				x1[b*ld+K] = float32(rng.Float64()*60 - 30)
			}
			inf := float32(math.Inf(-1))
			x0[0*ld+K] = inf
			x0[1*ld+K], x1[1*ld+K] = inf, inf
			x1[2*ld+K] = float32(math.NaN())
			x1[3*ld+K] = x0[3*ld+K]
			negZero := float32(math.Copysign(0, -1))
			x0[5*ld+K], x1[5*ld+K] = 0, negZero // zero log-scales of both signs
			x0[6*ld+K], x1[6*ld+K] = negZero, 0
			for k := range K {
				x0[4*ld+k], x1[4*ld+k] = 0, 0
			}
			w0, w1 := randRows(rng, K, 0, 2, 0.1), randRows(rng, K, 0, 2, 0.1)
			g := randRows(rng, B*(K+1), -1, 1, 0.05)

			// The references, as the mixing kernel composes them.
			m := make([]float64, B)
			for b := range B {
				m[b] = max(math.Inf(-1), float64(x0[b*ld+K]), float64(x1[b*ld+K]))
			}
			c := make([]float64, 2*B)
			y := make([]float64, B*K)
			mixAccRef(x0, ld, w0, m, c, 2, y, B, K, true)
			mixAccRef(x1, ld, w1, m, c[1:], 2, y, B, K, false)
			wantOut := make([]float32, B*(K+1))
			normRowsRef(y, m, wantOut, B, K)
			r := make([]float64, B*K)
			quotF64Ref(g, K+1, y, r, B, K)
			wdw0, wdw1 := randRows(rng, K, -1, 1, 0), randRows(rng, K, -1, 1, 0)
			wdx0, wdx1 := randRows(rng, B*ld, -1, 1, 0), randRows(rng, B*ld, -1, 1, 0)
			dw0, dw1 := append([]float32(nil), wdw0...), append([]float32(nil), wdw1...)
			dx0, dx1 := append([]float32(nil), wdx0...), append([]float32(nil), wdx1...)
			mixGradWRef(r, x0, ld, c, 2, wdw0, B, K)
			mixGradWRef(r, x1, ld, c[1:], 2, wdw1, B, K)
			mixGradXRef(r, w0, x0, ld, c, 2, wdx0, B, K, false)
			mixGradXRef(r, w1, x1, ld, c[1:], 2, wdx1, B, K, true)

			work := make([]float64, MixPairWork(K))
			out := make([]float32, B*(K+1))
			if !MixPairForward(x0, x1, ld, w0, w1, B, K, out, work) {
				if ok, _ := Native(); ok {
					t.Fatal("MixPairForward refused float32 with the C kernels")
				}
				return
			}
			checkSame(t, fmt.Sprintf("K=%d out", K), out, wantOut)
			if !MixPairBackward(x0, x1, ld, w0, w1, g, B, K, dw0, dw1, dx0, dx1, false, true, work) {
				t.Fatal("MixPairBackward refused what MixPairForward took")
			}
			checkSame(t, fmt.Sprintf("K=%d dw0", K), dw0, wdw0)
			checkSame(t, fmt.Sprintf("K=%d dw1", K), dw1, wdw1)
			checkSame(t, fmt.Sprintf("K=%d dx0", K), dx0, wdx0)
			checkSame(t, fmt.Sprintf("K=%d dx1", K), dx1, wdx1)
			// Skipped gradients are left alone.
			before := append([]float32(nil), dx1...)
			if !MixPairBackward(x0, x1, ld, w0, w1, g, B, K, nil, nil, dx0, nil, true, false, work) {
				t.Fatal("MixPairBackward refused")
			}
			checkSame(t, "skipped dx1", dx1, before)
		}
	})
	if MixPairForward([]float64{1, 0}, []float64{1, 0}, 2, []float64{1}, []float64{1}, 1, 1, make([]float64, 2), make([]float64, 4)) {
		t.Error("MixPairForward took float64")
	}
}
