package regiongraph_test

import (
	"fmt"
	"log"
	"os"

	"github.com/tenpc/tenpc/regiongraph"
)

func ExampleQuadGraph() {
	// A 2x2 gray-scale image: 4 pixel leaves, merged top|bottom and
	// left|right into one mixing root.
	g, err := regiongraph.QuadGraph(regiongraph.Shape{C: 1, H: 2, W: 2})
	if err != nil {
		log.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		log.Fatal(err)
	}
	for _, r := range g.TopoOrder() {
		fmt.Println("region", r, g.Regions[r].Scope, "partitions", g.Regions[r].Partitions)
	}
	fmt.Print(g.Stats())
	// Output:
	// region 0 [0] partitions []
	// region 1 [1] partitions []
	// region 2 [2] partitions []
	// region 3 [3] partitions []
	// region 4 [0 1] partitions [0]
	// region 5 [2 3] partitions [1]
	// region 7 [0 2] partitions [3]
	// region 8 [1 3] partitions [4]
	// region 6 [0 1 2 3] partitions [2 5]
	// variables:                4
	// regions:                  9
	// partitions:               6
	// leaf regions:             4
	// roots:                    1
	// max depth:                2
	// partition arity:          2:6
	// mixing regions:           1
	// smooth:                   true
	// decomposable:             true
	// structured-decomposable:  false
}

func ExampleGraph_WriteJSON() {
	g, err := regiongraph.FullyFactorized(3, 1)
	if err != nil {
		log.Fatal(err)
	}
	if err := g.WriteJSON(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// {
	//   "regions": {
	//     "0": {"scope": [0, 1, 2]},
	//     "1": {"scope": [0]},
	//     "2": {"scope": [1]},
	//     "3": {"scope": [2]}
	//   },
	//   "roots": ["0"],
	//   "graph": [
	//     {"output": 0, "inputs": [1, 2, 3]}
	//   ]
	// }
}
