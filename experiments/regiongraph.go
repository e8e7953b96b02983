package experiments

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/regiongraph"
)

// pdDelta is the patch side of "-rg pd": 4, the Poon-Domingos split used
// for 28×28 images in the reference grid (PD with delta 4: 784 regions,
// 3,136 partitions on MNIST).
const pdDelta = 4

// chowLiuSamples caps the training samples a Chow-Liu tree is learnt from:
// the pairwise mutual information costs O(N·D²).
const chowLiuSamples = 5000

// BuildRegionGraph builds the region graph named by spec for a dataset like
// ds (its shape, and its samples for cl). Image region graphs need image
// data. A bad spec or a spec that does not fit the data is an *InputError.
func BuildRegionGraph(spec string, ds *data.Dataset, seed uint64) (*regiongraph.Graph, error) {
	var shape regiongraph.Shape
	isImage := len(ds.Shape) == 3
	if isImage {
		shape = regiongraph.Shape{C: ds.Shape[0], H: ds.Shape[1], W: ds.Shape[2]}
	}
	needImage := func() error {
		if !isImage {
			return inputErrorf("region graph %s needs image data; %s has shape %v (use rbt, linear, cl or a JSON file)", spec, ds.Name, ds.Shape)
		}
		return nil
	}
	var (
		g   *regiongraph.Graph
		err error
	)
	switch {
	case spec == "qg" || spec == "qt2" || spec == "qt4":
		if err := needImage(); err != nil {
			return nil, err
		}
		switch spec {
		case "qg":
			g, err = regiongraph.QuadGraph(shape)
		case "qt2":
			g, err = regiongraph.QuadTree(shape, 2)
		default:
			g, err = regiongraph.QuadTree(shape, 4)
		}
	case spec == "pd" || strings.HasPrefix(spec, "pd:"):
		if err := needImage(); err != nil {
			return nil, err
		}
		delta := float64(pdDelta)
		if s, ok := strings.CutPrefix(spec, "pd:"); ok {
			if delta, err = strconv.ParseFloat(s, 64); err != nil || !(delta >= 1) {
				return nil, inputErrorf("region graph %q: want pd:D with a patch side D ≥ 1", spec)
			}
		}
		g, err = regiongraph.PoonDomingos(shape, []float64{delta}, -1)
	case spec == "rbt":
		g, err = regiongraph.RandomBinaryTree(ds.D, -1, 1, seed)
	case spec == "linear":
		g, err = regiongraph.LinearTree(ds.D, 1, false, seed)
	case spec == "cl":
		n := min(ds.N, chowLiuSamples)
		rows := make([][]int, n)
		for i := range rows {
			rows[i] = make([]int, ds.D)
			for j, v := range ds.Row(i) {
				rows[i][j] = int(v)
			}
		}
		g, err = regiongraph.ChowLiuTree(rows, -1, ds.Values)
	case strings.HasSuffix(strings.ToLower(spec), ".json"):
		g, err = regiongraph.Load(spec)
		if err != nil {
			return nil, &InputError{fmt.Errorf("region graph: %w", err)}
		}
		if n := g.NumVars; n != ds.D {
			return nil, inputErrorf("region graph %s covers %d variables; dataset %s has %d", spec, n, ds.Name, ds.D)
		}
	default:
		return nil, inputErrorf("unknown region graph %q (want qg, qt2, qt4, pd, pd:D, rbt, linear, cl or FILE.json)", spec)
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
