package experiments

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/data"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// RGBuildConfig is what `tenpc rg build` builds: the region graph RG over
// the variables that exactly one of Shape, Vars and Dataset gives.
type RGBuildConfig struct {
	RG RGSpec
	// Shape is an image's (C, H, W).
	Shape []int
	// Vars is a number of variables without an image layout.
	Vars int
	// Dataset names a dataset as TrainConfig.Dataset does; the graph is
	// built over its training split as Train draws it with the default
	// protocol and Limit, so cl learns the tree Train would learn.
	Dataset, DataDir string
	Limit            int
	// Seed draws rbt's splits and linear's shuffled orders (Train uses its
	// TrainConfig.Seed; the default is 42 in both).
	Seed uint64
}

// BuildRG builds the region graph cfg describes. Every failure caused by
// cfg (a layout that is missing or bad, a graph that does not fit it) is an
// *InputError.
func BuildRG(cfg RGBuildConfig) (*regiongraph.Graph, error) {
	given := 0
	for _, set := range []bool{cfg.Shape != nil, cfg.Vars != 0, cfg.Dataset != ""} {
		if set {
			given++
		}
	}
	if given > 1 {
		return nil, inputErrorf("give one of -shape, -vars and -dataset, not %d", given)
	}
	var ds *data.Dataset
	switch {
	case cfg.Dataset != "":
		tc := DefaultTrainConfig()
		tc.Dataset, tc.DataDir, tc.Limit = cfg.Dataset, cfg.DataDir, cfg.Limit
		if spec, _ := ParseDatasetSpec(cfg.Dataset); spec.Kind == CSV {
			// A table: its columns coded into categories, as train does.
			sp, _, err := LoadTable(&tc)
			if err != nil {
				return nil, err
			}
			ds = discretizeTable(sp.Train, chowLiuTableBins)
			break
		}
		sp, err := LoadData(&tc)
		if err != nil {
			return nil, err
		}
		ds = sp.Train
	case cfg.Shape != nil:
		s := cfg.Shape
		if len(s) != 3 {
			return nil, inputErrorf("shape %v: want C,H,W (3 values), got %d", s, len(s))
		}
		if s[0] <= 0 || s[1] <= 0 || s[2] <= 0 {
			return nil, inputErrorf("shape %dx%dx%d has a dimension that is not positive", s[0], s[1], s[2])
		}
		if s[0] > 1<<30/s[1]/s[2] {
			return nil, inputErrorf("shape %dx%dx%d has more than 2^30 variables", s[0], s[1], s[2])
		}
		ds = &data.Dataset{Name: fmt.Sprintf("shape %dx%dx%d", s[0], s[1], s[2]), Shape: s, D: s[0] * s[1] * s[2]}
	case cfg.Vars < 0:
		return nil, inputErrorf("-vars %d is negative", cfg.Vars)
	case cfg.Vars > 0:
		if cfg.RG.Kind.NeedsImage() {
			return nil, inputErrorf("region graph %s needs -shape C,H,W, not -vars", cfg.RG)
		}
		ds = &data.Dataset{Name: fmt.Sprintf("%d variables", cfg.Vars), Shape: []int{cfg.Vars}, D: cfg.Vars}
	case cfg.RG.Kind.NeedsImage():
		return nil, inputErrorf("region graph %s needs -shape C,H,W (or an image -dataset)", cfg.RG)
	case cfg.RG.Kind == RGChowLiu:
		return nil, inputErrorf("region graph cl is learnt from data: give -dataset")
	default:
		return nil, inputErrorf("region graph %s needs -vars N, -shape C,H,W or -dataset", cfg.RG)
	}
	return cfg.RG.Build(ds, cfg.Seed)
}

// LoadRG loads a region-graph file. A missing or malformed file is an
// *InputError; other I/O failures are not.
func LoadRG(path string) (*regiongraph.Graph, error) {
	g, err := regiongraph.Load(path)
	if err == nil {
		return g, nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return nil, &InputError{err}
}

// PlanOptions selects the circuit whose folded plan WriteRGInfo prints.
type PlanOptions struct {
	Layer circuit.Layer
	// Units is K of the inner regions (≥ 1).
	Units int
	// InputUnits is K of the input regions (0: Units).
	InputUnits int
	// Rank is the rank of cp-r layers (0: Units).
	Rank int
	// Values is the number of values of each categorical input (2..256).
	Values int
}

// WriteRGInfo writes the statistics of the region graph in path and, with
// plan set, the folded circuit plan with each layer's parameter count.
func WriteRGInfo(w io.Writer, path string, plan *PlanOptions) error {
	if plan != nil && (plan.Units < 1 || plan.InputUnits < 0 || plan.Rank < 0 || plan.Values < 2 || plan.Values > 256) {
		return inputErrorf("-k must be ≥ 1, -input-k and -rank ≥ 0, -values in 2..256")
	}
	g, err := LoadRG(path)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprint(w, g.Stats()); err != nil {
		return err
	}
	if plan == nil {
		return nil
	}
	inK := plan.InputUnits
	if inK == 0 {
		inK = plan.Units
	}
	opts := circuit.Options{Layer: plan.Layer, Units: plan.Units, InputUnits: inK, Rank: plan.Rank, Values: plan.Values}
	// PlanFor folds what Build would: Tucker layers over the binarized graph.
	p, err := circuit.PlanFor(g, opts)
	if err != nil {
		return inputErrorf("%s: %v", path, err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	if err := p.Write(w, &opts); err != nil {
		return err
	}
	// The module tree Build makes of it, with each module's parameters.
	c, err := circuit.Build(g, opts)
	if err != nil {
		return inputErrorf("%s: %v", path, err)
	}
	_, err = io.WriteString(w, "\n"+nn.Summary(c))
	return err
}
