package experiments

import (
	"bytes"
	"fmt"

	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/regiongraph"
)

// pdDelta is the patch side of "-rg pd": 4, the Poon-Domingos split used
// for 28×28 images in the reference grid (PD with delta 4: 784 regions,
// 3,136 partitions on MNIST).
const pdDelta = 4

// chowLiuSamples caps the training samples a Chow-Liu tree is learnt from at
// MNIST's 60,000, all of its training set: the tree's time grows linearly
// in the samples, and full MNIST takes seconds (docs/PERFORMANCE.md).
const chowLiuSamples = 60000

// BuildRegionGraph builds the region graph named by spec (see
// RGVocabulary) for a dataset like ds. A bad spec or a spec that does not
// fit the data is an *InputError.
func BuildRegionGraph(spec string, ds *data.Dataset, seed uint64) (*regiongraph.Graph, error) {
	s, err := ParseRGSpec(spec)
	if err != nil {
		return nil, err
	}
	return s.Build(ds, seed)
}

// Build builds the region graph s over the variables of ds: image graphs
// use its shape (C, H, W), the others its D variables, cl learns from its
// samples (ds may hold none for the other kinds), and seed draws rbt's
// splits and linear's shuffled orders. A graph that does not fit ds is an
// *InputError.
func (s RGSpec) Build(ds *data.Dataset, seed uint64) (*regiongraph.Graph, error) {
	spec := s.String()
	var shape regiongraph.Shape
	isImage := len(ds.Shape) == 3
	if isImage {
		shape = regiongraph.Shape{C: ds.Shape[0], H: ds.Shape[1], W: ds.Shape[2]}
	}
	if s.Kind.NeedsImage() && !isImage {
		return nil, inputErrorf("region graph %s needs image data; %s has shape %v (use rbt, linear, ff, cl or a JSON file)", spec, ds.Name, ds.Shape)
	}
	depth := s.Depth // regiongraph's "no bound" is -1
	if depth <= 0 {
		depth = -1
	}
	reps := max(s.Repetitions, 1)
	var (
		g   *regiongraph.Graph
		err error
	)
	switch s.Kind {
	case RGQuadGraph:
		g, err = regiongraph.QuadGraph(shape)
	case RGQuadTree2:
		g, err = regiongraph.QuadTree(shape, 2)
	case RGQuadTree4:
		g, err = regiongraph.QuadTree(shape, 4)
	case RGPoonDomingos:
		d := s.delta()
		g, err = regiongraph.PoonDomingos(shape, d[:], depth)
	case RGRandomBinaryTree:
		g, err = regiongraph.RandomBinaryTree(ds.D, depth, reps, seed)
	case RGLinear:
		g, err = regiongraph.LinearTree(ds.D, reps, s.Shuffle, seed)
	case RGFullyFactorized:
		g, err = regiongraph.FullyFactorized(ds.D, reps)
	case RGChowLiu:
		if ds.N == 0 {
			return nil, inputErrorf("region graph cl is learnt from samples; %s has none (give a dataset)", ds.Name)
		}
		n := min(ds.N, chowLiuSamples)
		rows := make([][]int, n)
		for i := range rows {
			rows[i] = make([]int, ds.D)
			for j, v := range ds.Row(i) {
				rows[i][j] = int(v)
			}
		}
		g, err = regiongraph.ChowLiuTree(rows, -1, ds.Values)
	case RGFile:
		g, err = regiongraph.Load(s.Path)
		if err != nil {
			return nil, &InputError{fmt.Errorf("region graph: %w", err)}
		}
		if n := g.NumVars; n != ds.D {
			return nil, inputErrorf("region graph %s covers %d variables; dataset %s has %d", spec, n, ds.Name, ds.D)
		}
	default:
		return nil, inputErrorf("unknown region graph kind %v (want %s)", s.Kind, RGNames)
	}
	if err != nil {
		return nil, &InputError{fmt.Errorf("region graph %s: %w", spec, err)}
	}
	return g, nil
}

// rgJSON is g in the region-graph JSON schema.
func rgJSON(g *regiongraph.Graph) ([]byte, error) {
	var b bytes.Buffer
	if err := g.WriteJSON(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
