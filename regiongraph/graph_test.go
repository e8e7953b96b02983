package regiongraph

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallGraph returns a valid graph over 4 variables with a mixing root:
//
//	region 0 {0,1,2,3}: partition 0 -> 1 {0,1}, 2 {2,3}
//	                    partition 1 -> 3 {0}, 4 {1,2,3}
//	region 1 {0,1}:     partition 2 -> 3 {0}, 5 {1}
//	region 2 {2,3}:     partition 3 -> 6 {2}, 7 {3}
//	region 4 {1,2,3}:   partition 4 -> 5 {1}, 2 {2,3}
func smallGraph() *Graph {
	return &Graph{
		NumVars: 4,
		Regions: []Region{
			{Scope: []int{0, 1, 2, 3}, Partitions: []int{0, 1}},
			{Scope: []int{0, 1}, Partitions: []int{2}},
			{Scope: []int{2, 3}, Partitions: []int{3}},
			{Scope: []int{0}},
			{Scope: []int{1, 2, 3}, Partitions: []int{4}},
			{Scope: []int{1}},
			{Scope: []int{2}},
			{Scope: []int{3}},
		},
		Partitions: []Partition{
			{Output: 0, Inputs: []int{1, 2}},
			{Output: 0, Inputs: []int{3, 4}},
			{Output: 1, Inputs: []int{3, 5}},
			{Output: 2, Inputs: []int{6, 7}},
			{Output: 4, Inputs: []int{5, 2}},
		},
		Roots: []int{0},
	}
}

func TestSmallGraph(t *testing.T) {
	g := smallGraph()
	checkGraph(t, g)
	assert.False(t, g.IsStructuredDecomposable(), "structured-decomposable, but the root is split two ways")
	assert.Equal(t, []int{3, 1, 1, 0, 2, 0, 0, 0}, g.RegionHeights(), "RegionHeights")
	assert.Equal(t, []int{2, 3, 1, 1, 2}, g.PartitionHeights(), "PartitionHeights")
	// Region 2 is reached at depth 1 (via partition 0) and 2 (via region
	// 4), region 3 at depth 1 (partition 1) and 2 (region 1): the longest
	// path counts.
	assert.Equal(t, []int{0, 1, 2, 2, 1, 2, 3, 3}, g.RegionDepths(), "RegionDepths")
	assert.Equal(t, []int{3, 5, 6, 7}, g.Leaves(), "Leaves")
	s := g.Stats()
	want := Stats{NumVars: 4, Regions: 8, Partitions: 5, LeafRegions: 4, Roots: 1, MaxDepth: 3,
		Arity: map[int]int{2: 5}, MixingRegions: 1, Smooth: true, Decomposable: true}
	assert.Equal(t, want.String(), s.String(), "Stats")
	for _, line := range []string{"regions:                  8", "partition arity:          2:5", "structured-decomposable:  false"} {
		assert.Contains(t, s.String(), line, "Stats.String()")
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(g *Graph)
		want   string
	}{
		{"overlapping", func(g *Graph) { g.Partitions[1].Inputs = []int{1, 4} }, "partition 1: overlapping scopes: input regions 1 and 4 share variable 1"},
		{"non-covering", func(g *Graph) { g.Regions[2].Scope = []int{2} }, "partition 0: inputs do not cover variable 3 of output region 0"},
		{"outside output", func(g *Graph) { g.Regions[5].Scope = []int{2} }, "partition 2: input region 5 has variable 2 outside output region 1"},
		{"cycle", func(g *Graph) {
			g.Partitions = append(g.Partitions, Partition{Output: 5, Inputs: []int{1, 6}})
			g.Regions[5].Partitions = []int{5}
		}, "region 1: lies on a cycle"},
		{"dangling output", func(g *Graph) { g.Partitions[4].Output = 9 }, "partition 4: dangling: output region 9 does not exist"},
		{"dangling input", func(g *Graph) { g.Partitions[3].Inputs[1] = -1 }, "partition 3: dangling: input region -1 does not exist"},
		{"unlisted partition", func(g *Graph) { g.Regions[4].Partitions = nil }, "partition 4: dangling: output region 4 does not list it"},
		{"dangling partition id", func(g *Graph) { g.Regions[3].Partitions = []int{7} }, "region 3: dangling: partition 7 does not exist"},
		{"wrong back-reference", func(g *Graph) { g.Regions[3].Partitions = []int{2} }, "region 3: lists partition 2 whose output is region 1"},
		{"unreachable", func(g *Graph) {
			g.Regions = append(g.Regions, Region{Scope: []int{2, 3}, Partitions: []int{5}})
			g.Partitions = append(g.Partitions, Partition{Output: 8, Inputs: []int{6, 7}})
		}, "region 8: unreachable from the roots"},
		{"unary partition", func(g *Graph) { g.Partitions[3].Inputs = []int{6} }, "partition 3: has 1 input regions, want at least 2"},
		{"unsorted scope", func(g *Graph) { g.Regions[2].Scope = []int{3, 2} }, "region 2: scope is not strictly increasing at variable 2"},
		{"variable out of range", func(g *Graph) { g.Regions[7].Scope = []int{4} }, "region 7: variable 4 outside [0, 4)"},
		{"empty scope", func(g *Graph) { g.Regions[7].Scope = nil }, "region 7: empty scope"},
		{"root is an input", func(g *Graph) { g.Roots = []int{0, 2} }, "region 2: is a root and the input of a partition"},
		{"no roots", func(g *Graph) { g.Roots = nil }, "no roots"},
		{"root twice", func(g *Graph) { g.Roots = []int{0, 0} }, "region 0: listed twice as a root"},
		{"no regions", func(g *Graph) { *g = Graph{NumVars: 1} }, "no regions"},
		{"no variables", func(g *Graph) { g.NumVars = 0 }, "NumVars 0 is not positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := smallGraph()
			tc.mutate(g)
			err := g.Validate()
			require.Error(t, err, "Validate accepted an invalid graph")
			var ge *GraphError
			assert.ErrorAs(t, err, &ge, "error %T is not a *GraphError", err)
			assert.True(t, strings.HasSuffix(err.Error(), tc.want), "error %q, want it to end with %q", err, tc.want)
		})
	}
}

func TestPropertiesOnInvalidGraphs(t *testing.T) {
	g := smallGraph()
	g.Regions[2].Scope = []int{2} // partition 0 no longer covers variable 3
	assert.False(t, g.IsSmooth(), "IsSmooth with a non-covering partition")
	assert.True(t, g.IsDecomposable(), "IsDecomposable false, but inputs are still disjoint")
	g = smallGraph()
	g.Regions[5].Scope = []int{1, 2} // partition 4's inputs overlap on 2
	assert.False(t, g.IsDecomposable(), "IsDecomposable with overlapping inputs")
	assert.False(t, g.IsStructuredDecomposable(), "IsStructuredDecomposable with overlapping inputs")
	g = smallGraph()
	g.Partitions[0].Inputs[0] = 42
	assert.False(t, g.IsSmooth(), "IsSmooth with a dangling input")
	assert.False(t, g.IsDecomposable(), "IsDecomposable with a dangling input")
	assert.False(t, g.IsStructuredDecomposable(), "IsStructuredDecomposable with a dangling input")
	// Same split, inputs listed in a different order: still structured.
	g, err := LinearTree(3, 2, false, 0)
	require.NoError(t, err)
	p := g.Partitions[2].Inputs
	p[0], p[1] = p[1], p[0]
	assert.True(t, g.IsStructuredDecomposable(), "input order should not matter for structured decomposability")
}
