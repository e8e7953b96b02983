package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/internal/stattest"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// queryGraph is one region graph of the exact-query test matrix: small
// enough to enumerate values^V assignments.
type queryGraph struct {
	name   string
	rg     *regiongraph.Graph
	values int
}

// queryGraphs covers every region-graph builder: 6–9 variables, 2 or 3
// values (≤ 729 assignments).
func queryGraphs(t testing.TB) []queryGraph {
	img := func(h, w int) regiongraph.Shape { return regiongraph.Shape{C: 1, H: h, W: w} }
	must := func(g *regiongraph.Graph, err error) *regiongraph.Graph {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	return []queryGraph{
		{"qt2", must(regiongraph.QuadTree(img(2, 3), 2)), 3},
		{"qt4", must(regiongraph.QuadTree(img(3, 3), 4)), 2},
		{"qg", must(regiongraph.QuadGraph(img(2, 3))), 3},
		{"pd", must(regiongraph.PoonDomingos(img(2, 3), []float64{1}, -1)), 3},
		{"rbt", must(regiongraph.RandomBinaryTree(8, -1, 2, 5)), 2},
		{"lt", must(regiongraph.LinearTree(6, 2, true, 3)), 3},
		{"ff", must(regiongraph.FullyFactorized(6, 2)), 3},
	}
}

// queryLayers are the layer kinds that apply to rg: all of them (Tucker
// on graphs with wider partitions through the binarized graph).
func queryLayers(*regiongraph.Graph) []Layer { return []Layer{CP, CPR, CPS, CPXS, Tucker} }

// buildQueryCircuit builds the float64 test circuit: 3 units, rank 2 (so
// CP-R's R differs from K), learnable (non-uniform) mixing weights.
func buildQueryCircuit(t testing.TB, rg *regiongraph.Graph, layer Layer, par Param, input InputKind, values int, seed uint64) *Circuit {
	t.Helper()
	c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Input: input, Values: values, Param: par,
		LearnMixing: true, DType: nn.Float64, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enumeration is a circuit's exact distribution by enumeration: x holds
// every assignment (values^V rows, row-major, first variable slowest), lp
// log p of each.
type enumeration struct {
	V, C int
	x    []uint8
	lp   []float64
}

func enumerate(t testing.TB, c *Circuit) *enumeration {
	t.Helper()
	V, C := c.plan.NumVars, c.opts.Values
	en := &enumeration{V: V, C: C, x: allAssignments(V, C)}
	var err error
	if en.lp, err = c.LogProb(en.x, nil); err != nil {
		t.Fatal(err)
	}
	return en
}

// index is the enumeration row of a full assignment.
func (en *enumeration) index(x []uint8) int {
	i := 0
	for _, v := range x {
		i = i*en.C + int(v)
	}
	return i
}

// logMarginal is log Σ over the enumeration rows agreeing with x where obs.
func (en *enumeration) logMarginal(x []uint8, obs []bool) float64 {
	var terms []float64
	for i := range len(en.lp) {
		row := en.x[i*en.V : (i+1)*en.V]
		if agrees(row, x, obs) {
			terms = append(terms, en.lp[i])
		}
	}
	return logSumExp(terms)
}

func agrees(row, x []uint8, obs []bool) bool {
	for v, o := range obs {
		if o && row[v] != x[v] {
			return false
		}
	}
	return true
}

// randomRows draws n rows of random values and random masks (each entry
// set with probability pSet).
func randomRows(rng *rand.Rand, n, V, C int, pSet float64) ([]uint8, []bool) {
	x, m := make([]uint8, n*V), make([]bool, n*V)
	for i := range x {
		x[i] = uint8(rng.IntN(C))
		m[i] = rng.Float64() < pSet
	}
	return x, m
}

func not(m []bool) []bool {
	out := make([]bool, len(m))
	for i, v := range m {
		out[i] = !v
	}
	return out
}

func TestQueriesExact(t *testing.T) {
	for _, g := range queryGraphs(t) {
		for _, layer := range queryLayers(g.rg) {
			for _, par := range []Param{Clamp, Softmax, Exp} {
				name := fmt.Sprintf("%s/%v/%v", g.name, layer, par)
				t.Run(name, func(t *testing.T) {
					c := buildQueryCircuit(t, g.rg, layer, par, Categorical, g.values, 11)
					// -short samples only the unnormalized clamp circuits.
					checkExactQueries(t, c, 17, !testing.Short() || par == Clamp)
				})
			}
		}
	}
}

// checkExactQueries checks a small discrete circuit's queries against the
// enumeration of its distribution: normalization, marginals, conditionals,
// MAP, samples (chi-square), and the compiled program.
func checkExactQueries(t *testing.T, c *Circuit, seed uint64, samples bool) {
	en := enumerate(t, c)
	V, C := en.V, en.C
	rng := rand.New(rand.NewPCG(seed, 99))

	// Σ_x p(x) = 1.
	if s := logSumExp(en.lp); math.Abs(s) > 1e-9 {
		t.Errorf("log Σ_x p(x) = %g, want 0", s)
	}

	// Marginals: random missing masks against sums of the enumeration.
	x, miss := randomRows(rng, 8, V, C, 0.4)
	copy(miss[:V], make([]bool, V)) // row 0: nothing missing
	for v := range V {
		miss[V+v] = true // row 1: everything missing
	}
	lm, err := c.LogProb(x, miss)
	if err != nil {
		t.Fatal(err)
	}
	for b := range 8 {
		want := en.logMarginal(x[b*V:(b+1)*V], not(miss[b*V:(b+1)*V]))
		if math.Abs(lm[b]-want) > 1e-9 {
			t.Errorf("marginal row %d (missing %v): LogProb %.12g, enumeration %.12g", b, miss[b*V:(b+1)*V], lm[b], want)
		}
	}

	checkConditionals(t, c, en, rng)
	checkMAP(t, c, en, rng)
	if samples {
		checkSamples(t, c, en, rng)
	}
	t.Run("compiled", func(t *testing.T) { checkAgainstProgram(t, c, en) })
}

// checkConditionals checks LogConditional against the enumeration and that
// it sums to 1 over the query variables.
func checkConditionals(t *testing.T, c *Circuit, en *enumeration, rng *rand.Rand) {
	V, C := en.V, en.C
	for range 3 {
		// A random split: each variable in the query, the evidence or
		// neither; at least one query variable.
		role := make([]int, V) // 0 query, 1 evidence, 2 neither
		for v := range role {
			role[v] = rng.IntN(3)
		}
		role[rng.IntN(V)] = 0
		var qv []int
		base := make([]uint8, V)
		q, e := make([]bool, V), make([]bool, V)
		for v, r := range role {
			base[v] = uint8(rng.IntN(C))
			q[v], e[v] = r == 0, r == 1
			if r == 0 {
				qv = append(qv, v)
			}
		}
		// Every assignment of the query variables, evidence fixed.
		assign := allAssignments(len(qv), C)
		n := len(assign) / len(qv)
		x := make([]uint8, n*V)
		var qs, es []bool
		for i := range n {
			row := x[i*V : (i+1)*V]
			copy(row, base)
			for j, v := range qv {
				row[v] = assign[i*len(qv)+j]
			}
			qs, es = append(qs, q...), append(es, e...)
		}
		lc, err := c.LogConditional(x, qs, es)
		if err != nil {
			t.Fatal(err)
		}
		if s := logSumExp(lc); math.Abs(s) > 1e-9 {
			t.Errorf("query %v, evidence %v: log Σ_q p(x_q | x_e) = %g, want 0", q, e, s)
		}
		joint := make([]bool, V)
		for v := range joint {
			joint[v] = q[v] || e[v]
		}
		le := en.logMarginal(base, e)
		for i := range min(n, 8) {
			want := en.logMarginal(x[i*V:(i+1)*V], joint) - le
			if math.Abs(lc[i]-want) > 1e-9 {
				t.Errorf("query %v, evidence %v, x %v: LogConditional %.12g, enumeration %.12g", q, e, x[i*V:(i+1)*V], lc[i], want)
			}
		}
	}
}

// checkMAP checks MAP against the brute-force maximum of the max-product
// value over every completion, and against re-evaluating its completion.
func checkMAP(t *testing.T, c *Circuit, en *enumeration, rng *rand.Rand) {
	V, C := en.V, en.C
	x, obs := randomRows(rng, 6, V, C, 0.4)
	clear(obs[:V]) // row 0: nothing observed (the unconditional MPE)
	for v := range V {
		obs[V+v] = true // row 1: everything observed
	}
	got, val, err := c.MAP(x, obs)
	if err != nil {
		t.Fatal(err)
	}
	all := make([]bool, len(en.x))
	for i := range all {
		all[i] = true
	}
	// m(x) − log Z of every full assignment.
	mp := logMaxProduct(t, c, &queryData{n: len(en.lp), u8: en.x, obs: all})
	re := logMaxProduct(t, c, &queryData{n: 6, u8: got, obs: not(make([]bool, len(got)))})
	for b := range 6 {
		row, o := got[b*V:(b+1)*V], obs[b*V:(b+1)*V]
		if !agrees(row, x[b*V:(b+1)*V], o) {
			t.Errorf("MAP row %d changed observed entries: x %v, observed %v, got %v", b, x[b*V:(b+1)*V], o, row)
		}
		best := math.Inf(-1)
		for i := range len(en.lp) {
			if agrees(en.x[i*V:(i+1)*V], x[b*V:(b+1)*V], o) {
				best = max(best, mp[i])
			}
		}
		if math.Abs(val[b]-best) > 1e-9 {
			t.Errorf("MAP row %d (observed %v): value %.12g, brute-force max %.12g", b, o, val[b], best)
		}
		if math.Abs(re[b]-val[b]) > 1e-9 {
			t.Errorf("MAP row %d: value %.12g, re-evaluated completion %v gives %.12g", b, val[b], row, re[b])
		}
		// The max-product value bounds the probability from below.
		if lp := en.lp[en.index(row)]; val[b] > lp+1e-9 {
			t.Errorf("MAP row %d: max-product value %.12g above log p(x*) = %.12g", b, val[b], lp)
		}
	}
}

// logMaxProduct returns log m(x) − log Z per row of ev (one root unit): the
// max-product value, normalized as MAP's.
func logMaxProduct(t *testing.T, c *Circuit, ev *queryData) []float64 {
	t.Helper()
	e, err := newEvaluator(c)
	if err != nil {
		t.Fatal(err)
	}
	defer e.done()
	logZ, err := e.logZ()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := e.up(ev, 0, ev.n, maxProduct)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, ev.n)
	for r := range out {
		out[r] = ps.root(e.p, r, 0) - logZ[0]
	}
	return out
}

// checkSamples draws 20,000 samples, unconditional and conditional, and
// chi-square tests them against the enumeration (p > 0.001).
func checkSamples(t *testing.T, c *Circuit, en *enumeration, rng *rand.Rand) {
	const n = 20000
	V, C := en.V, en.C
	xs, err := c.Sample(n, rng)
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]float64, len(en.lp))
	for i := range n {
		counts[en.index(xs[i*V:(i+1)*V])]++
	}
	expect := make([]float64, len(en.lp))
	for i, l := range en.lp {
		expect[i] = n * math.Exp(l)
	}
	if p := chiSquareP(counts, expect); p < 1e-3 {
		t.Errorf("Sample: chi-square p = %.3g over %d assignments", p, len(expect))
	}

	// Conditional: two observed variables, one evidence row repeated.
	base := make([]uint8, V)
	for v := range base {
		base[v] = uint8(rng.IntN(C))
	}
	o := make([]bool, V)
	o[0], o[V-1] = true, true
	x := make([]uint8, 0, n*V)
	obs := make([]bool, 0, n*V)
	for range n {
		x, obs = append(x, base...), append(obs, o...)
	}
	xc, err := c.SampleConditional(x, obs, rng)
	if err != nil {
		t.Fatal(err)
	}
	clear(counts)
	for i := range n {
		row := xc[i*V : (i+1)*V]
		if !agrees(row, base, o) {
			t.Fatalf("SampleConditional changed observed entries: %v, evidence %v", row, base)
		}
		counts[en.index(row)]++
	}
	le := en.logMarginal(base, o)
	var ce, cc []float64
	for i, l := range en.lp {
		if agrees(en.x[i*V:(i+1)*V], base, o) {
			ce, cc = append(ce, n*math.Exp(l-le)), append(cc, counts[i])
		} else if counts[i] != 0 {
			t.Fatalf("SampleConditional drew %v, inconsistent with the evidence", en.x[i*V:(i+1)*V])
		}
	}
	if p := chiSquareP(cc, ce); p < 1e-3 {
		t.Errorf("SampleConditional: chi-square p = %.3g over %d assignments", p, len(ce))
	}
}

// chiSquareP is the p-value of Pearson's chi-square test of observed counts
// against expected ones (equal totals), cells with expected count < 5 merged
// (in increasing order of expectation) until each merged cell expects ≥ 5.
func chiSquareP(obs, exp []float64) float64 {
	idx := make([]int, len(exp))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case exp[a] < exp[b]:
			return -1
		case exp[a] > exp[b]:
			return 1
		}
		return 0
	})
	var cells [][2]float64 // (observed, expected)
	var o, e float64
	for _, i := range idx {
		o, e = o+obs[i], e+exp[i]
		if e >= 5 {
			cells = append(cells, [2]float64{o, e})
			o, e = 0, 0
		}
	}
	if e > 0 || o > 0 { // a remainder below 5 joins the last cell
		if len(cells) == 0 {
			return 1
		}
		cells[len(cells)-1][0] += o
		cells[len(cells)-1][1] += e
	}
	if len(cells) < 2 {
		return 1
	}
	stat := 0.0
	for _, c := range cells {
		d := c[0] - c[1]
		stat += d * d / c[1]
	}
	return stattest.ChiSquareSF(stat, float64(len(cells)-1))
}

// checkAgainstProgram compares the reference evaluator with the compiled
// program's LogLikelihood and LogConditional, where it supports the layers.
func checkAgainstProgram(t *testing.T, c *Circuit, en *enumeration) {
	prog, err := c.Compile(128, false)
	if err != nil {
		if strings.Contains(err.Error(), "not available yet") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	V := en.V
	got := make([]float64, len(en.lp))
	if err := prog.LogLikelihood(en.x, nil, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-en.lp[i]) > 1e-9 {
			t.Fatalf("x %v: Program.LogLikelihood %.12g, LogProb %.12g", en.x[i*V:(i+1)*V], got[i], en.lp[i])
		}
	}
	rng := rand.New(rand.NewPCG(5, 5))
	x, q := randomRows(rng, 40, V, en.C, 0.3)
	_, e := randomRows(rng, 40, V, en.C, 0.3)
	for i := range e {
		e[i] = e[i] && !q[i]
	}
	want, err := c.LogConditional(x, q, e)
	if err != nil {
		t.Fatal(err)
	}
	lc := make([]float64, 40)
	if err := prog.LogConditional(x, q, e, lc); err != nil {
		t.Fatal(err)
	}
	for i := range lc {
		if math.Abs(lc[i]-want[i]) > 1e-9 {
			t.Errorf("row %d: Program.LogConditional %.12g, LogConditional %.12g", i, lc[i], want[i])
		}
	}
}

// Binomial (N = 2) and Bernoulli inputs: their pmf, mode and draws.
func TestQueriesExactBinomial(t *testing.T) {
	qt, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	rbt, err := regiongraph.RandomBinaryTree(8, -1, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		rg     *regiongraph.Graph
		input  InputKind
		values int
	}{{"qt2/binomial", qt, Binomial, 3}, {"rbt/bernoulli", rbt, Bernoulli, 2}} {
		for _, layer := range []Layer{CP, CPR, Tucker} {
			for _, par := range []Param{Clamp, Softmax} {
				t.Run(fmt.Sprintf("%s/%v/%v", tc.name, layer, par), func(t *testing.T) {
					c := buildQueryCircuit(t, tc.rg, layer, par, tc.input, tc.values, 5)
					checkExactQueries(t, c, 23, !testing.Short() || par == Clamp)
				})
			}
		}
	}
}

// With several root units every query of the likelihood family answers
// per unit, each normalized by its own Z; downward queries refuse.
func TestQueriesClasses(t *testing.T) {
	rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 2, W: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(rg, Options{Layer: CPR, Units: 3, Rank: 2, Classes: 2, Values: 3, LearnMixing: true, DType: nn.Float64, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	x := allAssignments(4, 3)
	lp, err := c.LogProb(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(lp) != 2*81 {
		t.Fatalf("LogProb returned %d values, want %d", len(lp), 2*81)
	}
	for k := range 2 {
		var col []float64
		for i := range 81 {
			col = append(col, lp[i*2+k])
		}
		if s := logSumExp(col); math.Abs(s) > 1e-9 {
			t.Errorf("class %d: log Σ_x p(x) = %g", k, s)
		}
	}
	if math.Abs(lp[0]-lp[1]) < 1e-6 {
		t.Errorf("both classes give log p = %g; the test cannot tell them apart", lp[0])
	}
	prog, err := c.Compile(81, false)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, len(lp))
	if err := prog.LogLikelihood(x, nil, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-lp[i]) > 1e-9 {
			t.Fatalf("entry %d: Program.LogLikelihood %.12g, LogProb %.12g", i, got[i], lp[i])
		}
	}
	if _, err := c.Sample(1, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), "one root unit") {
		t.Errorf("Sample on a 2-class circuit: err = %v, want one about the root units", err)
	}
	if _, _, err := c.MAP(x[:4], make([]bool, 4)); err == nil || !strings.Contains(err.Error(), "one root unit") {
		t.Errorf("MAP on a 2-class circuit: err = %v, want one about the root units", err)
	}
}

func TestQueriesValidate(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	c := buildQueryCircuit(t, rg, CP, Clamp, Categorical, 3, 1)
	g := buildGaussCircuit(t, rg, CP, Clamp, 1)
	rng := rand.New(rand.NewPCG(1, 1))
	x := []uint8{0, 1, 2, 0}
	t4, f4 := []bool{true, true, true, true}, []bool{false, false, false, false}
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"ragged x", "not a multiple of 4 variables", second(c.LogProb(x[:3], nil))},
		{"short missing", "missing has 3 entries, want 4", second(c.LogProb(x, t4[:3]))},
		{"category", "sample 0, variable 1: value 3 outside 0..2", second(c.LogProb([]uint8{0, 3, 0, 0}, nil))},
		{"category missing is ignored", "", second(c.LogProb([]uint8{0, 3, 0, 0}, []bool{false, true, false, false}))},
		{"overlap", "sample 0, variable 2 is in both query and evidence", second(c.LogConditional(x, []bool{false, false, true, false}, []bool{true, false, true, false}))},
		{"short query", "query has 2 entries, want 4", second(c.LogConditional(x, t4[:2], f4))},
		{"nil rng", "rng is nil", second(c.Sample(3, nil))},
		{"negative n", "n = -1 samples", second(c.Sample(-1, rng))},
		{"Sample on Gaussian", "Gaussian inputs take []float64", second(g.Sample(3, rng))},
		{"SampleFloat on categorical", "categorical inputs take []uint8", second(c.SampleFloat(3, rng))},
		{"LogProb on Gaussian", "Gaussian inputs take []float64", second(g.LogProb(x, nil))},
		{"conditional mask", "mask has 3 entries, want 4", second(c.SampleConditional(x, t4[:3], rng))},
		{"conditional category", "value 7 outside 0..2", second(c.SampleConditional([]uint8{7, 0, 0, 0}, t4, rng))},
		{"NaN observed", "not finite", second(g.LogProbFloat([]float64{0, math.NaN(), 0, 0}, nil))},
		{"NaN unobserved is ignored", "", second(g.SampleConditionalFloat([]float64{0, math.NaN(), 0, 0}, []bool{true, false, true, true}, rng))},
		{"MAP mask", "mask has 0 entries, want 4", third(c.MAP(x, nil))},
		{"MAPFloat on categorical", "categorical inputs take []uint8", third(c.MAPFloat([]float64{0, 0, 0, 0}, t4))},
	} {
		switch {
		case tc.want == "" && tc.err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, tc.err)
		case tc.want != "" && (tc.err == nil || !strings.Contains(tc.err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
	prog, err := c.Compile(4, false)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 1)
	if err := prog.LogConditional(x, t4, t4, dst); err == nil || !strings.Contains(err.Error(), "in both query and evidence") {
		t.Errorf("Program.LogConditional with overlapping masks: err = %v", err)
	}
	if err := prog.LogConditional(x, t4, f4, make([]float64, 2)); err == nil || !strings.Contains(err.Error(), "dst has 2 entries, want 1") {
		t.Errorf("Program.LogConditional with a long dst: err = %v", err)
	}
}

func second[T any](_ T, err error) error        { return err }
func third[T, U any](_ T, _ U, err error) error { return err }

// Same seed, same samples; another seed, other samples.
func TestSampleDeterministic(t *testing.T) {
	rg, err := regiongraph.PoonDomingos(regiongraph.Shape{C: 1, H: 2, W: 3}, []float64{1}, -1)
	if err != nil {
		t.Fatal(err)
	}
	c := buildQueryCircuit(t, rg, CPR, Exp, Categorical, 3, 2)
	draw := func(seed uint64) ([]uint8, []uint8) {
		a, err := c.Sample(50, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		obs := make([]bool, len(a))
		for i := range obs {
			obs[i] = i%3 == 0
		}
		b, err := c.SampleConditional(a, obs, rand.New(rand.NewPCG(seed, 1)))
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
	a1, b1 := draw(1)
	a2, b2 := draw(1)
	a3, b3 := draw(2)
	if !slices.Equal(a1, a2) || !slices.Equal(b1, b2) {
		t.Error("two draws with seed 1 differ")
	}
	if slices.Equal(a1, a3) || slices.Equal(b1, b3) {
		t.Error("draws with seeds 1 and 2 are equal")
	}
}
