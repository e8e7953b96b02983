package decomp

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// TT is a tensor train (matrix product state) of a d-mode tensor,
//
//	X[i₀, …, i_{d−1}] ≈ Cores[0][:, i₀, :] · Cores[1][:, i₁, :] ⋯ Cores[d−1][:, i_{d−1}, :],
//
// TensorLy's TTTensor. Cores[k] has shape (r_k, I_k, r_{k+1}) with
// r₀ = r_d = 1; bond k joins cores k and k+1 and has rank r_{k+1}.
type TT struct {
	Cores []*Tensor
	// Spectra[k] holds every singular value of the unfolding split at bond
	// k (k = 0 … d−2) when TT-SVD reached it, descending.
	Spectra [][]float64
	// Discarded[k] is the tail of Spectra[k] that the truncation dropped.
	Discarded [][]float64
}

// Ranks returns the bond ranks (r₀, r₁, …, r_d), r₀ = r_d = 1.
func (tt *TT) Ranks() []int {
	r := make([]int, len(tt.Cores)+1)
	for k, c := range tt.Cores {
		r[k] = c.Shape[0]
	}
	r[len(tt.Cores)] = tt.Cores[len(tt.Cores)-1].Shape[2]
	return r
}

// ErrorBound returns √(Σ_k ‖Discarded[k]‖²), which bounds ‖X − X̂‖ from
// above (Oseledets 2011, Theorem 2.2). For a train TTSVD returned it is the
// error itself, up to rounding: each bond's truncation error is orthogonal to
// the later ones.
func (tt *TT) ErrorBound() float64 {
	var s float64
	for _, d := range tt.Discarded {
		s += floats.Dot(d, d)
	}
	return math.Sqrt(s)
}

// Full returns the tensor tt represents. It panics if adjacent cores'
// ranks differ.
func (tt *TT) Full() *Tensor {
	shape := make([]int, len(tt.Cores))
	// x is the contraction of the cores so far, (I₀⋯I_k) × r_{k+1}.
	x := mat.NewDense(1, 1, []float64{1})
	for k, c := range tt.Cores {
		shape[k] = c.Shape[1]
		rows, _ := x.Dims()
		var y mat.Dense
		y.Mul(x, mat.NewDense(c.Shape[0], c.Shape[1]*c.Shape[2], c.Data))
		// y is (I₀⋯I_{k−1}) × (I_k·r_{k+2}), row-major the same data as
		// (I₀⋯I_k) × r_{k+2}.
		x = mat.NewDense(rows*c.Shape[1], c.Shape[2], y.RawMatrix().Data)
	}
	return &Tensor{Shape: shape, Data: x.RawMatrix().Data}
}

// TTOptions configures TTSVD. A nil *TTOptions, and every zero field, means
// no truncation: the train is exact.
type TTOptions struct {
	// MaxRank caps the rank of every bond; 0 means no cap.
	MaxRank int
	// MaxRanks, when non-nil, caps each bond separately (one entry per
	// bond, d−1 in all, each ≥ 1) and overrides MaxRank.
	MaxRanks []int
	// Tol is the relative error ε of Oseledets' rule: each bond keeps the
	// fewest singular values whose discarded tail has norm ≤ ε/√(d−1)·‖X‖,
	// so ‖X − X̂‖ ≤ ε‖X‖ when no rank cap binds. 0 keeps every nonzero
	// singular value.
	Tol float64
}

// TTSVD computes a tensor train of t by TT-SVD (Oseledets 2011, Algorithm
// 1): it sweeps the bonds left to right, splitting the remainder's unfolding
// by an SVD truncated to the rank caps and the tolerance, and records every
// bond's spectrum and discarded singular values.
func TTSVD(t *Tensor, opts *TTOptions) (*TT, error) {
	const fn = "TTSVD"
	if err := t.checkInput(fn); err != nil {
		return nil, err
	}
	var o TTOptions
	if opts != nil {
		o = *opts
	}
	d := len(t.Shape)
	caps := make([]int, d-1)
	switch {
	case o.MaxRank < 0:
		return nil, inputErr(fn, "TTOptions.MaxRank", "%d is negative", o.MaxRank)
	case o.MaxRanks != nil && len(o.MaxRanks) != d-1:
		return nil, inputErr(fn, "TTOptions.MaxRanks", "%v has %d entries, a %d-mode tensor has %d bonds", o.MaxRanks, len(o.MaxRanks), d, d-1)
	case math.IsNaN(o.Tol) || o.Tol < 0:
		return nil, inputErr(fn, "TTOptions.Tol", "%v is not ≥ 0", o.Tol)
	}
	for k := range caps {
		caps[k] = o.MaxRank
		if o.MaxRanks != nil {
			if o.MaxRanks[k] < 1 {
				return nil, inputErr(fn, "TTOptions.MaxRanks", "%v: bond %d's cap is below 1", o.MaxRanks, k)
			}
			caps[k] = o.MaxRanks[k]
		}
		if caps[k] == 0 {
			caps[k] = math.MaxInt
		}
	}
	delta := o.Tol / math.Sqrt(float64(d-1)) * t.Norm()

	tt := &TT{
		Cores:     make([]*Tensor, d),
		Spectra:   make([][]float64, d-1),
		Discarded: make([][]float64, d-1),
	}
	rest := len(t.Data)
	c := t.Data // the remainder, r_k × I_k × … × I_{d−1} row-major
	r := 1
	for k := range d - 1 {
		rows := r * t.Shape[k]
		rest /= t.Shape[k]
		a := mat.NewDense(rows, rest, c)
		var svd mat.SVD
		if !svd.Factorize(a, mat.SVDThinU) {
			return nil, fmt.Errorf("decomp.%s: bond %d: %w", fn, k, ErrSVD)
		}
		s := svd.Values(nil)
		next := min(caps[k], truncRank(s, delta))
		var u mat.Dense
		svd.UTo(&u)
		uk := mat.DenseCopyOf(u.Slice(0, rows, 0, next))
		tt.Cores[k] = &Tensor{Shape: []int{r, t.Shape[k], next}, Data: uk.RawMatrix().Data}
		tt.Spectra[k] = s
		tt.Discarded[k] = s[next:]
		// The new remainder Uₖᵀ·a equals Σₖ·Vₖᵀ on the kept singular values.
		var cn mat.Dense
		cn.Mul(uk.T(), a)
		c = cn.RawMatrix().Data
		r = next
	}
	tt.Cores[d-1] = &Tensor{Shape: []int{r, t.Shape[d-1], 1}, Data: c}
	return tt, nil
}

// truncRank returns the fewest leading singular values (at least one) whose
// discarded tail s[r:] has Euclidean norm ≤ delta.
func truncRank(s []float64, delta float64) int {
	var tail float64 // squared norm of s[r:]
	for r := len(s); r > 1; r-- {
		tail += s[r-1] * s[r-1]
		if math.Sqrt(tail) > delta {
			return r
		}
	}
	return 1
}
