package circuit

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// Gaussian inputs cannot be enumerated; the checks integrate over one
// variable at a time by quadrature instead: the trapezoid rule on a uniform
// grid, spectrally accurate for these smooth, Gaussian-tailed integrands.

// gaussGrid is the quadrature grid: [−12, 12] in steps of 0.01, far past
// every unit's μ ± 12σ (|μ| < 4, σ ≤ e^{0.3}).
func gaussGrid() []float64 {
	g := make([]float64, 2401)
	for i := range g {
		g[i] = -12 + 0.01*float64(i)
	}
	return g
}

// trapezoid integrates exp(lf) on the uniform grid g.
func trapezoid(g, lf []float64) float64 {
	s := 0.0
	for i := range g {
		w := 1.0
		if i == 0 || i == len(g)-1 {
			w = 0.5
		}
		s += w * math.Exp(lf[i])
	}
	return s * (g[1] - g[0])
}

// buildGaussCircuit builds a Gaussian circuit with spread-out standard
// deviations (log σ uniform in [−0.5, 0.3]) so that units differ in scale.
func buildGaussCircuit(t testing.TB, rg *regiongraph.Graph, layer Layer, par Param, seed uint64) *Circuit {
	t.Helper()
	c, err := Build(rg, Options{Layer: layer, Units: 2, Rank: 2, Input: Gaussian, Param: par,
		LearnMixing: true, DType: nn.Float64, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	ls := make([]float64, c.Input.LogStd.Len())
	for i := range ls {
		ls[i] = -0.5 + 0.8*rng.Float64()
	}
	c.Input.LogStd.SetValue(ls)
	return c
}

func TestGaussianQueries(t *testing.T) {
	graphs := []struct {
		name string
		rg   *regiongraph.Graph
		err  error
	}{{name: "qt2"}, {name: "rbt"}}
	graphs[0].rg, graphs[0].err = regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 2, W: 2}, 2)
	graphs[1].rg, graphs[1].err = regiongraph.RandomBinaryTree(4, -1, 2, 3)
	for _, g := range graphs {
		if g.err != nil {
			t.Fatal(g.err)
		}
		for _, layer := range []Layer{CP, CPR, CPS, Tucker} {
			for _, par := range []Param{Clamp, Softmax, Exp} {
				name := fmt.Sprintf("%s/%v/%v", g.name, layer, par)
				t.Run(name, func(t *testing.T) {
					c := buildGaussCircuit(t, g.rg, layer, par, 21)
					checkGaussianQueries(t, c, testing.Short() && par != Clamp)
				})
			}
		}
	}
}

func checkGaussianQueries(t *testing.T, c *Circuit, skipSamples bool) {
	V := c.plan.NumVars
	rng := rand.New(rand.NewPCG(3, 4))
	grid := gaussGrid()
	x := make([]float64, V)
	for v := range x {
		x[v] = rng.NormFloat64()
	}
	none := make([]bool, V)

	// Every variable missing: log ∫ p = 0.
	all := not(none)
	if l, err := c.LogProbFloat(x, all); err != nil || math.Abs(l[0]) > 1e-9 {
		t.Errorf("LogProbFloat with everything missing = %v (%v), want 0", l, err)
	}

	// One variable missing = quadrature of the full density over it.
	rows := make([]float64, len(grid)*V)
	for v := range V {
		for i, g := range grid {
			copy(rows[i*V:], x)
			rows[i*V+v] = g
		}
		lf, err := c.LogProbFloat(rows, nil)
		if err != nil {
			t.Fatal(err)
		}
		miss := slices.Clone(none)
		miss[v] = true
		lm, err := c.LogProbFloat(x, miss)
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Log(trapezoid(grid, lf)); math.Abs(lm[0]-want) > 1e-8 {
			t.Errorf("variable %d missing: LogProbFloat %.12g, quadrature %.12g", v, lm[0], want)
		}
	}

	// p(x_1 | x_0) integrates to 1 over x_1 and equals the ratio of
	// marginals, the other variables integrated out.
	q, e := slices.Clone(none), slices.Clone(none)
	q[1], e[0] = true, true
	var qs, es []bool
	for i, g := range grid {
		copy(rows[i*V:], x)
		rows[i*V+1] = g
		qs, es = append(qs, q...), append(es, e...)
	}
	lc, err := c.LogConditionalFloat(rows, qs, es)
	if err != nil {
		t.Fatal(err)
	}
	if s := trapezoid(grid, lc); math.Abs(s-1) > 1e-8 {
		t.Errorf("∫ p(x_1 | x_0) dx_1 = %.12g, want 1", s)
	}
	lj, _ := c.LogProbFloat(x, not([]bool{true, true, false, false}[:V]))
	le, _ := c.LogProbFloat(x, not([]bool{true, false, false, false}[:V]))
	lc1, _ := c.LogConditionalFloat(x, q, e)
	if math.Abs(lc1[0]-(lj[0]-le[0])) > 1e-9 {
		t.Errorf("LogConditionalFloat %.12g, log p(x_0, x_1) − log p(x_0) = %.12g", lc1[0], lj[0]-le[0])
	}

	checkGaussianMAP(t, c, x)
	if !skipSamples {
		checkGaussianSamples(t, c, x, grid)
	}
	t.Run("compiled", func(t *testing.T) { checkGaussianProgram(t, c, rng) })
}

// checkGaussianMAP compares MAPFloat with a brute-force maximum of the
// max-product value over the grid of unit means: a tree's value is largest
// at the means of the units it reaches, so the maximum over x and trees is
// attained on that grid.
func checkGaussianMAP(t *testing.T, c *Circuit, x []float64) {
	p, V := c.plan, c.plan.NumVars
	cand := make([][]float64, V) // μ of every unit of every slot of v
	mu := c.Input.Mean.Value()
	for idx, v := range p.LeafVars {
		s := int(p.Slots[idx])
		for k := range p.InputUnits {
			cand[v] = append(cand[v], mu[s*p.InputUnits+k])
		}
	}
	for _, obsMask := range [][]bool{make([]bool, V), {true, false, true, false}} {
		got, val, err := c.MAPFloat(x, obsMask)
		if err != nil {
			t.Fatal(err)
		}
		// Every combination of candidates on the unobserved variables.
		var rows []float64
		var rec func(v int, row []float64)
		rec = func(v int, row []float64) {
			if v == V {
				rows = append(rows, row...)
				return
			}
			if obsMask[v] {
				rec(v+1, row)
				return
			}
			for _, m := range cand[v] {
				row[v] = m
				rec(v+1, row)
			}
		}
		rec(0, slices.Clone(x))
		n := len(rows) / V
		all := not(make([]bool, len(rows)))
		mp := logMaxProduct(t, c, &queryData{n: n, f64: rows, obs: all})
		if best := slices.Max(mp); math.Abs(val[0]-best) > 1e-9 {
			t.Errorf("MAPFloat (observed %v): value %.12g, brute-force max %.12g", obsMask, val[0], best)
		}
		re := logMaxProduct(t, c, &queryData{n: 1, f64: got, obs: not(make([]bool, V))})
		if math.Abs(re[0]-val[0]) > 1e-9 {
			t.Errorf("MAPFloat: value %.12g, re-evaluated completion %v gives %.12g", val[0], got, re[0])
		}
		for v, o := range obsMask {
			if o && got[v] != x[v] {
				t.Errorf("MAPFloat changed observed x_%d: %v → %v", v, x[v], got[v])
			}
			if !o && !slices.Contains(cand[v], got[v]) {
				t.Errorf("MAPFloat set x_%d = %v, not the mean of any unit", v, got[v])
			}
		}
	}
}

// checkGaussianSamples Kolmogorov–Smirnov-tests 20,000 samples, per
// variable, against the marginal CDF (quadrature of LogProbFloat with the
// other variables missing), unconditionally and given x_0.
func checkGaussianSamples(t *testing.T, c *Circuit, x, grid []float64) {
	const n = 20000
	V := c.plan.NumVars
	rng := rand.New(rand.NewPCG(8, 8))
	xs, err := c.SampleFloat(n, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Conditional draws: x_0 observed, n copies of x.
	xc := make([]float64, 0, n*V)
	obs := make([]bool, 0, n*V)
	o := make([]bool, V)
	o[0] = true
	for range n {
		xc, obs = append(xc, x...), append(obs, o...)
	}
	ys, err := c.SampleConditionalFloat(xc, obs, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if ys[i*V] != x[0] {
			t.Fatalf("SampleConditionalFloat changed the observed x_0: %v → %v", x[0], ys[i*V])
		}
	}
	rows := make([]float64, len(grid)*V)
	for v := range V {
		for _, cond := range []bool{false, true} {
			if cond && v == 0 {
				continue
			}
			// Density of x_v on the grid: marginal, or conditional on x_0.
			miss, ev := make([]bool, 0, len(rows)), make([]bool, 0, len(rows))
			for i, g := range grid {
				copy(rows[i*V:], x)
				rows[i*V+v] = g
				for u := range V {
					miss = append(miss, u != v)
					ev = append(ev, cond && u == 0)
				}
			}
			var lf []float64
			if cond {
				lf, err = c.LogConditionalFloat(rows, not(miss), ev)
			} else {
				lf, err = c.LogProbFloat(rows, miss)
			}
			if err != nil {
				t.Fatal(err)
			}
			src := xs
			if cond {
				src = ys
			}
			s := make([]float64, n)
			for i := range s {
				s[i] = src[i*V+v]
			}
			if p := ksP(s, grid, lf); p < 1e-3 {
				t.Errorf("x_%d (given x_0: %v): Kolmogorov–Smirnov p = %.3g", v, cond, p)
			}
		}
	}
}

// ksP is the asymptotic p-value of the one-sample Kolmogorov–Smirnov test
// of samples s against the CDF of the density exp(lf) on the uniform grid
// (cumulative trapezoid, linear between grid points).
func ksP(s, grid, lf []float64) float64 {
	cdf := make([]float64, len(grid))
	h := grid[1] - grid[0]
	for i := 1; i < len(grid); i++ {
		cdf[i] = cdf[i-1] + 0.5*h*(math.Exp(lf[i-1])+math.Exp(lf[i]))
	}
	F := func(x float64) float64 {
		switch {
		case x <= grid[0]:
			return 0
		case x >= grid[len(grid)-1]:
			return cdf[len(cdf)-1]
		}
		i := int((x - grid[0]) / h)
		i = min(i, len(grid)-2)
		u := (x - grid[i]) / h
		return cdf[i] + u*(cdf[i+1]-cdf[i])
	}
	s = slices.Clone(s)
	slices.Sort(s)
	n := float64(len(s))
	d := 0.0
	for i, x := range s {
		f := F(x)
		d = max(d, math.Abs(float64(i+1)/n-f), math.Abs(f-float64(i)/n))
	}
	return kolmogorovSF(d * math.Sqrt(n))
}

// kolmogorovSF is P(K > λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}, Kolmogorov's
// limiting distribution of √n·D.
func kolmogorovSF(l float64) float64 {
	if l < 0.2 {
		return 1
	}
	s := 0.0
	for k := 1; k <= 100; k++ {
		term := math.Exp(-2 * float64(k*k) * l * l)
		if k%2 == 0 {
			term = -term
		}
		s += term
		if math.Abs(term) < 1e-16 {
			break
		}
	}
	return min(1, max(0, 2*s))
}

func TestKolmogorovSF(t *testing.T) {
	// Critical values of the limiting distribution: 1.3581 (5%), 1.9495
	// (0.1%).
	for _, tc := range []struct{ l, p float64 }{{1.3581, 0.05}, {1.9495, 0.001}, {0.8276, 0.5}} {
		if got := kolmogorovSF(tc.l); math.Abs(got-tc.p) > 2e-4*tc.p/0.05 {
			t.Errorf("kolmogorovSF(%v) = %.6g, want %.6g", tc.l, got, tc.p)
		}
	}
	// Standard normal draws pass against the normal CDF and fail against a
	// shifted one.
	rng := rand.New(rand.NewPCG(1, 2))
	s := make([]float64, 20000)
	for i := range s {
		s[i] = rng.NormFloat64()
	}
	grid := gaussGrid()
	lf, shifted := make([]float64, len(grid)), make([]float64, len(grid))
	for i, g := range grid {
		lf[i] = -0.5*g*g - halfLog2Pi
		shifted[i] = -0.5*(g-0.05)*(g-0.05) - halfLog2Pi
	}
	if p := ksP(s, grid, lf); p < 1e-3 {
		t.Errorf("normal draws vs the normal CDF: p = %g", p)
	}
	if p := ksP(s, grid, shifted); p > 1e-3 {
		t.Errorf("normal draws vs N(0.05, 1): p = %g, want < 0.001", p)
	}
}

// checkGaussianProgram compares LogProbFloat and LogConditionalFloat with
// the compiled program on float64 data.
func checkGaussianProgram(t *testing.T, c *Circuit, rng *rand.Rand) {
	prog, err := c.Compile(16, false)
	if err != nil {
		if strings.Contains(err.Error(), "not available yet") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	V, n := c.plan.NumVars, 20
	x := make([]float64, n*V)
	m, q, e := make([]bool, n*V), make([]bool, n*V), make([]bool, n*V)
	for i := range x {
		x[i] = 2 * rng.NormFloat64()
		m[i] = rng.IntN(3) == 0
		switch rng.IntN(3) {
		case 0:
			q[i] = true
		case 1:
			e[i] = true
		}
	}
	want, err := c.LogProbFloat(x, m)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float64, n)
	if err := prog.LogLikelihood(x, m, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("row %d: Program.LogLikelihood %.12g, LogProbFloat %.12g", i, got[i], want[i])
		}
	}
	want, err = c.LogConditionalFloat(x, q, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.LogConditional(x, q, e, got); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("row %d: Program.LogConditional %.12g, LogConditionalFloat %.12g", i, got[i], want[i])
		}
	}
}
