// Package regiongraph builds, checks and serializes region graphs, the
// structures tensorized probabilistic circuits are compiled from.
//
// # Model
//
// A region graph over the variables X_0..X_{D-1} is a bipartite directed
// acyclic graph of regions and partitions. A region is a non-empty set of
// variables (its scope); a partition splits one region, its output, into two
// or more input regions. A region with no partition is a leaf; the regions
// that are no partition's input are the roots. A region may have several
// partitions (a "mixing" region: the circuit puts a sum layer over the
// alternatives), and a region may be the input of several partitions (the
// graph is then a DAG, not a tree).
//
// A Graph is plain data: Regions and Partitions are slices indexed by id,
// and each side refers to the other by id, so that other packages (the
// circuit compiler folds partitions by height) can read it directly.
//
// # Invariants
//
// Validate checks that a Graph satisfies all of the following, and names the
// offending region or partition when it does not:
//
//   - there is at least one region and one root, and NumVars > 0;
//   - every scope is non-empty, strictly increasing and inside [0, NumVars);
//   - every id is in range, Region.Partitions lists (in increasing order)
//     exactly the partitions whose Output is that region (no dangling node);
//   - every partition has at least two inputs whose scopes are pairwise
//     disjoint (decomposable) and whose union is its output's scope (smooth);
//   - the graph is acyclic, no root is a partition's input, and every region
//     is reachable from a root.
//
// Builders and ReadJSON only return graphs that satisfy them. The weaker
// checks IsSmooth and IsDecomposable, and IsStructuredDecomposable (every
// two partitions of regions with the same scope split it the same way),
// work on any Graph.
//
// # Binary partitions
//
// Binarize rewrites every partition of more than two inputs as a balanced
// tree of binary partitions over new regions, for layers that only take two
// inputs (circuit's Tucker layers). It keeps the ids and scopes of the
// graph's regions, and structured decomposability for one-root graphs.
//
// # Orders, depths and heights
//
// TopoOrder lists regions inputs first. RegionHeights gives 0 for leaves and
// 1 + the largest input height otherwise; PartitionHeights gives a
// partition's height, so partitions of equal height can be folded into one
// layer. RegionDepths gives the longest distance, in partitions, from a
// root; PartitionDepths gives each partition its output's depth. Stats summarizes a graph (counts, arity histogram, mixing regions,
// maximum depth and the three properties).
//
// # Builders
//
// The builders follow the algorithms of cirkit's region graph templates
// (cirkit/templates/region_graph, commit 74e4e02), so that the same
// arguments give the same graph (with the same region and partition ids)
// as in the PyTorch tools; the randomized ones draw from a different
// generator (see RandomBinaryTree).
//
// Image builders take a Shape (C, H, W). Variable c*H*W + h*W + w is channel
// c of pixel (h, w); the C channels of a pixel (or of a patch) always stay
// together in one leaf region.
//
//   - QuadTree(shape, 2 or 4): merge 2x2 blocks of regions level by level,
//     with binary partitions (row pairs, then the two halves) or one
//     partition of arity 4. A tree; structured-decomposable.
//   - QuadGraph(shape): as QuadTree(shape, 2), but each 2x2 block's region
//     is also split left|right: a DAG with mixing regions.
//   - PoonDomingos(shape, delta, maxDepth): every rectangle aligned to a grid
//     of delta-sized patches, split at every interior grid line.
//   - RandomBinaryTree(numVars, depth, repetitions, seed): RAT-SPN random
//     balanced binary trees under one root.
//   - LinearTree(numVars, repetitions, randomize, seed): peel off one
//     variable at a time (HMM / MPS shape).
//   - FullyFactorized(numVars, repetitions): root split into singletons.
//   - ChowLiuTree(data, root, numCategories) and FromTree(parents): the
//     hidden Chow-Liu tree of HCLT circuits.
//
// Builders return an *ArgError for invalid arguments (a non-positive
// dimension, delta < 1 or larger than the image, a depth above
// ⌈log2 numVars⌉, ...).
//
// # JSON
//
// ReadJSON and WriteJSON (Load and Save for files) use cirkit's schema, so
// files move both ways between tenpc and cirkit's RegionGraph.dump / load:
//
//	{
//	  "regions": {"0": {"scope": [0, 1, 2]}, "1": {"scope": [0]}, ...},
//	  "roots": ["0"],
//	  "graph": [{"output": 0, "inputs": [1, 2]}, ...]
//	}
//
// Region ids are decimal strings as keys of "regions" and in "roots", and
// integers in "graph" (ReadJSON accepts either form in "roots", "output"
// and "inputs"). Partition ids are positions in "graph". ReadJSON sorts
// scopes (cirkit writes them in set order), renumbers region ids 0..n-1 in
// increasing order, sets NumVars to one more than the largest variable and
// validates the result. WriteJSON followed by ReadJSON gives back an equal
// Graph.
//
// WriteDOT writes Graphviz DOT for drawing.
package regiongraph
