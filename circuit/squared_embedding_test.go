package circuit

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/regiongraph"
)

// buildEmbedding builds a squared circuit with embedding inputs whose
// values are N(0, 1) draws, about half of them negative.
func buildEmbedding(t *testing.T, qg queryGraph, layer Layer, seed uint64) *Circuit {
	t.Helper()
	c := buildSquared(t, qg.rg, layer, Embedding, qg.values, seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	v := c.Input.Logits.Value()
	neg := 0
	for i := range v {
		v[i] = rng.NormFloat64()
		if v[i] < 0 {
			neg++
		}
	}
	if neg == 0 {
		t.Fatal("no negative input value: the test would not exercise signed inputs")
	}
	c.Input.Logits.SetValue(v)
	return c
}

// A squared circuit over embedding inputs of either sign is a
// distribution: it sums to 1 by enumeration, its compiled likelihoods and
// marginals (the missing variables' sums Σ_c θ(c) in signed log-space)
// equal the reference evaluator's on c·c, its conditionals and samples
// follow the enumeration, and its gradient matches finite differences.
func TestSquaredEmbedding(t *testing.T) {
	// A random binary tree cut at depth 1 over 5 variables has leaves of 2
	// and 3 variables: the signs of a leaf's slots multiply.
	wide, err := regiongraph.RandomBinaryTree(5, 1, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	graphs := append(productGraphs(t)[:3], queryGraph{"rbt-leaves", wide, 3})
	for gi, qg := range graphs {
		for li, layer := range []Layer{CP, CPR, Tucker} {
			if layer == Tucker && !binaryOnly(qg.rg) {
				continue
			}
			t.Run(qg.name+"/"+layer.String(), func(t *testing.T) {
				c := buildEmbedding(t, qg, layer, uint64(10*gi+li))
				rng := rand.New(rand.NewPCG(uint64(li), 11))
				checkSquaredExact(t, c, rng, gi == 0 && layer == CP)
				V, C := c.plan.NumVars, qg.values
				xg := make([]uint8, 6*V)
				for i := range xg {
					xg[i] = uint8(rng.IntN(C))
				}
				checkSquaredGrad(t, c, xg, 1e-5)
			})
		}
	}
}

// Embedding inputs need real weights, and have no place in mixed columns.
func TestEmbeddingRefusals(t *testing.T) {
	rg := productGraphs(t)[0].rg
	for _, o := range []Options{
		{Units: 2, Input: Embedding, Values: 3},
		{Units: 2, Input: Embedding, Values: 3, Param: Softmax},
		{Units: 2, Param: Real, Columns: []Column{{Kind: Embedding, Values: 3}}},
	} {
		if _, err := Build(rg, o); err == nil || !strings.Contains(err.Error(), "embedding") {
			t.Errorf("Build(%+v): %v, want a refusal naming embedding inputs", o, err)
		}
	}
}
