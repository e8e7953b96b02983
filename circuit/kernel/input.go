package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/tenpc/tenpc/internal/vec"
)

// Input layers
//
// An input layer has one fold per leaf region of the region graph. Leaf f
// covers the variables LeafVars[LeafOff[f]:LeafOff[f+1]] (one variable, the C
// channels of one pixel, or a patch); variables are numbered 0..V-1 and each
// belongs to exactly one leaf. Each of the K units of a leaf is the fully
// factorized product of one distribution per variable:
//
//	log out[f, b, k] = Σ_{v ∈ leaf f, not missing(b, v)} log p_{v,k}(x[b, v])
//
// A missing variable (a per-sample mask, for marginals; everything missing
// for the partition function) contributes log 1 = 0. Outputs are written in
// the scaled representation of the package: x: (B, V) -> out: (F, B, K+1).
//
// Discrete distributions (Categorical, Binomial) build a table once per step
// (Table), independent of B: tab[v][c][:] holds p_{v,k}(c) / max_k p_{v,k}(c)
// for k = 0..K-1 and the log-scale L[v][c] = log max_k p_{v,k}(c). A
// one-variable leaf is then a row copy; a multi-variable leaf multiplies rows
// in float64 and renormalizes once. The Gaussian computes its log-densities
// per element.
//
// Precision: a table entry p_{v,k}(c) more than ~87 nats (float32: 87 in
// the vectorized softmax table, ~103 with subnormals elsewhere; ~745 in
// float64) below max_k p_{v,k}(c) reads as 0. When every leaf has one
// variable that is the representation's own limit, so the table is kept in
// T; when some leaf has several variables, a unit weak on one variable may be
// the best on the product, so the table is kept in float64 (twice the memory)
// and only the final row is rounded to T.
//
// Data are validated before the kernels run (ValidateCategories,
// ValidateGaussianData); kernels panic only on shape mismatches, which are
// programmer errors. A layer owns per-worker float64 workspaces and keeps the
// arguments of the call in progress, so no call allocates in steady state
// (with Workers = 1; ParallelFor's goroutines cost a few small allocations
// otherwise) and a layer is not safe for concurrent use.

// InputLeaves is the leaf structure shared by every input layer: F folds over
// V variables, leaf f covering LeafVars[LeafOff[f]:LeafOff[f+1]].
type InputLeaves struct {
	F, V     int
	LeafOff  []int32 // (F+1) CSR offsets into LeafVars, LeafOff[0] = 0
	LeafVars []int32 // every variable 0..V-1 exactly once
	leafOf   []int32 // (V) the leaf holding each variable
}

// NewInputLeaves validates a leaf structure: offsets non-decreasing from 0 to
// len(leafVars), every leaf non-empty, and every variable 0..V-1 in exactly
// one leaf. The slices are kept, not copied.
func NewInputLeaves(leafOff, leafVars []int32, V int) (InputLeaves, error) {
	if len(leafOff) < 2 {
		return InputLeaves{}, fmt.Errorf("input leaves: need at least one leaf, got %d offsets", len(leafOff))
	}
	if V <= 0 {
		return InputLeaves{}, fmt.Errorf("input leaves: V = %d, want > 0", V)
	}
	F := len(leafOff) - 1
	if leafOff[0] != 0 || int(leafOff[F]) != len(leafVars) {
		return InputLeaves{}, fmt.Errorf("input leaves: offsets run from %d to %d, want 0 to len(LeafVars) = %d",
			leafOff[0], leafOff[F], len(leafVars))
	}
	leafOf := make([]int32, V)
	for i := range leafOf {
		leafOf[i] = -1
	}
	for f := range F {
		if leafOff[f+1] <= leafOff[f] {
			return InputLeaves{}, fmt.Errorf("input leaves: leaf %d is empty or offsets decrease (%d, %d)",
				f, leafOff[f], leafOff[f+1])
		}
		for _, v := range leafVars[leafOff[f]:leafOff[f+1]] {
			if v < 0 || int(v) >= V {
				return InputLeaves{}, fmt.Errorf("input leaves: leaf %d holds variable %d, want 0..%d", f, v, V-1)
			}
			if leafOf[v] >= 0 {
				return InputLeaves{}, fmt.Errorf("input leaves: variable %d is in leaves %d and %d", v, leafOf[v], f)
			}
			leafOf[v] = int32(f)
		}
	}
	for v, f := range leafOf {
		if f < 0 {
			return InputLeaves{}, fmt.Errorf("input leaves: variable %d is in no leaf", v)
		}
	}
	return InputLeaves{F: F, V: V, LeafOff: leafOff, LeafVars: leafVars, leafOf: leafOf}, nil
}

// SingleVariableLeaves returns the CSR arrays of V one-variable leaves, leaf v
// holding variable v (the MNIST layout: one leaf per pixel).
func SingleVariableLeaves(V int) (leafOff, leafVars []int32) {
	leafOff = make([]int32, V+1)
	leafVars = make([]int32, V)
	for v := range V {
		leafOff[v+1] = int32(v + 1)
		leafVars[v] = int32(v)
	}
	return leafOff, leafVars
}

// LeafOf returns the leaf (fold) that holds variable v.
func (l *InputLeaves) LeafOf(v int) int { return int(l.leafOf[v]) }

// vars returns the variables of leaf f.
func (l *InputLeaves) vars(f int) []int32 { return l.LeafVars[l.LeafOff[f]:l.LeafOff[f+1]] }

// batch checks the data and mask lengths against V and the output or
// gradient buffer against (F, B, K+1), and returns B.
func (l *InputLeaves) batch(name string, nx, nmissing, nbuf, K int) int {
	if nx%l.V != 0 {
		panic(fmt.Sprintf("kernel.%s: len(x) = %d is not a multiple of V = %d", name, nx, l.V))
	}
	B := nx / l.V
	if nmissing != 0 && nmissing != nx {
		panic(fmt.Sprintf("kernel.%s: len(missing) = %d, want 0 or len(x) = %d", name, nmissing, nx))
	}
	if nbuf != l.F*B*(K+1) {
		panic(fmt.Sprintf("kernel.%s: buffer length %d, want F·B·(K+1) = %d (F=%d B=%d K=%d)",
			name, nbuf, l.F*B*(K+1), l.F, B, K))
	}
	return B
}

// InputDataError reports the first invalid data entry: sample (row of x),
// variable (column) and value.
type InputDataError struct {
	Sample, Variable int
	Value            float64
	Reason           string // "outside 0..C-1", "not finite"
}

func (e *InputDataError) Error() string {
	return fmt.Sprintf("input data: sample %d, variable %d: value %v %s", e.Sample, e.Variable, e.Value, e.Reason)
}

// ValidateCategories checks that every entry of x: (B, V) is a category in
// 0..C-1 (C = N+1 for a binomial with N trials), returning an
// *InputDataError naming the first offender.
func ValidateCategories(x []uint8, V, C int) error {
	if V <= 0 || len(x)%V != 0 {
		return fmt.Errorf("input data: len(x) = %d is not a multiple of V = %d", len(x), V)
	}
	for i, c := range x {
		if int(c) >= C {
			return &InputDataError{Sample: i / V, Variable: i % V, Value: float64(c),
				Reason: fmt.Sprintf("outside 0..%d", C-1)}
		}
	}
	return nil
}

// FillMarginalized writes the output of an input layer whose variables are
// all missing: every row of buf: (rows, K+1) becomes [1 … 1, 0], log-value 0
// for every unit. This is the input of the partition-function pass.
func FillMarginalized[T Float](buf []T, K int) {
	if len(buf)%(K+1) != 0 {
		panic(fmt.Sprintf("kernel.FillMarginalized: len(buf) = %d is not a multiple of K+1 = %d", len(buf), K+1))
	}
	for r := 0; r < len(buf); r += K + 1 {
		row := buf[r : r+K+1]
		for k := range K {
			row[k] = 1
		}
		row[K] = 0
	}
}

// inputWorkers sizes the per-worker workspaces: worker w uses workspace w
// and takes folds from a spread until none is left. The result of a fold
// does not depend on its worker, so outputs are bit-identical for any nw.
type inputWorkers struct {
	per int       // float64s per worker
	buf []float64 // (nw, per)
	nw  int       // workers of the call in progress
	sp  spread    // folds of the call in progress
}

// start prepares a call over n folds and returns the number of workers; it
// allocates only when the number of workers grows.
func (p *inputWorkers) start(n int) int {
	p.nw = max(1, min(workers(), n))
	p.sp.start(n, p.nw)
	if len(p.buf) < p.nw*p.per {
		p.buf = make([]float64, p.nw*p.per)
	}
	return p.nw
}

// worker returns worker w's iterator over the folds it takes, and its
// workspace.
func (p *inputWorkers) worker(w int) (cursor, []float64) {
	return p.sp.cursor(), p.buf[w*p.per : (w+1)*p.per]
}

// renormBelow is the row maximum under which a multi-variable product is
// rescaled to 1 while it is being formed. The running maximum is thus at
// least 1e-100 before each factor, and a unit within ~480 nats of it
// survives the next factor above float64's smallest normal (2.2e-308)
// unless that factor alone sinks it by more than 1e-208.
const renormBelow = 1e-100

// inputTable is the gather-from-table machinery shared by the discrete input
// layers.
type inputTable[T Float] struct {
	InputLeaves
	K, C int

	tab      []T       // (V, C, K): p_{v,k}(c) / max_k p_{v,k}(c); nil when tab64 is used
	tab64    []float64 // (V, C, K): the same in float64, when some leaf has several variables
	logScale []float64 // (V, C): L[v][c] = log max_k p_{v,k}(c)
	scale    []float64 // (V, C): exp(L[v][c]) = max_k p_{v,k}(c)

	work inputWorkers // forward: K; backward: C·K + K; table: per layer

	// The call in progress (kept here so that ParallelFor gets method values
	// bound once at construction instead of a fresh closure per call).
	x       []uint8
	missing []bool
	buf     []T // out (forward) or g (backward)
	b       int
	fwdFn   func(int)
	bwdFn   func(int)
	// gradVar adds the gradient of variable v given acc: (C, K) with
	// acc[c][k] = Σ_{b: x_bv = c, not missing} G[f(v), b, k] and tot: (K) =
	// Σ_{b not missing} G[f(v), b, k]; it must leave acc and tot unchanged.
	gradVar func(v int, acc, tot []float64)
}

func newInputTable[T Float](leafOff, leafVars []int32, V, K, C, tableWork int) (inputTable[T], error) {
	leaves, err := NewInputLeaves(leafOff, leafVars, V)
	if err != nil {
		return inputTable[T]{}, err
	}
	if K <= 0 {
		return inputTable[T]{}, fmt.Errorf("input layer: K = %d, want > 0", K)
	}
	if C < 1 || C > 256 {
		return inputTable[T]{}, fmt.Errorf("input layer: %d values, want 1..256 (uint8 data)", C)
	}
	t := inputTable[T]{
		InputLeaves: leaves, K: K, C: C,
		logScale: make([]float64, V*C),
		scale:    make([]float64, V*C),
		work:     inputWorkers{per: max(K, C*K+K, tableWork)},
	}
	if leaves.F == V { // every leaf holds one variable
		t.tab = make([]T, V*C*K)
	} else {
		t.tab64 = make([]float64, V*C*K)
	}
	return t, nil
}

// store sets table row i = v·C + c to r: (K) (maximum 1, or all 0) with
// log-scale lpm.
func (t *inputTable[T]) store(i int, r []float64, lpm float64) {
	if t.tab64 != nil {
		copy(t.tab64[i*t.K:(i+1)*t.K], r)
	} else {
		row := t.tab[i*t.K : (i+1)*t.K]
		for k, p := range r {
			row[k] = T(p)
		}
	}
	t.logScale[i], t.scale[i] = lpm, math.Exp(lpm)
}

// entry returns tab[i][k], i = v·C + c.
func (t *inputTable[T]) entry(i, k int) float64 {
	if t.tab64 != nil {
		return t.tab64[i*t.K+k]
	}
	return float64(t.tab[i*t.K+k])
}

// bind sets the method values once the table sits at its final address.
func (t *inputTable[T]) bind(gradVar func(v int, acc, tot []float64)) {
	t.fwdFn = t.forwardChunk
	t.bwdFn = t.backwardChunk
	t.gradVar = gradVar
}

// forward: x: (B, V), missing: (B, V) or nil -> out: (F, B, K+1).
func (t *inputTable[T]) forward(name string, x []uint8, missing []bool, out []T) {
	t.run(name, x, missing, out, t.fwdFn)
}

// run checks a batch and runs fn over the leaves in parallel chunks, with
// x, missing and buf (the output, or the output gradient) bound for it.
func (t *inputTable[T]) run(name string, x []uint8, missing []bool, buf []T, fn func(int)) {
	t.b = t.batch(name, len(x), len(missing), len(buf), t.K)
	t.x, t.missing, t.buf = x, missing, buf
	ParallelFor(t.work.start(t.F), fn)
	t.x, t.missing, t.buf = nil, nil, nil
}

func (t *inputTable[T]) forwardChunk(w int) {
	cur, ws := t.work.worker(w)
	K, C, V, B := t.K, t.C, t.V, t.b
	acc := ws[:K]
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		vars := t.vars(f)
		if len(vars) == 1 && t.missing == nil && t.tab64 == nil {
			// The common case: a row of the table per sample.
			v := int(vars[0])
			vec.GatherRows(t.tab[v*C*K:(v+1)*C*K], t.logScale[v*C:(v+1)*C], K, t.x[v:], V, B, t.buf[f*B*(K+1):(f+1)*B*(K+1)])
			continue
		}
		for b := range B {
			row := t.buf[(f*B+b)*(K+1) : (f*B+b+1)*(K+1)]
			xb := t.x[b*V : (b+1)*V]
			var mb []bool
			if t.missing != nil {
				mb = t.missing[b*V : (b+1)*V]
			}
			if len(vars) == 1 {
				v := int(vars[0])
				if mb != nil && mb[v] {
					for k := range K {
						row[k] = 1
					}
					row[K] = 0
					continue
				}
				i := v*C + int(xb[v])
				if t.tab64 != nil {
					for k, p := range t.tab64[i*K : (i+1)*K] {
						row[k] = T(p)
					}
				} else {
					copy(row[:K], t.tab[i*K:(i+1)*K])
				}
				row[K] = T(t.logScale[i])
				continue
			}
			// Product of the table rows in float64, rescaled when its maximum
			// falls below renormBelow; s collects the log-scales.
			s, m, n := 0.0, 1.0, 0
			for k := range acc {
				acc[k] = 1
			}
			for _, v := range vars {
				if mb != nil && mb[v] {
					continue
				}
				n++
				i := int(v)*C + int(xb[v])
				s += t.logScale[i]
				m = 0
				for k, p := range t.tab64[i*K : (i+1)*K] {
					a := acc[k] * p
					acc[k] = a
					if a > m {
						m = a
					}
				}
				if m < renormBelow {
					if m == 0 || math.IsInf(s, -1) {
						break
					}
					for k := range acc {
						acc[k] /= m // exactly 1 at the maximum
					}
					s += math.Log(m)
					m = 1
				}
			}
			switch {
			case n == 0:
				for k := range K {
					row[k] = 1
				}
				row[K] = 0
			case m == 0 || math.IsInf(s, -1):
				clear(row[:K])
				row[K] = T(math.Inf(-1))
			default:
				for k, a := range acc {
					row[k] = T(a / m) // exactly 1 at the maximum
				}
				row[K] = T(s + math.Log(m))
			}
		}
	}
}

// backward: x: (B, V), missing: (B, V) or nil, g: (F, B, K+1) -> gradVar for
// every variable, each variable's sums taken over b in increasing order.
func (t *inputTable[T]) backward(name string, x []uint8, missing []bool, g []T) {
	t.run(name, x, missing, g, t.bwdFn)
}

func (t *inputTable[T]) backwardChunk(w int) {
	cur, ws := t.work.worker(w)
	K, C, V, B := t.K, t.C, t.V, t.b
	acc, tot := ws[:C*K], ws[C*K:C*K+K]
	// Zero once per call (Table uses the same workspace); each variable then
	// zeroes what it touched.
	clear(acc)
	clear(tot)
	for f, ok := cur.next(); ok; f, ok = cur.next() {
		for _, v := range t.vars(f) {
			var miss []bool
			if t.missing != nil {
				miss = t.missing[v:]
			}
			vec.ScatterRows(t.buf[f*B*(K+1):(f+1)*B*(K+1)], K+1, t.x[v:], V, miss, acc, tot, B, K)
			t.gradVar(int(v), acc, tot)
			// Zero what this variable touched: the rows of its values, and tot.
			for b := range B {
				if t.missing == nil || !t.missing[b*V+int(v)] {
					c := int(t.x[b*V+int(v)])
					clear(acc[c*K : (c+1)*K])
				}
			}
			clear(tot)
		}
	}
}

// prob returns p_{v,k}(c) as stored in the table.
func (t *inputTable[T]) prob(v, k, c int) float64 {
	return t.entry(v*t.C+c, k) * t.scale[v*t.C+c]
}

// sample draws c from p_{v,k}(·) by inverse CDF over c = 0..C-1 (normalizing
// the table's probabilities, which matters only for unnormalized
// parameterizations).
func (t *inputTable[T]) sample(rng *rand.Rand, v, k int) int {
	total := 0.0
	for c := range t.C {
		total += t.prob(v, k, c)
	}
	u := rng.Float64() * total
	cum, last := 0.0, 0
	for c := range t.C {
		p := t.prob(v, k, c)
		if p <= 0 {
			continue
		}
		cum += p
		last = c
		if u < cum {
			return c
		}
	}
	return last // u fell past the rounded total
}

// mode returns argmax_c p_{v,k}(c), the smallest c among ties.
func (t *inputTable[T]) mode(v, k int) int {
	best, bp := 0, math.Inf(-1)
	for c := range t.C {
		i := v*t.C + c
		e := t.entry(i, k)
		if e == 0 {
			continue
		}
		if lp := t.logScale[i] + math.Log(e); lp > bp {
			best, bp = c, lp
		}
	}
	return best
}

// sampleLeaf draws the variables of leaf f from unit k into xrow: (V).
func (t *inputTable[T]) sampleLeaf(rng *rand.Rand, f, k int, xrow []uint8) {
	for _, v := range t.vars(f) {
		xrow[v] = uint8(t.sample(rng, int(v), k))
	}
}

// modeLeaf writes the most probable value of every variable of leaf f under
// unit k into xrow: (V).
func (t *inputTable[T]) modeLeaf(f, k int, xrow []uint8) {
	for _, v := range t.vars(f) {
		xrow[v] = uint8(t.mode(int(v), k))
	}
}
