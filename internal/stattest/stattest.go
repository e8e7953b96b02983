// Package stattest holds the statistics that tenpc's tests use to judge
// samplers: the chi-square survival function, through the regularized
// upper incomplete gamma function.
package stattest

import "math"

// ChiSquareSF is P(χ²_df > x) = Q(df/2, x/2); it is 1 for x ≤ 0.
func ChiSquareSF(x, df float64) float64 {
	if x <= 0 {
		return 1
	}
	return GammaQ(df/2, x/2)
}

// GammaQ is the regularized upper incomplete gamma function Q(a, x): the
// series of P(a, x) for x < a+1, Lentz's continued fraction otherwise
// (Numerical Recipes §6.2).
func GammaQ(a, x float64) float64 {
	lg, _ := math.Lgamma(a)
	pre := math.Exp(-x + a*math.Log(x) - lg)
	if x < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 10000; n++ {
			term *= x / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-16 {
				break
			}
		}
		return 1 - pre*sum
	}
	const tiny = 1e-300
	b := x + 1 - a
	cf, d := 1/tiny, 1/b
	h := d
	for n := 1; n < 10000; n++ {
		an := -float64(n) * (float64(n) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		cf = b + an/cf
		if math.Abs(cf) < tiny {
			cf = tiny
		}
		d = 1 / d
		del := d * cf
		h *= del
		if math.Abs(del-1) < 1e-16 {
			break
		}
	}
	return pre * h
}
