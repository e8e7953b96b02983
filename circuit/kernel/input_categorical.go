package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/tenpc/tenpc/internal/vec"
)

// CategoricalParam selects how a categorical layer's parameters θ: (V, K, C)
// become the probabilities p[v,k,c] of value c for variable v and unit k.
type CategoricalParam int

const (
	// CategoricalSoftmax: θ are logits, p[v,k,c] = exp θ[v,k,c] / Σ_c' exp θ[v,k,c'].
	// Gradient: ∂ log p[v,k,c] / ∂θ[v,k,c'] = [c = c'] − p[v,k,c'], so
	// dθ[v,k,c] += acc[v,c,k] − p[v,k,c]·Σ_c' acc[v,c',k].
	CategoricalSoftmax CategoricalParam = iota
	// CategoricalClamp: θ are non-negative weights (the optimizer clamps them
	// at a small ε after every step), normalized over the values:
	// p[v,k,c] = θ[v,k,c] / Σ_c' θ[v,k,c']. Gradient:
	// dθ[v,k,c] += acc[v,c,k] / θ[v,k,c] − Σ_c' acc[v,c',k] / Σ_c' θ[v,k,c'],
	// computed as (acc[v,c,k]/p[v,k,c] − Σ_c' acc[v,c',k]) / Σ_c' θ[v,k,c'] with
	// the first term taken as 0 where acc[v,c,k] = 0. Every Σ_c θ[v,k,c] must
	// be > 0.
	CategoricalClamp
	// CategoricalExp: unnormalized, p[v,k,c] = exp θ[v,k,c] (the layer's
	// values do not sum to 1 over c; the circuit divides by its partition
	// function). Gradient: dθ[v,k,c] += acc[v,c,k].
	CategoricalExp
)

// String names the parameterization.
func (p CategoricalParam) String() string {
	switch p {
	case CategoricalSoftmax:
		return "softmax"
	case CategoricalClamp:
		return "clamp"
	case CategoricalExp:
		return "exp"
	}
	return fmt.Sprintf("CategoricalParam(%d)", int(p))
}

// Categorical is an input layer of categorical distributions over C values:
// parameters θ: (V, K, C) (see CategoricalParam), data x: (B, V) uint8 in
// 0..C-1. Call Table once per step (after each parameter update), then
// Forward and Backward for any number of batches.
// The sizes F (leaves), V, K, C and the leaves LeafOff, LeafVars are
// readable as fields (promoted from the embedded table); B is taken from
// len(x)/V on every call, so the batch may change between calls.
//
// In the backward, acc[v,c,k] = Σ_{b: not missing(b,v), x[b,v] = c} G[f(v),b,k]
// where f(v) is the leaf of v and G the output gradient; each variable's sums
// run over b in increasing order, in a per-worker (C, K) float64 workspace.
type Categorical[T Float] struct {
	inputTable[T]
	Param CategoricalParam

	norm []float64 // (V, K): Σ_c θ[v,k,c] (clamp only)
	// last: (V, K, C) the θ the table was last built from, and whether
	// variable v's rows are current (built from last[v]): Table rebuilds
	// only the variables whose parameters changed, so repeated evaluations
	// with fixed parameters skip the exps.
	last    []T
	current []bool
	theta   []T  // Table's argument, during Table
	dTheta  []T  // Backward's argument, during Backward
	setGrad bool // BackwardSet: gradVar writes dTheta instead of adding
	tblFn   func(int)
}

// NewCategorical returns a categorical layer with K units per leaf over C
// values (2 ≤ C ≤ 256) for V variables arranged in leaves by the CSR arrays
// leafOff: (F+1) and leafVars (every variable in exactly one leaf).
func NewCategorical[T Float](leafOff, leafVars []int32, V, K, C int, param CategoricalParam) (*Categorical[T], error) {
	if C < 2 {
		return nil, fmt.Errorf("categorical input: C = %d values, want at least 2", C)
	}
	if param < CategoricalSoftmax || param > CategoricalExp {
		return nil, fmt.Errorf("categorical input: unknown parameterization %v", param)
	}
	t, err := newInputTable[T](leafOff, leafVars, V, K, C, max(C*K+3*K, vec.SoftmaxWork(K, C)))
	if err != nil {
		return nil, fmt.Errorf("categorical input: %w", err)
	}
	l := &Categorical[T]{inputTable: t, Param: param, last: make([]T, V*K*C), current: make([]bool, V)}
	if param == CategoricalClamp {
		l.norm = make([]float64, V*K)
	}
	l.bind(l.gradVar)
	l.tblFn = l.tableChunk
	return l, nil
}

// SetReuse turns off (or back on) Table's reuse of rows whose parameters
// did not change. Training changes every parameter every step, where the
// comparison and the copy of θ it keeps (V·K·C values) are wasted work and
// memory; reuse is on by default.
func (l *Categorical[T]) SetReuse(on bool) {
	switch {
	case on && l.last == nil:
		l.last, l.current = make([]T, l.V*l.K*l.C), make([]bool, l.V)
	case !on:
		l.last, l.current = nil, nil
	}
}

// Table builds the gather table from θ: (V, K, C) -> tab: (V, C, K) with
// tab[v][c][k] = p[v,k,c] / max_k' p[v,k',c] and L[v][c] = log max_k p[v,k,c].
// Run it once per step, after the parameters change; it costs one exp per
// parameter (softmax, exp) and is independent of the batch. A variable whose
// parameters are bit for bit those of the last call keeps its rows (a
// comparison instead of the exps, for evaluation with fixed parameters).
func (l *Categorical[T]) Table(theta []T) {
	if len(theta) != l.V*l.K*l.C {
		panic(fmt.Sprintf("kernel.Categorical.Table: len(theta) = %d, want V·K·C = %d", len(theta), l.V*l.K*l.C))
	}
	l.theta = theta
	ParallelFor(l.work.start(l.V), l.tblFn)
	l.theta = nil
}

// pTiny is the smallest row maximum of p handled in linear form; below it
// (probabilities within a few hundred nats of float64's underflow) the row
// is rebuilt from log-probabilities.
const pTiny = 1e-300

func (l *Categorical[T]) tableChunk(w int) {
	cur, ws := l.work.worker(w)
	K, C := l.K, l.C
	// e: (C, K) unnormalized probabilities of one variable, transposed so
	// that the per-value pass below reads rows; inv: (K) their inverse sums;
	// lz: (K) log-normalizers for the log-space fallback; r: (K) one row.
	e, inv, lz, r := ws[:C*K], ws[C*K:C*K+K], ws[C*K+K:C*K+2*K], ws[C*K+2*K:C*K+3*K]
	// A float32 table rounds every entry to 24 bits, so the softmax needs
	// no more than float32 exps with float64 log-normalizers:
	// vec.SoftmaxTable builds such a variable's rows in vectorized passes
	// (refusing variables with values too improbable for linear form, which
	// the loops below build). A float64 table gets math.Exp.
	fast := isFloat32[T]() && l.tab64 == nil && l.Param == CategoricalSoftmax
	for v, ok := cur.next(); ok; v, ok = cur.next() {
		th := l.theta[v*K*C : (v+1)*K*C]
		if l.last != nil {
			last := l.last[v*K*C : (v+1)*K*C]
			if l.current[v] && slices.Equal(th, last) { // NaN ≠ NaN: rebuilt
				continue
			}
			copy(last, th)
			l.current[v] = true
		}
		if fast && vec.SoftmaxTable(th, K, C, l.tab[v*C*K:(v+1)*C*K], l.logScale[v*C:(v+1)*C], l.scale[v*C:(v+1)*C], ws) {
			continue
		}
		for k := range K {
			tk := th[k*C : (k+1)*C]
			switch l.Param {
			case CategoricalSoftmax:
				m := math.Inf(-1)
				for _, t := range tk {
					if float64(t) > m { // not max(): no NaN/±0 handling in the hot loop
						m = float64(t)
					}
				}
				s := 0.0
				for c, t := range tk {
					x := math.Exp(float64(t) - m)
					e[c*K+k] = x
					s += x
				}
				inv[k], lz[k] = 1/s, m+math.Log(s)
			case CategoricalClamp:
				s := 0.0
				for c, t := range tk {
					e[c*K+k] = float64(t)
					s += float64(t)
				}
				l.norm[v*K+k] = s
				inv[k], lz[k] = 1/s, math.Log(s)
			case CategoricalExp:
				lz[k] = 0 // p = exp θ: built per value below, in log space
			}
		}
		for c := range C {
			i := v*C + c
			if l.Param != CategoricalExp {
				// p[k] = e[c][k]·inv[k]; the row is p / max_k p, exactly 1 at
				// the maximum.
				ec := e[c*K : (c+1)*K]
				pm, km := 0.0, 0
				for k, x := range ec {
					x *= inv[k]
					ec[k] = x
					if x > pm {
						pm, km = x, k
					}
				}
				if pm >= pTiny {
					ipm := 1 / pm
					if l.tab64 != nil {
						row := l.tab64[i*K : (i+1)*K]
						for k, x := range ec {
							row[k] = x * ipm
						}
						row[km] = 1
					} else {
						row := l.tab[i*K : (i+1)*K]
						for k, x := range ec {
							row[k] = T(x * ipm)
						}
						row[km] = 1
					}
					l.logScale[i], l.scale[i] = math.Log(pm), pm
					continue
				}
			}
			// Log-space: log p[k][c] = log-weight − lz[k].
			lpm := math.Inf(-1)
			for k := range K {
				r[k] = l.logWeight(th[k*C+c]) - lz[k]
				lpm = max(lpm, r[k])
			}
			for k := range K {
				if math.IsInf(lpm, -1) {
					r[k] = 0
				} else {
					r[k] = math.Exp(r[k] - lpm)
				}
			}
			l.store(i, r, lpm)
		}
	}
}

// logWeight is the unnormalized log-probability of one parameter.
func (l *Categorical[T]) logWeight(t T) float64 {
	if l.Param == CategoricalClamp {
		return math.Log(float64(t))
	}
	return float64(t)
}

// Forward computes the layer from the table:
// x: (B, V) uint8, missing: (B, V) or nil -> out: (F, B, K+1).
// Validate x with ValidateCategories(x, V, C) first.
func (l *Categorical[T]) Forward(x []uint8, missing []bool, out []T) {
	l.forward("Categorical.Forward", x, missing, out)
}

// Backward adds ∂ℓ/∂θ into dTheta: (V, K, C) given the output gradient
// g: (F, B, K+1) and the forward's x: (B, V) and missing: (B, V) or nil (see
// CategoricalParam for the formula of each parameterization).
func (l *Categorical[T]) Backward(x []uint8, missing []bool, g []T, dTheta []T) {
	if len(dTheta) != l.V*l.K*l.C {
		panic(fmt.Sprintf("kernel.Categorical.Backward: len(dTheta) = %d, want V·K·C = %d", len(dTheta), l.V*l.K*l.C))
	}
	l.dTheta = dTheta
	l.backward("Categorical.Backward", x, missing, g)
	l.dTheta = nil
}

func (l *Categorical[T]) gradVar(v int, acc, tot []float64) {
	K, C := l.K, l.C
	if l.Param == CategoricalExp {
		for k := range K {
			d := l.dTheta[(v*K+k)*C : (v*K+k+1)*C]
			for c := range d {
				d[c] += T(acc[c*K+k])
			}
		}
		return
	}
	// p[v,k,c] = tab[v][c][k]·scale[v][c], read from whichever table is kept.
	var tab32 []T
	var tab64 []float64
	if l.tab64 != nil {
		tab64 = l.tab64[v*C*K : (v+1)*C*K]
	} else {
		tab32 = l.tab[v*C*K : (v+1)*C*K]
	}
	scale := l.scale[v*C : (v+1)*C]
	if l.Param == CategoricalSoftmax && tab32 != nil {
		vec.CatGradSoftmax(tab32, scale, acc, tot, l.dTheta[v*K*C:(v+1)*K*C], K, C, l.setGrad)
		return
	}
	for k := range K {
		d := l.dTheta[(v*K+k)*C : (v*K+k+1)*C]
		tk := tot[k]
		var inv float64
		if l.Param == CategoricalClamp {
			inv = 1 / l.norm[v*K+k]
		}
		for c := range d {
			var p float64
			if tab64 != nil {
				p = tab64[c*K+k] * scale[c]
			} else {
				p = float64(tab32[c*K+k]) * scale[c]
			}
			a := acc[c*K+k]
			if l.Param == CategoricalSoftmax {
				d[c] += T(a - p*tk)
				continue
			}
			g := -tk
			if a != 0 {
				g += a / p
			}
			d[c] += T(g * inv)
		}
	}
}

// BackwardSet is Backward writing ∂ℓ/∂θ into dTheta instead of adding to
// it (every element is written), so that the caller need not clear it.
func (l *Categorical[T]) BackwardSet(x []uint8, missing []bool, g []T, dTheta []T) {
	if l.Param != CategoricalSoftmax || l.tab64 != nil {
		clear(dTheta) // these gradients only add
		l.Backward(x, missing, g, dTheta)
		return
	}
	l.setGrad = true
	l.Backward(x, missing, g, dTheta)
	l.setGrad = false
}

// Prob returns p[v,k,c] as held by the table (unnormalized for
// CategoricalExp).
func (l *Categorical[T]) Prob(v, k, c int) float64 { return l.prob(v, k, c) }

// Sample draws a value of variable v from unit k by inverse CDF over
// p[v,k,0..C-1] (normalized by its sum). Table must have run.
func (l *Categorical[T]) Sample(rng *rand.Rand, v, k int) uint8 { return uint8(l.sample(rng, v, k)) }

// Mode returns argmax_c p[v,k,c] (the smallest c among ties), the value MAP
// assigns to v under unit k. Table must have run.
func (l *Categorical[T]) Mode(v, k int) uint8 { return uint8(l.mode(v, k)) }

// SampleLeaf draws every variable of leaf f from unit k into xrow: (V), one
// sample's row; entries of other variables are left alone. Table must have
// run.
func (l *Categorical[T]) SampleLeaf(rng *rand.Rand, f, k int, xrow []uint8) {
	l.sampleLeaf(rng, f, k, xrow)
}

// ModeLeaf writes the most probable value of every variable of leaf f under
// unit k into xrow: (V); the unit is fully factorized, so this is its MAP
// state. Table must have run.
func (l *Categorical[T]) ModeLeaf(f, k int, xrow []uint8) { l.modeLeaf(f, k, xrow) }
