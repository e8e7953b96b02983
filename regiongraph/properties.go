package regiongraph

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// IsSmooth reports whether the union of the input scopes of every partition
// equals the scope of its output region. Ids out of range make it false.
func (g *Graph) IsSmooth() bool {
	for _, pt := range g.Partitions {
		out, ok := g.scope(pt.Output)
		if !ok {
			return false
		}
		var union []int
		for _, in := range pt.Inputs {
			s, ok := g.scope(in)
			if !ok {
				return false
			}
			union = append(union, s...)
		}
		slices.Sort(union)
		union = slices.Compact(union)
		if !slices.Equal(union, out) {
			return false
		}
	}
	return true
}

// IsDecomposable reports whether the input scopes of every partition are
// pairwise disjoint. Ids out of range make it false.
func (g *Graph) IsDecomposable() bool {
	for _, pt := range g.Partitions {
		var all []int
		for _, in := range pt.Inputs {
			s, ok := g.scope(in)
			if !ok {
				return false
			}
			all = append(all, s...)
		}
		slices.Sort(all)
		for i := 1; i < len(all); i++ {
			if all[i] == all[i-1] {
				return false
			}
		}
	}
	return true
}

// IsStructuredDecomposable reports whether g is decomposable and every two
// partitions of regions with the same scope split it into the same set of
// input scopes (the order of the inputs does not matter).
func (g *Graph) IsStructuredDecomposable() bool {
	if !g.IsDecomposable() {
		return false
	}
	split := make(map[string]string)
	keys := make([]string, 0, 4)
	for _, pt := range g.Partitions {
		out, ok := g.scope(pt.Output)
		if !ok {
			return false
		}
		keys = keys[:0]
		for _, in := range pt.Inputs {
			s, _ := g.scope(in)
			keys = append(keys, scopeKey(s))
		}
		sort.Strings(keys)
		d := strings.Join(keys, "|")
		k := scopeKey(out)
		if prev, ok := split[k]; !ok {
			split[k] = d
		} else if prev != d {
			return false
		}
	}
	return true
}

func (g *Graph) scope(r int) ([]int, bool) {
	if r < 0 || r >= len(g.Regions) {
		return nil, false
	}
	return g.Regions[r].Scope, true
}

// scopeKey encodes a scope as a map key.
func scopeKey(s []int) string {
	b := make([]byte, 0, 4*len(s))
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(v), 10)
	}
	return string(b)
}

// Stats summarizes a region graph.
type Stats struct {
	NumVars     int
	Regions     int
	Partitions  int
	LeafRegions int
	Roots       int
	// MaxDepth is the largest region depth (see RegionDepths): the number of
	// partitions on the longest root-to-leaf path.
	MaxDepth int
	// Arity maps a partition arity (number of inputs) to how many partitions
	// have it.
	Arity map[int]int
	// MixingRegions counts the regions with more than one partition; a
	// tensorized circuit puts a mixing (sum) layer on each.
	MixingRegions int
	// Smooth, Decomposable and StructuredDecomposable hold the three
	// structural properties.
	Smooth, Decomposable, StructuredDecomposable bool
}

// Stats computes the statistics of g, which must satisfy Validate (at
// least: ids in range and no cycle).
func (g *Graph) Stats() Stats {
	s := Stats{
		NumVars:                g.NumVars,
		Regions:                len(g.Regions),
		Partitions:             len(g.Partitions),
		Roots:                  len(g.Roots),
		Arity:                  make(map[int]int),
		Smooth:                 g.IsSmooth(),
		Decomposable:           g.IsDecomposable(),
		StructuredDecomposable: g.IsStructuredDecomposable(),
	}
	for r, rg := range g.Regions {
		if g.IsLeaf(r) {
			s.LeafRegions++
		}
		if len(rg.Partitions) > 1 {
			s.MixingRegions++
		}
	}
	for _, pt := range g.Partitions {
		s.Arity[len(pt.Inputs)]++
	}
	for _, d := range g.RegionDepths() {
		s.MaxDepth = max(s.MaxDepth, d)
	}
	return s
}

// String formats the statistics one per line, as `tenpc rg info` prints them.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "variables:                %d\n", s.NumVars)
	fmt.Fprintf(&b, "regions:                  %d\n", s.Regions)
	fmt.Fprintf(&b, "partitions:               %d\n", s.Partitions)
	fmt.Fprintf(&b, "leaf regions:             %d\n", s.LeafRegions)
	fmt.Fprintf(&b, "roots:                    %d\n", s.Roots)
	fmt.Fprintf(&b, "max depth:                %d\n", s.MaxDepth)
	arities := make([]int, 0, len(s.Arity))
	for a := range s.Arity {
		arities = append(arities, a)
	}
	sort.Ints(arities)
	parts := make([]string, len(arities))
	for i, a := range arities {
		parts[i] = fmt.Sprintf("%d:%d", a, s.Arity[a])
	}
	fmt.Fprintf(&b, "partition arity:          %s\n", strings.Join(parts, " "))
	fmt.Fprintf(&b, "mixing regions:           %d\n", s.MixingRegions)
	fmt.Fprintf(&b, "smooth:                   %t\n", s.Smooth)
	fmt.Fprintf(&b, "decomposable:             %t\n", s.Decomposable)
	fmt.Fprintf(&b, "structured-decomposable:  %t\n", s.StructuredDecomposable)
	return b.String()
}
