package experiments

import (
	"fmt"
	"math"

	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/regiongraph"
)

// ChowLiuTree is the classic Chow-Liu tree (Chow & Liu, 1968) of a
// categorical dataset, the baseline of the debd recipe: the maximum
// spanning tree of the variables' pairwise mutual information (the tree
// that the cl region graph is built on, regiongraph.ChowLiuParents) with
// maximum-likelihood conditionals smoothed by a pseudo-count α,
//
//	p(x) = Π_v p(x_v | x_pa(v)),   p(a | b) = (n(a, b) + α) / (n(b) + C·α),
//
// where n counts the training samples and the root's "parent" takes a
// single value. It is fitted in closed form, with no training. As a
// circuit it is the HCLT of the tree with C latent states per variable,
// each state tied to its variable's value (a one-hot input); an HCLT with
// K ≥ C states can represent it, and with K = 1 an HCLT is fully factorized.
type ChowLiuTree struct {
	// Parents[v] is the parent of variable v, -1 for the root.
	Parents []int
	// Values is C, the categories of every variable.
	Values int
	// Alpha is the pseudo-count α.
	Alpha float64
	// logp[v][b·C + a] is log p(x_v = a | x_pa(v) = b) (b = 0 at the root).
	logp [][]float64
}

// FitChowLiuTree learns the tree from ds (all its samples) and its
// conditionals with pseudo-count alpha ≥ 0.
func FitChowLiuTree(ds *data.Dataset, alpha float64) (*ChowLiuTree, error) {
	if ds.N == 0 || ds.D == 0 {
		return nil, fmt.Errorf("chow-liu tree: dataset %s is empty", ds.Name)
	}
	if !(alpha >= 0) || math.IsInf(alpha, 0) {
		return nil, fmt.Errorf("chow-liu tree: pseudo-count %v must be ≥ 0", alpha)
	}
	rows := make([][]int, ds.N)
	for i := range rows {
		rows[i] = make([]int, ds.D)
		for j, v := range ds.Row(i) {
			rows[i][j] = int(v)
		}
	}
	parents, err := regiongraph.ChowLiuParents(rows, -1, ds.Values)
	if err != nil {
		return nil, fmt.Errorf("chow-liu tree: %w", err)
	}
	return fitChowLiuTables(ds, parents, alpha), nil
}

// fitChowLiuTables counts ds under the tree parents and smooths the
// conditionals with alpha.
func fitChowLiuTables(ds *data.Dataset, parents []int, alpha float64) *ChowLiuTree {
	c := ds.Values
	t := &ChowLiuTree{Parents: parents, Values: c, Alpha: alpha, logp: make([][]float64, ds.D)}
	for v, p := range parents {
		// counts[b·C + a]: samples with x_v = a and x_p = b.
		counts := make([]float64, c*c)
		for i := range ds.N {
			x := ds.Row(i)
			b := 0
			if p >= 0 {
				b = int(x[p])
			}
			counts[b*c+int(x[v])]++
		}
		lp := make([]float64, c*c)
		for b := range c {
			var nb float64
			for a := range c {
				nb += counts[b*c+a]
			}
			for a := range c {
				lp[b*c+a] = math.Log((counts[b*c+a] + alpha) / (nb + float64(c)*alpha))
			}
		}
		t.logp[v] = lp
	}
	return t
}

// LogLikelihood is the mean log p(x) over the samples of ds, in nats.
func (t *ChowLiuTree) LogLikelihood(ds *data.Dataset) float64 {
	var s float64
	for i := range ds.N {
		s += t.LogProb(ds.Row(i))
	}
	return s / float64(ds.N)
}

// LogProb is log p(x) of one sample.
func (t *ChowLiuTree) LogProb(x []uint8) float64 {
	var s float64
	for v, p := range t.Parents {
		b := 0
		if p >= 0 {
			b = int(x[p])
		}
		s += t.logp[v][b*t.Values+int(x[v])]
	}
	return s
}

// chowLiuAlphas are the pseudo-counts the debd recipe's Chow-Liu baseline
// chooses from, on the validation set.
var chowLiuAlphas = []float64{0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10}

// ChowLiuBaseline fits the Chow-Liu tree of sp.Train with the pseudo-count
// of chowLiuAlphas that gives the best validation log-likelihood (the first
// one when there is no validation set) and returns it.
func ChowLiuBaseline(sp data.Splits) (*ChowLiuTree, error) {
	best, err := FitChowLiuTree(sp.Train, chowLiuAlphas[0])
	if err != nil || sp.Valid == nil || sp.Valid.N == 0 {
		return best, err
	}
	bestLL := best.LogLikelihood(sp.Valid)
	for _, a := range chowLiuAlphas[1:] {
		t := fitChowLiuTables(sp.Train, best.Parents, a)
		if ll := t.LogLikelihood(sp.Valid); ll > bestLL {
			best, bestLL = t, ll
		}
	}
	return best, nil
}
