package decomp

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/mat"
)

// ErrSVD is wrapped by the error returned when LAPACK's SVD does not
// converge, the only numerical failure the decompositions can meet.
var ErrSVD = errors.New("SVD did not converge")

// leftSingular returns the r leading left singular vectors of a (m × r, r ≤ m)
// and all min(m, n) singular values, descending. When r exceeds min(m, n) the
// extra vectors complete an orthonormal basis of the column space's
// complement (from the full U), so the result has orthonormal columns.
func leftSingular(a *mat.Dense, r int) (*mat.Dense, []float64, error) {
	m, n := a.Dims()
	kind := mat.SVDThinU
	if r > min(m, n) {
		kind = mat.SVDFullU
	}
	var svd mat.SVD
	if !svd.Factorize(a, kind) {
		return nil, nil, ErrSVD
	}
	var u mat.Dense
	svd.UTo(&u)
	return mat.DenseCopyOf(u.Slice(0, m, 0, r)), svd.Values(nil), nil
}

// solveGram returns b·V⁺ for a symmetric positive semi-definite r × r matrix V
// (a Hadamard product of Gram matrices): the minimum-norm least-squares
// solution x of x·V = b, through the SVD of V with singular values below
// r·ε·σ_max treated as zero (NumPy's lstsq cut-off).
func solveGram(b *mat.Dense, v *mat.Dense) (*mat.Dense, error) {
	m, r := b.Dims()
	var svd mat.SVD
	if !svd.Factorize(v, mat.SVDThin) {
		return nil, ErrSVD
	}
	x := mat.NewDense(m, r, nil)
	rank := svd.Rank(float64(r) * eps)
	if rank == 0 {
		return x, nil
	}
	// V is symmetric, so x·V = b is V·xᵀ = bᵀ.
	var xt mat.Dense
	svd.SolveTo(&xt, b.T(), rank)
	x.Copy(xt.T())
	return x, nil
}

// eps is the float64 machine epsilon, 2⁻⁵².
var eps = math.Nextafter(1, 2) - 1
