package regiongraph

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// sampleTree draws n samples of binary variables from a tree-shaped
// distribution: the root is a fair coin, and each other variable copies its
// parent except with probability flip[v].
func sampleTree(parents []int, flip []float64, n int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	// Visit parents before children.
	var order []int
	var visit func(u int)
	visit = func(u int) {
		order = append(order, u)
		for v, p := range parents {
			if p == u {
				visit(v)
			}
		}
	}
	for v, p := range parents {
		if p < 0 {
			visit(v)
		}
	}
	data := make([][]int, n)
	for i := range data {
		row := make([]int, len(parents))
		for _, v := range order {
			if parents[v] < 0 {
				row[v] = rng.IntN(2)
				continue
			}
			row[v] = row[parents[v]]
			if rng.Float64() < flip[v] {
				row[v] = 1 - row[v]
			}
		}
		data[i] = row
	}
	return data
}

func TestChowLiuRecoversTree(t *testing.T) {
	//        0
	//      /   \
	//     1     2
	//    / \     \
	//   3   4     5
	//   |         |
	//   7         6
	truth := []int{-1, 0, 0, 1, 1, 2, 5, 3}
	flip := []float64{0, 0.10, 0.15, 0.05, 0.20, 0.12, 0.08, 0.18}
	data := sampleTree(truth, flip, 4000, 7)

	got, err := ChowLiuParents(data, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, truth) {
		t.Errorf("parents rooted at 0 = %v, want %v", got, truth)
	}
	// Rooted automatically: the same undirected edges.
	auto, err := ChowLiuParents(data, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(edges(auto), edges(truth)) {
		t.Errorf("edges %v, want %v", edges(auto), edges(truth))
	}
	// The automatic root is the centre: edge lengths are MI + 1, between
	// 1.19 (flip 0.2: ln 2 - H(0.2) nats) and 1.5 (flip 0.05), so vertex 0,
	// at most 3 edges (≤ 4.5) from every vertex, beats every other vertex,
	// which has one 4 edges (≥ 4.76) away.
	if root := slices.Index(auto, -1); root != 0 {
		t.Errorf("automatic root %d, want 0", root)
	}

	g, err := ChowLiuTree(data, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	// 8 leaves, plus one subtree region (with one partition) for each of
	// the 5 variables with children (0, 1, 2, 3, 5).
	if s := g.Stats(); s.Regions != 13 || s.Partitions != 5 || s.LeafRegions != 8 || !s.StructuredDecomposable {
		t.Errorf("HCLT stats %+v, want 13 regions, 5 partitions, 8 leaves, structured", s)
	}
}

func edges(parents []int) [][2]int {
	var e [][2]int
	for v, p := range parents {
		if p >= 0 {
			e = append(e, [2]int{min(v, p), max(v, p)})
		}
	}
	slices.SortFunc(e, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return e
}

func TestFromTreeMatchesCirkitNumbering(t *testing.T) {
	// Variable 2 is the root with children 0 and 1; 0 has child 5; 1 has
	// children 3 and 4. cirkit's tree2rg creates, for v = 0..5, the leaf {v}
	// then v's subtree region, and lists each partition's inputs in the
	// order of their tree variables.
	g, err := FromTree([]int{2, 2, -1, 1, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	wantScopes := [][]int{{0}, {0, 5}, {1}, {1, 3, 4}, {2}, {0, 1, 2, 3, 4, 5}, {3}, {4}, {5}}
	for r, want := range wantScopes {
		if !slices.Equal(g.Regions[r].Scope, want) {
			t.Errorf("region %d scope %v, want %v", r, g.Regions[r].Scope, want)
		}
	}
	wantParts := []Partition{{1, []int{0, 8}}, {3, []int{2, 6, 7}}, {5, []int{1, 3, 4}}}
	if len(g.Partitions) != len(wantParts) {
		t.Fatalf("%d partitions, want %d", len(g.Partitions), len(wantParts))
	}
	for p, want := range wantParts {
		got := g.Partitions[p]
		if got.Output != want.Output || !slices.Equal(got.Inputs, want.Inputs) {
			t.Errorf("partition %d = %v, want %v", p, got, want)
		}
	}
	if !slices.Equal(g.Roots, []int{5}) {
		t.Errorf("roots %v, want [5]", g.Roots)
	}
	// A forest has one root per tree; a lone variable's root is its leaf.
	g, err = FromTree([]int{-1, 0, -1})
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	if !slices.Equal(g.Roots, []int{1, 3}) {
		t.Errorf("forest roots %v, want [1 3]", g.Roots)
	}
}

func TestChowLiuBadData(t *testing.T) {
	for _, tc := range []struct {
		name       string
		data       [][]int
		root, cats int
	}{
		{"empty", nil, -1, 0},
		{"ragged", [][]int{{0, 1}, {1}}, -1, 0},
		{"negative", [][]int{{0, -1}}, -1, 0},
		{"too many categories", [][]int{{0, 2}}, -1, 2},
		{"root out of range", [][]int{{0, 1}}, 2, 0},
	} {
		if _, err := ChowLiuTree(tc.data, tc.root, tc.cats); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
