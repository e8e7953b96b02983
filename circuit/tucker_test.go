package circuit

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// QuadTree(…, 4) has 4-input partitions, which Build refused for Tucker
// layers. It now builds them over the binarized graph, which has
// QuadTree(…, 2)'s splits: the same folded layers and parameter count.
// The other layers keep the 4-input partitions.
func TestTuckerBuildsOnQuadTree4(t *testing.T) {
	s := regiongraph.Shape{C: 1, H: 28, W: 28}
	qt4, err := regiongraph.QuadTree(s, 4)
	if err != nil {
		t.Fatal(err)
	}
	qt2, err := regiongraph.QuadTree(s, 2)
	if err != nil {
		t.Fatal(err)
	}
	if binaryOnly(qt4) {
		t.Fatal("QT-4 has only binary partitions")
	}
	opt := Options{Layer: Tucker, Units: 2, Seed: 1}
	c, err := Build(qt4, opt)
	if err != nil {
		t.Fatalf("Build(QT-4, Tucker): %v", err)
	}
	p := c.Plan()
	for i, l := range p.Layers {
		if l.Kind == SumProduct && l.Arity != 2 {
			t.Fatalf("layer %d has %d-input partitions", i+1, l.Arity)
		}
	}
	bin, err := regiongraph.Binarize(qt4)
	if err != nil {
		t.Fatal(err)
	}
	want, err := NewPlan(bin, 2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, want) {
		t.Error("the circuit's plan is not NewPlan of the binarized graph")
	}
	if pf, err := PlanFor(qt4, opt); err != nil || !reflect.DeepEqual(pf, p) {
		t.Errorf("PlanFor: err %v, or a plan other than Build's", err)
	}
	if p.Root != qt4.Roots[0] || len(p.RegionLoc) != len(bin.Regions) {
		t.Errorf("root %d over %d regions, want QT-4's root %d over the binarized graph's %d", p.Root, len(p.RegionLoc), qt4.Roots[0], len(bin.Regions))
	}

	c2, err := Build(qt2, opt)
	if err != nil {
		t.Fatal(err)
	}
	type shape struct {
		kind                         LayerKind
		height, folds, arity, kin, k int
	}
	shapes := func(p *Plan) []shape {
		var out []shape
		for _, l := range p.Layers {
			out = append(out, shape{l.Kind, l.Height, l.F(), l.Arity, l.Kin, l.Kout})
		}
		return out
	}
	if got, want := shapes(p), shapes(c2.Plan()); !slices.Equal(got, want) {
		t.Errorf("layers %v, QT-2's %v", got, want)
	}
	if got, want := nn.ParamCount(c), nn.ParamCount(c2); got != want {
		t.Errorf("%d parameters, QT-2's Tucker circuit has %d", got, want)
	}

	for _, layer := range []Layer{CP, CPR, CPS, CPXS} {
		opt.Layer = layer
		pf, err := PlanFor(qt4, opt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := NewPlan(qt4, 2, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(pf, want) || !slices.ContainsFunc(pf.Layers, func(l LayerPlan) bool { return l.Arity == 4 }) {
			t.Errorf("%v: the plan is not QT-4's own, with its 4-input layers", layer)
		}
	}
}

// A Tucker circuit on a wide graph saved and loaded into a circuit built
// again from the same graph (as a model file is) gets the same plan and
// computes the same values.
func TestTuckerSaveLoadSamePlan(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 4, W: 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Layer: Tucker, Units: 3, Values: 4, DType: nn.Float64, Seed: 1}
	c, err := Build(rg, opt)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tucker.tenpc")
	if err := nn.SaveModule(path, c, nil); err != nil {
		t.Fatal(err)
	}
	opt.Seed = 2
	d, err := Build(rg, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Plan(), d.Plan()) {
		t.Fatal("two builds of one graph have different plans")
	}
	if _, err := nn.LoadModule(path, d); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	x, miss := randomRows(rng, 32, rg.NumVars, 4, 0.3)
	want, err := c.LogProb(x, miss)
	if err != nil {
		t.Fatal(err)
	}
	got, err := d.LogProb(x, miss)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("loaded circuit: log p %v, saved circuit %v", got, want)
	}
}

// Every query of Tucker circuits on graphs with wide partitions (QT-4,
// fully factorized, Chow-Liu, custom), against enumeration.
func TestTuckerQueriesOnWidePartitions(t *testing.T) {
	small := smallGraphs(t)
	var graphs []queryGraph
	for _, g := range queryGraphs(t) {
		if !binaryOnly(g.rg) {
			graphs = append(graphs, g)
		}
	}
	graphs = append(graphs, queryGraph{"cl", small["cl"], 3}, queryGraph{"custom", small["custom"], 3})
	for _, g := range graphs {
		for _, par := range []Param{Clamp, Softmax} {
			t.Run(g.name+"/"+par.String(), func(t *testing.T) {
				c := buildQueryCircuit(t, g.rg, Tucker, par, Categorical, g.values, 11)
				checkExactQueries(t, c, 17, !testing.Short() || par == Clamp)
			})
		}
	}
}
