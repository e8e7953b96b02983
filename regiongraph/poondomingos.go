package regiongraph

import (
	"math"
	"strconv"
)

// PoonDomingos returns the Poon-Domingos region graph of an image, as
// cirkit's PoonDomingos(shape, delta=[[dh, dw]], max_depth) builds it.
//
// delta holds one value (used for both axes) or two (rows, columns), each
// at least 1 and at most the length of its axis. On an axis of length n the
// cut points are ⌊k·d⌋ for k = 1..⌊(n-1)/d⌋; for an integer d they are the
// multiples of d, so the image is tiled by d x d patches (smaller ones at
// the borders). Channels are never cut.
//
// Starting from the whole image, every rectangle is split in two at every
// cut point strictly inside it, along both axes: one binary partition per
// cut point. Rectangles with the same extent are one region, so the graph is
// a DAG whose regions are all the rectangles aligned to the cut grid and
// whose leaves are the patches. Rectangles are visited breadth first; a
// rectangle first reached at depth d (the root has depth 0) is split only if
// d ≤ maxDepth. A negative maxDepth means no limit.
func PoonDomingos(shape Shape, delta []float64, maxDepth int) (*Graph, error) {
	var d [2]float64
	switch len(delta) {
	case 1:
		d = [2]float64{delta[0], delta[0]}
	case 2:
		d = [2]float64{delta[0], delta[1]}
	default:
		return nil, argError("PoonDomingos", "delta", "has %d values, want 1 or 2", len(delta))
	}
	return PoonDomingosDeltas(shape, [][2]float64{d}, maxDepth)
}

// PoonDomingosDeltas is PoonDomingos with several (rows, columns) deltas,
// as cirkit's delta=[[dh1, dw1], [dh2, dw2], ...]: a rectangle is split at
// the cut points of the first delta that has a cut point inside it.
func PoonDomingosDeltas(shape Shape, deltas [][2]float64, maxDepth int) (*Graph, error) {
	const name = "PoonDomingos"
	if err := shape.check(name); err != nil {
		return nil, err
	}
	if len(deltas) == 0 {
		return nil, argError(name, "delta", "is empty")
	}
	axisLen := [2]int{shape.H, shape.W}
	cuts := make([][2][]int, len(deltas)) // cuts[i][axis]: cut points of delta i
	for i, dd := range deltas {
		for ax, d := range dd {
			if !(d >= 1) || math.IsInf(d, 0) {
				return nil, argError(name, "delta", "%s must be at least 1", fmtFloat(d))
			}
			n := axisLen[ax]
			if d > float64(n) {
				return nil, argError(name, "delta", "%s is larger than the image (%v)", fmtFloat(d), shape)
			}
			num := int(math.Floor(float64(n-1) / d))
			for k := 1; k <= num; k++ {
				cuts[i][ax] = append(cuts[i][ax], int(float64(k)*d))
			}
		}
	}
	if maxDepth < 0 {
		maxDepth = math.MaxInt
	}

	g := &Graph{NumVars: shape.NumVars()}
	ids := make(map[box]int)   // rectangle -> region id
	depth := make(map[box]int) // rectangle -> depth when first queued
	region := func(b box) int {
		if r, ok := ids[b]; ok {
			return r
		}
		r := g.addRegion(shape.scope(b))
		ids[b] = r
		return r
	}
	root := box{0, shape.H, 0, shape.W}
	g.Roots = []int{region(root)}
	queue := []box{root}
	depth[root] = 0
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		if depth[b] > maxDepth {
			continue
		}
		for _, c := range cuts {
			found := false
			for ax := range 2 {
				for _, pt := range c[ax] {
					var lo, hi box
					if ax == 0 {
						if !(b.h0 < pt && pt < b.h1) {
							continue
						}
						lo, hi = box{b.h0, pt, b.w0, b.w1}, box{pt, b.h1, b.w0, b.w1}
					} else {
						if !(b.w0 < pt && pt < b.w1) {
							continue
						}
						lo, hi = box{b.h0, b.h1, b.w0, pt}, box{b.h0, b.h1, pt, b.w1}
					}
					found = true
					out := region(b)
					g.addPartition(out, region(lo), region(hi))
					for _, sub := range [2]box{lo, hi} {
						if _, seen := depth[sub]; !seen {
							depth[sub] = depth[b] + 1
							queue = append(queue, sub)
						}
					}
				}
			}
			if found {
				break
			}
		}
	}
	return g, nil
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
