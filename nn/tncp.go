package nn

// CPLinear: a linear layer whose weight tensor is a sum of R rank-one
// terms (CANDECOMP/PARAFAC).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/tenpc/tenpc/decomp"
	"gonum.org/v1/gonum/mat"
)

// CPLinear is y = x Wᵀ + b with W (Out, In), reshaped like an MPO's to the
// modes (m₀n₀, …, m_{d−1}n_{d−1}), a CP decomposition of rank R:
//
//	W[(i₀…i_{d−1}), (j₀…j_{d−1})] = Σ_r F₀[r, i₀, j₀] · F₁[r, i₁, j₁] ⋯ F_{d−1}[r, i_{d−1}, j_{d−1}]
//
// with factor k of shape (R, m_k, n_k): a sum of R Kronecker products of
// d small matrices, or an MPO whose bonds are all R and diagonal. Its one
// bond, "rank", indexes the terms.
//
// Forward contracts x with one factor at a time, keeping r as a batch
// index after the first (each step a GEMM per r); the order (right to left
// or left to right) is the cheaper one, and the multiply-adds per sample
// are those of an MPO of the same modes with r_k = R but without the R²
// of a dense bond: right to left, Σ_k (n₀⋯n_{k−1})·R·m_k·n_k·(m_{k+1}⋯).
type CPLinear struct {
	Factors []*Param
	Bias    *Param // nil without bias
	// order forces the contraction order in tests: 0 the cheaper, 1 right
	// to left, 2 left to right.
	order int
}

// CPConfig describes a CPLinear.
type CPConfig struct {
	// OutModes and InModes factorize Out and In, one pair per factor (d ≥ 2
	// of each; a mode of size 1 is allowed).
	OutModes, InModes []int
	// Rank is R, the number of rank-one terms.
	Rank int
	Bias bool
}

// NewCPLinear returns a CPLinear with factors drawn from N(0, σ²), σ
// chosen so that W's entries have the variance of nn.Linear's
// initialisation (1/(3·In)): σ^{2d} = 1/(3·In·R). The bias is uniform in
// ±1/√In.
func NewCPLinear(cfg CPConfig, dt DType, rng *rand.Rand) (*CPLinear, error) {
	const fn = "NewCPLinear"
	if err := checkModes(fn, cfg.OutModes, cfg.InModes, true, 2); err != nil {
		return nil, err
	}
	if cfg.Rank < 1 {
		return nil, fmt.Errorf("nn.%s: rank %d is below 1", fn, cfg.Rank)
	}
	d := len(cfg.OutModes)
	in := sizeOf(cfg.InModes)
	sigma := math.Pow(1/(3*float64(in)*float64(cfg.Rank)), 1/float64(2*d))
	l := &CPLinear{}
	for k := range d {
		f := NewParam("factor", dt, cfg.Rank, cfg.OutModes[k], cfg.InModes[k])
		NormalInit(f, 0, sigma, rng)
		l.Factors = append(l.Factors, f)
	}
	if cfg.Bias {
		l.Bias = NewParam("bias", dt, sizeOf(cfg.OutModes))
		bound := 1 / math.Sqrt(float64(in))
		UniformInit(l.Bias, -bound, bound, rng)
	}
	return l, nil
}

// CPFromDense builds a CPLinear from a dense W (Out, In) and a bias (nil:
// none) by CP-ALS (decomp.CPALS, SVD start) of W reshaped to (m₀n₀, …).
// The rank is t.Rank; with t.Tol it is the smallest rank up to t.Rank
// (default: the rank at which the CP has as many parameters as W) whose fit
// has relative error ≤ t.Tol, searched by doubling then bisection, or the
// cap if none reaches it. Each term's weight λ_r is spread evenly over its
// d factors (λ_r^{1/d} each).
func CPFromDense(w, bias []float64, outModes, inModes []int, t Truncation, dt DType) (*CPLinear, *TNFit, error) {
	const fn = "CPFromDense"
	if err := checkModes(fn, outModes, inModes, true, 2); err != nil {
		return nil, nil, err
	}
	if err := checkDense(fn, w, bias, outModes, inModes); err != nil {
		return nil, nil, err
	}
	if err := t.check(fn); err != nil {
		return nil, nil, err
	}
	switch {
	case t.Ranks != nil && len(t.Ranks) != 1:
		return nil, nil, fmt.Errorf("nn.%s: truncation ranks %v: a CP has one rank", fn, t.Ranks)
	case t.Ranks != nil:
		t.Rank = t.Ranks[0]
	}
	if t.Rank == 0 && t.Tol == 0 {
		return nil, nil, fmt.Errorf("nn.%s: no rank and no tolerance; a CP needs one of them", fn)
	}
	x, err := pairedTensor(w, outModes, inModes)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.%s: %w", fn, err)
	}
	wnorm := norm(w)
	fitRank := func(r int) (*decomp.CP, float64, error) {
		cp, err := decomp.CPALS(x, r, &decomp.CPOptions{Init: decomp.InitSVD, MaxIter: t.Sweeps, Seed: t.Seed})
		if err != nil {
			return nil, 0, fmt.Errorf("nn.%s: rank %d: %w", fn, r, err)
		}
		return cp, distance(x.Data, cp.Full().Data), nil
	}
	var cp *decomp.CP
	var e float64
	if t.Tol == 0 {
		if cp, e, err = fitRank(t.Rank); err != nil {
			return nil, nil, err
		}
	} else {
		limit := t.Rank
		if limit == 0 {
			perRank := 0
			for k := range outModes {
				perRank += outModes[k] * inModes[k]
			}
			limit = max(1, (len(w)+perRank-1)/perRank)
		}
		if cp, e, err = cpSearch(fitRank, limit, t.Tol*wnorm); err != nil {
			return nil, nil, err
		}
	}
	d := len(outModes)
	l := &CPLinear{Bias: biasParam(bias, dt)}
	R := cp.Rank()
	for k, f := range cp.Factors {
		vals := make([]float64, R*outModes[k]*inModes[k])
		rows, _ := f.Dims()
		for r := range R {
			scale := math.Pow(cp.Weights[r], 1/float64(d))
			for i := range rows {
				vals[r*rows+i] = scale * f.At(i, r)
			}
		}
		l.Factors = append(l.Factors, fitParam("factor", dt, vals, R, outModes[k], inModes[k]))
	}
	return l, &TNFit{Ranks: []int{R}, ErrorBound: math.NaN(), Error: e, Norm: wnorm}, nil
}

// cpSearch finds the smallest rank ≤ limit whose fit error is ≤ target:
// ranks 1, 2, 4, … until one reaches it, then bisection between the last
// that did not and the first that did. CP-ALS errors are not monotone in
// the rank, so this is the smallest rank found, not always the smallest
// there is. Without success it returns the fit at limit.
func cpSearch(fit func(int) (*decomp.CP, float64, error), limit int, target float64) (*decomp.CP, float64, error) {
	var best *decomp.CP
	bestErr := math.Inf(1)
	lo, hi := 0, 0 // lo fails (0: none tried), hi succeeds
	for r := 1; ; r = min(2*r, limit) {
		cp, e, err := fit(r)
		if err != nil {
			return nil, 0, err
		}
		if e <= target {
			best, bestErr, hi = cp, e, r
			break
		}
		lo = r
		if r == limit {
			return cp, e, nil
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		cp, e, err := fit(mid)
		if err != nil {
			return nil, 0, err
		}
		if e <= target {
			best, bestErr, hi = cp, e, mid
		} else {
			lo = mid
		}
	}
	return best, bestErr, nil
}

// OutModes returns (m₀, …).
func (l *CPLinear) OutModes() []int {
	out := make([]int, len(l.Factors))
	for k, f := range l.Factors {
		out[k] = f.shape[1]
	}
	return out
}

// InModes returns (n₀, …).
func (l *CPLinear) InModes() []int {
	out := make([]int, len(l.Factors))
	for k, f := range l.Factors {
		out[k] = f.shape[2]
	}
	return out
}

// Rank returns R.
func (l *CPLinear) Rank() int { return l.Factors[0].shape[0] }

// Dims returns (Out, In).
func (l *CPLinear) Dims() (out, in int) { return sizeOf(l.OutModes()), sizeOf(l.InModes()) }

// ParamCount is the number of parameters: factors and bias.
func (l *CPLinear) ParamCount() int { return ParamCount(l) }

// FLOPs is 2·n times the multiply-adds per sample of the order Forward uses.
func (l *CPLinear) FLOPs(n int) int64 { return 2 * int64(n) * l.chain().macs() }

// Describe implements Describer: "In → Out, CP out modes ← in modes,
// rank R".
func (l *CPLinear) Describe() string {
	out, in := l.Dims()
	return fmt.Sprintf("%d → %d, CP %s ← %s, rank %d", in, out, modeString(l.OutModes()), modeString(l.InModes()), l.Rank())
}

// Forward maps x (N, In) to (N, Out).
func (l *CPLinear) Forward(x *Node) *Node { return tnForward(l.chain(), x, l.Factors, l.Bias) }

func (l *CPLinear) chain() *tnChain {
	ms, ns, R := l.OutModes(), l.InModes(), l.Rank()
	rl, lr := cpChain(ms, ns, R, false), cpChain(ms, ns, R, true)
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

// cpChain plans the contraction of a CP of modes ms, ns and rank R: right
// to left, or left to right when ltr.
//
//	right to left: (n…, B) -> (n₀ … n_{d−2}, R, m_{d−1}, B) -> … -> (n₀ … n_{k−1}, R, m_k …, B) -> (m…, B)
//	left to right: (n…, B) -> (m₀, R, n₁ … n_{d−1}, B) -> … -> (m₀ … m_k, R, n_{k+1} …, B) -> (m…, B)
func cpChain(ms, ns []int, R int, ltr bool) *tnChain {
	d := len(ms)
	c := &tnChain{name: fmt.Sprintf("CP(%s←%s, R=%d)", modeString(ms), modeString(ns), R), in: sizeOf(ns), out: sizeOf(ms)}
	for k := range d {
		c.factorShapes = append(c.factorShapes, []int{R, ms[k], ns[k]})
	}
	rank := func(axis int) []tnBond { return []tnBond{{"rank", axis}} }
	if !ltr {
		last := tnStep{factor: d - 1, P: sizeOf(ns[:d-1]), K: ns[d-1], K2: R * ms[d-1], Q: 1,
			dims: append(append(slices.Clone(ns[:d-1]), R), ms[d-1]), bonds: rank(d - 1)}
		c.steps = append(c.steps, last)
		for k := d - 2; k >= 0; k-- {
			s := tnStep{factor: k, diag: true, outRFirst: true, P: sizeOf(ns[:k]), K: ns[k], K2: ms[k], Q: sizeOf(ms[k+1:]), R: R}
			if k == 0 {
				s.sum, s.dims = true, slices.Clone(ms)
			} else {
				s.dims, s.bonds = append(append(slices.Clone(ns[:k]), R), ms[k:]...), rank(k)
			}
			c.steps = append(c.steps, s)
		}
		return c
	}
	// A[(i, r), j] = F₀[r, i, j]: the factor's axes (1, 0, 2).
	first := tnStep{factor: 0, perm: []int{1, 0, 2}, P: 1, K: ns[0], K2: ms[0] * R, Q: sizeOf(ns[1:]),
		dims: append([]int{ms[0], R}, ns[1:]...), bonds: rank(1)}
	c.steps = append(c.steps, first)
	for k := 1; k < d; k++ {
		s := tnStep{factor: k, diag: true, inRFirst: true, P: sizeOf(ms[:k]), K: ns[k], K2: ms[k], Q: sizeOf(ns[k+1:]), R: R}
		if k == d-1 {
			s.sum, s.dims = true, slices.Clone(ms)
		} else {
			s.dims, s.bonds = append(append(slices.Clone(ms[:k+1]), R), ns[k+1:]...), rank(k+1)
		}
		c.steps = append(c.steps, s)
	}
	return c
}

// Dense reconstructs W (Out, In) from the factors (decomp.CP.Full).
func (l *CPLinear) Dense() []float64 {
	ms, ns, R := l.OutModes(), l.InModes(), l.Rank()
	cp := &decomp.CP{Weights: make([]float64, R)}
	for r := range cp.Weights {
		cp.Weights[r] = 1
	}
	for k, f := range l.Factors {
		// Factor k as the (m_k·n_k) × R matrix of decomp's layout.
		a := mat.NewDense(R, ms[k]*ns[k], f.Value())
		cp.Factors = append(cp.Factors, mat.DenseCopyOf(a.T()))
	}
	w, err := unpairTensor(cp.Full(), ms, ns)
	if err != nil {
		panic(fmt.Sprintf("nn.CPLinear.Dense: %v", err)) // the shapes come from the factors
	}
	return w
}

// BondSpectra returns one spectrum, "rank": the Frobenius norms of the R
// rank-one terms (∏_k ‖F_k[r]‖), descending. CP terms are not orthogonal,
// so unlike an MPO's these are not singular values of W.
func (l *CPLinear) BondSpectra() ([]BondSpectrum, error) {
	R := l.Rank()
	vals := make([]float64, R)
	for r := range vals {
		vals[r] = 1
	}
	for _, f := range l.Factors {
		v := f.Value()
		per := len(v) / R
		for r := range R {
			vals[r] *= norm(v[r*per : (r+1)*per])
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(vals)))
	return []BondSpectrum{{Bond: "rank", Values: vals}}, nil
}

// BondActivations returns the statistics, per term r, of x (n, In)
// contracted with the factors Forward has applied before each step that
// keeps r.
func (l *CPLinear) BondActivations(x []float64, n int) ([]BondStats, error) {
	return bondActivations(l.chain(), paramsOf(l.Factors), x, n, "CPLinear")
}

// SparseLayers returns the layer as the sparse matrices of its steps, one
// per factor.
func (l *CPLinear) SparseLayers() []SparseMatrix { return sparseLayers(l.chain(), paramsOf(l.Factors)) }
