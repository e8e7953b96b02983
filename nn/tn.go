package nn

// What the tensorized linear layers share: the TNLinear interface, the
// truncation settings of FromDense, the fit report, bond spectra and
// activation statistics, the sparse-layer view, and the checks of a mode
// factorization.

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// TNLinear is a linear layer y = x Wᵀ + b whose weight matrix W (Out, In)
// is stored as a tensor network: MPOLinear, TuckerLinear and CPLinear.
// Out and In are factorized into modes (Out = m₀·m₁⋯, In = n₀·n₁⋯) and W,
// reshaped into the tensor of those modes, is a contraction of small
// factors joined by bonds. Forward never forms W.
type TNLinear interface {
	// Forward maps x (N, In) to (N, Out).
	Forward(x *Node) *Node
	// Dims returns (Out, In).
	Dims() (out, in int)
	// ParamCount is the number of parameters, the bias included.
	ParamCount() int
	// FLOPs is the forward pass's floating-point operations on a batch of
	// n: two per multiply-add of the contractions (the bias not counted).
	FLOPs(n int) int64
	// Dense reconstructs W, (Out, In) row-major, from the factors.
	Dense() []float64
	// BondSpectra returns the singular values across each bond of the
	// network (see each layer for what a bond is).
	BondSpectra() ([]BondSpectrum, error)
	// BondActivations runs x (n, In) through the network in float64 and
	// returns the statistics of what flows through each bond.
	BondActivations(x []float64, n int) ([]BondStats, error)
	// SparseLayers returns the layer as the sparse matrices its
	// contraction applies to one sample, in order: y = S_last ⋯ S₁·S₀·x.
	SparseLayers() []SparseMatrix
}

// Truncation chooses the ranks of a layer built from a dense matrix by
// MPOFromDense, TuckerFromDense or CPFromDense. With neither a cap nor a
// tolerance the decomposition is exact (CP excepted, which needs a rank).
type Truncation struct {
	// Rank caps every bond (MPO), every mode (Tucker) or is the rank (CP).
	// 0: no cap.
	Rank int
	// Ranks, when non-nil, gives one cap per bond (MPO: d−1 of them) or per
	// mode (Tucker: out modes then in modes), overriding Rank.
	Ranks []int
	// Tol is a relative Frobenius error ε: MPO and Tucker keep at each bond
	// the fewest singular values whose discarded tail has norm at most
	// ε/√(bonds)·‖W‖, so ‖W − Ŵ‖ ≤ ε‖W‖ when no cap binds; CP takes the
	// smallest rank (up to Rank, by doubling then bisection) whose CP-ALS
	// fit reaches ε. 0: no tolerance.
	Tol float64
	// Sweeps bounds CP-ALS's sweeps (0: decomp's default, 100); Seed seeds
	// its random start columns.
	Sweeps int
	Seed   uint64
}

func (t Truncation) check(fn string) error {
	switch {
	case t.Rank < 0:
		return fmt.Errorf("nn.%s: truncation rank %d is negative", fn, t.Rank)
	case math.IsNaN(t.Tol) || t.Tol < 0 || t.Tol >= 1:
		return fmt.Errorf("nn.%s: truncation tolerance %v is not in [0, 1)", fn, t.Tol)
	case t.Sweeps < 0:
		return fmt.Errorf("nn.%s: CP sweeps %d is negative", fn, t.Sweeps)
	}
	for _, r := range t.Ranks {
		if r < 1 {
			return fmt.Errorf("nn.%s: truncation ranks %v hold a rank below 1", fn, t.Ranks)
		}
	}
	return nil
}

// TNFit reports how a layer built from a dense matrix approximates it.
type TNFit struct {
	// Ranks are the ranks kept: MPO bonds r₁…r_{d−1}, Tucker modes (out
	// then in), CP [R].
	Ranks []int
	// Spectra holds every singular value of each bond's unfolding (MPO) or
	// mode unfolding (Tucker), descending; Discarded the tail dropped.
	// Both are nil for CP.
	Spectra, Discarded [][]float64
	// ErrorBound is √(Σ discarded σ²): ‖W − Ŵ‖ itself for an MPO (TT-SVD's
	// truncation errors are orthogonal), an upper bound for Tucker (HOSVD),
	// NaN for CP.
	ErrorBound float64
	// Error is ‖W − Ŵ‖ measured, Norm is ‖W‖ (Frobenius norms).
	Error, Norm float64
}

// RelError is Error/Norm (0 for a zero matrix).
func (f *TNFit) RelError() float64 {
	if f.Norm == 0 {
		return 0
	}
	return f.Error / f.Norm
}

// BondSpectrum is the spectrum across one bond: its singular values,
// descending (for CP, the norms of the rank-one terms).
type BondSpectrum struct {
	Bond   string
	Values []float64
}

// BondStats are per-index statistics of the values that flow through one
// bond for a batch: index i of the bond gathers every entry of the state
// whose bond coordinate is i (all samples, all other coordinates).
type BondStats struct {
	Bond                   string
	Mean, Std, RMS, MaxAbs []float64
}

// SparseMatrix is a Rows × Cols matrix in coordinate form: entry k is
// Val[k] at (Row[k], Col[k]).
type SparseMatrix struct {
	Rows, Cols int
	Row, Col   []int
	Val        []float64
}

// MulVec returns S·x.
func (s SparseMatrix) MulVec(x []float64) []float64 {
	y := make([]float64, s.Rows)
	for k, v := range s.Val {
		y[s.Row[k]] += v * x[s.Col[k]]
	}
	return y
}

// checkModes validates a factorization of (out, in) into modes: paired
// layers (MPO, CP) need as many out modes as in modes, and every layer at
// least minModes of each.
func checkModes(fn string, outModes, inModes []int, paired bool, minModes int) error {
	if paired && len(outModes) != len(inModes) {
		return fmt.Errorf("nn.%s: %d out modes %v and %d in modes %v; the cores pair them, so the counts must match (pad with 1s)", fn, len(outModes), outModes, len(inModes), inModes)
	}
	for _, ms := range []struct {
		name  string
		modes []int
	}{{"out", outModes}, {"in", inModes}} {
		if len(ms.modes) < minModes {
			return fmt.Errorf("nn.%s: %s modes %v: need at least %d", fn, ms.name, ms.modes, minModes)
		}
		for _, m := range ms.modes {
			if m < 1 {
				return fmt.Errorf("nn.%s: %s modes %v hold a size below 1", fn, ms.name, ms.modes)
			}
		}
	}
	return nil
}

// checkDense validates a dense matrix and bias against modes.
func checkDense(fn string, w, bias []float64, outModes, inModes []int) error {
	out, in := sizeOf(outModes), sizeOf(inModes)
	if len(w) != out*in {
		return fmt.Errorf("nn.%s: W has %d entries, the modes %v × %v make %d×%d = %d", fn, len(w), outModes, inModes, out, in, out*in)
	}
	if bias != nil && len(bias) != out {
		return fmt.Errorf("nn.%s: bias has %d entries, want %d (the product of the out modes %v)", fn, len(bias), out, outModes)
	}
	for i, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("nn.%s: W entry %d is %v", fn, i, v)
		}
	}
	return nil
}

// Modes factorizes n into d factors as evenly as possible (the largest
// factor as small as it can be), arranged small at both ends and large in
// the middle, where an MPO's bonds are widest: Modes(1024, 4) = [4 8 8 4],
// Modes(784, 4) = [4 7 7 4]. A prime n > 1 gives n and d−1 ones.
func Modes(n, d int) []int {
	if n < 1 || d < 1 {
		panic(fmt.Sprintf("nn.Modes(%d, %d): both must be positive", n, d))
	}
	// Enumerate the non-decreasing factor lists and keep the most even.
	var best []int
	var rec func(rest, k, lo int, cur []int)
	rec = func(rest, k, lo int, cur []int) {
		if k == 1 {
			if c := append(slices.Clone(cur), rest); rest >= lo && moreEven(c, best) {
				best = c
			}
			return
		}
		for f := lo; pow(f, k) <= rest; f++ {
			if rest%f == 0 {
				rec(rest/f, k-1, f, append(cur, f))
			}
		}
	}
	rec(n, d, 1, nil)
	sort.Ints(best)
	// Smallest factors at the ends: place them alternately from the
	// outside in.
	out := make([]int, d)
	lo, hi := 0, d-1
	for i, f := range best {
		if i%2 == 0 {
			out[lo] = f
			lo++
		} else {
			out[hi] = f
			hi--
		}
	}
	return out
}

// moreEven reports whether the sorted factor list a is more even than b
// (nil): compared from the largest factor down, the first difference is
// smaller.
func moreEven(a, b []int) bool {
	if b == nil {
		return true
	}
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// pow is b to the k (small integers).
func pow(b, k int) int {
	n := 1
	for range k {
		n *= b
	}
	return n
}

// bondActivations runs the chain on x (n, In) in float64 and returns the
// statistics of every bond of its states.
func bondActivations(c *tnChain, factors [][]float64, x []float64, n int, fn string) ([]BondStats, error) {
	if n < 1 || len(x) != n*c.in {
		return nil, fmt.Errorf("nn.%s.BondActivations: x has %d values, want n·%d with n ≥ 1 (n = %d)", fn, len(x), c.in, n)
	}
	r := newTNRun[float64](c, n)
	y := make([]float64, n*c.out)
	r.forward(x, factors, y)
	var out []BondStats
	for i := range c.steps {
		s := &c.steps[i]
		state := r.states[i+1] // (dims..., n)
		dims := append(slices.Clone(s.dims), n)
		for _, b := range s.bonds {
			out = append(out, axisStats(b.name, state, dims, b.axis))
		}
	}
	return out, nil
}

// axisStats gathers the statistics of state (row-major, dims) per index of
// axis.
func axisStats(name string, state []float64, dims []int, axis int) BondStats {
	size := dims[axis]
	inner := sizeOf(dims[axis+1:])
	st := BondStats{Bond: name, Mean: make([]float64, size), Std: make([]float64, size), RMS: make([]float64, size), MaxAbs: make([]float64, size)}
	count := float64(len(state) / size)
	sum := make([]float64, size)
	sq := make([]float64, size)
	for j, v := range state {
		i := (j / inner) % size
		sum[i] += v
		sq[i] += v * v
		st.MaxAbs[i] = math.Max(st.MaxAbs[i], math.Abs(v))
	}
	for i := range size {
		st.Mean[i] = sum[i] / count
		ms := sq[i] / count
		st.RMS[i] = math.Sqrt(ms)
		st.Std[i] = math.Sqrt(math.Max(ms-st.Mean[i]*st.Mean[i], 0))
	}
	return st
}

// sparseLayers writes each step of the chain as the sparse matrix it
// applies to one sample's state.
func sparseLayers(c *tnChain, factors [][]float64) []SparseMatrix {
	out := make([]SparseMatrix, len(c.steps))
	for i := range c.steps {
		s := &c.steps[i]
		a := factors[s.factor]
		if s.perm != nil {
			p := make([]float64, len(a))
			permuteAxes(a, c.factorShapes[s.factor], s.perm, p)
			a = p
		}
		m := SparseMatrix{Rows: s.outLen(), Cols: s.inLen()}
		R := max(s.R, 1)
		for p := range s.P {
			for r := range R {
				for k2 := range s.K2 {
					for k := range s.K {
						v := a[(r*s.K2+k2)*s.K+k]
						for q := range s.Q {
							var row, col int
							if !s.diag {
								row, col = (p*s.K2+k2)*s.Q+q, (p*s.K+k)*s.Q+q
							} else {
								io, ild := diagOffset(p, r, s.K, s.R, s.Q, s.inRFirst)
								col = io + k*ild + q
								if s.sum {
									row = (p*s.K2+k2)*s.Q + q
								} else {
									oo, old := diagOffset(p, r, s.K2, s.R, s.Q, s.outRFirst)
									row = oo + k2*old + q
								}
							}
							m.Row = append(m.Row, row)
							m.Col = append(m.Col, col)
							m.Val = append(m.Val, v)
						}
					}
				}
			}
		}
		out[i] = m
	}
	return out
}

// paramsOf returns the values of ps as float64s.
func paramsOf(ps []*Param) [][]float64 {
	out := make([][]float64, len(ps))
	for i, p := range ps {
		out[i] = p.Value()
	}
	return out
}

// tnForward wires a chain and its factors into x's graph, adding the bias
// if there is one: x (N, In) -> (N, Out).
func tnForward(c *tnChain, x *Node, factors []*Param, bias *Param) *Node {
	g := x.Graph()
	in := []*Node{x}
	for _, f := range factors {
		in = append(in, g.Param(f))
	}
	y := Apply(newTNOp(c), in...)
	if bias != nil {
		y = AddBias(y, g.Param(bias))
	}
	return y
}

// modeString formats modes for names: [4 8 8 4] -> "4x8x8x4".
func modeString(modes []int) string {
	s := make([]string, len(modes))
	for i, m := range modes {
		s[i] = fmt.Sprint(m)
	}
	return strings.Join(s, "x")
}

// fitParam makes a parameter of the given shape holding vals.
func fitParam(name string, dt DType, vals []float64, shape ...int) *Param {
	p := NewParam(name, dt, shape...)
	p.SetValue(vals)
	return p
}

// biasParam returns the bias parameter holding b, nil for nil.
func biasParam(b []float64, dt DType) *Param {
	if b == nil {
		return nil
	}
	return fitParam("bias", dt, b, len(b))
}
