package circuit

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// discreteCols and mixedCols are the columns of the mixed-input tests:
// categorical columns of different sizes, Bernoulli and binomial ones, and
// (mixedCols) two Gaussian ones.
var (
	discreteCols = []Column{{Categorical, 3}, {Bernoulli, 2}, {Categorical, 4}, {Binomial, 3}}
	mixedCols    = []Column{{Categorical, 3}, {Gaussian, 0}, {Bernoulli, 2}, {Gaussian, 0}, {Categorical, 2}}
)

func buildMixed(t testing.TB, cols []Column, layer Layer, par Param, seed uint64) *Circuit {
	t.Helper()
	rg, err := regiongraph.RandomBinaryTree(len(cols), 2, 2, seed)
	require.NoError(t, err)
	c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Columns: cols, Param: par, Init: Normal,
		LearnMixing: true, DType: nn.Float64, Seed: seed})
	require.NoError(t, err)
	// Spread the Gaussians' standard deviations (log σ in [−0.5, 0.3]), so
	// that units differ in scale and the quadrature grid suffices.
	rng := rand.New(rand.NewPCG(seed, 9))
	for _, g := range c.Input.Groups {
		if g.LogStd != nil {
			ls := g.LogStd.Float64s()
			for i := range ls {
				ls[i] = -0.5 + 0.8*rng.Float64()
			}
		}
	}
	return c
}

// discreteStates enumerates every assignment of the discrete columns of
// cols (the Gaussian ones set to 0), as float rows.
func discreteStates(cols []Column) [][]float64 {
	rows := [][]float64{{}}
	for _, c := range cols {
		n := max(c.Values, 1)
		var next [][]float64
		for _, r := range rows {
			for v := range n {
				next = append(next, append(append([]float64(nil), r...), float64(v)))
			}
		}
		rows = next
	}
	return rows
}

func flatten(rows [][]float64) []float64 {
	var x []float64
	for _, r := range rows {
		x = append(x, r...)
	}
	return x
}

// TestMixedSumsToOne: a circuit over categorical columns of different
// sizes, a Bernoulli and a binomial column sums to 1 over every state, on
// the reference path and on compiled programs, under each
// parameterization.
func TestMixedSumsToOne(t *testing.T) {
	// A Chow-Liu-shaped tree: variable 1 has two children.
	tree, err := regiongraph.FromTree([]int{1, -1, 1, 0})
	require.NoError(t, err)
	for _, layer := range []Layer{CP, CPR, Tucker} {
		for _, par := range []Param{Clamp, Softmax, Exp} {
			c := buildMixed(t, discreteCols, layer, par, 3)
			if par == Exp {
				c, err = Build(tree, Options{Layer: layer, Units: 3, Rank: 2, Columns: discreteCols, Param: par, DType: nn.Float64, Seed: 4})
				require.NoError(t, err)
			}
			assert.False(t, c.Input.plain())
			assert.Len(t, c.Input.Groups, 4)
			assert.Equal(t, Graph, c.engine())
			x := flatten(discreteStates(discreteCols))
			assert.Len(t, x, 3*2*4*3*4)
			lp, err := c.LogProbFloat(x, nil)
			require.NoError(t, err)
			assert.InDelta(t, 0, logSumExp(lp), 1e-10, "%v %v", layer, par)
			p, err := c.Compile(7, false)
			require.NoError(t, err)
			ll := make([]float64, len(lp))
			require.NoError(t, p.LogLikelihood(x, nil, ll))
			assert.InDeltaSlice(t, lp, ll, 1e-10, "%v %v: program and reference", layer, par)
		}
	}
}

// TestMixedGaussianMarginals: with Gaussian columns, (a) integrating them
// out (missing) leaves a distribution over the discrete columns that sums
// to 1; (b) integrating one Gaussian column numerically at fixed other
// values gives the value with that column missing; (c) each Gaussian
// column's 1-D marginal density integrates to 1; (d) NaN entries in a
// program's data are missing values, marginalized as the mask does.
func TestMixedGaussianMarginals(t *testing.T) {
	c := buildMixed(t, mixedCols, CP, Clamp, 5)
	V := len(mixedCols)
	states := discreteStates(mixedCols)
	assert.Len(t, states, 3*2*2)
	gaussMissing := make([]bool, len(states)*V)
	for i := range gaussMissing {
		gaussMissing[i] = mixedCols[i%V].Kind == Gaussian
	}
	lp, err := c.LogProbFloat(flatten(states), gaussMissing)
	require.NoError(t, err)
	assert.InDelta(t, 0, logSumExp(lp), 1e-10, "(a) discrete marginal sums to 1")

	// (b) ∫ p(x1, x_d, x3 = 0.7) dx1 by quadrature = p(x_d, x3 = 0.7).
	grid := gaussGrid()
	for _, s := range states[:4] {
		row := append([]float64(nil), s...)
		row[3] = 0.7
		var xs []float64
		for _, g := range grid {
			row[1] = g
			xs = append(xs, row...)
		}
		lf, err := c.LogProbFloat(xs, nil)
		require.NoError(t, err)
		miss := make([]bool, V)
		miss[1] = true
		want, err := c.LogProbFloat(row, miss)
		require.NoError(t, err)
		assert.InDelta(t, math.Exp(want[0]), trapezoid(grid, lf), 1e-9, "(b) state %v", s)
	}

	// (c) the 1-D marginal of each Gaussian column.
	for _, v := range []int{1, 3} {
		var xs []float64
		var miss []bool
		for _, g := range grid {
			row := make([]float64, V)
			row[v] = g
			xs = append(xs, row...)
			for j := range V {
				miss = append(miss, j != v)
			}
		}
		lf, err := c.LogProbFloat(xs, miss)
		require.NoError(t, err)
		assert.InDelta(t, 1, trapezoid(grid, lf), 1e-9, "(c) column %d", v)
	}

	// (d) NaN data = the mask, on compiled programs (float32 and float64).
	rng := rand.New(rand.NewPCG(1, 2))
	n := 9
	x := make([]float64, n*V)
	mask := make([]bool, n*V)
	withNaN := make([]float64, n*V)
	for i := range x {
		col := mixedCols[i%V]
		if col.Kind == Gaussian {
			x[i] = rng.NormFloat64()
		} else {
			x[i] = float64(rng.IntN(col.Values))
		}
		mask[i] = rng.IntN(3) == 0
		withNaN[i] = x[i]
		if mask[i] {
			withNaN[i] = math.NaN()
		}
	}
	want, err := c.LogProbFloat(x, mask)
	require.NoError(t, err)
	p, err := c.Compile(4, false)
	require.NoError(t, err)
	got := make([]float64, n)
	require.NoError(t, p.LogLikelihood(withNaN, nil, got))
	assert.InDeltaSlice(t, want, got, 1e-10, "NaN entries are missing values")
	// A float32 circuit with the same parameters takes float32 data.
	c32, err := c.rebuild(nn.Float32)
	require.NoError(t, err)
	for i, p := range c32.Params() {
		p.SetValue(c.Params()[i].Float64s())
	}
	p32, err := c32.Compile(4, false)
	require.NoError(t, err)
	x32 := make([]float32, len(withNaN))
	for i, v := range withNaN {
		x32[i] = float32(v)
	}
	require.NoError(t, p32.LogLikelihood(x32, nil, got))
	assert.InDeltaSlice(t, want, got, 1e-4, "float32 program")
	// A masked entry may hold anything, an out-of-range category included.
	bad := append([]float64(nil), x...)
	for i, m := range mask {
		if m {
			bad[i] = 99.5
		}
	}
	require.NoError(t, p.LogLikelihood(bad, mask, got))
	assert.InDeltaSlice(t, want, got, 1e-10, "masked entries are ignored")
}

// TestMixedGradient checks the training program's gradient of the mean
// NLL against finite differences, NaN (missing) entries included.
func TestMixedGradient(t *testing.T) {
	c := buildMixed(t, mixedCols, CP, Clamp, 11)
	x := []float64{
		0, 0.3, 1, -1.2, 1,
		2, math.NaN(), 0, 0.8, 0,
		math.NaN(), -0.4, math.NaN(), 2.1, 1,
	}
	n := 3
	train, err := c.Compile(n, true)
	require.NoError(t, err)
	nll := func() float64 {
		ll, err := c.LogProbFloat(nanToZero(x), nanMask(x))
		require.NoError(t, err)
		s := 0.0
		for _, v := range ll {
			s -= v
		}
		return s / float64(n)
	}
	for _, p := range c.Params() {
		p.ZeroGrad()
	}
	loss, err := train.Step(x)
	require.NoError(t, err)
	assert.InDelta(t, nll(), loss, 1e-9*math.Abs(loss))
	assert.Greater(t, fdCheck(t, c, nll, 1e-4, 1e-6, 1e-9), 100)
}

func nanMask(x []float64) []bool {
	m := make([]bool, len(x))
	for i, v := range x {
		m[i] = math.IsNaN(v)
	}
	return m
}

func nanToZero(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		if !math.IsNaN(v) {
			out[i] = v
		}
	}
	return out
}

// TestMixedSampleAndMAP: samples hold valid categories and keep the
// evidence; the frequencies of the discrete states match the circuit's
// probabilities; a conditional sample keeps what is observed; on a fully
// factorized circuit with one unit per region, MAP is every column's mode
// (a Gaussian's mean).
func TestMixedSampleAndMAP(t *testing.T) {
	c := buildMixed(t, mixedCols, CP, Softmax, 2)
	V := len(mixedCols)
	n := 20000
	xs, err := c.SampleFloat(n, rand.New(rand.NewPCG(4, 4)))
	require.NoError(t, err)
	states := discreteStates(mixedCols)
	index := func(row []float64) int {
		k := 0
		for v, col := range mixedCols {
			if col.Kind != Gaussian {
				x := row[v]
				require.True(t, x >= 0 && x < float64(col.Values) && x == math.Trunc(x), "column %d sampled %v", v, x)
				k = k*col.Values + int(x)
			}
		}
		return k
	}
	counts := make([]float64, len(states))
	gaussMean := 0.0
	for i := range n {
		counts[index(xs[i*V:(i+1)*V])]++
		gaussMean += xs[i*V+3] / float64(n)
	}
	miss := make([]bool, len(states)*V)
	for i := range miss {
		miss[i] = mixedCols[i%V].Kind == Gaussian
	}
	lp, err := c.LogProbFloat(flatten(states), miss)
	require.NoError(t, err)
	for k, l := range lp {
		p := math.Exp(l)
		// Five standard deviations of a binomial frequency.
		assert.InDelta(t, p, counts[k]/float64(n), 5*math.Sqrt(p*(1-p)/float64(n))+1e-4, "state %v", states[k])
	}
	// E[x3] by quadrature of the 1-D marginal.
	grid := gaussGrid()
	var gx []float64
	var gm []bool
	for _, g := range grid {
		row := make([]float64, V)
		row[3] = g
		gx = append(gx, row...)
		for j := range V {
			gm = append(gm, j != 3)
		}
	}
	lf, err := c.LogProbFloat(gx, gm)
	require.NoError(t, err)
	mean := 0.0
	for i, g := range grid {
		mean += 0.01 * g * math.Exp(lf[i])
	}
	// The sample mean's standard error is below 0.02 (σ < 2.5).
	assert.InDelta(t, mean, gaussMean, 0.1, "mean of column 3")

	// Conditional samples keep the evidence.
	ev := []float64{2, 0.5, 0, 0, 0}
	obs := []bool{true, true, false, false, false}
	out, err := c.SampleConditionalFloat(ev, obs, rand.New(rand.NewPCG(5, 5)))
	require.NoError(t, err)
	assert.Equal(t, ev[:2], out[:2])
	index(out)

	// MAP of a fully factorized circuit of one unit per region.
	rg, err := regiongraph.FullyFactorized(V, 1)
	require.NoError(t, err)
	ff, err := Build(rg, Options{Units: 1, Columns: mixedCols, Param: Softmax, DType: nn.Float64, Seed: 8})
	require.NoError(t, err)
	got, _, err := ff.MAPFloat(make([]float64, V), make([]bool, V))
	require.NoError(t, err)
	for v, col := range mixedCols {
		if col.Kind == Gaussian {
			in, r := ff.Input.slotLayer(v)
			assert.Equal(t, in.Mean.Float64s()[r], got[v], "column %d: the mean", v)
			continue
		}
		best := 0
		for x := range col.Values {
			if ff.InputLogProb(v, 0, x) > ff.InputLogProb(v, 0, best) {
				best = x
			}
		}
		assert.Equal(t, float64(best), got[v], "column %d: the mode", v)
	}
}

// TestMixedRefusals: bad columns, data outside a column and EM are
// refused with one-line errors.
func TestMixedRefusals(t *testing.T) {
	rg, err := regiongraph.RandomBinaryTree(3, 1, 1, 1)
	require.NoError(t, err)
	for _, tc := range []struct {
		cols []Column
		err  string
	}{
		{[]Column{{Categorical, 3}, {Gaussian, 0}}, "circuit: 2 Columns for a region graph over 3 variables"},
		{[]Column{{Categorical, 1}, {Gaussian, 0}, {Gaussian, 0}}, "circuit: Columns[0]: categorical inputs need 2..256 values, got 1"},
		{[]Column{{Gaussian, 0}, {Bernoulli, 3}, {Gaussian, 0}}, "circuit: Columns[1]: Bernoulli inputs take 2 values, got 3"},
		{[]Column{{Gaussian, 0}, {Gaussian, 4}, {Gaussian, 0}}, "circuit: Columns[1]: Gaussian inputs take no Values, got 4"},
		{[]Column{{Gaussian, 0}, {InputKind(7), 4}, {Gaussian, 0}}, "circuit: Columns[1]: unknown input InputKind(7)"},
		{[]Column{}, "circuit: Columns is empty"},
	} {
		_, err := Build(rg, Options{Units: 2, Columns: tc.cols})
		assert.ErrorContains(t, err, tc.err)
	}
	cols := []Column{{Categorical, 3}, {Gaussian, 0}, {Bernoulli, 0}}
	c, err := Build(rg, Options{Units: 2, Columns: cols, DType: nn.Float64})
	require.NoError(t, err)
	assert.Contains(t, c.Input.Describe(), "mixed F=")
	p, err := c.Compile(2, false)
	require.NoError(t, err)
	ll := make([]float64, 1)
	for _, tc := range []struct {
		x   []float64
		err string
	}{
		{[]float64{3, 0, 0}, "not a category of a categorical column (0..2)"},
		{[]float64{1.5, 0, 0}, "not a category"},
		{[]float64{0, math.Inf(1), 0}, "not finite"},
		{[]float64{0, 0, -1}, "not a category of a bernoulli column (0..1)"},
	} {
		err := p.LogLikelihood(tc.x, nil, ll)
		require.Error(t, err, "%v", tc.x)
		assert.Contains(t, err.Error(), tc.err)
		assert.NotContains(t, err.Error(), "\n")
	}
	_, err = c.LogProbFloat([]float64{0, 0, 2}, nil)
	assert.ErrorContains(t, err, "not a category of a bernoulli column")
	_, err = c.LogProb([]uint8{0, 0, 0}, nil)
	assert.ErrorContains(t, err, "mixed inputs take []float64 data")
	rg2, err := regiongraph.RandomBinaryTree(3, 1, 1, 1)
	require.NoError(t, err)
	xs, err := Build(rg2, Options{Layer: CPXS, Units: 2, Columns: cols, DType: nn.Float64})
	require.NoError(t, err)
	_, err = NewEM(xs, EMConfig{})
	assert.ErrorContains(t, err, "EM with mixed inputs needs each fold's own weights")
	assert.False(t, strings.Contains(err.Error(), "\n"))
}

// TestMixedEMMonotone: full-batch EM (η = 1, α = 0) on a circuit with
// mixed inputs never decreases the log-likelihood, missing (NaN) entries
// included, and keeps the circuit normalized.
func TestMixedEMMonotone(t *testing.T) {
	tree, err := regiongraph.FromTree([]int{1, -1, 1, 0, 3})
	require.NoError(t, err)
	rbt, err := regiongraph.RandomBinaryTree(len(mixedCols), 2, 2, 3)
	require.NoError(t, err)
	const n = 40
	V := len(mixedCols)
	rng := rand.New(rand.NewPCG(3, 3))
	x := make([]float64, n*V)
	for i := range x {
		col := mixedCols[i%V]
		switch {
		case rng.IntN(8) == 0:
			x[i] = math.NaN()
		case col.Kind == Gaussian:
			x[i] = rng.NormFloat64() + float64(i%V)/2
			if x[i-i%V] == 0 {
				x[i] += 2 // the Gaussians depend on column 0
			}
		default:
			x[i] = float64(min(rng.IntN(col.Values+1), col.Values-1))
		}
	}
	for gi, rg := range []*regiongraph.Graph{tree, rbt} {
		for _, layer := range []Layer{CP, CPR, Tucker} {
			for _, param := range []Param{Clamp, Exp} {
				c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Columns: mixedCols, Param: param, LearnMixing: true, DType: nn.Float64, Seed: 9})
				require.NoError(t, err)
				em, err := NewEM(c, EMConfig{StepSize: 1})
				require.NoError(t, err)
				prog, err := c.CompileEM(n)
				require.NoError(t, err)
				eval, err := c.Compile(16, false)
				require.NoError(t, err)
				prev := math.Inf(1)
				for step := range 6 {
					z, err := eval.LogPartition()
					require.NoError(t, err)
					require.InDelta(t, 0, z[0], 1e-9, "graph %d %v %v step %d: log Z", gi, layer, param, step)
					nll, err := prog.Step(x)
					require.NoError(t, err)
					assert.LessOrEqual(t, nll, prev+1e-9, "graph %d %v %v step %d: NLL rose", gi, layer, param, step)
					prev = nll
					em.SetBatch(n)
					em.Step()
				}
				assert.Less(t, prev, math.Inf(1))
			}
		}
	}
}

// TestMixedSquared: a squared circuit (real weights) with mixed inputs
// sums to 1 over the discrete columns, with the Gaussian ones integrated
// out in closed form, and a Gaussian column's marginal integrates to 1 by
// quadrature; the compiled program agrees with the reference.
func TestMixedSquared(t *testing.T) {
	for _, cols := range [][]Column{discreteCols, mixedCols} {
		V := len(cols)
		rg, err := regiongraph.RandomBinaryTree(V, -1, 1, 4)
		require.NoError(t, err)
		c, err := Build(rg, Options{Units: 3, Columns: cols, Param: Real, Init: Normal, DType: nn.Float64, Seed: 3})
		require.NoError(t, err)
		states := flatten(discreteStates(cols))
		miss := make([]bool, len(states))
		for i := range miss {
			miss[i] = cols[i%V].Kind == Gaussian
		}
		lp, err := c.LogProbFloat(states, miss)
		require.NoError(t, err)
		assert.InDelta(t, 0, logSumExp(lp), 1e-10, "%v", cols)
		p, err := c.Compile(8, false)
		require.NoError(t, err)
		ll := make([]float64, len(lp))
		require.NoError(t, p.LogLikelihood(states, miss, ll))
		assert.InDeltaSlice(t, lp, ll, 1e-10, "%v: program and reference", cols)
	}
	c, err := Build(mustRBT(t, len(mixedCols)), Options{Units: 3, Columns: mixedCols, Param: Real, Init: Normal, DType: nn.Float64, Seed: 3})
	require.NoError(t, err)
	V := len(mixedCols)
	grid := gaussGrid()
	var xs []float64
	var m []bool
	for _, g := range grid {
		row := make([]float64, V)
		row[1] = g
		xs = append(xs, row...)
		for j := range V {
			m = append(m, j != 1)
		}
	}
	lf, err := c.LogProbFloat(xs, m)
	require.NoError(t, err)
	assert.InDelta(t, 1, trapezoid(grid, lf), 1e-8)
}

func mustRBT(t *testing.T, v int) *regiongraph.Graph {
	t.Helper()
	rg, err := regiongraph.RandomBinaryTree(v, -1, 1, 4)
	require.NoError(t, err)
	return rg
}
