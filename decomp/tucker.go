package decomp

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Tucker is a Tucker decomposition
//
//	X ≈ Core ×₀ Factors[0] ×₁ Factors[1] … ×_{N−1} Factors[N−1],
//
// TensorLy's TuckerTensor (core, factors). Core has shape (r₀, …, r_{N−1})
// and Factors[n] is Iₙ × rₙ with orthonormal columns, so ‖X̂‖ = ‖Core‖.
type Tucker struct {
	Core    *Tensor
	Factors []*mat.Dense
	// Trace holds the relative error ‖X − X̂‖/‖X‖: one entry for HOSVD;
	// for HOOI the HOSVD start's, then one per sweep, non-increasing up to
	// rounding, so len(Trace)−1 sweeps were run.
	Trace []float64
	// Converged reports that HOOI's last sweep changed the relative error
	// by less than TuckerOptions.Tol; always true for HOSVD.
	Converged bool
}

// Ranks returns the multilinear ranks (r₀, …, r_{N−1}), the core's shape.
func (d *Tucker) Ranks() []int { return append([]int(nil), d.Core.Shape...) }

// Full returns the tensor d represents. It panics if a factor's column count
// differs from the core's size in its mode.
func (d *Tucker) Full() *Tensor {
	x := d.Core
	for n, u := range d.Factors {
		x = x.modeProduct(u, n)
	}
	return x
}

// TuckerOptions configures HOOI. A nil *TuckerOptions, and every zero field,
// means the default; the defaults are TensorLy's (tucker's n_iter_max and
// tol).
type TuckerOptions struct {
	// MaxIter is the largest number of sweeps after the HOSVD start; 0
	// means 100.
	MaxIter int
	// Tol stops the sweeps once the relative error changes by less than
	// Tol; 0 means 1e-4, and a negative Tol runs all MaxIter sweeps.
	Tol float64
}

// Default HOOI settings.
const (
	DefaultTuckerMaxIter = 100
	DefaultTuckerTol     = 1e-4
)

// HOSVD computes the truncated higher-order SVD of t (De Lathauwer, De Moor
// and Vandewalle 2000): Factors[n] holds the rₙ leading left singular vectors
// of the mode-n unfolding and Core = t ×ₙ Factors[n]ᵀ over every mode. At
// ranks equal to the shape it is exact. ranks has one entry per mode, each in
// 1..Iₙ.
func HOSVD(t *Tensor, ranks []int) (*Tucker, error) {
	const fn = "HOSVD"
	if err := checkTucker(fn, t, ranks); err != nil {
		return nil, err
	}
	d, err := hosvd(t, ranks)
	if err != nil {
		return nil, fmt.Errorf("decomp.%s: %w", fn, err)
	}
	d.Converged = true
	return d, nil
}

// HOOI computes a Tucker decomposition of t by higher-order orthogonal
// iteration (De Lathauwer, De Moor and Vandewalle 2000; TensorLy's tucker):
// it starts from HOSVD and in each sweep sets Factors[n] to the rₙ leading
// left singular vectors of the mode-n unfolding of t ×_{m≠n} Factors[m]ᵀ,
// which maximizes ‖Core‖ over Factors[n] given the others. The error thus
// never increases and is at most HOSVD's.
func HOOI(t *Tensor, ranks []int, opts *TuckerOptions) (*Tucker, error) {
	const fn = "HOOI"
	if err := checkTucker(fn, t, ranks); err != nil {
		return nil, err
	}
	var o TuckerOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.MaxIter < 0:
		return nil, inputErr(fn, "TuckerOptions.MaxIter", "%d is negative", o.MaxIter)
	case math.IsNaN(o.Tol):
		return nil, inputErr(fn, "TuckerOptions.Tol", "is NaN")
	}
	if o.MaxIter == 0 {
		o.MaxIter = DefaultTuckerMaxIter
	}
	if o.Tol == 0 {
		o.Tol = DefaultTuckerTol
	}
	d, err := hosvd(t, ranks)
	if err != nil {
		return nil, fmt.Errorf("decomp.%s: start: %w", fn, err)
	}
	for range o.MaxIter {
		for n := range ranks {
			// y = t ×_{m≠n} U_mᵀ has shape r₀ × … × Iₙ × … × r_{N−1}.
			y := t
			for m, u := range d.Factors {
				if m != n {
					y = y.modeProduct(u.T(), m)
				}
			}
			u, _, err := leftSingular(y.unfold(n), ranks[n])
			if err != nil {
				return nil, fmt.Errorf("decomp.%s: mode-%d update: %w", fn, n, err)
			}
			d.Factors[n] = u
		}
		d.Core = project(t, d.Factors)
		e := relErr(t, d.Full())
		prev := d.Trace[len(d.Trace)-1]
		d.Trace = append(d.Trace, e)
		if math.Abs(prev-e) < o.Tol || e == 0 {
			d.Converged = true
			break
		}
	}
	return d, nil
}

// hosvd is HOSVD on valid input.
func hosvd(t *Tensor, ranks []int) (*Tucker, error) {
	d := &Tucker{Factors: make([]*mat.Dense, len(ranks))}
	for n, r := range ranks {
		u, _, err := leftSingular(t.unfold(n), r)
		if err != nil {
			return nil, fmt.Errorf("mode-%d unfolding: %w", n, err)
		}
		d.Factors[n] = u
	}
	d.Core = project(t, d.Factors)
	d.Trace = []float64{relErr(t, d.Full())}
	return d, nil
}

// project returns the core t ×₀ U₀ᵀ ×₁ U₁ᵀ … for factors us.
func project(t *Tensor, us []*mat.Dense) *Tensor {
	for n, u := range us {
		t = t.modeProduct(u.T(), n)
	}
	return t
}

// checkTucker validates the input of HOSVD and HOOI.
func checkTucker(fn string, t *Tensor, ranks []int) error {
	if err := t.checkInput(fn); err != nil {
		return err
	}
	if len(ranks) != len(t.Shape) {
		return inputErr(fn, "ranks", "%v has %d entries, the tensor has %d modes", ranks, len(ranks), len(t.Shape))
	}
	for n, r := range ranks {
		if r < 1 || r > t.Shape[n] {
			return inputErr(fn, "ranks", "%v: rank %d of mode %d is outside 1..%d", ranks, r, n, t.Shape[n])
		}
	}
	return nil
}
