package regiongraph

// TopoOrder returns every region id once, inputs before outputs: a region
// comes after every input region of each of its partitions. The order is a
// depth-first post-order started from each region in id order, so it is
// deterministic. g must be acyclic (Validate).
func (g *Graph) TopoOrder() []int {
	order := make([]int, 0, len(g.Regions))
	g.dfs(func(r int) { order = append(order, r) })
	return order
}

// RegionHeights returns the height of every region: 0 for a leaf, otherwise
// one more than the largest height among the inputs of its partitions. A
// partition's height is the height its output gets through it; see
// PartitionHeights. g must be acyclic.
func (g *Graph) RegionHeights() []int {
	h := make([]int, len(g.Regions))
	for _, r := range g.TopoOrder() {
		for _, p := range g.Regions[r].Partitions {
			h[r] = max(h[r], g.partitionHeight(p, h))
		}
	}
	return h
}

// PartitionHeights returns, for every partition, one more than the largest
// height of its input regions. Partitions of equal height can be evaluated
// together once all lower ones are: folding by height is a valid schedule.
func (g *Graph) PartitionHeights() []int {
	rh := g.RegionHeights()
	h := make([]int, len(g.Partitions))
	for p := range g.Partitions {
		h[p] = g.partitionHeight(p, rh)
	}
	return h
}

func (g *Graph) partitionHeight(p int, regionHeights []int) int {
	h := 0
	for _, in := range g.Partitions[p].Inputs {
		h = max(h, regionHeights[in]+1)
	}
	return h
}

// RegionDepths returns the depth of every region: the number of partitions
// on the longest path from a root down to it (0 for a root). A partition's
// depth is the depth of its output region. g must be acyclic.
func (g *Graph) RegionDepths() []int {
	d := make([]int, len(g.Regions))
	order := g.TopoOrder()
	for i := len(order) - 1; i >= 0; i-- { // outputs before inputs
		r := order[i]
		for _, p := range g.Regions[r].Partitions {
			for _, in := range g.Partitions[p].Inputs {
				d[in] = max(d[in], d[r]+1)
			}
		}
	}
	return d
}

// PartitionDepths returns the depth of every partition: the depth of its
// output region (see RegionDepths).
func (g *Graph) PartitionDepths() []int {
	rd := g.RegionDepths()
	d := make([]int, len(g.Partitions))
	for p, pt := range g.Partitions {
		d[p] = rd[pt.Output]
	}
	return d
}
