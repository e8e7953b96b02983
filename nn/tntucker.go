package nn

// TuckerLinear: a linear layer whose weight tensor is a Tucker
// decomposition (a core and one factor matrix per mode).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tenpc/tenpc/decomp"
	"gonum.org/v1/gonum/mat"
)

// TuckerLinear is y = x Wᵀ + b with W (Out, In), reshaped to the tensor of
// modes (m₀, …, m_{p−1}, n₀, …, n_{q−1}), a Tucker decomposition
//
//	W = Core ×₀ U₀ ⋯ ×_{p−1} U_{p−1} ×_p V₀ ⋯ ×_{p+q−1} V_{q−1}
//
// with Core (r₀, …, r_{p−1}, s₀, …, s_{q−1}), out factors U_k (m_k, r_k)
// and in factors V_k (n_k, s_k). The out and in mode counts may differ. The
// bonds are the core's modes: "out k" (r_k) and "in k" (s_k).
//
// Forward projects x onto the in factors one mode at a time (x ×_k V_kᵀ,
// n_k → s_k), applies the core as an (∏r) × (∏s) matrix, and expands
// through the out factors (r_k → m_k). Per sample that is
//
//	Σ_k (s₀⋯s_{k−1}) s_k n_k (n_{k+1}⋯)  +  ∏r·∏s  +  Σ_k (m₀⋯m_{k−1}) m_k r_k (r_{k+1}⋯)
//
// multiply-adds.
type TuckerLinear struct {
	Core       *Param
	OutFactors []*Param
	InFactors  []*Param
	Bias       *Param // nil without bias
}

// TuckerConfig describes a TuckerLinear.
type TuckerConfig struct {
	// OutModes and InModes factorize Out and In (one or more each).
	OutModes, InModes []int
	// OutRanks (one per out mode) and InRanks (one per in mode) are the
	// core's sizes; each is capped at its mode's size.
	OutRanks, InRanks []int
	Bias              bool
}

// NewTuckerLinear returns a TuckerLinear with factors drawn from N(0, 1/r)
// (r the factor's rank, so a factor roughly preserves norms) and the core
// from N(0, 1/(3·In)), which gives W's entries the variance of nn.Linear's
// initialisation; the bias is uniform in ±1/√In.
func NewTuckerLinear(cfg TuckerConfig, dt DType, rng *rand.Rand) (*TuckerLinear, error) {
	const fn = "NewTuckerLinear"
	if err := checkModes(fn, cfg.OutModes, cfg.InModes, false, 1); err != nil {
		return nil, err
	}
	if len(cfg.OutRanks) != len(cfg.OutModes) || len(cfg.InRanks) != len(cfg.InModes) {
		return nil, fmt.Errorf("nn.%s: ranks %v, %v: want one per mode of %v, %v", fn, cfg.OutRanks, cfg.InRanks, cfg.OutModes, cfg.InModes)
	}
	for _, r := range append(slices.Clone(cfg.OutRanks), cfg.InRanks...) {
		if r < 1 {
			return nil, fmt.Errorf("nn.%s: ranks %v, %v hold a rank below 1", fn, cfg.OutRanks, cfg.InRanks)
		}
	}
	in := sizeOf(cfg.InModes)
	l := &TuckerLinear{}
	var coreShape []int
	for k, m := range cfg.OutModes {
		r := min(cfg.OutRanks[k], m)
		f := NewParam("factor", dt, m, r)
		NormalInit(f, 0, 1/math.Sqrt(float64(r)), rng)
		l.OutFactors = append(l.OutFactors, f)
		coreShape = append(coreShape, r)
	}
	for k, n := range cfg.InModes {
		s := min(cfg.InRanks[k], n)
		f := NewParam("factor", dt, n, s)
		NormalInit(f, 0, 1/math.Sqrt(float64(s)), rng)
		l.InFactors = append(l.InFactors, f)
		coreShape = append(coreShape, s)
	}
	l.Core = NewParam("core", dt, coreShape...)
	NormalInit(l.Core, 0, 1/math.Sqrt(3*float64(in)), rng)
	if cfg.Bias {
		l.Bias = NewParam("bias", dt, sizeOf(cfg.OutModes))
		bound := 1 / math.Sqrt(float64(in))
		UniformInit(l.Bias, -bound, bound, rng)
	}
	return l, nil
}

// TuckerFromDense builds a TuckerLinear from a dense W (Out, In) and a bias
// (nil: none) by HOSVD (decomp.HOSVD) of W reshaped to (m…, n…). The rank
// of each mode is the smaller of its cap (t.Rank, or t.Ranks: out modes
// then in modes) and, with t.Tol, the fewest leading singular values of the
// mode's unfolding whose dropped tail has norm ≤ ε/√(modes)·‖W‖. The fit's
// ErrorBound, √(Σ dropped σ²) over all modes, bounds ‖W − Dense()‖.
func TuckerFromDense(w, bias []float64, outModes, inModes []int, t Truncation, dt DType) (*TuckerLinear, *TNFit, error) {
	const fn = "TuckerFromDense"
	if err := checkModes(fn, outModes, inModes, false, 1); err != nil {
		return nil, nil, err
	}
	if err := checkDense(fn, w, bias, outModes, inModes); err != nil {
		return nil, nil, err
	}
	if err := t.check(fn); err != nil {
		return nil, nil, err
	}
	modes := append(slices.Clone(outModes), inModes...)
	if t.Ranks != nil && len(t.Ranks) != len(modes) {
		return nil, nil, fmt.Errorf("nn.%s: truncation ranks %v: want one per mode of %v (out then in)", fn, t.Ranks, modes)
	}
	x, err := decomp.FromSlice(w, modes...)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.%s: %w", fn, err)
	}
	delta := t.Tol / math.Sqrt(float64(len(modes))) * x.Norm()
	fit := &TNFit{Norm: x.Norm()}
	ranks := make([]int, len(modes))
	var bound float64
	for n, size := range modes {
		s, err := unfoldingSpectrum(x, n)
		if err != nil {
			return nil, nil, fmt.Errorf("nn.%s: mode %d: %w", fn, n, err)
		}
		r := size
		if t.Tol > 0 {
			r = keepRank(s, delta)
		}
		switch {
		case t.Ranks != nil:
			r = min(r, t.Ranks[n])
		case t.Rank > 0:
			r = min(r, t.Rank)
		}
		r = min(r, size)
		ranks[n] = r
		var tail []float64
		if r < len(s) {
			tail = s[r:]
		}
		for _, v := range tail {
			bound += v * v
		}
		fit.Spectra = append(fit.Spectra, s)
		fit.Discarded = append(fit.Discarded, tail)
	}
	tk, err := decomp.HOSVD(x, ranks)
	if err != nil {
		return nil, nil, fmt.Errorf("nn.%s: %w", fn, err)
	}
	l := &TuckerLinear{Core: fitParam("core", dt, tk.Core.Data, tk.Core.Shape...), Bias: biasParam(bias, dt)}
	for n, f := range tk.Factors {
		rows, cols := f.Dims()
		p := fitParam("factor", dt, decomp.MatrixToSlice[float64](f), rows, cols)
		if n < len(outModes) {
			l.OutFactors = append(l.OutFactors, p)
		} else {
			l.InFactors = append(l.InFactors, p)
		}
	}
	fit.Ranks = ranks
	fit.ErrorBound = math.Sqrt(bound)
	fit.Error = distance(w, tk.Full().Data)
	return l, fit, nil
}

// unfoldingSpectrum returns the singular values of x's mode-n unfolding.
func unfoldingSpectrum(x *decomp.Tensor, n int) ([]float64, error) {
	u, err := x.Unfold(n)
	if err != nil {
		return nil, err
	}
	var svd mat.SVD
	if !svd.Factorize(u, mat.SVDNone) {
		return nil, decomp.ErrSVD
	}
	return svd.Values(nil), nil
}

// keepRank is the fewest leading values (at least one) of the descending
// s whose dropped tail has norm ≤ delta.
func keepRank(s []float64, delta float64) int {
	var tail float64
	for r := len(s); r > 1; r-- {
		tail += s[r-1] * s[r-1]
		if math.Sqrt(tail) > delta {
			return r
		}
	}
	return 1
}

// OutModes returns (m₀, …).
func (l *TuckerLinear) OutModes() []int { return factorRows(l.OutFactors) }

// InModes returns (n₀, …).
func (l *TuckerLinear) InModes() []int { return factorRows(l.InFactors) }

// Ranks returns the core's shape: the out ranks then the in ranks.
func (l *TuckerLinear) Ranks() []int { return l.Core.Shape() }

func factorRows(fs []*Param) []int {
	out := make([]int, len(fs))
	for i, f := range fs {
		out[i] = f.shape[0]
	}
	return out
}

// Dims returns (Out, In).
func (l *TuckerLinear) Dims() (out, in int) { return sizeOf(l.OutModes()), sizeOf(l.InModes()) }

// ParamCount is the number of parameters: core, factors and bias.
func (l *TuckerLinear) ParamCount() int { return ParamCount(l) }

// FLOPs is 2·n times the multiply-adds per sample.
func (l *TuckerLinear) FLOPs(n int) int64 { return 2 * int64(n) * l.chain().macs() }

// factors lists the parameters in the chain's factor order: core, out
// factors, in factors.
func (l *TuckerLinear) factors() []*Param {
	return append(append([]*Param{l.Core}, l.OutFactors...), l.InFactors...)
}

// Describe implements Describer: "In → Out, Tucker out modes ← in modes,
// core [ranks]".
func (l *TuckerLinear) Describe() string {
	out, in := l.Dims()
	return fmt.Sprintf("%d → %d, Tucker %s ← %s, core %v", in, out, modeString(l.OutModes()), modeString(l.InModes()), l.Ranks())
}

// Forward maps x (N, In) to (N, Out).
func (l *TuckerLinear) Forward(x *Node) *Node { return tnForward(l.chain(), x, l.factors(), l.Bias) }

// chain plans the contraction:
//
//	in mode k:  (s₀ … s_{k−1}, n_k, n_{k+1} …, B) -> (s₀ … s_k, n_{k+1} …, B)   A = V_kᵀ
//	core:       (s₀ …, B) -> (r₀ …, B)                                        A = Core (∏r, ∏s)
//	out mode k: (m₀ … m_{k−1}, r_k, r_{k+1} …, B) -> (m₀ … m_k, r_{k+1} …, B)  A = U_k
func (l *TuckerLinear) chain() *tnChain {
	ms, ns := l.OutModes(), l.InModes()
	shape := l.Core.Shape()
	rs, ss := shape[:len(ms)], shape[len(ms):]
	p := len(ms)
	c := &tnChain{name: fmt.Sprintf("Tucker(%s←%s, r=%v)", modeString(ms), modeString(ns), shape), in: sizeOf(ns), out: sizeOf(ms)}
	for _, f := range l.factors() {
		c.factorShapes = append(c.factorShapes, f.Shape())
	}
	for k := range ns {
		s := tnStep{factor: 1 + p + k, perm: []int{1, 0}, P: sizeOf(ss[:k]), K: ns[k], K2: ss[k], Q: sizeOf(ns[k+1:])}
		s.dims = append(slices.Clone(ss[:k+1]), ns[k+1:]...)
		if k == len(ns)-1 {
			for j := range ss {
				s.bonds = append(s.bonds, tnBond{fmt.Sprintf("in %d", j), j})
			}
		}
		c.steps = append(c.steps, s)
	}
	core := tnStep{factor: 0, P: 1, K: sizeOf(ss), K2: sizeOf(rs), Q: 1, dims: slices.Clone(rs)}
	for j := range rs {
		core.bonds = append(core.bonds, tnBond{fmt.Sprintf("out %d", j), j})
	}
	c.steps = append(c.steps, core)
	for k := range ms {
		s := tnStep{factor: 1 + k, P: sizeOf(ms[:k]), K: rs[k], K2: ms[k], Q: sizeOf(rs[k+1:])}
		s.dims = append(slices.Clone(ms[:k+1]), rs[k+1:]...)
		c.steps = append(c.steps, s)
	}
	return c
}

// tucker returns the layer's decomposition in float64.
func (l *TuckerLinear) tucker() *decomp.Tucker {
	tk := &decomp.Tucker{Core: &decomp.Tensor{Shape: l.Core.Shape(), Data: l.Core.Value()}}
	for _, f := range append(slices.Clone(l.OutFactors), l.InFactors...) {
		tk.Factors = append(tk.Factors, mat.NewDense(f.shape[0], f.shape[1], f.Value()))
	}
	return tk
}

// Dense reconstructs W (Out, In) by the mode products (decomp.Tucker.Full).
func (l *TuckerLinear) Dense() []float64 { return l.tucker().Full().Data }

// BondSpectra returns, for each mode, the singular values of W's mode
// unfolding, computed without forming W: with every factor U = Q·R (QR),
// W's unfolding is Q times that of Core ×_all R, so the two have the same
// non-zero singular values (at most the mode's rank of them).
func (l *TuckerLinear) BondSpectra() ([]BondSpectrum, error) {
	tk := l.tucker()
	g := tk.Core
	for n, f := range tk.Factors {
		var qr mat.QR
		qr.Factorize(f)
		rows, cols := f.Dims()
		var rf mat.Dense
		qr.RTo(&rf)
		r := rf.Slice(0, min(rows, cols), 0, cols)
		var err error
		if g, err = g.ModeProduct(r, n); err != nil {
			return nil, fmt.Errorf("nn.TuckerLinear.BondSpectra: %w", err)
		}
	}
	var out []BondSpectrum
	for n := range tk.Factors {
		s, err := unfoldingSpectrum(g, n)
		if err != nil {
			return nil, fmt.Errorf("nn.TuckerLinear.BondSpectra: mode %d: %w", n, err)
		}
		name := fmt.Sprintf("out %d", n)
		if n >= len(l.OutFactors) {
			name = fmt.Sprintf("in %d", n-len(l.OutFactors))
		}
		out = append(out, BondSpectrum{Bond: name, Values: s})
	}
	return out, nil
}

// BondActivations returns the statistics of x (n, In) projected onto the
// in factors (bonds "in k", the state before the core) and of the core's
// output (bonds "out k").
func (l *TuckerLinear) BondActivations(x []float64, n int) ([]BondStats, error) {
	return bondActivations(l.chain(), paramsOf(l.factors()), x, n, "TuckerLinear")
}

// SparseLayers returns the layer as the sparse matrices of its steps: one
// per in factor, the core, one per out factor.
func (l *TuckerLinear) SparseLayers() []SparseMatrix {
	return sparseLayers(l.chain(), paramsOf(l.factors()))
}
