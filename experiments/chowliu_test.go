package experiments

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenpc/tenpc/data"
)

// chainSamples draws n samples of d variables with c values from a Markov
// chain x_0 → x_1 → … that copies the previous value with probability
// keep (else draws uniformly).
func chainSamples(n, d, c int, keep float64, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	ds := &data.Dataset{Name: "chain", Values: c, N: n, D: d, Shape: []int{d}, X: make([]uint8, n*d)}
	for i := range n {
		x := ds.X[i*d : (i+1)*d]
		x[0] = uint8(rng.IntN(c))
		for v := 1; v < d; v++ {
			x[v] = uint8(rng.IntN(c))
			if rng.Float64() < keep {
				x[v] = x[v-1]
			}
		}
	}
	return ds
}

// everyAssignment calls fn with every x in [0, c)^d.
func everyAssignment(d, c int, fn func(x []uint8)) {
	x := make([]uint8, d)
	for {
		fn(x)
		v := 0
		for v < d && int(x[v]) == c-1 {
			x[v] = 0
			v++
		}
		if v == d {
			return
		}
		x[v]++
	}
}

func TestChowLiuTreeNormalized(t *testing.T) {
	ds := chainSamples(300, 4, 3, 0.6, 1)
	tree, err := FitChowLiuTree(ds, 0.5)
	require.NoError(t, err)
	var z float64
	everyAssignment(4, 3, func(x []uint8) { z += math.Exp(tree.LogProb(x)) })
	assert.InDelta(t, 1, z, 1e-12)
}

// With α = 0 the mean training log-likelihood of a tree is
// Σ_edges I(x_v; x_pa(v)) − Σ_v H(x_v) of the empirical distribution, and
// the Chow-Liu tree maximizes it over all spanning trees.
func TestChowLiuTreeMaximumLikelihood(t *testing.T) {
	const d, c = 4, 2
	ds := chainSamples(4000, d, c, 0.7, 2)
	tree, err := FitChowLiuTree(ds, 0)
	require.NoError(t, err)

	p1 := func(v, a int) float64 {
		n := 0
		for i := range ds.N {
			if int(ds.Row(i)[v]) == a {
				n++
			}
		}
		return float64(n) / float64(ds.N)
	}
	p2 := func(u, v, a, b int) float64 {
		n := 0
		for i := range ds.N {
			if x := ds.Row(i); int(x[u]) == a && int(x[v]) == b {
				n++
			}
		}
		return float64(n) / float64(ds.N)
	}
	var want float64
	for v, p := range tree.Parents {
		for a := range c {
			want += p1(v, a) * math.Log(p1(v, a))
			if p < 0 {
				continue
			}
			for b := range c {
				if j := p2(v, p, a, b); j > 0 {
					want += j * math.Log(j/(p1(v, a)*p1(p, b)))
				}
			}
		}
	}
	got := tree.LogLikelihood(ds)
	assert.InDelta(t, want, got, 1e-9)

	// Every rooted spanning tree over the 4 variables (root 0; the
	// likelihood does not depend on the root): parents[v] ∈ {−1..3}.
	trees := 0
	var walk func(v int, par []int)
	walk = func(v int, par []int) {
		if v == d {
			if !isTree(par) {
				return
			}
			trees++
			other := fitChowLiuTables(ds, append([]int(nil), par...), 0)
			assert.LessOrEqual(t, other.LogLikelihood(ds), got+1e-9, "tree %v beats the Chow-Liu tree %v", par, tree.Parents)
			return
		}
		for p := -1; p < d; p++ {
			if (v == 0) != (p == -1) || p == v {
				continue
			}
			par[v] = p
			walk(v+1, par)
		}
	}
	walk(0, make([]int, d))
	assert.Equal(t, 16, trees, "Cayley: 4^(4−2) spanning trees")
}

// isTree reports whether every variable reaches the root 0.
func isTree(par []int) bool {
	for v := range par {
		u, steps := v, 0
		for u != 0 && steps <= len(par) {
			u, steps = par[u], steps+1
		}
		if u != 0 {
			return false
		}
	}
	return true
}

func TestChowLiuBaselinePicksValidAlpha(t *testing.T) {
	sp := data.Splits{Train: chainSamples(60, 6, 2, 0.8, 3), Valid: chainSamples(200, 6, 2, 0.8, 4), Test: chainSamples(10, 6, 2, 0.8, 5)}
	tree, err := ChowLiuBaseline(sp)
	require.NoError(t, err)
	best := tree.LogLikelihood(sp.Valid)
	for _, a := range chowLiuAlphas {
		other := fitChowLiuTables(sp.Train, tree.Parents, a)
		assert.LessOrEqual(t, other.LogLikelihood(sp.Valid), best, "α = %v beats the chosen %v on validation", a, tree.Alpha)
	}
	_, err = FitChowLiuTree(sp.Train, -1)
	assert.Error(t, err)
}
