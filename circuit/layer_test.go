package circuit

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/nn"
)

// The registry: built-in names parse, a registered one too, an unknown one
// is refused with the list; bad registrations panic.
func TestLayerRegistry(t *testing.T) {
	for _, l := range []Layer{CP, CPR, CPS, CPXS, Tucker, "test-cpt"} {
		got, err := ParseLayer(string(l))
		if err != nil || got != l {
			t.Errorf("ParseLayer(%q) = %q, %v", l, got, err)
		}
	}
	if !slices.Equal(LayerNames()[:5], builtinLayers) || !slices.Contains(LayerNames(), "test-cpt") {
		t.Errorf("LayerNames() = %v", LayerNames())
	}
	_, err := ParseLayer("nope")
	if err == nil || !strings.Contains(err.Error(), `unknown layer "nope"`) || !strings.Contains(err.Error(), "test-cpt") {
		t.Errorf("ParseLayer(nope): err = %v, want one listing the registered layers", err)
	}
	if _, err := Build(smallGraphs(t)["qt2"], Options{Layer: "nope", Units: 2}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Build with an unknown layer: err = %v", err)
	}
	for name, def := range map[Layer]LayerDef{
		"cp":       {New: newCP},
		"":         {New: newCP},
		"a b":      {New: newCP},
		"no-maker": {},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterLayer(%q) did not panic", name)
				}
			}()
			RegisterLayer(name, def)
		}()
	}
}

// nn.Summary prints a circuit's module tree: one row per layer with its
// path, type and shape, and a total equal to the circuit's parameter count
// (and to the plan's closed forms).
func TestCircuitSummary(t *testing.T) {
	rg := smallGraphs(t)["pd"]
	for _, layer := range []Layer{CP, CPS, CPR, Tucker} {
		c, err := Build(rg, Options{Layer: layer, Units: 3, Rank: 2, Values: 3, LearnMixing: true, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		s := nn.Summary(c)
		lines := strings.Split(strings.TrimSpace(s), "\n")
		if want := len(c.Layers) + 4; len(lines) != want { // header, root, input, layers, total
			t.Fatalf("%v: %d lines, want %d:\n%s", layer, len(lines), want, s)
		}
		if !strings.Contains(lines[2], "input") || !strings.Contains(lines[2], "circuit.InputLayer") {
			t.Errorf("%v: input row %q", layer, lines[2])
		}
		for i, l := range c.Layers {
			row := lines[3+i]
			typ := fmt.Sprintf("%T", l)[1:]
			pl := &c.plan.Layers[i]
			shape := fmt.Sprintf("F=%d", pl.F())
			if !strings.Contains(row, fmt.Sprintf("layers.%d ", i)) || !strings.Contains(row, typ) || !strings.Contains(row, shape) ||
				!strings.Contains(row, fmt.Sprint(nn.ParamCount(l))) {
				t.Errorf("%v: row %q lacks layers.%d, %s, %s or its parameter count", layer, row, i, typ, shape)
			}
		}
		var b strings.Builder
		if err := c.plan.Write(&b, &c.opts); err != nil {
			t.Fatal(err)
		}
		total := fmt.Sprintf("total parameters: %d", nn.ParamCount(c))
		if !strings.HasPrefix(lines[len(lines)-1], total) || !strings.Contains(b.String(), total) {
			t.Errorf("%v: summary ends %q and the plan says %q, want %q", layer, lines[len(lines)-1],
				strings.TrimSpace(b.String()[strings.LastIndex(b.String(), "total"):]), total)
		}
	}
}
