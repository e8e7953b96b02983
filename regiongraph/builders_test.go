package regiongraph

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkGraph asserts the properties every built graph has: it validates, is
// smooth and decomposable, and TopoOrder lists every region once with
// inputs first.
func checkGraph(t *testing.T, g *Graph) {
	t.Helper()
	require.NoError(t, g.Validate(), "Validate")
	assert.True(t, g.IsSmooth(), "not smooth")
	assert.True(t, g.IsDecomposable(), "not decomposable")
	order := g.TopoOrder()
	require.Len(t, order, len(g.Regions), "TopoOrder")
	pos := make([]int, len(g.Regions))
	for i := range pos {
		pos[i] = -1
	}
	for i, r := range order {
		require.Negative(t, pos[r], "TopoOrder lists region %d twice", r)
		pos[r] = i
	}
	for p, pt := range g.Partitions {
		for _, in := range pt.Inputs {
			require.LessOrEqual(t, pos[in], pos[pt.Output], "TopoOrder puts input %d of partition %d after its output %d", in, p, pt.Output)
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
			require.NoError(t, err)
			checkGraph(t, g)
			s := g.Stats()
			assert.Equal(t, [3]int{tc.regions, tc.partitions, tc.leaves}, [3]int{s.Regions, s.Partitions, s.LeafRegions}, "regions, partitions, leaves")
			assert.Equal(t, tc.mixing, s.MixingRegions, "mixing regions")
			assert.Equal(t, tc.structured, s.StructuredDecomposable, "structured-decomposable")
			assert.Equal(t, tc.shape.NumVars(), g.NumVars, "NumVars")
			if assert.Len(t, g.Roots, 1, "roots") {
				assert.Len(t, g.Regions[g.Roots[0]].Scope, g.NumVars, "scope of the root")
			}
			// Every leaf holds all C channels of a rectangle of pixels.
			sh := tc.shape
			for _, r := range g.Leaves() {
				sc := g.Regions[r].Scope
				require.Zero(t, len(sc)%sh.C, "leaf %d has %d variables, not a multiple of C = %d", r, len(sc), sh.C)
				n := len(sc) / sh.C
				for c := 1; c < sh.C; c++ {
					for i := range n {
						require.Equal(t, sc[i]+c*sh.H*sh.W, sc[c*n+i], "leaf %d scope %v does not repeat its pixels in every channel", r, sc)
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
	require.NoError(t, err)
	wantScopes := [][]int{
		{0, 4, 8}, {1, 5, 9}, {2, 6, 10}, {3, 7, 11}, // pixels (0,0) (0,1) (1,0) (1,1)
		{0, 1, 4, 5, 8, 9},   // 4: top row
		{2, 3, 6, 7, 10, 11}, // 5: bottom row
		iota0(12),            // 6: whole block
		{0, 2, 4, 6, 8, 10},  // 7: left column
		{1, 3, 5, 7, 9, 11},  // 8: right column
	}
	require.Len(t, g.Regions, len(wantScopes), "regions")
	for r, want := range wantScopes {
		assert.Equal(t, want, g.Regions[r].Scope, "region %d scope", r)
	}
	wantParts := []Partition{{4, []int{0, 1}}, {5, []int{2, 3}}, {6, []int{4, 5}}, {7, []int{0, 2}}, {8, []int{1, 3}}, {6, []int{7, 8}}}
	assert.Equal(t, wantParts, g.Partitions, "partitions")
	assert.Equal(t, []int{6}, g.Roots, "roots")

	// QT4 on 1x4x4: the first level merges each 2x2 block with one 4-ary
	// partition (top-left, top-right, bottom-left, bottom-right).
	g, err = QuadTree(Shape{1, 4, 4}, 4)
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1, 4, 5}, g.Partitions[0].Inputs, "QT4 first partition inputs")
	s := g.Stats()
	assert.Equal(t, map[int]int{4: 5}, s.Arity, "QT4 partition arities")
	assert.Equal(t, 2, s.MaxDepth, "QT4 max depth")
}

func TestPoonDomingosDepthAndDeltas(t *testing.T) {
	// maxDepth 0: only the root (depth 0) is cut, at 3 row and 3 column grid
	// lines of the 4x4-cell grid: 6 partitions into 12 distinct halves
	// ([0,1),[1,4),[0,2),[2,4),[0,3),[3,4) on each axis), all leaves.
	g, err := PoonDomingos(Shape{1, 8, 8}, []float64{2}, 0)
	require.NoError(t, err)
	checkGraph(t, g)
	s := g.Stats()
	assert.Equal(t, [3]int{13, 6, 12}, [3]int{s.Regions, s.Partitions, s.LeafRegions}, "maxDepth 0: regions, partitions, leaves")
	// Per-axis delta (rows 4, columns 2) on 1x8x8: 2x4 cells.
	// Regions I(2)*I(4) = 3*10 = 30, leaves 8, partitions S(2)I(4)+I(2)S(4) = 10+30 = 40.
	g, err = PoonDomingos(Shape{1, 8, 8}, []float64{4, 2}, -1)
	require.NoError(t, err)
	checkGraph(t, g)
	s = g.Stats()
	assert.Equal(t, [3]int{30, 40, 8}, [3]int{s.Regions, s.Partitions, s.LeafRegions}, "delta 4,2: regions, partitions, leaves")
	// Two deltas: the root is cut at the multiples of 4 only (the first
	// delta with a cut inside); the 4x4 quarters have no multiple of 4
	// inside, so they are cut by delta 2. Regions: the 9 rectangles of the
	// 2x2 coarse grid, each 4x4 quarter refined into the 9 rectangles of its
	// own 2x2 grid (8 new each) -> 9 + 4*8 = 41.
	g, err = PoonDomingosDeltas(Shape{1, 8, 8}, [][2]float64{{4, 4}, {2, 2}}, -1)
	require.NoError(t, err)
	checkGraph(t, g)
	s = g.Stats()
	assert.Equal(t, [2]int{41, 16}, [2]int{s.Regions, s.LeafRegions}, "deltas 4,2: regions, leaves")
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
			require.NoError(t, err)
			checkGraph(t, g)
			s := g.Stats()
			assert.Equal(t, [3]int{tc.regions, tc.partitions, tc.leaves}, [3]int{s.Regions, s.Partitions, s.LeafRegions}, "regions, partitions, leaves")
			if tc.partitions > 0 {
				assert.Equal(t, tc.partitions, s.Arity[tc.arity], "partitions of arity %d in the histogram %v", tc.arity, s.Arity)
			}
			assert.Equal(t, tc.structured, s.StructuredDecomposable, "structured-decomposable")
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
			require.NoError(t, err)
			b, err := build(1)
			require.NoError(t, err)
			c, err := build(2)
			require.NoError(t, err)
			assert.True(t, equalGraphs(a, b), "same seed gave different graphs")
			assert.False(t, equalGraphs(a, c), "seeds 1 and 2 gave the same graph")
			// The two repetitions of one graph differ too.
			second := a.Partitions[len(a.Partitions)/2].Inputs
			assert.False(t, slices.Equal(a.Regions[1].Scope, a.Regions[second[0]].Scope) &&
				slices.Equal(a.Regions[2].Scope, a.Regions[second[1]].Scope),
				"the two repetitions start with the same split")
		})
	}
	// LinearTree without randomize ignores the seed and peels 0, 1, 2, ...
	g, err := LinearTree(4, 1, false, 99)
	require.NoError(t, err)
	for p, v := range []int{0, 1, 2} {
		leaf := g.Partitions[p].Inputs[0]
		assert.Equal(t, []int{v}, g.Regions[leaf].Scope, "scope that partition %d peels", p)
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
			_, err := tc.build()
			require.Error(t, err, "no error for bad arguments")
			var ae *ArgError
			assert.ErrorAs(t, err, &ae, "error %T is not an *ArgError", err)
			assert.ErrorContains(t, err, tc.want)
			assert.NotContains(t, err.Error(), "\n", "error is one line")
		})
	}
}
