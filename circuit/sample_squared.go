package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// A squared circuit p(x) = c(x)²/Z has weights of either sign, so its sums
// are not mixtures and ancestral sampling does not apply. Its marginals
// are exact (on c·c), so it samples one variable at a time, each from its
// conditional given the variables drawn before and the evidence, with the
// rest integrated out:
//
//	x_v ∼ p(x_v | x_<v, x_o) ∝ (c·c)(x_<v, x_v, x_o),  v = 0, 1, …, V−1 (unobserved)
//
// which is exact, and costs V·C evaluations of c·c per sample (C values a
// variable; batched). A Gaussian variable would need the inverse CDF of a
// signed mixture of Gaussians, which tenpc does not implement: such a
// circuit refuses to sample.

// checkSquaredSampling refuses a squared circuit with Gaussian inputs.
func (c *Circuit) checkSquaredSampling(what string) error {
	for v, k := range c.varKinds() {
		if k.kind == Gaussian {
			return fmt.Errorf("circuit: %s: a squared circuit samples one variable at a time from its exact conditional, which for Gaussian variable %d needs the inverse CDF of a signed mixture of Gaussians; tenpc samples squared circuits over discrete variables only", what, v)
		}
	}
	return nil
}

// sampleSquared completes every row of ev (the entries of ev.obs keep their
// values) by drawing the others in variable order from their exact
// conditionals (see above), all randomness from rng, row by row within a
// variable. A row whose evidence has probability 0 is an error.
func (c *Circuit) sampleSquared(ev *queryData, rng *rand.Rand, what string) (*queryData, error) {
	sq, err := c.square()
	if err != nil {
		return nil, err
	}
	V, kinds := c.plan.NumVars, c.varKinds()
	dst := &queryData{n: ev.n, obs: append([]bool(nil), ev.obs...)}
	if ev.u8 != nil {
		dst.u8 = append([]uint8(nil), ev.u8...)
	} else {
		dst.f64 = append([]float64(nil), ev.f64...)
	}
	e, err := newEvaluator(sq)
	if err != nil {
		return nil, err
	}
	defer e.done()
	for v := range V {
		C := kinds[v].values
		var rows []int // rows to draw x_v for
		for r := range dst.n {
			if !dst.obs[r*V+v] {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		// One candidate row per (row, value): the row so far, x_v = value.
		cand := &queryData{n: len(rows) * C, obs: make([]bool, len(rows)*C*V)}
		if dst.u8 != nil {
			cand.u8 = make([]uint8, cand.n*V)
		} else {
			cand.f64 = make([]float64, cand.n*V)
		}
		for i, r := range rows {
			for x := range C {
				j := i*C + x
				copy(cand.obs[j*V:(j+1)*V], dst.obs[r*V:(r+1)*V])
				cand.obs[j*V+v] = true
				if dst.u8 != nil {
					copy(cand.u8[j*V:(j+1)*V], dst.u8[r*V:(r+1)*V])
					cand.u8[j*V+v] = uint8(x)
				} else {
					copy(cand.f64[j*V:(j+1)*V], dst.f64[r*V:(r+1)*V])
					cand.f64[j*V+v] = float64(x)
				}
			}
		}
		lv := make([]float64, cand.n)
		for lo := 0; lo < cand.n; lo += queryRows {
			b := min(queryRows, cand.n-lo)
			ps, err := e.up(cand, lo, b, sumProduct)
			if err != nil {
				return nil, err
			}
			for i := range b {
				lv[lo+i] = ps.root(e.p, i, 0)
			}
		}
		d := &Downward{rng: rng}
		for i, r := range rows {
			t := lv[i*C : (i+1)*C]
			if m := slicesMax(t); math.IsInf(m, -1) || math.IsNaN(m) {
				return nil, fmt.Errorf("circuit: %s: sample %d: the evidence has probability 0 (log %v); nothing to complete from", what, r, m)
			}
			x := d.Pick(t)
			dst.obs[r*V+v] = true
			if dst.u8 != nil {
				dst.u8[r*V+v] = uint8(x)
			} else {
				dst.f64[r*V+v] = float64(x)
			}
		}
	}
	dst.obs = ev.obs
	return dst, nil
}

// slicesMax is the largest of t, NaN if any is NaN.
func slicesMax(t []float64) float64 {
	m := math.Inf(-1)
	for _, v := range t {
		if math.IsNaN(v) {
			return v
		}
		m = max(m, v)
	}
	return m
}
