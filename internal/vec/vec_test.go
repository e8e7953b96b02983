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
