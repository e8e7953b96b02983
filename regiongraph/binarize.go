package regiongraph

import (
	"slices"
)

// Binarize returns a copy of g in which every partition has exactly two
// inputs, for layers that only take binary partitions (Tucker). g is not
// modified; an invalid g gives Validate's *GraphError.
//
// A partition with k > 2 inputs becomes a balanced binary tree of k−1
// binary partitions with the same scope: its inputs, ordered by their
// smallest variable, are cut into the first ⌊k/2⌋ and the rest, and each
// half of two or more inputs becomes a new region over the union of their
// scopes, split the same way, recursively. A balanced tree, rather than a
// chain peeling off one input at a time, makes the longest path through the
// partition ⌈log2 k⌉ partitions long instead of k−1 (both add k−2 regions),
// so the folded circuit has fewer, wider layers; and on QuadTree(shape, 4)
// it gives the splits of QuadTree(shape, 2): the top pair, the bottom pair,
// then the two halves.
//
// Regions and partitions keep their ids: a binarized partition keeps its id
// and output, its inputs become the regions of its two halves, and the new
// regions and partitions are appended (in the order of the partitions they
// come from). Every scope of g is kept; the result validates, is smooth and
// decomposable, and depends only on g.
//
// The inputs are ordered by scope, not by their place in Inputs, so that
// partitions splitting equal scopes the same way are binarized the same way.
// A structured-decomposable g with one root therefore stays
// structured-decomposable: its scopes form a tree in which a union of some
// but not all parts of a split is never a scope. With several roots, a new
// region's scope may already be the scope of a region split another way,
// and the result is then not structured-decomposable.
func Binarize(g *Graph) (*Graph, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	b := &Graph{
		NumVars:    g.NumVars,
		Regions:    make([]Region, len(g.Regions)),
		Partitions: make([]Partition, len(g.Partitions)),
		Roots:      slices.Clone(g.Roots),
	}
	for r, rg := range g.Regions {
		b.Regions[r] = Region{Scope: slices.Clone(rg.Scope), Partitions: slices.Clone(rg.Partitions)}
	}
	for p, pt := range g.Partitions {
		b.Partitions[p] = Partition{Output: pt.Output, Inputs: slices.Clone(pt.Inputs)}
	}
	for p := range g.Partitions {
		ins := b.Partitions[p].Inputs
		if len(ins) <= 2 {
			continue
		}
		// Scopes are pairwise disjoint, so their first variables differ.
		slices.SortFunc(ins, func(x, y int) int { return b.Regions[x].Scope[0] - b.Regions[y].Scope[0] })
		h := len(ins) / 2
		left, right := b.group(ins[:h]), b.group(ins[h:])
		b.Partitions[p].Inputs = []int{left, right}
	}
	return b, nil
}

// group returns a region over the union of the scopes of ins (ordered, of
// pairwise disjoint scopes): ins[0] when it is alone, else a new region with
// one binary partition into the groups of the two halves of ins.
func (g *Graph) group(ins []int) int {
	if len(ins) == 1 {
		return ins[0]
	}
	h := len(ins) / 2
	left, right := g.group(ins[:h]), g.group(ins[h:])
	r := g.addRegion(mergeScopes(g.Regions[left].Scope, g.Regions[right].Scope))
	g.addPartition(r, left, right)
	return r
}
