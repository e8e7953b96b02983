package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Binomial is an input layer of binomial distributions with N trials (N = 1:
// Bernoulli) parameterized by logits q: (V, K):
//
//	log p_{v,k}(x) = log C(N, x) + x·log σ(q[v,k]) + (N − x)·log σ(−q[v,k])
//
// for x = 0..N, data x: (B, V) uint8 (N ≤ 255). Like Categorical it gathers
// from a table over the N+1 values built once per step by Table. Gradient:
//
//	dq[v,k] += Σ_c acc[v,c,k]·(c − N·σ(q[v,k]))
//
// with acc[v,c,k] = Σ_{b: not missing(b,v), x[b,v] = c} G[f(v),b,k].
// The fields F, V, K, C = N+1, LeafOff and LeafVars are promoted from the
// embedded table; B is taken from len(x)/V on every call.
type Binomial[T Float] struct {
	inputTable[T]
	N int

	sig   []float64 // (V, K): σ(q)
	logC  []float64 // (N+1): log C(N, c)
	q     []T       // Table's argument, during Table
	dq    []T       // Backward's argument, during Backward
	tblFn func(int)
}

// NewBinomial returns a binomial layer with N trials (1 ≤ N ≤ 255), K units
// per leaf, for V variables arranged in leaves by the CSR arrays leafOff:
// (F+1) and leafVars.
func NewBinomial[T Float](leafOff, leafVars []int32, V, K, N int) (*Binomial[T], error) {
	if N < 1 || N > 255 {
		return nil, fmt.Errorf("binomial input: N = %d trials, want 1..255 (uint8 data)", N)
	}
	t, err := newInputTable[T](leafOff, leafVars, V, K, N+1, 0)
	if err != nil {
		return nil, fmt.Errorf("binomial input: %w", err)
	}
	l := &Binomial[T]{inputTable: t, N: N, sig: make([]float64, V*K), logC: make([]float64, N+1)}
	for c := range N + 1 {
		// log C(N, c) = lgamma(N+1) − lgamma(c+1) − lgamma(N−c+1).
		lg1, _ := math.Lgamma(float64(N + 1))
		lg2, _ := math.Lgamma(float64(c + 1))
		lg3, _ := math.Lgamma(float64(N - c + 1))
		l.logC[c] = lg1 - lg2 - lg3
	}
	l.bind(l.gradVar)
	l.tblFn = l.tableChunk
	return l, nil
}

// NewBernoulli is NewBinomial with N = 1: data in {0, 1}, p(1) = σ(q).
func NewBernoulli[T Float](leafOff, leafVars []int32, V, K int) (*Binomial[T], error) {
	return NewBinomial[T](leafOff, leafVars, V, K, 1)
}

// Table builds the gather table from q: (V, K) -> tab: (V, N+1, K), one exp
// per table entry; run it once per step, after the parameters change.
func (l *Binomial[T]) Table(q []T) {
	if len(q) != l.V*l.K {
		panic(fmt.Sprintf("kernel.Binomial.Table: len(q) = %d, want V·K = %d", len(q), l.V*l.K))
	}
	l.q = q
	ParallelFor(l.work.start(l.V), l.tblFn)
	l.q = nil
}

// logSigmoid returns log σ(x) = −softplus(−x) without overflow.
func logSigmoid(x float64) float64 {
	if x >= 0 {
		return -math.Log1p(math.Exp(-x))
	}
	return x - math.Log1p(math.Exp(x))
}

func (l *Binomial[T]) tableChunk(w int) {
	cur, ws := l.work.worker(w)
	K, C, N := l.K, l.C, float64(l.N)
	ls, lsn, lp := ws[:K], ws[K:2*K], ws[2*K:3*K]
	for v, ok := cur.next(); ok; v, ok = cur.next() {
		for k := range K {
			q := float64(l.q[v*K+k])
			ls[k], lsn[k] = logSigmoid(q), logSigmoid(-q)
			l.sig[v*K+k] = math.Exp(ls[k])
		}
		for c := range C {
			x := float64(c)
			m := math.Inf(-1)
			for k := range K {
				// x·log σ(q) with 0·(−Inf) taken as 0 (c = 0 or c = N at saturated q).
				lp[k] = 0
				if c > 0 {
					lp[k] += x * ls[k]
				}
				if c < l.N {
					lp[k] += (N - x) * lsn[k]
				}
				m = max(m, lp[k])
			}
			if math.IsInf(m, -1) {
				clear(lp)
				l.store(v*C+c, lp, m)
				continue
			}
			for k := range K {
				lp[k] = math.Exp(lp[k] - m)
			}
			l.store(v*C+c, lp, l.logC[c]+m)
		}
	}
}

// Forward computes the layer from the table:
// x: (B, V) uint8, missing: (B, V) or nil -> out: (F, B, K+1).
// Validate x with ValidateCategories(x, V, N+1) first.
func (l *Binomial[T]) Forward(x []uint8, missing []bool, out []T) {
	l.forward("Binomial.Forward", x, missing, out)
}

// Backward adds ∂ℓ/∂q into dq: (V, K) given the output gradient
// g: (F, B, K+1) and the forward's x: (B, V) and missing: (B, V) or nil.
func (l *Binomial[T]) Backward(x []uint8, missing []bool, g []T, dq []T) {
	if len(dq) != l.V*l.K {
		panic(fmt.Sprintf("kernel.Binomial.Backward: len(dq) = %d, want V·K = %d", len(dq), l.V*l.K))
	}
	l.dq = dq
	l.backward("Binomial.Backward", x, missing, g)
	l.dq = nil
}

func (l *Binomial[T]) gradVar(v int, acc, tot []float64) {
	K := l.K
	for k := range K {
		s := 0.0 // Σ_c c·acc[c][k]
		for c := 1; c < l.C; c++ {
			s += float64(c) * acc[c*K+k]
		}
		l.dq[v*K+k] += T(s - float64(l.N)*l.sig[v*K+k]*tot[k])
	}
}

// Prob returns p_{v,k}(c) as held by the table.
func (l *Binomial[T]) Prob(v, k, c int) float64 { return l.prob(v, k, c) }

// Sample draws a value of variable v from unit k by inverse CDF over
// c = 0..N. Table must have run.
func (l *Binomial[T]) Sample(rng *rand.Rand, v, k int) uint8 { return uint8(l.sample(rng, v, k)) }

// Mode returns argmax_c p_{v,k}(c) (the smallest c among ties). Table must
// have run.
func (l *Binomial[T]) Mode(v, k int) uint8 { return uint8(l.mode(v, k)) }

// SampleLeaf draws every variable of leaf f from unit k into xrow: (V), one
// sample's row; entries of other variables are left alone. Table must have
// run.
func (l *Binomial[T]) SampleLeaf(rng *rand.Rand, f, k int, xrow []uint8) {
	l.sampleLeaf(rng, f, k, xrow)
}

// ModeLeaf writes the most probable value of every variable of leaf f under
// unit k into xrow: (V); the unit is fully factorized, so this is its MAP
// state. Table must have run.
func (l *Binomial[T]) ModeLeaf(f, k int, xrow []uint8) { l.modeLeaf(f, k, xrow) }
