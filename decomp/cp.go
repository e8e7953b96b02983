package decomp

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// CP is a rank-R CANDECOMP/PARAFAC decomposition
//
//	X ≈ Σᵣ Weights[r] · Factors[0][:, r] ∘ Factors[1][:, r] ∘ … ∘ Factors[N−1][:, r],
//
// TensorLy's CPTensor (weights, factors). Factors[n] is Iₙ × R; its
// columns have unit Euclidean norm, except that a component whose weight is 0
// has constant columns 1/√Iₙ. Weights are ≥ 0. Components are in no
// particular order.
type CP struct {
	Weights []float64
	Factors []*mat.Dense
	// Trace holds the relative error ‖X − X̂‖/‖X‖ of the starting point and
	// after each sweep (one update of every factor); it is non-increasing
	// up to rounding, and len(Trace)−1 sweeps were run.
	Trace []float64
	// Converged reports that the last sweep changed the relative error by
	// less than CPOptions.Tol; false means the sweeps ran out.
	Converged bool
}

// Rank returns the number of components R.
func (c *CP) Rank() int { return len(c.Weights) }

// Shape returns the shape of the tensor c approximates, the factors' row
// counts.
func (c *CP) Shape() []int {
	s := make([]int, len(c.Factors))
	for n, f := range c.Factors {
		s[n], _ = f.Dims()
	}
	return s
}

// Full returns the tensor c represents. It panics if the factors' column
// counts differ from len(Weights).
func (c *CP) Full() *Tensor {
	shape := c.Shape()
	// X₍₀₎ = (A₀·Λ)·(A₁ ⊙ … ⊙ A_{N−1})ᵀ, and the mode-0 unfolding of a
	// row-major tensor is its data.
	var a0 mat.Dense
	a0.Scale(1, c.Factors[0])
	scaleCols(&a0, c.Weights)
	var x mat.Dense
	x.Mul(&a0, khatriRao(c.Factors[1:], c.Rank()).T())
	return &Tensor{Shape: shape, Data: x.RawMatrix().Data}
}

// Init is how a CP decomposition picks its starting factors.
type Init int

const (
	// InitRandom draws every factor entry uniformly from [0, 1), as
	// TensorLy's init="random".
	InitRandom Init = iota
	// InitSVD starts factor n from the leading R left singular vectors of
	// the mode-n unfolding (their absolute values for NonNegativeCP), with
	// random columns as for InitRandom beyond the Iₙ available, as
	// TensorLy's init="svd".
	InitSVD
)

var initNames = []string{"random", "svd"}

func (i Init) String() string {
	if i >= 0 && int(i) < len(initNames) {
		return initNames[i]
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// CPOptions configures CPALS and NonNegativeCP. A nil *CPOptions, and every
// zero field, means the default; the defaults are TensorLy's.
type CPOptions struct {
	// MaxIter is the largest number of sweeps; 0 means 100.
	MaxIter int
	// Tol stops the sweeps once the relative error changes by less than
	// Tol (TensorLy's tol on the reconstruction error); 0 means 1e-8, and a
	// negative Tol runs all MaxIter sweeps.
	Tol float64
	// Init picks the starting factors; the zero value is InitRandom.
	Init Init
	// Rand draws the random starting values; nil means a PCG generator
	// seeded with (Seed, Seed).
	Rand *rand.Rand
	// Seed seeds the default generator when Rand is nil.
	Seed uint64
}

// Default CP settings.
const (
	DefaultCPMaxIter = 100
	DefaultCPTol     = 1e-8
)

// resolve validates o and fills in the defaults.
func (o *CPOptions) resolve(fn string) (CPOptions, error) {
	var r CPOptions
	if o != nil {
		r = *o
	}
	switch {
	case r.MaxIter < 0:
		return r, inputErr(fn, "CPOptions.MaxIter", "%d is negative", r.MaxIter)
	case math.IsNaN(r.Tol):
		return r, inputErr(fn, "CPOptions.Tol", "is NaN")
	case r.Init < 0 || int(r.Init) >= len(initNames):
		return r, inputErr(fn, "CPOptions.Init", "%v is not InitRandom or InitSVD", r.Init)
	}
	if r.MaxIter == 0 {
		r.MaxIter = DefaultCPMaxIter
	}
	if r.Tol == 0 {
		r.Tol = DefaultCPTol
	}
	if r.Rand == nil {
		r.Rand = rand.New(rand.NewPCG(r.Seed, r.Seed))
	}
	return r, nil
}

// CPALS fits a rank-R CP decomposition to t by alternating least squares
// (TensorLy's parafac): each sweep sets every factor in turn to the exact
// least-squares solution given the others, through the pseudo-inverse of the
// R × R Hadamard product of the other factors' Gram matrices, so the error
// never increases.
func CPALS(t *Tensor, rank int, opts *CPOptions) (*CP, error) {
	return fitCP("CPALS", t, rank, opts, false)
}

// NonNegativeCP fits a rank-R CP decomposition with non-negative factors and
// weights to t by hierarchical alternating least squares (HALS, Cichocki and
// Phan 2009; TensorLy's non_negative_parafac_hals): each sweep updates every
// factor one column at a time, each column set to the exact non-negative
// minimizer given the rest, so the error never increases and every entry of
// the result is ≥ 0 exactly. t may have negative entries; the result is then
// the best non-negative fit found.
func NonNegativeCP(t *Tensor, rank int, opts *CPOptions) (*CP, error) {
	return fitCP("NonNegativeCP", t, rank, opts, true)
}

// fitCP runs the sweeps shared by CPALS and NonNegativeCP.
func fitCP(fn string, t *Tensor, rank int, opts *CPOptions, nonNeg bool) (*CP, error) {
	if err := t.checkInput(fn); err != nil {
		return nil, err
	}
	if rank < 1 {
		return nil, inputErr(fn, "rank", "%d is below 1", rank)
	}
	o, err := opts.resolve(fn)
	if err != nil {
		return nil, err
	}
	s, err := newCPState(t, rank, o, nonNeg)
	if err != nil {
		return nil, fmt.Errorf("decomp.%s: initialization: %w", fn, err)
	}
	N := len(t.Shape)
	res := &CP{Trace: []float64{s.relError(s.khatriRaoBut(N - 1))}}
	for range o.MaxIter {
		var k, m, v *mat.Dense
		for n := range N {
			// M = X₍ₙ₎·K is the MTTKRP, V = ⊛_{m≠n} A_mᵀA_m the Gram matrix
			// of K, so that ‖X₍ₙ₎ − B·Kᵀ‖² = ‖X‖² − 2⟨B, M⟩ + tr(B·V·Bᵀ) for
			// the new B = Aₙ·Λ.
			k = s.khatriRaoBut(n) // ∏_{m≠n} I_m × R
			m = &mat.Dense{}
			m.Mul(s.unf[n], k) // Iₙ × R
			v = s.gramBut(n)   // R × R
			var b *mat.Dense
			if nonNeg {
				b = s.scaledFactor(n)
				hals(b, m, v)
			} else if b, err = solveGram(m, v); err != nil {
				return nil, fmt.Errorf("decomp.%s: mode-%d update: %w", fn, n, err)
			}
			s.setFactor(n, b)
		}
		e := s.relErrorFast(k, m, v) // k, m, v of mode N−1
		prev := res.Trace[len(res.Trace)-1]
		res.Trace = append(res.Trace, e)
		if math.Abs(prev-e) < o.Tol || e == 0 {
			res.Converged = true
			break
		}
	}
	res.Weights, res.Factors = s.w, s.a
	return res, nil
}

// cpState is the model and the fixed data of a CP fit.
type cpState struct {
	unf   []*mat.Dense // unf[n] = X₍ₙ₎
	norm  float64      // ‖X‖
	w     []float64    // Λ
	a     []*mat.Dense // unit-norm factors
	gram  []*mat.Dense // gram[n] = aₙᵀaₙ
	resid mat.Dense    // scratch for the residual X₍N−1₎ − A_{N−1}·Λ·Kᵀ
}

func newCPState(t *Tensor, rank int, o CPOptions, nonNeg bool) (*cpState, error) {
	N := len(t.Shape)
	s := &cpState{
		unf:  make([]*mat.Dense, N),
		norm: t.Norm(),
		w:    make([]float64, rank),
		a:    make([]*mat.Dense, N),
		gram: make([]*mat.Dense, N),
	}
	for n := range N {
		s.unf[n] = t.unfold(n)
	}
	for i := range s.w {
		s.w[i] = 1
	}
	for n, In := range t.Shape {
		a := mat.NewDense(In, rank, nil)
		from := 0 // the first column drawn at random
		if o.Init == InitSVD {
			u, _, err := leftSingular(s.unf[n], min(rank, In))
			if err != nil {
				return nil, fmt.Errorf("mode-%d unfolding: %w", n, err)
			}
			a.Copy(u) // the first min(R, Iₙ) columns
			if nonNeg {
				a.Apply(func(_, _ int, v float64) float64 { return math.Abs(v) }, a)
			}
			from = min(rank, In)
		}
		for i := range In {
			for r := from; r < rank; r++ {
				a.Set(i, r, o.Rand.Float64())
			}
		}
		// Move the column norms into the weights so that the starting model
		// is the product of the drawn factors.
		nrm := columnNorms(a)
		for r, v := range nrm {
			s.w[r] *= v
		}
		s.setFactorNorms(n, a, nrm)
	}
	return s, nil
}

// khatriRaoBut returns the Khatri–Rao product of every factor but the n-th,
// in mode order.
func (s *cpState) khatriRaoBut(n int) *mat.Dense {
	fs := make([]*mat.Dense, 0, len(s.a)-1)
	fs = append(fs, s.a[:n]...)
	fs = append(fs, s.a[n+1:]...)
	return khatriRao(fs, len(s.w))
}

// gramBut returns the Hadamard product of every Gram matrix but the n-th.
func (s *cpState) gramBut(n int) *mat.Dense {
	R := len(s.w)
	v := mat.NewDense(R, R, nil)
	for i := range R {
		for j := range R {
			v.Set(i, j, 1)
		}
	}
	for m, g := range s.gram {
		if m != n {
			v.MulElem(v, g)
		}
	}
	return v
}

// scaledFactor returns a copy of Aₙ·Λ.
func (s *cpState) scaledFactor(n int) *mat.Dense {
	b := mat.DenseCopyOf(s.a[n])
	scaleCols(b, s.w)
	return b
}

// setFactor makes b = Aₙ·Λ the new factor n: Λ takes b's column norms and
// Aₙ its normalized columns.
func (s *cpState) setFactor(n int, b *mat.Dense) {
	nrm := columnNorms(b)
	copy(s.w, nrm)
	s.setFactorNorms(n, b, nrm)
}

// setFactorNorms normalizes the columns of a, whose norms are nrm, and stores
// it as factor n. A zero column becomes the constant 1/√Iₙ (its weight is 0,
// so the model is unchanged) and stays revivable by the next updates: its
// diagonal entry in the other modes' Gram products remains 1.
func (s *cpState) setFactorNorms(n int, a *mat.Dense, nrm []float64) {
	In, _ := a.Dims()
	for r, v := range nrm {
		col := a.ColView(r).(*mat.VecDense)
		if v > 0 {
			col.ScaleVec(1/v, col)
			continue
		}
		for i := range In {
			col.SetVec(i, 1/math.Sqrt(float64(In)))
		}
	}
	s.a[n] = a
	var g mat.Dense
	g.Mul(a.T(), a)
	s.gram[n] = &g
}

// relErrorFast returns relError(k) from the identity
// ‖X − X̂‖² = ‖X‖² − 2⟨B, M⟩ + ⟨BᵀB, V⟩ for B = A_{N−1}·Λ and m, v the MTTKRP
// and Gram product of mode N−1, at the cost of R × R products instead of
// relError's I_{N−1}·R·∏ I_m. The identity loses about ε/(2e) of the relative
// error e to cancellation, so below fastErrMin relError does the work.
func (s *cpState) relErrorFast(k, m, v *mat.Dense) float64 {
	if e2 := s.relError2(m, v); e2 >= fastErrMin*fastErrMin {
		return math.Sqrt(e2)
	}
	return s.relError(k)
}

// relError2 returns the squared relative error by relErrorFast's identity,
// or 0 when X = 0.
func (s *cpState) relError2(m, v *mat.Dense) float64 {
	if s.norm == 0 {
		return 0
	}
	b := s.scaledFactor(len(s.a) - 1)
	var btb mat.Dense
	btb.Mul(b.T(), b)
	fit := mat.Sum(mulElem(b, m))
	model := mat.Sum(mulElem(&btb, v))
	return (s.norm*s.norm - 2*fit + model) / (s.norm * s.norm)
}

// fastErrMin is the relative error below which relErrorFast computes the
// residual. Above it the identity's rounding (7e-14 at 1e-2 on a 32³ tensor
// of rank 32, TestCPErrorIdentity) stays well under the 1e-12 the trace's
// monotonicity allows.
const fastErrMin = 1e-2

// mulElem returns the element-wise product of a and b.
func mulElem(a, b *mat.Dense) *mat.Dense {
	var c mat.Dense
	c.MulElem(a, b)
	return &c
}

// relError returns ‖X − X̂‖/‖X‖ (‖X − X̂‖ when X = 0), computed from the
// residual's mode-(N−1) unfolding X₍N−1₎ − A_{N−1}·Λ·Kᵀ with k the Khatri–Rao
// product of the other factors.
func (s *cpState) relError(k *mat.Dense) float64 {
	last := len(s.a) - 1
	b := s.scaledFactor(last)
	s.resid.Reset()
	s.resid.Mul(b, k.T())
	s.resid.Sub(s.unf[last], &s.resid)
	e := mat.Norm(&s.resid, 2) // Frobenius
	if s.norm > 0 {
		return e / s.norm
	}
	return e
}

// hals updates b = Aₙ·Λ in place by one HALS pass: column r becomes
// max(0, b_r + (m_r − b·v_r)/v_rr), the exact non-negative minimizer of
// ‖X₍ₙ₎ − b·Kᵀ‖ over that column with the others fixed, where m = X₍ₙ₎·K and
// v = KᵀK.
func hals(b, m, v *mat.Dense) {
	In, R := b.Dims()
	bv := mat.NewVecDense(In, nil)
	for r := range R {
		vrr := v.At(r, r)
		if vrr <= 0 {
			continue // K's column r is zero: b's column r does not matter
		}
		bv.MulVec(b, v.ColView(r))
		for i := range In {
			b.Set(i, r, max(0, b.At(i, r)+(m.At(i, r)-bv.AtVec(i))/vrr))
		}
	}
}

// khatriRao returns the column-wise Kronecker product A₀ ⊙ A₁ ⊙ …, the
// (∏ I_m) × R matrix with row (i₀·I₁ + i₁)·I₂ + … of column r equal to
// ∏_m A_m[i_m, r], the first factor's index slowest; with no factors it is
// the 1 × R matrix of ones.
func khatriRao(fs []*mat.Dense, R int) *mat.Dense {
	rows := 1
	cur := make([]float64, R)
	for i := range cur {
		cur[i] = 1
	}
	for _, f := range fs {
		In, _ := f.Dims()
		next := make([]float64, rows*In*R)
		for p := range rows {
			prev := cur[p*R : (p+1)*R]
			for i := range In {
				floats.MulTo(next[(p*In+i)*R:(p*In+i+1)*R], prev, f.RawRowView(i))
			}
		}
		rows *= In
		cur = next
	}
	return mat.NewDense(rows, R, cur)
}

// columnNorms returns the Euclidean norm of every column of a.
func columnNorms(a *mat.Dense) []float64 {
	_, c := a.Dims()
	nrm := make([]float64, c)
	for r := range nrm {
		nrm[r] = mat.Norm(a.ColView(r), 2)
	}
	return nrm
}

// scaleCols multiplies column r of a by w[r].
func scaleCols(a *mat.Dense, w []float64) {
	for r, v := range w {
		col := a.ColView(r).(*mat.VecDense)
		col.ScaleVec(v, col)
	}
}
