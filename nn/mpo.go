package nn

// MPOLinear: a linear layer whose weight matrix is a matrix product
// operator (tensor train, Novikov et al. 2015, "Tensorizing neural
// networks").

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tenpc/tenpc/decomp"
	"gonum.org/v1/gonum/mat"
)

// MPOLinear is y = x Wᵀ + b with W (Out, In) a matrix product operator:
// Out = m₀⋯m_{d−1}, In = n₀⋯n_{d−1} and
//
//	W[(i₀…i_{d−1}), (j₀…j_{d−1})] = G₀[:, i₀, j₀, :] · G₁[:, i₁, j₁, :] ⋯ G_{d−1}[:, i_{d−1}, j_{d−1}, :]
//
// with core k of shape (r_k, m_k, n_k, r_{k+1}), r₀ = r_d = 1; bond k
// (1 ≤ k < d) joins cores k−1 and k and has dimension r_k. Row and column
// indices are row-major in their modes (i₀ slowest).
//
// Forward contracts x with one core at a time, never forming W: right to
// left (core d−1 first), or left to right, whichever costs fewer
// multiply-adds. Right to left, the step of core k costs
//
//	(n₀⋯n_{k−1}) · (r_k m_k) · (n_k r_{k+1}) · (m_{k+1}⋯m_{d−1})
//
// multiply-adds per sample (left to right: the m's before k and the n's
// after it), so an MPO is cheap when the modes left over at each step are
// small: large out modes first and large in modes last.
type MPOLinear struct {
	Cores []*Param
	Bias  *Param // nil without bias
	// order forces the contraction order in tests: 0 the cheaper, 1 right
	// to left, 2 left to right.
	order int
}

// MPOConfig describes an MPOLinear.
type MPOConfig struct {
	// OutModes and InModes factorize Out and In, one pair per core (d ≥ 2
	// of each; a mode of size 1 is allowed).
	OutModes, InModes []int
	// Rank is every bond's dimension; Ranks, when non-nil, gives one per
	// bond (d−1) instead. A bond is capped at the largest useful dimension,
	// min(∏_{l<k} m_l n_l, ∏_{l≥k} m_l n_l).
	Rank  int
	Ranks []int
	// Bias adds a bias (default none).
	Bias bool
}

// NewMPOLinear returns an MPOLinear with cores drawn from N(0, σ²), σ chosen
// so that W's entries have the variance of nn.Linear's uniform ±1/√In
// initialisation (1/(3·In)): σ^{2d} = 1/(3·In·∏ r_k). The bias is uniform in
// ±1/√In. A bad configuration returns a one-line error naming it.
func NewMPOLinear(cfg MPOConfig, dt DType, rng *rand.Rand) (*MPOLinear, error) {
	const fn = "NewMPOLinear"
	if err := checkModes(fn, cfg.OutModes, cfg.InModes, true, 2); err != nil {
		return nil, err
	}
	d := len(cfg.OutModes)
	ranks := make([]int, d+1)
	ranks[0], ranks[d] = 1, 1
	switch {
	case cfg.Ranks != nil && len(cfg.Ranks) != d-1:
		return nil, fmt.Errorf("nn.%s: ranks %v: %d modes make %d bonds", fn, cfg.Ranks, d, d-1)
	case cfg.Ranks == nil && cfg.Rank < 1:
		return nil, fmt.Errorf("nn.%s: rank %d is below 1", fn, cfg.Rank)
	}
	for k := 1; k < d; k++ {
		r := cfg.Rank
		if cfg.Ranks != nil {
			r = cfg.Ranks[k-1]
		}
		if r < 1 {
			return nil, fmt.Errorf("nn.%s: ranks %v hold a rank below 1", fn, cfg.Ranks)
		}
		ranks[k] = min(r, mpoMaxRank(cfg.OutModes, cfg.InModes, k))
	}
	in := sizeOf(cfg.InModes)
	bondProd := float64(sizeOf(ranks))
	sigma := math.Pow(1/(3*float64(in)*bondProd), 1/float64(2*d))
	l := &MPOLinear{Cores: make([]*Param, d)}
	for k := range d {
		l.Cores[k] = NewParam("core", dt, ranks[k], cfg.OutModes[k], cfg.InModes[k], ranks[k+1])
		NormalInit(l.Cores[k], 0, sigma, rng)
	}
	if cfg.Bias {
		l.Bias = NewParam("bias", dt, sizeOf(cfg.OutModes))
		bound := 1 / math.Sqrt(float64(in))
		UniformInit(l.Bias, -bound, bound, rng)
	}
	return l, nil
}

// mpoMaxRank is the largest useful dimension of bond k: the rank of W's
// unfolding there.
func mpoMaxRank(ms, ns []int, k int) int {
	left, right := 1, 1
	for l := range ms {
		if l < k {
			left *= ms[l] * ns[l]
		} else {
			right *= ms[l] * ns[l]
		}
	}
	return min(left, right)
}

// MPOFromDense builds an MPOLinear from a dense W (Out, In) row-major and
// a bias (nil: none) by TT-SVD (decomp.TTSVD) of W reshaped to the modes
// (m₀n₀, m₁n₁, …), truncated as t says (Rank/Ranks cap the bonds, Tol
// bounds the relative error). The fit reports the ranks kept, every bond's
// spectrum and the discarded singular values; ‖W − Dense()‖ equals
// fit.ErrorBound up to rounding (and the float32 cast when dt is Float32).
func MPOFromDense(w, bias []float64, outModes, inModes []int, t Truncation, dt DType) (*MPOLinear, *TNFit, error) {
	const fn = "MPOFromDense"
	if err := checkModes(fn, outModes, inModes, true, 2); err != nil {
		return nil, nil, err
	}
	if err := checkDense(fn, w, bias, outModes, inModes); err != nil {
		return nil, nil, err
	}
	if err := t.check(fn); err != nil {
		return nil, nil, err
	}
	d := len(outModes)
	if t.Ranks != nil && len(t.Ranks) != d-1 {
		return nil, nil, fmt.Errorf("nn.%s: truncation ranks %v: %d modes make %d bonds", fn, t.Ranks, d, d-1)
	}
	x, err := pairedTensor(w, outModes, inModes)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.%s: %w", fn, err)
	}
	tt, err := decomp.TTSVD(x, &decomp.TTOptions{MaxRank: t.Rank, MaxRanks: t.Ranks, Tol: t.Tol})
	if err != nil {
		return nil, nil, fmt.Errorf("nn.%s: %w", fn, err)
	}
	l := &MPOLinear{Cores: make([]*Param, d), Bias: biasParam(bias, dt)}
	for k, c := range tt.Cores {
		l.Cores[k] = fitParam("core", dt, c.Data, c.Shape[0], outModes[k], inModes[k], c.Shape[2])
	}
	ranks := tt.Ranks()
	full, err := unpairTensor(tt.Full(), outModes, inModes)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.%s: %w", fn, err)
	}
	fit := &TNFit{Ranks: ranks[1:d], Spectra: tt.Spectra, Discarded: tt.Discarded, ErrorBound: tt.ErrorBound(),
		Error: distance(w, full), Norm: norm(w)}
	return l, fit, nil
}

// pairedTensor reshapes W (Out, In) to the tensor (m₀n₀, m₁n₁, …) whose
// mode k pairs row digit i_k with column digit j_k.
func pairedTensor(w []float64, outModes, inModes []int) (*decomp.Tensor, error) {
	d := len(outModes)
	x, err := decomp.FromSlice(w, append(slices.Clone(outModes), inModes...)...)
	if err != nil {
		return nil, err
	}
	perm := make([]int, 2*d)
	for k := range d {
		perm[2*k], perm[2*k+1] = k, d+k
	}
	if x, err = x.Permute(perm...); err != nil {
		return nil, err
	}
	shape := make([]int, d)
	for k := range d {
		shape[k] = outModes[k] * inModes[k]
	}
	return x.Reshape(shape...)
}

// unpairTensor is the inverse of pairedTensor: W (Out, In) row-major.
func unpairTensor(x *decomp.Tensor, outModes, inModes []int) ([]float64, error) {
	d := len(outModes)
	shape := make([]int, 0, 2*d)
	for k := range d {
		shape = append(shape, outModes[k], inModes[k])
	}
	y, err := x.Reshape(shape...)
	if err != nil {
		return nil, err
	}
	perm := make([]int, 2*d)
	for k := range d {
		perm[k], perm[d+k] = 2*k, 2*k+1
	}
	if y, err = y.Permute(perm...); err != nil {
		return nil, err
	}
	return y.Data, nil
}

// OutModes returns (m₀, …, m_{d−1}).
func (l *MPOLinear) OutModes() []int {
	ms := make([]int, len(l.Cores))
	for k, c := range l.Cores {
		ms[k] = c.shape[1]
	}
	return ms
}

// InModes returns (n₀, …, n_{d−1}).
func (l *MPOLinear) InModes() []int {
	ns := make([]int, len(l.Cores))
	for k, c := range l.Cores {
		ns[k] = c.shape[2]
	}
	return ns
}

// Ranks returns the bond dimensions (r₁, …, r_{d−1}).
func (l *MPOLinear) Ranks() []int {
	rs := make([]int, len(l.Cores)-1)
	for k := range rs {
		rs[k] = l.Cores[k].shape[3]
	}
	return rs
}

// Dims returns (Out, In).
func (l *MPOLinear) Dims() (out, in int) { return sizeOf(l.OutModes()), sizeOf(l.InModes()) }

// ParamCount is the number of parameters: the cores' entries and the bias.
func (l *MPOLinear) ParamCount() int { return ParamCount(l) }

// FLOPs is 2·n times the multiply-adds per sample of the contraction order
// Forward uses.
func (l *MPOLinear) FLOPs(n int) int64 { return 2 * int64(n) * l.chain().macs() }

// Describe implements Describer: "In → Out, MPO out modes ← in modes,
// bonds [r₁ …]".
func (l *MPOLinear) Describe() string {
	out, in := l.Dims()
	return fmt.Sprintf("%d → %d, MPO %s ← %s, bonds %v", in, out, modeString(l.OutModes()), modeString(l.InModes()), l.Ranks())
}

// Forward maps x (N, In) to (N, Out).
func (l *MPOLinear) Forward(x *Node) *Node { return tnForward(l.chain(), x, l.Cores, l.Bias) }

// chain returns the contraction plan: the cheaper of the two orders unless
// a test forced one.
func (l *MPOLinear) chain() *tnChain {
	ms, ns := l.OutModes(), l.InModes()
	rs := append(append([]int{1}, l.Ranks()...), 1)
	rl, lr := mpoChain(ms, ns, rs, false), mpoChain(ms, ns, rs, true)
	switch {
	case l.order == 1:
		return rl
	case l.order == 2:
		return lr
	case lr.macs() < rl.macs():
		return lr
	}
	return rl
}

// mpoChain plans the contraction of an MPO with modes ms, ns and ranks rs
// (r₀ … r_d): right to left, or left to right when ltr.
//
//	right to left, before core k: (n₀ … n_k, r_{k+1}, m_{k+1} … m_{d−1}, B)
//	left to right, before core k: (m₀ … m_{k−1}, r_k, n_k … n_{d−1}, B)
func mpoChain(ms, ns, rs []int, ltr bool) *tnChain {
	d := len(ms)
	c := &tnChain{name: fmt.Sprintf("MPO(%s←%s, r=%v)", modeString(ms), modeString(ns), rs[1:d]), in: sizeOf(ns), out: sizeOf(ms)}
	for k := range d {
		c.factorShapes = append(c.factorShapes, []int{rs[k], ms[k], ns[k], rs[k+1]})
	}
	if !ltr {
		for k := d - 1; k >= 0; k-- {
			s := tnStep{factor: k, P: sizeOf(ns[:k]), K: ns[k] * rs[k+1], K2: rs[k] * ms[k], Q: sizeOf(ms[k+1:])}
			s.dims = append(append(slices.Clone(ns[:k]), rs[k]), ms[k:]...)
			if k > 0 {
				s.bonds = []tnBond{{fmt.Sprintf("bond %d", k), k}}
			}
			c.steps = append(c.steps, s)
		}
		return c
	}
	for k := range d {
		// A[(i, β), (α, j)] = G_k[α, i, j, β]: the core's axes (1, 3, 0, 2).
		s := tnStep{factor: k, perm: []int{1, 3, 0, 2}, P: sizeOf(ms[:k]), K: rs[k] * ns[k], K2: ms[k] * rs[k+1], Q: sizeOf(ns[k+1:])}
		s.dims = append(append(slices.Clone(ms[:k+1]), rs[k+1]), ns[k+1:]...)
		if k < d-1 {
			s.bonds = []tnBond{{fmt.Sprintf("bond %d", k+1), k + 1}}
		}
		c.steps = append(c.steps, s)
	}
	return c
}

// Dense reconstructs W (Out, In) by contracting the cores (decomp.TT.Full).
func (l *MPOLinear) Dense() []float64 {
	tt := &decomp.TT{Cores: make([]*decomp.Tensor, len(l.Cores))}
	for k, c := range l.Cores {
		tt.Cores[k] = &decomp.Tensor{Shape: []int{c.shape[0], c.shape[1] * c.shape[2], c.shape[3]}, Data: c.Value()}
	}
	w, err := unpairTensor(tt.Full(), l.OutModes(), l.InModes())
	if err != nil {
		panic(fmt.Sprintf("nn.MPOLinear.Dense: %v", err)) // the shapes come from the cores
	}
	return w
}

// BondSpectra returns the singular values of W's unfolding at every bond
// ((m₀n₀⋯m_{k−1}n_{k−1}) × (m_k n_k⋯)), computed from the cores: a QR sweep
// left to right makes every core left-orthonormal, then an SVD sweep right
// to left reads each bond's singular values off its core (the TT-rounding
// sweep of Oseledets 2011, without truncation). Bond k has at most r_k
// values, exactly those TT-SVD of Dense() finds there.
func (l *MPOLinear) BondSpectra() ([]BondSpectrum, error) {
	d := len(l.Cores)
	cores := make([]*mat.Dense, d) // core k as (r_k, m_k·n_k·r_{k+1})
	rs := make([]int, d+1)
	mn := make([]int, d)
	rs[0], rs[d] = 1, 1
	for k, c := range l.Cores {
		rs[k+1] = c.shape[3]
		mn[k] = c.shape[1] * c.shape[2]
		cores[k] = mat.NewDense(c.shape[0], mn[k]*c.shape[3], c.Value())
	}
	// Left to right: core k reshaped (r_k·mn_k, r_{k+1}) = Q·R; Q is the
	// new core, R moves into core k+1.
	for k := range d - 1 {
		a := mat.NewDense(rs[k]*mn[k], rs[k+1], cores[k].RawMatrix().Data)
		var qr mat.QR
		qr.Factorize(a)
		rows := rs[k] * mn[k]
		q := min(rows, rs[k+1])
		var qf, rf mat.Dense
		qr.QTo(&qf)
		qr.RTo(&rf)
		qk := mat.DenseCopyOf(qf.Slice(0, rows, 0, q))
		rk := rf.Slice(0, q, 0, rs[k+1])
		cores[k] = mat.NewDense(rs[k], mn[k]*q, qk.RawMatrix().Data)
		var next mat.Dense
		next.Mul(rk, cores[k+1])
		cores[k+1] = &next
		rs[k+1] = q
	}
	// Right to left: core k = U·S·Vᵀ; S is bond k's spectrum, Vᵀ the new
	// right-orthonormal core, U·S moves into core k−1.
	out := make([]BondSpectrum, d-1)
	for k := d - 1; k >= 1; k-- {
		var svd mat.SVD
		if !svd.Factorize(cores[k], mat.SVDThin) {
			return nil, fmt.Errorf("nn.MPOLinear.BondSpectra: bond %d: %w", k, decomp.ErrSVD)
		}
		s := svd.Values(nil)
		out[k-1] = BondSpectrum{Bond: fmt.Sprintf("bond %d", k), Values: s}
		var u, v mat.Dense
		svd.UTo(&u)
		svd.VTo(&v)
		n := len(s)
		us := mat.DenseCopyOf(u.Slice(0, rs[k], 0, n))
		for j := range n {
			for i := range rs[k] {
				us.Set(i, j, us.At(i, j)*s[j])
			}
		}
		cores[k] = mat.DenseCopyOf(v.T())
		// Core k−1 as (r_{k−1}·mn_{k−1}, r_k) times U·S.
		prev := mat.NewDense(rs[k-1]*mn[k-1], rs[k], cores[k-1].RawMatrix().Data)
		var m mat.Dense
		m.Mul(prev, us)
		cores[k-1] = mat.NewDense(rs[k-1], mn[k-1]*n, m.RawMatrix().Data)
		rs[k] = n
	}
	return out, nil
}

// BondActivations returns, for each bond, the statistics of the state that
// carries it in Forward's contraction order on x (n, In): right to left
// the contraction of x with cores k … d−1 (bond k), left to right with
// cores 0 … k−1.
func (l *MPOLinear) BondActivations(x []float64, n int) ([]BondStats, error) {
	return bondActivations(l.chain(), paramsOf(l.Cores), x, n, "MPOLinear")
}

// SparseLayers returns the MPO as d sparse matrices, one per core, in the
// order Forward applies them: y = S_{d−1} ⋯ S₀·x for one sample (bias
// excluded). Right to left, the layer of core k maps (n₀…n_k, r_{k+1},
// m_{k+1}…) to (n₀…n_{k−1}, r_k, m_k…) and is I ⊗ G_k ⊗ I: a fully
// connected layer between bond spaces in which each output meets only the
// inputs of its block.
func (l *MPOLinear) SparseLayers() []SparseMatrix { return sparseLayers(l.chain(), paramsOf(l.Cores)) }

// distance is ‖a − b‖ (Frobenius).
func distance(a, b []float64) float64 {
	var s float64
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return math.Sqrt(s)
}

// norm is ‖a‖ (Frobenius).
func norm(a []float64) float64 {
	var s float64
	for _, v := range a {
		s += v * v
	}
	return math.Sqrt(s)
}
