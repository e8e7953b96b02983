package regiongraph_test

import (
	"fmt"
	"log"

	"github.com/tenpc/tenpc/regiongraph"
)

func ExampleBinarize() {
	// One partition of {0..4} into its 5 variables becomes a balanced tree
	// of 4 binary partitions: {0,1} | {2,3,4}, then {2} | {3,4}.
	g, err := regiongraph.FullyFactorized(5, 1)
	if err != nil {
		log.Fatal(err)
	}
	b, err := regiongraph.Binarize(g)
	if err != nil {
		log.Fatal(err)
	}
	for p, pt := range b.Partitions {
		fmt.Print("partition ", p, ": ", b.Regions[pt.Output].Scope, " ->")
		for _, in := range pt.Inputs {
			fmt.Print(" ", b.Regions[in].Scope)
		}
		fmt.Println()
	}
	s := b.Stats()
	fmt.Println("arity:", s.Arity, "depth:", g.Stats().MaxDepth, "->", s.MaxDepth, "structured:", s.StructuredDecomposable)
	// Output:
	// partition 0: [0 1 2 3 4] -> [0 1] [2 3 4]
	// partition 1: [0 1] -> [0] [1]
	// partition 2: [3 4] -> [3] [4]
	// partition 3: [2 3 4] -> [2] [3 4]
	// arity: map[2:4] depth: 1 -> 3 structured: true
}
