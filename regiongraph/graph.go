package regiongraph

import (
	"fmt"
	"sort"
)

// Graph is a region graph: a bipartite DAG of regions and partitions.
//
// A Graph is plain data. Region and partition ids are indices into Regions
// and Partitions. Builders and ReadJSON return graphs that satisfy Validate;
// a Graph assembled by hand should be checked with Validate before use.
type Graph struct {
	// NumVars is the number of variables X_0..X_{NumVars-1}; every scope
	// holds indices in [0, NumVars).
	NumVars int
	// Regions holds the regions; the index is the region id.
	Regions []Region
	// Partitions holds the partitions; the index is the partition id.
	Partitions []Partition
	// Roots holds the ids of the root regions (the outputs of the graph).
	Roots []int
}

// Region is a set of variables with the partitions that split it.
type Region struct {
	// Scope holds the region's variable indices in increasing order.
	Scope []int
	// Partitions holds, in increasing order, the ids of the partitions
	// whose output is this region. It is empty for a leaf region.
	Partitions []int
}

// Partition splits its output region into two or more input regions with
// pairwise disjoint scopes whose union is the output's scope.
type Partition struct {
	// Output is the id of the region this partition splits.
	Output int
	// Inputs holds the ids of the regions the output is split into (≥ 2).
	Inputs []int
}

// GraphError reports a violated invariant of a Graph. Region or Partition
// (or both) name the offending node; a field is -1 when it does not apply.
type GraphError struct {
	Region    int
	Partition int
	Reason    string
}

func (e *GraphError) Error() string {
	switch {
	case e.Partition >= 0:
		return fmt.Sprintf("regiongraph: partition %d: %s", e.Partition, e.Reason)
	case e.Region >= 0:
		return fmt.Sprintf("regiongraph: region %d: %s", e.Region, e.Reason)
	}
	return "regiongraph: " + e.Reason
}

func regionError(r int, format string, args ...any) error {
	return &GraphError{Region: r, Partition: -1, Reason: fmt.Sprintf(format, args...)}
}

func partitionError(p int, format string, args ...any) error {
	return &GraphError{Region: -1, Partition: p, Reason: fmt.Sprintf(format, args...)}
}

func graphError(format string, args ...any) error {
	return &GraphError{Region: -1, Partition: -1, Reason: fmt.Sprintf(format, args...)}
}

// IsLeaf reports whether region has no partition.
func (g *Graph) IsLeaf(region int) bool { return len(g.Regions[region].Partitions) == 0 }

// Leaves returns the ids of the leaf regions in increasing order.
func (g *Graph) Leaves() []int {
	var out []int
	for r := range g.Regions {
		if g.IsLeaf(r) {
			out = append(out, r)
		}
	}
	return out
}

// Validate checks every invariant listed in the package documentation and
// returns a *GraphError naming the first offending region or partition, or
// nil. The checks run in this order: ids and back-references (dangling
// nodes), scopes, roots, cycles, partition scopes (arity, overlapping inputs,
// non-covering inputs) and reachability from the roots.
func (g *Graph) Validate() error {
	nr, np := len(g.Regions), len(g.Partitions)
	if nr == 0 {
		return graphError("no regions")
	}
	for r, rg := range g.Regions {
		if len(rg.Scope) == 0 {
			return regionError(r, "empty scope")
		}
	}
	if g.NumVars <= 0 {
		return graphError("NumVars %d is not positive", g.NumVars)
	}
	// Ids and back-references.
	for p, pt := range g.Partitions {
		if pt.Output < 0 || pt.Output >= nr {
			return partitionError(p, "dangling: output region %d does not exist", pt.Output)
		}
		if !contains(g.Regions[pt.Output].Partitions, p) {
			return partitionError(p, "dangling: output region %d does not list it", pt.Output)
		}
		if len(pt.Inputs) < 2 {
			return partitionError(p, "has %d input regions, want at least 2", len(pt.Inputs))
		}
		for _, in := range pt.Inputs {
			if in < 0 || in >= nr {
				return partitionError(p, "dangling: input region %d does not exist", in)
			}
		}
	}
	for r, rg := range g.Regions {
		for i, p := range rg.Partitions {
			if p < 0 || p >= np {
				return regionError(r, "dangling: partition %d does not exist", p)
			}
			if g.Partitions[p].Output != r {
				return regionError(r, "lists partition %d whose output is region %d", p, g.Partitions[p].Output)
			}
			if i > 0 && rg.Partitions[i-1] >= p {
				return regionError(r, "partition ids %v are not strictly increasing", rg.Partitions)
			}
		}
		for i, v := range rg.Scope {
			if v < 0 || v >= g.NumVars {
				return regionError(r, "variable %d outside [0, %d)", v, g.NumVars)
			}
			if i > 0 && rg.Scope[i-1] >= v {
				return regionError(r, "scope is not strictly increasing at variable %d", v)
			}
		}
	}
	// Roots.
	if len(g.Roots) == 0 {
		return graphError("no roots")
	}
	isInput := make([]bool, nr)
	for _, pt := range g.Partitions {
		for _, in := range pt.Inputs {
			isInput[in] = true
		}
	}
	isRoot := make([]bool, nr)
	for _, r := range g.Roots {
		if r < 0 || r >= nr {
			return graphError("dangling: root region %d does not exist", r)
		}
		if isRoot[r] {
			return regionError(r, "listed twice as a root")
		}
		if isInput[r] {
			return regionError(r, "is a root and the input of a partition")
		}
		isRoot[r] = true
	}
	if r, ok := g.findCycle(); ok {
		return regionError(r, "lies on a cycle")
	}
	// Partition scopes.
	var owner []int // owner[i]: the input region holding out[i], or -1
	for p, pt := range g.Partitions {
		out := g.Regions[pt.Output].Scope
		owner = owner[:0]
		for range out {
			owner = append(owner, -1)
		}
		for _, in := range pt.Inputs {
			for _, v := range g.Regions[in].Scope {
				i := sort.SearchInts(out, v)
				if i == len(out) || out[i] != v {
					return partitionError(p, "input region %d has variable %d outside output region %d", in, v, pt.Output)
				}
				if owner[i] >= 0 {
					return partitionError(p, "overlapping scopes: input regions %d and %d share variable %d", owner[i], in, v)
				}
				owner[i] = in
			}
		}
		for i, o := range owner {
			if o < 0 {
				return partitionError(p, "inputs do not cover variable %d of output region %d", out[i], pt.Output)
			}
		}
	}
	// Reachability.
	seen := make([]bool, nr)
	stack := append([]int(nil), g.Roots...)
	for _, r := range g.Roots {
		seen[r] = true
	}
	for len(stack) > 0 {
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, p := range g.Regions[r].Partitions {
			for _, in := range g.Partitions[p].Inputs {
				if !seen[in] {
					seen[in] = true
					stack = append(stack, in)
				}
			}
		}
	}
	for r, ok := range seen {
		if !ok {
			return regionError(r, "unreachable from the roots")
		}
	}
	return nil
}

// findCycle returns a region on a directed cycle, if any. It assumes ids
// are in range.
func (g *Graph) findCycle() (int, bool) { return g.dfs(nil) }

// dfs walks the regions depth first along partition inputs, from each
// unvisited region in id order, calling finish(r) (when not nil) once all of
// r's inputs are finished: a post-order. It stops at the first input found
// still on the stack and returns it (a region on a directed cycle).
func (g *Graph) dfs(finish func(r int)) (int, bool) {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(g.Regions))
	type frame struct{ r, p, i int }
	var stack []frame
	for start := range g.Regions {
		if color[start] != white {
			continue
		}
		stack = append(stack[:0], frame{start, 0, 0})
		color[start] = grey
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			parts := g.Regions[f.r].Partitions
			if f.p == len(parts) {
				color[f.r] = black
				if finish != nil {
					finish(f.r)
				}
				stack = stack[:len(stack)-1]
				continue
			}
			ins := g.Partitions[parts[f.p]].Inputs
			if f.i == len(ins) {
				f.p, f.i = f.p+1, 0
				continue
			}
			in := ins[f.i]
			f.i++
			switch color[in] {
			case grey:
				return in, true
			case white:
				color[in] = grey
				stack = append(stack, frame{in, 0, 0})
			}
		}
	}
	return 0, false
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// addRegion appends a region over scope (sorted, owned by g) and returns its id.
func (g *Graph) addRegion(scope []int) int {
	g.Regions = append(g.Regions, Region{Scope: scope})
	return len(g.Regions) - 1
}

// addPartition appends a partition of out into inputs and returns its id.
func (g *Graph) addPartition(out int, inputs ...int) int {
	p := len(g.Partitions)
	g.Partitions = append(g.Partitions, Partition{Output: out, Inputs: inputs})
	g.Regions[out].Partitions = append(g.Regions[out].Partitions, p)
	return p
}

// ArgError reports an invalid argument given to a builder.
type ArgError struct {
	Builder string // e.g. "PoonDomingos"
	Arg     string // e.g. "delta"
	Reason  string
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("regiongraph: %s: %s %s", e.Builder, e.Arg, e.Reason)
}

func argError(builder, arg, format string, args ...any) error {
	return &ArgError{Builder: builder, Arg: arg, Reason: fmt.Sprintf(format, args...)}
}
