package decomp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFloat32AgreesWithFloat64 decomposes a tensor three ways: from its
// float64 values, from their float32 roundings, and from those roundings
// converted to float64. The last two must give identical results (the
// float32 entry point loses nothing), and the first two must agree within
// float32 precision, read back as float32.
func TestFloat32AgreesWithFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 300))
	shape := []int{4, 5, 6}
	exact := randomCP(rng, shape, 3, true).Full()
	x32 := ToSlice[float32](exact)
	t32, err := FromSlice(x32, shape...)
	if err != nil {
		t.Fatal(err)
	}
	t64, err := FromSlice(widen(x32), shape...)
	if err != nil {
		t.Fatal(err)
	}
	cpOpts := &CPOptions{MaxIter: 5000, Tol: 1e-12, Seed: 3}
	fits := map[string]func(*Tensor) (*Tensor, error){
		"CPALS": func(x *Tensor) (*Tensor, error) {
			c, err := CPALS(x, 3, cpOpts)
			return fullOf(c, err)
		},
		"NonNegativeCP": func(x *Tensor) (*Tensor, error) {
			c, err := NonNegativeCP(x, 3, cpOpts)
			return fullOf(c, err)
		},
		"HOSVD": func(x *Tensor) (*Tensor, error) {
			d, err := HOSVD(x, shape)
			return fullOf(d, err)
		},
		"HOOI truncated": func(x *Tensor) (*Tensor, error) {
			d, err := HOOI(x, []int{2, 2, 3}, nil)
			return fullOf(d, err)
		},
		"TTSVD": func(x *Tensor) (*Tensor, error) {
			tt, err := TTSVD(x, nil)
			return fullOf(tt, err)
		},
	}
	scale := maxAbs(exact.Data)
	// ulps measures the largest difference between a and b in units of
	// 2⁻²⁴·max|x|, half a float32 ulp at the largest entry.
	ulps := func(a []float32, b []float64) float64 {
		var worst float64
		for i := range a {
			worst = max(worst, math.Abs(float64(a[i])-b[i]))
		}
		return worst / (scale * 0x1p-24)
	}
	for name, fit := range fits {
		var full [3][]float32
		for i, x := range []*Tensor{exact, t32, t64} {
			f, err := fit(x)
			if err != nil {
				t.Fatal(err)
			}
			full[i] = ToSlice[float32](f)
		}
		if d := ulps(full[1], widen(full[2])); d != 0 {
			t.Errorf("%s: float32 input and its float64 copy differ by %.3g units", name, d)
		}
		d := ulps(full[1], widen(full[0]))
		if d > 4 {
			t.Errorf("%s: float32 and float64 inputs differ by %.3g units of 2⁻²⁴·max|x|", name, d)
		}
		t.Logf("%s: float32 and float64 inputs differ by %.3g units", name, d)
	}
}

// widen converts s to float64.
func widen(s []float32) []float64 {
	w := make([]float64, len(s))
	for i, v := range s {
		w[i] = float64(v)
	}
	return w
}

// fullOf returns the reconstruction of a decomposition result.
func fullOf[D interface{ Full() *Tensor }](d D, err error) (*Tensor, error) {
	if err != nil {
		return nil, err
	}
	return d.Full(), nil
}

func maxAbs(s []float64) float64 {
	var m float64
	for _, v := range s {
		m = max(m, math.Abs(v))
	}
	return m
}
