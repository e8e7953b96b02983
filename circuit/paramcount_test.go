package circuit

import (
	"testing"

	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// The parameter count of every layer type equals its closed form (doc.go),
// computed here independently from the plan's shape.
func TestParamCountClosedForm(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 4, W: 4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	const v, kin, k, c, r = 16, 3, 5, 4, 2
	for _, layer := range []Layer{CP, CPXS, CPS, CPR, Tucker} {
		circ, err := Build(rg, Options{Layer: layer, Units: k, InputUnits: kin, Values: c, Rank: r, DType: nn.Float64})
		if err != nil {
			t.Fatal(err)
		}
		want := v * kin * c
		for _, l := range circ.Plan().Layers {
			kinL, kout, f, a := l.Kin, l.Kout, l.F(), l.Arity
			switch layer {
			case CP:
				want += f * a * kout * kinL
			case CPXS:
				want += a * kout * kinL
			case CPS:
				want += a*kout*kinL + f*kout
			case CPR:
				want += f * (a*r*kinL + kout*r)
			case Tucker:
				want += f * kout * kinL * kinL
			}
		}
		if got := nn.ParamCount(circ); got != want {
			t.Errorf("%v: %d parameters, closed form %d", layer, got, want)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	qt4, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 4, W: 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(qt4, Options{Units: 1 << 12, MaxParams: 1e6}); err == nil {
		t.Error("a circuit over the parameter limit was accepted")
	}
	// A non-decomposable graph (two inputs sharing a variable) is refused.
	bad := &regiongraph.Graph{
		NumVars: 2,
		Regions: []regiongraph.Region{
			{Scope: []int{0, 1}, Partitions: []int{0}},
			{Scope: []int{0}},
			{Scope: []int{0, 1}},
		},
		Partitions: []regiongraph.Partition{{Output: 0, Inputs: []int{1, 2}}},
		Roots:      []int{0},
	}
	if _, err := Build(bad, Options{Units: 2}); err == nil {
		t.Error("a non-decomposable region graph was accepted")
	}
}
