package regiongraph

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"testing"
)

// cloneGraph returns a deep copy of g.
func cloneGraph(g *Graph) *Graph {
	c := &Graph{NumVars: g.NumVars, Roots: slices.Clone(g.Roots)}
	for _, r := range g.Regions {
		c.Regions = append(c.Regions, Region{Scope: slices.Clone(r.Scope), Partitions: slices.Clone(r.Partitions)})
	}
	for _, p := range g.Partitions {
		c.Partitions = append(c.Partitions, Partition{Output: p.Output, Inputs: slices.Clone(p.Inputs)})
	}
	return c
}

// checkBinarized asserts what Binarize promises of b = Binarize(g): b is a
// valid, smooth, decomposable graph of binary partitions with g's roots;
// g's regions keep their ids, scopes and partitions; each of g's
// partitions keeps its output and, expanded through the new regions, its
// inputs, as a balanced tree (height ⌈log2 k⌉ for k inputs) that uses each
// new region once; and structured decomposability is kept.
func checkBinarized(t *testing.T, g, b *Graph) {
	t.Helper()
	checkGraph(t, b)
	for p, pt := range b.Partitions {
		if len(pt.Inputs) != 2 {
			t.Fatalf("partition %d has %d inputs, want 2", p, len(pt.Inputs))
		}
	}
	if b.NumVars != g.NumVars || !slices.Equal(b.Roots, g.Roots) {
		t.Fatalf("NumVars %d, roots %v; want %d, %v", b.NumVars, b.Roots, g.NumVars, g.Roots)
	}
	for r, rg := range g.Regions {
		if !slices.Equal(b.Regions[r].Scope, rg.Scope) || !slices.Equal(b.Regions[r].Partitions, rg.Partitions) {
			t.Fatalf("region %d is %v, want %v", r, b.Regions[r], rg)
		}
	}
	extra := 0
	for _, pt := range g.Partitions {
		extra += max(len(pt.Inputs)-2, 0)
	}
	if len(b.Regions) != len(g.Regions)+extra || len(b.Partitions) != len(g.Partitions)+extra {
		t.Fatalf("%d regions and %d partitions, want %d and %d", len(b.Regions), len(b.Partitions), len(g.Regions)+extra, len(g.Partitions)+extra)
	}
	// expand returns the regions of g that region r stands for, and the
	// height of the tree of new regions above them.
	used := make([]int, len(b.Regions))
	var expand func(r int) ([]int, int)
	expand = func(r int) ([]int, int) {
		if r < len(g.Regions) {
			return []int{r}, 0
		}
		used[r]++
		if n := len(b.Regions[r].Partitions); n != 1 {
			t.Fatalf("new region %d has %d partitions, want 1", r, n)
		}
		var out []int
		h := 0
		for _, in := range b.Partitions[b.Regions[r].Partitions[0]].Inputs {
			rs, hi := expand(in)
			out, h = append(out, rs...), max(h, hi)
		}
		return out, h + 1
	}
	for p, pt := range g.Partitions {
		if b.Partitions[p].Output != pt.Output {
			t.Fatalf("partition %d has output %d, want %d", p, b.Partitions[p].Output, pt.Output)
		}
		var got []int
		h := 0
		for _, in := range b.Partitions[p].Inputs {
			rs, hi := expand(in)
			got, h = append(got, rs...), max(h, hi)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(pt.Inputs))
		if !slices.Equal(got, want) {
			t.Fatalf("partition %d expands to inputs %v, want %v", p, got, want)
		}
		if k := len(pt.Inputs); h+1 != bits.Len(uint(k-1)) {
			t.Fatalf("partition %d of %d inputs binarizes to a tree of height %d, want ⌈log2 %d⌉ = %d", p, k, h+1, k, bits.Len(uint(k-1)))
		}
	}
	for r := len(g.Regions); r < len(b.Regions); r++ {
		if used[r] != 1 {
			t.Fatalf("new region %d stands in %d partitions, want 1", r, used[r])
		}
	}
	if g.IsStructuredDecomposable() && !b.IsStructuredDecomposable() {
		t.Error("the input is structured-decomposable, the binarized graph is not")
	}
}

// customGraph is a DAG over 5 variables with a 3-ary and a 5-ary partition
// whose inputs are listed out of variable order, a mixing root, and a
// region shared by two partitions:
//
//	region 0 {0..4}:    partition 0 -> 4 {3}, 1 {0}, 5 {4}, 2 {1}, 3 {2}
//	                    partition 1 -> 6 {0,1,2}, 7 {3,4}
//	region 6 {0,1,2}:   partition 2 -> 3 {2}, 1 {0}, 2 {1}
//	region 7 {3,4}:     partition 3 -> 4 {3}, 5 {4}
func customGraph() *Graph {
	return &Graph{
		NumVars: 5,
		Regions: []Region{
			{Scope: []int{0, 1, 2, 3, 4}, Partitions: []int{0, 1}},
			{Scope: []int{0}}, {Scope: []int{1}}, {Scope: []int{2}}, {Scope: []int{3}}, {Scope: []int{4}},
			{Scope: []int{0, 1, 2}, Partitions: []int{2}},
			{Scope: []int{3, 4}, Partitions: []int{3}},
		},
		Partitions: []Partition{
			{Output: 0, Inputs: []int{4, 1, 5, 2, 3}},
			{Output: 0, Inputs: []int{6, 7}},
			{Output: 6, Inputs: []int{3, 1, 2}},
			{Output: 7, Inputs: []int{4, 5}},
		},
		Roots: []int{0},
	}
}

// twinGraph is structured-decomposable with two regions over {0,1,2}
// listing the inputs of their 3-ary partitions in different orders.
//
//	region 0 {0..3}:    partition 0 -> 1 {0,1,2}, 6 {3}
//	                    partition 1 -> 2 {0,1,2}, 6 {3}
//	region 1 {0,1,2}:   partition 2 -> 3 {0}, 4 {1}, 5 {2}
//	region 2 {0,1,2}:   partition 3 -> 5 {2}, 3 {0}, 4 {1}
func twinGraph() *Graph {
	return &Graph{
		NumVars: 4,
		Regions: []Region{
			{Scope: []int{0, 1, 2, 3}, Partitions: []int{0, 1}},
			{Scope: []int{0, 1, 2}, Partitions: []int{2}},
			{Scope: []int{0, 1, 2}, Partitions: []int{3}},
			{Scope: []int{0}}, {Scope: []int{1}}, {Scope: []int{2}}, {Scope: []int{3}},
		},
		Partitions: []Partition{
			{Output: 0, Inputs: []int{1, 6}},
			{Output: 0, Inputs: []int{2, 6}},
			{Output: 1, Inputs: []int{3, 4, 5}},
			{Output: 2, Inputs: []int{5, 3, 4}},
		},
		Roots: []int{0},
	}
}

func TestBinarize(t *testing.T) {
	// A star under variable 0 (arity 5 with the leaf {0}) and a chain
	// 4 - 5 - 6 (binary): the Chow-Liu tree has both arities.
	clData := sampleTree([]int{-1, 0, 0, 0, 0, 4, 5}, []float64{0, 0.1, 0.15, 0.05, 0.2, 0.1, 0.1}, 3000, 3)
	for _, tc := range []struct {
		name  string
		build func() (*Graph, error)
		// wide is whether the graph has a partition of more than two
		// inputs, structured whether it is structured-decomposable.
		wide, structured bool
	}{
		{"qt4/1x2x2", func() (*Graph, error) { return QuadTree(Shape{1, 2, 2}, 4) }, true, true},
		{"qt4/1x5x7", func() (*Graph, error) { return QuadTree(Shape{1, 5, 7}, 4) }, true, true},
		{"qt4/3x4x4", func() (*Graph, error) { return QuadTree(Shape{3, 4, 4}, 4) }, true, true},
		{"qt4/1x28x28", func() (*Graph, error) { return QuadTree(Shape{1, 28, 28}, 4) }, true, true},
		{"qt2/1x5x7", func() (*Graph, error) { return QuadTree(Shape{1, 5, 7}, 2) }, false, true},
		{"qg/1x5x7", func() (*Graph, error) { return QuadGraph(Shape{1, 5, 7}) }, false, false},
		{"pd/1x5x7", func() (*Graph, error) { return PoonDomingos(Shape{1, 5, 7}, []float64{2}, -1) }, false, false},
		{"rbt", func() (*Graph, error) { return RandomBinaryTree(13, 3, 3, 5) }, false, false},
		{"linear", func() (*Graph, error) { return LinearTree(7, 2, true, 5) }, false, false},
		{"ff", func() (*Graph, error) { return FullyFactorized(7, 3) }, true, true},
		{"cl", func() (*Graph, error) { return ChowLiuTree(clData, 0, 2) }, true, true},
		{"custom", func() (*Graph, error) { return customGraph(), nil }, true, false},
		{"twin", func() (*Graph, error) { return twinGraph(), nil }, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			s := g.Stats()
			wide := false
			for a := range s.Arity {
				wide = wide || a > 2
			}
			if wide != tc.wide || s.StructuredDecomposable != tc.structured {
				t.Fatalf("arities %v, structured %t: want wide %t, structured %t", s.Arity, s.StructuredDecomposable, tc.wide, tc.structured)
			}
			orig := cloneGraph(g)
			b, err := Binarize(g)
			if err != nil {
				t.Fatal(err)
			}
			if !equalGraphs(g, orig) {
				t.Fatal("Binarize modified its input")
			}
			checkBinarized(t, g, b)
			if b.IsStructuredDecomposable() != tc.structured {
				t.Errorf("binarized structured-decomposable = %t, want %t", b.IsStructuredDecomposable(), tc.structured)
			}
			if !tc.wide && !equalGraphs(b, g) {
				t.Error("a binary graph changed")
			}
			again, err := Binarize(orig)
			if err != nil {
				t.Fatal(err)
			}
			if !equalGraphs(again, b) {
				t.Error("two calls gave different graphs")
			}
		})
	}
}

// splits maps each scope to its splits, one string per partition of a
// region with that scope, listing the input scopes in increasing order.
func splits(g *Graph) map[string][]string {
	out := map[string][]string{}
	for _, pt := range g.Partitions {
		var ins []string
		for _, in := range pt.Inputs {
			ins = append(ins, fmt.Sprint(g.Regions[in].Scope))
		}
		slices.Sort(ins)
		k := fmt.Sprint(g.Regions[pt.Output].Scope)
		out[k] = append(out[k], strings.Join(ins, " | "))
	}
	return out
}

// Binarizing a 4-way quad tree gives the splits of the binary one.
func TestBinarizeQuadTree4IsQuadTree2(t *testing.T) {
	for _, s := range []Shape{{1, 2, 2}, {1, 5, 7}, {3, 4, 4}, {1, 28, 28}} {
		qt4, err := QuadTree(s, 4)
		if err != nil {
			t.Fatal(err)
		}
		qt2, err := QuadTree(s, 2)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Binarize(qt4)
		if err != nil {
			t.Fatal(err)
		}
		got, want := splits(b), splits(qt2)
		if len(got) != len(want) {
			t.Fatalf("%v: %d split scopes, want %d", s, len(got), len(want))
		}
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Fatalf("%v: scope %s splits %v, want %v", s, k, got[k], w)
			}
		}
	}
}

// The binarized partitions of customGraph, written out.
func TestBinarizeCustom(t *testing.T) {
	b, err := Binarize(customGraph())
	if err != nil {
		t.Fatal(err)
	}
	// Partition 0's inputs by variable: {0} {1} | {2} {3} {4}; partition
	// 2's: {0} | {1} {2}. New regions follow in creation order.
	wantRegions := []Region{
		{Scope: []int{0, 1}, Partitions: []int{4}},    // 8
		{Scope: []int{3, 4}, Partitions: []int{5}},    // 9
		{Scope: []int{2, 3, 4}, Partitions: []int{6}}, // 10
		{Scope: []int{1, 2}, Partitions: []int{7}},    // 11
	}
	wantParts := []Partition{
		{Output: 0, Inputs: []int{8, 10}},
		{Output: 0, Inputs: []int{6, 7}},
		{Output: 6, Inputs: []int{1, 11}},
		{Output: 7, Inputs: []int{4, 5}},
		{Output: 8, Inputs: []int{1, 2}},
		{Output: 9, Inputs: []int{4, 5}},
		{Output: 10, Inputs: []int{3, 9}},
		{Output: 11, Inputs: []int{2, 3}},
	}
	if len(b.Regions) != 8+len(wantRegions) || len(b.Partitions) != len(wantParts) {
		t.Fatalf("%d regions, %d partitions; want %d, %d", len(b.Regions), len(b.Partitions), 8+len(wantRegions), len(wantParts))
	}
	for i, w := range wantRegions {
		if got := b.Regions[8+i]; !slices.Equal(got.Scope, w.Scope) || !slices.Equal(got.Partitions, w.Partitions) {
			t.Errorf("region %d = %v, want %v", 8+i, got, w)
		}
	}
	for p, w := range wantParts {
		if got := b.Partitions[p]; got.Output != w.Output || !slices.Equal(got.Inputs, w.Inputs) {
			t.Errorf("partition %d = %v, want %v", p, got, w)
		}
	}
}

// With two roots, the region Binarize adds for {1,2,3} (under root 0) has
// the scope of root 1, split another way: the documented exception to
// keeping structured decomposability.
func TestBinarizeTwoRootsMayLoseStructure(t *testing.T) {
	g := &Graph{
		NumVars: 4,
		Regions: []Region{
			{Scope: []int{0, 1, 2, 3}, Partitions: []int{0}},
			{Scope: []int{1, 2, 3}, Partitions: []int{1}},
			{Scope: []int{1, 2}, Partitions: []int{2}},
			{Scope: []int{2, 3}, Partitions: []int{3}},
			{Scope: []int{0}}, {Scope: []int{1}}, {Scope: []int{2}}, {Scope: []int{3}},
		},
		Partitions: []Partition{
			{Output: 0, Inputs: []int{4, 5, 3}},
			{Output: 1, Inputs: []int{2, 7}},
			{Output: 2, Inputs: []int{5, 6}},
			{Output: 3, Inputs: []int{6, 7}},
		},
		Roots: []int{0, 1},
	}
	if !g.IsStructuredDecomposable() {
		t.Fatal("the input is not structured-decomposable")
	}
	b, err := Binarize(g)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, b)
	if b.IsStructuredDecomposable() {
		t.Error("binarized graph is structured-decomposable; the example no longer shows the exception")
	}
}

func TestBinarizeInvalid(t *testing.T) {
	g := customGraph()
	g.Partitions[2].Inputs = []int{1, 2} // drops variable 2 of region 6
	_, err := Binarize(g)
	var ge *GraphError
	if !errors.As(err, &ge) || ge.Partition != 2 {
		t.Fatalf("err = %v, want a *GraphError naming partition 2", err)
	}
}
