package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Shared test helpers: random wiring and inputs, a naive log-space
// reference, a finite-difference gradient checker and comparison helpers.

// randLogs returns (F, B, K) log-values: uniform(-3, 0) per unit plus a
// per-row offset uniform(-spread, spread), so rows of one buffer can sit
// far apart in scale.
func randLogs(rng *rand.Rand, F, B, K int, spread float64) []float64 {
	lv := make([]float64, F*B*K)
	for r := range F * B {
		off := (2*rng.Float64() - 1) * spread
		for k := range K {
			lv[r*K+k] = off - 3*rng.Float64()
		}
	}
	return lv
}

// scaled converts (rows, K) log-values into a (rows, K+1) scaled buffer of T.
func scaled[T Float](lv []float64, K int) []T {
	buf := make([]float64, len(lv)/K*(K+1))
	FromLog(lv, K, buf)
	return conv[T](buf)
}

func conv[T, U Float](x []U) []T {
	y := make([]T, len(x))
	for i, v := range x {
		y[i] = T(v)
	}
	return y
}

// randWiring makes F folds of arity A over nsrc sources of random fold
// counts, each fold reading A distinct (source, fold) pairs chosen at
// random, so inputs come from different sources and positions and source
// folds are shared between folds.
func randWiring(rng *rand.Rand, F, A, B, Kin, Kout, nsrc int) Wiring {
	w := Wiring{F: F, A: A, B: B, Kin: Kin, Kout: Kout}
	for range nsrc {
		w.SrcFolds = append(w.SrcFolds, A+rng.IntN(F+1))
	}
	for range F {
		seen := map[Ref]bool{}
		for len(seen) < A {
			s := rng.IntN(nsrc)
			r := Ref{Src: int32(s), Fold: int32(rng.IntN(w.SrcFolds[s]))}
			if !seen[r] {
				seen[r] = true
				w.Refs = append(w.Refs, r)
			}
		}
	}
	return w
}

// treeWiring is the benchmark wiring: one source of F*A folds, each read
// exactly once (a tree, no sharing).
func treeWiring(F, A, B, K int) Wiring {
	w := Wiring{F: F, A: A, B: B, Kin: K, Kout: K, SrcFolds: []int{F * A}}
	for i := range F * A {
		w.Refs = append(w.Refs, Ref{Src: 0, Fold: int32(i)})
	}
	return w
}

// srcLogs draws log-values for every source of w.
func srcLogs(rng *rand.Rand, w Wiring, spread float64) [][]float64 {
	lv := make([][]float64, len(w.SrcFolds))
	for s, n := range w.SrcFolds {
		lv[s] = randLogs(rng, n, w.B, w.Kin, spread)
	}
	return lv
}

// inLog returns the Kin log-values that fold f's a-th input has at sample b.
func inLog(w Wiring, lv [][]float64, f, a, b int) []float64 {
	r := w.Refs[f*w.A+a]
	o := (int(r.Fold)*w.B + b) * w.Kin
	return lv[r.Src][o : o+w.Kin]
}

func randWeights(rng *rand.Rand, n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.01 + 0.98*rng.Float64() // the reference paper's uniform(0.01, 0.99)
	}
	return w
}

func logSumExp(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, x)
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// logOf returns the log-values of a scaled (F, B, K+1) buffer.
func logOf[T Float](buf []T, K int) []float64 {
	lv := make([]float64, len(buf)/(K+1)*K)
	ToLog(conv[float64](buf), K, lv)
	return lv
}

// assertClose fails unless |got-want| <= tol*max(1, |want|) elementwise
// (equal infinities match).
func assertClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := got[i], want[i]
		if g == w {
			continue
		}
		if math.IsNaN(g) || math.Abs(g-w) > tol*max(1, math.Abs(w)) {
			if bad < 5 {
				t.Errorf("%s[%d] = %.17g, want %.17g", what, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d entries off by more than %g relative", what, bad, len(got), tol)
	}
}

// relErrMax returns max_i |got-want| / max_i |want|, a norm-wise relative error.
func relErrMax(got, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range got {
		num = max(num, math.Abs(got[i]-want[i]))
		den = max(den, math.Abs(want[i]))
	}
	if num == 0 {
		return 0
	}
	return num / den
}

// gradCase is one layer under a finite-difference check, in float64. fwd
// writes the output buffer; bwd adds the gradients given g.
type gradCase struct {
	w      Wiring
	lv     [][]float64 // source log-values, (SrcFolds[s], B, Kin)
	params [][]float64 // parameter tensors, all entries > 0
	fwd    func(srcs [][]float64, params [][]float64, out []float64)
	bwd    func(srcs [][]float64, params [][]float64, g []float64, dSrcs [][]float64, dParams [][]float64)
	// fresh sets the kernel's fresh marks for the next bwd: per source
	// fold, and per slice of the parameters in freshParams (param index ->
	// the slices it is marked by, with the slices some fold writes).
	fresh       func(srcs, params [][]bool)
	freshParams map[int]freshSlices
}

// freshSlices describes the fresh marks of one parameter gradient: n slices,
// of which written are the ones the layer writes.
type freshSlices struct {
	n       int
	written map[int]bool
}

// checkFresh runs Backward into gradient buffers full of leftovers (NaN)
// with every source fold and marked parameter slice marked fresh, then
// clears what is still marked, as nn does. The gradients must equal those
// added into zeroed buffers, and exactly the source folds no ref reads (and
// the parameter slices no fold writes) must still be marked.
func checkFresh(t *testing.T, rng *rand.Rand, c *gradCase) {
	t.Helper()
	w := c.w
	srcs, g := c.forwardSeed(rng)
	bufs := func(fill float64) (dSrcs, dParams [][]float64) {
		for s := range srcs {
			dSrcs = append(dSrcs, make([]float64, len(srcs[s])))
			for i := range dSrcs[s] {
				dSrcs[s][i] = fill
			}
		}
		for p := range c.params {
			dParams = append(dParams, make([]float64, len(c.params[p])))
		}
		return dSrcs, dParams
	}
	wantSrcs, wantParams := bufs(0)
	c.bwd(srcs, c.params, g, wantSrcs, wantParams)

	for _, nw := range []int{1, 2, 5} {
		withWorkers(nw, func() {
			dSrcs, dParams := bufs(math.NaN())
			markS := make([][]bool, len(srcs))
			for s, n := range w.SrcFolds {
				markS[s] = make([]bool, n)
				for f := range markS[s] {
					markS[s][f] = true
				}
			}
			markP := make([][]bool, len(c.params))
			for p, fs := range c.freshParams {
				markP[p] = make([]bool, fs.n)
				for i := range markP[p] {
					markP[p][i] = true
				}
				for i := range dParams[p] {
					dParams[p][i] = math.NaN()
				}
			}
			c.fresh(markS, markP)
			c.bwd(srcs, c.params, g, dSrcs, dParams)
			read := map[Ref]bool{}
			for _, r := range w.Refs {
				read[r] = true
			}
			for s, marks := range markS {
				per := len(dSrcs[s]) / len(marks)
				for f, m := range marks {
					if m == read[Ref{int32(s), int32(f)}] {
						t.Fatalf("%d workers: source %d fold %d: marked %v after Backward, read by a ref %v", nw, s, f, m, read[Ref{int32(s), int32(f)}])
					}
					if m {
						clear(dSrcs[s][f*per : (f+1)*per])
					}
				}
			}
			for p, marks := range markP {
				if marks == nil {
					continue
				}
				per := len(dParams[p]) / len(marks)
				for i, m := range marks {
					if m == c.freshParams[p].written[i] {
						t.Fatalf("%d workers: param %d slice %d: marked %v after Backward, written %v", nw, p, i, m, c.freshParams[p].written[i])
					}
					if m {
						clear(dParams[p][i*per : (i+1)*per])
					}
				}
			}
			for s := range dSrcs {
				for i, v := range dSrcs[s] {
					if v != wantSrcs[s][i] {
						t.Fatalf("%d workers: source %d gradient [%d]: %v written fresh, %v added into zeros", nw, s, i, v, wantSrcs[s][i])
					}
				}
			}
			for p := range dParams {
				for i, v := range dParams[p] {
					if v != wantParams[p][i] {
						t.Fatalf("%d workers: param %d gradient [%d]: %v written fresh, %v added into zeros", nw, p, i, v, wantParams[p][i])
					}
				}
			}
		})
	}
}

func (c *gradCase) srcs() [][]float64 {
	s := make([][]float64, len(c.lv))
	for i, lv := range c.lv {
		s[i] = scaled[float64](lv, c.w.Kin)
	}
	return s
}

// logs returns the output log-values.
func (c *gradCase) logs() []float64 {
	out := make([]float64, c.w.F*c.w.B*(c.w.Kout+1))
	c.fwd(c.srcs(), c.params, out)
	return logOf(out, c.w.Kout)
}

// diff is ℓ(+) − ℓ(−) for ℓ = Σ coef ⊙ (output log-values), summed entry by
// entry so that log-values of size 500 do not drown the difference.
func diff(coef, lp, lm []float64) float64 {
	d := 0.0
	for i := range coef {
		if lp[i] != lm[i] {
			d += coef[i] * (lp[i] - lm[i])
		}
	}
	return d
}

// fdStep is the central-difference step, in log coordinates: large enough
// that rounding in log-values of size 500 (1e-13) stays below 1e-9 of the
// derivative, small enough that the O(h²) truncation does too.
const fdStep = 1e-4

// checkGrads compares Backward against central differences of ℓ for every
// parameter entry (in log coordinates, see below) and every input log-value (step in log
// space, the (V, S) row rebuilt by FromLog).
func checkGrads(t *testing.T, rng *rand.Rand, c *gradCase, tol float64) {
	t.Helper()
	w := c.w
	coef := make([]float64, w.F*w.B*w.Kout)
	for i := range coef {
		coef[i] = rng.NormFloat64()
	}
	srcs := c.srcs()
	out := make([]float64, w.F*w.B*(w.Kout+1))
	c.fwd(srcs, c.params, out)
	g := make([]float64, len(out))
	SeedGrad(coef, w.F, w.B, w.Kout, g)
	dSrcs := make([][]float64, len(srcs))
	for s := range srcs {
		dSrcs[s] = make([]float64, len(srcs[s]))
	}
	dParams := make([][]float64, len(c.params))
	for p := range c.params {
		dParams[p] = make([]float64, len(c.params[p]))
	}
	c.bwd(srcs, c.params, g, dSrcs, dParams)

	// Parameters are checked in log coordinates θ = log v (a relative step,
	// v·e^{±h}): ∂ℓ/∂θ = v·∂ℓ/∂v has the same per-entry relative error as
	// ∂ℓ/∂v, and a weight at the clamp boundary (1e-19) gets a step that
	// moves ℓ whenever the weight matters at all.
	for p, par := range c.params {
		fd := make([]float64, len(par))
		an := make([]float64, len(par))
		for i, v := range par {
			par[i] = v * math.Exp(fdStep)
			lp := c.logs()
			par[i] = v * math.Exp(-fdStep)
			lm := c.logs()
			par[i] = v
			fd[i] = diff(coef, lp, lm) / (2 * fdStep)
			an[i] = v * dParams[p][i]
		}
		checkGrad(t, "param", p, an, fd, tol)
	}
	for s, lv := range c.lv {
		an := make([]float64, len(lv))
		for r := range len(lv) / w.Kin {
			copy(an[r*w.Kin:(r+1)*w.Kin], dSrcs[s][r*(w.Kin+1):r*(w.Kin+1)+w.Kin])
			if dSrcs[s][r*(w.Kin+1)+w.Kin] != 0 {
				t.Errorf("source %d row %d: scale slot of the gradient is %g, want 0", s, r, dSrcs[s][r*(w.Kin+1)+w.Kin])
			}
		}
		fd := make([]float64, len(lv))
		for i, v := range lv {
			lv[i] = v + fdStep
			lp := c.logs()
			lv[i] = v - fdStep
			lm := c.logs()
			lv[i] = v
			fd[i] = diff(coef, lp, lm) / (2 * fdStep)
		}
		checkGrad(t, "source", s, an, fd, tol)
	}
}

// checkGrad fails when an entry's error exceeds tol relative to the larger
// of its own magnitude and 1e-3 of the tensor's largest entry (finite
// differences of a sum of many terms cannot resolve entries much smaller).
func checkGrad(t *testing.T, what string, idx int, an, fd []float64, tol float64) {
	t.Helper()
	big := 0.0
	for _, v := range fd {
		big = max(big, math.Abs(v))
	}
	if big == 0 {
		t.Errorf("%s %d: every finite difference is 0; the check would be vacuous", what, idx)
	}
	bad := 0
	for i := range an {
		den := max(math.Abs(fd[i]), math.Abs(an[i]), 1e-3*big)
		if e := math.Abs(an[i]-fd[i]) / den; !(e <= tol) {
			if bad < 5 {
				t.Errorf("%s %d entry %d: backward %.12g, finite difference %.12g (rel err %.2g)", what, idx, i, an[i], fd[i], e)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s %d: %d of %d gradient entries off", what, idx, bad, len(an))
	}
}

// withWorkers runs fn with Workers set to n.
func withWorkers(n int, fn func()) {
	old := Workers
	Workers = n
	defer func() { Workers = old }()
	fn()
}

func bitsEqual[T Float](t *testing.T, what string, a, b []T) {
	t.Helper()
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			t.Fatalf("%s[%d]: %v with 1 worker, %v with 4", what, i, a[i], b[i])
		}
	}
}

// benchLayer times fwd (and bwd after it when not nil) and reports GFLOP/s
// when flops (per timed call) is positive.
func benchLayer(b *testing.B, fwd, bwd func(), flops float64) {
	fwd() // size the workspaces: steady state from here on
	if bwd != nil {
		bwd()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fwd()
		if bwd != nil {
			bwd()
		}
	}
	if flops > 0 {
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
}

// benchSrcs is one (2F, B, K+1) float32 source buffer and its gradient.
func benchSrcs(F, B, K int) ([][]float32, [][]float32) {
	rng := rand.New(rand.NewPCG(9, 11))
	src := scaled[float32](randLogs(rng, 2*F, B, K, 5), K)
	return [][]float32{src}, [][]float32{make([]float32, len(src))}
}

// forwardSeed runs the forward on the case's sources and returns them with
// a random output gradient (0 in the scale column).
func (c *gradCase) forwardSeed(rng *rand.Rand) (srcs [][]float64, g []float64) {
	w := c.w
	srcs = c.srcs()
	out := make([]float64, w.F*w.B*(w.Kout+1))
	c.fwd(srcs, c.params, out)
	g = make([]float64, len(out))
	for i := range g {
		if i%(w.Kout+1) != w.Kout {
			g[i] = rng.NormFloat64()
		}
	}
	return srcs, g
}

// checkAccumulates runs Backward once and twice into zeroed gradients: the
// second call must add the same amounts again (gradients are accumulated,
// and no scratch state may leak from one call into the next).
func checkAccumulates(t *testing.T, rng *rand.Rand, c *gradCase) {
	t.Helper()
	srcs, g := c.forwardSeed(rng)
	run := func(times int) []float64 {
		dSrcs := make([][]float64, len(srcs))
		for s := range srcs {
			dSrcs[s] = make([]float64, len(srcs[s]))
		}
		dParams := make([][]float64, len(c.params))
		for p := range c.params {
			dParams[p] = make([]float64, len(c.params[p]))
		}
		for range times {
			c.bwd(srcs, c.params, g, dSrcs, dParams)
		}
		var all []float64
		for _, d := range append(dSrcs, dParams...) {
			all = append(all, d...)
		}
		return all
	}
	once, twice := run(1), run(2)
	for i := range once {
		once[i] *= 2
	}
	assertClose(t, "gradients after two Backward calls", twice, once, 1e-13)
}

// checkNoAllocs fails unless fwd and bwd, after one warm-up call each,
// allocate nothing with one worker (more workers allocate only ParallelFor's
// goroutines).
func checkNoAllocs(t *testing.T, fwd, bwd func()) {
	t.Helper()
	withWorkers(1, func() {
		fwd()
		bwd()
		if n := testing.AllocsPerRun(5, fwd); n != 0 {
			t.Errorf("Forward: %v allocations per call", n)
		}
		if n := testing.AllocsPerRun(5, bwd); n != 0 {
			t.Errorf("Backward: %v allocations per call", n)
		}
	})
}

// gradsClose checks float32 weight and source gradients against float64
// ones to a relative tolerance.
func gradsClose(t *testing.T, w32, w64 []float64, x32, x64 [][]float64, tol float64) {
	t.Helper()
	if e := relErrMax(w32, w64); e > tol {
		t.Errorf("float32 dW: relative error %g", e)
	}
	for s := range x64 {
		if e := relErrMax(x32[s], x64[s]); e > tol {
			t.Errorf("float32 dSrc %d: relative error %g", s, e)
		}
	}
}

// sameResults checks two runs (outputs, weight and source gradients) are
// bit-identical, as runs with different worker counts must be.
func sameResults(t *testing.T, oA, wA []float64, xA [][]float64, oB, wB []float64, xB [][]float64) {
	t.Helper()
	bitsEqual(t, "out", oA, oB)
	bitsEqual(t, "dW", wA, wB)
	for s := range xB {
		bitsEqual(t, "dSrc", xA[s], xB[s])
	}
}

// oneWeightLayer is a layer with one weight tensor (Tucker, mixing).
type oneWeightLayer[T Float] interface {
	Forward(srcs [][]T, w, out []T)
	Backward(srcs [][]T, w, g []T, dSrcs [][]T, dW []T)
}

// runOneWeight runs l forward on the sources lv (log-values, one per
// source) and weights wt, then backward from ∂ℓ/∂log-value = coef, and
// returns the output and the gradients in float64.
func runOneWeight[T Float](l oneWeightLayer[T], w Wiring, lv [][]float64, wt, coef []float64) (out, dW []float64, dX [][]float64) {
	out, dP, dX := runLayer[T](w, lv, [][]float64{wt}, coef,
		func(srcs, p [][]T, out []T) { l.Forward(srcs, p[0], out) },
		func(srcs, p [][]T, g []T, dSrcs, dp [][]T) { l.Backward(srcs, p[0], g, dSrcs, dp[0]) })
	return out, dP[0], dX
}

// runLayer runs a layer forward on the sources lv (log-values, one per
// source) and its parameter tensors params, then backward from
// ∂ℓ/∂log-value = coef, all in T, and returns the output and the gradients
// of the parameters and the sources in float64.
func runLayer[T Float](w Wiring, lv, params [][]float64, coef []float64,
	forward func(srcs, p [][]T, out []T), backward func(srcs, p [][]T, g []T, dSrcs, dp [][]T)) (out []float64, dParams, dX [][]float64) {
	srcs, dSrcs := make([][]T, len(lv)), make([][]T, len(lv))
	for s := range lv {
		srcs[s] = scaled[T](lv[s], w.Kin)
		dSrcs[s] = make([]T, len(srcs[s]))
	}
	p, dp := make([][]T, len(params)), make([][]T, len(params))
	for i, x := range params {
		p[i], dp[i] = conv[T](x), make([]T, len(x))
	}
	ot := make([]T, w.F*w.B*(w.Kout+1))
	forward(srcs, p, ot)
	g := make([]T, len(ot))
	SeedGrad(conv[T](coef), w.F, w.B, w.Kout, g)
	backward(srcs, p, g, dSrcs, dp)
	for _, d := range dp {
		dParams = append(dParams, conv[float64](d))
	}
	for s := range dSrcs {
		dX = append(dX, conv[float64](dSrcs[s]))
	}
	return conv[float64](ot), dParams, dX
}

// forwardF64 runs a float64 layer's forward on the sources' log-values lv
// (scaled into kernel layout) and returns its output (F, B, Kout+1).
func forwardF64(w Wiring, lv [][]float64, forward func(srcs [][]float64, out []float64)) []float64 {
	srcs := make([][]float64, len(lv))
	for s := range lv {
		srcs[s] = scaled[float64](lv[s], w.Kin)
	}
	out := make([]float64, w.F*w.B*(w.Kout+1))
	forward(srcs, out)
	return out
}

// clampBound is the reference paper's lower bound for clamped weights.
const clampBound = 1.08e-19

// atClampBound sets about one weight in oneIn (none when oneIn is 0), and
// the first first weights, to clampBound.
func atClampBound(rng *rand.Rand, wt []float64, oneIn, first int) {
	for i := range wt {
		if oneIn > 0 && rng.IntN(oneIn) == 0 {
			wt[i] = clampBound
		}
	}
	for i := range first {
		wt[i] = clampBound
	}
}
