package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpFast checks expFast against math.Exp over its whole domain: the
// relative error stays below 1e-8, and the edges (0, the underflow
// threshold, −Inf, NaN) are exact.
func TestExpFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	worst := 0.0
	for i := range 1_000_000 {
		var x float64
		switch i % 3 {
		case 0:
			x = -rng.Float64() // the common case: logits minus their max
		case 1:
			x = -20 * rng.Float64()
		default:
			x = -708 * rng.Float64()
		}
		got, want := expFast(x), math.Exp(x)
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 1e-8 {
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

func BenchmarkExp(b *testing.B) {
	x := make([]float64, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = -10 * rng.Float64()
	}
	b.Run("math", func(b *testing.B) {
		s := 0.0
		for range b.N {
			for _, v := range x {
				s += math.Exp(v)
			}
		}
		sinkF = s
	})
	b.Run("fast", func(b *testing.B) {
		s := 0.0
		for range b.N {
			for _, v := range x {
				s += expFast(v)
			}
		}
		sinkF = s
	})
}

var sinkF float64

// TestExpShiftedSum checks the row form against math.Exp element by element
// (relative error < 1e-8) and that a NaN propagates into the sum.
func TestExpShiftedSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	th := make([]float32, 300)
	for i := range th {
		th[i] = float32(-800 * rng.Float64())
	}
	th[7] = float32(math.NaN())
	const stride = 3
	dst := make([]float64, len(th)*stride)
	m := -1.5
	got := expShiftedSum(th, m, dst, stride)
	want := 0.0
	for c, v := range th {
		e := math.Exp(float64(v) - m)
		if float64(v)-m < -708 {
			e = 0 // subnormal results flush to 0, as expFast's
		}
		if c != 7 && math.Abs(dst[c*stride]-e) > 1e-8*e {
			t.Fatalf("entry %d: %g, math.Exp gives %g", c, dst[c*stride], e)
		}
		want += e
	}
	// The domain expFast's test covers, densely.
	x := make([]float64, 1<<16)
	out := make([]float64, len(x))
	for i := range x {
		x[i] = -708 * float64(i) / float64(len(x)-1)
	}
	x[1] = -0.5 * math.Ln2 / 8 // the edges of the reduced range
	x[2] = -1.5 * math.Ln2 / 8
	expShiftedSum(x, 0, out, 1)
	for i, v := range x {
		if e := math.Exp(v); math.Abs(out[i]-e) > 1e-8*e {
			t.Fatalf("e^%g: %g, math.Exp gives %g", v, out[i], e)
		}
	}
	if !math.IsNaN(got) || !math.IsNaN(want) {
		t.Errorf("a NaN input should make the sum NaN: got %g", got)
	}
}
