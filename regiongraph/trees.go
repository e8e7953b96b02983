package regiongraph

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// RandomBinaryTree returns the RAT-SPN region graph of cirkit's
// RandomBinaryTree(num_variables, depth, num_repetitions, seed): a root
// over all variables with repetitions random binary trees below it.
//
// Each tree is grown breadth first for depth levels. A region of n ≥ 2
// variables is split by shuffling its (sorted) scope and cutting it after
// the first round(n/2) variables, rounding halves to even as NumPy does; a
// region of one variable stays a leaf. The root is shared; every other
// region belongs to one tree, so equal scopes in different trees are
// different regions. A negative depth means the largest allowed one,
// ⌈log2 numVars⌉.
//
// The shuffles draw from a PCG generator seeded with seed, so the graph is
// a deterministic function of the arguments; it has the same shape (region,
// partition and leaf counts) as cirkit's for the same arguments but not the
// same random scopes, since cirkit draws from NumPy's Mersenne Twister.
func RandomBinaryTree(numVars, depth, repetitions int, seed uint64) (*Graph, error) {
	const name = "RandomBinaryTree"
	if numVars <= 0 {
		return nil, argError(name, "numVars", "%d is not positive", numVars)
	}
	if repetitions <= 0 {
		return nil, argError(name, "repetitions", "%d is not positive", repetitions)
	}
	maxDepth := bits.Len(uint(numVars - 1)) // ⌈log2 numVars⌉
	if depth < 0 {
		depth = maxDepth
	}
	if depth > maxDepth {
		return nil, argError(name, "depth", "%d is larger than ⌈log2 %d⌉ = %d", depth, numVars, maxDepth)
	}
	rng := newRand(seed)
	g := &Graph{NumVars: numVars, Roots: []int{0}}
	g.addRegion(iota0(numVars))
	for range repetitions {
		frontier := []int{0}
		for range depth {
			var next []int
			for _, r := range frontier {
				scope := append([]int(nil), g.Regions[r].Scope...)
				shuffle(rng, scope)
				cut := int(math.RoundToEven(float64(len(scope)) / 2))
				if cut == 0 || cut == len(scope) {
					continue // one variable: a leaf
				}
				left := sorted(scope[:cut])
				right := sorted(scope[cut:])
				l, rr := g.addRegion(left), g.addRegion(right)
				g.addPartition(r, l, rr)
				next = append(next, l, rr)
			}
			frontier = next
		}
	}
	return g, nil
}

// LinearTree returns the linear-tree region graph of cirkit's
// LinearTree(num_variables, num_repetitions, randomize, seed): under the
// root, each repetition peels off one variable at a time. With the order
// v_1..v_n the region over {v_i..v_n} is split into the leaf {v_i} and the
// region {v_{i+1}..v_n}, for i = 1..n-1. The order is 0..n-1; with
// randomize, it is shuffled again (cumulatively) before every repetition,
// drawing from a PCG generator seeded with seed. The root is shared; the
// other regions belong to one repetition each. It is an HMM / MPS-shaped
// circuit and structured-decomposable when repetitions = 1.
func LinearTree(numVars, repetitions int, randomize bool, seed uint64) (*Graph, error) {
	g, err := rootOverAll("LinearTree", numVars, repetitions)
	if err != nil || numVars == 1 {
		return g, err
	}
	order := iota0(numVars)
	rng := newRand(seed)
	for range repetitions {
		if randomize {
			shuffle(rng, order)
		}
		r := 0
		rest := append([]int(nil), g.Regions[0].Scope...)
		for _, v := range order[:numVars-1] {
			rest = removeSorted(rest, v)
			leaf := g.addRegion([]int{v})
			next := g.addRegion(append([]int(nil), rest...))
			g.addPartition(r, leaf, next)
			r = next
		}
	}
	return g, nil
}

// FullyFactorized returns the region graph of cirkit's
// FullyFactorized(num_variables, num_repetitions): a root over all
// variables with repetitions partitions, each into numVars fresh leaf
// regions of one variable. With one variable the root is the only region.
func FullyFactorized(numVars, repetitions int) (*Graph, error) {
	g, err := rootOverAll("FullyFactorized", numVars, repetitions)
	if err != nil || numVars == 1 {
		return g, err
	}
	for range repetitions {
		leaves := make([]int, numVars)
		for v := range numVars {
			leaves[v] = g.addRegion([]int{v})
		}
		g.addPartition(0, leaves...)
	}
	return g, nil
}

func iota0(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func sorted(s []int) []int {
	out := append([]int(nil), s...)
	slices.Sort(out)
	return out
}

func removeSorted(s []int, v int) []int {
	for i, x := range s {
		if x == v {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

// newRand returns the generator of the randomized builders. Its output is
// fixed by the PCG algorithm, so graphs do not change across Go releases.
func newRand(seed uint64) *rand.PCG { return rand.NewPCG(seed, 0x9e3779b97f4a7c15) }

// shuffle permutes x with the Fisher-Yates algorithm, drawing unbiased
// bounded integers by rejection, so that it depends only on rng's stream.
func shuffle(rng *rand.PCG, x []int) {
	for i := len(x) - 1; i > 0; i-- {
		j := boundedRand(rng, uint64(i)+1)
		x[i], x[j] = x[j], x[i]
	}
}

// boundedRand returns a uniform integer in [0, n).
func boundedRand(rng *rand.PCG, n uint64) uint64 {
	limit := math.MaxUint64 - math.MaxUint64%n // multiples of n below 2^64
	for {
		if v := rng.Uint64(); v < limit {
			return v % n
		}
	}
}

// rootOverAll checks the arguments shared by LinearTree and FullyFactorized
// and returns a graph holding only the root region over every variable.
func rootOverAll(builder string, numVars, repetitions int) (*Graph, error) {
	if numVars <= 0 {
		return nil, argError(builder, "numVars", "%d is not positive", numVars)
	}
	if repetitions <= 0 {
		return nil, argError(builder, "repetitions", "%d is not positive", repetitions)
	}
	g := &Graph{NumVars: numVars, Roots: []int{0}}
	g.addRegion(iota0(numVars))
	return g, nil
}
