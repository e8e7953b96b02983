package regiongraph

// QuadTree returns the quad-tree region graph of an image, as cirkit's
// QuadTree(shape, num_patch_splits=splits) builds it. splits must be 2 or 4.
//
// The leaves are the H*W pixels (each a region over the pixel's C
// channels). Level by level, the grid of regions is cut into 2x2 blocks
// (blocks on the bottom and right borders of an odd-sized grid hold fewer
// regions) and each block becomes one region of the next grid:
//
//   - a block with one region passes it on unchanged;
//   - a block with two regions gets one binary partition;
//   - a full block with splits = 4 gets one partition of arity 4
//     (top-left, top-right, bottom-left, bottom-right);
//   - a full block with splits = 2 merges the top pair and the bottom pair,
//     then the two halves: three regions, three binary partitions.
//
// The levels stop when the grid is 1x1; its region is the root. The graph is
// a tree, hence structured-decomposable.
func QuadTree(shape Shape, splits int) (*Graph, error) {
	if err := shape.check("QuadTree"); err != nil {
		return nil, err
	}
	if splits != 2 && splits != 4 {
		return nil, argError("QuadTree", "splits", "%d is not 2 or 4", splits)
	}
	return quad(shape, true, splits), nil
}

// QuadGraph returns the quad-graph region graph of an image, as cirkit's
// QuadGraph(shape) builds it. It is QuadTree with splits = 2 except that the
// region of each full 2x2 block has two partitions: top|bottom (of the
// regions merging each row pair) and left|right (of the regions merging each
// column pair). Those blocks are mixing regions and the graph is not
// structured-decomposable (unless the image has a single pixel).
func QuadGraph(shape Shape) (*Graph, error) {
	if err := shape.check("QuadGraph"); err != nil {
		return nil, err
	}
	return quad(shape, false, 2), nil
}

// quad builds both quad region graphs, creating regions and partitions in
// the order cirkit does so that ids match its serialized files.
func quad(shape Shape, tree bool, splits int) *Graph {
	g := &Graph{NumVars: shape.NumVars()}
	const pad = -1
	h, w := shape.H, shape.W
	newGrid := func(h, w int) [][]int {
		grid := make([][]int, h+1)
		for i := range grid {
			grid[i] = make([]int, w+1)
			for j := range grid[i] {
				grid[i][j] = pad
			}
		}
		return grid
	}
	grid := newGrid(h, w)
	for i := range h {
		for j := range w {
			grid[i][j] = g.addRegion(shape.scope(box{i, i + 1, j, j + 1}))
		}
	}
	merge := func(ins ...int) int {
		scopes := make([][]int, len(ins))
		for k, in := range ins {
			scopes[k] = g.Regions[in].Scope
		}
		r := g.addRegion(mergeScopes(scopes...))
		g.addPartition(r, ins...)
		return r
	}
	for h > 1 || w > 1 {
		h, w = (h+1)/2, (w+1)/2
		prev := grid
		grid = newGrid(h, w)
		for i := range h {
			for j := range w {
				var rs []int
				for _, r := range [4]int{prev[2*i][2*j], prev[2*i][2*j+1], prev[2*i+1][2*j], prev[2*i+1][2*j+1]} {
					if r != pad {
						rs = append(rs, r)
					}
				}
				switch {
				case len(rs) == 1:
					grid[i][j] = rs[0]
				case len(rs) == 2:
					grid[i][j] = merge(rs...)
				case tree && splits == 4:
					grid[i][j] = merge(rs...)
				case tree:
					top := merge(rs[0], rs[1])
					bottom := merge(rs[2], rs[3])
					grid[i][j] = merge(top, bottom)
				default:
					top := merge(rs[0], rs[1])
					bottom := merge(rs[2], rs[3])
					all := merge(top, bottom)
					left := merge(rs[0], rs[2])
					right := merge(rs[1], rs[3])
					g.addPartition(all, left, right)
					grid[i][j] = all
				}
			}
		}
	}
	g.Roots = []int{grid[0][0]}
	return g
}

// mergeScopes returns the sorted union of pairwise disjoint sorted scopes.
func mergeScopes(scopes ...[]int) []int {
	n := 0
	for _, s := range scopes {
		n += len(s)
	}
	out := make([]int, 0, n)
	pos := make([]int, len(scopes))
	for len(out) < n {
		best := -1
		for k, s := range scopes {
			if pos[k] < len(s) && (best < 0 || s[pos[k]] < scopes[best][pos[best]]) {
				best = k
			}
		}
		out = append(out, scopes[best][pos[best]])
		pos[best]++
	}
	return out
}
