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

// productGraphs are structured-decomposable region graphs small enough to
// enumerate: a quad tree, a 4-way quad tree, a random binary tree, a linear
// tree and a Chow-Liu tree (a 4-input star).
func productGraphs(t testing.TB) []queryGraph {
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
		{"rbt", must(regiongraph.RandomBinaryTree(7, -1, 1, 5)), 2},
		{"lt", must(regiongraph.LinearTree(6, 1, true, 3)), 3},
		{"cl", must(regiongraph.ChowLiuTree(starData(), 0, 3)), 3},
	}
}

// relabel returns g with its region and partition ids permuted and every
// partition's inputs reversed: the same structure under other ids, which a
// product must pair by scope.
func relabel(g *regiongraph.Graph, seed uint64) *regiongraph.Graph {
	rng := rand.New(rand.NewPCG(seed, 1))
	rp, pp := rng.Perm(len(g.Regions)), rng.Perm(len(g.Partitions))
	out := &regiongraph.Graph{NumVars: g.NumVars, Regions: make([]regiongraph.Region, len(g.Regions)), Partitions: make([]regiongraph.Partition, len(g.Partitions))}
	for r, reg := range g.Regions {
		nr := regiongraph.Region{Scope: slices.Clone(reg.Scope)}
		for _, q := range reg.Partitions {
			nr.Partitions = append(nr.Partitions, pp[q])
		}
		slices.Sort(nr.Partitions)
		out.Regions[rp[r]] = nr
	}
	for q, part := range g.Partitions {
		np := regiongraph.Partition{Output: rp[part.Output]}
		for i := len(part.Inputs) - 1; i >= 0; i-- {
			np.Inputs = append(np.Inputs, rp[part.Inputs[i]])
		}
		out.Partitions[pp[q]] = np
	}
	for _, r := range g.Roots {
		out.Roots = append(out.Roots, rp[r])
	}
	return out
}

// unnormalized returns log c(x) = log p(x) + log Z for every row of an
// enumeration of c.
func unnormalized(t *testing.T, c *Circuit, x []uint8) []float64 {
	t.Helper()
	lp, err := c.LogProb(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	z, err := c.LogPartition()
	if err != nil {
		t.Fatal(err)
	}
	for i := range lp {
		lp[i] += z[0]
	}
	return lp
}

// TestMultiplyExact checks products by enumeration: log Z_ab = log Σ_x
// a(x) b(x), log p_ab(x) = log a(x) + log b(x) − log Z_ab, and the product's
// queries (marginals, conditionals, MAP, samples, the compiled program)
// against its own enumeration, for pairs of layer families, with b built
// on the same graph and on a relabelled copy.
func TestMultiplyExact(t *testing.T) {
	pairs := [][2]Layer{{CP, CP}, {CPR, CPS}, {CPXS, CP}, {CP, CPR}, {Tucker, Tucker}}
	for gi, qg := range productGraphs(t) {
		for pi, pair := range pairs {
			if pair[0] == Tucker && !binaryOnly(qg.rg) {
				continue // Tucker binarizes wide partitions, each graph its own way
			}
			for _, relabelled := range []bool{false, true} {
				name := qg.name + "/" + pair[0].String() + "x" + pair[1].String()
				if relabelled {
					name += "/relabelled"
				}
				t.Run(name, func(t *testing.T) {
					rgB := qg.rg
					if relabelled {
						rgB = relabel(qg.rg, uint64(gi+1))
					}
					a := buildQueryCircuit(t, qg.rg, pair[0], Param(pi%3), Categorical, qg.values, 1)
					b := buildQueryCircuit(t, rgB, pair[1], Param((pi+1)%3), Categorical, qg.values, 2)
					ab, err := Multiply(a, b)
					if err != nil {
						t.Fatal(err)
					}
					if relabelled && !pairsFolds(ab) {
						t.Fatal("the relabelled graph's folds and inputs pair up as they are; the test needs a permutation")
					}
					en := checkProductEnumeration(t, a, b, ab)
					rng := rand.New(rand.NewPCG(uint64(pi), 3))
					checkConditionals(t, ab, en, rng)
					if pair[0] != Tucker {
						checkMAP(t, ab, en, rng)
					}
					if gi == 0 && !relabelled {
						checkSamples(t, ab, en, rng)
					}
					t.Run("compiled", func(t *testing.T) { checkAgainstProgram(t, ab, en) })
				})
			}
		}
	}
}

// TestMultiplyMixedInputs checks by enumeration products whose factors
// have different discrete input families over the same values: a
// categorical circuit times a binomial one, and a categorical circuit
// times the square of a circuit with embedding inputs (a squared
// circuit's monotonic factor): log Z = log Σ_x a(x) b(x), and every
// log p(x) of the product.
func TestMultiplyMixedInputs(t *testing.T) {
	for _, qg := range productGraphs(t)[:2] {
		t.Run(qg.name, func(t *testing.T) {
			m := buildQueryCircuit(t, qg.rg, CP, Softmax, Categorical, qg.values, 1)
			bin := buildQueryCircuit(t, qg.rg, CPR, Clamp, Binomial, qg.values, 2)
			c, err := Build(qg.rg, Options{Layer: CP, Units: 2, Input: Embedding, Values: qg.values, Param: Real, Init: Normal, DType: nn.Float64, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			sq, err := Multiply(c, c)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []struct {
				name string
				c    *Circuit
			}{{"binomial", bin}, {"embedding²", sq}} {
				ab, err := Multiply(m, b.c)
				if err != nil {
					t.Fatalf("%s: %v", b.name, err)
				}
				en := checkProductEnumeration(t, m, b.c, ab)
				rng := rand.New(rand.NewPCG(5, 6))
				checkConditionals(t, ab, en, rng)
				if b.name == "binomial" { // a product with a squared factor refuses sampling
					checkSamples(t, ab, en, rng)
				}
				t.Run(b.name+"/compiled", func(t *testing.T) { checkAgainstProgram(t, ab, en) })
			}
		})
	}
}

// checkProductEnumeration checks the product ab of a and b against an
// enumeration of both: log Z_ab = log Σ_x a(x) b(x), and log p_ab(x) =
// log a(x) + log b(x) − log Z_ab at every state. It returns ab's
// enumeration.
func checkProductEnumeration(t *testing.T, a, b, ab *Circuit) *enumeration {
	t.Helper()
	en := enumerate(t, ab)
	la, lb := unnormalized(t, a, en.x), unnormalized(t, b, en.x)
	terms := make([]float64, len(la))
	for i := range terms {
		terms[i] = la[i] + lb[i]
	}
	want := logSumExp(terms)
	z, err := ab.LogPartition()
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(z[0]-want) > 1e-9 {
		t.Fatalf("log Z_ab = %.12g, log Σ_x a(x) b(x) = %.12g", z[0], want)
	}
	for i := range terms {
		if d := en.lp[i] - (terms[i] - want); math.Abs(d) > 1e-9 {
			t.Fatalf("x %v: log p_ab %.12g, log a + log b − log Z_ab %.12g", en.x[i*en.V:(i+1)*en.V], en.lp[i], terms[i]-want)
		}
	}
	return en
}

// pairsFolds reports whether a product layer of c gathers its second
// factor's folds or inputs in another order.
func pairsFolds(c *Circuit) bool {
	for _, l := range c.Layers {
		switch m := l.(type) {
		case *cpProduct:
			if m.spec.BFolds != nil {
				return true
			}
		case *tuckerProduct:
			if m.spec.BFolds != nil {
				return true
			}
		}
	}
	return false
}

// A product's marginals integrate the product of the two circuits: the
// marginal of a·b over missing variables, by enumeration.
func TestMultiplyMarginals(t *testing.T) {
	qg := productGraphs(t)[0]
	a := buildQueryCircuit(t, qg.rg, CP, Clamp, Categorical, qg.values, 3)
	b := buildQueryCircuit(t, relabel(qg.rg, 9), CPR, Exp, Categorical, qg.values, 4)
	ab, err := Multiply(a, b)
	if err != nil {
		t.Fatal(err)
	}
	V := qg.rg.NumVars
	x := allAssignments(V, qg.values)
	la, lb := unnormalized(t, a, x), unnormalized(t, b, x)
	z, err := ab.LogPartition()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(8, 8))
	xs, miss := randomRows(rng, 10, V, qg.values, 0.5)
	got, err := ab.LogProb(xs, miss)
	if err != nil {
		t.Fatal(err)
	}
	for r := range 10 {
		var terms []float64
		for i := range len(la) {
			if agrees(x[i*V:(i+1)*V], xs[r*V:(r+1)*V], not(miss[r*V:(r+1)*V])) {
				terms = append(terms, la[i]+lb[i])
			}
		}
		if want := logSumExp(terms) - z[0]; math.Abs(got[r]-want) > 1e-9 {
			t.Errorf("row %d (missing %v): LogProb %.12g, Σ a·b / Z_ab %.12g", r, miss[r*V:(r+1)*V], got[r], want)
		}
	}
}

// Expectation is Σ_x p(x) q(x) by enumeration, for monotonic and squared
// circuits, with several root units.
func TestExpectationExact(t *testing.T) {
	qg := productGraphs(t)[2] // rbt, binary
	V := qg.rg.NumVars
	x := allAssignments(V, qg.values)
	for _, tc := range []struct {
		name       string
		pPar, qPar Param
		classes    int
	}{{"monotonic", Clamp, Softmax, 1}, {"classes", Exp, Clamp, 2}, {"squared-p", Real, Clamp, 1}, {"both-squared", Real, Real, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			build := func(par Param, seed uint64) *Circuit {
				c, err := Build(qg.rg, Options{Layer: CP, Units: 3, Classes: tc.classes, Input: Categorical, Values: qg.values, Param: par, Init: Normal, DType: nn.Float64, Seed: seed})
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			p, q := build(tc.pPar, 11), build(tc.qPar, 12)
			got, err := Expectation(p, q)
			if err != nil {
				t.Fatal(err)
			}
			lp, err := p.LogProb(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			lq, err := q.LogProb(x, nil)
			if err != nil {
				t.Fatal(err)
			}
			C := tc.classes
			if len(got) != C*C {
				t.Fatalf("%d values, want %d", len(got), C*C)
			}
			for y := range C {
				for y2 := range C {
					terms := make([]float64, len(x)/V)
					for i := range terms {
						terms[i] = lp[i*C+y] + lq[i*C+y2]
					}
					if want := logSumExp(terms); math.Abs(got[y*C+y2]-want) > 1e-9 {
						t.Errorf("root units (%d, %d): log E_p[q] = %.12g, enumeration %.12g", y, y2, got[y*C+y2], want)
					}
				}
			}
		})
	}
}

// Products of Gaussian circuits integrate the product of two Gaussians in
// closed form: log Z_ab against quadrature over a grid of two variables.
func TestMultiplyGaussian(t *testing.T) {
	rg, err := regiongraph.RandomBinaryTree(2, -1, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	a := buildGaussCircuit(t, rg, CP, Clamp, 1)
	b := buildGaussCircuit(t, rg, CPR, Exp, 2)
	ab, err := Multiply(a, b)
	if err != nil {
		t.Fatal(err)
	}
	// A coarse grid over [−8, 8]² (step 0.05) in both variables.
	var grid []float64
	for v := -8.0; v <= 8.0+1e-9; v += 0.05 {
		grid = append(grid, v)
	}
	n := len(grid)
	x := make([]float64, 0, 2*n*n)
	for _, u := range grid {
		for _, v := range grid {
			x = append(x, u, v)
		}
	}
	la, err := a.LogProbFloat(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.LogProbFloat(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := 0.0
	for i := range la {
		s += math.Exp(la[i] + lb[i])
	}
	want := math.Log(s * 0.05 * 0.05)
	got, err := Expectation(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]-want) > 1e-6 {
		t.Errorf("log ∫ p q = %.10g, quadrature %.10g", got[0], want)
	}
	// Marginal: one variable missing, against quadrature over it.
	z, err := ab.LogPartition()
	if err != nil {
		t.Fatal(err)
	}
	lm, err := ab.LogProbFloat([]float64{0.3, 0}, []bool{false, true})
	if err != nil {
		t.Fatal(err)
	}
	s = 0
	for _, v := range grid {
		pa, _ := a.LogProbFloat([]float64{0.3, v}, nil)
		pb, _ := b.LogProbFloat([]float64{0.3, v}, nil)
		s += math.Exp(pa[0] + pb[0])
	}
	if want := math.Log(s*0.05) - (z[0] - logNorm(t, a) - logNorm(t, b)); math.Abs(lm[0]-want) > 1e-6 {
		t.Errorf("marginal log p_ab(x_0 = 0.3) = %.10g, quadrature %.10g", lm[0], want)
	}
}

// logNorm is log Z of c.
func logNorm(t *testing.T, c *Circuit) float64 {
	t.Helper()
	z, err := c.LogPartition()
	if err != nil {
		t.Fatal(err)
	}
	return z[0]
}

// Incompatible circuits are refused with one line naming the first region
// where they differ.
func TestMultiplyRefusesIncompatible(t *testing.T) {
	img := regiongraph.Shape{C: 1, H: 2, W: 2}
	qt, err := regiongraph.QuadTree(img, 2)
	if err != nil {
		t.Fatal(err)
	}
	qg, err := regiongraph.QuadGraph(img)
	if err != nil {
		t.Fatal(err)
	}
	lin, err := regiongraph.LinearTree(4, 1, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	build := func(rg *regiongraph.Graph, o Options) *Circuit {
		o.Units = 2
		if o.Values == 0 {
			o.Values = 2
		}
		if o.Seed == 0 { // Seed 1 marks the float32 circuit
			o.DType = nn.Float64
		}
		c, err := Build(rg, o)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ff, err := regiongraph.FullyFactorized(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	// A linear tree in another variable order: {0}|{1 2 3} against {3}|{0 1 2}, say.
	var other *regiongraph.Graph
	for seed := uint64(1); other == nil; seed++ {
		g, err := regiongraph.LinearTree(4, 1, true, seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := matchGraphs(lin, g); err != nil {
			other = g
		}
	}
	for _, tc := range []struct {
		name string
		a, b *Circuit
		want string
	}{
		{"split", build(qt, Options{}), build(lin, Options{}), "region "},
		{"mixing", build(qg, Options{}), build(qt, Options{}), "has 2 partitions"},
		{"leaf", build(ff, Options{}), build(qt, Options{}), "split into"},
		{"order", build(lin, Options{}), build(other, Options{}), "is split into"},
		{"inputs", build(qt, Options{}), build(qt, Options{Values: 3}), "variable 0 has categorical (2 values) inputs in a, categorical (3 values) in b"},
		{"dtype", build(qt, Options{}), build(qt, Options{Seed: 1}), "float32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Compatible(tc.a, tc.b)
			if err == nil {
				t.Fatal("Compatible accepted incompatible circuits")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "circuit: incompatible circuits: ") {
				t.Errorf("error %q: want one line containing %q", msg, tc.want)
			}
			if _, err := Multiply(tc.a, tc.b); err == nil || err.Error() != msg {
				t.Errorf("Multiply: %v, want Compatible's error", err)
			}
		})
	}
	// The first differing region, from the root down: a quad tree and a
	// linear tree over 4 variables differ at the root's split.
	err = Compatible(build(qt, Options{}), build(lin, Options{}))
	if want := fmt.Sprintf("region %d {0 1 2 3} is split into {0 1}|{2 3} in a, into {0}|{1 2 3} in b", qt.Roots[0]); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v: want it to name the root, %q", err, want)
	}
}
