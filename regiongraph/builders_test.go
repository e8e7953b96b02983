package regiongraph

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// checkGraph asserts the properties every built graph has: it validates, is
// smooth and decomposable, and TopoOrder lists every region once with
// inputs first.
func checkGraph(t *testing.T, g *Graph) {
	t.Helper()
	if err := g.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if !g.IsSmooth() {
		t.Error("not smooth")
	}
	if !g.IsDecomposable() {
		t.Error("not decomposable")
	}
	order := g.TopoOrder()
	if len(order) != len(g.Regions) {
		t.Fatalf("TopoOrder has %d regions, want %d", len(order), len(g.Regions))
	}
	pos := make([]int, len(g.Regions))
	for i := range pos {
		pos[i] = -1
	}
	for i, r := range order {
		if pos[r] >= 0 {
			t.Fatalf("TopoOrder lists region %d twice", r)
		}
		pos[r] = i
	}
	for p, pt := range g.Partitions {
		for _, in := range pt.Inputs {
			if pos[in] > pos[pt.Output] {
				t.Fatalf("TopoOrder puts input %d of partition %d after its output %d", in, p, pt.Output)
			}
		}
	}
}

// The expected counts below come from walking the algorithm by hand.
//
// Quad builders, on an H x W pixel grid: every level halves the grid
// (rounding up) and turns each 2x2 block into one region. Let F be the
// number of full blocks (4 regions) and T the number of blocks with 2
// regions (the right column or bottom row of an odd-sized grid), summed
// over levels. The leaves are the H*W pixels. Then
//
//	QT2: a full block adds 3 regions and 3 binary partitions, a pair 1 and 1:
//	     partitions = 3F+T (= leaves-1, a binary tree), regions = leaves + 3F+T;
//	QT4: a full block adds 1 region with 1 partition of arity 4:
//	     partitions = F+T, regions = leaves + F+T;
//	QG:  a full block adds 5 regions (top, bottom, left, right, whole) and 6
//	     partitions (the whole region has 2): partitions = 6F+T,
//	     regions = leaves + 5F+T, mixing regions = F.
//
// Grid walks:
//
//	28x28 -> 14x14 (196 full) -> 7x7 (49 full) -> 4x4 (3x3 = 9 full; 3 pairs in
//	  the last column and 3 in the last row; the corner passes through)
//	  -> 2x2 (4 full) -> 1x1 (1 full): F = 259, T = 6, leaves 784.
//	5x7 -> 3x4: rows {0,1},{2,3} x cols {0,1},{2,3},{4,5} are 6 full blocks;
//	  column 6 gives 2 vertical pairs, row 4 gives 3 horizontal pairs, (4,6)
//	  passes through -> 2x2: row pair {0,1} x 2 column pairs = 2 full, row 2
//	  gives 2 pairs -> 1x1: 1 full. F = 9, T = 7, leaves 35.
//	8x8 -> 4x4 (16 full) -> 2x2 (4) -> 1x1 (1): F = 21, T = 0, leaves 64.
//	4x4 -> 2x2 (4 full) -> 1x1 (1): F = 5, T = 0, leaves 16 (3 channels each).
//
// Poon-Domingos with integer delta d on an n-pixel axis cuts at d, 2d, ...
// below n, giving c = ⌈n/d⌉ cells. With unlimited depth every rectangle of
// whole cells is reached (cut the root at its lower edge, then at its upper
// edge, on both axes), so regions = I(ch)*I(cw) with I(c) = c(c+1)/2
// intervals, leaves = ch*cw patches, and a rectangle of a x b cells has
// (a-1)+(b-1) partitions; summed over intervals, Σ(a-1) over the intervals
// of c cells is S(c) = C(c+1, 3), so partitions = S(ch)I(cw) + I(ch)S(cw).
// Regions with more than one partition have a+b > 3. With I(7)=28, S(7)=56;
// I(4)=10, S(4)=10; I(3)=6, S(3)=4:
//
//	1x28x28, d=4: 7x7 cells: regions 784, leaves 49, partitions 2*56*28 = 3136.
//	1x5x7,   d=2: 3x4 cells: regions 6*10 = 60, leaves 12, partitions 4*10+6*10 = 100.
//	1x8x8,   d=2: 4x4 cells: regions 100, leaves 16, partitions 2*10*10 = 200.
//	3x4x4,   d=1: 4x4 cells: regions 100, leaves 16, partitions 200.
//
// PD regions with two or more partitions split the same scope in different
// ways, so PD is not structured-decomposable; QG's whole-block regions are
// split top|bottom and left|right, so QG is not either; the quad trees are.
func TestImageBuilderCounts(t *testing.T) {
	qt2 := func(s Shape) (*Graph, error) { return QuadTree(s, 2) }
	qt4 := func(s Shape) (*Graph, error) { return QuadTree(s, 4) }
	pd := func(d float64) func(Shape) (*Graph, error) {
		return func(s Shape) (*Graph, error) { return PoonDomingos(s, []float64{d}, -1) }
	}
	for _, tc := range []struct {
		name                        string
		build                       func(Shape) (*Graph, error)
		shape                       Shape
		regions, partitions, leaves int
		mixing                      int
		structured                  bool
	}{
		{"qt2", qt2, Shape{1, 28, 28}, 784 + 3*259 + 6, 3*259 + 6, 784, 0, true},
		{"qt2", qt2, Shape{1, 5, 7}, 35 + 3*9 + 7, 3*9 + 7, 35, 0, true},
		{"qt2", qt2, Shape{1, 8, 8}, 64 + 3*21, 3 * 21, 64, 0, true},
		{"qt2", qt2, Shape{3, 4, 4}, 16 + 3*5, 3 * 5, 16, 0, true},
		{"qt4", qt4, Shape{1, 28, 28}, 784 + 259 + 6, 259 + 6, 784, 0, true},
		{"qt4", qt4, Shape{1, 5, 7}, 35 + 9 + 7, 9 + 7, 35, 0, true},
		{"qt4", qt4, Shape{1, 8, 8}, 64 + 21, 21, 64, 0, true},
		{"qt4", qt4, Shape{3, 4, 4}, 16 + 5, 5, 16, 0, true},
		{"qg", QuadGraph, Shape{1, 28, 28}, 784 + 5*259 + 6, 6*259 + 6, 784, 259, false},
		{"qg", QuadGraph, Shape{1, 5, 7}, 35 + 5*9 + 7, 6*9 + 7, 35, 9, false},
		{"qg", QuadGraph, Shape{1, 8, 8}, 64 + 5*21, 6 * 21, 64, 21, false},
		{"qg", QuadGraph, Shape{3, 4, 4}, 16 + 5*5, 6 * 5, 16, 5, false},
		// Mixing: rectangles of a x b cells with a+b > 3: all but the
		// 1x1, 1x2 and 2x1 ones. 7x7: 784 - 49 - 2*7*6 = 651;
		// 3x4: 60 - 12 - (3*3 + 2*4) = 31; 4x4: 100 - 16 - 2*12 = 60.
		{"pd", pd(4), Shape{1, 28, 28}, 784, 3136, 49, 651, false},
		{"pd", pd(2), Shape{1, 5, 7}, 60, 100, 12, 31, false},
		{"pd", pd(2), Shape{1, 8, 8}, 100, 200, 16, 60, false},
		{"pd", pd(1), Shape{3, 4, 4}, 100, 200, 16, 60, false},
	} {
		t.Run(tc.name+"/"+tc.shape.String(), func(t *testing.T) {
			g, err := tc.build(tc.shape)
			if err != nil {
				t.Fatal(err)
			}
			checkGraph(t, g)
			s := g.Stats()
			if s.Regions != tc.regions || s.Partitions != tc.partitions || s.LeafRegions != tc.leaves {
				t.Errorf("regions, partitions, leaves = %d, %d, %d; want %d, %d, %d",
					s.Regions, s.Partitions, s.LeafRegions, tc.regions, tc.partitions, tc.leaves)
			}
			if s.MixingRegions != tc.mixing {
				t.Errorf("mixing regions = %d, want %d", s.MixingRegions, tc.mixing)
			}
			if s.StructuredDecomposable != tc.structured {
				t.Errorf("structured-decomposable = %t, want %t", s.StructuredDecomposable, tc.structured)
			}
			if g.NumVars != tc.shape.NumVars() || len(g.Roots) != 1 ||
				len(g.Regions[g.Roots[0]].Scope) != g.NumVars {
				t.Errorf("NumVars %d, roots %v: want one root over %d variables", g.NumVars, g.Roots, tc.shape.NumVars())
			}
			// Every leaf holds all C channels of a rectangle of pixels.
			sh := tc.shape
			for _, r := range g.Leaves() {
				sc := g.Regions[r].Scope
				if len(sc)%sh.C != 0 {
					t.Fatalf("leaf %d has %d variables, not a multiple of C = %d", r, len(sc), sh.C)
				}
				n := len(sc) / sh.C
				for c := 1; c < sh.C; c++ {
					for i := range n {
						if sc[c*n+i] != sc[i]+c*sh.H*sh.W {
							t.Fatalf("leaf %d scope %v does not repeat its pixels in every channel", r, sc)
						}
					}
				}
			}
		})
	}
}

func TestQuadStructure(t *testing.T) {
	// 3x2x2: one full block. Leaves are the pixels in row-major order, each
	// over its 3 channels in CHW order (channel c of pixel (h, w) is
	// c*4 + h*2 + w).
	g, err := QuadGraph(Shape{3, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	wantScopes := [][]int{
		{0, 4, 8}, {1, 5, 9}, {2, 6, 10}, {3, 7, 11}, // pixels (0,0) (0,1) (1,0) (1,1)
		{0, 1, 4, 5, 8, 9},   // 4: top row
		{2, 3, 6, 7, 10, 11}, // 5: bottom row
		iota0(12),            // 6: whole block
		{0, 2, 4, 6, 8, 10},  // 7: left column
		{1, 3, 5, 7, 9, 11},  // 8: right column
	}
	if len(g.Regions) != len(wantScopes) {
		t.Fatalf("%d regions, want %d", len(g.Regions), len(wantScopes))
	}
	for r, want := range wantScopes {
		if !slices.Equal(g.Regions[r].Scope, want) {
			t.Errorf("region %d scope %v, want %v", r, g.Regions[r].Scope, want)
		}
	}
	wantParts := []Partition{{4, []int{0, 1}}, {5, []int{2, 3}}, {6, []int{4, 5}}, {7, []int{0, 2}}, {8, []int{1, 3}}, {6, []int{7, 8}}}
	for p, want := range wantParts {
		got := g.Partitions[p]
		if got.Output != want.Output || !slices.Equal(got.Inputs, want.Inputs) {
			t.Errorf("partition %d = %v, want %v", p, got, want)
		}
	}
	if !slices.Equal(g.Roots, []int{6}) {
		t.Errorf("roots %v, want [6]", g.Roots)
	}

	// QT4 on 1x4x4: the first level merges each 2x2 block with one 4-ary
	// partition (top-left, top-right, bottom-left, bottom-right).
	g, err = QuadTree(Shape{1, 4, 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Partitions[0].Inputs; !slices.Equal(got, []int{0, 1, 4, 5}) {
		t.Errorf("QT4 first partition inputs %v, want [0 1 4 5]", got)
	}
	if s := g.Stats(); s.Arity[4] != 5 || len(s.Arity) != 1 || s.MaxDepth != 2 {
		t.Errorf("QT4 arity %v max depth %d, want map[4:5] and 2", s.Arity, s.MaxDepth)
	}
}

func TestPoonDomingosDepthAndDeltas(t *testing.T) {
	// maxDepth 0: only the root (depth 0) is cut, at 3 row and 3 column grid
	// lines of the 4x4-cell grid: 6 partitions into 12 distinct halves
	// ([0,1),[1,4),[0,2),[2,4),[0,3),[3,4) on each axis), all leaves.
	g, err := PoonDomingos(Shape{1, 8, 8}, []float64{2}, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	if s := g.Stats(); s.Regions != 13 || s.Partitions != 6 || s.LeafRegions != 12 {
		t.Errorf("maxDepth 0: %d regions, %d partitions, %d leaves; want 13, 6, 12", s.Regions, s.Partitions, s.LeafRegions)
	}
	// Per-axis delta (rows 4, columns 2) on 1x8x8: 2x4 cells.
	// Regions I(2)*I(4) = 3*10 = 30, leaves 8, partitions S(2)I(4)+I(2)S(4) = 10+30 = 40.
	g, err = PoonDomingos(Shape{1, 8, 8}, []float64{4, 2}, -1)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	if s := g.Stats(); s.Regions != 30 || s.Partitions != 40 || s.LeafRegions != 8 {
		t.Errorf("delta 4,2: %d regions, %d partitions, %d leaves; want 30, 40, 8", s.Regions, s.Partitions, s.LeafRegions)
	}
	// Two deltas: the root is cut at the multiples of 4 only (the first
	// delta with a cut inside); the 4x4 quarters have no multiple of 4
	// inside, so they are cut by delta 2. Regions: the 9 rectangles of the
	// 2x2 coarse grid, each 4x4 quarter refined into the 9 rectangles of its
	// own 2x2 grid (8 new each) -> 9 + 4*8 = 41.
	g, err = PoonDomingosDeltas(Shape{1, 8, 8}, [][2]float64{{4, 4}, {2, 2}}, -1)
	if err != nil {
		t.Fatal(err)
	}
	checkGraph(t, g)
	if s := g.Stats(); s.Regions != 41 || s.LeafRegions != 16 {
		t.Errorf("deltas 4,2: %d regions, %d leaves; want 41, 16", s.Regions, s.LeafRegions)
	}
}

func TestTreeBuilders(t *testing.T) {
	for _, tc := range []struct {
		name                               string
		build                              func() (*Graph, error)
		regions, partitions, leaves, arity int
		structured                         bool
	}{
		// A full binary tree over 16 variables, depth 4: 15 partitions, 31 regions.
		{"rbt16", func() (*Graph, error) { return RandomBinaryTree(16, 4, 1, 1) }, 31, 15, 16, 2, true},
		// 3 trees under a shared root: 1 + 3*30 regions, 3*15 partitions.
		{"rbt16x3", func() (*Graph, error) { return RandomBinaryTree(16, -1, 3, 1) }, 91, 45, 48, 2, false},
		// 10 variables, depth 2: 10 -> 5+5 -> (2 or 3)+... four leaves per tree.
		{"rbt10d2", func() (*Graph, error) { return RandomBinaryTree(10, 2, 1, 7) }, 7, 3, 4, 2, true},
		// 5 variables at depth 3 (⌈log2 5⌉): 5 -> 2+3 (round(2.5) = 2) ->
		// (1+1) + (2+1) -> 1+1: 4 partitions, leaves all singletons.
		{"rbt5", func() (*Graph, error) { return RandomBinaryTree(5, 3, 1, 3) }, 9, 4, 5, 2, true},
		// Linear: n-1 partitions per repetition, each adding a leaf and the rest.
		{"linear", func() (*Graph, error) { return LinearTree(6, 1, false, 0) }, 11, 5, 6, 2, true},
		{"linear-x2", func() (*Graph, error) { return LinearTree(6, 2, true, 5) }, 21, 10, 12, 2, false},
		{"ff", func() (*Graph, error) { return FullyFactorized(5, 1) }, 6, 1, 5, 5, true},
		{"ff-x3", func() (*Graph, error) { return FullyFactorized(5, 3) }, 16, 3, 15, 5, true},
		{"ff1", func() (*Graph, error) { return FullyFactorized(1, 3) }, 1, 0, 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			checkGraph(t, g)
			s := g.Stats()
			if s.Regions != tc.regions || s.Partitions != tc.partitions || s.LeafRegions != tc.leaves {
				t.Errorf("regions, partitions, leaves = %d, %d, %d; want %d, %d, %d",
					s.Regions, s.Partitions, s.LeafRegions, tc.regions, tc.partitions, tc.leaves)
			}
			if tc.partitions > 0 && s.Arity[tc.arity] != tc.partitions {
				t.Errorf("arity histogram %v, want %d partitions of arity %d", s.Arity, tc.partitions, tc.arity)
			}
			if s.StructuredDecomposable != tc.structured {
				t.Errorf("structured-decomposable = %t, want %t", s.StructuredDecomposable, tc.structured)
			}
		})
	}
}

func TestRandomBuildersSeeded(t *testing.T) {
	type builder func(seed uint64) (*Graph, error)
	for name, build := range map[string]builder{
		"rbt":    func(s uint64) (*Graph, error) { return RandomBinaryTree(64, -1, 2, s) },
		"linear": func(s uint64) (*Graph, error) { return LinearTree(64, 2, true, s) },
	} {
		t.Run(name, func(t *testing.T) {
			a, err := build(1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := build(1)
			c, _ := build(2)
			if !equalGraphs(a, b) {
				t.Error("same seed gave different graphs")
			}
			if equalGraphs(a, c) {
				t.Error("seeds 1 and 2 gave the same graph")
			}
			// The two repetitions of one graph differ too.
			if slices.Equal(a.Regions[1].Scope, a.Regions[a.Partitions[len(a.Partitions)/2].Inputs[0]].Scope) &&
				slices.Equal(a.Regions[2].Scope, a.Regions[a.Partitions[len(a.Partitions)/2].Inputs[1]].Scope) {
				t.Error("the two repetitions start with the same split")
			}
		})
	}
	// LinearTree without randomize ignores the seed and peels 0, 1, 2, ...
	g, _ := LinearTree(4, 1, false, 99)
	for p, v := range []int{0, 1, 2} {
		leaf := g.Partitions[p].Inputs[0]
		if !slices.Equal(g.Regions[leaf].Scope, []int{v}) {
			t.Errorf("partition %d peels %v, want [%d]", p, g.Regions[leaf].Scope, v)
		}
	}
}

func equalGraphs(a, b *Graph) bool {
	if a.NumVars != b.NumVars || !slices.Equal(a.Roots, b.Roots) ||
		len(a.Regions) != len(b.Regions) || len(a.Partitions) != len(b.Partitions) {
		return false
	}
	for r := range a.Regions {
		if !slices.Equal(a.Regions[r].Scope, b.Regions[r].Scope) ||
			!slices.Equal(a.Regions[r].Partitions, b.Regions[r].Partitions) {
			return false
		}
	}
	for p := range a.Partitions {
		if a.Partitions[p].Output != b.Partitions[p].Output ||
			!slices.Equal(a.Partitions[p].Inputs, b.Partitions[p].Inputs) {
			return false
		}
	}
	return true
}

func TestBuilderBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func() (*Graph, error)
		want  string
	}{
		{"qt zero height", func() (*Graph, error) { return QuadTree(Shape{1, 0, 4}, 2) }, "shape 1x0x4 has a dimension that is not positive"},
		{"qt negative channels", func() (*Graph, error) { return QuadTree(Shape{-1, 4, 4}, 2) }, "not positive"},
		{"qt splits 3", func() (*Graph, error) { return QuadTree(Shape{1, 4, 4}, 3) }, "splits 3 is not 2 or 4"},
		{"qg zero width", func() (*Graph, error) { return QuadGraph(Shape{1, 4, 0}) }, "not positive"},
		{"pd delta 0", func() (*Graph, error) { return PoonDomingos(Shape{1, 8, 8}, []float64{0}, -1) }, "delta 0 must be at least 1"},
		{"pd delta negative", func() (*Graph, error) { return PoonDomingos(Shape{1, 8, 8}, []float64{-2}, -1) }, "delta -2 must be at least 1"},
		{"pd delta too large", func() (*Graph, error) { return PoonDomingos(Shape{1, 8, 8}, []float64{9}, -1) }, "delta 9 is larger than the image"},
		{"pd delta columns too large", func() (*Graph, error) { return PoonDomingos(Shape{1, 8, 4}, []float64{2, 5}, -1) }, "delta 5 is larger than the image"},
		{"pd three deltas", func() (*Graph, error) { return PoonDomingos(Shape{1, 8, 8}, []float64{1, 2, 3}, -1) }, "has 3 values"},
		{"pd bad shape", func() (*Graph, error) { return PoonDomingos(Shape{1, 8, -8}, []float64{2}, -1) }, "not positive"},
		{"rbt depth", func() (*Graph, error) { return RandomBinaryTree(16, 5, 1, 0) }, "depth 5 is larger than ⌈log2 16⌉ = 4"},
		{"rbt depth 5 vars", func() (*Graph, error) { return RandomBinaryTree(5, 4, 1, 0) }, "depth 4 is larger than ⌈log2 5⌉ = 3"},
		{"rbt vars", func() (*Graph, error) { return RandomBinaryTree(0, 1, 1, 0) }, "numVars 0 is not positive"},
		{"rbt reps", func() (*Graph, error) { return RandomBinaryTree(4, 1, 0, 0) }, "repetitions 0 is not positive"},
		{"linear vars", func() (*Graph, error) { return LinearTree(-3, 1, false, 0) }, "numVars -3 is not positive"},
		{"ff reps", func() (*Graph, error) { return FullyFactorized(3, -1) }, "repetitions -1 is not positive"},
		{"tree cycle", func() (*Graph, error) { return FromTree([]int{-1, 2, 1}) }, "not below a root"},
		{"tree parent", func() (*Graph, error) { return FromTree([]int{-1, 5}) }, "parent 5 of variable 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := tc.build()
			if err == nil {
				t.Fatalf("no error, got a graph with %d regions", len(g.Regions))
			}
			var ae *ArgError
			if !errors.As(err, &ae) {
				t.Errorf("error %T %v is not an *ArgError", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tc.want)
			}
		})
	}
}
