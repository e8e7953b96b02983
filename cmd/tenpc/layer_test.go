package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenpc/tenpc/circuit"
	"github.com/tenpc/tenpc/nn"
)

// cliCPT is a layer a user's package would register: cirkit's CP-T (the
// Hadamard product of the inputs, then a weighted sum), from nn ops.
type cliCPT struct {
	Weight *nn.Param // (F, Kout, Kin)
	spec   circuit.LayerSpec
}

func (l *cliCPT) Forward(x *nn.Node) *nn.Node {
	// x (F, A, B, Kin) -> Σ_a (F, B, Kin) -> (F, B, Kout)
	return circuit.LogEinsumExp("fbj,fkj->fbk", nn.SumAxis(x, 1), l.spec.Weights(x.Graph(), l.Weight))
}

func init() {
	circuit.RegisterLayer("cli-cpt", circuit.LayerDef{Normalized: true, New: func(s circuit.LayerSpec) (circuit.InnerLayer, error) {
		return &cliCPT{Weight: s.NewWeight("weight", s.Folds, s.Kout, s.Kin), spec: s}, nil
	}})
}

// train -layer finds a registered layer by name, trains it (on either
// engine), and info -model lists its modules.
func TestTrainRegisteredLayer(t *testing.T) {
	debd := filepath.Join("..", "..", "testdata", "debd", "nltcs-small")
	for _, engine := range []string{"fused", "graph"} {
		dir := filepath.Join(t.TempDir(), "run")
		var out, errOut bytes.Buffer
		args := []string{"train", "-dataset", "debd:" + debd, "-rg", "rbt:2", "-layer", "cli-cpt", "-engine", engine,
			"-k", "3", "-epochs", "1", "-batch-size", "100", "-out", dir}
		if st := run(args, &out, &errOut); st != 0 {
			t.Fatalf("train -layer cli-cpt -engine %s: status %d: %s", engine, st, errOut.String())
		}
		out.Reset()
		if st := run([]string{"info", "-model", filepath.Join(dir, "model.tenpc")}, &out, &errOut); st != 0 {
			t.Fatalf("info: status %d: %s", st, errOut.String())
		}
		for _, want := range []string{"cli-cpt", "main.cliCPT", "layers.0", "total parameters"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("info lacks %q:\n%s", want, out.String())
			}
		}
	}
	var out, errOut bytes.Buffer
	if st := run([]string{"train", "-dataset", "debd:" + debd, "-layer", "nope", "-out", t.TempDir()}, &out, &errOut); st != 2 ||
		!strings.Contains(errOut.String(), "cli-cpt") {
		t.Errorf("train -layer nope: status %d, %q; want a bad-input error listing the registered layers", st, errOut.String())
	}
}
