package circuit

import (
	"testing"

	"github.com/tenpc/tenpc/regiongraph"
)

// BenchmarkBuildQG28 times what a user waits for before the first step of
// QG(1×28×28) CP K=32: the region graph, the plan, the parameters and the
// compiled training program.
func BenchmarkBuildQG28(b *testing.B) {
	for range b.N {
		rg, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 28, W: 28})
		if err != nil {
			b.Fatal(err)
		}
		c, err := Build(rg, Options{Units: 32, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Compile(256, true); err != nil {
			b.Fatal(err)
		}
	}
}
