package experiments

import (
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
	"github.com/tenpc/tenpc/regiongraph"
)

// A Tucker model over QT-4 (4-input partitions, binarized by circuit.Build)
// stores QT-4 itself; loading it binarizes again and gets the same plan and
// parameters, so it computes the same log-likelihoods.
func TestModelTuckerQT4RoundTrip(t *testing.T) {
	rg, err := regiongraph.QuadTree(regiongraph.Shape{C: 1, H: 4, W: 4}, 4)
	if err != nil {
		t.Fatal(err)
	}
	c, err := circuit.Build(rg, circuit.Options{Layer: circuit.Tucker, Units: 3, Values: 4, DType: nn.Float64, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	arch, err := archOf(rg, c)
	if err != nil {
		t.Fatal(err)
	}
	m := &Model{Circuit: c, RG: rg, Arch: arch, Info: ModelInfo{Dataset: "test", Shape: []int{1, 4, 4}, Values: 4, NumVars: 16, BatchSize: 8}}
	path := filepath.Join(t.TempDir(), "tucker.tenpc")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadModel(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Arch.Equal(arch) || got.RG.Stats().Arity[4] == 0 {
		t.Errorf("loaded architecture %s (arities %v), want %s over QT-4", got.Arch.Describe(), got.RG.Stats().Arity, arch.Describe())
	}
	if !reflect.DeepEqual(got.Circuit.Plan(), c.Plan()) {
		t.Fatal("the loaded circuit's plan differs from the saved one's")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]uint8, 20*16)
	for i := range x {
		x[i] = uint8(rng.IntN(4))
	}
	want, err := c.LogProb(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := got.Circuit.LogProb(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(lp, want) {
		t.Errorf("loaded model: log p %v, saved model %v", lp, want)
	}
}
