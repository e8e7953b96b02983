package regiongraph

import (
	"math"
	"slices"
)

// chowLiuAlpha is the Laplace smoothing of the pairwise counts, the value
// cirkit's categorical mutual information uses.
const chowLiuAlpha = 0.01

// ChowLiuTree learns a Chow-Liu tree from categorical data and returns it
// as an HCLT region graph (see FromTree), as cirkit's
// ChowLiuTree(data, "categorical", root, num_categories) does.
//
// data holds one sample per row, one value in [0, numCategories) per
// variable. numCategories ≤ 0 means one more than the largest value. root is
// the variable at the root of the tree; a negative root picks the variable
// whose largest weighted distance to another variable is smallest (see
// ChowLiuParents).
//
// With at most ChowLiuBins categories (binary data such as DEBD) the mutual
// information is exact, as in cirkit. With more (256 pixel values) the
// values are first quantized into ChowLiuBins equal-width bins, value v to
// bin v·ChowLiuBins/numCategories, and the tree is the Chow-Liu tree of the
// quantized data: cirkit's statistics over 256² cells per pair are too slow
// for MNIST, and with 60,000 samples mostly smoothing. The joint counts come
// from indicator bitsets or per-sample category codes (see ChowLiuParents),
// so full MNIST (60,000 × 784) takes seconds (docs/PERFORMANCE.md).
func ChowLiuTree(data [][]int, root, numCategories int) (*Graph, error) {
	parents, err := ChowLiuParents(data, root, numCategories)
	if err != nil {
		return nil, err
	}
	return FromTree(parents)
}

// ChowLiuParents learns a Chow-Liu tree and returns it as a list of
// parents: parents[v] is the parent of variable v, -1 for the root.
//
// Values are first mapped to K categories: themselves when numCategories ≤
// ChowLiuBins (K = numCategories), else ChowLiuBins equal-width bins (K =
// ChowLiuBins). The pairwise mutual information of the categories is
// computed from the counts smoothed with α = 0.01 as in cirkit: p(a, b) =
// (n(a, b) + α) / (N + K²α) and p(a) = (n(a) + Kα) / (N + K²α).
//
// The sufficient statistics are, per variable, the marginal counts, a byte
// code per sample and one indicator bitset over the samples per category
// but the most frequent one (the reference). The joint counts of a pair
// off the reference cost either (K−1)² AND+popcounts per 64 samples or one
// visit per sample off the reference in both variables, whichever is less
// (the visits win on images' zero backgrounds); the counts involving a
// reference follow from the marginals.
//
// The tree is the maximum spanning tree of the complete graph weighted by
// mutual information + 1 (Prim's algorithm from variable 0, ties to the
// lower index); the distances that choose an automatic root use the same
// weights, as cirkit does. The counts are integers, so the same data give
// the same tree whatever the number of goroutines or the order of the rows.
func ChowLiuParents(data [][]int, root, numCategories int) ([]int, error) {
	const name = "ChowLiuTree"
	if len(data) == 0 || len(data[0]) == 0 {
		return nil, argError(name, "data", "is empty")
	}
	d := len(data[0])
	maxVal := 0
	for i, row := range data {
		if len(row) != d {
			return nil, argError(name, "data", "row %d has %d values, want %d", i, len(row), d)
		}
		for j, v := range row {
			if v < 0 {
				return nil, argError(name, "data", "value %d of variable %d in row %d is negative", v, j, i)
			}
			maxVal = max(maxVal, v)
		}
	}
	if numCategories <= 0 {
		numCategories = maxVal + 1
	} else if maxVal >= numCategories {
		return nil, argError(name, "data", "value %d is not below numCategories = %d", maxVal, numCategories)
	}
	if root >= d {
		return nil, argError(name, "root", "%d is not a variable (there are %d)", root, d)
	}
	w := pairwiseMI(data, numCategories)
	for i := range w {
		for j := range w[i] {
			w[i][j]++
		}
	}
	// Prim's maximum spanning tree from variable 0.
	adj := make([][]int, d)
	in := make([]bool, d)
	best := make([]float64, d)
	from := make([]int, d)
	for i := range best {
		best[i] = math.Inf(-1)
	}
	best[0] = 0
	for range d {
		u := -1
		for v := range d {
			if !in[v] && (u < 0 || best[v] > best[u]) {
				u = v
			}
		}
		in[u] = true
		if u != 0 {
			adj[u] = append(adj[u], from[u])
			adj[from[u]] = append(adj[from[u]], u)
		}
		for v := range d {
			if !in[v] && w[u][v] > best[v] {
				best[v], from[v] = w[u][v], u
			}
		}
	}
	if root < 0 {
		root = centre(adj, w)
	}
	parents := make([]int, d)
	for i := range parents {
		parents[i] = -2
	}
	parents[root] = -1
	queue := []int{root}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range adj[u] {
			if parents[v] == -2 {
				parents[v] = u
				queue = append(queue, v)
			}
		}
	}
	return parents, nil
}

// centre returns the vertex of the tree adj whose largest distance (edge
// lengths w) to another vertex is smallest, the lowest such index on ties.
func centre(adj [][]int, w [][]float64) int {
	d := len(adj)
	dist := make([]float64, d)
	best, bestEcc := 0, math.Inf(1)
	for s := range d {
		for i := range dist {
			dist[i] = -1
		}
		dist[s] = 0
		ecc := 0.0
		stack := []int{s}
		for len(stack) > 0 {
			u := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			ecc = max(ecc, dist[u])
			for _, v := range adj[u] {
				if dist[v] < 0 {
					dist[v] = dist[u] + w[u][v]
					stack = append(stack, v)
				}
			}
		}
		if ecc < bestEcc {
			best, bestEcc = s, ecc
		}
	}
	return best
}

// FromTree turns a forest, given by parents (parents[v] is the parent of
// variable v, -1 for a root), into the region graph of a hidden Chow-Liu
// tree (HCLT), as cirkit's tree2rg does.
//
// Every variable v has a leaf region {v}. A variable u with children also
// has a region over the variables of its subtree, with one partition whose
// inputs are, in increasing variable order, the leaf {u} and, for each
// child c, the subtree region of c (or the leaf {c} if c has no children).
// The roots are the regions of the tree roots. Regions are numbered as
// cirkit numbers them: for v = 0, 1, ...: the leaf {v}, then v's subtree
// region if v has children.
func FromTree(parents []int) (*Graph, error) {
	const name = "FromTree"
	d := len(parents)
	if d == 0 {
		return nil, argError(name, "parents", "is empty")
	}
	children := make([][]int, d)
	for v, p := range parents {
		if p < -1 || p >= d || p == v {
			return nil, argError(name, "parents", "parent %d of variable %d is not a variable or -1", p, v)
		}
		if p >= 0 {
			children[p] = append(children[p], v)
		}
	}
	// Subtree scopes, visited from the roots: a variable not reached lies
	// on a cycle.
	scope := make([][]int, d)
	var visit func(u int)
	visit = func(u int) {
		s := []int{u}
		for _, c := range children[u] {
			visit(c)
			s = append(s, scope[c]...)
		}
		slices.Sort(s)
		scope[u] = s
	}
	g := &Graph{NumVars: d}
	for v, p := range parents {
		if p == -1 {
			visit(v)
		}
	}
	for v := range d {
		if scope[v] == nil {
			return nil, argError(name, "parents", "variable %d is not below a root (the parents have a cycle)", v)
		}
	}
	leaf := make([]int, d)
	sub := make([]int, d) // subtree region of v, or its leaf
	for v := range d {
		leaf[v] = g.addRegion([]int{v})
		sub[v] = leaf[v]
		if len(children[v]) > 0 {
			sub[v] = g.addRegion(scope[v])
		}
	}
	for u := range d {
		if len(children[u]) == 0 {
			continue
		}
		// Inputs in increasing order of their tree variable: children[u]
		// is increasing, the leaf {u} goes at its place.
		ins := make([]int, 0, len(children[u])+1)
		placed := false
		for _, c := range children[u] {
			if !placed && u < c {
				ins, placed = append(ins, leaf[u]), true
			}
			ins = append(ins, sub[c])
		}
		if !placed {
			ins = append(ins, leaf[u])
		}
		g.addPartition(sub[u], ins...)
	}
	for v, p := range parents {
		if p == -1 {
			g.Roots = append(g.Roots, sub[v])
		}
	}
	return g, nil
}
