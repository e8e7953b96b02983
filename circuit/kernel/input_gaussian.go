package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// halfLog2Pi is ½·log(2π), the constant of the normal log-density.
var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// Gaussian is an input layer of normal distributions with mean μ: (V, K) and
// log standard deviation ρ: (V, K), over real data x: (B, V):
//
//	log p_{v,k}(x) = −½ z² − ρ[v,k] − ½ log 2π,   z = (x − μ[v,k]) · e^{−ρ[v,k]}
//
// Log-densities are computed per element in float64 and summed over a leaf's
// variables before one exp per unit. Gradients, with G = ∂ℓ/∂(log-value):
//
//	dμ[v,k] += Σ_{b not missing} G[f(v),b,k] · z / σ
//	dρ[v,k] += Σ_{b not missing} G[f(v),b,k] · (z² − 1)
//
// summed over b in increasing order per variable.
type Gaussian[T Float] struct {
	InputLeaves
	K int

	mu, invSigma, logNorm []float64 // (V, K): μ, e^{−ρ}, −ρ − ½ log 2π
	sigma                 []float64 // (V, K): e^{ρ}

	work inputWorkers // forward: K; backward: 2K

	// The call in progress (see inputTable).
	x         []T
	missing   []bool
	buf       []T
	b         int
	dMu, dRho []T
	fwdFn     func(int)
	bwdFn     func(int)
}

// NewGaussian returns a Gaussian layer with K units per leaf for V variables
// arranged in leaves by the CSR arrays leafOff: (F+1) and leafVars.
func NewGaussian[T Float](leafOff, leafVars []int32, V, K int) (*Gaussian[T], error) {
	leaves, err := NewInputLeaves(leafOff, leafVars, V)
	if err != nil {
		return nil, fmt.Errorf("gaussian input: %w", err)
	}
	if K <= 0 {
		return nil, fmt.Errorf("gaussian input: K = %d, want > 0", K)
	}
	l := &Gaussian[T]{
		InputLeaves: leaves, K: K,
		mu: make([]float64, V*K), invSigma: make([]float64, V*K),
		logNorm: make([]float64, V*K), sigma: make([]float64, V*K),
		work: inputWorkers{per: 2 * K},
	}
	l.fwdFn, l.bwdFn = l.forwardChunk, l.backwardChunk
	return l, nil
}

// Prepare caches μ: (V, K), e^{±ρ} and the log-normalizer from the
// parameters mu: (V, K) and rho: (V, K); run it once per step, after the
// parameters change.
func (l *Gaussian[T]) Prepare(mu, rho []T) {
	if len(mu) != l.V*l.K || len(rho) != l.V*l.K {
		panic(fmt.Sprintf("kernel.Gaussian.Prepare: len(mu) = %d, len(rho) = %d, want V·K = %d", len(mu), len(rho), l.V*l.K))
	}
	for i := range mu {
		r := float64(rho[i])
		l.mu[i] = float64(mu[i])
		l.invSigma[i] = math.Exp(-r)
		l.sigma[i] = math.Exp(r)
		l.logNorm[i] = -r - halfLog2Pi
	}
}

// ValidateGaussianData checks that every entry of x: (B, V) is finite,
// returning an *InputDataError naming the first NaN or ±Inf.
func ValidateGaussianData[T Float](x []T, V int) error {
	if V <= 0 || len(x)%V != 0 {
		return fmt.Errorf("input data: len(x) = %d is not a multiple of V = %d", len(x), V)
	}
	for i, t := range x {
		if f := float64(t); math.IsNaN(f) || math.IsInf(f, 0) {
			return &InputDataError{Sample: i / V, Variable: i % V, Value: f, Reason: "not finite"}
		}
	}
	return nil
}

// Forward computes the layer: x: (B, V), missing: (B, V) or nil ->
// out: (F, B, K+1). Validate x with ValidateGaussianData first.
func (l *Gaussian[T]) Forward(x []T, missing []bool, out []T) {
	l.b = l.batch("Gaussian.Forward", len(x), len(missing), len(out), l.K)
	l.x, l.missing, l.buf = x, missing, out
	ParallelFor(l.work.start(l.F), l.fwdFn)
	l.x, l.missing, l.buf = nil, nil, nil
}

func (l *Gaussian[T]) forwardChunk(w int) {
	cur, ws := l.work.worker(w)
	K, V, B := l.K, l.V, l.b
	lp := ws[:K]
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		vars := l.vars(f)
		for b := range B {
			clear(lp)
			for _, v := range vars {
				i := b*V + int(v)
				if l.missing != nil && l.missing[i] {
					continue
				}
				x := float64(l.x[i])
				mu := l.mu[int(v)*K : (int(v)+1)*K]
				is := l.invSigma[int(v)*K : (int(v)+1)*K]
				ln := l.logNorm[int(v)*K : (int(v)+1)*K]
				for k := range lp {
					z := (x - mu[k]) * is[k]
					lp[k] += ln[k] - 0.5*z*z
				}
			}
			row := l.buf[(f*B+b)*(K+1) : (f*B+b+1)*(K+1)]
			m := math.Inf(-1)
			for _, a := range lp {
				m = max(m, a)
			}
			if math.IsInf(m, -1) {
				clear(row[:K])
				row[K] = T(m)
				continue
			}
			for k, a := range lp {
				row[k] = T(math.Exp(a - m))
			}
			row[K] = T(m)
		}
	}
}

// Backward adds ∂ℓ/∂μ into dMu: (V, K) and ∂ℓ/∂ρ into dRho: (V, K) given the
// output gradient g: (F, B, K+1) and the forward's x: (B, V) and
// missing: (B, V) or nil.
func (l *Gaussian[T]) Backward(x []T, missing []bool, g []T, dMu, dRho []T) {
	if len(dMu) != l.V*l.K || len(dRho) != l.V*l.K {
		panic(fmt.Sprintf("kernel.Gaussian.Backward: len(dMu) = %d, len(dRho) = %d, want V·K = %d", len(dMu), len(dRho), l.V*l.K))
	}
	l.b = l.batch("Gaussian.Backward", len(x), len(missing), len(g), l.K)
	l.x, l.missing, l.buf, l.dMu, l.dRho = x, missing, g, dMu, dRho
	ParallelFor(l.work.start(l.F), l.bwdFn)
	l.x, l.missing, l.buf, l.dMu, l.dRho = nil, nil, nil, nil, nil
}

func (l *Gaussian[T]) backwardChunk(w int) {
	cur, ws := l.work.worker(w)
	K, V, B := l.K, l.V, l.b
	dm, dr := ws[:K], ws[K:2*K]
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		for _, v := range l.vars(f) {
			clear(dm)
			clear(dr)
			vi := int(v) * K
			mu, is := l.mu[vi:vi+K], l.invSigma[vi:vi+K]
			for b := range B {
				i := b*V + int(v)
				if l.missing != nil && l.missing[i] {
					continue
				}
				x := float64(l.x[i])
				gr := l.buf[(f*B+b)*(K+1) : (f*B+b)*(K+1)+K]
				for k, g := range gr {
					z := (x - mu[k]) * is[k]
					dm[k] += float64(g) * z * is[k]
					dr[k] += float64(g) * (z*z - 1)
				}
			}
			for k := range K {
				l.dMu[vi+k] += T(dm[k])
				l.dRho[vi+k] += T(dr[k])
			}
		}
	}
}

// LogDensity returns log p_{v,k}(x) from the prepared parameters.
func (l *Gaussian[T]) LogDensity(v, k int, x float64) float64 {
	i := v*l.K + k
	z := (x - l.mu[i]) * l.invSigma[i]
	return l.logNorm[i] - 0.5*z*z
}

// Sample draws x ~ N(μ[v,k], e^{2ρ[v,k]}). Prepare must have run.
func (l *Gaussian[T]) Sample(rng *rand.Rand, v, k int) T {
	i := v*l.K + k
	return T(l.mu[i] + l.sigma[i]*rng.NormFloat64())
}

// Mode returns μ[v,k], the most probable value of v under unit k. Prepare
// must have run.
func (l *Gaussian[T]) Mode(v, k int) T { return T(l.mu[v*l.K+k]) }

// SampleLeaf draws the variables of leaf f from unit k into xrow: (V), one
// sample's row; other entries are left alone. Prepare must have run.
func (l *Gaussian[T]) SampleLeaf(rng *rand.Rand, f, k int, xrow []T) {
	for _, v := range l.vars(f) {
		xrow[v] = l.Sample(rng, int(v), k)
	}
}

// ModeLeaf writes μ of every variable of leaf f under unit k into xrow: (V).
func (l *Gaussian[T]) ModeLeaf(f, k int, xrow []T) {
	for _, v := range l.vars(f) {
		xrow[v] = l.Mode(int(v), k)
	}
}
